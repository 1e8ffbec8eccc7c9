//! Every rule id has its page in docs/rules, titled with the id and stating the rule's
//! default severity, and the index lists every page.

use std::fs;
use std::path::Path;

use migration_guard::lint::rules::{all_ids, describe};

#[test]
fn every_rule_has_a_page_with_its_default_severity() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules");
    let index = fs::read_to_string(docs.join("README.md")).expect("docs/rules/README.md");
    for id in all_ids() {
        let page = fs::read_to_string(docs.join(format!("{id}.md")))
            .unwrap_or_else(|_| panic!("docs/rules/{id}.md is missing"));
        assert_eq!(
            page.lines().next(),
            Some(format!("# {id}").as_str()),
            "{id}: title"
        );
        let (summary, severity) = describe(id);
        assert!(!summary.is_empty(), "{id}: no summary");
        assert!(
            page.contains(&format!("**Severity:** {}", severity.as_str())),
            "{id}: the page must state the default severity {}",
            severity.as_str()
        );
        assert!(
            index.contains(&format!("[`{id}`]({id}.md)")),
            "{id}: missing from docs/rules/README.md"
        );
    }
}
