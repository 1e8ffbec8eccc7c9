//! The Data API's grants: what `anon`, `authenticated` and `service_role` may do on the
//! relations of the schemas the API serves. Since 2026 hosted Supabase grants them
//! nothing on what migrations create (unless a project kept the former default), so two
//! mistakes reach the app as 42501, permission denied:
//!
//! - `api-access-removed`: a migration takes away a grant the API's roles had, often a
//!   REVOKE that a generated diff (`supabase db diff`) wrote without anyone asking;
//! - `api-not-granted`: a table has row level security policies for the API's roles but
//!   grants them nothing, so the policies never get a chance to allow a row.
//!
//! Grants to PUBLIC count for every role, as Postgres counts them.

use std::collections::{BTreeMap, BTreeSet};

use sqlparser::ast::Statement as Ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use crate::db::{Database, PgError};
use crate::findings::registry;
use crate::findings::{Finding, Location};
use crate::migration::MigrationFile;
use crate::sql::classify::leading_words;
use crate::sql::names::table_key;

/// The roles the Data API's requests run as.
const API_ROLES: [&str; 3] = ["anon", "authenticated", "service_role"];
/// The roles a policy `TO public` (or with no `TO`) is meant for: the app's users.
const APP_ROLES: [&str; 2] = ["anon", "authenticated"];
/// The privileges a request needs to reach rows.
const DATA: [&str; 4] = ["SELECT", "INSERT", "UPDATE", "DELETE"];

/// The relations of the exposed schemas, each with what the API's roles may do on it and
/// the roles its policies are for.
const READ: &str = "
SELECT n.nspname || '.' || c.relname,
       c.relkind IN ('r', 'p'),
       coalesce((SELECT array_agg(DISTINCT CASE WHEN r = 0 THEN 'public'
                                           ELSE pg_catalog.pg_get_userbyid(r)::text END)
                 FROM pg_catalog.pg_policy p, unnest(p.polroles) r
                 WHERE p.polrelid = c.oid), '{}'),
       coalesce((SELECT array_agg(CASE WHEN a.grantee = 0 THEN 'public'
                                  ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END
                                  || ' ' || a.privilege_type)
                 FROM pg_catalog.aclexplode(c.relacl) a
                 WHERE a.grantee = 0
                    OR pg_catalog.pg_get_userbyid(a.grantee) IN ('anon', 'authenticated', 'service_role')), '{}')
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')";

/// One relation as the API sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Relation {
    /// A table (not a view): policies apply to it.
    table: bool,
    /// `public` for PUBLIC.
    policy_roles: BTreeSet<String>,
    /// What each API role may do, its own grants and PUBLIC's together.
    privileges: BTreeMap<&'static str, BTreeSet<String>>,
}

/// The API's view of every relation of the exposed schemas, by qualified name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants(BTreeMap<String, Relation>);

pub async fn read(db: &Database, exposed: &[String]) -> Result<Grants, PgError> {
    let rows = db.client.query(READ, &[&exposed]).await?;
    let mut grants = Grants::default();
    for row in rows {
        let name: String = row.try_get(0)?;
        let granted: Vec<String> = row.try_get(3)?;
        let mut privileges: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
        for grant in &granted {
            let Some((grantee, privilege)) = grant.split_once(' ') else {
                continue;
            };
            for role in API_ROLES {
                if grantee == role || grantee == "public" {
                    privileges
                        .entry(role)
                        .or_default()
                        .insert(privilege.to_string());
                }
            }
        }
        grants.0.insert(
            name,
            Relation {
                table: row.try_get(1)?,
                policy_roles: row.try_get::<_, Vec<String>>(2)?.into_iter().collect(),
                privileges,
            },
        );
    }
    Ok(grants)
}

