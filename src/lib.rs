//! migration-guard: lint, shadow-apply, verify and deploy Supabase / Postgres migrations.

pub mod cli;
pub mod commands;
pub mod migration;
pub mod report;
pub mod text;
