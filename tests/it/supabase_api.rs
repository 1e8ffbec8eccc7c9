//! The Management API client against a wiremock fake of api.supabase.com: what it sends
//! (path, query, body, bearer token, user agent), how it reads the answers, what it
//! retries and what it refuses to, and that the token shows up nowhere.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use migration_guard::supabase::api::{
    API_URL_ENV, ApiError, BackupSummary, Client, DEFAULT_API_URL, HealthStatus, RetryPolicy,
    SqlError, TOKEN_ENV, TOKENS_PAGE, api_url_from_env, describe_unhealthy,
};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, header_regex, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "sbp_0123456789abcdef0123456789abcdef01234567";
/// A project ref has the real format: twenty lowercase letters.
const REF: &str = "prodprojectabcdefghi";
const HEALTH: &str = "/v1/projects/prodprojectabcdefghi/health";
const QUERY: &str = "/v1/projects/prodprojectabcdefghi/database/query";
const BACKUPS: &str = "/v1/projects/prodprojectabcdefghi/database/backups";

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_secs(5),
    }
}

fn client(server: &MockServer) -> Client {
    Client::new(&server.uri(), TOKEN)
        .unwrap()
        .with_retry(fast_retries())
}

/// A mock that only answers requests carrying the token and our user agent.
fn authed(verb: &str, route: &str) -> wiremock::MockBuilder {
    Mock::given(method(verb))
        .and(path(route))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header_regex(
            "user-agent",
            r"^migration-guard/\d+\.\d+\.\d+$",
        ))
}

fn service(name: &str, status: &str, error: Option<&str>) -> Value {
    let mut service =
        json!({"name": name, "healthy": status == "ACTIVE_HEALTHY", "status": status});
    if let Some(error) = error {
        service["error"] = json!(error);
    }
    service
}

#[test]
fn api_url_comes_from_the_environment_or_is_supabase() {
    assert_eq!(DEFAULT_API_URL, "https://api.supabase.com");
    let expected = std::env::var(API_URL_ENV)
        .ok()
        .map(|url| url.trim().to_owned())
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_API_URL.to_owned());
    assert_eq!(api_url_from_env(), expected);
}

#[test]
fn an_empty_token_or_a_bad_url_is_refused_up_front() {
    let err = Client::new(DEFAULT_API_URL, "  \n").unwrap_err();
    assert!(matches!(err, ApiError::InvalidToken { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(TOKENS_PAGE) && text.contains(TOKEN_ENV),
        "{text}"
    );
    let err = Client::new("api.supabase.com", TOKEN).unwrap_err();
    assert!(matches!(err, ApiError::InvalidApiUrl { .. }), "{err:?}");
}

#[tokio::test]
async fn health_all_healthy() {
    let server = MockServer::start().await;
    authed("GET", HEALTH)
        .and(query_param("services", "db,rest,auth"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            service("db", "ACTIVE_HEALTHY", None),
            service("rest", "ACTIVE_HEALTHY", None),
            // `info` varies by service; it is kept as it came.
            {"name": "auth", "healthy": true, "status": "ACTIVE_HEALTHY",
             "info": {"name": "GoTrue", "version": "2.170.0", "description": "GoTrue is a user registration and authentication API"}},
        ])))
        .expect(1)
        .mount(&server)
        .await;

    let services = client(&server)
        .health(REF, &["db", "rest", "auth"])
        .await
        .unwrap();
    assert_eq!(services.len(), 3);
    assert!(services.iter().all(|s| s.is_healthy()));
    assert!(
        services
            .iter()
            .all(|s| s.status == Some(HealthStatus::ActiveHealthy))
    );
    assert_eq!(services[2].info.as_ref().unwrap()["name"], "GoTrue");
    assert_eq!(describe_unhealthy(&services), None);
    // The list as the API documents it, commas unencoded.
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].url.query(), Some("services=db,rest,auth"));
}

