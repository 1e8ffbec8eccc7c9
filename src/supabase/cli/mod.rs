//! Deploying through the Supabase CLI: `supabase link` and `supabase db push`, run without
//! a terminal, their output read back into which migrations were pending, applied, or
//! failed (file, statement, SQLSTATE), and why a push was refused.
//!
//! [`run`] invokes the executable and keeps secrets out of its command line and out of
//! everything it returns; [`output`] parses what the CLI printed, and works on any
//! captured log of a push as well.

pub mod output;
pub mod run;

pub use output::{PushFailure, PushOutput, Refusal, SkippedFile};
pub use run::{Captured, CliError, PushOptions, PushRun, SupabaseCli, Target};
