//! The one `Report` value every command produces and every output format renders.
//!
//! Positions are byte spans into the files the report holds; renderers ask
//! [`Report::locate`] for the 1-based line and column, so they are computed once, in one
//! way, for every format.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::findings::policy::{History, split};
use crate::findings::span::{LineCol, LineIndex, Span};
pub use crate::findings::{Finding, Location, Severity};
use crate::migration::{Discovery, MigrationFile};

/// The command that produced a report (`"command"` in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandName {
    Status,
    New,
    Baseline,
    Shadow,
    Lint,
    Deploy,
    Drift,
    Action,
}

impl CommandName {
    pub fn as_str(self) -> &'static str {
        match self {
            CommandName::Status => "status",
            CommandName::New => "new",
            CommandName::Baseline => "baseline",
            CommandName::Shadow => "shadow",
            CommandName::Lint => "lint",
            CommandName::Deploy => "deploy",
            CommandName::Drift => "drift",
            CommandName::Action => "action",
        }
    }
}

/// The verdict, which is also the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Everything passed: exit 0.
    Passed,
    /// The migrations failed a check: exit 1.
    Failed,
    /// The tool could not do its job: exit 2.
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Error => "error",
        }
    }

    pub fn exit_code(self) -> u8 {
        match self {
            Status::Passed => 0,
            Status::Failed => 1,
            Status::Error => 2,
        }
    }
}

/// What happened to one migration (`"status"` of a migration in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationStatus {
    /// Applied by this run.
    Applied,
    /// Found in the target's history.
    AlreadyApplied,
    Failed,
    /// Not run because an earlier one failed.
    Skipped,
    /// Would run (dry run).
    Pending,
    /// Listed from the files only; no database was asked.
    Local,
}

impl MigrationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MigrationStatus::Applied => "applied",
            MigrationStatus::AlreadyApplied => "already-applied",
            MigrationStatus::Failed => "failed",
            MigrationStatus::Skipped => "skipped",
            MigrationStatus::Pending => "pending",
            MigrationStatus::Local => "local",
        }
    }
}

/// The error that stopped a migration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MigrationError {
    pub message: String,
    pub sqlstate: Option<String>,
    /// Where Postgres points (the failing token), or the statement's start.
    pub location: Option<Location>,
    /// The failing statement's text, in the same file.
    pub statement: Option<Span>,
    pub statement_index: Option<usize>,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// Postgres's CONTEXT (e.g. the line of a PL/pgSQL body).
    pub context: Option<String>,
    /// The statements (index in the file, where its code starts) committed before the
    /// failure, which stay applied: a file that does not run as one transaction is then
    /// half applied, and its version is not recorded.
    pub stayed: Vec<(usize, Location)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationEntry {
    pub file: PathBuf,
    pub version: String,
    pub name: String,
    pub status: MigrationStatus,
    pub statements: usize,
    pub duration_ms: Option<u64>,
    pub error: Option<MigrationError>,
    /// How the file's statements were grouped into transactions.
    pub transaction: Option<String>,
    /// NOTICE / WARNING messages the server sent while applying it.
    pub notices: Vec<String>,
    /// The locks it took on relations that existed before it: one per relation and mode,
    /// at the statement that took it when the shadow watched statement by statement.
    pub locks: Vec<LockEvidence>,
    /// Tables that existed before it whose storage it replaced (a rewrite), each at the
    /// statement that did it where that was seen.
    pub rewrites: Vec<TableEvidence>,
    /// The locks that block writes or more, taken on relations that existed before it
    /// while no `lock_timeout` was set, in order (a relation the statement dropped with
    /// an empty name); `None` where the shadow did not watch it statement by statement.
    pub unguarded: Option<Vec<LockEvidence>>,
    /// Deployed history: the base branch has it unchanged, or it is at or before the
    /// baseline. The rest is what the change under review brings.
    pub deployed: bool,
}

/// A table-level lock mode, weakest first, as the Postgres documentation's table of
/// conflicting lock modes lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockMode {
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
}

