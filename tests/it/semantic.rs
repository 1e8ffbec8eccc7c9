//! The shadow's catalog checks on real throwaway clusters: what each migration really
//! did (dynamic SQL included), and whether it can run twice.

use crate::common;

use common::{Project, output};
use serde_json::Value;

const SEMANTIC: &[&str] = &[
    "table-rewrite",
    "dropped-table",
    "dropped-column",
    "changed-column-type",
    "dropped-constraint",
    "rls-disabled",
    "dropped-policy",
    "dropped-view",
    "dropped-function",
    "not-idempotent",
];

fn shadow(project: &Project) -> (i32, Value) {
    let (code, stdout, stderr) =
        output(&mut project.command(&["shadow", "--format", "json", "--provider", "local"]));
    let report =
        serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{error}: {stdout}\n{stderr}"));
    (code, report)
}

/// (rule, file name, severity) of the catalog findings.
fn semantic(report: &Value) -> Vec<(String, String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| SEMANTIC.contains(&f["rule"].as_str().unwrap()))
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                common::file_name(f),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// (rule, file name, severity) of the lint findings the catalog confirmed (one problem,
/// one finding: the lint's, with the shadow's evidence).
fn confirmed(report: &Value) -> Vec<(String, String, String)> {
    let mut found: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["message"]
                .as_str()
                .unwrap()
                .contains("(the shadow confirms it: ")
        })
        .map(described)
        .collect();
    found.sort();
    found
}

fn base() -> Project {
    let project = Project::new();
    project.file(
        "20250101000000_notes.sql",
        "CREATE TABLE IF NOT EXISTS public.notes (id bigint PRIMARY KEY, body text, author text);\n\
         ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;\n\
         DROP POLICY IF EXISTS notes_read ON public.notes;\n\
         CREATE POLICY notes_read ON public.notes FOR SELECT USING (true);\n",
    );
    project
}

/// A finding of the JSON report as (rule, file name, severity).
fn described(finding: &Value) -> (String, String, String) {
    triple(
        finding["rule"].as_str().unwrap(),
        &common::file_name(finding),
        finding["severity"].as_str().unwrap(),
    )
}

fn triple(rule: &str, file: &str, severity: &str) -> (String, String, String) {
    (rule.to_string(), file.to_string(), severity.to_string())
}

#[test]
fn a_column_dropped_through_dynamic_sql_is_found_on_its_file() {
    let project = base();
    project.file(
        "20250102000000_innocent.sql",
        "DO $$ BEGIN EXECUTE 'ALTER TABLE public.notes DROP COLUMN IF EXISTS ' || 'author'; END $$;\n",
    );
    let (code, report) = shadow(&project);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        semantic(&report),
        [triple(
            "dropped-column",
            "20250102000000_innocent.sql",
            "error"
        )]
    );
    let message = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "dropped-column")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("public.notes.author"), "{message}");
}

#[test]
fn an_additive_migration_set_has_no_catalog_finding() {
    let project = base();
    project.file(
        "20250102000000_more.sql",
        "ALTER TABLE public.notes ADD COLUMN IF NOT EXISTS tags text[] DEFAULT '{}';\n\
         CREATE INDEX IF NOT EXISTS notes_tags_idx ON public.notes USING gin (tags);\n\
         CREATE OR REPLACE FUNCTION public.note_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM public.notes $$;\n",
    );
    let (code, report) = shadow(&project);
    assert_eq!(semantic(&report), [], "{report:#}");
    assert_eq!(code, 0, "{report:#}");
}

#[test]
fn the_example_project_is_idempotent_and_additive() {
    let mut command = assert_cmd::Command::cargo_bin("migration-guard").unwrap();
    command.current_dir(env!("CARGO_MANIFEST_DIR")).args([
        "shadow",
        "--format",
        "json",
        "--provider",
        "local",
    ]);
    let (code, stdout, stderr) = output(&mut command);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(semantic(&report), [], "{report:#}");
}

#[test]
fn a_create_table_without_if_not_exists_cannot_run_twice() {
    let project = base();
    project.file(
        "20250102000000_tags.sql",
        "CREATE TABLE public.tags (name text PRIMARY KEY);\n",
    );
    // A policy of that name exists the second time.
    project.file(
        "20250103000000_policy.sql",
        "CREATE POLICY tags_read ON public.tags FOR SELECT USING (true);\n",
    );
    let (code, report) = shadow(&project);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        semantic(&report),
        [
            triple("not-idempotent", "20250102000000_tags.sql", "error"),
            triple("not-idempotent", "20250103000000_policy.sql", "error"),
        ]
    );
    let finding = common::findings_of(&report, "not-idempotent")[0];
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("already exists [42P07]"),
        "{finding:#}"
    );
    assert_eq!(finding["line"], 1);
    // The second run was rolled back: the shadow's schema is what one run made.
    assert_eq!(report["migrations"][1]["status"], "applied");
}

