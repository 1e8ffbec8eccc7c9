//! The integration tests, one binary (one link): each module tests one part through
//! the real binary, a real Postgres, the Docker engine or HTTP fakes.

mod action;
mod action_image;
mod advisors;
mod api_grants;
mod apply;
mod base;
mod catalog;
mod common;
mod declarative;
mod deploy;
mod docker;
mod docs;
mod drift;
mod fidelity;
mod github_comment;
mod layers;
mod lint;
mod lint_fuzz;
mod local_env;
mod locks;
mod new;
mod pgtap;
mod platform_hooks;
mod plpgsql;
mod render;
mod sarif;
mod seed;
mod seed_files;
mod semantic;
mod shadow;
mod split;
mod status;
mod supabase_api;
mod supabase_cli;
