//! PL/pgSQL function bodies checked with plpgsql_check, in the shadow after the
//! migrations.
//!
//! `CREATE FUNCTION … LANGUAGE plpgsql` checks only the body's syntax: a misspelt column,
//! a missing table, a wrong type in an assignment or a `NEW.field` the table does not
//! have goes unnoticed until the line runs in production. plpgsql_check reads every
//! statement of the body against the catalog, as the planner would, without running it.
//!
//! [`check`] gives it every routine with language `plpgsql` in the user's schemas
//! ([`Scope::user`]; those an extension owns are left out): trigger functions once per
//! table (or view) whose triggers call them, with that relation, because the types of
//! `NEW` and `OLD` come from it (and the transition tables' names, `REFERENCING … TABLE
//! AS`); a trigger function no trigger calls cannot be checked and is named in a note.
//! What plpgsql_check reports at level `error` is a [`registry::PLPGSQL_ERROR.id`]; at level
//! `warning` (an unused variable, a local variable hiding a parameter, an assignment
//! that casts, a `SELECT … INTO` with more columns than targets) a [`registry::PLPGSQL_WARNING.id`].
//! Its `warning extra` level (unused parameters, never-read variables, dead code, a
//! missing `RETURN` at the end, which it also reports for loops that always return) and
//! its performance, security and compatibility warnings are not asked for: noise for a
//! reviewer.
//!
//! A finding is at the file line of the body's line: the last migration statement that
//! creates the routine (`CREATE [OR REPLACE] FUNCTION|PROCEDURE [schema.]name`, the
//! name compared without regard to case; among several, the last whose body is the
//! routine's source, which tells overloads apart), the line its body opens on (`AS
//! $tag$` or `AS '`), and plpgsql_check's line within the body. A routine no statement
//! creates (made by dynamic SQL) gives findings with no location that name it.
//!
//! plpgsql_check is not a trusted extension: the shadow passes its own superuser
//! connection (never the migrations' session), and everything runs in one transaction,
//! with the extension created in a schema of its own, rolled back at the end, also when
//! a step fails. The rollback drops the schema and the extension, so the catalog the
//! other checks compare is left as it was. plpgsql_check reads the bodies; it runs none.
//! When the migrations installed plpgsql_check themselves, theirs is used.
//!
//! When the shadow's Postgres does not have plpgsql_check, or the session may not
//! create it, the result is a note and no finding. The caller applies the project's
//! configuration to the findings (they are located in migration files).

use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};

use crate::catalog::Scope;
use crate::db::{Database, PgError, pipelined, quote_ident};
use crate::findings::registry;
use crate::findings::{Finding, Location, Severity};
use crate::sql::names::object_name;

use crate::migration::MigrationFile;
use crate::sql::statement::ParsedStatement;

use crate::findings::span::Span;
use sqlparser::ast::ObjectNamePart;
use sqlparser::tokenizer::Token;

/// The schema the extension is created in for the duration of the check.
const SCHEMA: &str = "migration_guard_plpgsql_check";

/// The routines and the relations of their triggers; see the file's header.
const ROUTINES: &str = include_str!("plpgsql.sql");

const NOT_INSTALLED: &str = "plpgsql_check is not installed in the shadow's Postgres: function bodies were not checked; the supabase/postgres image has it, or install postgresql-<major>-plpgsql-check";

