//! Extensions in the shadow as hosted Supabase has them.
//!
//! On Supabase, `postgres` is not a superuser, yet it may create the extensions on
//! supautils' privileged list: supautils runs those statements as the superuser, then
//! the extension's after-create script. On vanilla Postgres the shadow does the same
//! ([`Rerouted::Privileged`]). Extensions vanilla Postgres lacks but that migrations only
//! call into (pg_cron, pg_net, http, pgjwt, pg_jsonschema, and the pre-installed
//! pg_graphql, Vault and, on 15, pgsodium)
//! get a stand-in ([`Rerouted::Instead`]), reported as `extension-stubbed` so nobody
//! mistakes it for a test of the real thing. Any other missing extension stops the run
//! before the first migration with `extension-unavailable`: the shadow cannot judge.
//!
//! The SQL lives in `compat/extensions/`, one file per stand-in and hook.

use std::collections::{BTreeMap, BTreeSet};

use sqlparser::ast::Statement as Ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use crate::db::{Database, PgError, quote_ident, quote_literal};
use crate::findings::registry;
use crate::findings::{Finding, Location, Severity};
use crate::migration::MigrationFile;
use crate::sql::classify::leading_words;

const PRIVILEGED: &str = include_str!("compat/extensions/privileged.txt");

/// Where the shadow records the stand-ins it installed (`CREATE EXTENSION` twice must
/// fail as it would for a real one).
const REGISTRY: &str = "CREATE TABLE IF NOT EXISTS extensions.migration_guard_stubs \
     (name text PRIMARY KEY, schema text NOT NULL)";

/// Separates a stand-in's install script from its removal.
const ON_DROP: &str = "-- migration-guard: on drop";

/// A stand-in for an extension vanilla Postgres lacks.
struct Stub {
    name: &'static str,
    sql: &'static str,
    /// The Postgres majors where hosted Supabase has it in every project: the shadow's
    /// database has it too there.
    preinstalled: &'static [u32],
    /// Where it is pre-installed (its `{schema}`).
    home: &'static str,
    /// What a migration writes to reach it, for the pre-installed ones (a schema's
    /// prefix, a function's name).
    used_through: &'static [&'static str],
    /// What is not tested because of it.
    untested: &'static str,
}

const STUBS: &[Stub] = &[
    Stub {
        name: "pg_cron",
        sql: include_str!("compat/extensions/stubs/pg_cron.sql"),
        preinstalled: &[],
        home: "public",
        used_through: &[],
        untested: "jobs are recorded and their schedules checked, but they never run",
    },
    Stub {
        name: "pg_net",
        sql: include_str!("compat/extensions/stubs/pg_net.sql"),
        preinstalled: &[],
        home: "public",
        used_through: &[],
        untested: "requests are queued, never sent",
    },
    Stub {
        name: "http",
        sql: include_str!("compat/extensions/stubs/http.sql"),
        preinstalled: &[],
        home: "public",
        used_through: &[],
        untested: "requests are never sent; every response has status 0",
    },
    Stub {
        name: "pgjwt",
        sql: include_str!("compat/extensions/stubs/pgjwt.sql"),
        preinstalled: &[15],
        home: "extensions",
        used_through: &["extensions.sign(", "extensions.verify("],
        untested: "tokens are signed by a stand-in, not by the extension's own code",
    },
    Stub {
        name: "pg_jsonschema",
        sql: include_str!("compat/extensions/stubs/pg_jsonschema.sql"),
        preinstalled: &[],
        home: "public",
        used_through: &[],
        untested: "documents are not validated against their JSON schema: every one matches",
    },
    Stub {
        name: "pg_graphql",
        sql: include_str!("compat/extensions/stubs/pg_graphql.sql"),
        preinstalled: &[15, 17],
        home: "public",
        used_through: &["graphql.", "graphql_public."],
        untested: "GraphQL queries answer with an error",
    },
    Stub {
        name: "pgsodium",
        sql: include_str!("compat/extensions/stubs/pgsodium.sql"),
        preinstalled: &[15],
        home: "pgsodium",
        used_through: &["pgsodium."],
        untested: "nothing is encrypted: the functions give the message back as is",
    },
    Stub {
        name: "supabase_vault",
        sql: include_str!("compat/extensions/stubs/supabase_vault.sql"),
        preinstalled: &[15, 17],
        home: "public",
        used_through: &["vault."],
        untested: "secrets are stored, not encrypted",
    },
];

