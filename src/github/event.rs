//! The GitHub Actions run context: which repository, which event, which pull request.
//!
//! Everything comes from the environment the runner sets (`GITHUB_EVENT_NAME`,
//! `GITHUB_EVENT_PATH`, `GITHUB_REPOSITORY`, `GITHUB_API_URL`, `GITHUB_WORKSPACE`). The
//! environment is a parameter, never read here directly, so tests pass their own.
//! Only `pull_request` and `pull_request_target` events have their payload read: they are
//! the only ones whose fields the action uses.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde_json::Value;

/// The public GitHub API; GitHub Enterprise Server sets its own `GITHUB_API_URL`.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// What the action knows about the run it is part of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionsContext {
    pub event_name: EventName,
    pub repository: Repository,
    /// Without a trailing slash, e.g. `https://api.github.com` or `https://ghe.example/api/v3`.
    pub api_url: String,
    pub workspace: PathBuf,
    /// Set for `pull_request` and `pull_request_target` events.
    pub pull_request: Option<PullRequest>,
}

/// `GITHUB_EVENT_NAME`, with the events the action treats specially spelled out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventName {
    PullRequest,
    PullRequestTarget,
    Push,
    Other(String),
}

/// `owner/name`, as in `GITHUB_REPOSITORY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub owner: String,
    pub name: String,
}

/// The fields of a pull-request event the action uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    pub head_sha: String,
    pub base_ref: String,
    /// The head branch lives in another repository: on `pull_request` events the token is
    /// then read-only, so the comment cannot be written.
    pub from_fork: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("{name} is not set: is this running inside GitHub Actions?")]
    MissingVar { name: &'static str },
    #[error("{name}={value:?} is not valid: {reason}")]
    InvalidVar {
        name: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("cannot read the event file {path} (GITHUB_EVENT_PATH): {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the event file {path} (GITHUB_EVENT_PATH) is not valid JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("the event file {path} (GITHUB_EVENT_PATH) has no `{field}` ({expected} expected)")]
    MissingField {
        path: PathBuf,
        field: &'static str,
        expected: &'static str,
    },
}

impl ActionsContext {
    /// Reads the context through `env`, which answers a variable's value (`None` when unset).
    /// Empty values count as unset, as the runner passes unset inputs as empty strings.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, EventError> {
        let get = |name: &str| env(name).filter(|value| !value.is_empty());
        let require = |name: &'static str| get(name).ok_or(EventError::MissingVar { name });

        let event_name = EventName::from(require("GITHUB_EVENT_NAME")?.as_str());
        let repository_var = require("GITHUB_REPOSITORY")?;
        let repository = repository_var
            .parse()
            .map_err(|reason| EventError::InvalidVar {
                name: "GITHUB_REPOSITORY",
                value: repository_var.clone(),
                reason,
            })?;
        let api_url = api_url(get("GITHUB_API_URL"))?;
        let workspace = PathBuf::from(require("GITHUB_WORKSPACE")?);
        let pull_request = if event_name.is_pull_request() {
            let path = PathBuf::from(require("GITHUB_EVENT_PATH")?);
            Some(read_pull_request(&path)?)
        } else {
            None
        };
        Ok(Self {
            event_name,
            repository,
            api_url,
            workspace,
            pull_request,
        })
    }

    /// [`ActionsContext::from_env`] on this process's environment.
    pub fn from_process_env() -> Result<Self, EventError> {
        Self::from_env(&|name| std::env::var(name).ok())
    }
}

fn api_url(value: Option<String>) -> Result<String, EventError> {
    let Some(value) = value else {
        return Ok(DEFAULT_API_URL.to_owned());
    };
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => {
            Ok(value.trim_end_matches('/').to_owned())
        }
        _ => Err(EventError::InvalidVar {
            name: "GITHUB_API_URL",
            value,
            reason: "expected an http(s) URL such as https://api.github.com",
        }),
    }
}

impl EventName {
    pub fn as_str(&self) -> &str {
        match self {
            Self::PullRequest => "pull_request",
            Self::PullRequestTarget => "pull_request_target",
            Self::Push => "push",
            Self::Other(name) => name,
        }
    }

