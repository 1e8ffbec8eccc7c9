//! plpgsql_check on the function bodies the migrations created, against a real Postgres
//! with the extension: an error and a warning are found at the file line of the body's
//! line, a trigger function through its trigger's table, a clean schema yields nothing,
//! what cannot be checked is a note, and the check leaves nothing behind. As in the
//! shadow, the migrations run as a role that is no superuser (`-c role=…` here) and the
//! check on a superuser session of the shadow's own.

use crate::common;

use std::fs;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::PgServer;
use migration_guard::catalog::{self, Scope};
use migration_guard::checks::plpgsql::{self, Checked};
use migration_guard::db::Database;
use migration_guard::findings::registry;
use migration_guard::findings::span::LineIndex;
use migration_guard::migration::{MigrationFile, discover};
use migration_guard::report::{Finding, Severity};
use tempfile::TempDir;

/// The role the migrations run as: not a superuser, like Supabase's `postgres`.
const ROLE: &str = "plpgsql_migrator";
const ROLE_PASSWORD: &str = "migrator-pw";

/// The shared cluster, with the non-superuser role the checks act as.
fn server() -> Arc<PgServer> {
    common::shared_server(module_path!(), |server| {
        server.psql(&format!(
            "CREATE ROLE {ROLE} LOGIN NOSUPERUSER PASSWORD '{ROLE_PASSWORD}'"
        ));
    })
}

async fn connect(config: &tokio_postgres::Config) -> Database {
    Database::connect(config).await.unwrap()
}

/// A fresh database owned by [`ROLE`], and a superuser connection to it that acts as
/// [`ROLE`], as the shadow's does.
async fn fresh(server: &PgServer) -> (String, Database) {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "plpgsql_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    server.psql(&format!("CREATE DATABASE {name} OWNER {ROLE}"));
    let mut config = tokio_postgres::Config::from_str(&server.url_for(&name)).unwrap();
    config.options(format!("-c role={ROLE}"));
    (name, connect(&config).await)
}

/// A shadow after `files` (name, contents): the files written to a migrations directory,
/// read back as the tool reads them, and applied in order.
struct Shadow {
    server: Arc<PgServer>,
    database: String,
    db: Database,
    /// A plain superuser session on the same database: the check's.
    admin: Database,
    migrations: Vec<MigrationFile>,
    _dir: TempDir,
}

impl Shadow {
    async fn after(files: &[(&str, &str)]) -> Shadow {
        let server = server();
        let (database, db) = fresh(&server).await;
        let dir = tempfile::tempdir().unwrap();
        for (name, contents) in files {
            fs::write(dir.path().join(name), contents).unwrap();
        }
        let migrations = discover(dir.path()).unwrap().migrations;
        for migration in &migrations {
            db.client
                .batch_execute(&migration.source)
                .await
                .unwrap_or_else(|error| panic!("{}: {error:?}", migration.file_name));
        }
        let admin =
            connect(&tokio_postgres::Config::from_str(&server.url_for(&database)).unwrap()).await;
        Shadow {
            server,
            database,
            db,
            admin,
            migrations,
            _dir: dir,
        }
    }

    async fn check(&self) -> Checked {
        plpgsql::check(&self.admin, &self.migrations).await.unwrap()
    }

    /// The finding's file name and 1-based line.
    fn line(&self, finding: &Finding) -> (String, usize) {
        let location = finding.location.as_ref().expect("a location");
        let migration = self
            .migrations
            .iter()
            .find(|m| m.path == location.file)
            .expect("a migration file");
        let source = &migration.source;
        let line = LineIndex::new(source)
            .line_col(source, location.span.start)
            .line;
        (migration.file_name.clone(), line)
    }

    async fn value(&self, sql: &str) -> String {
        self.db.client.query_one(sql, &[]).await.unwrap().get(0)
    }
}

/// The 1-based line of the first line of `file`'s contents that contains `needle`.
fn line_of(contents: &str, needle: &str) -> usize {
    contents
        .lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in the file"))
        + 1
}

const ITEMS: &str = "create table public.items (id bigint primary key, name text not null);\n\
create or replace function public.item_name(item bigint) returns text language plpgsql stable as $$\n\
begin\n  return (select name from public.items where id = item);\nend\n$$;\n";

