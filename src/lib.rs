//! migration-guard: lint, shadow-apply, verify and deploy Supabase / Postgres migrations.
//!
//! The layers, bottom to top; a module uses only those above it in this list (a test
//! over the source's paths keeps it so):
//! `findings` (what a finding is, the registry of ids, the policy), `sql` (splitting and
//! reading statements), `migration` (files, versions, the history, the base branch),
//! `config`, `lint`, `db` (the connection seam), `report` (the one value every output
//! renders), `catalog`, `engine` (applying statements), `shadow` (a throwaway server),
//! `checks`, `supabase` (project, CLI, Management API), `http`, `deploy`, `pipeline`
//! (one run, in order), `github`, `app` (the command line and the action).

pub mod app;
pub mod catalog;
pub mod checks;
pub mod config;
pub mod db;
pub mod deploy;
pub mod engine;
pub mod findings;
pub mod github;
pub mod http;
pub mod lint;
pub mod migration;
pub mod report;
pub mod shadow;
pub mod sql;
pub mod supabase;
