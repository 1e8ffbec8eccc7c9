//! migration-guard: lint, shadow-apply, verify and deploy Supabase / Postgres migrations.

pub mod action;
pub mod apply;
pub mod base;
pub mod catalog;
pub mod checks;
pub mod cli;
pub mod commands;
pub mod config;
pub mod db;
pub mod deploy;
pub mod findings;
pub mod github;
pub mod lint;
pub mod migration;
pub mod report;
pub mod retry;
pub mod shadow;
pub mod supabase_api;
pub mod supabase_cli;
pub mod supabase_project;
pub mod text;
