//! Checks that run against a database after the migrations.

pub mod verify;
