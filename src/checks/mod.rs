//! Checks that run against a database after the migrations.

pub mod advisors;
pub mod semantic;
pub mod verify;
