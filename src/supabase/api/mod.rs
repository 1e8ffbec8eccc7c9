//! A typed client for the Supabase Management API (`https://api.supabase.com`): what a
//! deploy asks of a hosted project after applying migrations — its services' health
//! ([`Client::health`]), SQL run through the API ([`Client::query`]) and its backups
//! ([`Client::backups`]).
//!
//! The API's answers decide what happens:
//! - 5xx, 429 and transport errors (timeouts included) are retried with a bounded
//!   exponential backoff; a 429's `retry-after` is honoured up to
//!   [`RetryPolicy::max_delay`]. A query that may write is replayed only when it surely did
//!   not run (a 429, or a connection that was never made): running a migration's SQL twice
//!   is worse than failing.
//! - 401, 403 and 404 are never retried: each is an [`ApiError`] that says what to fix.
//! - Anything else that is not a success is an [`ApiError::Api`] quoting the API.
//!
//! The access token travels only in the `Authorization` header. It never appears in an
//! error, in `Debug` output or in a log line: texts from the server are scrubbed of it
//! before they are kept, since a proxy may echo a request back.

mod backups;
mod client;
mod health;
mod query;

pub use crate::http::RetryPolicy;
pub use backups::BackupSummary;
pub use client::{
    API_URL_ENV, ApiError, Client, DEFAULT_API_URL, SqlError, TOKEN_ENV, TOKENS_PAGE,
    api_url_from_env,
};
pub use health::{HealthStatus, ServiceHealth, describe_unhealthy};
