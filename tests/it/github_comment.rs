//! The sticky PR comment against a local fake of GitHub's issue-comments API: a wiremock
//! server whose responders keep the comments in memory, paginate with `Link` headers
//! like GitHub, and fail on demand.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use migration_guard::github::{
    COMMENT_BODY_LIMIT, CommentError, CommentOutcome, GitHub, Repository, RetryPolicy,
    upsert_sticky_comment,
};
use migration_guard::report::markdown::COMMENT_MARKER;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "ghs_TestToken0123456789";
const PR: u64 = 42;
const COMMENTS: &str = "/repos/acme/shop/issues/42/comments";

fn repo() -> Repository {
    "acme/shop".parse().unwrap()
}

fn body(verdict: &str) -> String {
    format!(
        "{COMMENT_MARKER}\n### ✅ migration-guard shadow: {verdict}\n\n2/2 migrations applied\n"
    )
}

#[derive(Clone)]
struct Stored {
    id: u64,
    body: String,
    login: String,
    kind: String,
}

/// What the fake does to the next request of one method, instead of or after serving it.
enum Fault {
    /// Answer `status` with `headers` and `message`; change nothing.
    Fail {
        status: u16,
        message: &'static str,
        headers: Vec<(&'static str, &'static str)>,
    },
    /// Serve the request (store or update the comment), then answer 500: the answer is lost.
    ApplyThenFail,
}

fn fail(status: u16, message: &'static str) -> Fault {
    Fault::Fail {
        status,
        message,
        headers: Vec::new(),
    }
}

#[derive(Default)]
struct State {
    base: String,
    comments: Vec<Stored>,
    next_id: u64,
    faults: Vec<(&'static str, VecDeque<Fault>)>,
}

impl State {
    fn next_fault(&mut self, verb: &str) -> Option<Fault> {
        self.faults
            .iter_mut()
            .find(|(m, _)| *m == verb)
            .and_then(|(_, queue)| queue.pop_front())
    }

    fn json(&self, c: &Stored) -> Value {
        json!({
            "id": c.id,
            "node_id": format!("IC_{}", c.id),
            "url": format!("{}/repos/acme/shop/issues/comments/{}", self.base, c.id),
            "html_url": format!("https://github.com/acme/shop/pull/42#issuecomment-{}", c.id),
            "issue_url": format!("{}/repos/acme/shop/issues/42", self.base),
            "body": c.body,
            "user": {"login": c.login, "id": 41898282, "node_id": "MDM6Qm90NDE4OTgyODI=",
                     "type": c.kind, "site_admin": false},
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "author_association": "NONE"
        })
    }
}

/// The answer for a fault that replaces serving the request, if `fault` is one.
fn refusal(fault: &Option<Fault>) -> Option<ResponseTemplate> {
    let Some(Fault::Fail {
        status,
        message,
        headers,
    }) = fault
    else {
        return None;
    };
    let mut response = ResponseTemplate::new(*status).set_body_json(json!({
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
    }));
    for (name, value) in headers {
        response = response.insert_header(*name, *value);
    }
    Some(response)
}

/// The answer to send after serving the request: a 500 when the fault says it is lost.
fn answer(fault: &Option<Fault>, served: ResponseTemplate) -> ResponseTemplate {
    match fault {
        Some(Fault::ApplyThenFail) => server_error(),
        _ => served,
    }
}

fn server_error() -> ResponseTemplate {
    ResponseTemplate::new(500).set_body_json(json!({"message": "Server Error"}))
}

struct Fake {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

struct List(Arc<Mutex<State>>);
struct Create(Arc<Mutex<State>>);
struct Update(Arc<Mutex<State>>);

impl Respond for List {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap();
        let fault = state.next_fault("GET");
        if let Some(response) = refusal(&fault) {
            return response;
        }
        let query = |key: &str| {
            request
                .url
                .query_pairs()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| v.parse::<usize>().ok())
        };
        let per_page = query("per_page").unwrap_or(30).min(100);
        let page = query("page").unwrap_or(1);
        let start = (page - 1) * per_page;
        let items: Vec<Value> = state
            .comments
            .iter()
            .skip(start)
            .take(per_page)
            .map(|c| state.json(c))
            .collect();
        let mut response = ResponseTemplate::new(200).set_body_json(items);
        if start + per_page < state.comments.len() {
            let next = format!(
                "<{}{COMMENTS}?per_page={per_page}&page={}>; rel=\"next\"",
                state.base,
                page + 1
            );
            response = response.insert_header("link", next.as_str());
        }
        answer(&fault, response)
    }
}