/// What the platform explains of a failure the emulation reproduces on purpose: today's
/// Vault (0.3 and later) grants `postgres` only SELECT and DELETE on its tables, so a
/// foreign key to `vault.secrets` fails as on a new project, though older projects
/// allowed it. `statement` is the failing statement's text.
pub fn platform_hint(sqlstate: &str, message: &str, statement: &str) -> Option<&'static str> {
    let vault = statement.to_ascii_lowercase().replace('"', "");
    (sqlstate == "42501"
        && message.contains("permission denied for table secrets")
        && vault.contains("vault.secrets"))
    .then_some(
        "Supabase Vault 0.3 and later (every project created since) grants postgres only SELECT and DELETE on vault.secrets, as the shadow does: a foreign key to it or a write to it fails there. Projects created before had more rights, so this may still pass on an older one, but not on a new project or a preview branch. Keep the secret's id in a uuid column without a foreign key, and write secrets through vault.create_secret() and vault.update_secret()",
    )
}

/// Scripts supautils runs after creating an extension, to give `postgres` its rights.
const AFTER_CREATE: &[(&str, &str)] = &[(
    "postgres_fdw",
    include_str!("compat/extensions/after-create/postgres_fdw.sql"),
)];

/// What a statement does to extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Extension {
    Create {
        name: String,
        if_not_exists: bool,
        schema: Option<String>,
        version: Option<String>,
        cascade: bool,
    },
    Alter {
        name: String,
        /// `UPDATE [TO version]`, the one form rebuilt: `Some(None)` for a bare UPDATE.
        update: Option<Option<String>>,
    },
    Drop {
        names: Vec<String>,
        if_exists: bool,
        behaviour: Option<String>,
    },
}

fn parse(text: &str) -> Option<Extension> {
    let words = leading_words(text, 2);
    if words.get(1).map(String::as_str) != Some("EXTENSION") {
        return None;
    }
    match words[0].as_str() {
        "CREATE" | "DROP" => {
            let parsed = Parser::parse_sql(&PostgreSqlDialect {}, text).ok()?;
            match parsed.into_iter().next()? {
                Ast::CreateExtension(create) => Some(Extension::Create {
                    name: create.name.value,
                    if_not_exists: create.if_not_exists,
                    schema: create.schema.map(|schema| schema.value),
                    version: create.version.map(|version| version.value),
                    cascade: create.cascade,
                }),
                Ast::DropExtension(drop) => Some(Extension::Drop {
                    names: drop.names.into_iter().map(|name| name.value).collect(),
                    if_exists: drop.if_exists,
                    behaviour: drop
                        .cascade_or_restrict
                        .map(|behaviour| behaviour.to_string()),
                }),
                _ => None,
            }
        }
        "ALTER" => {
            // sqlparser has no ALTER EXTENSION: the name is the third token.
            let tokens = sqlparser::tokenizer::Tokenizer::new(&PostgreSqlDialect {}, text)
                .tokenize()
                .ok()?;
            use sqlparser::tokenizer::Token;
            let tokens: Vec<Token> = tokens
                .into_iter()
                .filter(|token| !matches!(token, Token::Whitespace(_) | Token::SemiColon))
                .collect();
            let Some(Token::Word(name)) = tokens.get(2) else {
                return None;
            };
            let word = |i: usize| match tokens.get(i) {
                Some(Token::Word(word)) if word.quote_style.is_none() => {
                    Some(word.value.to_ascii_uppercase())
                }
                _ => None,
            };
            let update = match (word(3).as_deref(), word(4).as_deref(), tokens.get(5)) {
                (Some("UPDATE"), None, None) if tokens.len() == 4 => Some(None),
                (Some("UPDATE"), Some("TO"), Some(Token::SingleQuotedString(version)))
                    if tokens.len() == 6 =>
                {
                    Some(Some(version.clone()))
                }
                (Some("UPDATE"), Some("TO"), Some(Token::Word(version))) if tokens.len() == 6 => {
                    Some(Some(version.value.clone()))
                }
                _ => None,
            };
            Some(Extension::Alter {
                name: name.value.clone(),
                update,
            })
        }
        _ => None,
    }
}

