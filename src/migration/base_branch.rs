//! The branch's migrations against its base branch, read from the git history: what the
//! deploy after the merge will do, told before the merge.
//!
//! A migration the base branch already has is applied wherever the base was deployed,
//! and the Supabase CLI never runs a version twice: an edit to it never reaches those
//! databases, and deleting it leaves them with a schema no file describes. A new
//! migration whose version sorts before the newest one on the base is out of order:
//! `supabase db push` refuses it without `--include-all`.
//!
//! Edits and deletions are judged against the merge base (what this branch started
//! from), so migrations merged into the base since then are not mistaken for deletions;
//! the order is judged against the base's tip, which is what will be deployed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::findings::registry;
use crate::findings::{Finding, Location, Severity};
use crate::migration::compare::first_difference;
use crate::migration::discover::parse_file_name;
use crate::migration::{Discovery, MigrationFile};
use crate::sql::split::split;

use crate::findings::span::Span;

/// What a branch did to migrations the base already has: these findings stay the
/// branch's even though the files are deployed history.
pub const BRANCH_ACTS: [&str; 2] = [
    registry::MIGRATION_EDITED.id,
    registry::MIGRATION_DELETED.id,
];

#[derive(Debug, thiserror::Error)]
pub enum BaseError {
    #[error("cannot run git: {0}; install git, or leave out --base-ref")]
    NoGit(io::Error),
    #[error(
        "{dir} is not in a git repository: the base branch comparison needs a clone; leave out --base-ref"
    )]
    NotARepository { dir: PathBuf },
    #[error(
        "the base branch `{base}` is not in this clone (tried {tried}): fetch it with `git fetch origin {base}`, or check out with `fetch-depth: 0` in actions/checkout"
    )]
    UnknownRef { base: String, tried: String },
    #[error(
        "HEAD and `{base}` have no common commit in this clone (a shallow clone?): check out with `fetch-depth: 0` in actions/checkout, or `git fetch --unshallow`"
    )]
    NoMergeBase { base: String },
    #[error("`git {command}` failed: {stderr}")]
    Git { command: String, stderr: String },
}

/// The findings, and a line for the report saying what was compared.
#[derive(Debug)]
pub struct Comparison {
    pub note: String,
    pub findings: Vec<Finding>,
    /// The versions the base branch's tip has: what this branch did not introduce.
    pub base_versions: BTreeSet<String>,
    /// The base branch as the user named it.
    pub base_name: String,
}

/// Compares the migrations in `discovery` (as they are on disk) with `base_ref`.
pub fn compare(discovery: &Discovery, base_ref: &str) -> Result<Comparison, BaseError> {
    let git = Git::new(&discovery.dir)?;
    let (base_name, base_tip) = git.resolve(base_ref)?;
    let merge_base = git
        .stdout(&["merge-base", "HEAD", &base_tip])
        .map_err(|_| BaseError::NoMergeBase {
            base: base_name.clone(),
        })?;
    let started_from = git.migrations_at(&merge_base)?;
    let tip = git.migrations_at(&base_tip)?;

    let mut findings = edits_and_deletions(discovery, &git, &started_from, &base_name)?;
    findings.extend(out_of_order(discovery, &started_from, &tip, &base_name));
    let note = format!(
        "Compared with `{base_name}` ({}): {} of its migrations were here when this branch started, {} now.",
        short(&base_tip),
        started_from.len(),
        tip.len()
    );
    Ok(Comparison {
        note,
        findings,
        base_versions: tip.into_keys().collect(),
        base_name,
    })
}

/// A base migration: its file name and blob.
#[derive(Debug)]
struct BaseFile {
    file_name: String,
    blob: String,
}

