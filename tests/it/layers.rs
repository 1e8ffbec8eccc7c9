//! The layers read one way: no cycle among `src/`'s top-level modules and no two files
//! that import each other. Read from the source's paths (`crate::`, `super::` and a
//! file's own `mod` children), test helpers included (`lint::test_utils`); only the
//! `#[cfg(test)]` tail of a file is left out.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// A file of the library and the module path it defines (`src/lint/rules/mod.rs` is
/// `lint::rules`).
struct SourceFile {
    path: PathBuf,
    module: Vec<String>,
    code: String,
}

fn source_files(dir: &Path, files: &mut Vec<SourceFile>) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            source_files(&path, files);
            continue;
        }
        if path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let relative = path.strip_prefix("src").expect("under src");
        if relative == Path::new("main.rs") {
            continue;
        }
        let mut module: Vec<String> = relative
            .with_extension("")
            .iter()
            .map(|part| part.to_string_lossy().into_owned())
            .collect();
        if module
            .last()
            .is_some_and(|last| last == "mod" || last == "lib")
        {
            module.pop();
        }
        let code = without_tests_and_comments(&fs::read_to_string(&path).expect("read file"));
        files.push(SourceFile { path, module, code });
    }
}

/// The code before the first `#[cfg(test)]`, without `//` comments.
fn without_tests_and_comments(text: &str) -> String {
    let mut code = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            break;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        code.push_str(line);
        code.push('\n');
    }
    code
}

/// Every path a use tree or an expression names after `start` (the text following
/// `crate::`), with `{a, b::{c}}` groups expanded.
fn paths_after(text: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut chars = text.chars().peekable();
    tree(&mut chars, Vec::new(), &mut paths);
    paths
}

fn tree(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    mut prefix: Vec<String>,
    paths: &mut Vec<Vec<String>>,
) {
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek() == Some(&'{') {
            chars.next();
            loop {
                tree(chars, prefix.clone(), paths);
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                match chars.next() {
                    Some(',') => continue,
                    _ => return,
                }
            }
        }
        let ident: String =
            std::iter::from_fn(|| chars.next_if(|c| c.is_alphanumeric() || *c == '_')).collect();
        if ident.is_empty() {
            if !prefix.is_empty() {
                paths.push(prefix);
            }
            return;
        }
        prefix.push(ident);
        let mut rest = chars.clone();
        if rest.next() == Some(':') && rest.next() == Some(':') {
            chars.next();
            chars.next();
            continue;
        }
        paths.push(prefix);
        return;
    }
}

/// The file a module path lands in: its longest prefix that is a file of the library.
fn file_of<'a>(
    path: &[String],
    modules: &'a BTreeMap<Vec<String>, PathBuf>,
) -> Option<(&'a Vec<String>, &'a PathBuf)> {
    (1..=path.len())
        .rev()
        .find_map(|len| modules.get_key_value(&path[..len]))
}

/// Which files each file uses.
fn file_edges(files: &[SourceFile]) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let modules: BTreeMap<Vec<String>, PathBuf> = files
        .iter()
        .map(|file| (file.module.clone(), file.path.clone()))
        .collect();
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for file in files {
        let is_dir_module = file.path.ends_with("mod.rs") || file.path.ends_with("lib.rs");
        // `super` from `a/b.rs` is `a`; from `a/b/mod.rs` it is `a` too.
        let parent = &file.module[..file.module.len().saturating_sub(1)];
        let own_children: BTreeSet<&str> = file
            .code
            .lines()
            .filter_map(|line| {
                let line = line.trim().strip_prefix("pub ").unwrap_or(line.trim());
                line.strip_prefix("mod ")?.strip_suffix(';')
            })
            .collect();
        let mut targets = Vec::new();
        for (index, _) in file.code.match_indices("crate::") {
            targets.extend(paths_after(&file.code[index + "crate::".len()..]));
        }
        for (index, _) in file.code.match_indices("super::") {
            let before = &file.code[..index];
            if before.ends_with("super::") {
                continue;
            }
            let mut base: Vec<String> = parent.to_vec();
            let mut rest = &file.code[index + "super::".len()..];
            while let Some(more) = rest.strip_prefix("super::") {
                base.pop();
                rest = more;
            }
            for path in paths_after(rest) {
                targets.push(base.iter().cloned().chain(path).collect());
            }
        }
        if is_dir_module || !own_children.is_empty() {
            for child in &own_children {
                for (index, _) in file.code.match_indices(&format!("{child}::")) {
                    let boundary = file.code[..index]
                        .chars()
                        .next_back()
                        .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'));
                    if !boundary {
                        continue;
                    }
                    for path in paths_after(&file.code[index..]) {
                        targets.push(file.module.iter().cloned().chain(path).collect());
                    }
                }
            }
        }
        for target in targets {
            if let Some((_, target_file)) = file_of(&target, &modules)
                && *target_file != file.path
            {
                edges
                    .entry(file.path.clone())
                    .or_default()
                    .insert(target_file.clone());
            }
        }
    }
    edges
}

