//! The client itself: the base URL, the token, the one request loop with its retries,
//! and the errors it gives.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::http::RetryPolicy;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use rustls_platform_verifier::BuilderVerifierExt;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Where the Management API is unless [`API_URL_ENV`] says otherwise.
pub const DEFAULT_API_URL: &str = "https://api.supabase.com";
/// Overrides [`DEFAULT_API_URL`]: a proxy, or a local fake in tests.
pub const API_URL_ENV: &str = "SUPABASE_API_URL";
/// The variable the Supabase CLI reads the access token from; errors point users to it.
pub const TOKEN_ENV: &str = "SUPABASE_ACCESS_TOKEN";
/// Where personal access tokens are created.
pub const TOKENS_PAGE: &str = "https://supabase.com/dashboard/account/tokens";

const USER_AGENT: &str = concat!("migration-guard/", env!("CARGO_PKG_VERSION"));
/// Without it a dead connection hangs the job until the runner kills it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Generous: a query runs the caller's SQL, which may take a while on a busy database.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The API's address: [`API_URL_ENV`] when set and not blank, else [`DEFAULT_API_URL`].
pub fn api_url_from_env() -> String {
    api_url_or_default(std::env::var(API_URL_ENV).ok())
}

fn api_url_or_default(value: Option<String>) -> String {
    value
        .map(|url| url.trim().to_owned())
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_API_URL.to_owned())
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the Supabase access token {problem}: create one at {page} and set {env}",
        page = TOKENS_PAGE, env = TOKEN_ENV)]
    InvalidToken { problem: &'static str },
    #[error("the Supabase API URL {url:?} ({env}) cannot be used: {reason}", env = API_URL_ENV)]
    InvalidApiUrl { url: String, reason: String },
    #[error("could not set up the HTTPS client for the Supabase API: {message}")]
    Setup { message: String },
    #[error(
        "the Supabase API answered 401 when trying to {action}: the access token is wrong or \
         expired; create one at {page} and set {env}",
        page = TOKENS_PAGE, env = TOKEN_ENV
    )]
    Unauthorized { action: String },
    #[error(
        "the Supabase API answered 403 when trying to {action} ({message}): the access token's \
         account has no access to this project; use a token of a member of its organization"
    )]
    Forbidden { action: String, message: String },
    #[error(
        "the Supabase API answered 404 when trying to {action} ({message}): the project ref is \
         wrong, or this endpoint is not available on the project's plan"
    )]
    NotFound { action: String, message: String },
    /// The database ran the query and refused it, as Postgres would have.
    #[error("the database refused the query: {0}")]
    Sql(SqlError),
    #[error("the Supabase API answered {status} when trying to {action}: {message}")]
    Api {
        action: String,
        status: u16,
        message: String,
    },
    #[error("could not reach the Supabase API to {action}: {message}")]
    Transport { action: String, message: String },
    #[error("the Supabase API's answer when trying to {action} was not understood: {message}")]
    UnexpectedResponse { action: String, message: String },
}

/// A Management API client: the HTTP client, where the API is, the retry policy and the
/// token (kept only to scrub it from texts; it is never printed).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: String,
    retry: RetryPolicy,
    timeout: Duration,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("token", &"<redacted>")
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Whether a request may be sent again after a failure that leaves unknown whether it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Replay {
    /// Reads: running them twice changes nothing.
    Always,
    /// Writes: only when it surely did not run (429, or no connection made).
    IfNotRun,
}

/// A final answer: a success, or a refusal the endpoint interprets (a query's 400).
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) body: String,
}

/// What one try ended with, when it did not give a final answer.
type Failure = crate::http::Failure<ApiError>;