/// Whether a database grants what `postgres` creates in `public` to `anon` by default
/// (the platform's former default, kept by projects created before the change); `None`
/// when it has no `anon` role, so is no Supabase database.
pub async fn automatic_on(db: &Database) -> Result<Option<bool>, PgError> {
    let row = db
        .client
        .query_one(
            "SELECT to_regrole('anon') IS NOT NULL,
                    EXISTS (SELECT FROM pg_catalog.pg_default_acl d,
                                   pg_catalog.aclexplode(d.defaclacl) a
                            WHERE d.defaclrole = to_regrole('postgres')
                              AND d.defaclnamespace = to_regnamespace('public')
                              AND d.defaclobjtype = 'r'
                              AND a.grantee = to_regrole('anon')
                              AND a.privilege_type = 'SELECT')",
            &[],
        )
        .await?;
    Ok(row.try_get::<_, bool>(0)?.then_some(row.try_get(1)?))
}

/// Whether `migration` can take a grant away: the grants are read around it only then.
pub fn may_revoke(migration: &MigrationFile) -> bool {
    migration.code_statements().any(|(text, _)| revokes(text))
}

/// `api-access-removed` for each API role that could do something with a relation before
/// `migration` and can do less after it (a relation that is gone has its own finding).
pub fn removed(migration: &MigrationFile, before: &Grants, after: &Grants) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (name, then) in &before.0 {
        let Some(now) = after.0.get(name) else {
            continue;
        };
        let lost: Vec<String> = API_ROLES
            .iter()
            .filter_map(|role| {
                let had = then.privileges.get(role)?;
                let has = now.privileges.get(role);
                let gone: Vec<&str> = DATA
                    .iter()
                    .filter(|p| had.contains(**p) && !has.is_some_and(|has| has.contains(**p)))
                    .copied()
                    .collect();
                (!gone.is_empty()).then(|| format!("{role} ({})", gone.join(", ")))
            })
            .collect();
        if lost.is_empty() {
            continue;
        }
        findings.push(Finding {
            rule: registry::API_ACCESS_REMOVED.id,
            severity: registry::API_ACCESS_REMOVED.severity,
            location: Some(super::statement_naming(migration, revokes, name)),
            message: format!(
                "{name} loses {} after this migration: the Data API's requests that used it now fail with 42501 (permission denied)",
                lost.join(", ")
            ),
            help: Some(
                "if a generated diff (supabase db diff) wrote the REVOKE, remove it and keep the grant; if the API must no longer reach the table, allow it here with `-- migration-guard: allow api-access-removed -- reason`".to_string(),
            ),
        });
    }
    findings
}

/// `api-not-granted` for each table of `migrations` whose policies are for API roles that
/// it grants nothing: the app gets 42501 before any policy is asked.
pub fn not_granted(migrations: &[MigrationFile], grants: &Grants) -> Vec<Finding> {
    // Parsed only when a table has policies to judge.
    let mut created = None;
    let mut findings = Vec::new();
    for (name, relation) in &grants.0 {
        if !relation.table || relation.policy_roles.is_empty() {
            continue;
        }
        // A table no migration creates (the platform's, or made by dynamic SQL) has no
        // line to point at: it is left alone.
        let created = created.get_or_insert_with(|| created_tables(migrations));
        let Some(at) = created.get(name) else {
            continue;
        };
        let meant: BTreeSet<&str> = relation
            .policy_roles
            .iter()
            .flat_map(|role| match role.as_str() {
                "public" => APP_ROLES.to_vec(),
                role => API_ROLES
                    .iter()
                    .copied()
                    .filter(|api| *api == role)
                    .collect(),
            })
            .collect();
        let ungranted: Vec<&str> = meant
            .into_iter()
            .filter(|role| {
                relation
                    .privileges
                    .get(role)
                    .is_none_or(|privileges| !DATA.iter().any(|p| privileges.contains(*p)))
            })
            .collect();
        if ungranted.is_empty() {
            continue;
        }
        findings.push(Finding {
            rule: registry::API_NOT_GRANTED.id,
            severity: registry::API_NOT_GRANTED.severity,
            location: Some(at.clone()),
            message: format!(
                "{name} has row level security policies for {} but grants {} nothing: on a project created since Supabase stopped granting new tables to the Data API (and on every preview branch and `supabase db reset`), each request fails with 42501 (permission denied) before a policy is asked",
                ungranted.join(" and "),
                if ungranted.len() == 1 { "it" } else { "them" },
            ),
            help: Some(format!(
                "grant what the policies allow, in the migration that creates the table: GRANT SELECT, INSERT, UPDATE, DELETE ON {name} TO {}; (a project that kept automatic grants says `[api] auto_expose_new_tables = true` in supabase/config.toml)",
                ungranted.join(", ")
            )),
        });
    }
    findings
}