/// What a lock keeps others from doing while it is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Blocks {
    /// Other DDL, VACUUM, index builds: not the application's reads and writes.
    SchemaChanges,
    /// INSERT, UPDATE, DELETE (reads go on).
    Writes,
    /// Everything, SELECT included.
    ReadsAndWrites,
}

impl Blocks {
    pub fn as_str(self) -> &'static str {
        match self {
            Blocks::SchemaChanges => "schema changes",
            Blocks::Writes => "writes",
            Blocks::ReadsAndWrites => "reads and writes",
        }
    }
}

impl LockMode {
    pub const ALL: [LockMode; 8] = [
        LockMode::AccessShare,
        LockMode::RowShare,
        LockMode::RowExclusive,
        LockMode::ShareUpdateExclusive,
        LockMode::Share,
        LockMode::ShareRowExclusive,
        LockMode::Exclusive,
        LockMode::AccessExclusive,
    ];

    /// The name `pg_locks.mode` gives it (`ShareRowExclusiveLock`).
    pub fn pg_name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "AccessShareLock",
            LockMode::RowShare => "RowShareLock",
            LockMode::RowExclusive => "RowExclusiveLock",
            LockMode::ShareUpdateExclusive => "ShareUpdateExclusiveLock",
            LockMode::Share => "ShareLock",
            LockMode::ShareRowExclusive => "ShareRowExclusiveLock",
            LockMode::Exclusive => "ExclusiveLock",
            LockMode::AccessExclusive => "AccessExclusiveLock",
        }
    }

    /// The name SQL gives it (`SHARE ROW EXCLUSIVE`).
    pub fn sql_name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "ACCESS SHARE",
            LockMode::RowShare => "ROW SHARE",
            LockMode::RowExclusive => "ROW EXCLUSIVE",
            LockMode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockMode::Share => "SHARE",
            LockMode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockMode::Exclusive => "EXCLUSIVE",
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    /// "an ACCESS EXCLUSIVE", "a SHARE".
    pub fn sql_name_with_article(self) -> String {
        with_article(self.sql_name())
    }

    pub fn from_pg_name(name: &str) -> Option<LockMode> {
        LockMode::ALL
            .into_iter()
            .find(|mode| mode.pg_name() == name)
    }

    /// What it keeps the application from doing: ACCESS EXCLUSIVE stops reads too;
    /// SHARE, SHARE ROW EXCLUSIVE and EXCLUSIVE conflict with ROW EXCLUSIVE (what
    /// INSERT, UPDATE and DELETE take); the weaker ones only hold off other DDL.
    pub fn blocks(self) -> Blocks {
        match self {
            LockMode::AccessExclusive => Blocks::ReadsAndWrites,
            LockMode::Exclusive | LockMode::ShareRowExclusive | LockMode::Share => Blocks::Writes,
            _ => Blocks::SchemaChanges,
        }
    }
}

/// A lock a migration took on a relation that existed before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockEvidence {
    /// Schema-qualified.
    pub relation: String,
    /// `table`, `index`, `sequence`, `view`, `materialized view`, …
    pub kind: &'static str,
    pub mode: LockMode,
    pub statement_index: Option<usize>,
    /// The start of that statement's code.
    pub at: Option<Location>,
    /// From the start of the statement that took it to the last look that saw it held
    /// (the end of its transaction), when the shadow watched statement by statement.
    pub held: Option<std::time::Duration>,
    /// The last statement seen running while it was held (itself, when it was released
    /// with its transaction right after).
    pub through: Option<usize>,
    /// The relation's size in the shadow as its file started.
    pub size: Option<Size>,
    /// What, of its hold, was work that grows with the data: rewrites, full scans, index
    /// builds, by the statements that ran while it was held.
    pub work: Vec<Work>,
    /// The hold expected on the `--preview-db-url` target, from its sizes.
    pub predicted: Option<std::time::Duration>,
}

/// How long a migration may hold a lock that blocks the application on the target
/// (`locks.budget_ms`), as predicted from the shadow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockBudgets {
    /// ACCESS EXCLUSIVE: SELECTs wait too.
    pub reads_and_writes: std::time::Duration,
    /// SHARE and the like: INSERT, UPDATE and DELETE wait.
    pub writes: std::time::Duration,
}

