//! Declarative schemas: the schema files (`schemas/*.sql` beside config.toml) run into a
//! second database and are compared with what the migrations built; each difference is
//! `declarative-drift` at the schema file's line that declares it.

use serde_json::Value;

use crate::common::{self, Project};

const TABLE: &str = "CREATE TABLE IF NOT EXISTS public.notes (\n\
                     \x20 id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n\
                     \x20 owner uuid NOT NULL DEFAULT auth.uid(),\n\
                     \x20 body text NOT NULL\n\
                     );\n\
                     ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;\n\
                     GRANT SELECT ON public.notes TO authenticated;\n";
const POLICY: &str = "DROP POLICY IF EXISTS \"own notes\" ON public.notes;\n\
                      CREATE POLICY \"own notes\" ON public.notes FOR SELECT TO authenticated\n\
                      \x20 USING (owner = (SELECT auth.uid()));\n";

/// A Supabase project whose migration is `migration` and whose schema file is `schema`.
fn project(migration: &str, schema: &str) -> Project {
    let project = Project::new();
    std::fs::write(
        project.path().join("config.toml"),
        "[db]\nmajor_version = 15\n",
    )
    .unwrap();
    std::fs::create_dir(project.path().join("schemas")).unwrap();
    std::fs::write(project.path().join("schemas/notes.sql"), schema).unwrap();
    project.file("20250101000000_notes.sql", migration);
    project
}

fn drift(project: &Project) -> (i32, Vec<Value>, Value) {
    let (code, report) = common::shadow_json(project);
    let found = common::findings_of(&report, "declarative-drift")
        .into_iter()
        .cloned()
        .collect();
    (code, found, report)
}

#[test]
fn a_policy_declared_but_never_migrated_is_drift_at_its_line() {
    let (code, found, report) = drift(&project(TABLE, &format!("{TABLE}{POLICY}")));
    assert_eq!(code, 1, "an error: {report:#}");
    assert_eq!(found.len(), 1, "{report:#}");
    let finding = &found[0];
    assert_eq!(
        finding["message"],
        "policy public.notes.own notes is declared in the schema files but no migration makes it: a schema file was edited without generating its migration (`supabase db diff -f <name>`)"
    );
    assert!(
        finding["file"]
            .as_str()
            .unwrap()
            .ends_with("schemas/notes.sql")
    );
    assert_eq!(
        finding["line"], 8,
        "the DROP POLICY names it first: {finding:#}"
    );
}

#[test]
fn agreeing_files_give_nothing() {
    let both = format!("{TABLE}{POLICY}");
    let (code, found, report) = drift(&project(&both, &both));
    assert_eq!(code, 0, "{report:#}");
    assert!(found.is_empty(), "{found:#?}");
    assert!(
        report["notes"].to_string().contains(
            "Compared the schema the migrations build with the 1 declarative schema file(s)."
        ),
        "{report:#}"
    );
}

#[test]
fn a_migration_the_schema_files_lack_would_be_dropped_by_the_next_diff() {
    let (_, found, report) = drift(&project(&format!("{TABLE}{POLICY}"), TABLE));
    assert_eq!(found.len(), 1, "{report:#}");
    assert!(
        found[0]["message"]
            .as_str()
            .unwrap()
            .contains("is made by the migrations but the schema files do not declare it: the next `supabase db diff` generates a migration that drops it"),
        "{found:#?}"
    );
    assert!(
        found[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("20250101000000_notes.sql")
    );
}

#[test]
fn a_schema_file_that_fails_is_drift_at_its_line() {
    let (code, found, report) = drift(&project(
        TABLE,
        &format!("{TABLE}ALTER TABLE public.notez ADD COLUMN title text;\n"),
    ));
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(found.len(), 1, "{report:#}");
    assert!(
        found[0]["message"].as_str().unwrap().starts_with(
            "the schema file fails to apply, and `supabase db diff` stops there: relation \"public.notez\" does not exist [42P01]"
        ),
        "{found:#?}"
    );
    assert_eq!(found[0]["line"], 8, "{found:#?}");
}

/// A pg-delta project: `database/` (per `[experimental.pgdelta]`), `_custom/` apart.
fn pgdelta(migration: &str, files: &[(&str, &str)]) -> Project {
    let project = Project::new();
    std::fs::write(
        project.path().join("config.toml"),
        "[experimental.pgdelta]\nenabled = true\n",
    )
    .unwrap();
    for (name, text) in files {
        let path = project.path().join("database").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    project.file("20250101000000_notes.sql", migration);
    project
}

#[test]
fn pg_delta_files_build_in_any_order_that_works() {
    // In name order the policy comes before its table: pg-delta retries it after.
    let project = pgdelta(
        &format!("{TABLE}{POLICY}"),
        &[("a_policies.sql", POLICY), ("b_tables.sql", TABLE)],
    );
    let (code, found, report) = drift(&project);
    assert_eq!(code, 0, "{report:#}");
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn a_custom_file_names_the_migration_that_delivers_it() {
    let both = format!("{TABLE}{POLICY}");
    let custom = |head: &str, name: &str| {
        format!("{head}CREATE TEXT SEARCH CONFIGURATION public.{name} (COPY = english);\n")
    };
    let project = pgdelta(
        &both,
        &[
            ("tables.sql", both.as_str()),
            (
                "_custom/delivered.sql",
                &custom(
                    "-- pgdelta-migration: ../../migrations/20250101000000_notes.sql\n",
                    "delivered",
                ),
            ),
            ("_custom/undelivered.sql", &custom("", "undelivered")),
            (
                "_custom/dangling.sql",
                &custom("-- pgdelta-migration: ../migrations/nope.sql\n", "dangling"),
            ),
            (
                "_custom/modeled.sql",
                "-- pgdelta-migration: none\nCREATE TABLE IF NOT EXISTS public.notes (id bigint PRIMARY KEY);\n",
            ),
        ],
    );
    let (code, found, report) = drift(&project);
    assert_eq!(code, 0, "warnings only: {report:#}");
    let mut said: Vec<(String, String)> = found
        .iter()
        .map(|finding| {
            (
                common::file_name(finding),
                finding["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    said.sort();
    let files: Vec<&str> = said.iter().map(|(file, _)| file.as_str()).collect();
    assert_eq!(
        files,
        ["dangling.sql", "modeled.sql", "undelivered.sql"],
        "{said:#?}"
    );
    assert!(
        said[0]
            .1
            .contains("`-- pgdelta-migration: ../migrations/nope.sql` names no migration file")
    );
    assert!(said[1].1.starts_with("pg-delta models this object"));
    assert!(
        said[2]
            .1
            .starts_with("this _custom/ file names no migration that delivers it")
    );
    assert!(found.iter().all(|finding| finding["severity"] == "warning"));
}