impl Respond for Create {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap();
        let fault = state.next_fault("POST");
        if let Some(response) = refusal(&fault) {
            return response;
        }
        let Ok(payload) = request.body_json::<Value>() else {
            return ResponseTemplate::new(400);
        };
        state.next_id += 1;
        let stored = Stored {
            id: state.next_id,
            body: payload["body"].as_str().unwrap_or_default().to_owned(),
            login: "github-actions[bot]".into(),
            kind: "Bot".into(),
        };
        state.comments.push(stored.clone());
        answer(
            &fault,
            ResponseTemplate::new(201).set_body_json(state.json(&stored)),
        )
    }
}

impl Respond for Update {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap();
        let fault = state.next_fault("PATCH");
        if let Some(response) = refusal(&fault) {
            return response;
        }
        let id: u64 = request
            .url
            .path()
            .rsplit('/')
            .next()
            .and_then(|id| id.parse().ok())
            .unwrap_or_default();
        let Ok(payload) = request.body_json::<Value>() else {
            return ResponseTemplate::new(400);
        };
        let Some(index) = state.comments.iter().position(|c| c.id == id) else {
            return ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"}));
        };
        state.comments[index].body = payload["body"].as_str().unwrap_or_default().to_owned();
        let updated = state.comments[index].clone();
        answer(
            &fault,
            ResponseTemplate::new(200).set_body_json(state.json(&updated)),
        )
    }
}

impl Fake {
    async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            base: server.uri(),
            next_id: 1000,
            ..State::default()
        }));
        Mock::given(method("GET"))
            .and(path(COMMENTS))
            .respond_with(List(state.clone()))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(COMMENTS))
            .respond_with(Create(state.clone()))
            .mount(&server)
            .await;
        Mock::given(method("PATCH"))
            .and(path_regex(r"^/repos/acme/shop/issues/comments/\d+$"))
            .respond_with(Update(state.clone()))
            .mount(&server)
            .await;
        Self { server, state }
    }

    fn client(&self) -> GitHub {
        GitHub::new(&self.server.uri(), TOKEN)
            .unwrap()
            .with_retry(RetryPolicy {
                attempts: 3,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(20),
            })
    }

    fn seed(&self, login: &str, kind: &str, body: &str) -> u64 {
        let mut state = self.state.lock().unwrap();
        state.next_id += 1;
        let id = state.next_id;
        state.comments.push(Stored {
            id,
            body: body.to_owned(),
            login: login.to_owned(),
            kind: kind.to_owned(),
        });
        id
    }

    fn fault(&self, verb: &'static str, fault: Fault) {
        let mut state = self.state.lock().unwrap();
        match state.faults.iter_mut().find(|(m, _)| *m == verb) {
            Some((_, queue)) => queue.push_back(fault),
            None => state.faults.push((verb, VecDeque::from([fault]))),
        }
    }

    fn comments(&self) -> Vec<Stored> {
        self.state.lock().unwrap().comments.clone()
    }

    fn body_of(&self, id: u64) -> String {
        self.comments()
            .into_iter()
            .find(|c| c.id == id)
            .map(|c| c.body)
            .unwrap()
    }

    async fn requests(&self, verb: &str) -> Vec<Request> {
        self.server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.method.as_str() == verb)
            .collect()
    }

    async fn count(&self, verb: &str) -> usize {
        self.requests(verb).await.len()
    }
}

#[tokio::test]
async fn first_run_creates_the_comment() {
    let fake = Fake::start().await;
    let outcome = upsert_sticky_comment(&fake.client(), &repo(), PR, &body("passed"))
        .await
        .unwrap();
    let CommentOutcome::Created { id, url } = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(
        url,
        format!("https://github.com/acme/shop/pull/42#issuecomment-{id}")
    );
    assert_eq!(fake.body_of(id), body("passed"));
    assert_eq!(fake.count("POST").await, 1);
    assert_eq!(fake.count("PATCH").await, 0);
    let gets = fake.requests("GET").await;
    assert_eq!(gets.len(), 1);
    assert!(
        gets[0]
            .url
            .query()
            .unwrap_or_default()
            .contains("per_page=100")
    );
    for request in fake.server.received_requests().await.unwrap() {
        assert_eq!(
            request.headers.get("authorization").unwrap(),
            &format!("Bearer {TOKEN}")
        );
    }
}

