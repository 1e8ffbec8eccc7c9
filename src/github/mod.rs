//! Everything that knows GitHub exists, besides the action entry point: the Actions run
//! context ([`event`]) and the sticky pull-request comment ([`comment`]).
//!
//! The comment body itself is rendered by `report::markdown`; this module only finds,
//! fits and writes it.

pub mod comment;
pub mod event;

pub use comment::{
    COMMENT_BODY_LIMIT, CommentError, CommentOutcome, GitHub, RetryPolicy, fit_body,
    upsert_sticky_comment,
};
pub use event::{ActionsContext, EventError, EventName, PullRequest, Repository};