    pub fn is_pull_request(&self) -> bool {
        matches!(self, Self::PullRequest | Self::PullRequestTarget)
    }
}

impl From<&str> for EventName {
    fn from(name: &str) -> Self {
        match name {
            "pull_request" => Self::PullRequest,
            "pull_request_target" => Self::PullRequestTarget,
            "push" => Self::Push,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for EventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Repository {
    type Err = &'static str;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.split_once('/') {
            Some((owner, name)) if !owner.is_empty() && !name.is_empty() && !name.contains('/') => {
                Ok(Self {
                    owner: owner.to_owned(),
                    name: name.to_owned(),
                })
            }
            _ => Err("expected owner/name"),
        }
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

fn read_pull_request(path: &Path) -> Result<PullRequest, EventError> {
    let text = std::fs::read_to_string(path).map_err(|source| EventError::Read {
        path: path.to_owned(),
        source,
    })?;
    let event: Value = serde_json::from_str(&text).map_err(|source| EventError::Json {
        path: path.to_owned(),
        source,
    })?;
    let missing = |field, expected| EventError::MissingField {
        path: path.to_owned(),
        field,
        expected,
    };
    let string = |pointer: &str, field| {
        event
            .pointer(pointer)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| missing(field, "a non-empty string"))
    };
    let number = event
        .pointer("/pull_request/number")
        .and_then(Value::as_u64)
        .filter(|&n| n > 0)
        .ok_or_else(|| missing("pull_request.number", "a positive integer"))?;
    let head_sha = string("/pull_request/head/sha", "pull_request.head.sha")?;
    let base_ref = string("/pull_request/base/ref", "pull_request.base.ref")?;
    let base_repo = event
        .pointer("/pull_request/base/repo")
        .filter(|repo| repo.is_object())
        .ok_or_else(|| missing("pull_request.base.repo", "an object"))?;
    let from_fork = match event.pointer("/pull_request/head/repo") {
        Some(head_repo) if head_repo.is_object() => !same_repo(head_repo, base_repo),
        // GitHub sends `null` when the fork has been deleted: it is not the base repository.
        _ => true,
    };
    Ok(PullRequest {
        number,
        head_sha,
        base_ref,
        from_fork,
    })
}

/// Same repository by id (stable across renames), else by full name (case-insensitive).
fn same_repo(a: &Value, b: &Value) -> bool {
    if let (Some(a), Some(b)) = (
        a.get("id").and_then(Value::as_u64),
        b.get("id").and_then(Value::as_u64),
    ) {
        return a == b;
    }
    match (
        a.get("full_name").and_then(Value::as_str),
        b.get("full_name").and_then(Value::as_str),
    ) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn fixture(name: &str) -> String {
        format!(
            "{}/tests/fixtures/events/{name}",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    /// A runner-like environment for `event` read from the fixture `file`.
    fn env_for(event: &str, file: &str) -> HashMap<&'static str, String> {
        HashMap::from([
            ("GITHUB_EVENT_NAME", event.to_owned()),
            ("GITHUB_EVENT_PATH", fixture(file)),
            ("GITHUB_REPOSITORY", "acme/shop".to_owned()),
            ("GITHUB_WORKSPACE", "/github/workspace".to_owned()),
        ])
    }

    fn parse(env: &HashMap<&'static str, String>) -> Result<ActionsContext, EventError> {
        ActionsContext::from_env(&|name| env.get(name).cloned())
    }

    #[test]
    fn pull_request_event() {
        let context = parse(&env_for("pull_request", "pull_request.json")).unwrap();
        assert_eq!(
            context,
            ActionsContext {
                event_name: EventName::PullRequest,
                repository: Repository {
                    owner: "acme".into(),
                    name: "shop".into()
                },
                api_url: DEFAULT_API_URL.into(),
                workspace: "/github/workspace".into(),
                pull_request: Some(PullRequest {
                    number: 42,
                    head_sha: "6dcb09b5b57875f334f61aebed695e2e4193db5e".into(),
                    base_ref: "main".into(),
                    from_fork: false,
                }),
            }
        );
    }

    #[test]
    fn fork_pull_request() {
        let context = parse(&env_for("pull_request", "pull_request_fork.json")).unwrap();
        let pr = context.pull_request.unwrap();
        assert_eq!(pr.number, 7);
        assert!(pr.from_fork);
    }

    #[test]
    fn deleted_fork_counts_as_fork() {
        let context = parse(&env_for(
            "pull_request_target",
            "pull_request_deleted_fork.json",
        ))
        .unwrap();
        assert_eq!(context.event_name, EventName::PullRequestTarget);
        assert!(context.pull_request.unwrap().from_fork);
    }

    #[test]
    fn push_event_has_no_pull_request() {
        let context = parse(&env_for("push", "push.json")).unwrap();
        assert_eq!(context.event_name, EventName::Push);
        assert_eq!(context.pull_request, None);
    }

    #[test]
    fn enterprise_api_url_is_kept_without_trailing_slash() {
        let mut env = env_for("push", "push.json");
        env.insert("GITHUB_API_URL", "https://ghe.example.com/api/v3/".into());
        assert_eq!(
            parse(&env).unwrap().api_url,
            "https://ghe.example.com/api/v3"
        );
    }

    #[test]
    fn bad_api_url() {
        let mut env = env_for("push", "push.json");
        env.insert("GITHUB_API_URL", "ghe.example.com".into());
        let err = parse(&env).unwrap_err();
        assert!(err.to_string().contains("GITHUB_API_URL"), "{err}");
    }

    #[test]
    fn malformed_json_names_the_file() {
        let err = parse(&env_for("pull_request", "malformed.json")).unwrap_err();
        assert!(matches!(err, EventError::Json { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("malformed.json"), "{message}");
        assert!(message.contains("line"), "{message}");
    }

    #[test]
    fn missing_file_names_the_file() {
        let err = parse(&env_for("pull_request", "does-not-exist.json")).unwrap_err();
        assert!(matches!(err, EventError::Read { .. }), "{err:?}");
        assert!(err.to_string().contains("does-not-exist.json"));
        assert!(err.to_string().contains("GITHUB_EVENT_PATH"));
    }

    #[test]
    fn pull_request_event_without_pull_request_field() {
        // A push payload under a pull_request event name: any valid JSON, no panic.
        let err = parse(&env_for("pull_request", "push.json")).unwrap_err();
        assert!(
            matches!(
                err,
                EventError::MissingField {
                    field: "pull_request.number",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn odd_json_shapes_are_errors_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        for (i, text) in [
            "null",
            "[]",
            "42",
            r#"{"pull_request": null}"#,
            r#"{"pull_request": {"number": "42"}}"#,
            r#"{"pull_request": {"number": -1}}"#,
            r#"{"pull_request": {"number": 1, "head": {"sha": 5}}}"#,
            r#"{"pull_request": {"number": 1, "head": {"sha": "a"}, "base": {"ref": "main"}}}"#,
        ]
        .iter()
        .enumerate()
        {
            let path = dir.path().join(format!("{i}.json"));
            std::fs::write(&path, text).unwrap();
            let mut env = env_for("pull_request", "unused");
            env.insert("GITHUB_EVENT_PATH", path.display().to_string());
            let err = parse(&env).unwrap_err();
            assert!(
                matches!(err, EventError::MissingField { .. }),
                "{text}: {err:?}"
            );
        }
    }

    #[test]
    fn missing_and_invalid_variables() {
        let mut env = env_for("push", "push.json");
        env.remove("GITHUB_REPOSITORY");
        let err = parse(&env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "GITHUB_REPOSITORY is not set: is this running inside GitHub Actions?"
        );

        for bad in ["acme", "acme/", "/shop", "acme/shop/extra"] {
            env.insert("GITHUB_REPOSITORY", bad.into());
            let err = parse(&env).unwrap_err();
            assert!(
                matches!(err, EventError::InvalidVar { .. }),
                "{bad}: {err:?}"
            );
        }

        let mut env = env_for("pull_request", "pull_request.json");
        env.insert("GITHUB_EVENT_PATH", String::new());
        let err = parse(&env).unwrap_err();
        assert!(
            matches!(
                err,
                EventError::MissingVar {
                    name: "GITHUB_EVENT_PATH"
                }
            ),
            "{err:?}"
        );
    }
}
