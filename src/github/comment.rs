//! The sticky pull-request comment: one comment per pull request, found by
//! [`COMMENT_MARKER`] at the start of its body, updated in place on every run.
//!
//! GitHub's answers decide what happens:
//! - 403 / 404 (a fork PR's read-only token, a missing `pull-requests: write`) is not an
//!   error: [`CommentOutcome::NoPermission`], and the run passes or fails on the migrations.
//! - 5xx, rate limits and transport errors are retried with a bounded exponential backoff.
//!   Every retry lists the comments again first, so a create that did happen server-side
//!   before its answer was lost is found and updated, not duplicated.
//! - Anything else is a [`CommentError`].
//!
//! octocrab's own retries are off: they resend POSTs blindly, which duplicates comments.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use octocrab::secrecy::{ExposeSecret, SecretString};
use octocrab::service::middleware::retry::RetryConfig;
use octocrab::{Octocrab, Page};
use serde::Deserialize;
use serde_json::json;

use super::event::Repository;
use crate::report::markdown::{COMMENT_MARKER, MARKER_PREFIX};

pub use crate::http::RetryPolicy;

/// GitHub rejects longer comment bodies with 422 "Body is too long".
pub const COMMENT_BODY_LIMIT: usize = 65_536;
/// Kept free below the limit: GitHub may count a body differently from Rust's `chars()`
/// (line-ending normalisation, UTF-16 units for astral characters).
const LIMIT_MARGIN: usize = 1_000;
/// The lines [`fit_body`] never cuts: the marker and the verdict heading.
const HEAD_LINES: usize = 2;
const CUT_NOTE: &str = "> ✂️ This comment was cut to fit GitHub's size limit: the full report \
                        is in this run's job summary and in `report.md` in the report directory.\n";
