//! The rules: one file per rule, each a [`RuleDef`] with a check function. Rule ids are
//! a stable contract (configuration, suppressions and scripts name them).

use crate::migration::Discovery;
use crate::report::{Finding, Severity};

use super::{Diagnostic, FileContext};

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

/// A rule: its id, default severity, one line for the docs, and its check.
pub struct RuleDef {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    pub check: fn(&FileContext<'_>, &mut Vec<Diagnostic>),
}

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
pub const ONCE_PER_FILE: [&str; 2] = [require_idempotent_ddl::RULE.id, require_upsert::RULE.id];

/// A statement sqlparser cannot read (info): the findings say which rules skipped it.
pub const UNPARSED: &str = "unparsed";
/// A suppression comment that allowed nothing.
pub const UNUSED_SUPPRESSION: &str = "unused-suppression";

/// Every rule id the configuration accepts.
pub fn configurable_ids() -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = RULES.iter().map(|rule| rule.id).collect();
    ids.extend([version_collision::ID, UNPARSED, UNUSED_SUPPRESSION]);
    ids.extend(crate::migration::base_branch::CHECKS.iter().map(|(id, _, _)| *id));
    ids.extend(shadow_checks().map(|(id, _, _)| *id));
    ids.sort_unstable();
    ids
}

/// Every id a finding can have: the configurable ones, and the deploy's refusals,
/// which no configuration turns off.
pub fn all_ids() -> Vec<&'static str> {
    let mut ids = configurable_ids();
    ids.extend(crate::deploy::CHECKS.iter().map(|(id, _, _)| *id));
    ids.sort_unstable();
    ids
}

/// A rule's one-line summary and default severity, for reports that describe rules.
pub fn describe(id: &str) -> (&'static str, Severity) {
    match RULES.iter().find(|rule| rule.id == id) {
        Some(rule) => (rule.summary, rule.severity),
        None => match id {
            version_collision::ID => (version_collision::SUMMARY, Severity::Error),
            UNPARSED => ("a statement sqlparser cannot read", Severity::Info),
            UNUSED_SUPPRESSION => (
                "a suppression comment that allows nothing",
                Severity::Warning,
            ),
            _ => checks()
                .find(|(check, _, _)| *check == id)
                .map_or(("", Severity::Warning), |&(_, summary, severity)| {
                    (summary, severity)
                }),
        },
    }
}

/// The findings outside the linter: against the base branch, the deploy's own, and the
/// shadow's.
fn checks() -> impl Iterator<Item = &'static (&'static str, &'static str, Severity)> {
    crate::migration::base_branch::CHECKS
        .iter()
        .chain(&crate::deploy::CHECKS)
        .chain(shadow_checks())
}

/// The findings only the shadow can make (catalog checks, Supabase's advisors,
/// plpgsql_check on function bodies, the extensions it has or stands in for): the linter
/// cannot judge their suppressions.
pub fn shadow_checks() -> impl Iterator<Item = &'static (&'static str, &'static str, Severity)> {
    crate::checks::semantic::CHECKS
        .iter()
        .chain(&crate::checks::advisors::CHECKS)
        .chain(&crate::checks::plpgsql::CHECKS)
        .chain(&crate::shadow::extensions::CHECKS)
}

/// Rules over the whole set of files rather than one file.
pub fn set_rules(discovery: &Discovery) -> Vec<Finding> {
    version_collision::check_set(discovery)
}

/// What is wrong with the files as files, whatever the configuration: version
/// collisions, psql meta-commands, literals left open. `status` lists these.
pub fn file_problems(discovery: &Discovery) -> Vec<Finding> {
    let mut findings = set_rules(discovery);
    let schema = super::schema::Schema::default();
    for migration in &discovery.migrations {
        // Both rules read what the splitter found: no statement needs parsing.
        let context = FileContext::with_statements(migration, Vec::new(), &schema);
        for rule in [&no_psql_meta::RULE, &syntax_error::RULE] {
            let mut diagnostics = Vec::new();
            (rule.check)(&context, &mut diagnostics);
            findings.extend(diagnostics.into_iter().map(|diagnostic| Finding {
                rule: rule.id,
                severity: rule.severity,
                location: Some(crate::report::Location {
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