#[tokio::test]
async fn unhealthy_services_are_described_in_one_line() {
    let server = MockServer::start().await;
    authed("GET", HEALTH)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            service("db", "ACTIVE_HEALTHY", None),
            service(
                "rest",
                "UNHEALTHY",
                Some("connect ECONNREFUSED\n 10.0.0.1:3000")
            ),
            service("auth", "COMING_UP", None),
            service("pooler", "RESIZING", None),
        ])))
        .mount(&server)
        .await;

    let services = client(&server)
        .health(REF, &["db", "rest", "auth", "pooler", "storage"])
        .await
        .unwrap();
    let healthy: Vec<bool> = services.iter().map(|s| s.is_healthy()).collect();
    assert_eq!(healthy, [true, false, false, false, false]);
    assert_eq!(
        services[3].status,
        Some(HealthStatus::Other("RESIZING".into()))
    );
    assert_eq!(
        describe_unhealthy(&services).unwrap(),
        "rest UNHEALTHY (connect ECONNREFUSED 10.0.0.1:3000); auth COMING_UP; \
         pooler RESIZING; storage (not in the API's answer)"
    );
}

#[tokio::test]
async fn a_server_error_is_retried_once_then_succeeds() {
    let server = MockServer::start().await;
    authed("GET", HEALTH)
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"message": "boom"})))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    authed("GET", HEALTH)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([service(
            "db",
            "ACTIVE_HEALTHY",
            None
        )])))
        .expect(1)
        .mount(&server)
        .await;

    let services = client(&server).health(REF, &["db"]).await.unwrap();
    assert!(services[0].is_healthy());
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn server_errors_give_up_after_the_last_attempt() {
    let server = MockServer::start().await;
    authed("GET", BACKUPS)
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream unavailable"))
        .expect(3)
        .mount(&server)
        .await;

    let err = client(&server).backups(REF).await.unwrap_err();
    assert!(
        matches!(&err, ApiError::Api { status: 503, message, .. } if message == "upstream unavailable"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_rate_limit_waits_as_asked_then_succeeds() {
    let server = MockServer::start().await;
    authed("GET", HEALTH)
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"message": "Too many requests"})),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    authed("GET", HEALTH)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([service(
            "db",
            "ACTIVE_HEALTHY",
            None
        )])))
        .expect(1)
        .mount(&server)
        .await;

    let start = Instant::now();
    let services = client(&server).health(REF, &["db"]).await.unwrap();
    assert!(services[0].is_healthy());
    // The backoff alone would be 1 ms: the wait is the server's.
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_rate_limit_wait_is_capped() {
    let server = MockServer::start().await;
    authed("GET", HEALTH)
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
        .expect(2)
        .mount(&server)
        .await;

    let policy = RetryPolicy {
        attempts: 2,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(50),
    };
    let start = Instant::now();
    let err = client(&server)
        .with_retry(policy)
        .health(REF, &["db"])
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Api { status: 429, .. }), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn unauthorized_is_not_retried_and_says_what_to_do() {
    let server = MockServer::start().await;
    authed("GET", HEALTH)
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"message": "Unauthorized"})))
        .expect(1)
        .mount(&server)
        .await;

    let err = client(&server).health(REF, &["db"]).await.unwrap_err();
    assert!(matches!(err, ApiError::Unauthorized { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the Supabase API answered 401 when trying to check the health of project \
         prodprojectabcdefghi: the access token is wrong or expired; create one at \
         https://supabase.com/dashboard/account/tokens and set SUPABASE_ACCESS_TOKEN"
    );
}

#[tokio::test]
async fn forbidden_and_not_found_are_not_retried() {
    let server = MockServer::start().await;
    authed("GET", BACKUPS)
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"message": "Your account does not have the necessary privileges"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    authed("GET", HEALTH)
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .expect(1)
        .mount(&server)
        .await;

    let err = client(&server).backups(REF).await.unwrap_err();
    assert!(matches!(err, ApiError::Forbidden { .. }), "{err:?}");
    assert!(err.to_string().contains("necessary privileges"), "{err}");
    let err = client(&server).health(REF, &["db"]).await.unwrap_err();
    assert!(matches!(err, ApiError::NotFound { .. }), "{err:?}");
    assert!(
        err.to_string().contains(
            "the project ref is wrong, or this endpoint is not available on the project's plan"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn query_returns_rows() {
    let server = MockServer::start().await;
    let sql = "select 'orders table' as check, true as ok, null as detail";
    authed("POST", QUERY)
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"query": sql, "read_only": true})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!([
            {"check": "orders table", "ok": true, "detail": null},
            {"check": "rls on users", "ok": false, "detail": "disabled"},
        ])))
        .expect(1)
        .mount(&server)
        .await;

    let rows = client(&server).query(REF, sql, true).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["check"], "orders table");
    assert_eq!(rows[0]["ok"], true);
    assert_eq!(rows[0]["detail"], Value::Null);
    assert_eq!(rows[1]["detail"], "disabled");
}