/// The extension an `extension-unavailable` finding names.
pub fn unavailable_name(finding: &Finding) -> Option<&str> {
    if finding.rule != registry::EXTENSION_UNAVAILABLE.id {
        return None;
    }
    let rest = finding.message.strip_prefix("the extension ")?;
    Some(&rest[..rest.find(" is not available")?])
}

/// How the shadow treats extensions on this server.
#[derive(Debug)]
pub struct Extensions {
    available: BTreeSet<String>,
    privileged: BTreeSet<&'static str>,
    stubs: bool,
    role: String,
    /// The server's major version.
    major: u32,
}

impl Extensions {
    /// Reads what the server has. `stubs`: stand in for what it lacks where possible.
    pub async fn read(admin: &Database, stubs: bool, role: &str) -> Result<Self, PgError> {
        let rows = admin
            .client
            .query("SELECT name FROM pg_available_extensions", &[])
            .await?;
        let version: i32 = admin
            .client
            .query_one("SELECT current_setting('server_version_num')::int", &[])
            .await?
            .get(0);
        Ok(Extensions {
            major: (version / 10_000) as u32,
            available: rows.iter().map(|row| row.get(0)).collect(),
            privileged: PRIVILEGED
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .collect(),
            stubs,
            role: role.to_string(),
        })
    }

    /// The stand-ins for what hosted Supabase pre-installs on this server's major.
    fn preinstalled(&self) -> impl Iterator<Item = &'static Stub> + '_ {
        STUBS.iter().filter(|stub| {
            stub.preinstalled.contains(&self.major) && self.stub(stub.name).is_some()
        })
    }

    fn stub(&self, name: &str) -> Option<&'static Stub> {
        if !self.stubs || self.available.contains(name) {
            return None;
        }
        STUBS.iter().find(|stub| stub.name == name)
    }

    /// What to install in each shadow database: the registry, and the stand-ins for what hosted
    /// Supabase has pre-installed.
    pub fn database_sql(&self) -> String {
        let mut sql = format!("{REGISTRY};\n");
        for stub in self.preinstalled() {
            sql.push_str(&self.install(stub, Some(stub.home)));
        }
        sql
    }

    fn install(&self, stub: &Stub, schema: Option<&str>) -> String {
        let schema = schema.unwrap_or("public");
        let (install, _) = stub.sql.split_once(ON_DROP).unwrap_or((stub.sql, ""));
        format!(
            "{};\nINSERT INTO extensions.migration_guard_stubs VALUES ('{}', {}) ON CONFLICT DO NOTHING;\n",
            self.fill(install, schema),
            stub.name,
            quote_literal(schema),
        )
    }

    fn fill(&self, sql: &str, schema: &str) -> String {
        sql.replace("{schema}", schema.trim_matches('"'))
            .replace("{role}", &self.role)
    }

    /// Checks every `CREATE EXTENSION` of the migrations against the server before any
    /// runs: an `extension-unavailable` error for each that neither the server nor a
    /// stand-in has, and one `extension-stubbed` note per stand-in the migrations use.
    pub fn survey(&self, migrations: &[MigrationFile]) -> Vec<Finding> {
        let mut stubbed: BTreeMap<&'static str, Location> = BTreeMap::new();
        let mut findings = Vec::new();
        // The pre-installed stand-ins this server needs: what migrations reach through
        // their schemas without creating them.
        let preinstalled: Vec<&Stub> = self.preinstalled().collect();
        for (text, at) in migrations.iter().flat_map(MigrationFile::code_statements) {
            if let Some(Extension::Create { name, .. }) = parse(text) {
                if let Some(stub) = self.stub(&name) {
                    stubbed.entry(stub.name).or_insert(at);
                } else if !self.available.contains(&name) {
                    findings.push(self.unavailable(&name, at));
                }
                continue;
            }
            if preinstalled.is_empty() {
                continue;
            }
            let lower = text.to_ascii_lowercase();
            for stub in &preinstalled {
                let used = stub.used_through.iter().any(|name| lower.contains(name));
                if used {
                    stubbed.entry(stub.name).or_insert_with(|| at.clone());
                }
            }
        }
        findings.extend(stubbed.into_iter().map(|(name, at)| {
            let stub = STUBS.iter().find(|stub| stub.name == name).expect("a stub");
            Finding {
                rule: registry::EXTENSION_STUBBED.id,
                severity: Severity::Info,
                location: Some(at),
                message: format!(
                    "{name} is not installed in this Postgres: the shadow stood in for it ({}), so that part was not tested",
                    stub.untested
                ),
                help: Some(
                    "run the shadow on the supabase/postgres image to test it for real; --no-extension-stubs refuses stand-ins"
                        .to_string(),
                ),
            }
        }));
        findings
    }

    fn unavailable(&self, name: &str, at: Location) -> Finding {
        let finding = self.unavailable_finding(name, at);
        debug_assert_eq!(unavailable_name(&finding), Some(name));
        finding
    }

    fn unavailable_finding(&self, name: &str, at: Location) -> Finding {
        let stubbable = STUBS.iter().any(|stub| stub.name == name);
        let why = if stubbable {
            " (its stand-in is off: --no-extension-stubs)"
        } else {
            ", and the shadow has no stand-in for it"
        };
        Finding {
            rule: registry::EXTENSION_UNAVAILABLE.id,
            severity: Severity::Error,
            location: Some(at),
            message: format!(
                "the extension {name} is not available in the shadow's Postgres{why}: the shadow cannot judge these migrations"
            ),
            help: Some(format!(
                "run the shadow on Supabase's own image, which has it (`--provider docker --image supabase/postgres:<tag>`, the default for a Supabase project when Docker runs), or install {name} where the shadow's Postgres runs"
            )),
        }
    }
}