/// The strongly connected groups of more than one node (Tarjan).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        groups: Vec<Vec<String>>,
    }
    fn visit<'a>(state: &mut State<'a>, node: &'a str) {
        let next = state.index.len();
        state.index.insert(node, next);
        state.low.insert(node, next);
        state.stack.push(node);
        state.on_stack.insert(node);
        if let Some(targets) = state.edges.get(node) {
            for target in targets {
                if !state.index.contains_key(target.as_str()) {
                    visit(state, target);
                    let low = state.low[target.as_str()].min(state.low[node]);
                    state.low.insert(node, low);
                } else if state.on_stack.contains(target.as_str()) {
                    let low = state.index[target.as_str()].min(state.low[node]);
                    state.low.insert(node, low);
                }
            }
        }
        if state.low[node] == state.index[node] {
            let mut group = Vec::new();
            while let Some(member) = state.stack.pop() {
                state.on_stack.remove(member);
                group.push(member.to_string());
                if member == node {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                state.groups.push(group);
            }
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        groups: Vec::new(),
    };
    for node in edges.keys() {
        if !state.index.contains_key(node.as_str()) {
            visit(&mut state, node);
        }
    }
    state.groups
}

fn top_level(path: &Path) -> String {
    let relative = path.strip_prefix("src").expect("under src");
    let first = relative.iter().next().expect("a component");
    first.to_string_lossy().trim_end_matches(".rs").to_string()
}

fn library() -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let mut files = Vec::new();
    source_files(Path::new("src"), &mut files);
    file_edges(&files)
}

#[test]
fn no_cycle_among_top_level_modules() {
    let mut modules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut why: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (from, targets) in library() {
        if from == Path::new("src/lib.rs") {
            continue;
        }
        for target in targets {
            let (a, b) = (top_level(&from), top_level(&target));
            if a != b {
                modules.entry(a.clone()).or_default().insert(b.clone());
                why.entry((a, b)).or_default().push(format!(
                    "{} -> {}",
                    from.display(),
                    target.display()
                ));
            }
        }
    }
    let groups = cycles(&modules);
    let explain: Vec<String> = groups
        .iter()
        .flat_map(|group| {
            why.iter()
                .filter(|((a, b), _)| group.contains(a) && group.contains(b))
                .flat_map(|(_, reasons)| reasons.clone())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        groups.is_empty(),
        "top-level modules in a cycle: {groups:?}\nthe imports inside them:\n{}",
        explain.join("\n")
    );
}

/// The layers, bottom to top, as `src/lib.rs` lists them: a module uses only those
/// before it.
const LAYERS: [&str; 17] = [
    "findings",
    "sql",
    "db",
    "migration",
    "report",
    "config",
    "lint",
    "catalog",
    "engine",
    "checks",
    "http",
    "supabase",
    "shadow",
    "deploy",
    "pipeline",
    "github",
    "app",
];

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let layer = |module: &str| {
        LAYERS
            .iter()
            .position(|layer| *layer == module)
            .unwrap_or_else(|| panic!("src/{module} is in no layer: add it to LAYERS and lib.rs"))
    };
    let mut upward = Vec::new();
    for (from, targets) in library() {
        if from == Path::new("src/lib.rs") {
            continue;
        }
        for target in targets {
            let (a, b) = (top_level(&from), top_level(&target));
            if layer(&b) > layer(&a) {
                upward.push(format!("{} -> {}", from.display(), target.display()));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports of a higher layer:\n{}",
        upward.join("\n")
    );
    let lib = fs::read_to_string("src/lib.rs").expect("src/lib.rs");
    let listed: Vec<&str> = lib
        .lines()
        .filter_map(|line| line.strip_prefix("//! - `")?.split('`').next())
        .collect();
    assert_eq!(listed, LAYERS, "src/lib.rs lists the layers in their order");
}

#[test]
fn no_two_files_import_each_other() {
    let edges = library();
    let circles: Vec<String> = edges
        .iter()
        .flat_map(|(from, targets)| {
            targets
                .iter()
                .filter(|target| {
                    *from < **target && edges.get(*target).is_some_and(|back| back.contains(from))
                })
                .map(move |target| format!("{} <-> {}", from.display(), target.display()))
        })
        .collect();
    assert!(
        circles.is_empty(),
        "files that import each other:\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_reader_sees_paths() {
    // The reader itself must see what it is meant to see, or the tests above prove nothing.
    let paths = paths_after("{a::b, c::{d, e::F}}, x");
    assert_eq!(
        paths,
        vec![
            vec!["a".to_string(), "b".to_string()],
            vec!["c".to_string(), "d".to_string()],
            vec!["c".to_string(), "e".to_string(), "F".to_string()],
        ]
    );
    let edges = library();
    let uses = |file: &str, other: &str| edges[Path::new(file)].contains(Path::new(other));
    // Through `crate::`, through a child module's name, through `super::`.
    assert!(uses("src/lint/rules/mod.rs", "src/lint/rule.rs"));
    assert!(uses(
        "src/lint/rules/mod.rs",
        "src/lint/rules/no_drop_table.rs"
    ));
    assert!(uses(
        "src/supabase/api/query.rs",
        "src/supabase/api/client.rs"
    ));
}