fn revokes(text: &str) -> bool {
    leading_words(text, 1)
        .first()
        .is_some_and(|w| w == "REVOKE")
}

/// Where each table the migrations create is created: its first CREATE TABLE.
fn created_tables(migrations: &[MigrationFile]) -> BTreeMap<String, Location> {
    let mut created = BTreeMap::new();
    for (text, at) in migrations.iter().flat_map(MigrationFile::code_statements) {
        let words = leading_words(text, 4);
        if !words.iter().any(|word| word == "TABLE")
            || words.first().map(String::as_str) != Some("CREATE")
        {
            continue;
        }
        if let Ok(statements) = Parser::parse_sql(&PostgreSqlDialect {}, text)
            && let Some(Ast::CreateTable(table)) = statements.first()
        {
            created.entry(table_key(&table.name)).or_insert(at);
        }
    }
    created
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relation(policy_roles: &[&str], privileges: &[(&'static str, &[&str])]) -> Relation {
        Relation {
            table: true,
            policy_roles: policy_roles.iter().map(|r| r.to_string()).collect(),
            privileges: privileges
                .iter()
                .map(|(role, granted)| (*role, granted.iter().map(|p| p.to_string()).collect()))
                .collect(),
        }
    }

    fn migration(sql: &str) -> MigrationFile {
        MigrationFile {
            path: std::path::PathBuf::from("m/20250101000000_notes.sql"),
            file_name: "20250101000000_notes.sql".to_string(),
            version: "20250101000000".to_string(),
            name: "notes".to_string(),
            source: std::sync::Arc::from(sql),
            split: crate::sql::split::split(sql),
        }
    }

    #[test]
    fn a_revoke_from_authenticated_is_access_removed_at_its_statement() {
        let file = migration(
            "CREATE INDEX notes_owner ON public.notes (owner);\nREVOKE SELECT ON public.notes FROM authenticated;\n",
        );
        let before = Grants(BTreeMap::from([(
            "public.notes".to_string(),
            relation(
                &[],
                &[
                    ("authenticated", &["SELECT", "INSERT"]),
                    ("anon", &["TRIGGER"]),
                ],
            ),
        )]));
        let after = Grants(BTreeMap::from([(
            "public.notes".to_string(),
            relation(
                &[],
                &[("authenticated", &["INSERT"]), ("anon", &["TRIGGER"])],
            ),
        )]));
        let found = removed(&file, &before, &after);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].message,
            "public.notes loses authenticated (SELECT) after this migration: the Data API's requests that used it now fail with 42501 (permission denied)"
        );
        assert_eq!(found[0].location.as_ref().unwrap().span.start, 50);
        assert!(removed(&file, &before, &before).is_empty());
    }

    #[test]
    fn policies_for_the_app_without_a_grant_are_not_granted() {
        let file = migration("CREATE TABLE public.notes (id bigint PRIMARY KEY);\n");
        let grants = |privileges: &[(&'static str, &[&str])]| {
            Grants(BTreeMap::from([(
                "public.notes".to_string(),
                relation(&["public"], privileges),
            )]))
        };
        let found = not_granted(
            std::slice::from_ref(&file),
            &grants(&[("anon", &["TRIGGER"])]),
        );
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("for anon and authenticated"),
            "{}",
            found[0].message
        );
        assert!(
            not_granted(
                std::slice::from_ref(&file),
                &grants(&[("anon", &["SELECT"]), ("authenticated", &["SELECT"])])
            )
            .is_empty()
        );
        // No migration creates it: nothing to point at.
        assert!(not_granted(&[], &grants(&[])).is_empty());
    }
}