#[tokio::test]
async fn second_run_updates_in_place() {
    let fake = Fake::start().await;
    let client = fake.client();
    let first = upsert_sticky_comment(&client, &repo(), PR, &body("failed"))
        .await
        .unwrap();
    let second = upsert_sticky_comment(&client, &repo(), PR, &body("passed"))
        .await
        .unwrap();
    let (CommentOutcome::Created { id: created, .. }, CommentOutcome::Updated { id, .. }) =
        (&first, &second)
    else {
        panic!("{first:?} then {second:?}");
    };
    assert_eq!(created, id);
    assert_eq!(fake.comments().len(), 1);
    assert_eq!(fake.body_of(*id), body("passed"));
    assert_eq!(fake.count("POST").await, 1);
    assert_eq!(fake.count("PATCH").await, 1);
}

#[tokio::test]
async fn our_comment_on_page_two_is_found() {
    let fake = Fake::start().await;
    for i in 0..130 {
        fake.seed("reviewer", "User", &format!("looks good {i}"));
    }
    let ours = fake.seed("github-actions[bot]", "Bot", &body("failed"));
    for i in 0..80 {
        fake.seed("reviewer", "User", &format!("one more thing {i}"));
    }
    let outcome = upsert_sticky_comment(&fake.client(), &repo(), PR, &body("passed"))
        .await
        .unwrap();
    assert!(
        matches!(outcome, CommentOutcome::Updated { id, .. } if id == ours),
        "{outcome:?}"
    );
    assert_eq!(fake.body_of(ours), body("passed"));
    assert_eq!(fake.count("POST").await, 0);
    // Page 1 by route, pages 2 and 3 by the absolute `next` links.
    let pages: Vec<String> = fake
        .requests("GET")
        .await
        .iter()
        .map(|r| r.url.query().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        pages,
        ["per_page=100", "per_page=100&page=2", "per_page=100&page=3"]
    );
}

#[tokio::test]
async fn other_comments_are_left_alone() {
    let fake = Fake::start().await;
    let other_bot = fake.seed(
        "other-tool[bot]",
        "Bot",
        "<!-- other-tool -->\n### Coverage: 81%\n",
    );
    let quoting = format!("Why did {COMMENT_MARKER} say this failed?\n\n> {COMMENT_MARKER}");
    let human = fake.seed("reviewer", "User", &quoting);

    let outcome = upsert_sticky_comment(&fake.client(), &repo(), PR, &body("failed"))
        .await
        .unwrap();
    let CommentOutcome::Created { id, .. } = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(fake.count("PATCH").await, 0);

    let outcome = upsert_sticky_comment(&fake.client(), &repo(), PR, &body("passed"))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        CommentOutcome::Updated {
            id,
            url: format!("https://github.com/acme/shop/pull/42#issuecomment-{id}")
        }
    );
    let patched: Vec<String> = fake
        .requests("PATCH")
        .await
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(patched, [format!("/repos/acme/shop/issues/comments/{id}")]);
    assert_eq!(
        fake.body_of(other_bot),
        "<!-- other-tool -->\n### Coverage: 81%\n"
    );
    assert_eq!(fake.body_of(human), quoting);
    assert_eq!(fake.comments().len(), 3);
}

#[tokio::test]
async fn a_bot_comment_wins_over_a_pasted_marker() {
    let fake = Fake::start().await;
    let pasted = fake.seed("reviewer", "User", &body("copied by hand"));
    let ours = fake.seed("github-actions[bot]", "Bot", &body("failed"));
    let outcome = upsert_sticky_comment(&fake.client(), &repo(), PR, &body("passed"))
        .await
        .unwrap();
    assert!(
        matches!(outcome, CommentOutcome::Updated { id, .. } if id == ours),
        "{outcome:?}"
    );
    assert_eq!(fake.body_of(pasted), body("copied by hand"));
}

