//! Every finding id the tool can raise, in one typed table: the lint rules, the checks
//! against the base branch, the shadow's checks and the deploy's refusals. Each has its
//! default severity and the one line its docs page and every report give. Renderers,
//! the configuration and the docs test read this table; nothing else lists ids.

use super::Severity;

/// Where a finding comes from, which decides who may judge it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A lint rule over one file's statements.
    Lint,
    /// A rule over the whole set of files.
    Files,
    /// A comparison with the base branch.
    BaseBranch,
    /// A check only the shadow can make: the linter cannot judge its suppressions.
    Shadow,
    /// A deploy's own refusal: no configuration turns it off.
    Deploy,
    /// A migration that failed to apply: a fact of the database, not a judgement, so no
    /// configuration turns it off either.
    Apply,
}

/// A finding id with its default severity and one-line summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub origin: Origin,
    pub summary: &'static str,
    /// The rule's page (docs/rules/<id>.md), carried in the binary for the formats that
    /// show a rule's help beside its results (SARIF).
    pub page: &'static str,
}

macro_rules! registry {
    ($($name:ident = $id:literal, $severity:ident, $origin:ident, $summary:literal;)*) => {
        $(pub const $name: Rule = Rule {
            id: $id,
            severity: Severity::$severity,
            origin: Origin::$origin,
            summary: $summary,
            page: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rules/", $id, ".md")),
        };)*
        /// Every finding id, in the order of this table.
        pub const ALL: &[Rule] = &[$($name),*];
    };
}

