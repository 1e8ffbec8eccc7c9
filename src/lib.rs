//! migration-guard: lint, shadow-apply, verify and deploy Supabase / Postgres migrations.
//!
//! The modules are declared bottom to top: each uses only those declared before it (a
//! test over the source's paths keeps it so).

/// The command line, one file per command, and the action's entry.
pub mod app;
/// The catalog: snapshots, their differences, revert drafts.
pub mod catalog;
/// What runs against a database after the migrations.
pub mod checks;
/// `migration-guard.yml`.
pub mod config;
/// The database seam: URLs and their redaction, TLS, timeouts, connecting.
pub mod db;
/// Deploying to staging and production: directly or through the Supabase CLI.
pub mod deploy;
/// Applying statements: transactions, sessions, lock and rewrite watching.
pub mod engine;
/// What a finding is, the registry of every finding id, the policy that settles them.
pub mod findings;
/// The pull request: the event, the sticky comment.
pub mod github;
/// The one HTTP setup: retries.
pub mod http;
/// The rules over the files, one file per rule; no database, no network.
pub mod lint;
/// Migration files: discovery and versions, the history table, the base branch.
pub mod migration;
/// One run, in order: files -> shadow -> apply -> checks -> policy -> report.
pub mod pipeline;
/// The one `Report` value, and its renderers.
pub mod report;
/// The throwaway server: local, Docker or a URL, with the Supabase emulation.
pub mod shadow;
/// SQL text: the splitter, statement classification, parsed statements, names.
pub mod sql;
/// Supabase: the project's config.toml, the CLI, the Management API.
pub mod supabase;
