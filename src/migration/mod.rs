//! Migration files as the Supabase CLI sees them: discovery, ordering and statements.

pub mod base_branch;
pub mod compare;
pub mod discover;
pub mod history;

pub use discover::{
    Collision, DiscoverError, Discovery, FileError, MigrationFile, SkipReason, Skipped, discover,
};