#[tokio::test]
async fn fork_pull_request_403_is_no_permission_and_writes_nothing() {
    let fake = Fake::start().await;
    fake.fault("POST", fail(403, "Resource not accessible by integration"));
    let outcome = upsert_sticky_comment(&fake.client(), &repo(), PR, &body("passed"))
        .await
        .unwrap();
    let CommentOutcome::NoPermission(reason) = outcome else {
        panic!("{outcome:?}");
    };
    assert!(
        reason.contains("Resource not accessible by integration"),
        "{reason}"
    );
    assert!(reason.contains("403"), "{reason}");
    assert!(fake.comments().is_empty());
    // A refusal is not retried.
    assert_eq!(fake.count("POST").await, 1);
    assert_eq!(fake.count("PATCH").await, 0);
}

#[tokio::test]
async fn not_found_on_the_comments_endpoint_is_no_permission() {
    let fake = Fake::start().await;
    fake.fault("GET", fail(404, "Not Found"));
    let outcome = upsert_sticky_comment(&fake.client(), &repo(), PR, &body("passed"))
        .await
        .unwrap();
    assert!(
        matches!(&outcome, CommentOutcome::NoPermission(reason) if reason.contains("Not Found")),
        "{outcome:?}"
    );
    assert_eq!(fake.count("GET").await, 1);
    assert_eq!(fake.count("POST").await, 0);
}

#[tokio::test]
async fn server_error_on_update_is_retried_once() {
    let fake = Fake::start().await;
    let ours = fake.seed("github-actions[bot]", "Bot", &body("failed"));
    fake.fault("PATCH", fail(500, "Server Error"));
    let outcome = upsert_sticky_comment(&fake.client(), &repo(), PR, &body("passed"))
        .await
        .unwrap();
    assert!(
        matches!(outcome, CommentOutcome::Updated { id, .. } if id == ours),
        "{outcome:?}"
    );
    assert_eq!(fake.count("PATCH").await, 2, "one failed, one applied");
    assert_eq!(fake.count("POST").await, 0);
    assert_eq!(fake.body_of(ours), body("passed"));
}

#[tokio::test]
async fn lost_create_answer_is_not_duplicated() {
    let fake = Fake::start().await;
    fake.fault("POST", Fault::ApplyThenFail);
    let outcome = upsert_sticky_comment(&fake.client(), &repo(), PR, &body("passed"))
        .await
        .unwrap();
    let comments = fake.comments();
    assert_eq!(comments.len(), 1, "no duplicate");
    // This run did create it; the retry found it by listing again and updated it.
    assert_eq!(
        outcome,
        CommentOutcome::Created {
            id: comments[0].id,
            url: format!(
                "https://github.com/acme/shop/pull/42#issuecomment-{}",
                comments[0].id
            )
        }
    );
    assert_eq!(fake.count("POST").await, 1);
    assert_eq!(fake.count("GET").await, 2, "listed again before retrying");
    assert_eq!(fake.count("PATCH").await, 1);
    assert_eq!(comments[0].body, body("passed"));
}

#[tokio::test]
async fn rate_limits_are_waited_out() {
    let fake = Fake::start().await;
    fake.fault(
        "GET",
        Fault::Fail {
            status: 403,
            message: "API rate limit exceeded for installation ID 1.",
            headers: vec![("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1")],
        },
    );
    fake.fault(
        "POST",
        Fault::Fail {
            status: 429,
            message: "You have exceeded a secondary rate limit.",
            headers: vec![("retry-after", "1")],
        },
    );
    let outcome = upsert_sticky_comment(&fake.client(), &repo(), PR, &body("passed"))
        .await
        .unwrap();
    assert!(
        matches!(outcome, CommentOutcome::Created { .. }),
        "{outcome:?}"
    );
    assert_eq!(fake.comments().len(), 1);
    assert_eq!(fake.count("GET").await, 3);
    assert_eq!(fake.count("POST").await, 2);
}

#[tokio::test]
async fn retries_are_bounded() {
    let fake = Fake::start().await;
    for _ in 0..10 {
        fake.fault("POST", fail(502, "Bad Gateway"));
    }
    let err = upsert_sticky_comment(&fake.client(), &repo(), PR, &body("passed"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CommentError::Api { status: 502, .. }),
        "{err:?}"
    );
    assert_eq!(fake.count("POST").await, 3);
    assert_eq!(fake.count("GET").await, 3);
    assert!(fake.comments().is_empty());
}

