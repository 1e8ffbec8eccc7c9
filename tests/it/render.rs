//! Every format renders the same `Report`: snapshots of what people and scripts read.

use std::path::PathBuf;
use std::sync::Arc;

use migration_guard::findings::span::Span;
use migration_guard::report::model::{
    LockEvidence, LockMode, MigrationError, PostgresInfo, RunLink, Size, TableEvidence, VerifyCheck,
};
use migration_guard::report::{
    CommandName, Finding, Location, MigrationEntry, MigrationStatus, Report, Severity, json,
    markdown, text,
};

const FAILING: &str = "-- add orders\nCREATE TABLE IF NOT EXISTS orders (\n  id bigint PRIMARY KEY,\n  user_id uuid REFERENCES users (id),\n  total numeric(10, 2) NOT NULL CHECK (totl >= 0)\n);\n";

fn entry(file: &str, status: MigrationStatus, duration_ms: Option<u64>) -> MigrationEntry {
    let (version, name) = file.split_once('_').unwrap();
    MigrationEntry {
        file: PathBuf::from(format!("supabase/migrations/{file}")),
        version: version.to_string(),
        name: name.trim_end_matches(".sql").to_string(),
        status,
        statements: 3,
        duration_ms,
        error: None,
        transaction: None,
        notices: Vec::new(),
        locks: Vec::new(),
        rewrites: Vec::new(),
        unguarded: None,
        deployed: false,
    }
}

fn sample() -> Report {
    let mut report = Report::new(CommandName::Shadow);
    report.postgres = Some(PostgresInfo {
        provider: "local".to_string(),
        server_version: "15.18".to_string(),
        supabase_compat: Some("supabase-compat 1"),
        ready_ms: Some(812),
    });
    let failing = PathBuf::from("supabase/migrations/20251125170356_orders.sql");
    report.add_source(&failing, Arc::from(FAILING));
    let mut applied = entry("0001_baseline.sql", MigrationStatus::Applied, Some(41));
    applied.transaction = Some("the file's own BEGIN/COMMIT".to_string());
    applied.notices = vec!["NOTICE: extension \"pgcrypto\" already exists, skipping".to_string()];
    let mut failed = entry(
        "20251125170356_orders.sql",
        MigrationStatus::Failed,
        Some(3),
    );
    let at = FAILING.find("totl").unwrap();
    failed.error = Some(MigrationError {
        message: "column \"totl\" does not exist".to_string(),
        sqlstate: Some("42703".to_string()),
        location: Some(Location {
            file: failing.clone(),
            span: Span::new(at, at),
        }),
        statement: Some(Span::new(0, FAILING.find(";").unwrap())),
        statement_index: Some(0),
        hint: Some("Perhaps you meant to reference the column \"orders.total\".".to_string()),
        ..MigrationError::default()
    });
    report.migrations = vec![
        applied,
        failed,
        entry("20251126090000_later.sql", MigrationStatus::Skipped, None),
    ];
    report.findings.push(Finding {
        rule: "version-collision",
        severity: Severity::Warning,
        location: Some(Location {
            file: failing,
            span: Span::new(0, 0),
        }),
        message: "an example finding | with a pipe".to_string(),
        help: Some("rename it".to_string()),
    });
    report.verify = vec![
        VerifyCheck {
            file: PathBuf::from("supabase/verify/verify.sql"),
            check: "tables_exist".to_string(),
            ok: true,
            detail: "all 5 tables present".to_string(),
            location: None,
        },
        VerifyCheck {
            file: PathBuf::from("supabase/verify/verify.sql"),
            check: "rls_enabled".to_string(),
            ok: false,
            detail: "rls off: orders".to_string(),
            location: None,
        },
    ];
    report
        .notes
        .push("verification skipped: a migration failed".to_string());
    report.duration_ms = Some(1234);
    report
}

#[test]
fn text() {
    let rendered = text::render(&sample());
    insta::assert_snapshot!(anstream::adapter::strip_str(&rendered).to_string());
}

#[test]
fn markdown() {
    insta::assert_snapshot!(markdown::render(&sample()));
}

#[test]
fn markdown_of_a_passing_run() {
    let mut report = Report::new(CommandName::Shadow);
    report.postgres = Some(PostgresInfo {
        provider: "docker".to_string(),
        server_version: "15.18".to_string(),
        supabase_compat: Some("supabase-compat 1"),
        ready_ms: Some(2236),
    });
    let mut first = entry("0001_baseline.sql", MigrationStatus::Applied, Some(41));
    first.transaction = Some("the file's own BEGIN/COMMIT".to_string());
    let mut second = entry(
        "20251125170356_add_user_preferences.sql",
        MigrationStatus::Applied,
        Some(3),
    );
    second.transaction = Some("one transaction".to_string());
    report.migrations = vec![first, second];
    report.verify = vec![VerifyCheck {
        file: PathBuf::from("supabase/verify/verify.sql"),
        check: "tables_exist".to_string(),
        ok: true,
        detail: "all 5 tables present".to_string(),
        location: None,
    }];
    report.duration_ms = Some(2766);
    assert_eq!(report.status().exit_code(), 0);
    insta::assert_snapshot!(markdown::render(&report));
}