impl Client {
    /// A client for the API at `base_url` (see [`api_url_from_env`]) authenticated with the
    /// personal access token `token`.
    pub fn new(base_url: &str, token: &str) -> Result<Self, ApiError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(ApiError::InvalidToken {
                problem: "is empty",
            });
        }
        let mut bearer = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            ApiError::InvalidToken {
                problem: "contains characters an HTTP header cannot carry",
            }
        })?;
        // Sensitive values are left out of reqwest's and http's Debug output.
        bearer.set_sensitive(true);
        let base = parse_base(base_url)?;
        let setup = |message: String| ApiError::Setup { message };
        // ring, as octocrab uses: one crypto provider in the binary; the system's
        // certificate store, so a corporate proxy's CA works as it does for curl.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| builder.with_platform_verifier())
            .map_err(|err| setup(err.to_string()))?
            .with_no_client_auth();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .user_agent(USER_AGENT)
            .default_headers(HeaderMap::from_iter([(AUTHORIZATION, bearer)]))
            .connect_timeout(CONNECT_TIMEOUT)
            // The API does not redirect; following one could send the token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| setup(error_chain(&err)))?;
        Ok(Self {
            http,
            base,
            token: token.to_owned(),
            retry: RetryPolicy {
                // About seven seconds of backoff in all: enough to ride out a gateway's hiccup.
                attempts: 4,
                base_delay: Duration::from_secs(1),
                max_delay: Duration::from_secs(30),
            },
            timeout: REQUEST_TIMEOUT,
        })
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The longest one request may take, answer included (each retry gets as long again).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `/v1/projects/{project_ref}/{tail...}` under the base URL, each segment encoded.
    pub(super) fn project_url(&self, project_ref: &str, tail: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("parse_base accepts only URLs with a path")
            .pop_if_empty()
            .extend(["v1", "projects", project_ref])
            .extend(tail);
        url
    }

    /// `text` as it may be kept: the token scrubbed, whitespace intact.
    pub(super) fn hide_token(&self, text: &str) -> String {
        text.replace(&self.token, "***")
    }

    /// `text` as it may be shown in a one-line error: the token scrubbed, one line, bounded.
    pub(super) fn scrub(&self, text: &str) -> String {
        crate::http::scrub(text, &self.token)
    }

    /// Sends the request until it gives a final answer or the retries run out.
    pub(super) async fn call(
        &self,
        action: &str,
        method: Method,
        url: Url,
        body: Option<&Value>,
        replay: Replay,
    ) -> Result<Answer, ApiError> {
        self.retry
            .run(|| self.try_once(action, &method, &url, body, replay))
            .await
    }

    async fn try_once(
        &self,
        action: &str,
        method: &Method,
        url: &Url,
        body: Option<&Value>,
        replay: Replay,
    ) -> Result<Answer, Failure> {
        tracing::debug!("Supabase API: {method} {url}");
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .timeout(self.timeout);
        if let Some(body) = body {
            request = request.json(body);
        }
        let transport = |err: reqwest::Error| {
            let not_run = err.is_connect();
            let error = ApiError::Transport {
                action: action.to_owned(),
                message: self.scrub(&error_chain(&err)),
            };
            if replay == Replay::Always || not_run {
                Failure::Retry { error, wait: None }
            } else {
                Failure::Fatal(error)
            }
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response.text().await.map_err(transport)?;
        let action = action.to_owned();
        let message = || self.scrub(&error_message(&body, status));
        match status.as_u16() {
            _ if status.is_success() => Ok(Answer { status, body }),
            401 => Err(Failure::Fatal(ApiError::Unauthorized { action })),
            403 => Err(Failure::Fatal(ApiError::Forbidden {
                message: message(),
                action,
            })),
            404 => Err(Failure::Fatal(ApiError::NotFound {
                message: message(),
                action,
            })),
            // Rate limited: refused before anything ran, whatever the request.
            429 => Err(Failure::Retry {
                error: ApiError::Api {
                    status: 429,
                    message: message(),
                    action,
                },
                wait: retry_after,
            }),
            _ if status.is_server_error() => {
                let error = ApiError::Api {
                    status: status.as_u16(),
                    message: message(),
                    action,
                };
                Err(match replay {
                    Replay::Always => Failure::Retry { error, wait: None },
                    Replay::IfNotRun => Failure::Fatal(error),
                })
            }
            _ => Ok(Answer { status, body }),
        }
    }

    /// The answer's JSON as `T`, or the error a refusal stands for.
    pub(super) fn decode<T: DeserializeOwned>(
        &self,
        action: &str,
        answer: &Answer,
    ) -> Result<T, ApiError> {
        if !answer.status.is_success() {
            return Err(self.refused(action, answer));
        }
        serde_json::from_str(&answer.body).map_err(|err| ApiError::UnexpectedResponse {
            action: action.to_owned(),
            message: self.scrub(&err.to_string()),
        })
    }

    /// The error for a final answer that is not a success.
    fn refused(&self, action: &str, answer: &Answer) -> ApiError {
        ApiError::Api {
            action: action.to_owned(),
            status: answer.status.as_u16(),
            message: self.scrub(&error_message(&answer.body, answer.status)),
        }
    }
}