#[test]
fn the_second_run_names_the_statement_that_fails_not_those_sent_after_it() {
    let project = base();
    project.file(
        "20250102000000_tags.sql",
        "CREATE TABLE IF NOT EXISTS public.tags (name text PRIMARY KEY);\n\
         CREATE INDEX tags_name ON public.tags (name);\n\
         CREATE TABLE IF NOT EXISTS public.labels (id int);\n\
         ALTER TABLE public.labels ADD COLUMN IF NOT EXISTS note text;\n",
    );
    let (code, report) = shadow(&project);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        semantic(&report),
        [triple("not-idempotent", "20250102000000_tags.sql", "error")]
    );
    let finding = common::findings_of(&report, "not-idempotent")[0];
    // The statements after it, sent in the same round trip, fail only because the
    // transaction is aborted: the finding is the index's.
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("\"tags_name\" already exists [42P07]"),
        "{finding:#}"
    );
    assert_eq!(finding["line"], 2);
}

/// The second run sends files many at a time while they succeed: the files that fail
/// (alone, two in a row, at the end), one too large for a single batch, and those
/// after each are all judged on what the files before them did, each once.
#[test]
fn among_many_files_run_twice_exactly_those_that_cannot_are_found() {
    let project = base();
    let failing: [u64; 4] = [5, 6, 20, 37];
    let file = |index: u64| format!("{:014}_step.sql", 20250102000000u64 + index);
    for index in 0..40u64 {
        let sql = if failing.contains(&index) {
            format!("CREATE TABLE public.f{index} (id int);\n")
        } else if index == 21 {
            // Sent behind a file that fails, it runs again once that one is rolled
            // back: its second run makes a table the first did not (no statement
            // names it outside the DO block, so the change is the last file's).
            "DO $$ BEGIN IF to_regclass('public.g21') IS NOT NULL THEN CREATE TABLE public.g21_again (id int); END IF; END $$;\n\
             CREATE TABLE IF NOT EXISTS public.g21 (id int);\n"
                .to_string()
        } else if index == 25 {
            (0..40)
                .map(|table| format!("CREATE TABLE IF NOT EXISTS public.b{table} (id int);\n"))
                .collect()
        } else if index == 31 {
            // Runs again on the table the file before it made again.
            "ALTER TABLE public.t30 ADD COLUMN IF NOT EXISTS note text;\n".to_string()
        } else {
            format!(
                "DROP TABLE IF EXISTS public.t{index};\nCREATE TABLE public.t{index} (id int);\n"
            )
        };
        project.file(&file(index), &sql);
    }
    let (code, report) = shadow(&project);
    assert_eq!(code, 1, "{report:#}");
    let mut found = semantic(&report);
    found.sort();
    let mut expected: Vec<_> = failing
        .iter()
        .chain(&[39])
        .map(|index| triple("not-idempotent", &file(*index), "error"))
        .collect();
    expected.sort();
    assert_eq!(found, expected, "{report:#}");
    for finding in common::findings_of(&report, "not-idempotent") {
        let message = finding["message"].as_str().unwrap();
        if common::file_name(finding) == file(39) {
            assert!(
                message.contains("table public.g21_again added"),
                "{finding:#}"
            );
        } else {
            assert!(message.contains("already exists [42P07]"), "{finding:#}");
        }
    }
}

#[test]
fn rls_turned_off_and_a_policy_dropped_are_found_and_a_file_may_allow_them() {
    let project = base();
    project.file(
        "20250102000000_open_up.sql",
        "ALTER TABLE public.notes DISABLE ROW LEVEL SECURITY;\nDROP POLICY IF EXISTS notes_read ON public.notes;\n",
    );
    let (code, report) = shadow(&project);
    assert_eq!(code, 1, "{report:#}");
    let mut found = semantic(&report);
    found.sort();
    assert_eq!(
        found,
        [
            triple("dropped-policy", "20250102000000_open_up.sql", "error"),
            triple("rls-disabled", "20250102000000_open_up.sql", "error"),
        ]
    );

    project.file(
        "20250102000000_open_up.sql",
        "-- migration-guard: allow-file rls-disabled, dropped-policy, advisor-rls-disabled-in-public -- public reference data\n\
         ALTER TABLE public.notes DISABLE ROW LEVEL SECURITY;\nDROP POLICY IF EXISTS notes_read ON public.notes;\n",
    );
    let (code, report) = shadow(&project);
    let mut found = semantic(&report);
    found.sort();
    assert_eq!(
        found,
        [
            triple("dropped-policy", "20250102000000_open_up.sql", "info"),
            triple("rls-disabled", "20250102000000_open_up.sql", "info"),
        ],
        "{report:#}"
    );
    assert!(
        !report["findings"]
            .to_string()
            .contains("unused-suppression"),
        "{report:#}"
    );
    assert_eq!(code, 0, "{report:#}");
}