/// What the check found, and what it could not check.
#[derive(Debug, Default)]
pub struct Checked {
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlpgsqlError {
    #[error("cannot check the PL/pgSQL function bodies: {step} failed: {source}")]
    Query {
        step: &'static str,
        #[source]
        source: PgError,
    },
}

fn failed(step: &'static str) -> impl FnOnce(PgError) -> PlpgsqlError {
    move |source| PlpgsqlError::Query { step, source }
}

/// Checks the body of every PL/pgSQL routine in the user's schemas of `db` (the shadow,
/// after `migrations`), and locates what plpgsql_check reports in `migrations`.
pub async fn check(db: &Database, migrations: &[MigrationFile]) -> Result<Checked, PlpgsqlError> {
    let available: bool = db
        .client
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_available_extensions WHERE name = 'plpgsql_check')",
            &[],
        )
        .await
        .map_err(failed("looking for plpgsql_check"))?
        .get(0);
    if !available {
        return Ok(Checked {
            findings: Vec::new(),
            notes: vec![NOT_INSTALLED.to_string()],
        });
    }
    db.client
        .batch_execute("BEGIN")
        .await
        .map_err(failed("starting the check's transaction"))?;
    let checked = in_transaction(db, migrations).await;
    let rolled_back = db
        .client
        .batch_execute("ROLLBACK")
        .await
        .map_err(failed("rolling back the check's transaction"));
    let checked = checked?;
    rolled_back?;
    Ok(checked)
}

/// The check, inside the transaction [`check`] rolls back.
async fn in_transaction(
    db: &Database,
    migrations: &[MigrationFile],
) -> Result<Checked, PlpgsqlError> {
    let mut checked = Checked::default();
    let Some(schema) = install(db, &mut checked.notes).await? else {
        return Ok(checked);
    };
    let scope = Scope::user();
    let definitions = definitions(migrations);
    let mut targets = Vec::new();
    for target in routines(db).await? {
        if !scope.includes(&target.schema) {
            continue;
        }
        if target.trigger && target.relid == 0 {
            checked.notes.push(format!(
                "{}: a trigger function no trigger uses: its body was not checked (plpgsql_check needs the trigger's table to know NEW and OLD)",
                target.signature
            ));
            continue;
        }
        targets.push(target);
    }
    // Most checks raise nothing: those that name no transition table go out as one
    // statement, and only when one of them raises is each checked on its own.
    let (together, alone): (Vec<&Target>, Vec<&Target>) = targets
        .iter()
        .partition(|target| target.oldtable.is_none() && target.newtable.is_none());
    let one_by_one = match check_together(db, &schema, &together).await? {
        Some(reported) => {
            for (target, reports) in together.iter().zip(reported) {
                let definition = defining(&definitions, target);
                checked.findings.extend(
                    reports
                        .iter()
                        .filter_map(|report| finding(target, report, definition, migrations)),
                );
            }
            alone
        }
        None => targets.iter().collect(),
    };
    let mut rest = &one_by_one[..];
    while !rest.is_empty() {
        let batch = &rest[..rest.len().min(PIPELINE)];
        let sent = pipelined(
            batch
                .iter()
                .map(|target| check_one(db, &schema, target))
                .collect(),
        )
        .await;
        let mut done = 0;
        for (target, sent) in batch.iter().zip(sent) {
            done += 1;
            match sent.reports()? {
                Ok(reports) => {
                    let definition = defining(&definitions, target);
                    checked.findings.extend(
                        reports
                            .iter()
                            .filter_map(|report| finding(target, report, definition, migrations)),
                    );
                }
                Err(error) => {
                    checked.notes.push(format!(
                        "{}{}: plpgsql_check could not check it: {}",
                        target.signature,
                        target.as_trigger(),
                        error
                            .as_db_error()
                            .map_or(error.to_string(), |e| e.message().to_string())
                    ));
                    // The transaction is aborted: the checks sent after this one did not
                    // run. Back to its savepoint, and they are sent again.
                    db.client
                        .batch_execute(UNDO_CHECK)
                        .await
                        .map_err(failed("rolling back to a savepoint"))?;
                    break;
                }
            }
        }
        rest = &rest[done..];
    }
    Ok(checked)
}