impl Extensions {
    /// What to run with the superuser's rights in place of `statement`, as supautils
    /// would: a stand-in's install or removal, or the privileged statement rebuilt from
    /// its parsed parts (every name quoted here) with its after-create hook. `None`: the
    /// statement runs as written, with the migration role's rights.
    pub fn privileged_sql(&self, statement: &str) -> Option<String> {
        let privileged = |name: &str| self.privileged.contains(name);
        match parse(statement)? {
            Extension::Create {
                name,
                if_not_exists,
                schema,
                version,
                cascade,
            } => {
                if schema.as_deref().is_some_and(|schema| !plain_name(schema)) {
                    return None;
                }
                if let Some(stub) = self.stub(&name) {
                    let mut sql = String::new();
                    if !if_not_exists {
                        sql.push_str(&format!(
                            "DO $exists$ BEGIN IF EXISTS (SELECT FROM extensions.migration_guard_stubs WHERE name = '{name}') THEN RAISE EXCEPTION 'extension \"{name}\" already exists' USING ERRCODE = '42710'; END IF; END $exists$;\n",
                            name = stub.name
                        ));
                    }
                    sql.push_str(&self.install(stub, schema.as_deref()));
                    return Some(sql);
                }
                if !privileged(&name) {
                    return None;
                }
                let mut sql = format!(
                    "CREATE EXTENSION {}{}",
                    if if_not_exists { "IF NOT EXISTS " } else { "" },
                    quote_ident(&name)
                );
                if let Some(schema) = &schema {
                    sql.push_str(&format!(" SCHEMA {}", quote_ident(schema)));
                }
                if let Some(version) = &version {
                    sql.push_str(&format!(" VERSION {}", quote_literal(version)));
                }
                if cascade {
                    sql.push_str(" CASCADE");
                }
                if let Some((_, hook)) = AFTER_CREATE
                    .iter()
                    .find(|(extension, _)| *extension == name)
                {
                    sql.push_str(";\n");
                    sql.push_str(&self.fill(hook, schema.as_deref().unwrap_or("public")));
                }
                Some(sql)
            }
            Extension::Alter { name, update } => {
                if self.stub(&name).is_some() {
                    return Some("SELECT".to_string());
                }
                let update = update.filter(|_| privileged(&name))?;
                let mut sql = format!("ALTER EXTENSION {} UPDATE", quote_ident(&name));
                if let Some(version) = update {
                    sql.push_str(&format!(" TO {}", quote_literal(&version)));
                }
                Some(sql)
            }
            Extension::Drop {
                names,
                if_exists,
                behaviour,
            } => {
                let stubs: Vec<&Stub> = names.iter().filter_map(|n| self.stub(n)).collect();
                if !stubs.is_empty() && stubs.len() == names.len() {
                    let mut sql = String::new();
                    for stub in stubs {
                        let (_, drop) = stub.sql.split_once(ON_DROP).unwrap_or(("", ""));
                        sql.push_str(&format!(
                            "DO $drop$ DECLARE s text; BEGIN SELECT schema INTO s FROM extensions.migration_guard_stubs WHERE name = '{name}'; IF s IS NOT NULL THEN EXECUTE replace({drop}, '{{schema}}', s); DELETE FROM extensions.migration_guard_stubs WHERE name = '{name}'; END IF; END $drop$;\n",
                            name = stub.name,
                            drop = quote_literal(&drop.replace("{role}", &self.role)),
                        ));
                    }
                    return Some(sql);
                }
                if !names.iter().any(|name| privileged(name)) {
                    return None;
                }
                let names: Vec<String> = names.iter().map(|name| quote_ident(name)).collect();
                Some(format!(
                    "DROP EXTENSION {}{}{}",
                    if if_exists { "IF EXISTS " } else { "" },
                    names.join(", "),
                    behaviour.map(|b| format!(" {b}")).unwrap_or_default()
                ))
            }
        }
    }
}