#[test]
fn a_type_change_and_a_dropped_table_and_constraint_are_found() {
    let project = base();
    project.file(
        "20250102000000_reshape.sql",
        "CREATE TABLE IF NOT EXISTS public.old (id int CONSTRAINT old_pk PRIMARY KEY);\n",
    );
    project.file(
        "20250103000000_break.sql",
        "ALTER TABLE public.notes ALTER COLUMN body TYPE varchar(200);\n\
         DROP TABLE IF EXISTS public.old;\n\
         ALTER TABLE public.notes DROP CONSTRAINT IF EXISTS notes_pkey;\n",
    );
    let (_, report) = shadow(&project);
    let mut found = semantic(&report);
    found.sort();
    assert_eq!(
        found,
        [
            triple("dropped-constraint", "20250103000000_break.sql", "error"),
            // text to varchar(200) copies every row.
            triple("table-rewrite", "20250103000000_break.sql", "warning"),
        ],
        "{report:#}"
    );
    // The type change and the dropped table: one finding each, the linter's, confirmed.
    assert_eq!(
        confirmed(&report),
        [
            triple("no-alter-column-type", "20250103000000_break.sql", "error"),
            triple("no-drop-table", "20250103000000_break.sql", "error"),
        ],
        "{report:#}"
    );
}

#[test]
fn a_second_run_that_changes_the_schema_without_failing_is_found() {
    let project = base();
    // An index without a name gets a new one every time.
    project.file(
        "20250102000000_index.sql",
        "CREATE INDEX ON public.notes (body);\n",
    );
    let (code, report) = shadow(&project);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        semantic(&report),
        [triple(
            "not-idempotent",
            "20250102000000_index.sql",
            "error"
        )]
    );
    let message = report["findings"].to_string();
    assert!(message.contains("notes_body_idx1"), "{message}");
}

#[test]
fn a_set_whose_later_file_undoes_an_earlier_one_still_runs_twice() {
    let project = base();
    project.file(
        "20250102000000_add.sql",
        "ALTER TABLE public.notes ADD COLUMN IF NOT EXISTS draft boolean DEFAULT false;\n",
    );
    project.file(
        "20250103000000_remove.sql",
        "-- migration-guard: allow-file no-drop-column, dropped-column -- the draft feature was abandoned\n\
         ALTER TABLE public.notes DROP COLUMN IF EXISTS draft;\n",
    );
    let (code, report) = shadow(&project);
    assert_eq!(semantic(&report), [], "{report:#}");
    assert_eq!(
        confirmed(&report),
        [triple(
            "no-drop-column",
            "20250103000000_remove.sql",
            "info"
        )],
        "{report:#}"
    );
    assert_eq!(code, 0, "{report:#}");
}