const PER_PAGE: u8 = 100;
/// 10,000 comments; a guard against a server whose `next` links never end.
const MAX_PAGES: usize = 100;
/// Long enough for GitHub Enterprise under load; without them a dead connection hangs the job.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// A GitHub API client for the comment: octocrab, the retry policy and the token (kept only
/// to scrub it from any error text; it is never printed).
#[derive(Clone)]
pub struct GitHub {
    crab: Octocrab,
    api_url: String,
    retry: RetryPolicy,
    token: SecretString,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentOutcome {
    Created {
        id: u64,
        url: String,
    },
    Updated {
        id: u64,
        url: String,
    },
    /// GitHub refused (403/404), e.g. the read-only token of a pull request from a fork.
    /// The reason is GitHub's message.
    NoPermission(String),
}

#[derive(Debug, thiserror::Error)]
pub enum CommentError {
    #[error("the GitHub token is empty: pass `github-token` (default `${{{{ github.token }}}}`)")]
    EmptyToken,
    #[error("GITHUB_API_URL {url:?} cannot be used: {reason}")]
    InvalidApiUrl { url: String, reason: String },
    #[error("GitHub answered {status} when trying to {action}: {message}")]
    Api {
        action: String,
        status: u16,
        message: String,
    },
    #[error("could not reach GitHub to {action}: {message}")]
    Transport { action: String, message: String },
    #[error("GitHub's answer when trying to {action} was not understood: {message}")]
    UnexpectedResponse { action: String, message: String },
}

impl GitHub {
    /// A client for the API at `api_url` (`GITHUB_API_URL`) authenticated with `token`.
    /// Call it inside a Tokio runtime: octocrab spawns its request queue there.
    pub fn new(api_url: &str, token: impl Into<SecretString>) -> Result<Self, CommentError> {
        let token: SecretString = token.into();
        if token.expose_secret().trim().is_empty() {
            return Err(CommentError::EmptyToken);
        }
        let invalid = |reason: String| CommentError::InvalidApiUrl {
            url: api_url.to_owned(),
            reason,
        };
        let crab = Octocrab::builder()
            .add_retry_config(RetryConfig::None)
            .set_connect_timeout(Some(CONNECT_TIMEOUT))
            .set_read_timeout(Some(READ_TIMEOUT))
            .base_uri(api_url)
            .map_err(|_| invalid("not a valid URI".to_owned()))?
            .personal_token(token.clone())
            .build()
            .map_err(|err| invalid(err.to_string()))?;
        Ok(Self {
            crab,
            api_url: api_url.to_owned(),
            retry: RetryPolicy {
                attempts: 3,
                base_delay: Duration::from_millis(200),
                max_delay: Duration::from_secs(30),
            },
            token,
        })
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// `text` as it may be shown: the token scrubbed, one line, bounded.
    fn scrub(&self, text: &str) -> String {
        crate::http::scrub(text, self.token.expose_secret())
    }

    /// Sorts an octocrab error into what [`upsert_sticky_comment`] does next.
    fn classify(&self, action: &str, err: octocrab::Error) -> Failure {
        let action = action.to_owned();
        match err {
            octocrab::Error::GitHub { source, .. } => {
                let status = source.status_code;
                let mut message = source.message.clone();
                for detail in source.errors.iter().flatten() {
                    let detail = detail
                        .get("message")
                        .and_then(|m| m.as_str())
                        .map_or_else(|| detail.to_string(), str::to_owned);
                    message = format!("{message}; {detail}");
                }
                let message = self.scrub(&message);
                let headers = source.headers.as_ref();
                let header = |name: &str| {
                    headers
                        .and_then(|h| h.get(name))
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                };
                let wait = rate_limit_wait(status.as_u16(), &header);
                if wait.is_none() && matches!(status.as_u16(), 403 | 404) {
                    return Failure::Fatal(Stop::NoPermission(format!(
                        "{message} ({status} when trying to {action})"
                    )));
                }
                let error = Stop::Error(CommentError::Api {
                    action,
                    status: status.as_u16(),
                    message,
                });
                match wait {
                    Some(wait) => Failure::Retry { error, wait },
                    None if status.is_server_error() => Failure::Retry { error, wait: None },
                    None => Failure::Fatal(error),
                }
            }
            octocrab::Error::Hyper { .. } | octocrab::Error::Service { .. } => Failure::Retry {
                error: Stop::Error(CommentError::Transport {
                    action,
                    message: self.scrub(&err.to_string()),
                }),
                wait: None,
            },
            other => Failure::Fatal(Stop::Error(CommentError::UnexpectedResponse {
                action,
                message: self.scrub(&other.to_string()),
            })),
        }
    }
}

impl fmt::Debug for GitHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHub")
            .field("api_url", &self.api_url)
            .field("retry", &self.retry)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Why a try stopped: a refusal the outcome reports, or an error.
enum Stop {
    NoPermission(String),
    Error(CommentError),
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::NoPermission(reason) => f.write_str(reason),
            Stop::Error(error) => error.fmt(f),
        }
    }
}

/// What one try ended with, when it did not succeed.
type Failure = crate::http::Failure<Stop>;

/// `Some(wait)` when the answer is a rate limit: 429, or 403 with
/// `x-ratelimit-remaining: 0` or `retry-after` (a 403 without them is a real refusal).
fn rate_limit_wait(status: u16, header: &dyn Fn(&str) -> Option<u64>) -> Option<Option<Duration>> {
    let retry_after = header("retry-after").map(Duration::from_secs);
    let exhausted = header("x-ratelimit-remaining") == Some(0);
    let until_reset = header("x-ratelimit-reset").map(|reset| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        Duration::from_secs(reset.saturating_sub(now))
    });
    match status {
        429 => Some(retry_after.or(until_reset)),
        403 if retry_after.is_some() => Some(retry_after),
        403 if exhausted => Some(until_reset),
        _ => None,
    }
}

/// The fields of an issue comment this module reads; lenient, unlike octocrab's model,
/// so an Enterprise server's variations do not break the listing.
#[derive(Debug, Deserialize)]
struct IssueComment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    html_url: String,
    #[serde(default)]
    user: Option<Author>,
}

#[derive(Debug, Deserialize)]
struct Author {
    #[serde(rename = "type", default)]
    kind: String,
}

impl IssueComment {
    /// Whether its first line is `marker`.
    fn is_marked(&self, marker: &str) -> bool {
        self.body
            .as_deref()
            .is_some_and(|body| body.trim_start().lines().next() == Some(marker))
    }

    fn by_bot(&self) -> bool {
        self.user.as_ref().is_some_and(|user| user.kind == "Bot")
    }
}