registry! {
    // The lint rules, one file each under src/lint/rules/.
    ADD_COLUMN_REQUIRES_DEFAULT = "add-column-requires-default", Warning, Lint,
        "ADD COLUMN without a DEFAULT on a table that holds data";
    CLI_VERSION_BREAKS = "cli-version-breaks", Error, Lint,
        "a file the Supabase CLI release that deploys it would fail to apply, for how that release batches a file's statements";
    CONCURRENTLY_IN_TRANSACTION = "concurrently-in-transaction", Error, Lint,
        "CONCURRENTLY inside the file's own BEGIN … COMMIT (fails), or before statements whose failure would leave it behind";
    CONSTRAINT_NOT_VALID = "constraint-not-valid", Warning, Lint,
        "CHECK or FOREIGN KEY added without NOT VALID to a table that holds data";
    ENUM_VALUE_IN_TRANSACTION = "enum-value-in-transaction", Warning, Lint,
        "a new enum value used in the same file (transaction) that adds it";
    NO_ALTER_COLUMN_TYPE = "no-alter-column-type", Error, Lint,
        "ALTER COLUMN TYPE locks (and usually rewrites) a table that holds data";
    NO_DROP_COLUMN = "no-drop-column", Error, Lint,
        "DROP COLUMN on a table that may hold data";
    NO_DROP_FUNCTION = "no-drop-function", Error, Lint,
        "DROP FUNCTION or DROP PROCEDURE of a function that may exist before the migration and is not created again";
    NO_DROP_SCHEMA = "no-drop-schema", Error, Lint,
        "DROP SCHEMA or DROP DATABASE";
    NO_DROP_TABLE = "no-drop-table", Error, Lint,
        "DROP TABLE on a table that may hold data";
    NO_DROP_VIEW = "no-drop-view", Error, Lint,
        "DROP VIEW or DROP MATERIALIZED VIEW of a view that may exist before the migration";
    NO_HARDCODED_ENVIRONMENT = "no-hardcoded-environment", Warning, Lint,
        "an environment-specific host (a Supabase project, localhost, a staging host) hardcoded in SQL";
    NO_PSQL_META = "no-psql-meta", Error, Lint,
        "psql meta-commands are not SQL";
    NO_RENAME = "no-rename", Error, Lint,
        "renaming a table or column breaks clients that use the old name";
    NO_SECRETS = "no-secrets", Error, Lint,
        "a privileged JWT, API key, access token or role password written into SQL";
    NO_TRUNCATE = "no-truncate", Error, Lint,
        "TRUNCATE on a table that may hold data";
    NO_UNBOUNDED_DML = "no-unbounded-dml", Error, Lint,
        "UPDATE or DELETE without WHERE changes every row";
    NOT_NULL_ON_EXISTING_COLUMN = "not-null-on-existing-column", Warning, Lint,
        "SET NOT NULL on a table that holds data (full scan under ACCESS EXCLUSIVE)";
    ON_CONFLICT_NEEDS_UNIQUE = "on-conflict-needs-unique", Warning, Lint,
        "ON CONFLICT target with no unique constraint or index declared for it";
    PREFER_JSONB = "prefer-jsonb", Warning, Lint,
        "a json column: jsonb is indexable, comparable and faster";
    REQUIRE_CONCURRENT_INDEX = "require-concurrent-index", Warning, Lint,
        "CREATE INDEX without CONCURRENTLY blocks writes to a table that holds data";
    REQUIRE_IDEMPOTENT_DDL = "require-idempotent-ddl", Info, Lint,
        "DDL that fails when the migration runs a second time (no IF [NOT] EXISTS / OR REPLACE)";
    REQUIRE_LOCK_TIMEOUT = "require-lock-timeout", Warning, Lint,
        "a strong lock on a table that holds data, with no SET lock_timeout before it";
    REQUIRE_STATEMENT_TIMEOUT = "require-statement-timeout", Warning, Lint,
        "a rewrite or full scan of a table that holds data, with no SET statement_timeout before it";
    REQUIRE_TRANSACTION = "require-transaction", Warning, Lint,
        "a COMMIT before the file's end, or a non-transactional statement beside others: the file is not atomic";
    REQUIRE_UPSERT = "require-upsert", Info, Lint,
        "INSERT without ON CONFLICT fails or duplicates rows when the migration runs again";
    STORED_GENERATED_COLUMN = "stored-generated-column", Warning, Lint,
        "ADD COLUMN … GENERATED ALWAYS AS (…) STORED rewrites a table that holds data";
    SYNTAX_ERROR = "syntax-error", Error, Lint,
        "a literal, comment or body left open at the end of the file";
    UNIQUE_CONSTRAINT_VIA_INDEX = "unique-constraint-via-index", Warning, Lint,
        "UNIQUE or PRIMARY KEY constraint added to a table that holds data without USING INDEX";
    VALIDATE_IN_SAME_TRANSACTION = "validate-in-same-transaction", Warning, Lint,
        "VALIDATE CONSTRAINT in the same file (transaction) as the ADD CONSTRAINT … NOT VALID it validates";
    VOLATILE_DEFAULT = "volatile-default", Warning, Lint,
        "ADD COLUMN with a volatile default rewrites a table that holds data";
    UNPARSED = "unparsed", Info, Lint,
        "a statement sqlparser cannot read";
    UNUSED_SUPPRESSION = "unused-suppression", Warning, Lint,
        "a suppression comment that allows nothing";
    // Over the set of files.
    VERSION_COLLISION = "version-collision", Error, Files,
        "two migration files with one version, or a date-only version";
    // Against the base branch.
    MIGRATION_EDITED = "migration-edited", Error, BaseBranch,
        "a migration the base branch has, changed on this branch";
    MIGRATION_DELETED = "migration-deleted", Error, BaseBranch,
        "a migration the base branch has, deleted on this branch";
    OUT_OF_ORDER = "out-of-order", Warning, BaseBranch,
        "a new migration whose version sorts before the base branch's newest";
    // In the shadow: the catalog, the advisors, plpgsql_check, the extensions.
    DROPPED_TABLE = "dropped-table", Error, Shadow,
        "the catalog lost a table the migrations had made";
    DROPPED_COLUMN = "dropped-column", Error, Shadow,
        "the catalog lost a column, however the SQL said it";
    CHANGED_COLUMN_TYPE = "changed-column-type", Error, Shadow,
        "a column's type changed";
    DROPPED_CONSTRAINT = "dropped-constraint", Error, Shadow,
        "a constraint disappeared";
    RLS_DISABLED = "rls-disabled", Error, Shadow,
        "row level security turned off on a table that had it on";
    DROPPED_POLICY = "dropped-policy", Error, Shadow,
        "a policy disappeared";
    DROPPED_VIEW = "dropped-view", Error, Shadow,
        "a view or materialized view disappeared: the Data API's clients of it break";
    DROPPED_FUNCTION = "dropped-function", Error, Shadow,
        "a function or procedure disappeared, or its signature changed: its callers break";
    NOT_IDEMPOTENT = "not-idempotent", Error, Shadow,
        "a migration that fails or changes the schema when it runs a second time";
    TABLE_REWRITE = "table-rewrite", Warning, Shadow,
        "a table that existed before the migration was rewritten (its storage replaced)";
    LOCK_HELD_ACROSS_STATEMENTS = "lock-held-across-statements", Warning, Shadow,
        "a lock that blocks reads or writes of an existing relation, held while later statements of its transaction run";
    REWRITE_UNDER_LOCK = "rewrite-under-lock", Warning, Shadow,
        "every row of an existing table read (a validation, a NOT NULL check) by a statement holding a lock that blocks its writes";
    LOCK_BUDGET_EXCEEDED = "lock-budget-exceeded", Warning, Shadow,
        "a lock that blocks reads or writes, predicted to be held on the --preview-db-url target past locks.budget_ms";
    API_ACCESS_REMOVED = "api-access-removed", Warning, Shadow,
        "a grant the Data API's roles had on a table or view, taken away by the migration: its requests fail with 42501";
    API_NOT_GRANTED = "api-not-granted", Warning, Shadow,
        "a table with row level security policies for the Data API's roles that grants them nothing: every request fails with 42501";
    DECLARATIVE_DRIFT = "declarative-drift", Error, Shadow,
        "the declarative schema files and the migrations build different schemas: a schema file edited without its migration, or the reverse";
    PLATFORM_TRIGGER_DROPPED = "platform-trigger-dropped", Error, Shadow,
        "a trigger on a table of Supabase's own schemas (auth.users, storage.objects) that called the project's function, dropped: what it did stops without an error";
    REALTIME_PUBLICATION_REMOVED = "realtime-publication-removed", Warning, Shadow,
        "a table taken out of the supabase_realtime publication: clients subscribed to its changes stop getting them";
    SEED_FAILED = "seed-failed", Error, Shadow,
        "a seed file fails after the migrations: supabase db reset and every preview branch fail with it";
    REVERT_INCOMPLETE = "revert-incomplete", Error, Shadow,
        "a revert migration that does not bring the schema back to before the one it reverts";
    ADVISOR_RLS_DISABLED_IN_PUBLIC = "advisor-rls-disabled-in-public", Error, Shadow,
        "a table in an API-exposed schema without row level security";
    ADVISOR_POLICY_EXISTS_RLS_DISABLED = "advisor-policy-exists-rls-disabled", Error, Shadow,
        "a table with policies but row level security off: the policies do nothing";
    ADVISOR_SECURITY_DEFINER_VIEW = "advisor-security-definer-view", Error, Shadow,
        "a view in an API-exposed schema that reads its tables as its owner, bypassing their row level security";
    ADVISOR_AUTH_USERS_EXPOSED = "advisor-auth-users-exposed", Error, Shadow,
        "a view in an API-exposed schema that reads auth.users and is selectable by anon or authenticated";
    ADVISOR_RLS_REFERENCES_USER_METADATA = "advisor-rls-references-user-metadata", Error, Shadow,
        "a policy that trusts user_metadata, which every user can edit";
    ADVISOR_FUNCTION_SEARCH_PATH_MUTABLE = "advisor-function-search-path-mutable", Warning, Shadow,
        "a function whose search_path is the caller's";
    ADVISOR_EXTENSION_IN_PUBLIC = "advisor-extension-in-public", Warning, Shadow,
        "an extension installed in public or another API-exposed schema";
    ADVISOR_MATERIALIZED_VIEW_IN_API = "advisor-materialized-view-in-api", Warning, Shadow,
        "a materialized view in an API-exposed schema selectable by anon or authenticated";
    ADVISOR_AUTH_RLS_INITPLAN = "advisor-auth-rls-initplan", Warning, Shadow,
        "a policy that calls auth.uid(), auth.jwt() or current_setting() once per row";
    ADVISOR_MULTIPLE_PERMISSIVE_POLICIES = "advisor-multiple-permissive-policies", Warning, Shadow,
        "more than one permissive policy for the same role and command on a table";
    ADVISOR_DUPLICATE_INDEX = "advisor-duplicate-index", Warning, Shadow,
        "an index identical to another on the same table";
    ADVISOR_RLS_ENABLED_NO_POLICY = "advisor-rls-enabled-no-policy", Info, Shadow,
        "a table with row level security on and no policy: the API sees no rows";
    ADVISOR_UNINDEXED_FOREIGN_KEYS = "advisor-unindexed-foreign-keys", Info, Shadow,
        "a foreign key without an index on its columns";
    ADVISOR_NO_PRIMARY_KEY = "advisor-no-primary-key", Info, Shadow,
        "a table without a primary key";
    PLPGSQL_ERROR = "plpgsql-error", Error, Shadow,
        "a PL/pgSQL function body that fails when it runs (plpgsql_check: a missing column or table, a wrong type)";
    PLPGSQL_WARNING = "plpgsql-warning", Warning, Shadow,
        "a PL/pgSQL function body that plpgsql_check warns about (an unused variable, a hidden parameter, a cast in an assignment)";
    EXTENSION_UNAVAILABLE = "extension-unavailable", Error, Shadow,
        "a migration needs an extension the shadow's Postgres does not have and cannot stand in for";
    EXTENSION_STUBBED = "extension-stubbed", Info, Shadow,
        "an extension the migrations use was a stand-in in the shadow, so what it does was not tested";
    // The deploy's refusals.
    REMOTE_ONLY_VERSION = "remote-only-version", Error, Deploy,
        "the target has applied a version no local file has";
    INVALID_INDEX = "invalid-index", Error, Deploy,
        "an index CREATE INDEX CONCURRENTLY left invalid";
    DEPLOY_REFUSED = "deploy-refused", Error, Deploy,
        "a deploy from a pull request, or to production unconfirmed";
    UNHEALTHY_AFTER_DEPLOY = "unhealthy-after-deploy", Error, Deploy,
        "a project service unhealthy while watching after the deploy";
    VERIFY_FAILED = "verify-failed", Error, Deploy,
        "a verify check that failed while watching after the deploy";

    // A migration's own failure, reported with the migration rather than as a finding;
    // SARIF and code scanning need it as a rule.
    APPLY_ERROR = "apply-error", Error, Apply,
        "a migration that fails to apply: Postgres rejected a statement, and the file's transaction rolled back";
}