#[test]
fn the_locks_a_migration_held_and_the_tables_it_rewrote_are_evidence_per_statement() {
    let project = base();
    project.file(
        "20250102000000_narrow.sql",
        "-- migration-guard: allow-file no-alter-column-type, changed-column-type -- ids stay small\n\
         CREATE TABLE IF NOT EXISTS public.fresh (id int PRIMARY KEY); ALTER TABLE public.fresh ENABLE ROW LEVEL SECURITY;\n\
         COMMENT ON TABLE public.notes IS 'notes';\n\
         LOCK TABLE public.notes IN ACCESS EXCLUSIVE MODE;\n\
         ALTER TABLE public.notes ALTER COLUMN id TYPE integer;\n",
    );
    let (code, report) = shadow(&project);
    let entry = &report["migrations"][1];
    // The new table's locks block nobody: only the existing one's are listed, each
    // mode at the statement that took it (COMMENT's SHARE UPDATE EXCLUSIVE at line 3,
    // LOCK's ACCESS EXCLUSIVE at line 4), not at the one that rewrote it (line 5), whose
    // SHARE adds nothing to what was held.
    let locks: Vec<(&str, &str, &str, u64, u64)> = entry["locks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|lock| {
            assert!(
                lock["held_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
                "{lock}"
            );
            (
                lock["relation"].as_str().unwrap(),
                lock["mode"].as_str().unwrap(),
                lock["blocks"].as_str().unwrap(),
                lock["statement_index"].as_u64().unwrap(),
                lock["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        locks,
        [
            (
                "public.notes",
                "ShareUpdateExclusiveLock",
                "schema changes",
                2,
                3
            ),
            (
                "public.notes",
                "AccessExclusiveLock",
                "reads and writes",
                3,
                4
            ),
        ],
        "{report:#}"
    );
    assert_eq!(
        entry["rewrites"],
        serde_json::json!([{"table": "public.notes", "statement_index": 4, "line": 5}])
    );
    let mut found = semantic(&report);
    found.sort();
    assert_eq!(
        found,
        [triple(
            "table-rewrite",
            "20250102000000_narrow.sql",
            "warning"
        )],
        "{report:#}"
    );
    assert_eq!(
        confirmed(&report),
        [triple(
            "no-alter-column-type",
            "20250102000000_narrow.sql",
            "info"
        )],
        "{report:#}"
    );
    let rewrite = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "table-rewrite")
        .unwrap();
    assert_eq!(rewrite["line"], 5, "{rewrite:#}");
    assert_eq!(code, 0, "a warning: {report:#}");
    // An additive file locks nothing that existed.
    assert_eq!(report["migrations"][0]["locks"], serde_json::json!([]));
}

/// After a statement that locks only the table it names, the look at the locks is
/// skipped when the file created that table; one that names an existing table keeps
/// it, and a file that ends on skipped looks still has its locks seen to the commit.
#[test]
fn looks_skipped_on_a_new_table_lose_nothing_of_an_existing_one() {
    let project = base();
    project.file(
        "20250102000000_fresh.sql",
        "CREATE TABLE IF NOT EXISTS public.fresh (id int PRIMARY KEY, note_id int);\n\
         INSERT INTO public.fresh SELECT g, g FROM generate_series(1, 300000) g;\n\
         CREATE INDEX ON public.notes (author);\n\
         ALTER TABLE public.fresh ENABLE ROW LEVEL SECURITY;\n\
         ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;\n\
         CREATE INDEX ON public.fresh (note_id);\n",
    );
    let (_, report) = shadow(&project);
    let entry = &report["migrations"][1];
    assert_eq!(entry["status"], "applied", "{report:#}");
    let locks: Vec<(&str, &str, u64, u64)> = entry["locks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|lock| {
            (
                lock["relation"].as_str().unwrap(),
                lock["mode"].as_str().unwrap(),
                lock["statement_index"].as_u64().unwrap(),
                lock["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        locks,
        [
            ("public.notes", "ShareLock", 2, 3),
            ("public.notes", "AccessExclusiveLock", 4, 5)
        ],
        "{report:#}"
    );
    // Held through the index build on 300,000 rows that ends the file, whose own look
    // was skipped: the look before the commit saw it still held.
    let held = entry["locks"][1]["held_ms"].as_f64().unwrap();
    assert!(held >= 10.0, "held {held} ms: {report:#}");
}

#[test]
fn a_rewrite_no_statement_was_seen_making_is_the_files() {
    let project = base();
    // VACUUM FULL runs outside a transaction and lets go of its lock at once.
    project.file("20250102000000_compact.sql", "VACUUM FULL public.notes;\n");
    let (_, report) = shadow(&project);
    let entry = &report["migrations"][1];
    assert_eq!(
        entry["rewrites"],
        serde_json::json!([{"table": "public.notes", "statement_index": null, "line": null}]),
        "{report:#}"
    );
    assert_eq!(entry["locks"], serde_json::json!([]), "{report:#}");
}

/// An additive migration to revert: a column, an index, a table with a policy, a function.
fn with_additions() -> Project {
    let project = base();
    project.file(
        "20250102000000_tags.sql",
        "ALTER TABLE public.notes ADD COLUMN IF NOT EXISTS tags text[] DEFAULT '{}';\n\
         CREATE INDEX IF NOT EXISTS notes_tags_idx ON public.notes USING gin (tags);\n\
         CREATE TABLE IF NOT EXISTS public.labels (id bigint PRIMARY KEY, note_id bigint REFERENCES public.notes (id));\n\
         ALTER TABLE public.labels ENABLE ROW LEVEL SECURITY;\n\
         DROP POLICY IF EXISTS labels_read ON public.labels;\n\
         CREATE POLICY labels_read ON public.labels FOR SELECT USING (true);\n\
         CREATE OR REPLACE FUNCTION public.label_count(n bigint) RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM public.labels WHERE note_id = n $$;\n",
    );
    project
}

/// `new undo_tags --revert 20250102000000`: the drafted revert of the second migration.
fn draft_revert(project: &Project) {
    let (code, stdout, stderr) = output(&mut project.command(&[
        "new",
        "undo_tags",
        "--revert",
        "20250102000000",
        "--provider",
        "local",
    ]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}

/// The shadow passes with the revert: it brings back what it reverts.
fn assert_the_shadow_proves_the_revert(project: &Project) {
    let (code, report) = shadow(project);
    assert!(
        !report["findings"].to_string().contains("revert-incomplete"),
        "{report:#}"
    );
    assert_eq!(code, 0, "{report:#}");
}

#[test]
fn a_drafted_revert_applies_and_the_shadow_proves_it() {
    let project = with_additions();
    draft_revert(&project);
    let drafted = std::fs::read_dir(project.migrations())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.to_string_lossy().ends_with("_undo_tags.sql"))
        .expect("the draft");
    let sql = std::fs::read_to_string(&drafted).unwrap();
    assert!(
        sql.starts_with("-- migration-guard: reverts 20250102000000\n"),
        "{sql}"
    );
    // The new table's policy goes with the table.
    for drop in [
        "DROP INDEX IF EXISTS \"public\".\"notes_tags_idx\";",
        "ALTER TABLE IF EXISTS \"public\".\"notes\" DROP COLUMN IF EXISTS \"tags\";",
        "DROP TABLE IF EXISTS \"public\".\"labels\";",
        "DROP FUNCTION IF EXISTS \"public\".\"label_count\"(n bigint);",
    ] {
        assert!(sql.contains(drop), "{drop} missing from:\n{sql}");
    }
    // The index and the column before the table, the table before the function.
    assert!(sql.find("DROP INDEX").unwrap() < sql.find("DROP COLUMN").unwrap());
    assert!(sql.find("DROP COLUMN").unwrap() < sql.find("DROP TABLE").unwrap());
    assert!(sql.find("DROP TABLE").unwrap() < sql.find("DROP FUNCTION").unwrap());

    assert_the_shadow_proves_the_revert(&project);
}

#[test]
fn a_revert_that_leaves_something_behind_is_an_error() {
    let project = with_additions();
    project.file(
        "20250103000000_undo_tags.sql",
        "-- migration-guard: reverts 20250102000000\n\
         -- migration-guard: allow-file no-drop-column, dropped-column -- reverting\n\
         ALTER TABLE public.notes DROP COLUMN IF EXISTS tags;\n",
    );
    let (code, report) = shadow(&project);
    assert_eq!(code, 1, "{report:#}");
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "revert-incomplete")
        .unwrap_or_else(|| panic!("{report:#}"));
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.contains("table public.labels") && message.contains("function"),
        "{message}"
    );
    assert!(
        finding["file"]
            .as_str()
            .unwrap()
            .ends_with("_undo_tags.sql")
    );
}

/// An allow for either id of a confirmed pair silences the one finding.
#[test]
fn an_allow_for_the_shadows_id_silences_the_linters_twin() {
    let project = base();
    project.file(
        "20250102000000_remove.sql",
        "-- migration-guard: allow-file dropped-column -- authors live in profiles now\n\
         ALTER TABLE public.notes DROP COLUMN IF EXISTS author;\n",
    );
    let (code, report) = shadow(&project);
    assert_eq!(
        confirmed(&report),
        [triple(
            "no-drop-column",
            "20250102000000_remove.sql",
            "info"
        )],
        "{report:#}"
    );
    assert_eq!(semantic(&report), [], "{report:#}");
    assert_eq!(code, 0, "{report:#}");
}

/// A view and a function an earlier migration made: what the Data API serves.
fn with_api() -> Project {
    let project = base();
    project.file(
        "20250102000000_api.sql",
        "CREATE OR REPLACE VIEW public.note_bodies WITH (security_invoker = true) AS SELECT id, body FROM public.notes;\n\
         CREATE OR REPLACE FUNCTION public.note_count(min_id bigint) RETURNS bigint LANGUAGE sql SET search_path = '' AS $$ SELECT count(*) FROM public.notes WHERE id >= min_id $$;\n",
    );
    project
}

/// The findings of `rules` (the lint's and the shadow's ids of one problem).
fn of_rules<'r>(report: &'r Value, rules: &[&str]) -> Vec<&'r Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| rules.contains(&f["rule"].as_str().unwrap()))
        .collect()
}

#[test]
fn a_dropped_view_and_a_dropped_function_are_one_finding_each_confirmed() {
    let project = with_api();
    project.file(
        "20250103000000_drop_view.sql",
        "DROP VIEW IF EXISTS public.note_bodies;\n",
    );
    project.file(
        "20250104000000_drop_function.sql",
        "DROP FUNCTION IF EXISTS public.note_count(bigint);\n",
    );
    let (code, report) = shadow(&project);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(semantic(&report), [], "{report:#}");
    assert_eq!(
        confirmed(&report),
        [
            triple(
                "no-drop-function",
                "20250104000000_drop_function.sql",
                "error"
            ),
            triple("no-drop-view", "20250103000000_drop_view.sql", "error"),
        ],
        "{report:#}"
    );
    let view = of_rules(&report, &["no-drop-view", "dropped-view"]);
    assert_eq!(view.len(), 1, "{report:#}");
    let message = view[0]["message"].as_str().unwrap();
    assert!(
        message.contains("the view public.note_bodies is gone") && message.contains("Data API"),
        "{message}"
    );
    let function = of_rules(&report, &["no-drop-function", "dropped-function"]);
    assert_eq!(function.len(), 1, "{report:#}");
    let message = function[0]["message"].as_str().unwrap();
    assert!(
        message.contains("public.note_count(bigint) is gone")
            && message.contains("/rpc/note_count"),
        "{message}"
    );
}

#[test]
fn a_function_whose_signature_changed_is_dropped_and_says_by_what() {
    let project = with_api();
    // The linter takes a DROP then CREATE of one name for a re-creation; the catalog
    // sees the old signature gone, and calls with its arguments fail.
    project.file(
        "20250103000000_count_by_author.sql",
        "DROP FUNCTION IF EXISTS public.note_count(bigint);\n\
         CREATE OR REPLACE FUNCTION public.note_count(by_author text) RETURNS bigint LANGUAGE sql SET search_path = '' AS $$ SELECT count(*) FROM public.notes WHERE author = by_author $$;\n",
    );
    let (code, report) = shadow(&project);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        semantic(&report),
        [triple(
            "dropped-function",
            "20250103000000_count_by_author.sql",
            "error"
        )],
        "{report:#}"
    );
    let function = of_rules(&report, &["no-drop-function", "dropped-function"]);
    assert_eq!(function.len(), 1, "{report:#}");
    let message = function[0]["message"].as_str().unwrap();
    assert!(
        message.contains(
            "the function public.note_count(bigint) is gone after this migration, replaced by public.note_count(text)"
        ),
        "{message}"
    );
}