/// Creates the pull request's sticky comment, or updates it in place when a comment whose
/// body starts with [`COMMENT_MARKER`] exists. `body` gets the marker if it lacks it and is
/// cut to fit GitHub's limit ([`fit_body`]).
pub async fn upsert_sticky_comment(
    client: &GitHub,
    repo: &Repository,
    pr_number: u64,
    body: &str,
) -> Result<CommentOutcome, CommentError> {
    let body = if marker_of(body).is_some() {
        Cow::Borrowed(body)
    } else {
        Cow::Owned(format!("{COMMENT_MARKER}\n{body}"))
    };
    let body = fit_body(&body, COMMENT_BODY_LIMIT - LIMIT_MARGIN);
    let posted = Cell::new(false);
    let tried = client
        .retry
        .run(|| try_upsert(client, repo, pr_number, &body, &posted))
        .await;
    match tried {
        Ok(outcome) => Ok(outcome),
        Err(Stop::NoPermission(reason)) => Ok(CommentOutcome::NoPermission(reason)),
        Err(Stop::Error(error)) => Err(error),
    }
}

/// One try: list, then update ours or create it. `posted` records that a create was sent,
/// so a comment found by a later try is reported as created by this run.
async fn try_upsert(
    client: &GitHub,
    repo: &Repository,
    pr_number: u64,
    body: &str,
    posted: &Cell<bool>,
) -> Result<CommentOutcome, Failure> {
    let comments = list_comments(client, repo, pr_number).await?;
    let payload = json!({ "body": body });
    let marker = marker_of(body).unwrap_or(COMMENT_MARKER);
    if let Some(ours) = find_ours(&comments, marker) {
        let action = format!("update comment {}", ours.id);
        let route = format!(
            "/repos/{}/{}/issues/comments/{}",
            repo.owner, repo.name, ours.id
        );
        // PATCH, as GitHub documents; octocrab's `update_comment` sends POST.
        let updated: IssueComment = client
            .crab
            .patch(route, Some(&payload))
            .await
            .map_err(|err| client.classify(&action, err))?;
        let (id, url) = (updated.id, updated.html_url);
        return Ok(if posted.get() {
            CommentOutcome::Created { id, url }
        } else {
            CommentOutcome::Updated { id, url }
        });
    }
    let route = format!(
        "/repos/{}/{}/issues/{pr_number}/comments",
        repo.owner, repo.name
    );
    posted.set(true);
    let created: IssueComment = client
        .crab
        .post(route, Some(&payload))
        .await
        .map_err(|err| client.classify("create the comment", err))?;
    Ok(CommentOutcome::Created {
        id: created.id,
        url: created.html_url,
    })
}

/// Every comment of the pull request, following `Link: rel="next"` to the last page:
/// ours may be anywhere in a long discussion.
async fn list_comments(
    client: &GitHub,
    repo: &Repository,
    pr_number: u64,
) -> Result<Vec<IssueComment>, Failure> {
    const ACTION: &str = "list the pull request's comments";
    let route = format!(
        "/repos/{}/{}/issues/{pr_number}/comments",
        repo.owner, repo.name
    );
    let mut page: Page<IssueComment> = client
        .crab
        .get(route, Some(&[("per_page", PER_PAGE)]))
        .await
        .map_err(|err| client.classify(ACTION, err))?;
    let mut comments = page.take_items();
    for _ in 1..MAX_PAGES {
        let Some(next) = page.next.take() else {
            return Ok(comments);
        };
        page = client
            .crab
            .get(next.to_string(), None::<&()>)
            .await
            .map_err(|err| client.classify(ACTION, err))?;
        comments.append(&mut page.take_items());
    }
    // Creating a comment without having seen them all could duplicate ours.
    Err(Failure::Fatal(Stop::Error(
        CommentError::UnexpectedResponse {
            action: ACTION.to_owned(),
            message: format!("more than {MAX_PAGES} pages of comments"),
        },
    )))
}