fn parse_base(base_url: &str) -> Result<Url, ApiError> {
    let invalid = |reason: &str| ApiError::InvalidApiUrl {
        url: base_url.to_owned(),
        reason: reason.to_owned(),
    };
    let url = Url::parse(base_url.trim()).map_err(|err| invalid(&err.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(invalid("not an http(s) URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a base URL has no query or fragment"));
    }
    Ok(url)
}

/// The API's explanation in an error answer: the JSON `message` (or `error`) when there is
/// one, else the body itself, else the status's reason.
pub(super) fn error_message(body: &str, status: StatusCode) -> String {
    let json = serde_json::from_str::<Value>(body).ok();
    let field = json.as_ref().and_then(|json| {
        ["message", "error", "msg"]
            .iter()
            .find_map(|key| json.get(key)?.as_str())
    });
    match field {
        Some(text) => text.to_owned(),
        None if !body.trim().is_empty() => body.to_owned(),
        None => status
            .canonical_reason()
            .unwrap_or("no explanation")
            .to_owned(),
    }
}

/// An error and its causes, `: `-separated: reqwest's own text names only the URL.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        // hyper repeats its cause in its own text at times.
        if !text.contains(&line) {
            text = format!("{text}: {line}");
        }
        source = cause.source();
    }
    text
}

/// An error the database raised for a query, as the API relays it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError {
    /// The five-character SQLSTATE (`42P01`), when the text carries one.
    pub sqlstate: Option<String>,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// The 1-based line of the query the error is on, when the text says (`LINE 3: …`).
    pub line: Option<u32>,
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(sqlstate) = &self.sqlstate {
            write!(f, "{sqlstate}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(line) = self.line {
            write!(f, " (line {line} of the query)")?;
        }
        if let Some(detail) = &self.detail {
            write!(f, "; detail: {detail}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "; hint: {hint}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_url_falls_back_to_the_default() {
        assert_eq!(api_url_or_default(None), DEFAULT_API_URL);
        assert_eq!(api_url_or_default(Some(" ".into())), DEFAULT_API_URL);
        assert_eq!(
            api_url_or_default(Some(" http://127.0.0.1:54321 ".into())),
            "http://127.0.0.1:54321"
        );
    }

    #[test]
    fn base_urls_are_checked_and_keep_their_path() {
        for bad in [
            "",
            "api.supabase.com",
            "ftp://x",
            "mailto:a@b",
            "http://x/?q=1",
        ] {
            assert!(
                matches!(parse_base(bad), Err(ApiError::InvalidApiUrl { .. })),
                "{bad}"
            );
        }
        let client = Client::new("http://proxy.local/supabase/", "sbp_x").unwrap();
        assert_eq!(
            client.project_url("abc/def", &["health"]).as_str(),
            "http://proxy.local/supabase/v1/projects/abc%2Fdef/health"
        );
    }

    #[test]
    fn error_messages_come_from_json_or_text() {
        let bad = StatusCode::BAD_GATEWAY;
        assert_eq!(error_message(r#"{"message":"boom"}"#, bad), "boom");
        assert_eq!(error_message(r#"{"error":"nope"}"#, bad), "nope");
        assert_eq!(error_message("<html>down</html>", bad), "<html>down</html>");
        assert_eq!(error_message("", bad), "Bad Gateway");
    }

    #[test]
    fn scrubbed_texts_hide_the_token_and_stay_short() {
        let client = Client::new(DEFAULT_API_URL, "sbp_s3cr3t").unwrap();
        assert_eq!(
            client.scrub("echo:\n  Authorization: Bearer sbp_s3cr3t"),
            "echo: Authorization: Bearer ***"
        );
        assert_eq!(
            client.scrub(&"x".repeat(1000)).chars().count(),
            crate::http::MESSAGE_CHARS + 1
        );
        assert!(!format!("{client:?}").contains("sbp_s3cr3t"));
    }
}