/// The schema plpgsql_check is in: the migrations' own, or a new one of ours (rolled
/// back with the transaction). `None`, with a note, when the session may not create it.
async fn install(db: &Database, notes: &mut Vec<String>) -> Result<Option<String>, PlpgsqlError> {
    let row = db
        .client
        .query_one(
            "SELECT session_user::text, (SELECT n.nspname::text FROM pg_catalog.pg_extension e \
             JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'plpgsql_check')",
            &[],
        )
        .await
        .map_err(failed("looking for an installed plpgsql_check"))?;
    let (user, existing): (String, Option<String>) = (row.get(0), row.get(1));
    if existing.is_some() {
        return Ok(existing);
    }
    let create = format!(
        "CREATE SCHEMA {schema}; CREATE EXTENSION plpgsql_check WITH SCHEMA {schema}",
        schema = quote_ident(SCHEMA)
    );
    match db.client.batch_execute(&create).await {
        Ok(()) => Ok(Some(SCHEMA.to_string())),
        Err(error) if error.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => {
            notes.push(format!(
                "plpgsql_check cannot be created by {user}: function bodies were not checked ({})",
                error
                    .as_db_error()
                    .map_or(error.to_string(), |e| e.message().to_string())
            ));
            Ok(None)
        }
        Err(source) => Err(PlpgsqlError::Query {
            step: "installing plpgsql_check",
            source,
        }),
    }
}

/// One check to make: a routine, and for a trigger function the relation of its triggers.
#[derive(Debug)]
struct Target {
    oid: u32,
    schema: String,
    name: String,
    signature: String,
    body: String,
    trigger: bool,
    /// 0 when there is none.
    relid: u32,
    relation: Option<String>,
    triggers: Vec<String>,
    oldtable: Option<String>,
    newtable: Option<String>,
}

impl Target {
    fn read(row: &Row) -> Result<Target, PgError> {
        Ok(Target {
            oid: row.try_get("oid")?,
            schema: row.try_get("schema")?,
            name: row.try_get("name")?,
            signature: row.try_get("signature")?,
            body: row.try_get("body")?,
            trigger: row.try_get("trigger")?,
            relid: row.try_get("relid")?,
            relation: row.try_get("relation")?,
            triggers: row
                .try_get::<_, Option<Vec<String>>>("triggers")?
                .unwrap_or_default(),
            oldtable: row.try_get("oldtable")?,
            newtable: row.try_get("newtable")?,
        })
    }

    /// ` (as the trigger t on public.items)`, or nothing for a routine that is not one.
    fn as_trigger(&self) -> String {
        match &self.relation {
            Some(relation) => format!(
                " (as the trigger{} {} on {relation})",
                if self.triggers.len() > 1 { "s" } else { "" },
                self.triggers.join(", ")
            ),
            None => String::new(),
        }
    }
}

/// The routines to check, read with an empty search_path (under a savepoint that puts
/// the session's back).
async fn routines(db: &Database) -> Result<Vec<Target>, PlpgsqlError> {
    db.client
        .batch_execute("SAVEPOINT migration_guard_routines; SET LOCAL search_path = ''")
        .await
        .map_err(failed("emptying the search_path"))?;
    let rows = db
        .client
        .query(ROUTINES, &[])
        .await
        .map_err(failed("listing the PL/pgSQL routines"))?;
    db.client
        .batch_execute(
            "ROLLBACK TO SAVEPOINT migration_guard_routines; RELEASE SAVEPOINT migration_guard_routines",
        )
        .await
        .map_err(failed("restoring the search_path"))?;
    rows.iter()
        .map(Target::read)
        .collect::<Result<_, _>>()
        .map_err(failed("reading the PL/pgSQL routines"))
}

/// One line of plpgsql_check's report.
#[derive(Debug)]
struct Report {
    /// The line within the body, from 1.
    lineno: Option<i32>,
    message: String,
    detail: Option<String>,
    hint: Option<String>,
    level: String,
}