/// A schema name a stand-in's SQL can take as it is (it is written between double
/// quotes and inside string literals there).
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_statements_are_read_whatever_their_spelling() {
        assert_eq!(
            parse(
                "create extension if not exists \"uuid-ossp\" with schema extensions version '1.1' cascade"
            ),
            Some(Extension::Create {
                name: "uuid-ossp".to_string(),
                if_not_exists: true,
                schema: Some("extensions".to_string()),
                version: Some("1.1".to_string()),
                cascade: true,
            })
        );
        assert_eq!(
            parse("-- cron\nCREATE EXTENSION pg_cron"),
            Some(Extension::Create {
                name: "pg_cron".to_string(),
                if_not_exists: false,
                schema: None,
                version: None,
                cascade: false,
            })
        );
        assert_eq!(
            parse("DROP EXTENSION IF EXISTS pg_net, http CASCADE"),
            Some(Extension::Drop {
                names: vec!["pg_net".to_string(), "http".to_string()],
                if_exists: true,
                behaviour: Some("CASCADE".to_string()),
            })
        );
        assert_eq!(
            parse("ALTER EXTENSION vector UPDATE TO '0.8.0'"),
            Some(Extension::Alter {
                name: "vector".to_string(),
                update: Some(Some("0.8.0".to_string())),
            })
        );
        assert_eq!(
            parse("ALTER EXTENSION vector ADD FUNCTION f()"),
            Some(Extension::Alter {
                name: "vector".to_string(),
                update: None,
            })
        );
        assert_eq!(parse("CREATE TABLE extension (id int)"), None);
    }

    #[test]
    fn privileged_statements_are_rebuilt_not_passed_on() {
        let extensions = Extensions {
            available: ["moddatetime", "pg_cron"].map(String::from).into(),
            privileged: PRIVILEGED
                .lines()
                .filter(|line| !line.starts_with('#'))
                .collect(),
            stubs: true,
            role: "postgres".to_string(),
            major: 15,
        };
        assert_eq!(
            extensions
                .privileged_sql(
                    "create extension if not exists moddatetime schema extensions version '1.0'"
                )
                .as_deref(),
            Some(
                "CREATE EXTENSION IF NOT EXISTS \"moddatetime\" SCHEMA \"extensions\" VERSION '1.0'"
            )
        );
        // A schema a stand-in's SQL cannot take as it is: not rerouted at all.
        assert_eq!(
            extensions.privileged_sql("create extension pgjwt schema \"x\"\"; select 1; --\""),
            None
        );
        assert_eq!(
            extensions.privileged_sql("create extension plpython3u"),
            None
        );
        assert_eq!(
            extensions
                .privileged_sql("drop extension moddatetime, pg_cron cascade")
                .as_deref(),
            Some("DROP EXTENSION \"moddatetime\", \"pg_cron\" CASCADE")
        );
    }

    #[test]
    fn every_stub_has_its_removal() {
        for stub in STUBS {
            assert!(stub.sql.contains(ON_DROP), "{}", stub.name);
        }
    }
}