impl Default for LockBudgets {
    fn default() -> Self {
        LockBudgets {
            reads_and_writes: std::time::Duration::from_secs(2),
            writes: std::time::Duration::from_secs(10),
        }
    }
}

impl LockBudgets {
    /// The budget for a lock that blocks `blocks`; none for one that blocks only schema
    /// changes.
    pub fn for_blocks(&self, blocks: Blocks) -> Option<std::time::Duration> {
        match blocks {
            Blocks::ReadsAndWrites => Some(self.reads_and_writes),
            Blocks::Writes => Some(self.writes),
            Blocks::SchemaChanges => None,
        }
    }
}

/// A lock mode's SQL name with its article: "an ACCESS EXCLUSIVE", "a SHARE".
pub fn with_article(mode: &str) -> String {
    let article = if mode.starts_with(['A', 'E']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {mode}")
}

/// A duration as people read it: `850 ms`, `18.2 s`.
pub fn seconds(duration: std::time::Duration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// A relation's size as Postgres's statistics have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Size {
    /// `None` before the relation was ever analyzed.
    pub rows: Option<u64>,
    pub pages: u64,
    /// A table's indexes, together.
    pub index_pages: u64,
}

/// A statement's work on one relation that grows with its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Work {
    pub statement_index: usize,
    pub relation: String,
    pub kind: WorkKind,
    /// How long the statement ran.
    pub elapsed: std::time::Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkKind {
    /// Its storage replaced: every row copied, every index rebuilt.
    Rewrite,
    /// Every row read (a validation, a backfill's scan).
    Scan,
    /// An index built over every row.
    IndexBuild,
}

impl WorkKind {
    /// The pages the work goes through: a rewrite rebuilds the indexes too.
    pub fn pages(self, size: &Size) -> u64 {
        match self {
            WorkKind::Rewrite => size.pages + size.index_pages,
            WorkKind::Scan | WorkKind::IndexBuild => size.pages,
        }
    }
}

/// A table a migration rewrote, and the statement that did it when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableEvidence {
    /// Schema-qualified.
    pub table: String,
    pub statement_index: Option<usize>,
    /// The start of that statement's code.
    pub at: Option<Location>,
}

impl MigrationEntry {
    /// The locks a reader is shown: those that block reads or writes, less an index's
    /// lock when the same statement held a table at least as strongly (its table's lock
    /// already says it all).
    pub fn blocking_locks(&self) -> impl Iterator<Item = &LockEvidence> {
        self.locks.iter().filter(|lock| {
            lock.mode.blocks() >= Blocks::Writes
                && !(lock.kind.contains("index")
                    && self.locks.iter().any(|other| {
                        other.kind.contains("table")
                            && other.statement_index == lock.statement_index
                            && other.mode >= lock.mode
                    }))
        })
    }

    pub fn new(migration: &MigrationFile, status: MigrationStatus) -> Self {
        MigrationEntry {
            file: migration.path.clone(),
            version: migration.version.clone(),
            name: migration.name.clone(),
            status,
            statements: migration.split.statements.len(),
            duration_ms: None,
            error: None,
            transaction: None,
            notices: Vec::new(),
            locks: Vec::new(),
            rewrites: Vec::new(),
            unguarded: None,
            deployed: false,
        }
    }
}

/// One verification check (a row of a verify script, or the script's error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyCheck {
    pub file: PathBuf,
    pub check: String,
    pub ok: bool,
    pub detail: String,
    /// Where a failed check's error points.
    pub location: Option<Location>,
}

/// One difference between the schema the migrations build and a live database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftItem {
    pub kind: String,
    pub object: String,
    pub change: String,
    pub detail: String,
}

/// A file in the migrations directory that is not a migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedFile {
    pub file: PathBuf,
    pub reason: String,
}

/// The Postgres the command ran against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresInfo {
    pub provider: String,
    pub server_version: String,
    /// The Supabase emulation applied first, if any.
    pub supabase_compat: Option<&'static str>,
    /// Milliseconds from the command's start to the first successful connection.
    pub ready_ms: Option<u64>,
}