impl Report {
    /// The report in `row`, its columns from `first` on.
    fn read(row: &Row, first: usize) -> Result<Report, PgError> {
        Ok(Report {
            lineno: row.try_get(first)?,
            message: row
                .try_get::<_, Option<String>>(first + 1)?
                .unwrap_or_default(),
            detail: row.try_get(first + 2)?,
            hint: row.try_get(first + 3)?,
            level: row
                .try_get::<_, Option<String>>(first + 4)?
                .unwrap_or_default(),
        })
    }
}

/// The savepoint a check runs under: set, kept, or undone (the check raised).
const SAVE_CHECK: &str = "SAVEPOINT migration_guard_check";
const KEEP_CHECK: &str = "RELEASE SAVEPOINT migration_guard_check";
const UNDO_CHECK: &str =
    "ROLLBACK TO SAVEPOINT migration_guard_check; RELEASE SAVEPOINT migration_guard_check";

/// How many routines' checks are sent before their answers are awaited.
const PIPELINE: usize = 32;

/// The arguments every check passes after the routine and the relation.
const LEVELS: &str = "fatal_errors => false, other_warnings => true, extra_warnings => false, \
     performance_warnings => false, security_warnings => false";

/// What plpgsql_check says about each of `targets` (none naming a transition table), in
/// one statement under a savepoint; `None`, rolled back to it, when one check raised.
async fn check_together(
    db: &Database,
    schema: &str,
    targets: &[&Target],
) -> Result<Option<Vec<Vec<Report>>>, PlpgsqlError> {
    if targets.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let sql = format!(
        "SELECT t.i, r.lineno, r.message, r.detail, r.hint, r.level \
         FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.oid[]), pg_catalog.unnest($2::pg_catalog.oid[])) \
         WITH ORDINALITY AS t(routine, relation, i) \
         CROSS JOIN LATERAL {}.plpgsql_check_function_tb(t.routine::pg_catalog.regprocedure, \
         t.relation::pg_catalog.regclass, {LEVELS}) AS r",
        quote_ident(schema)
    );
    let routines: Vec<u32> = targets.iter().map(|target| target.oid).collect();
    let relations: Vec<u32> = targets.iter().map(|target| target.relid).collect();
    let params: [(&(dyn ToSql + Sync), Type); 2] =
        [(&routines, Type::OID_ARRAY), (&relations, Type::OID_ARRAY)];
    let (saved, rows, released) = tokio::join!(
        db.client.batch_execute(SAVE_CHECK),
        db.client.query_typed(&sql, &params),
        db.client.batch_execute(KEEP_CHECK),
    );
    saved.map_err(failed("setting a savepoint"))?;
    let rows = match rows {
        Ok(rows) => rows,
        Err(error) => {
            tracing::debug!(
                "plpgsql_check raised on a routine checked together ({error}): each is checked on its own"
            );
            db.client
                .batch_execute(UNDO_CHECK)
                .await
                .map_err(failed("rolling back to a savepoint"))?;
            return Ok(None);
        }
    };
    released.map_err(failed("releasing a savepoint"))?;
    let mut reported: Vec<Vec<Report>> = targets.iter().map(|_| Vec::new()).collect();
    for row in &rows {
        let reading = "reading plpgsql_check's report";
        // `i` numbers the targets from 1.
        let i: i64 = row.try_get(0).map_err(failed(reading))?;
        let report = Report::read(row, 1).map_err(failed(reading))?;
        if let Some(reports) = usize::try_from(i - 1)
            .ok()
            .and_then(|i| reported.get_mut(i))
        {
            reports.push(report);
        }
    }
    Ok(Some(reported))
}