#[test]
fn a_view_dropped_through_dynamic_sql_is_found_on_its_file() {
    let project = with_api();
    project.file(
        "20250103000000_innocent.sql",
        "DO $$ BEGIN EXECUTE 'DROP VIEW IF EXISTS public.' || 'note_bodies'; END $$;\n",
    );
    let (code, report) = shadow(&project);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        semantic(&report),
        [triple(
            "dropped-view",
            "20250103000000_innocent.sql",
            "error"
        )],
        "{report:#}"
    );
    assert_eq!(confirmed(&report), [], "{report:#}");
    let finding = of_rules(&report, &["dropped-view"])[0];
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("public.note_bodies"),
        "{finding:#}"
    );
    assert!(
        finding["help"]
            .as_str()
            .unwrap()
            .contains("allow-file dropped-view"),
        "{finding:#}"
    );
}

#[test]
fn a_view_dropped_and_created_again_in_one_file_is_not_dropped() {
    let project = with_api();
    project.file(
        "20250103000000_reshape_view.sql",
        "DROP VIEW IF EXISTS public.note_bodies;\n\
         CREATE VIEW public.note_bodies WITH (security_invoker = true) AS SELECT id, body FROM public.notes WHERE body IS NOT NULL;\n",
    );
    let (_, report) = shadow(&project);
    assert_eq!(semantic(&report), [], "{report:#}");
    assert_eq!(confirmed(&report), [], "{report:#}");
}