#[derive(Debug, Clone)]
struct SourceFile {
    text: Arc<str>,
    lines: LineIndex,
}

/// Everything a command found, in one value.
#[derive(Debug, Clone)]
pub struct Report {
    pub command: CommandName,
    pub postgres: Option<PostgresInfo>,
    pub migrations: Vec<MigrationEntry>,
    pub findings: Vec<Finding>,
    /// Findings on migrations that are already deployed history: they neither fail the
    /// run nor annotate, and reports show them as one collapsed count.
    pub baseline_findings: Vec<Finding>,
    /// Where that history is ("on `main`"), when the run had one.
    pub history: Option<String>,
    pub verify: Vec<VerifyCheck>,
    pub drift: Vec<DriftItem>,
    pub skipped: Vec<SkippedFile>,
    /// Why the tool could not do its job; makes the status `error`.
    pub error: Option<String>,
    /// Files written by the command (e.g. `new`).
    pub created: Vec<PathBuf>,
    /// Things worth knowing that are not findings ("no verify directory").
    pub notes: Vec<String>,
    /// Wall time of the whole command.
    pub duration_ms: Option<u64>,
    /// Findings of this severity or worse fail the run.
    pub fail_on: Severity,
    /// The budgets the locks' predicted times were held to, when there were predictions.
    pub lock_budgets: Option<LockBudgets>,
    /// Where the paths start from, seen from where they are shown: the action's
    /// `workdir`, so that annotations, SARIF and the comment name files from the
    /// repository's root.
    pub path_prefix: Option<PathBuf>,
    /// Where the rule pages are published (an absolute URL, e.g. the action's own
    /// repository at the version that runs), for the links every format gives.
    pub rule_pages: Option<String>,
    /// The commit the run judged and the run's page, when it ran in CI.
    pub run: Option<RunLink>,
    sources: BTreeMap<PathBuf, SourceFile>,
}

/// Which commit a CI run judged, and where its log is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLink {
    pub commit: String,
    pub url: Option<String>,
}

impl Report {
    /// `file` as every output names it: from the repository's root when the report has a
    /// [`Report::path_prefix`].
    pub fn path(&self, file: &std::path::Path) -> String {
        match &self.path_prefix {
            Some(prefix) if file.is_relative() => path(&prefix.join(file)),
            _ => path(file),
        }
    }

    /// The page of `rule`: published when the report knows where, in this repository
    /// otherwise.
    pub fn rule_url(&self, rule: &crate::findings::registry::Rule) -> String {
        rule.url(self.rule_pages.as_deref())
    }

    pub fn new(command: CommandName) -> Self {
        Report {
            command,
            postgres: None,
            migrations: Vec::new(),
            findings: Vec::new(),
            baseline_findings: Vec::new(),
            history: None,
            verify: Vec::new(),
            drift: Vec::new(),
            skipped: Vec::new(),
            error: None,
            created: Vec::new(),
            notes: Vec::new(),
            duration_ms: None,
            fail_on: Severity::Error,
            lock_budgets: None,
            path_prefix: None,
            rule_pages: crate::findings::registry::published_pages(),
            run: None,
            sources: BTreeMap::new(),
        }
    }

    /// A report of the files alone: every migration `local`, the skipped files, and each
    /// file's text for locating findings.
    pub fn of_files(command: CommandName, discovery: &Discovery) -> Self {
        let mut report = Report::new(command);
        for migration in &discovery.migrations {
            report.add_source(&migration.path, migration.source.clone());
            report
                .migrations
                .push(MigrationEntry::new(migration, MigrationStatus::Local));
        }
        report.skipped = discovery
            .skipped
            .iter()
            .map(|skipped| SkippedFile {
                file: skipped.path.clone(),
                reason: skipped.reason.explain().to_string(),
            })
            .collect();
        report
    }

    /// A report for a command that could not run at all.
    pub fn error(command: CommandName, message: String) -> Self {
        Report {
            error: Some(message),
            ..Report::new(command)
        }
    }

