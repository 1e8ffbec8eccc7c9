//! `POST /v1/projects/{ref}/database/query`: SQL run by the API on the project's database,
//! for when only an access token is at hand. The database's refusals (HTTP 400,
//! `Failed to run sql query: ERROR:  42P01: relation "x" does not exist`) become a
//! [`SqlError`] with the SQLSTATE, so they are reported like any database error.

use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::client::{ApiError, Client, Replay, SqlError, error_message};

/// The API's prefix on the database's error text.
const SQL_FAILURE_PREFIX: &str = "Failed to run sql query:";

impl Client {
    /// Runs `sql` on the project's database and returns its rows as JSON objects (none for
    /// DDL and DML). `read_only` has the API run it in a read-only transaction; only such a
    /// query is retried after a failure that leaves unknown whether it ran.
    pub async fn query(
        &self,
        project_ref: &str,
        sql: &str,
        read_only: bool,
    ) -> Result<Vec<Map<String, Value>>, ApiError> {
        let action = format!("run a query on project {project_ref}");
        let url = self.project_url(project_ref, &["database", "query"]);
        let body = json!({ "query": sql, "read_only": read_only });
        let replay = if read_only {
            Replay::Always
        } else {
            Replay::IfNotRun
        };
        let answer = self
            .call(&action, Method::POST, url, Some(&body), replay)
            .await?;
        if answer.status == StatusCode::BAD_REQUEST {
            let text = self.hide_token(&error_message(&answer.body, answer.status));
            if let Some(error) = parse_sql_error(&text) {
                return Err(ApiError::Sql(error));
            }
        }
        if answer.status.is_success() && answer.body.trim().is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<Value> = self.decode(&action, &answer)?;
        rows.into_iter()
            .map(|row| match row {
                Value::Object(row) => Ok(row),
                other => Err(ApiError::UnexpectedResponse {
                    action: action.clone(),
                    message: self.scrub(&format!("a row is not a JSON object: {other}")),
                }),
            })
            .collect()
    }
}

/// The database error in the API's text, `None` when the text is not one (a malformed
/// request is a 400 too). Postgres's verbose form:
/// `ERROR:  42P01: relation "x" does not exist\nLINE 1: select * from x\n ^\nHINT:  …`.
fn parse_sql_error(text: &str) -> Option<SqlError> {
    let text = text.trim();
    let (prefixed, text) = match text.strip_prefix(SQL_FAILURE_PREFIX) {
        Some(rest) => (true, rest.trim_start()),
        None => (false, text),
    };
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    let severity = ["ERROR:", "FATAL:", "PANIC:"]
        .iter()
        .find_map(|severity| first.strip_prefix(severity));
    let (sqlstate, message) = match severity {
        Some(rest) => {
            let rest = rest.trim_start();
            match rest.split_once(':') {
                Some((code, message)) if is_sqlstate(code) => {
                    (Some(code.to_owned()), message.trim().to_owned())
                }
                _ => (None, rest.trim().to_owned()),
            }
        }
        None if prefixed => (None, first.trim().to_owned()),
        None => return None,
    };
    let mut error = SqlError {
        sqlstate,
        message,
        detail: None,
        hint: None,
        line: None,
    };
    for line in lines {
        if let Some(rest) = line.strip_prefix("LINE ") {
            error.line = rest.split_once(':').and_then(|(n, _)| n.parse().ok());
        } else if let Some(rest) = line.strip_prefix("DETAIL:") {
            error.detail = Some(rest.trim().to_owned());
        } else if let Some(rest) = line.strip_prefix("HINT:") {
            error.hint = Some(rest.trim().to_owned());
        }
    }
    Some(error)
}

fn is_sqlstate(code: &str) -> bool {
    code.len() == 5
        && code
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbose_postgres_error_is_parsed() {
        let error = parse_sql_error(
            "Failed to run sql query: ERROR:  42601: syntax error at or near \"selec\"\n\
             LINE 2: selec 1\n        ^\nHINT:  Check the spelling.\n",
        )
        .unwrap();
        assert_eq!(error.sqlstate.as_deref(), Some("42601"));
        assert_eq!(error.message, "syntax error at or near \"selec\"");
        assert_eq!(error.line, Some(2));
        assert_eq!(error.hint.as_deref(), Some("Check the spelling."));
        assert_eq!(
            error.to_string(),
            "42601: syntax error at or near \"selec\" (line 2 of the query); \
             hint: Check the spelling."
        );
    }

    #[test]
    fn errors_without_sqlstate_are_kept() {
        let error = parse_sql_error("Failed to run sql query: connection terminated").unwrap();
        assert_eq!(error.sqlstate, None);
        assert_eq!(error.message, "connection terminated");
        let error = parse_sql_error("ERROR:  permission denied for schema auth").unwrap();
        assert_eq!(error.sqlstate, None);
        assert_eq!(error.message, "permission denied for schema auth");
    }

    #[test]
    fn other_bad_requests_are_not_sql_errors() {
        assert_eq!(parse_sql_error("query must be a string"), None);
        assert_eq!(parse_sql_error(""), None);
    }
}