#[tokio::test]
async fn a_write_query_without_rows_gives_none() {
    let server = MockServer::start().await;
    let sql = "create table if not exists t (id int)";
    authed("POST", QUERY)
        .and(body_json(json!({"query": sql, "read_only": false})))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;

    let rows = client(&server).query(REF, sql, false).await.unwrap();
    assert!(rows.is_empty());
}

#[tokio::test]
async fn a_sql_error_is_parsed() {
    let server = MockServer::start().await;
    authed("POST", QUERY)
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "message": "Failed to run sql query: ERROR:  42P01: relation \"x\" does not exist\nLINE 1: select * from x\n                      ^\n"
        })))
        .expect(1)
        .mount(&server)
        .await;

    let err = client(&server)
        .query(REF, "select * from x", true)
        .await
        .unwrap_err();
    let ApiError::Sql(sql) = &err else {
        panic!("not an SQL error: {err:?}");
    };
    assert_eq!(
        sql,
        &SqlError {
            sqlstate: Some("42P01".into()),
            message: "relation \"x\" does not exist".into(),
            detail: None,
            hint: None,
            line: Some(1),
        }
    );
    assert_eq!(
        err.to_string(),
        "the database refused the query: 42P01: relation \"x\" does not exist (line 1 of the query)"
    );
}

#[tokio::test]
async fn a_bad_request_that_is_not_sql_stays_an_api_error() {
    let server = MockServer::start().await;
    authed("POST", QUERY)
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"message": "query must be a string"})),
        )
        .mount(&server)
        .await;

    let err = client(&server).query(REF, "", true).await.unwrap_err();
    assert!(
        matches!(&err, ApiError::Api { status: 400, message, .. } if message == "query must be a string"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_read_only_query_is_retried_but_a_write_is_not_replayed() {
    let server = MockServer::start().await;
    authed("POST", QUERY)
        .and(body_json(json!({"query": "select 1", "read_only": true})))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    authed("POST", QUERY)
        .and(body_json(json!({"query": "select 1", "read_only": true})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!([{"?column?": 1}])))
        .expect(1)
        .mount(&server)
        .await;
    // A 502 may come after the database ran the statement: running it again could apply a
    // migration's change twice.
    authed("POST", QUERY)
        .and(body_json(
            json!({"query": "insert into t values (1)", "read_only": false}),
        ))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;

    let client = client(&server);
    let rows = client.query(REF, "select 1", true).await.unwrap();
    assert_eq!(rows[0]["?column?"], 1);
    let err = client
        .query(REF, "insert into t values (1)", false)
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Api { status: 502, .. }), "{err:?}");
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let server = MockServer::start().await;
    authed("GET", HEALTH)
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([]))
                .set_delay(Duration::from_secs(5)),
        )
        .expect(2)
        .mount(&server)
        .await;

    let policy = RetryPolicy {
        attempts: 2,
        ..fast_retries()
    };
    let start = Instant::now();
    let err = client(&server)
        .with_retry(policy)
        .with_timeout(Duration::from_millis(200))
        .health(REF, &["db"])
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Transport { .. }), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn backups_with_point_in_time_recovery() {
    let server = MockServer::start().await;
    authed("GET", BACKUPS)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "region": "us-east-1",
            "walg_enabled": true,
            "pitr_enabled": true,
            "backups": [
                {"is_physical_backup": true, "status": "COMPLETED", "inserted_at": "2026-11-23T03:00:00.000Z"},
                {"is_physical_backup": true, "status": "COMPLETED", "inserted_at": "2026-11-24T03:00:00.000Z"},
                {"is_physical_backup": true, "status": "FAILED", "inserted_at": "2026-11-25T03:00:00.000Z"},
            ],
            "physical_backup_data": {
                "earliest_physical_backup_date_unix": 1700000000,
                "latest_physical_backup_date_unix": 1700086400
            }
        })))
        .expect(1)
        .mount(&server)
        .await;

    let summary: BackupSummary = client(&server).backups(REF).await.unwrap();
    assert!(summary.pitr_enabled);
    assert_eq!(
        summary.latest_completed.unwrap().to_rfc3339(),
        "2026-11-24T03:00:00+00:00"
    );
    assert_eq!(summary.latest_restorable.unwrap().timestamp(), 1700086400);
    assert_eq!(
        summary.to_string(),
        "latest completed backup 2026-11-24 03:00 UTC; point-in-time recovery on, \
         restorable up to 2023-11-15 22:13 UTC"
    );
}