/// Ours: the body starts with the marker. Anyone can paste the marker, so a bot's comment
/// (`github-actions[bot]` with `GITHUB_TOKEN`) wins; else the oldest (a personal token
/// writes as a user).
fn find_ours<'c>(comments: &'c [IssueComment], marker: &str) -> Option<&'c IssueComment> {
    let pick = |marker: &str| {
        let mut ours = comments.iter().filter(|c| c.is_marked(marker));
        let oldest = ours.clone().next();
        ours.find(|c| c.by_bot()).or(oldest)
    };
    // A comment of an earlier version, marked for every command alike, becomes this one.
    pick(marker).or_else(|| pick(COMMENT_MARKER))
}

/// The marker that opens `body` (`<!-- migration-guard… -->` on its first line), if any:
/// one sticky comment per marker, so a lint step and a shadow step, or two projects of a
/// repository, each keep their own.
fn marker_of(body: &str) -> Option<&str> {
    let first = body.lines().next()?;
    (first.starts_with(MARKER_PREFIX) && first.ends_with("-->")).then_some(first)
}

/// `body` when it has at most `limit` characters; else its first lines, cut at a line
/// boundary, followed by a note that the full report is elsewhere, `limit` characters at
/// most in all. The marker and the verdict heading (the first two lines) are never cut;
/// code fences and `<details>` blocks left open by the cut are closed.
pub fn fit_body(body: &str, limit: usize) -> Cow<'_, str> {
    if body.chars().count() <= limit {
        return Cow::Borrowed(body);
    }
    let note_len = CUT_NOTE.chars().count() + 1;
    let mut lines = body.split_inclusive('\n');
    let mut out = String::new();
    for line in lines.by_ref().take(HEAD_LINES) {
        out.push_str(line);
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    let mut used = out.chars().count();
    if used + note_len > limit {
        // A head this long is not a report; still honour the limit.
        return Cow::Owned(body.chars().take(limit).collect());
    }
    // Each kept line with the block state after it, to back off a dangling heading.
    let mut kept: Vec<(&str, Blocks)> = Vec::new();
    let mut state = Blocks::default();
    for line in lines {
        let next = state.after(line);
        let len = line.chars().count() + usize::from(!line.ends_with('\n'));
        if used + len + next.closers().chars().count() + note_len > limit {
            break;
        }
        used += len;
        kept.push((line, next.clone()));
        state = next;
    }
    // A heading or blank line right before the cut introduces nothing: drop it.
    while let Some((line, _)) = kept.last() {
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            kept.pop();
        } else {
            break;
        }
    }
    let state = kept.last().map(|(_, s)| s.clone()).unwrap_or_default();
    for (line, _) in &kept {
        out.push_str(line);
        if !line.ends_with('\n') {
            out.push('\n');
        }
    }
    out.push_str(&state.closers());
    out.push('\n');
    out.push_str(CUT_NOTE);
    Cow::Owned(out)
}

/// Markdown blocks open at a point of the body.
#[derive(Debug, Clone, Default)]
struct Blocks {
    /// The open code fence: its character and length.
    fence: Option<(char, usize)>,
    details: usize,
}

impl Blocks {
    fn after(&self, line: &str) -> Self {
        let mut next = self.clone();
        let text = line.trim();
        let run = |c: char| text.chars().take_while(|&x| x == c).count();
        if let Some((c, len)) = self.fence {
            if run(c) >= len && text.chars().all(|x| x == c) {
                next.fence = None;
            }
            return next;
        }
        for c in ['`', '~'] {
            if run(c) >= 3 {
                next.fence = Some((c, run(c)));
                return next;
            }
        }
        next.details += text.matches("<details").count();
        next.details = next
            .details
            .saturating_sub(text.matches("</details>").count());
        next
    }

