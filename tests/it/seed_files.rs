//! The project's seed files run after the migrations, as `supabase db reset` and a
//! preview branch run them: a failing one is `seed-failed` at its file and line, the
//! files after it are not run, and the rows of those that ran are there for the verify
//! scripts.

use serde_json::Value;

use crate::common::{self, Project};

fn shadow(project: &Project) -> (i32, Value) {
    common::shadow_json(project)
}

fn project(config: &str) -> Project {
    let project = Project::new();
    std::fs::write(project.path().join("config.toml"), config).unwrap();
    project.file(
        "20250101000000_notes.sql",
        "CREATE TABLE IF NOT EXISTS public.notes (id int PRIMARY KEY, body text NOT NULL);\n\
         ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;\n",
    );
    project
}

#[test]
fn a_failing_seed_is_an_error_at_its_line_and_stops_the_seeds_after_it() {
    let project = project("[db.seed]\nsql_paths = ['./seeds/*.sql', './last.sql']\n");
    std::fs::create_dir_all(project.path().join("seeds")).unwrap();
    std::fs::write(
        project.path().join("seeds/01_notes.sql"),
        "-- notes for the demo\nINSERT INTO public.notes VALUES (1, 'one');\n",
    )
    .unwrap();
    std::fs::write(
        project.path().join("seeds/02_broken.sql"),
        "INSERT INTO public.notes VALUES (2, 'two');\n\nINSERT INTO public.notes (id) VALUES (3);\n",
    )
    .unwrap();
    std::fs::write(project.path().join("last.sql"), "SELECT 1;\n").unwrap();

    let (code, report) = shadow(&project);
    assert_eq!(code, 1, "{report:#}");
    let failed: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "seed-failed")
        .collect();
    assert_eq!(failed.len(), 1, "{report:#}");
    assert!(
        failed[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("seeds/02_broken.sql")
    );
    assert_eq!(failed[0]["line"], 3);
    let message = failed[0]["message"].as_str().unwrap();
    assert!(
        message.contains("null value in column \"body\"") && message.contains("[23502]"),
        "{message}"
    );
    assert!(
        report["notes"]
            .to_string()
            .contains("1 seed file(s) after 02_broken.sql were not run"),
        "{report:#}"
    );
}

#[test]
fn seeds_that_run_leave_their_rows_for_the_verify_scripts() {
    let project = project("[db.seed]\nenabled = true\n");
    std::fs::write(
        project.path().join("seed.sql"),
        "INSERT INTO public.notes VALUES (1, 'one'), (2, 'two');\n",
    )
    .unwrap();
    std::fs::create_dir_all(project.path().join("verify")).unwrap();
    std::fs::write(
        project.path().join("verify/seeded.sql"),
        "SELECT 'seeded' AS check, count(*) = 2 AS ok, count(*)::text AS detail FROM public.notes;\n",
    )
    .unwrap();
    let (code, report) = shadow(&project);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["verify"][0]["ok"], true, "{report:#}");
    assert!(report["notes"].to_string().contains("Ran 1 seed file(s)"));

    // Turned off, the seed is not run: the verify script sees no rows.
    std::fs::write(
        project.path().join("config.toml"),
        "[db.seed]\nenabled = false\n",
    )
    .unwrap();
    let (code, report) = shadow(&project);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["verify"][0]["ok"], false, "{report:#}");
}
