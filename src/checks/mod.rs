//! Checks that run against a database after the migrations.

pub mod advisors;
pub mod api_grants;
pub mod declarative;
pub mod locks;
pub mod pgtap;
pub mod platform_hooks;
pub mod plpgsql;
pub mod seed_files;
pub mod semantic;
pub mod verify;

use crate::findings::Location;
use crate::migration::MigrationFile;

/// Where a finding about `object` belongs in `migration`: the first statement that `can`
/// holds for and that names the last part of `object`, else the first `can` holds for,
/// else the file's start.
pub(crate) fn statement_naming(
    migration: &MigrationFile,
    can: impl Fn(&str) -> bool,
    object: &str,
) -> Location {
    let name = object.rsplit('.').next().unwrap_or(object).to_lowercase();
    let candidates: Vec<(&str, Location)> = migration
        .code_statements()
        .filter(|(text, _)| can(text))
        .collect();
    candidates
        .iter()
        .find(|(text, _)| text.to_lowercase().contains(&name))
        .or(candidates.first())
        .map_or_else(|| Location::start_of(&migration.path), |(_, at)| at.clone())
}