/// A revert is judged on what the migration it reverts changed: later migrations'
/// changes are theirs, and do not make it incomplete (the runbook's "revert migration").
#[test]
fn a_revert_of_an_older_migration_is_judged_on_its_own_objects() {
    let project = with_additions();
    project.file(
        "20250103000000_more.sql",
        "CREATE TABLE IF NOT EXISTS public.unrelated (id int PRIMARY KEY);\n\
         ALTER TABLE public.unrelated ENABLE ROW LEVEL SECURITY;\n",
    );
    draft_revert(&project);
    assert_the_shadow_proves_the_revert(&project);
}

/// The policy is applied once to every source: a suppression comment can name an
/// advisor like any lint rule, and one that allowed nothing is reported by the run that
/// could have found it (the shadow), not by the linter, which cannot judge it.
#[test]
fn an_allow_names_an_advisor_and_an_unused_one_is_reported_where_it_can_be_judged() {
    let project = Project::new();
    project.file(
        "20250101000000_codes.sql",
        "-- migration-guard: allow advisor-rls-disabled-in-public -- a public lookup table\n\
         CREATE TABLE IF NOT EXISTS public.codes (id int PRIMARY KEY);\n",
    );
    project.file(
        "20250102000000_other.sql",
        "-- migration-guard: allow advisor-auth-users-exposed -- nothing exposes auth.users\n\
         CREATE TABLE IF NOT EXISTS public.other (id int PRIMARY KEY);\n\
         ALTER TABLE public.other ENABLE ROW LEVEL SECURITY;\n",
    );
    let (code, report) = shadow(&project);
    let found: Vec<(String, String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            let rule = f["rule"].as_str().unwrap();
            rule.starts_with("advisor-rls-disabled") || rule == "unused-suppression"
        })
        .map(described)
        .collect();
    assert_eq!(
        found,
        [
            triple(
                "advisor-rls-disabled-in-public",
                "20250101000000_codes.sql",
                "info"
            ),
            triple("unused-suppression", "20250102000000_other.sql", "warning"),
        ],
        "{report:#}"
    );
    assert_eq!(code, 0, "{report:#}");
    let (_, stdout, _) = output(&mut project.command(&["lint", "--format", "json"]));
    assert!(!stdout.contains("unused-suppression"), "{stdout}");
}

