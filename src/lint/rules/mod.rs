//! The rules: one file per rule, each a [`RuleDef`] with a check function. Rule ids are
//! a stable contract (configuration, suppressions and scripts name them).

use crate::findings::registry;
use crate::findings::{Finding, Location};
use crate::lint::rule::{Check, FileContext, RuleDef};
use crate::lint::schema::Schema;
use crate::migration::Discovery;

pub mod no_drop_table;
pub mod no_psql_meta;
pub mod require_concurrent_index;
pub mod require_transaction;
pub mod support;
pub mod syntax_error;
pub mod version_collision;
// rules-a: modules
pub mod add_column_requires_default;
pub mod no_alter_column_type;
pub mod no_drop_column;
pub mod no_drop_schema;
pub mod no_hardcoded_environment;
pub mod no_rename;
pub mod no_secrets;
pub mod no_truncate;
pub mod no_unbounded_dml;
pub mod prefer_jsonb;
pub mod require_upsert;
// rules-b: modules
pub mod cli_version_breaks;
pub mod concurrently_in_transaction;
pub mod constraint_not_valid;
pub mod enum_value_in_transaction;
pub mod no_drop_function;
pub mod no_drop_view;
pub mod not_null_on_existing_column;
pub mod on_conflict_needs_unique;
pub mod require_idempotent_ddl;
pub mod require_lock_timeout;
pub mod require_statement_timeout;
pub mod stored_generated_column;
pub mod unique_constraint_via_index;
pub mod validate_in_same_transaction;
pub mod volatile_default;

/// Every per-file rule, in the order their findings are listed for one span.
pub const RULES: &[RuleDef] = &[
    no_drop_table::RULE,
    no_psql_meta::RULE,
    require_concurrent_index::RULE,
    require_transaction::RULE,
    syntax_error::RULE,
    // rules-a: entries
    add_column_requires_default::RULE,
    no_alter_column_type::RULE,
    no_drop_column::RULE,
    no_drop_schema::RULE,
    no_hardcoded_environment::RULE,
    no_rename::RULE,
    no_secrets::RULE,
    no_truncate::RULE,
    no_unbounded_dml::RULE,
    prefer_jsonb::RULE,
    require_upsert::RULE,
    // rules-b: entries
    require_idempotent_ddl::RULE,
    require_lock_timeout::RULE,
    require_statement_timeout::RULE,
    on_conflict_needs_unique::RULE,
    concurrently_in_transaction::RULE,
    cli_version_breaks::RULE,
    constraint_not_valid::RULE,
    unique_constraint_via_index::RULE,
    not_null_on_existing_column::RULE,
    volatile_default::RULE,
    enum_value_in_transaction::RULE,
    no_drop_view::RULE,
    no_drop_function::RULE,
    stored_generated_column::RULE,
    validate_in_same_transaction::RULE,
];

/// The rules that also judge the statements a `DO` block runs (see `lint::embedded`):
/// what destroys or rewrites is as destructive inside a block as outside it.
pub const IN_BLOCKS: &[RuleDef] = &[
    no_drop_table::RULE,
    no_drop_column::RULE,
    no_drop_view::RULE,
    no_drop_function::RULE,
    no_drop_schema::RULE,
    no_truncate::RULE,
    no_rename::RULE,
    no_alter_column_type::RULE,
    no_unbounded_dml::RULE,
    stored_generated_column::RULE,
];

/// The runbook's style rules: one finding per file, at the first statement, listing the
/// lines of the others.
pub const ONCE_PER_FILE: [&str; 2] = [
    registry::REQUIRE_IDEMPOTENT_DDL.id,
    registry::REQUIRE_UPSERT.id,
];

/// Rules over the whole set of files rather than one file.
pub fn set_rules(discovery: &Discovery) -> Vec<Finding> {
    version_collision::check_set(discovery)
}

/// What is wrong with the files as files, whatever the configuration: version
/// collisions, psql meta-commands, literals left open. `status` lists these.
pub fn file_problems(discovery: &Discovery) -> Vec<Finding> {
    let mut findings = set_rules(discovery);
    for migration in &discovery.migrations {
        // Both rules read what the splitter found: no statement needs parsing.
        let context = FileContext::new(migration, Schema::default(), Default::default());
        for rule in [&no_psql_meta::RULE, &syntax_error::RULE] {
            let Check::File(check) = rule.check else {
                unreachable!("{} judges the file's text", rule.id);
            };
            let mut diagnostics = Vec::new();
            check(&context, &mut diagnostics);
            findings.extend(diagnostics.into_iter().map(|diagnostic| Finding {
                rule: rule.id,
                severity: rule.severity,
                location: Some(Location {
                    file: migration.path.clone(),
                    span: diagnostic.span,
                }),
                message: diagnostic.message,
                help: diagnostic.help,
            }));
        }
    }
    findings
}