impl Rule {
    /// Where its page is: under `home`, the published folder of the pages (an absolute
    /// URL), or the page in this repository when there is none.
    pub fn url(&self, home: Option<&str>) -> String {
        match home {
            Some(home) => format!("{}/{}.md", home.trim_end_matches('/'), self.id),
            None => format!("docs/rules/{}.md", self.id),
        }
    }
}

/// Where this build's rule pages are published: under `package.repository`
/// (Cargo.toml) when the project has one.
pub fn published_pages() -> Option<String> {
    match env!("CARGO_PKG_REPOSITORY").trim_end_matches('/') {
        "" => None,
        home => Some(format!("{home}/blob/main/docs/rules")),
    }
}

/// The rule with this id.
pub fn find(id: &str) -> Option<&'static Rule> {
    ALL.iter().find(|rule| rule.id == id)
}

/// Every id the configuration may set or turn off: all but the deploy's refusals.
pub fn configurable() -> impl Iterator<Item = &'static Rule> {
    ALL.iter()
        .filter(|rule| !matches!(rule.origin, Origin::Deploy | Origin::Apply))
}

/// Whether only the shadow can raise it.
pub fn is_shadow_only(id: &str) -> bool {
    find(id).is_some_and(|rule| rule.origin == Origin::Shadow)
}