    /// Masks every secret (privileged JWTs, access tokens, API secrets, role passwords)
    /// in every text the report carries: the server's errors and notices echo the
    /// statement's literals, parser messages quote them, and every format renders these.
    /// Source lines are masked as they are added ([`Report::add_source`]).
    pub fn scrub(&mut self) {
        fn clean(text: &mut String) {
            if let std::borrow::Cow::Owned(masked) = crate::sql::secrets::mask(text) {
                *text = masked;
            }
        }
        let optional = |text: &mut Option<String>| {
            if let Some(text) = text {
                clean(text);
            }
        };
        for finding in self.findings.iter_mut().chain(&mut self.baseline_findings) {
            clean(&mut finding.message);
            optional(&mut finding.help);
        }
        for entry in &mut self.migrations {
            entry.notices.iter_mut().for_each(clean);
            if let Some(error) = &mut entry.error {
                clean(&mut error.message);
                optional(&mut error.detail);
                optional(&mut error.hint);
                optional(&mut error.context);
            }
        }
        for check in &mut self.verify {
            clean(&mut check.detail);
            clean(&mut check.check);
        }
        self.notes.iter_mut().for_each(clean);
        optional(&mut self.error);
    }

    /// Keeps a file's text so that spans into it can be located when rendering, with
    /// any secret in it masked: renderers print source lines.
    pub fn add_source(&mut self, file: &Path, text: Arc<str>) {
        self.sources.entry(file.to_path_buf()).or_insert_with(|| {
            let text = match crate::sql::secrets::mask(&text) {
                std::borrow::Cow::Borrowed(_) => text,
                std::borrow::Cow::Owned(masked) => Arc::from(masked),
            };
            SourceFile {
                lines: LineIndex::new(&text),
                text,
            }
        });
    }

    /// Moves the findings on deployed history to [`Report::baseline_findings`] (all but
    /// `branch_acts`, what the branch did to those files). A history migration that
    /// failed to apply is not the branch's fault, and nothing after it can be judged:
    /// the run is an error that names it.
    pub fn scope(&mut self, history: &History, branch_acts: &[&str]) {
        if history.is_empty() {
            return;
        }
        for entry in &mut self.migrations {
            entry.deployed = history.contains(&entry.file);
        }
        let (branch, baseline) = split(std::mem::take(&mut self.findings), history, branch_acts);
        self.findings = branch;
        self.baseline_findings.extend(baseline);
        self.history = Some(history.described.clone());
        let failed = self
            .migrations
            .iter()
            .find(|m| m.status == MigrationStatus::Failed && history.contains(&m.file));
        if let (Some(entry), None) = (failed, &self.error) {
            let reason = entry
                .error
                .as_ref()
                .map(|error| format!(": {}", error.message))
                .unwrap_or_default();
            self.error = Some(format!(
                "{} is already deployed ({}) but fails in the shadow{reason}; the shadow cannot judge the migrations after it. Run the shadow on the Postgres the project runs (supabase/postgres), or set `baseline:` in migration-guard.yml past it if the project's schema predates its migrations",
                path(&entry.file),
                history.described
            ));
        }
    }

    /// One line for the findings on deployed history, when there are any: "214 findings
    /// in 63 migrations already deployed (on `main`)".
    pub fn baseline_summary(&self) -> Option<String> {
        if self.baseline_findings.is_empty() {
            return None;
        }
        let files: std::collections::BTreeSet<&Path> = self
            .baseline_findings
            .iter()
            .filter_map(|f| Some(f.location.as_ref()?.file.as_path()))
            .collect();
        let n = self.baseline_findings.len();
        Some(format!(
            "{n} finding{} in {} migration{} already deployed ({}): not this change's, and not counted",
            if n == 1 { "" } else { "s" },
            files.len(),
            if files.len() == 1 { "" } else { "s" },
            self.history.as_deref().unwrap_or("history")
        ))
    }

    /// What the reader is told of a failed migration beyond its message, labelled:
    /// Postgres's detail, hint and context, and what stayed of a half-applied file.
    pub fn failure_details(
        &self,
        entry: &MigrationEntry,
        error: &MigrationError,
    ) -> Vec<(&'static str, String)> {
        [
            ("detail", error.detail.clone()),
            ("hint", error.hint.clone()),
            ("context", error.context.clone()),
            ("half applied", self.half_applied(entry, error)),
        ]
        .into_iter()
        .filter_map(|(label, text)| Some((label, text?)))
        .collect()
    }

