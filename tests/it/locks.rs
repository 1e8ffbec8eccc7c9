//! The locks the shadow records, form by form, against what the Postgres documentation
//! says each statement takes ("Explicit Locking", and each command's page), on Postgres
//! 15 (local) and 17 (Docker): every relation that existed before the file, the
//! strongest mode each statement took on it. Forms that run outside a transaction
//! (`CONCURRENTLY`) release their locks as the statement ends, so no look sees them;
//! they are not in the matrix.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::{self, Project};

/// A form: what it needs first, the statement, and the locks (relation, `pg_locks`
/// mode) it must be seen holding on what existed before it.
struct Form {
    name: &'static str,
    setup: &'static str,
    sql: &'static str,
    locks: &'static [(&'static str, &'static str)],
}

const AE: &str = "AccessExclusiveLock";
const EX: &str = "ExclusiveLock";
const SRE: &str = "ShareRowExclusiveLock";
const SH: &str = "ShareLock";
const SUE: &str = "ShareUpdateExclusiveLock";
const RE: &str = "RowExclusiveLock";
const RS: &str = "RowShareLock";
const AS: &str = "AccessShareLock";

const FORMS: &[Form] = &[
    Form {
        name: "create_index",
        setup: "CREATE TABLE t_index (id int PRIMARY KEY, v int);",
        sql: "CREATE INDEX t_index_v ON t_index (v);",
        locks: &[("public.t_index", SH)],
    },
    Form {
        name: "create_unique_index",
        setup: "CREATE TABLE t_unique (id int PRIMARY KEY, v int);",
        sql: "CREATE UNIQUE INDEX t_unique_v ON t_unique (v);",
        locks: &[("public.t_unique", SH)],
    },
    Form {
        name: "add_foreign_key",
        setup: "CREATE TABLE t_parent (id int PRIMARY KEY); CREATE TABLE t_child (id int PRIMARY KEY, parent_id int);",
        sql: "ALTER TABLE t_child ADD CONSTRAINT t_child_parent FOREIGN KEY (parent_id) REFERENCES t_parent (id);",
        locks: &[("public.t_child", SRE), ("public.t_parent", SRE)],
    },
    Form {
        name: "add_foreign_key_not_valid",
        setup: "CREATE TABLE t_parent_nv (id int PRIMARY KEY); CREATE TABLE t_child_nv (id int PRIMARY KEY, parent_id int);",
        sql: "ALTER TABLE t_child_nv ADD CONSTRAINT t_child_nv_parent FOREIGN KEY (parent_id) REFERENCES t_parent_nv (id) NOT VALID;",
        locks: &[("public.t_child_nv", SRE), ("public.t_parent_nv", SRE)],
    },
    Form {
        name: "create_trigger",
        setup: "CREATE TABLE t_trigger (id int PRIMARY KEY); CREATE FUNCTION t_trigger_fn() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;",
        sql: "CREATE TRIGGER t_trigger_t BEFORE INSERT ON t_trigger FOR EACH ROW EXECUTE FUNCTION t_trigger_fn();",
        locks: &[("public.t_trigger", SRE)],
    },
    Form {
        name: "disable_trigger",
        setup: "CREATE TABLE t_trigger_off (id int PRIMARY KEY); CREATE FUNCTION t_trigger_off_fn() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$; CREATE TRIGGER t_trigger_off_t BEFORE INSERT ON t_trigger_off FOR EACH ROW EXECUTE FUNCTION t_trigger_off_fn();",
        sql: "ALTER TABLE t_trigger_off DISABLE TRIGGER t_trigger_off_t;",
        locks: &[("public.t_trigger_off", SRE)],
    },
    Form {
        name: "create_policy",
        setup: "CREATE TABLE t_policy (id int PRIMARY KEY);",
        sql: "CREATE POLICY t_policy_all ON t_policy USING (true);",
        locks: &[("public.t_policy", AE)],
    },
    Form {
        name: "enable_rls",
        setup: "CREATE TABLE t_rls (id int PRIMARY KEY);",
        sql: "ALTER TABLE t_rls ENABLE ROW LEVEL SECURITY;",
        locks: &[("public.t_rls", AE)],
    },
    Form {
        name: "add_column",
        setup: "CREATE TABLE t_add (id int PRIMARY KEY);",
        sql: "ALTER TABLE t_add ADD COLUMN c text;",
        locks: &[("public.t_add", AE)],
    },
    Form {
        name: "add_column_volatile_default",
        setup: "CREATE TABLE t_add_volatile (id int PRIMARY KEY);",
        sql: "ALTER TABLE t_add_volatile ADD COLUMN c float8 DEFAULT random();",
        locks: &[("public.t_add_volatile", AE)],
    },
    Form {
        name: "drop_column",
        setup: "CREATE TABLE t_drop_column (id int PRIMARY KEY, c int);",
        sql: "ALTER TABLE t_drop_column DROP COLUMN c;",
        locks: &[("public.t_drop_column", AE)],
    },
    Form {
        name: "alter_column_type",
        setup: "CREATE TABLE t_type (id int PRIMARY KEY, c int);",
        sql: "ALTER TABLE t_type ALTER COLUMN c TYPE bigint;",
        locks: &[("public.t_type", AE), ("public.t_type_pkey", AE)],
    },
    Form {
        name: "set_not_null",
        setup: "CREATE TABLE t_not_null (id int PRIMARY KEY, c int);",
        sql: "ALTER TABLE t_not_null ALTER COLUMN c SET NOT NULL;",
        locks: &[("public.t_not_null", AE)],
    },
    Form {
        name: "set_default",
        setup: "CREATE TABLE t_default (id int PRIMARY KEY, c int);",
        sql: "ALTER TABLE t_default ALTER COLUMN c SET DEFAULT 1;",
        locks: &[("public.t_default", AE)],
    },
    Form {
        name: "set_statistics",
        setup: "CREATE TABLE t_statistics (id int PRIMARY KEY, c int);",
        sql: "ALTER TABLE t_statistics ALTER COLUMN c SET STATISTICS 500;",
        locks: &[("public.t_statistics", SUE)],
    },
    Form {
        name: "set_fillfactor",
        setup: "CREATE TABLE t_fillfactor (id int PRIMARY KEY);",
        sql: "ALTER TABLE t_fillfactor SET (fillfactor = 70);",
        locks: &[("public.t_fillfactor", SUE)],
    },
    Form {
        name: "add_check",
        setup: "CREATE TABLE t_check (id int PRIMARY KEY, c int);",
        sql: "ALTER TABLE t_check ADD CONSTRAINT t_check_c CHECK (c > 0);",
        locks: &[("public.t_check", AE)],
    },
    Form {
        name: "add_check_not_valid",
        setup: "CREATE TABLE t_check_nv (id int PRIMARY KEY, c int);",
        sql: "ALTER TABLE t_check_nv ADD CONSTRAINT t_check_nv_c CHECK (c > 0) NOT VALID;",
        locks: &[("public.t_check_nv", AE)],
    },
    Form {
        name: "validate_constraint",
        setup: "CREATE TABLE t_validate (id int PRIMARY KEY, c int); ALTER TABLE t_validate ADD CONSTRAINT t_validate_c CHECK (c > 0) NOT VALID;",
        sql: "ALTER TABLE t_validate VALIDATE CONSTRAINT t_validate_c;",
        locks: &[("public.t_validate", SUE)],
    },
    Form {
        name: "attach_partition",
        setup: "CREATE TABLE t_part (id int, k int) PARTITION BY RANGE (k); CREATE TABLE t_part_1 (id int, k int);",
        sql: "ALTER TABLE t_part ATTACH PARTITION t_part_1 FOR VALUES FROM (0) TO (10);",
        locks: &[("public.t_part", SUE), ("public.t_part_1", AE)],
    },
    Form {
        name: "detach_partition",
        setup: "CREATE TABLE t_detach (id int, k int) PARTITION BY RANGE (k); CREATE TABLE t_detach_1 PARTITION OF t_detach FOR VALUES FROM (0) TO (10);",
        sql: "ALTER TABLE t_detach DETACH PARTITION t_detach_1;",
        locks: &[("public.t_detach", AE), ("public.t_detach_1", AE)],
    },
    Form {
        name: "refresh_materialized_view",
        setup: "CREATE TABLE t_matview (id int PRIMARY KEY); CREATE MATERIALIZED VIEW t_matview_mv AS SELECT count(*) AS n FROM t_matview;",
        sql: "REFRESH MATERIALIZED VIEW t_matview_mv;",
        locks: &[("public.t_matview_mv", AE), ("public.t_matview", AS)],
    },
    Form {
        name: "truncate",
        setup: "CREATE TABLE t_truncate (id int PRIMARY KEY);",
        sql: "TRUNCATE t_truncate;",
        locks: &[("public.t_truncate", AE)],
    },
    Form {
        name: "rename_table",
        setup: "CREATE TABLE t_rename (id int PRIMARY KEY);",
        sql: "ALTER TABLE t_rename RENAME TO t_renamed;",
        locks: &[("public.t_renamed", AE)],
    },
    Form {
        name: "rename_column",
        setup: "CREATE TABLE t_rename_column (id int PRIMARY KEY, c int);",
        sql: "ALTER TABLE t_rename_column RENAME COLUMN c TO d;",
        locks: &[("public.t_rename_column", AE)],
    },
    Form {
        name: "drop_index",
        setup: "CREATE TABLE t_drop_index (id int PRIMARY KEY, v int); CREATE INDEX t_drop_index_v ON t_drop_index (v);",
        sql: "DROP INDEX t_drop_index_v;",
        locks: &[("public.t_drop_index", AE)],
    },
    Form {
        name: "reindex_index",
        setup: "CREATE TABLE t_reindex (id int PRIMARY KEY, v int); CREATE INDEX t_reindex_v ON t_reindex (v);",
        sql: "REINDEX INDEX t_reindex_v;",
        locks: &[("public.t_reindex", SH), ("public.t_reindex_v", AE)],
    },
    Form {
        name: "rename_index",
        setup: "CREATE TABLE t_rename_index (id int PRIMARY KEY, v int); CREATE INDEX t_rename_index_v ON t_rename_index (v);",
        sql: "ALTER INDEX t_rename_index_v RENAME TO t_rename_index_w;",
        locks: &[("public.t_rename_index_w", SUE)],
    },
    Form {
        name: "lock_share",
        setup: "CREATE TABLE t_lock (id int PRIMARY KEY);",
        sql: "LOCK TABLE t_lock IN SHARE MODE;",
        locks: &[("public.t_lock", SH)],
    },
    Form {
        name: "lock_exclusive",
        setup: "CREATE TABLE t_lock_exclusive (id int PRIMARY KEY);",
        sql: "LOCK TABLE t_lock_exclusive IN EXCLUSIVE MODE;",
        locks: &[("public.t_lock_exclusive", EX)],
    },
    Form {
        name: "insert",
        setup: "CREATE TABLE t_insert (id int PRIMARY KEY);",
        sql: "INSERT INTO t_insert VALUES (1);",
        locks: &[("public.t_insert", RE)],
    },
    Form {
        name: "update",
        setup: "CREATE TABLE t_update (id int PRIMARY KEY, c int);",
        sql: "UPDATE t_update SET c = 1;",
        locks: &[("public.t_update", RE)],
    },
    Form {
        name: "select_for_update",
        setup: "CREATE TABLE t_for_update (id int PRIMARY KEY);",
        sql: "SELECT * FROM t_for_update FOR UPDATE;",
        locks: &[("public.t_for_update", RS)],
    },
    Form {
        name: "create_view",
        setup: "CREATE TABLE t_view (id int PRIMARY KEY);",
        sql: "CREATE VIEW t_view_v AS SELECT id FROM t_view;",
        locks: &[("public.t_view", AS)],
    },
    Form {
        name: "analyze",
        setup: "CREATE TABLE t_analyze (id int PRIMARY KEY);",
        sql: "ANALYZE t_analyze;",
        locks: &[("public.t_analyze", SUE)],
    },
    Form {
        name: "drop_table",
        setup: "CREATE TABLE t_drop (id int PRIMARY KEY);",
        sql: "DROP TABLE t_drop;",
        locks: &[],
    },
];

