//! Every finding id has its page in docs/rules: titled with the id, stating the default
//! severity and the summary the registry gives (one source: the page is the rule's
//! documentation), linking the documentation it relies on; the index lists every page.

use std::fs;
use std::path::Path;

use migration_guard::findings::registry;

#[test]
fn every_rule_has_a_page_that_agrees_with_the_registry() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules");
    let index = fs::read_to_string(docs.join("README.md")).expect("docs/rules/README.md");
    let mut wrong = Vec::new();
    for rule in registry::ALL {
        let id = rule.id;
        let Ok(page) = fs::read_to_string(docs.join(format!("{id}.md"))) else {
            wrong.push(format!("{id}: docs/rules/{id}.md is missing"));
            continue;
        };
        if page.lines().next() != Some(format!("# {id}").as_str()) {
            wrong.push(format!("{id}: the title must be `# {id}`"));
        }
        let head = format!("**Severity:** {} · **Checks:** ", rule.severity.as_str());
        match page.lines().find_map(|line| line.strip_prefix(&head)) {
            Some(summary) if summary.replace('`', "") == rule.summary => {}
            Some(summary) => wrong.push(format!(
                "{id}: the page's summary `{summary}` is not the registry's `{}`",
                rule.summary
            )),
            None => wrong.push(format!("{id}: no `{head}<summary>` line")),
        }
        if ![
            "https://www.postgresql.org/docs/",
            "https://supabase.com/docs/",
        ]
        .iter()
        .any(|docs| page.contains(docs))
        {
            wrong.push(format!(
                "{id}: the page links no Postgres or Supabase documentation"
            ));
        }
        if !index.contains(&format!("[`{id}`]({id}.md)")) {
            wrong.push(format!("{id}: missing from docs/rules/README.md"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The CLI release the linter judges by default is the one the action's image ships.
#[test]
fn the_pinned_cli_is_the_one_the_image_ships() {
    let dockerfile =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile")).unwrap();
    let shipped = dockerfile
        .lines()
        .find_map(|line| line.strip_prefix("ARG SUPABASE_CLI_VERSION="))
        .expect("the Dockerfile pins the Supabase CLI");
    assert_eq!(
        shipped,
        migration_guard::config::PINNED_SUPABASE_CLI.to_string()
    );
}