/// The function as the second file redefines it, with a column that does not exist,
/// named in another case, after a string that is not its body.
const ITEM_NAME: &str = "-- The name of an item, for the API.\n\
\n\
create or replace function Public.Item_Name(item bigint)\n\
returns text\n\
language plpgsql stable\n\
set search_path = ''\n\
as $body$\n\
declare\n\
  result text;\n\
begin\n\
  select title into result from public.items where id = item;\n\
  return result;\n\
end\n\
$body$;\n";

#[tokio::test]
async fn a_missing_column_is_an_error_at_its_file_line() {
    let shadow =
        Shadow::after(&[("0001_items.sql", ITEMS), ("0002_item_name.sql", ITEM_NAME)]).await;
    let checked = shadow.check().await;
    assert!(checked.notes.is_empty(), "{:#?}", checked.notes);
    let [finding] = checked.findings.as_slice() else {
        panic!("{:#?}", checked.findings);
    };
    assert_eq!(finding.rule, registry::PLPGSQL_ERROR.id);
    assert_eq!(finding.severity, Severity::Error);
    assert_eq!(
        shadow.line(finding),
        (
            "0002_item_name.sql".to_string(),
            line_of(ITEM_NAME, "select title")
        )
    );
    assert!(
        finding.message.starts_with("public.item_name(bigint)"),
        "{}",
        finding.message
    );
    assert!(
        finding.message.contains(r#"column "title" does not exist"#),
        "{}",
        finding.message
    );
    assert!(finding.help.is_some());
}

const PROFILES: &str = "create table public.profiles (id bigint primary key, updated_at timestamptz);\n\
\n\
create function public.touch() returns trigger language plpgsql as $$\n\
begin\n\
  new.updated_at := now();\n\
  new.modified_by := current_user;\n\
  return new;\n\
end\n\
$$;\n\
\n\
create trigger profiles_touch before update on public.profiles\n\
  for each row execute function public.touch();\n";

#[tokio::test]
async fn a_trigger_function_is_checked_with_its_triggers_table() {
    let shadow = Shadow::after(&[("0001_profiles.sql", PROFILES)]).await;
    let checked = shadow.check().await;
    assert!(checked.notes.is_empty(), "{:#?}", checked.notes);
    let [finding] = checked.findings.as_slice() else {
        panic!("{:#?}", checked.findings);
    };
    assert_eq!(finding.rule, registry::PLPGSQL_ERROR.id);
    assert_eq!(
        shadow.line(finding),
        (
            "0001_profiles.sql".to_string(),
            line_of(PROFILES, "new.modified_by")
        )
    );
    assert!(
        finding
            .message
            .starts_with("public.touch() (as the trigger profiles_touch on public.profiles)"),
        "{}",
        finding.message
    );
    assert!(
        finding
            .message
            .contains(r#"record "new" has no field "modified_by""#),
        "{}",
        finding.message
    );
}

const CLEAN: &str = r#"create table public.items (id bigint primary key, name text not null, updated_at timestamptz);
create table public.audit (id bigint, at timestamptz);

create or replace function public.item_name(item bigint) returns text
language plpgsql stable set search_path = '' as $$
declare
  result text;
begin
  select name into result from public.items where id = item;
  return result;
end
$$;

create or replace procedure public.rename_item(item bigint, new_name text)
language plpgsql as $$
begin
  update public.items set name = new_name where id = item;
end
$$;

create or replace function public.touch() returns trigger language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end
$$;
create trigger items_touch before update on public.items
  for each row execute function public.touch();

-- A statement trigger with a transition table: plpgsql_check must be told its name.
create or replace function public.audit_items() returns trigger language plpgsql as $$
begin
  insert into public.audit (id, at) select id, now() from inserted;
  return null;
end
$$;
create trigger items_audit after insert on public.items
  referencing new table as inserted
  for each statement execute function public.audit_items();

-- Supabase's own schemas are not the project's.
create schema auth;
create function auth.broken() returns int language plpgsql as $$
begin
  return (select nope from public.items);
end
$$;
"#;

#[tokio::test]
async fn a_clean_schema_yields_nothing() {
    let shadow = Shadow::after(&[("0001_clean.sql", CLEAN)]).await;
    let checked = shadow.check().await;
    assert!(checked.findings.is_empty(), "{:#?}", checked.findings);
    assert!(checked.notes.is_empty(), "{:#?}", checked.notes);
}

const AUDITED: &str = "create table public.orders (id bigint primary key, total numeric);\n\
create table public.audit (n bigint);\n\
\n\
create function public.count_new() returns trigger language plpgsql as $$\n\
begin\n\
  insert into public.audit select count(*) from inserted where inserted.amount > 0;\n\
  return null;\n\
end\n\
$$;\n\
\n\
create trigger orders_counted after insert on public.orders\n\
  referencing new table as inserted\n\
  for each statement execute function public.count_new();\n\
\n\
create function public.order_total(order_id bigint) returns numeric language plpgsql as $$\n\
begin\n\
  return (select sum from public.orders where id = order_id);\n\
end\n\
$$;\n\
\n\
create function public.order_count() returns bigint language plpgsql as $$\n\
begin\n\
  return (select count(*) from public.orders);\n\
end\n\
$$;\n";

/// Routines are checked together, a trigger with transition tables on its own: each
/// finding stays with its routine and its line. (Checked one by one, as when one check
/// raises, they would come in the catalog's order, `count_new` first.)
#[tokio::test]
async fn a_transition_table_trigger_and_plain_routines_are_each_checked_once() {
    let shadow = Shadow::after(&[("0001_orders.sql", AUDITED)]).await;
    let checked = shadow.check().await;
    assert!(checked.notes.is_empty(), "{:#?}", checked.notes);
    let found: Vec<(String, (String, usize))> = checked
        .findings
        .iter()
        .map(|finding| {
            (
                finding
                    .message
                    .split('(')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                shadow.line(finding),
            )
        })
        .collect();
    let at = |needle| ("0001_orders.sql".to_string(), line_of(AUDITED, needle));
    assert_eq!(
        found,
        [
            ("public.order_total".to_string(), at("return (select sum")),
            (
                "public.count_new".to_string(),
                at("insert into public.audit")
            ),
        ],
        "{:#?}",
        checked.findings
    );
    assert!(
        checked.findings[1].message.contains("amount"),
        "{}",
        checked.findings[1].message
    );
}

#[tokio::test]
async fn a_trigger_function_no_trigger_uses_is_a_note() {
    let orphan = "create function public.orphan() returns trigger language plpgsql as $$\n\
begin\n  new.whatever := 1;\n  return new;\nend\n$$;\n";
    let shadow = Shadow::after(&[("0001_orphan.sql", orphan)]).await;
    let checked = shadow.check().await;
    assert!(checked.findings.is_empty(), "{:#?}", checked.findings);
    let [note] = checked.notes.as_slice() else {
        panic!("{:#?}", checked.notes);
    };
    assert!(note.starts_with("public.orphan():"), "{note}");
    assert!(note.contains("no trigger uses"), "{note}");
}

const WARNINGS: &str = "create function public.discounted(price numeric) returns numeric\n\
language plpgsql immutable as $$\n\
declare\n\
  price numeric := 0;\n\
begin\n\
  return price * 0.9;\n\
end\n\
$$;\n\
\n\
-- Only plpgsql_check's 'warning extra' level: an unused parameter, no RETURN at the end.\n\
create function public.sign_of(a int, unused int) returns int language plpgsql immutable as $$\n\
begin\n\
  if a > 0 then\n\
    return 1;\n\
  end if;\n\
end\n\
$$;\n";

#[tokio::test]
async fn a_hidden_parameter_is_a_warning_and_extra_warnings_are_not_reported() {
    let shadow = Shadow::after(&[("0001_warnings.sql", WARNINGS)]).await;
    let checked = shadow.check().await;
    assert!(checked.notes.is_empty(), "{:#?}", checked.notes);
    let [finding] = checked.findings.as_slice() else {
        panic!("{:#?}", checked.findings);
    };
    assert_eq!(finding.rule, registry::PLPGSQL_WARNING.id);
    assert_eq!(finding.severity, Severity::Warning);
    assert!(
        finding.message.starts_with("public.discounted(numeric)"),
        "{}",
        finding.message
    );
    assert!(
        finding
            .message
            .contains(r#"parameter "price" is overlapped"#),
        "{}",
        finding.message
    );
    // plpgsql_check puts it on the block the variable is declared for: its BEGIN.
    assert_eq!(
        shadow.line(finding),
        ("0001_warnings.sql".to_string(), line_of(WARNINGS, "begin"))
    );
    // The default severities the docs state.
    assert_eq!(
        [registry::PLPGSQL_ERROR, registry::PLPGSQL_WARNING].map(|rule| (rule.id, rule.severity)),
        [
            (registry::PLPGSQL_ERROR.id, Severity::Error),
            (registry::PLPGSQL_WARNING.id, Severity::Warning)
        ]
    );
}

/// An overload in another file, a single-quoted body, a procedure, and a function made
/// by dynamic SQL, which no statement creates.
const OVERLOADS: &str = "create function public.label(n int) returns text language plpgsql as '\n\
begin\n\
  return ''#'' || n || (select nope from public.items);\n\
end';\n\
\n\
create procedure public.cleanup() language plpgsql as $p$\n\
begin\n\
  delete from public.missing_table;\n\
end\n\
$p$;\n\
\n\
do $do$\n\
begin\n\
  execute 'create function public.made() returns int language plpgsql as ''begin return (select nope from public.items); end''';\n\
end\n\
$do$;\n";

const OVERLOAD: &str = "create function public.label(t text) returns text language plpgsql as $$\n\
begin\n\
  return t;\n\
end\n\
$$;\n";

#[tokio::test]
async fn overloads_quoted_bodies_procedures_and_dynamic_sql_are_located() {
    let shadow = Shadow::after(&[
        ("0001_items.sql", ITEMS),
        ("0002_overloads.sql", OVERLOADS),
        ("0003_overload.sql", OVERLOAD),
    ])
    .await;
    let checked = shadow.check().await;
    assert!(checked.notes.is_empty(), "{:#?}", checked.notes);
    let found = |signature: &str| {
        let matching: Vec<&Finding> = checked
            .findings
            .iter()
            .filter(|f| f.message.starts_with(signature))
            .collect();
        assert_eq!(matching.len(), 1, "{signature}: {:#?}", checked.findings);
        matching[0]
    };
    let label = found("public.label(integer)");
    assert_eq!(
        shadow.line(label),
        (
            "0002_overloads.sql".to_string(),
            line_of(OVERLOADS, "select nope")
        )
    );
    let cleanup = found("public.cleanup()");
    assert!(
        cleanup.message.contains("missing_table"),
        "{}",
        cleanup.message
    );
    assert_eq!(
        shadow.line(cleanup),
        (
            "0002_overloads.sql".to_string(),
            line_of(OVERLOADS, "delete from public.missing_table")
        )
    );
    let made = found("public.made()");
    assert_eq!(made.location, None);
    assert!(
        made.message.contains("line 1 of its body"),
        "{}",
        made.message
    );
    assert_eq!(checked.findings.len(), 3, "{:#?}", checked.findings);
}

#[tokio::test]
async fn a_routine_plpgsql_check_refuses_is_a_note_and_the_others_are_still_checked() {
    let files = "create table public.items (id bigint primary key);\n\
create function public.a_refused() returns int language plpgsql as $$\n\
-- @plpgsql_check_options: no_such_option = 1\n\
begin\n  return 1;\nend\n$$;\n\
create function public.b_broken() returns int language plpgsql as $$\n\
begin\n  return (select nope from public.items);\nend\n$$;\n";
    let shadow = Shadow::after(&[("0001_refused.sql", files)]).await;
    let checked = shadow.check().await;
    let [note] = checked.notes.as_slice() else {
        panic!("{:#?}", checked.notes);
    };
    assert!(
        note.starts_with("public.a_refused(): plpgsql_check could not check it"),
        "{note}"
    );
    let [finding] = checked.findings.as_slice() else {
        panic!("{:#?}", checked.findings);
    };
    assert!(
        finding.message.starts_with("public.b_broken()"),
        "{}",
        finding.message
    );
}

/// The checks go out many at a time: a refusal among them stops those sent after it,
/// which are sent again, so every routine is still checked once.
#[tokio::test]
async fn refusals_among_many_routines_leave_every_other_one_checked_once() {
    let mut files = String::from("create table public.items (id bigint primary key);\n");
    for index in 0..40 {
        let option = if index % 7 == 3 {
            "-- @plpgsql_check_options: no_such_option = 1\n"
        } else {
            ""
        };
        files.push_str(&format!(
            "create function public.f{index:02}() returns int language plpgsql as $$\n{option}begin\n  return (select nope from public.items);\nend\n$$;\n"
        ));
    }
    let shadow = Shadow::after(&[("0001_many.sql", &files)]).await;
    let checked = shadow.check().await;
    let refused: Vec<&str> = checked
        .notes
        .iter()
        .filter_map(|note| note.split("()").next())
        .collect();
    assert_eq!(
        refused,
        [
            "public.f03",
            "public.f10",
            "public.f17",
            "public.f24",
            "public.f31",
            "public.f38"
        ],
        "{:#?}",
        checked.notes
    );
    let mut found: Vec<&str> = checked
        .findings
        .iter()
        .filter_map(|finding| finding.message.split("()").next())
        .collect();
    found.sort();
    let expected: Vec<String> = (0..40)
        .filter(|index| index % 7 != 3)
        .map(|index| format!("public.f{index:02}"))
        .collect();
    assert_eq!(found, expected);
}

#[tokio::test]
async fn the_check_leaves_nothing_behind() {
    let shadow = Shadow::after(&[
        ("0001_items.sql", ITEMS),
        ("0002_item_name.sql", ITEM_NAME),
        ("0003_profiles.sql", PROFILES),
    ])
    .await;
    let before = catalog::snapshot(&shadow.db, &Scope::default())
        .await
        .unwrap();
    let search_path = shadow.value("SHOW search_path").await;
    let checked = shadow.check().await;
    assert_eq!(checked.findings.len(), 2, "{:#?}", checked.findings);
    let after = catalog::snapshot(&shadow.db, &Scope::default())
        .await
        .unwrap();
    assert_eq!(before, after);
    assert_eq!(
        shadow
            .value("SELECT count(*)::text FROM pg_extension WHERE extname = 'plpgsql_check'")
            .await,
        "0"
    );
    assert_eq!(
        shadow
            .value("SELECT count(*)::text FROM pg_namespace WHERE nspname LIKE 'migration_guard%'")
            .await,
        "0"
    );
    // The migrations' session is untouched; the check's is outside any transaction.
    assert_eq!(shadow.value("SELECT current_user::text").await, ROLE);
    assert_eq!(shadow.value("SHOW search_path").await, search_path);
    shadow.admin.take_notices();
    shadow
        .admin
        .client
        .batch_execute("BEGIN; ROLLBACK")
        .await
        .unwrap();
    assert_eq!(
        shadow.admin.take_notices(),
        Vec::new(),
        "a transaction was left open"
    );
    // A second check finds the same.
    assert_eq!(shadow.check().await.findings, checked.findings);
}

#[tokio::test]
async fn plpgsql_check_installed_by_the_migrations_is_used_and_kept() {
    let shadow =
        Shadow::after(&[("0001_items.sql", ITEMS), ("0002_item_name.sql", ITEM_NAME)]).await;
    shadow.server.psql_in(
        &shadow.database,
        "CREATE SCHEMA extensions; CREATE EXTENSION plpgsql_check WITH SCHEMA extensions",
    );
    let checked = shadow.check().await;
    assert_eq!(checked.findings.len(), 1, "{:#?}", checked.findings);
    assert_eq!(
        shadow
            .value(
                "SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'plpgsql_check'"
            )
            .await,
        "extensions"
    );
}

#[tokio::test]
async fn a_session_that_may_not_create_the_extension_gets_a_note() {
    let shadow =
        Shadow::after(&[("0001_items.sql", ITEMS), ("0002_item_name.sql", ITEM_NAME)]).await;
    let url = format!(
        "postgresql://{ROLE}:{ROLE_PASSWORD}@127.0.0.1:{}/{}",
        shadow.server.port, shadow.database
    );
    let db = connect(&tokio_postgres::Config::from_str(&url).unwrap()).await;
    let checked = plpgsql::check(&db, &shadow.migrations).await.unwrap();
    assert!(checked.findings.is_empty(), "{:#?}", checked.findings);
    let [note] = checked.notes.as_slice() else {
        panic!("{:#?}", checked.notes);
    };
    assert!(
        note.starts_with(&format!("plpgsql_check cannot be created by {ROLE}")),
        "{note}"
    );
    // Still usable.
    assert_eq!(
        db.client
            .query_one("SELECT current_user::text", &[])
            .await
            .unwrap()
            .get::<_, String>(0),
        ROLE
    );
}