/// The kinds whose every lock the matrix checks; an index's only when a form names it.
const CHECKED_KINDS: [&str; 4] = ["table", "partitioned table", "view", "materialized view"];

/// A project with one setup file and one file per form.
fn project() -> Project {
    let project = Project::new();
    let setup: String = FORMS
        .iter()
        .map(|form| format!("{}\n", form.setup))
        .collect();
    project.file("0000_setup.sql", setup);
    for (index, form) in FORMS.iter().enumerate() {
        project.file(
            &format!("{:04}_{}.sql", index + 1, form.name),
            format!("{}\n", form.sql),
        );
    }
    project
}

/// Each form's mismatches between the locks the report gives and the expected ones.
fn mismatches(report: &Value) -> Vec<String> {
    let migrations = report["migrations"].as_array().expect("migrations");
    let mut wrong = Vec::new();
    for (form, entry) in FORMS.iter().zip(&migrations[1..]) {
        assert_eq!(entry["status"], "applied", "{}: {entry:#}", form.name);
        let named: BTreeSet<&str> = form.locks.iter().map(|(relation, _)| *relation).collect();
        let seen: BTreeSet<(String, String)> = entry["locks"]
            .as_array()
            .expect("locks")
            .iter()
            .filter(|lock| {
                let relation = lock["relation"].as_str().unwrap_or_default();
                CHECKED_KINDS.contains(&lock["kind"].as_str().unwrap_or_default())
                    || named.contains(relation)
            })
            .map(|lock| {
                (
                    lock["relation"].as_str().unwrap().to_string(),
                    lock["mode"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let expected: BTreeSet<(String, String)> = form
            .locks
            .iter()
            .map(|(relation, mode)| (relation.to_string(), mode.to_string()))
            .collect();
        if seen != expected {
            wrong.push(format!(
                "{}: saw {seen:?}, expected {expected:?}",
                form.name
            ));
        }
        for lock in entry["locks"].as_array().unwrap() {
            assert!(lock["line"].as_u64() == Some(1), "{}: {lock}", form.name);
            assert!(lock["held_ms"].as_f64().is_some(), "{}: {lock}", form.name);
        }
    }
    wrong
}

fn shadow(project: &Project, args: &[&str]) -> Value {
    let mut command = project.command(&["shadow", "--format", "json"]);
    command.args(args);
    let (code, stdout, stderr) = common::output(&mut command);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert!(code == 0 || code == 1, "{report:#}\n{stderr}");
    report
}

#[test]
fn every_form_takes_the_locks_the_documentation_gives_on_postgres_15() {
    assert!(FORMS.len() >= 30);
    let project = project();
    let report = shadow(&project, &["--provider", "local"]);
    let wrong = mismatches(&report);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_form_takes_the_locks_the_documentation_gives_on_postgres_17() {
    let Some(_engine) = crate::docker::engine_with(crate::docker::IMAGE_17) else {
        return;
    };
    let project = project();
    let report = shadow(
        &project,
        &["--provider", "docker", "--image", crate::docker::IMAGE_17],
    );
    let wrong = mismatches(&report);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Forms where the lint's `require-lock-timeout` and the measured locks part, and why
/// (the rule's page says the same).
const LINT_DIFFERS: &[(&str, &str)] = &[(
    "drop_table",
    "a dropped table has no name left after the statement: the shadow sees its lock on a relation that is gone, and the lint's finding stands",
)];

/// The lint's lock model against the shadow's measure, form by form: the lint reports
/// `require-lock-timeout` exactly where the statement took a lock that blocks writes or
/// more on an existing relation, and names the strongest mode taken.
#[test]
fn the_lints_lock_rule_agrees_with_the_measured_locks_on_every_form() {
    let project = project();
    let measured = shadow(&project, &["--provider", "local", "--no-catalog-checks"]);
    let (_, stdout, stderr) = common::output(&mut project.command(&["lint", "--format", "json"]));
    let lint: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let modes = [
        ("AccessExclusiveLock", "ACCESS EXCLUSIVE"),
        ("ExclusiveLock", "EXCLUSIVE"),
        ("ShareRowExclusiveLock", "SHARE ROW EXCLUSIVE"),
        ("ShareLock", "SHARE"),
    ];
    let mut wrong = Vec::new();
    let migrations = measured["migrations"].as_array().unwrap();
    for (index, (form, entry)) in FORMS.iter().zip(&migrations[1..]).enumerate() {
        let file = format!("{:04}_{}.sql", index + 1, form.name);
        let strongest = modes.iter().find(|(pg, _)| {
            entry["locks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|lock| lock["mode"] == *pg)
        });
        let said = lint["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| {
                f["rule"] == "require-lock-timeout" && f["file"].as_str().unwrap().ends_with(&file)
            })
            .map(|f| f["message"].as_str().unwrap().to_string());
        let agrees = match (&said, strongest) {
            (None, None) => true,
            (Some(message), Some((_, sql))) => message.contains(&format!(" {sql} lock")),
            _ => false,
        };
        let explained = LINT_DIFFERS.iter().any(|(name, _)| *name == form.name);
        if agrees == explained {
            wrong.push(format!(
                "{}: lint said {said:?}, measured {:?}{}",
                form.name,
                strongest.map(|(_, sql)| sql),
                if explained {
                    " (listed as differing)"
                } else {
                    ""
                }
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `require-lock-timeout` where the shadow watched: the lint's guess confirmed, dropped
/// where the timeout was set in a way the lint cannot read, and added where the lock
/// was taken out of the lint's sight; one finding per file either way.
#[test]
fn require_lock_timeout_is_what_the_shadow_measured() {
    let project = Project::new();
    project.file("0001_table.sql", "CREATE TABLE t (id int PRIMARY KEY);\n");
    project.file("0002_plain.sql", "ALTER TABLE t ADD COLUMN a int;\n");
    project.file(
        "0003_timeout_in_do.sql",
        "DO $$ BEGIN PERFORM set_config('lock_timeout', '5s', false); END $$;\nALTER TABLE t ADD COLUMN b int;\n",
    );
    project.file(
        "0004_lock_in_do.sql",
        "DO $$ BEGIN EXECUTE 'ALTER TABLE t ADD COLUMN c int'; END $$;\n",
    );
    let (_, stdout, _) = common::output(&mut project.command(&["lint", "--format", "json"]));
    let lint: Value = serde_json::from_str(&stdout).unwrap();
    let report = shadow(&project, &["--provider", "local"]);
    let found = |report: &Value| -> Vec<(String, u64, String)> {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "require-lock-timeout")
            .map(|f| {
                let file = f["file"].as_str().unwrap();
                (
                    file[file.rfind('/').unwrap() + 1..].to_string(),
                    f["line"].as_u64().unwrap(),
                    f["message"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let guessed: Vec<(String, u64)> = found(&lint).into_iter().map(|(f, l, _)| (f, l)).collect();
    assert_eq!(
        guessed,
        [
            ("0002_plain.sql".to_string(), 1),
            ("0003_timeout_in_do.sql".to_string(), 2)
        ]
    );
    let measured = found(&report);
    assert_eq!(measured.len(), 2, "{measured:?}");
    assert_eq!(
        (measured[0].0.as_str(), measured[0].1),
        ("0002_plain.sql", 1)
    );
    assert!(
        measured[0]
            .2
            .starts_with("ALTER TABLE takes an ACCESS EXCLUSIVE lock")
    );
    assert_eq!(
        (measured[1].0.as_str(), measured[1].1),
        ("0004_lock_in_do.sql", 1)
    );
    assert!(
        measured[1]
            .2
            .starts_with("this statement took an ACCESS EXCLUSIVE lock on public.t in the shadow"),
        "{}",
        measured[1].2
    );
}

/// `rewrite-under-lock` from the transaction's scan counts: a validation under the
/// statement's own ACCESS EXCLUSIVE lock confirms the lint's `constraint-not-valid` (one
/// finding), stands alone where the lint could not see the statement, and is absent for
/// NOT VALID (no scan) and for a rewrite (that is `table-rewrite`).
#[test]
fn a_scan_under_the_statements_own_lock_is_measured() {
    let project = Project::new();
    project.file(
        "0001_table.sql",
        "CREATE TABLE t (id int PRIMARY KEY, x int);\nINSERT INTO t VALUES (1, 1), (2, 2);\n",
    );
    project.file(
        "0002_check.sql",
        "ALTER TABLE t ADD CONSTRAINT t_positive CHECK (x > 0);\n",
    );
    project.file(
        "0003_not_valid.sql",
        "ALTER TABLE t ADD CONSTRAINT t_small CHECK (x < 100) NOT VALID;\n",
    );
    project.file(
        "0004_check_in_do.sql",
        "DO $$ BEGIN EXECUTE 'ALTER TABLE t ADD CONSTRAINT t_not_seven CHECK (x <> 7)'; END $$;\n",
    );
    project.file(
        "0005_rewrite.sql",
        "ALTER TABLE t ALTER COLUMN x TYPE bigint;\n",
    );
    let report = shadow(&project, &["--provider", "local"]);
    let by_file = |rule: &str| -> Vec<String> {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == rule)
            .map(|f| {
                let file = f["file"].as_str().unwrap();
                format!(
                    "{}: {}",
                    &file[file.rfind('/').unwrap() + 1..],
                    f["message"]
                )
            })
            .collect()
    };
    let confirmed = by_file("constraint-not-valid");
    assert_eq!(confirmed.len(), 1, "{confirmed:?}");
    assert!(
        confirmed[0].starts_with("0002_check.sql")
            && confirmed[0]
                .contains("the shadow confirms it: this statement read every row of public.t"),
        "{confirmed:?}"
    );
    let measured = by_file("rewrite-under-lock");
    assert_eq!(measured.len(), 1, "{measured:?}");
    assert!(
        measured[0].starts_with("0004_check_in_do.sql")
            && measured[0].contains("while holding an ACCESS EXCLUSIVE lock on it"),
        "{measured:?}"
    );
    let rewritten = by_file("table-rewrite");
    assert_eq!(rewritten.len(), 1, "{rewritten:?}");
    assert!(
        rewritten[0].starts_with("0005_rewrite.sql"),
        "{rewritten:?}"
    );
}