#[tokio::test]
async fn backups_without_point_in_time_recovery() {
    let server = MockServer::start().await;
    authed("GET", BACKUPS)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "region": "eu-west-2",
            "pitr_enabled": false,
            "walg_enabled": null,
            "backups": [{"status": "COMPLETED", "inserted_at": "2026-11-24T03:00:00.000Z"},
                        {"status": "COMPLETED"}],
            "physical_backup_data": {}
        })))
        .mount(&server)
        .await;

    let summary = client(&server).backups(REF).await.unwrap();
    assert!(!summary.pitr_enabled);
    assert_eq!(summary.latest_restorable, None);
    assert_eq!(
        summary.to_string(),
        "latest completed backup 2026-11-24 03:00 UTC; point-in-time recovery off"
    );
}

/// Answers with the request's own Authorization header in the body: what a misbehaving
/// proxy might do.
struct Echo(u16);

impl Respond for Echo {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let auth = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let message = match self.0 {
            400 => format!("Failed to run sql query: ERROR:  42501: permission denied ({auth})"),
            _ => format!("request was: Authorization: {auth}"),
        };
        let body = match self.0 {
            200 => format!("not json: {auth}"),
            _ => json!({ "message": message }).to_string(),
        };
        ResponseTemplate::new(self.0).set_body_string(body)
    }
}

/// Collects what the log subscriber writes.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_token_is_in_no_error_debug_output_or_log_line() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    for (status, route) in [
        (401, "/v1/projects/unauthorized/health"),
        (403, "/v1/projects/forbidden/health"),
        (404, "/v1/projects/notfound/health"),
        (500, "/v1/projects/broken/health"),
        (429, "/v1/projects/limited/health"),
        (200, "/v1/projects/garbled/health"),
        (400, "/v1/projects/sql/database/query"),
        (422, "/v1/projects/odd/database/query"),
    ] {
        Mock::given(path(route))
            .respond_with(Echo(status))
            .mount(&server)
            .await;
    }
    let client = client(&server);
    let mut errors = Vec::new();
    for project in [
        "unauthorized",
        "forbidden",
        "notfound",
        "broken",
        "limited",
        "garbled",
    ] {
        errors.push(client.health(project, &["db"]).await.unwrap_err());
    }
    errors.push(client.query("sql", "select", false).await.unwrap_err());
    errors.push(client.query("odd", "select", false).await.unwrap_err());
    // A port nothing listens on (wiremock pools its servers: a dropped one still answers).
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    errors.push(
        Client::new(&closed, TOKEN)
            .unwrap()
            .with_retry(fast_retries())
            .backups(REF)
            .await
            .unwrap_err(),
    );
    errors.push(Client::new(DEFAULT_API_URL, "sbp_bad\ntoken").unwrap_err());

    assert!(matches!(errors[0], ApiError::Unauthorized { .. }));
    assert!(matches!(&errors[6], ApiError::Sql(sql) if sql.sqlstate.as_deref() == Some("42501")));
    assert!(
        matches!(errors[8], ApiError::Transport { .. }),
        "{:?}",
        errors[8]
    );
    let secret = TOKEN.trim_start_matches("sbp_");
    let mut shown = vec![format!("{client:?}")];
    for err in &errors {
        shown.push(err.to_string());
        shown.push(format!("{err:?}"));
    }
    // The server did echo it: the scrubbing is what keeps it out.
    assert!(
        shown.iter().any(|text| text.contains("Bearer ***")),
        "{shown:#?}"
    );
    for text in &shown {
        assert!(!text.contains(secret), "the token leaked: {text}");
    }
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("retrying in"), "{logs}");
    assert!(
        !logs.contains(secret),
        "the token leaked into the logs: {logs}"
    );
}