/// A pull request's comment where the base has history: the change's files lead (new
/// and edited marked), the deployed ones are folded, the failure is above the tables,
/// failed checks stay in sight however many passed, and the commit and run are linked.
#[test]
fn markdown_of_a_pull_request_leads_with_what_it_changes() {
    let mut report = sample();
    report.history = Some("on `main`".to_string());
    report.migrations[0].deployed = true;
    let edited = entry(
        "20251120080000_profiles.sql",
        MigrationStatus::Applied,
        Some(7),
    );
    report.migrations.insert(1, edited);
    report.findings.push(Finding {
        rule: "migration-edited",
        severity: Severity::Error,
        location: Some(Location {
            file: PathBuf::from("supabase/migrations/20251120080000_profiles.sql"),
            span: Span::new(0, 0),
        }),
        message: "this migration is on `main` and was edited here".to_string(),
        help: None,
    });
    for n in 0..11 {
        report.verify.push(VerifyCheck {
            file: PathBuf::from("supabase/verify/verify.sql"),
            check: format!("check_{n:02}"),
            ok: true,
            detail: "fine".to_string(),
            location: None,
        });
    }
    report.run = Some(RunLink {
        commit: "6dcb09b5b57875f334f61aebed695e2e4193db5e".to_string(),
        url: Some("https://github.com/acme/shop/actions/runs/42".to_string()),
    });
    let rendered = markdown::render(&report);
    let at = |text: &str| {
        rendered
            .find(text)
            .unwrap_or_else(|| panic!("{text:?} missing from:\n{rendered}"))
    };
    assert!(at("failed at line 5") < at("#### This change"));
    assert!(at("#### This change") < at("already deployed (on `main`)"));
    assert!(at("rls off: orders") < at("<details><summary>12 passed checks"));
    insta::assert_snapshot!(rendered);
}

#[test]
fn json() {
    insta::assert_snapshot!(json::render(&sample()));
}

#[test]
fn tool_error_in_every_format() {
    let report = Report::error(
        CommandName::Shadow,
        "cannot connect to app@db:5432: timed out".to_string(),
    );
    assert_eq!(report.status().exit_code(), 2);
    insta::assert_snapshot!(format!(
        "{}\n---\n{}\n---\n{}",
        anstream::adapter::strip_str(&text::render(&report)),
        markdown::render(&report),
        json::render(&report)
    ));
}

/// A production deploy that stopped at an index left invalid: already applied, applied,
/// failed and skipped migrations, the deploy's own finding and notes.
fn deploy() -> Report {
    let mut report = Report::new(CommandName::Deploy);
    report.postgres = Some(PostgresInfo {
        provider: "direct".to_string(),
        server_version: "15.8".to_string(),
        supabase_compat: None,
        ready_ms: None,
    });
    let index_file = PathBuf::from("supabase/migrations/20251127090000_unique_email.sql");
    let index_sql =
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_key ON public.users (email);\n";
    report.add_source(&index_file, Arc::from(index_sql));
    let mut applied = entry(
        "20251126090000_tags.sql",
        MigrationStatus::Applied,
        Some(84),
    );
    applied.transaction = Some("one transaction".to_string());
    let tags_file = applied.file.clone();
    let tags_sql =
        "-- tags for search\nALTER TABLE public.users ADD COLUMN IF NOT EXISTS tags text[];\n";
    report.add_source(&tags_file, Arc::from(tags_sql));
    let held = |statement: Option<usize>| TableEvidence {
        table: "public.users".to_string(),
        statement_index: statement,
        at: statement.map(|_| Location {
            file: tags_file.clone(),
            span: Span::new(19, 19),
        }),
    };
    applied.locks = vec![LockEvidence {
        relation: "public.users".to_string(),
        kind: "table",
        mode: LockMode::AccessExclusive,
        statement_index: Some(0),
        at: held(Some(0)).at,
        held: Some(std::time::Duration::from_millis(84)),
        through: Some(0),
        size: Some(Size {
            rows: Some(100_000),
            pages: 1_000,
            index_pages: 300,
        }),
        work: Vec::new(),
        predicted: Some(std::time::Duration::from_millis(18_200)),
    }];
    applied.rewrites = vec![held(None)];
    let mut failed = entry(
        "20251127090000_unique_email.sql",
        MigrationStatus::Failed,
        Some(2310),
    );
    failed.error = Some(MigrationError {
        message: "could not create unique index \"users_email_key\"".to_string(),
        sqlstate: Some("23505".to_string()),
        detail: Some("Key (email)=(a@example.com) is duplicated.".to_string()),
        location: Some(Location {
            file: index_file.clone(),
            span: Span::new(0, 0),
        }),
        statement: Some(Span::new(0, index_sql.len() - 2)),
        statement_index: Some(0),
        ..MigrationError::default()
    });
    report.migrations = vec![
        entry("0001_baseline.sql", MigrationStatus::AlreadyApplied, None),
        applied,
        failed,
        entry("20251128090000_later.sql", MigrationStatus::Skipped, None),
    ];
    report.findings.push(Finding {
        rule: "invalid-index",
        severity: Severity::Error,
        location: Some(Location {
            file: index_file,
            span: Span::new(20, 20),
        }),
        message: "\"public\".\"users_email_key\" is INVALID after 20251127090000_unique_email.sql".to_string(),
        help: Some("drop it (`DROP INDEX CONCURRENTLY \"public\".\"users_email_key\";`), fix the cause, then build it again in a new migration".to_string()),
    });
    report.notes = vec![
        "Target production: postgres@db.example.supabase.co:5432".to_string(),
        "Schema backup before the deploy: .migration-guard/production-schema-20251127T090000Z.sql (48211 bytes).".to_string(),
        "Platform backups of abcdefghijklmnopqrst: latest completed backup 2026-11-27 03:00 UTC; point-in-time recovery on, restorable up to 2026-11-27 08:59 UTC.".to_string(),
    ];
    report.duration_ms = Some(2710);
    report
}

#[test]
fn deploy_text() {
    let rendered = text::render(&deploy());
    insta::assert_snapshot!(anstream::adapter::strip_str(&rendered).to_string());
}

#[test]
fn deploy_markdown() {
    insta::assert_snapshot!(markdown::render(&deploy()));
}