    /// What a failure left behind in a file that does not run as one transaction: the
    /// lines committed before it, and how to finish or undo them.
    fn half_applied(&self, entry: &MigrationEntry, error: &MigrationError) -> Option<String> {
        if error.stayed.is_empty() {
            return None;
        }
        let lines: Vec<String> = error
            .stayed
            .iter()
            .filter_map(|(_, at)| Some(self.locate(at)?.line.to_string()))
            .collect();
        Some(format!(
            "the statement{} at line{} {} ran and committed before this failure, and stay{}: the file is half applied and its version is not recorded, so the next deploy fails on what {} made. Finish the rest by hand and record it (`supabase migration repair --status applied {}`), or undo what stayed; then correct the file",
            if lines.len() == 1 { "" } else { "s" },
            if lines.len() == 1 { "" } else { "s" },
            lines.join(", "),
            if lines.len() == 1 { "s" } else { "" },
            if lines.len() == 1 { "it" } else { "they" },
            entry.version
        ))
    }

    /// The line and column where `location` starts.
    pub fn locate(&self, location: &Location) -> Option<LineCol> {
        self.position(&location.file, location.span.start)
    }

    /// The line of the statement that locked or rewrote a table, when known.
    pub fn line_of(&self, at: Option<&Location>) -> Option<usize> {
        Some(self.locate(at?)?.line)
    }

    /// The line and column of byte `offset` of `file`.
    pub fn position(&self, file: &Path, offset: usize) -> Option<LineCol> {
        let source = self.sources.get(file)?;
        Some(source.lines.line_col(&source.text, offset))
    }

    /// The text `location` spans, when the report holds its file (secrets masked).
    pub fn spanned(&self, location: &Location) -> Option<&str> {
        let source = self.sources.get(&location.file)?;
        source.text.get(location.span.start..location.span.end)
    }

    /// The text of a line of a file the report holds.
    pub fn source_line(&self, file: &Path, line: usize) -> Option<&str> {
        let source = self.sources.get(file)?;
        (line >= 1 && line <= source.lines.line_count())
            .then(|| source.lines.line_text(&source.text, line))
    }

    pub fn status(&self) -> Status {
        let failed = self.findings.iter().any(|f| f.severity >= self.fail_on)
            || self
                .migrations
                .iter()
                .any(|m| m.status == MigrationStatus::Failed)
            || self.verify.iter().any(|check| !check.ok)
            || !self.drift.is_empty();
        if self.error.is_some() {
            Status::Error
        } else if failed {
            Status::Failed
        } else {
            Status::Passed
        }
    }

    /// The migrations in a few words, for the verdict line of every format: `3
    /// migrations` from the files alone, `2/3 migrations applied` for the shadow, and each
    /// status counted when a target had some already (`1 applied, 2 already applied`).
    pub fn migrations_summary(&self) -> String {
        let total = self.migrations.len();
        let n = |status| {
            self.migrations
                .iter()
                .filter(|m| m.status == status)
                .count()
        };
        if self.postgres.is_none() && n(MigrationStatus::Local) == total {
            return format!("{total} migration{}", if total == 1 { "" } else { "s" });
        }
        let (already, pending) = (
            n(MigrationStatus::AlreadyApplied),
            n(MigrationStatus::Pending),
        );
        if already == 0 && pending == 0 {
            return format!("{}/{total} migrations applied", n(MigrationStatus::Applied));
        }
        let counted: Vec<String> = [
            (n(MigrationStatus::Applied), "applied"),
            (already, "already applied"),
            (pending, "pending"),
            (n(MigrationStatus::Failed), "failed"),
            (n(MigrationStatus::Skipped), "skipped"),
        ]
        .into_iter()
        .filter(|(count, what)| *count > 0 || *what == "applied")
        .map(|(count, what)| format!("{count} {what}"))
        .collect();
        counted.join(", ")
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// Paths in reports use `/`, whatever the platform.
pub(crate) fn path(path: &std::path::Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}
