#!/usr/bin/env python3
"""Figures of migration-guard's lint on a corpus of real projects, and squawk's beside it.

    scripts/corpus-figures.py CORPUS_DIR [--binary target/release/migration-guard]

CORPUS_DIR holds project folders; every `migrations` folder under it with `.sql` files is
one project. For each, and in total, it prints:

- statements, and warnings + errors per 1,000 statements (the noise), by rule;
- the pull-request case: the newest migration added on top of the rest (the rest as the
  configured baseline), and whether that verdict fails;
- squawk's count on the same files when `squawk` is on PATH (defaults, and with
  `--assume-in-transaction`, as the Supabase CLI wraps each file).

Only figures are printed: the corpus's SQL stays where it is.
"""

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile


def projects(root):
    for dirpath, _, files in os.walk(root):
        if os.path.basename(dirpath) == "migrations" and any(f.endswith(".sql") for f in files):
            yield dirpath


def lint(binary, migrations, config=None):
    args = [binary, "lint", "--format", "json", "--dir", migrations]
    if config:
        args += ["--config", config]
    done = subprocess.run(args, capture_output=True, text=True)
    try:
        return done.returncode, json.loads(done.stdout)
    except json.JSONDecodeError:
        sys.exit(f"{migrations}: no JSON report (exit {done.returncode}): {done.stderr[:500]}")


def squawk(migrations, extra):
    files = sorted(os.path.join(migrations, f) for f in os.listdir(migrations) if f.endswith(".sql"))
    done = subprocess.run(["squawk", "--reporter", "json", *extra, *files], capture_output=True, text=True)
    try:
        return len([v for v in json.loads(done.stdout or "[]") if v.get("level") in ("Warning", "Error")])
    except json.JSONDecodeError:
        return None


def version(name):
    digits = name.split("_", 1)[0].lstrip("0")
    return (len(digits), digits)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus")
    parser.add_argument("--binary", default="target/release/migration-guard")
    options = parser.parse_args()
    has_squawk = shutil.which("squawk") is not None

    total = collections.Counter()
    by_rule = collections.Counter()
    rows = []
    for migrations in sorted(projects(options.corpus)):
        name = os.path.relpath(migrations, options.corpus).split(os.sep)[0]
        _, report = lint(options.binary, migrations)
        statements = sum(m["statements"] for m in report["migrations"])
        counted = [f for f in report["findings"] if f["severity"] in ("warning", "error")]
        errors = sum(1 for f in counted if f["severity"] == "error")
        by_rule.update(f["rule"] for f in counted)

        # The pull request that adds the newest migration: the rest is the baseline.
        files = sorted(
            (f for f in os.listdir(migrations) if f.endswith(".sql") and f.split("_", 1)[0].isdigit()),
            key=version,
        )
        newest_failed = None
        if len(files) >= 2:
            with tempfile.TemporaryDirectory() as tmp:
                config = os.path.join(tmp, "migration-guard.yml")
                with open(config, "w") as out:
                    out.write('baseline: "%s"\n' % files[-2].split("_", 1)[0])
                code, _ = lint(options.binary, migrations, config)
                newest_failed = code != 0

        row = {
            "project": name,
            "files": len(report["migrations"]),
            "statements": statements,
            "warnings+errors": len(counted),
            "errors": errors,
            "per_1000": 1000 * len(counted) / max(statements, 1),
            "newest_fails": newest_failed,
        }
        if has_squawk:
            row["squawk"] = squawk(migrations, [])
            row["squawk_tx"] = squawk(migrations, ["--assume-in-transaction"])
        rows.append(row)
        total.update({k: v for k, v in row.items() if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "per_1000"})
        total["newest_fails"] += 1 if newest_failed else 0
        total["projects"] += 1

    header = ["project", "files", "statements", "warnings+errors", "errors", "per_1000", "newest_fails"]
    if has_squawk:
        header += ["squawk", "squawk_tx"]
    print("\t".join(header))
    for row in rows:
        print("\t".join(f"{row[h]:.0f}" if isinstance(row[h], float) else str(row[h]) for h in header))
    statements = max(total["statements"], 1)
    print()
    print(f"projects: {total['projects']}, files: {total['files']}, statements: {total['statements']}")
    print(f"migration-guard: {total['warnings+errors']} warnings+errors ({total['errors']} errors), "
          f"{1000 * total['warnings+errors'] / statements:.0f} per 1,000 statements")
    if has_squawk:
        print(f"squawk: {1000 * total['squawk'] / statements:.0f} per 1,000 statements; "
              f"with --assume-in-transaction: {1000 * total['squawk_tx'] / statements:.0f}")
    print(f"pull requests adding the newest migration that fail: {total['newest_fails']} of {total['projects']}")
    print()
    print("by rule (warnings+errors):")
    for rule, count in by_rule.most_common():
        print(f"  {rule}\t{count}\t{1000 * count / statements:.1f} per 1,000")


if __name__ == "__main__":
    main()