    /// What closes the open blocks, innermost first.
    fn closers(&self) -> String {
        let mut out = String::new();
        if let Some((c, len)) = self.fence {
            out.extend(std::iter::repeat_n(c, len));
            out.push('\n');
        }
        for _ in 0..self.details {
            out.push_str("\n</details>\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn report(lines: usize) -> String {
        let mut body = format!("{COMMENT_MARKER}\n### ❌ migration-guard shadow: failed\n\n");
        body.push_str("#### Findings\n\n<details><summary>many findings</summary>\n\n");
        body.push_str("| Severity | Rule | Location | Message |\n|---|---|---|---|\n");
        for i in 0..lines {
            body.push_str(&format!(
                "| error | `no-drop-column` | `supabase/migrations/{i:04}_x.sql:3` | dropping ✂️ column {i} |\n"
            ));
        }
        body.push_str("\n</details>\n\n```sql\nselect 1;\n```\n");
        body
    }

    #[test]
    fn short_body_is_untouched() {
        let body = report(3);
        assert!(matches!(fit_body(&body, 65_536), Cow::Borrowed(b) if b == body));
    }

    #[test]
    fn long_body_is_cut_at_a_line_with_blocks_closed() {
        let body = report(2_000);
        let fitted = fit_body(&body, 10_000);
        assert!(fitted.chars().count() <= 10_000);
        assert!(fitted.starts_with(&format!(
            "{COMMENT_MARKER}\n### ❌ migration-guard shadow: failed\n"
        )));
        assert!(fitted.ends_with(CUT_NOTE));
        assert!(fitted.contains("\n</details>\n"));
        // Every table row kept is whole.
        for line in fitted.lines().filter(|l| l.starts_with("| error")) {
            assert!(line.ends_with(" |"), "{line}");
        }
    }

    #[test]
    fn open_code_fence_is_closed() {
        let mut body = format!("{COMMENT_MARKER}\n### ❌ failed\n\n````sql\n");
        for i in 0..1_000 {
            body.push_str(&format!("select {i};\n"));
        }
        body.push_str("````\ntrailing\n");
        let fitted = fit_body(&body, 2_000);
        assert!(fitted.chars().count() <= 2_000);
        let fences = fitted.lines().filter(|l| l.starts_with("````")).count();
        assert_eq!(fences, 2, "{fitted}");
    }

    #[test]
    fn dangling_heading_is_dropped() {
        let filler = "x".repeat(80);
        let body = format!(
            "{COMMENT_MARKER}\n### ❌ failed\n\n{filler}\n\n#### Verify\n\n{}\n",
            "y".repeat(500)
        );
        let fitted = fit_body(&body, 400);
        assert!(!fitted.contains("#### Verify"), "{fitted}");
        assert!(fitted.contains(&filler));
    }

    #[test]
    fn rate_limits_are_told_from_refusals() {
        let headers = |pairs: &'static [(&'static str, u64)]| {
            move |name: &str| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
        };
        let none = headers(&[]);
        assert_eq!(
            rate_limit_wait(403, &none),
            None,
            "a plain 403 is a refusal"
        );
        assert_eq!(rate_limit_wait(404, &none), None);
        assert_eq!(rate_limit_wait(500, &none), None);
        assert_eq!(rate_limit_wait(429, &none), Some(None));
        assert_eq!(
            rate_limit_wait(403, &headers(&[("retry-after", 5)])),
            Some(Some(Duration::from_secs(5)))
        );
        // A reset time in the past: retry after the backoff alone.
        assert_eq!(
            rate_limit_wait(
                403,
                &headers(&[("x-ratelimit-remaining", 0), ("x-ratelimit-reset", 1)])
            ),
            Some(Some(Duration::ZERO))
        );
        assert_eq!(
            rate_limit_wait(403, &headers(&[("x-ratelimit-remaining", 12)])),
            None
        );
    }

    #[tokio::test]
    async fn token_is_never_shown() {
        let client = GitHub::new("http://127.0.0.1:9", "ghs_s3cr3tT0k3n").unwrap();
        assert!(!format!("{client:?}").contains("ghs_s3cr3tT0k3n"));
        assert_eq!(
            client.scrub("proxy echoed Authorization: Bearer ghs_s3cr3tT0k3n"),
            "proxy echoed Authorization: Bearer ***"
        );
        assert!(matches!(
            GitHub::new("http://127.0.0.1:9", " "),
            Err(CommentError::EmptyToken)
        ));
    }

    proptest! {
        #[test]
        fn fitted_body_respects_the_limit(
            lines in proptest::collection::vec("[a-zé✅`~<>/# |-]{0,40}", 0..200),
            limit in 200usize..3_000,
        ) {
            let body = format!("{COMMENT_MARKER}\n### verdict\n{}", lines.join("\n"));
            let fitted = fit_body(&body, limit);
            prop_assert!(fitted.chars().count() <= limit);
            let head = format!("{COMMENT_MARKER}\n### verdict\n");
            prop_assert!(fitted.starts_with(&head));
        }
    }
}