/// A lock that blocks reads or writes of an existing table, held while a later statement
/// writes rows (a backfill under ACCESS EXCLUSIVE), is found at the statement that took
/// it; the same lock taken last in its transaction, or followed only by catalog changes,
/// is not.
#[test]
fn a_lock_held_while_later_statements_run_is_found_where_it_was_taken() {
    let project = base();
    project.file(
        "20250102000000_backfill.sql",
        "ALTER TABLE public.notes ADD COLUMN IF NOT EXISTS status text;\n\
         UPDATE public.notes SET status = 'new' WHERE status IS NULL;\n\
         SELECT 1;\n",
    );
    project.file(
        "20250103000000_last.sql",
        "SELECT 1;\nALTER TABLE public.notes ADD COLUMN IF NOT EXISTS pinned boolean;\n",
    );
    // Catalog changes under the lock take no time worth naming.
    project.file(
        "20250104000000_policies.sql",
        "ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;\n\
         CREATE POLICY notes_read ON public.notes FOR SELECT USING (true);\n\
         COMMENT ON TABLE public.notes IS 'notes';\n",
    );
    let (_, report) = shadow(&project);
    let held: Vec<&Value> = of_rules(&report, &["lock-held-across-statements"]);
    assert_eq!(held.len(), 1, "{report:#}");
    let finding = held[0];
    assert_eq!(finding["file"], "migrations/20250102000000_backfill.sql");
    assert_eq!(finding["line"], 1);
    assert_eq!(finding["severity"], "warning");
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.contains("ACCESS EXCLUSIVE")
            && message.contains("public.notes")
            && message.contains("at line 2 writes rows"),
        "{message}"
    );
}

/// A generated diff cannot see a rename: it writes DROP and ADD. The dropped column's
/// finding says so when a column of the same type appears beside it.
#[test]
fn a_drop_and_add_of_the_same_type_reads_as_a_rename() {
    let project = base();
    project.file(
        "20250102000000_rename_author.sql",
        "ALTER TABLE public.notes DROP COLUMN IF EXISTS author;\n\
         ALTER TABLE public.notes ADD COLUMN IF NOT EXISTS writer text;\n",
    );
    let (_, report) = shadow(&project);
    let messages: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["message"].as_str())
        .filter(|message| message.contains("public.notes.author"))
        .collect();
    assert!(
        messages.iter().any(|message| message.contains(
            "The column public.notes.writer of the same type was added beside it: if this was meant as a rename"
        )),
        "{messages:#?}"
    );
}

/// The catalog sees a rename as a column gone and another added: a RENAME keeps the
/// data, so it is no `dropped-column` (the lint's `no-rename` judges it).
#[test]
fn a_renamed_column_is_not_a_dropped_one() {
    let project = base();
    project.file(
        "20250102000000_rename_author.sql",
        "ALTER TABLE public.notes RENAME COLUMN \"author\" TO writer;\n",
    );
    let (_, report) = shadow(&project);
    assert!(
        semantic(&report)
            .iter()
            .all(|(rule, _, _)| rule != "dropped-column"),
        "{report:#}"
    );
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "no-rename"),
        "{report:#}"
    );
}

