//! migration-guard: lint, shadow-apply, verify and deploy Supabase / Postgres migrations.
//!
//! The layers, bottom to top: a module uses only those listed before it (the layers
//! test, over the source's paths, keeps it so).
//!
//! - `findings`: what a finding is, the registry of every finding id, the policy.
//! - `sql`: SQL text: the splitter, classification, parsed statements, names.
//! - `db`: the database seam: URLs and their redaction, TLS, timeouts, connecting.
//! - `migration`: the files: discovery, versions, the history table, the base branch.
//! - `report`: the one `Report` value, and its renderers.
//! - `config`: `migration-guard.yml`.
//! - `lint`: the rules over the files, one file per rule; no database, no network.
//! - `catalog`: snapshots of the catalog, their differences, revert drafts.
//! - `engine`: applying statements: transactions, sessions, lock and rewrite watching.
//! - `checks`: what runs against a database after the migrations.
//! - `http`: what the HTTP clients share: the retry loop, the secret scrubber.
//! - `supabase`: the project's config.toml, the Supabase CLI, the Management API.
//! - `shadow`: the throwaway server: local, Docker or a URL, with the emulation.
//! - `deploy`: to staging and production, directly or through the Supabase CLI.
//! - `pipeline`: one run, in order: files, shadow, apply, checks, policy, report.
//! - `github`: the pull request: the event, the sticky comment.
//! - `app`: the command line, one file per command, and the action's entry.

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
pub mod pipeline;
pub mod report;
pub mod shadow;
pub mod sql;
pub mod supabase;