#[tokio::test]
async fn validation_errors_are_not_retried() {
    let fake = Fake::start().await;
    fake.fault("POST", fail(422, "Validation Failed"));
    let err = upsert_sticky_comment(&fake.client(), &repo(), PR, &body("passed"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CommentError::Api { status: 422, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("Validation Failed"), "{err}");
    assert_eq!(fake.count("POST").await, 1);
}

#[tokio::test]
async fn the_token_never_appears_in_errors() {
    let fake = Fake::start().await;
    // A misbehaving proxy that echoes the request's headers in its error page.
    let echoed: &'static str = format!("upstream failed; Authorization: Bearer {TOKEN}").leak();
    for _ in 0..3 {
        fake.fault("GET", fail(500, echoed));
    }
    let err = upsert_sticky_comment(&fake.client(), &repo(), PR, &body("passed"))
        .await
        .unwrap_err();
    for shown in [
        err.to_string(),
        format!("{err:?}"),
        format!("{:?}", fake.client()),
    ] {
        assert!(!shown.contains(TOKEN), "{shown}");
    }
    assert!(err.to_string().contains("Bearer ***"), "{err}");
}

#[tokio::test]
async fn unreachable_github_is_a_transport_error() {
    // A port nothing listens on: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = GitHub::new(&format!("http://127.0.0.1:{port}"), TOKEN)
        .unwrap()
        .with_retry(RetryPolicy {
            attempts: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        });
    let err = upsert_sticky_comment(&client, &repo(), PR, &body("passed"))
        .await
        .unwrap_err();
    assert!(matches!(err, CommentError::Transport { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains(TOKEN));
}

#[tokio::test]
async fn enterprise_base_path_is_kept() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v3{COMMENTS}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v3{COMMENTS}")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": 7, "html_url": "https://ghe.example/acme/shop/pull/42#issuecomment-7"
        })))
        .mount(&server)
        .await;
    let client = GitHub::new(&format!("{}/api/v3", server.uri()), TOKEN).unwrap();
    let outcome = upsert_sticky_comment(&client, &repo(), PR, &body("passed"))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        CommentOutcome::Created {
            id: 7,
            url: "https://ghe.example/acme/shop/pull/42#issuecomment-7".into()
        }
    );
}

#[tokio::test]
async fn a_long_report_is_cut_under_the_limit_with_the_verdict_kept() {
    let fake = Fake::start().await;
    let verdict = "### ❌ migration-guard shadow: failed";
    let mut report = format!("{COMMENT_MARKER}\n{verdict}\n\n#### Findings\n\n");
    report.push_str("| Severity | Rule | Location | Message |\n|---|---|---|---|\n");
    let mut i = 0;
    while report.chars().count() <= COMMENT_BODY_LIMIT + 10_000 {
        report.push_str(&format!(
            "| error | `no-drop-column` | `supabase/migrations/{i:05}_x.sql:3` | drops column ✂️ {i} |\n"
        ));
        i += 1;
    }
    let outcome = upsert_sticky_comment(&fake.client(), &repo(), PR, &report)
        .await
        .unwrap();
    let CommentOutcome::Created { id, .. } = outcome else {
        panic!("{outcome:?}");
    };
    let posts = fake.requests("POST").await;
    let sent: Value = posts[0].body_json().unwrap();
    let sent = sent["body"].as_str().unwrap();
    assert_eq!(sent, fake.body_of(id));
    assert!(sent.chars().count() <= COMMENT_BODY_LIMIT, "{}", sent.len());
    assert!(sent.starts_with(&format!("{COMMENT_MARKER}\n{verdict}\n")));
    assert!(sent.contains("job summary"));
    assert!(sent.contains("| error | `no-drop-column` | `supabase/migrations/00000_x.sql:3`"));
    let last_row = sent.lines().rfind(|l| l.starts_with("| error")).unwrap();
    assert!(last_row.ends_with(" |"), "whole lines only: {last_row}");
}

#[tokio::test]
async fn a_body_without_the_marker_gets_it() {
    let fake = Fake::start().await;
    let outcome = upsert_sticky_comment(&fake.client(), &repo(), PR, "### plain\n")
        .await
        .unwrap();
    let CommentOutcome::Created { id, .. } = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(fake.body_of(id), format!("{COMMENT_MARKER}\n### plain\n"));
}
