//! The one door from a migration's session to rights it does not have.
//!
//! Migrations log in as a role that, like hosted Supabase's `postgres`, is no superuser
//! and cannot become one: `SET ROLE NONE`, `RESET ROLE` or `SET SESSION AUTHORIZATION`
//! give it nothing. What supautils lets `postgres` do with more rights (privileged
//! extensions, foreign data wrappers, PostgREST settings, and on Postgres before 16 the
//! role statements) the shadow runs through two `SECURITY DEFINER` functions installed in
//! each shadow database. They run a statement only with a MAC from a key of this run that the
//! migration role cannot read, so a migration can call them only with what the shadow
//! itself built from the statement, never with text of its own.
//!
//! Running in the migration's session keeps the step in its transaction: it sees what
//! the file made before it and is rolled back with it.

use sha2::{Digest, Sha256};

use crate::db::quote_ident;

/// The schema holding the key and the doors.
const SCHEMA: &str = "migration_guard_gate";

/// Roles whose membership hosted Supabase never grants (supautils' reserved
/// memberships): they read and write the server's files and run programs on it.
const RESERVED_MEMBERSHIPS: [&str; 3] = [
    "pg_execute_server_program",
    "pg_read_server_files",
    "pg_write_server_files",
];

/// Who runs a statement that went through the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rights {
    /// The superuser: extensions, wrappers, stand-ins.
    Superuser,
    /// A role with CREATEROLE and nothing else, for role statements on Postgres before
    /// 16, where CREATEROLE on the migration role itself could grant the reserved roles.
    RoleAdmin,
}

/// The key of one run and the names of its doors.
#[derive(Debug, Clone)]
pub struct Gate {
    key: String,
    role_admin: String,
}

impl Gate {
    /// A gate with a fresh key; `role_admin` names the CREATEROLE role of this run.
    pub fn new(role_admin: &str) -> Gate {
        Gate {
            key: format!(
                "{:016x}{:016x}{:016x}{:016x}",
                rand::random::<u64>(),
                rand::random::<u64>(),
                rand::random::<u64>(),
                rand::random::<u64>()
            ),
            role_admin: role_admin.to_string(),
        }
    }

    /// The role statements run as, with [`Rights::RoleAdmin`]. Created by [`Gate::role_sql`].
    pub fn role_admin(&self) -> &str {
        &self.role_admin
    }

    /// Cluster-wide, as the superuser: the CREATEROLE role behind the role door.
    pub fn role_sql(&self) -> String {
        format!(
            "DO $gate$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN \
             CREATE ROLE {role} NOLOGIN NOSUPERUSER NOINHERIT CREATEROLE; END IF; END $gate$;",
            name = self.role_admin,
            role = quote_ident(&self.role_admin),
        )
    }

    /// In each shadow database, as the superuser: the key (readable by no one else) and the two
    /// doors, which `migration_role` may call.
    pub fn install_sql(&self, migration_role: &str) -> String {
        let migrator = quote_ident(migration_role);
        let admin = quote_ident(&self.role_admin);
        let reserved = RESERVED_MEMBERSHIPS
            .iter()
            .map(|role| format!("pg_has_role(r.oid, '{role}', 'MEMBER')"))
            .collect::<Vec<_>>()
            .join(" OR ");
        let denied = "RAISE EXCEPTION 'permission denied: only the shadow itself may run privileged statements' USING ERRCODE = '42501'";
        format!(
            r#"
CREATE SCHEMA {SCHEMA};
REVOKE ALL ON SCHEMA {SCHEMA} FROM PUBLIC;
CREATE TABLE {SCHEMA}.key (key text NOT NULL);
REVOKE ALL ON {SCHEMA}.key FROM PUBLIC;
INSERT INTO {SCHEMA}.key VALUES ('{key}');
CREATE FUNCTION {SCHEMA}.authentic(statement text, mac text) RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $f$ SELECT coalesce(mac = encode(sha256(convert_to(k.key || encode(sha256(convert_to(k.key || statement, 'UTF8')), 'hex'), 'UTF8')), 'hex'), false) FROM {SCHEMA}.key k $f$;
REVOKE ALL ON FUNCTION {SCHEMA}.authentic(text, text) FROM PUBLIC;
CREATE FUNCTION {SCHEMA}.as_superuser(statement text, mac text) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET standard_conforming_strings = on
  AS $f$ BEGIN
    IF NOT {SCHEMA}.authentic(statement, mac) THEN {denied}; END IF;
    EXECUTE statement;
  END $f$;
REVOKE ALL ON FUNCTION {SCHEMA}.as_superuser(text, text) FROM PUBLIC;
CREATE FUNCTION {SCHEMA}.as_role_admin(statement text, mac text) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET standard_conforming_strings = on
  AS $f$ DECLARE granted text; BEGIN
    IF NOT {SCHEMA}.authentic(statement, mac) THEN {denied}; END IF;
    EXECUTE statement;
    SELECT r.rolname INTO granted FROM pg_roles r
      WHERE NOT r.rolsuper AND r.rolname NOT LIKE 'pg\_%' AND ({reserved}) LIMIT 1;
    IF granted IS NOT NULL THEN
      RAISE EXCEPTION 'permission denied to grant the server''s file and program roles (to "%")', granted
        USING ERRCODE = '42501', HINT = 'hosted Supabase reserves pg_execute_server_program, pg_read_server_files and pg_write_server_files';
    END IF;
  END $f$;
REVOKE ALL ON FUNCTION {SCHEMA}.as_role_admin(text, text) FROM PUBLIC;
GRANT USAGE ON SCHEMA {SCHEMA} TO {admin};
GRANT EXECUTE ON FUNCTION {SCHEMA}.authentic(text, text) TO {admin};
ALTER FUNCTION {SCHEMA}.as_role_admin(text, text) OWNER TO {admin};
GRANT USAGE ON SCHEMA {SCHEMA} TO {migrator};
GRANT EXECUTE ON FUNCTION {SCHEMA}.as_superuser(text, text), {SCHEMA}.as_role_admin(text, text) TO {migrator};
"#,
            key = self.key,
        )
    }

    /// The call that runs `statement` (built by the shadow, never a migration's text)
    /// with `rights`, in the calling session.
    pub fn call(&self, rights: Rights, statement: &str) -> String {
        let door = match rights {
            Rights::Superuser => "as_superuser",
            Rights::RoleAdmin => "as_role_admin",
        };
        let tag = format!("gate{:08x}", rand::random::<u32>());
        format!(
            "SELECT {SCHEMA}.{door}(${tag}${statement}${tag}$, '{}')",
            self.mac(statement)
        )
    }

    /// sha256(key || sha256(key || statement)), hex, as `authentic` computes it.
    fn mac(&self, statement: &str) -> String {
        let inner = hex(&Sha256::digest(format!("{}{statement}", self.key)));
        hex(&Sha256::digest(format!("{}{inner}", self.key)))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
