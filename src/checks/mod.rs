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
