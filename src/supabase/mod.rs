//! Supabase as a project sees it: its `config.toml` (`project`), the CLI that deploys it
//! (`cli`), and the Management API (`api`).

pub mod api;
pub mod cli;
pub mod project;