/// What plpgsql_check says about `target`, or the error it raised (in-comment options
/// it does not know, a type it cannot resolve): under a savepoint, so that one routine it
/// cannot check does not stop the others. The savepoint, the check and the release go
/// out together, without waiting for each other.
async fn check_one(db: &Database, schema: &str, target: &Target) -> Sent {
    let mut sql = format!(
        "SELECT lineno, message, detail, hint, level FROM {}.plpgsql_check_function_tb(\
         $1::pg_catalog.oid::pg_catalog.regprocedure, $2::pg_catalog.oid::pg_catalog.regclass, \
         {LEVELS}",
        quote_ident(schema)
    );
    let mut params: Vec<(&(dyn ToSql + Sync), Type)> =
        vec![(&target.oid, Type::OID), (&target.relid, Type::OID)];
    // Named only when the trigger has them: older releases lack the parameters.
    for (parameter, table) in [
        ("oldtable", &target.oldtable),
        ("newtable", &target.newtable),
    ] {
        if let Some(table) = table {
            params.push((table, Type::TEXT));
            sql.push_str(&format!(
                ", {parameter} => ${}::pg_catalog.name",
                params.len()
            ));
        }
    }
    sql.push(')');
    let (saved, rows, released) = tokio::join!(
        db.client.batch_execute(SAVE_CHECK),
        db.client.query_typed(&sql, &params),
        db.client.batch_execute(KEEP_CHECK),
    );
    Sent {
        saved,
        rows,
        released,
    }
}

/// The answers to one routine's check.
struct Sent {
    saved: Result<(), PgError>,
    rows: Result<Vec<Row>, PgError>,
    released: Result<(), PgError>,
}

impl Sent {
    /// What plpgsql_check reported, or the error it raised; a savepoint that could not
    /// be set or released is the check's failure.
    fn reports(self) -> Result<Result<Vec<Report>, PgError>, PlpgsqlError> {
        self.saved.map_err(failed("setting a savepoint"))?;
        let rows = match self.rows {
            Ok(rows) => rows,
            Err(error) => return Ok(Err(error)),
        };
        self.released.map_err(failed("releasing a savepoint"))?;
        Ok(rows.iter().map(|row| Report::read(row, 0)).collect())
    }
}

/// A statement of the migrations that creates a routine.
#[derive(Debug)]
struct Definition {
    /// Index into the migrations.
    migration: usize,
    schema: Option<String>,
    name: String,
    /// Where `CREATE` is in the file.
    head: usize,
    /// Where the body's text starts in the file (after `$tag$` or `'`), and the body
    /// as Postgres stores it (`None` for an `E'…'` string).
    body: Option<(usize, Option<String>)>,
}

/// Every `CREATE [OR REPLACE] FUNCTION|PROCEDURE` statement of the migrations, in order.
fn definitions(migrations: &[MigrationFile]) -> Vec<Definition> {
    let mut found = Vec::new();
    for (index, migration) in migrations.iter().enumerate() {
        let source = &migration.source;
        for (at, statement) in migration.split.statements.iter().enumerate() {
            let text = statement.text(source).to_ascii_lowercase();
            if !(text.contains("function") || text.contains("procedure")) {
                continue;
            }
            let parsed = ParsedStatement::new(source, at, statement);
            if let Some(definition) = definition(&parsed, index) {
                found.push(definition);
            }
        }
    }
    found
}

fn definition(parsed: &ParsedStatement, migration: usize) -> Option<Definition> {
    let tokens = &parsed.tokens;
    if !tokens.first()?.is_word("CREATE") {
        return None;
    }
    let mut at = 1;
    if tokens.get(1).is_some_and(|t| t.is_word("OR"))
        && tokens.get(2).is_some_and(|t| t.is_word("REPLACE"))
    {
        at = 3;
    }
    if !tokens
        .get(at)
        .is_some_and(|t| t.is_word("FUNCTION") || t.is_word("PROCEDURE"))
    {
        return None;
    }
    let (name, _) = object_name(tokens, at + 1)?;
    let mut parts = name.0.iter().rev().filter_map(|part| match part {
        ObjectNamePart::Identifier(ident) => Some(ident.value.clone()),
        _ => None,
    });
    let routine = parts.next()?;
    let schema = parts.next();
    let body = tokens.windows(2).find_map(|pair| {
        if !pair[0].is_word("AS") {
            return None;
        }
        let start = pair[1].span.start;
        match &pair[1].token {
            Token::DollarQuotedString(quoted) => Some((
                start + quoted.tag.as_ref().map_or(0, String::len) + 2,
                Some(quoted.value.clone()),
            )),
            Token::SingleQuotedString(value) => Some((start + 1, Some(value.clone()))),
            Token::EscapedStringLiteral(_) => Some((start + 2, None)),
            _ => None,
        }
    });
    Some(Definition {
        migration,
        schema,
        name: routine,
        head: tokens[0].span.start,
        body,
    })
}