fn edits_and_deletions(
    discovery: &Discovery,
    git: &Git,
    started_from: &BTreeMap<String, BaseFile>,
    base_name: &str,
) -> Result<Vec<Finding>, BaseError> {
    let local: HashMap<&str, &MigrationFile> = discovery
        .migrations
        .iter()
        .map(|migration| (migration.version.as_str(), migration))
        .collect();
    let kept: Vec<(&BaseFile, &MigrationFile)> = started_from
        .iter()
        .filter_map(|(version, file)| Some((file, *local.get(version.as_str())?)))
        .collect();
    let blobs = git.blobs(kept.iter().map(|(file, _)| file.blob.as_str()))?;

    let mut findings = Vec::new();
    for (version, file) in started_from {
        if !local.contains_key(version.as_str()) {
            findings.push(Finding {
                rule: registry::MIGRATION_DELETED.id,
                severity: Severity::Error,
                location: None,
                message: format!(
                    "{} is on `{base_name}` but not here: it is applied wherever `{base_name}` was deployed, and without it no file describes what it did there",
                    discovery.dir.join(&file.file_name).display()
                ),
                help: Some(format!(
                    "restore it (`git checkout {base_name} -- {}`) and undo what it did in a new migration: `migration-guard new revert_{} --revert {version}` drafts the drops of what it added, and the shadow proves the draft brings the schema back",
                    discovery.dir.join(&file.file_name).display(),
                    file.file_name
                        .split_once('_')
                        .map_or("it", |(_, name)| name.trim_end_matches(".sql")),
                )),
            });
        }
    }
    for ((file, migration), base_source) in kept.into_iter().zip(blobs) {
        let base_source = String::from_utf8_lossy(&base_source);
        let before = split(&base_source);
        let Some(difference) = first_difference(
            &before.texts(&base_source),
            &migration.split.texts(&migration.source),
        ) else {
            continue;
        };
        let span = difference.index.map_or(
            Span::new(migration.source.len(), migration.source.len()),
            |index| migration.split.statements[index].text,
        );
        let renamed = if file.file_name == migration.file_name {
            String::new()
        } else {
            format!(" (there it is {})", file.file_name)
        };
        findings.push(Finding {
            rule: registry::MIGRATION_EDITED.id,
            severity: Severity::Error,
            location: Some(Location {
                file: migration.path.clone(),
                span,
            }),
            message: format!(
                "version {} is already on `{base_name}`{renamed} and this branch changes its statement {}: wherever `{base_name}` was deployed the version is applied, and the Supabase CLI never runs it again, so the change would never reach those databases",
                migration.version,
                difference.ordinal
            ),
            help: Some(format!(
                "put the change in a new migration (`migration-guard new NAME`) and restore this file: `git checkout {base_name} -- {}`",
                migration.path.display()
            )),
        });
    }
    Ok(findings)
}

fn out_of_order(
    discovery: &Discovery,
    started_from: &BTreeMap<String, BaseFile>,
    tip: &BTreeMap<String, BaseFile>,
    base_name: &str,
) -> Vec<Finding> {
    let Some((newest, newest_file)) = tip.last_key_value() else {
        return Vec::new();
    };
    let known: BTreeSet<&str> = started_from
        .keys()
        .chain(tip.keys())
        .map(String::as_str)
        .collect();
    discovery
        .migrations
        .iter()
        .filter(|migration| {
            !known.contains(migration.version.as_str()) && migration.version < *newest
        })
        .map(|migration| Finding {
            rule: registry::OUT_OF_ORDER.id,
            severity: Severity::Warning,
            location: Some(Location::start_of(&migration.path)),
            message: format!(
                "version {} sorts before {newest} ({}), the newest migration on `{base_name}`: `supabase db push` refuses it without `--include-all`, and it would run after a migration written after it",
                migration.version, newest_file.file_name
            ),
            help: Some(
                "give it a version after the base's newest: `migration-guard new NAME` and move the SQL there; deploy with `--include-all` only if the order does not matter".to_string(),
            ),
        })
        .collect()
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

/// git in the migrations directory. `safe.directory` is set on the command line: in a
/// container action the workspace belongs to another user, and git would refuse it.
struct Git<'d> {
    dir: &'d Path,
}

impl<'d> Git<'d> {
    fn new(dir: &'d Path) -> Result<Self, BaseError> {
        let git = Git { dir };
        let output = git.run(&["rev-parse", "--is-inside-work-tree"], None)?;
        if !output.status.success() {
            return Err(BaseError::NotARepository {
                dir: dir.to_path_buf(),
            });
        }
        Ok(git)
    }

    fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> Result<Output, BaseError> {
        let mut child = Command::new("git")
            .args(["-c", "safe.directory=*", "-C"])
            .arg(self.dir)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(BaseError::NoGit)?;
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            // Written from a thread: git answers while it reads, and a full stdout pipe
            // would otherwise stop both.
            let input = input.to_vec();
            std::thread::spawn(move || pipe.write_all(&input));
        }
        child.wait_with_output().map_err(BaseError::NoGit)
    }

    /// The trimmed standard output of a command that must succeed.
    fn stdout(&self, args: &[&str]) -> Result<String, BaseError> {
        let output = self.run(args, None)?;
        if !output.status.success() {
            return Err(BaseError::Git {
                command: args.join(" "),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    }

    /// The base ref as given, else its remote-tracking branch (a CI checkout has no
    /// local branch for the base): its name and commit.
    fn resolve(&self, base: &str) -> Result<(String, String), BaseError> {
        let candidates = [base.to_string(), format!("origin/{base}")];
        for candidate in &candidates {
            let spec = format!("{candidate}^{{commit}}");
            let output = self.run(
                &[
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    "--end-of-options",
                    &spec,
                ],
                None,
            )?;
            if output.status.success() {
                let commit = String::from_utf8_lossy(&output.stdout).trim().to_string();
                return Ok((candidate.clone(), commit));
            }
        }
        Err(BaseError::UnknownRef {
            base: base.to_string(),
            tried: candidates.join(", "),
        })
    }

    /// The migrations in the migrations directory at `commit`, by version (none when
    /// the directory did not exist then).
    fn migrations_at(&self, commit: &str) -> Result<BTreeMap<String, BaseFile>, BaseError> {
        // `./` is the migrations directory itself, wherever it is in the repository.
        let tree = format!("{commit}:./");
        if !self.run(&["cat-file", "-e", &tree], None)?.status.success() {
            return Ok(BTreeMap::new());
        }
        // --full-tree: without it, ls-tree in a sub-directory lists only the entries
        // under that sub-directory's path *within the tree given*, here none.
        let listing = self.run(&["ls-tree", "-z", "--full-tree", &tree], None)?;
        let mut migrations = BTreeMap::new();
        for entry in listing.stdout.split(|&byte| byte == 0) {
            let entry = String::from_utf8_lossy(entry);
            // "<mode> <type> <object>\t<name>"
            let Some((meta, file_name)) = entry.split_once('\t') else {
                continue;
            };
            let mut meta = meta.split(' ');
            let (Some(_mode), Some("blob"), Some(blob)) = (meta.next(), meta.next(), meta.next())
            else {
                continue;
            };
            if let Some((version, _)) = parse_file_name(file_name) {
                migrations.insert(
                    version,
                    BaseFile {
                        file_name: file_name.to_string(),
                        blob: blob.to_string(),
                    },
                );
            }
        }
        Ok(migrations)
    }

    /// The contents of `blobs`, in order, through one `git cat-file --batch`.
    fn blobs<'b>(&self, blobs: impl Iterator<Item = &'b str>) -> Result<Vec<Vec<u8>>, BaseError> {
        let request: String = blobs.map(|blob| format!("{blob}\n")).collect();
        let wanted = request.lines().count();
        if request.is_empty() {
            return Ok(Vec::new());
        }
        let output = self.run(&["cat-file", "--batch"], Some(request.as_bytes()))?;
        let mut rest = output.stdout.as_slice();
        let mut contents = Vec::new();
        // Each answer is "<object> blob <size>\n<content>\n".
        while let Some(newline) = rest.iter().position(|&byte| byte == b'\n') {
            let header = String::from_utf8_lossy(&rest[..newline]).into_owned();
            let size = header
                .rsplit(' ')
                .next()
                .and_then(|size| size.parse::<usize>().ok())
                .filter(|_| header.contains(" blob "))
                .ok_or_else(|| BaseError::Git {
                    command: "cat-file --batch".to_string(),
                    stderr: header.clone(),
                })?;
            let body = &rest[newline + 1..];
            if body.len() < size {
                break;
            }
            contents.push(body[..size].to_vec());
            rest = body.get(size + 1..).unwrap_or_default();
        }
        if contents.len() != wanted {
            return Err(BaseError::Git {
                command: "cat-file --batch".to_string(),
                stderr: format!("{} of {wanted} files came back", contents.len()),
            });
        }
        Ok(contents)
    }
}