/// After each file the shadow reads again only the views and functions the file locked
/// or created. A rename of a schema or of a type renames what lies in it (a function's
/// key names its argument types) without locking it: those files are read whole.
#[test]
fn what_a_renamed_schema_or_type_held_is_gone_though_nothing_of_it_was_locked() {
    let project = Project::new();
    project.file(
        "20250101000000_app.sql",
        "CREATE SCHEMA IF NOT EXISTS app;\n\
         CREATE TYPE app.mood AS ENUM ('ok', 'sad');\n\
         CREATE TABLE IF NOT EXISTS app.moods (id bigint PRIMARY KEY, mood app.mood);\n\
         CREATE OR REPLACE VIEW app.sad AS SELECT id FROM app.moods WHERE mood = 'sad';\n\
         CREATE OR REPLACE FUNCTION app.cheer(m app.mood) RETURNS app.mood LANGUAGE sql AS $$ SELECT 'ok'::app.mood $$;\n\
         CREATE TYPE public.tone AS ENUM ('calm');\n\
         CREATE OR REPLACE FUNCTION public.soften(t public.tone) RETURNS text LANGUAGE sql AS $$ SELECT 'calm' $$;\n",
    );
    // Dynamic SQL: the linter sees neither rename, so what is found is the catalog's.
    project.file(
        "20250102000000_rename_type.sql",
        "DO $$ BEGIN EXECUTE 'ALTER TYPE public.tone RENAME TO ' || 'voice'; END $$;\n",
    );
    project.file(
        "20250103000000_rename_schema.sql",
        "DO $$ BEGIN EXECUTE 'ALTER SCHEMA app RENAME TO ' || 'app_v2'; END $$;\n",
    );
    let (code, report) = shadow(&project);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        changed(&report),
        [
            triple(
                "dropped-function",
                "20250102000000_rename_type.sql",
                "error"
            ),
            triple(
                "dropped-function",
                "20250103000000_rename_schema.sql",
                "error"
            ),
            triple("dropped-table", "20250103000000_rename_schema.sql", "error"),
            triple("dropped-view", "20250103000000_rename_schema.sql", "error"),
        ],
        "{report:#}"
    );
    let messages: Vec<&str> = of_rules(&report, &["dropped-function", "dropped-view"])
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("public.soften(public.tone) is gone")),
        "{messages:#?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("app.sad is gone")),
        "{messages:#?}"
    );
    let table = of_rules(&report, &["dropped-table"])[0]["message"]
        .as_str()
        .unwrap();
    assert!(
        table.contains("the table app.moods is gone after this migration: app_v2.moods was added with the same columns, so it reads as renamed or moved there"),
        "{table}"
    );
}

/// A rename or a move of a function, and a view dropped with the table under it, lock
/// what they take away: what the shadow reads again after the file.
#[test]
fn a_function_renamed_or_moved_and_a_view_dropped_by_cascade_are_gone() {
    let project = with_api();
    project.file(
        "20250103000000_more.sql",
        "CREATE SCHEMA IF NOT EXISTS private;\n\
         CREATE OR REPLACE FUNCTION public.note_total() RETURNS bigint LANGUAGE sql SET search_path = '' AS $$ SELECT count(*) FROM public.notes $$;\n",
    );
    project.file(
        "20250104000000_rename.sql",
        "DO $$ BEGIN EXECUTE 'ALTER FUNCTION public.note_count(bigint) RENAME TO ' || 'notes_from'; END $$;\n",
    );
    project.file(
        "20250105000000_move.sql",
        "DO $$ BEGIN EXECUTE 'ALTER FUNCTION public.note_total() SET SCHEMA ' || 'private'; END $$;\n",
    );
    project.file(
        "20250106000000_cascade.sql",
        "DO $$ BEGIN EXECUTE 'DROP TABLE public.notes ' || 'CASCADE'; END $$;\n",
    );
    let (code, report) = shadow(&project);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        changed(&report),
        [
            triple("dropped-function", "20250104000000_rename.sql", "error"),
            triple("dropped-function", "20250105000000_move.sql", "error"),
            triple("dropped-table", "20250106000000_cascade.sql", "error"),
            triple("dropped-view", "20250106000000_cascade.sql", "error"),
        ],
        "{report:#}"
    );
}

/// The catalog findings of what the migrations changed, sorted: all but
/// `not-idempotent` (the files of these tests rename things, and cannot run twice).
fn changed(report: &Value) -> Vec<(String, String, String)> {
    let mut found: Vec<_> = semantic(report)
        .into_iter()
        .filter(|(rule, _, _)| rule != "not-idempotent")
        .collect();
    found.sort();
    found
}