/// The statement that made `target` as it is: the last that creates its name and has
/// its body, or else the last that creates its name.
fn defining<'d>(definitions: &'d [Definition], target: &Target) -> Option<&'d Definition> {
    let named = || {
        definitions.iter().rev().filter(|d| {
            d.name.eq_ignore_ascii_case(&target.name)
                && d.schema
                    .as_ref()
                    .is_none_or(|schema| schema.eq_ignore_ascii_case(&target.schema))
        })
    };
    named()
        .find(|d| matches!(&d.body, Some((_, Some(body))) if *body == target.body))
        .or_else(|| named().next())
}

/// The finding for a line of plpgsql_check's report; `None` for the levels not kept.
fn finding(
    target: &Target,
    report: &Report,
    definition: Option<&Definition>,
    migrations: &[MigrationFile],
) -> Option<Finding> {
    let (rule, severity, help) = match report.level.as_str() {
        "error" => (
            registry::PLPGSQL_ERROR.id,
            Severity::Error,
            "fix the body (CREATE OR REPLACE FUNCTION): this line fails when it runs. If the name only exists at run time (a temporary table the function creates, dynamic SQL), tell plpgsql_check in the body: PERFORM 'PRAGMA:TABLE: name (column type, …)'; or PERFORM 'PRAGMA:disable:check' before the lines it cannot judge",
        ),
        "warning" => (
            registry::PLPGSQL_WARNING.id,
            Severity::Warning,
            "fix the body (CREATE OR REPLACE FUNCTION); if the code is meant that way, PERFORM 'PRAGMA:disable:other_warnings' before it in the body",
        ),
        _ => return None,
    };
    let location = definition.map(|definition| {
        let migration = &migrations[definition.migration];
        Location {
            file: migration.path.clone(),
            span: line_span(&migration.source, definition, report.lineno),
        }
    });
    let mut message = format!("{}{}", target.signature, target.as_trigger());
    if let Some(lineno) = report.lineno.filter(|_| location.is_none()) {
        message.push_str(&format!(", line {lineno} of its body"));
    }
    message.push_str(&format!(": {}", report.message));
    if let Some(detail) = report.detail.as_deref().filter(|s| !s.is_empty()) {
        message.push_str(&format!("; {}", detail.trim_end_matches('.')));
    }
    if let Some(hint) = report.hint.as_deref().filter(|s| !s.is_empty()) {
        message.push_str(&format!(" (hint: {})", hint.trim_end_matches('.')));
    }
    Some(Finding {
        rule,
        severity,
        location,
        message,
        help: Some(help.to_string()),
    })
}

/// The file span of the body's 1-based line `lineno`: from the start of that line (the
/// body's first character for line 1) to its end. Without a line or a body, the
/// statement's first line from `CREATE`.
fn line_span(source: &str, definition: &Definition, lineno: Option<i32>) -> Span {
    let start = match (definition.body.as_ref(), lineno) {
        (Some((body, _)), Some(lineno)) if lineno >= 1 => {
            let mut at = *body;
            for _ in 1..lineno {
                match source[at..].find('\n') {
                    Some(newline) => at += newline + 1,
                    None => break,
                }
            }
            at
        }
        _ => definition.head,
    };
    let end = source[start..]
        .find('\n')
        .map_or(source.len(), |newline| start + newline);
    let end = if source[start..end].ends_with('\r') {
        end - 1
    } else {
        end
    };
    Span::new(start, end)
}
