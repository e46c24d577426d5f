//! No import cycle between sibling modules: a feature may use the store, the context and other
//! features, but nothing it uses may use it back. Read from the sources, so a new cycle fails the
//! build where it is made. Tests (after `#[cfg(test)]`) may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// `alerts/duty.rs` is `["alerts", "duty"]`; `alerts/mod.rs` and `lib.rs` name their folder.
fn module_of(root: &Path, file: &Path) -> Vec<String> {
    let mut parts: Vec<String> =
        file.strip_prefix(root).unwrap().with_extension("").iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// Each module path a file names through `crate::` or `super::`.
fn references(module: &[String], is_mod_file: bool, text: &str) -> Vec<Vec<String>> {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    let mut found = Vec::new();
    for (at, _) in code.match_indices("::") {
        let before = &code[..at];
        let start = before.rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).map_or(0, |i| i + 1);
        if start != at - before[start..].len() || !(before[start..].starts_with("crate") || before[start..].starts_with("super")) {
            continue;
        }
        let path: Vec<&str> =
            code[start..].split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).next().unwrap_or_default().split("::").collect();
        let (head, rest) = path.split_first().unwrap();
        if before[start..].len() != head.len() {
            continue;
        }
        let mut target: Vec<String> = match *head {
            "crate" => Vec::new(),
            "super" => module[..module.len() - usize::from(!is_mod_file) - 1.min(module.len())].to_vec(),
            _ => continue,
        };
        target.extend(rest.iter().take_while(|p| **p != "super").map(|p| p.to_string()));
        found.push(target);
    }
    found
}

#[test]
fn no_new_import_cycle_between_sibling_modules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    // Per parent module: which child uses which sibling.
    let mut edges: BTreeMap<Vec<String>, BTreeSet<(String, String)>> = BTreeMap::new();
    for file in &files {
        let module = module_of(&root, file);
        let is_mod_file = file.file_name().is_some_and(|n| n == "mod.rs" || n == "lib.rs");
        for target in references(&module, is_mod_file, &std::fs::read_to_string(file).unwrap()) {
            let shared = module.iter().zip(&target).take_while(|(a, b)| a == b).count();
            if shared < module.len() && shared < target.len() {
                edges.entry(module[..shared].to_vec()).or_default().insert((module[shared].clone(), target[shared].clone()));
            }
        }
    }
    // A module is on a cycle when what it uses leads back to it.
    let mut on_cycles = Vec::new();
    for (parent, pairs) in &edges {
        for module in pairs.iter().map(|(from, _)| from).collect::<BTreeSet<_>>() {
            let mut seen = BTreeSet::new();
            let mut next: Vec<&String> = pairs.iter().filter(|(a, _)| a == module).map(|(_, b)| b).collect();
            while let Some(at) = next.pop() {
                if seen.insert(at) {
                    next.extend(pairs.iter().filter(|(a, _)| a == at).map(|(_, b)| b));
                }
            }
            if seen.contains(module) {
                on_cycles.push(if parent.is_empty() { module.clone() } else { format!("{}::{module}", parent.join("::")) });
            }
        }
    }
    assert!(on_cycles.is_empty(), "modules on an import cycle with a sibling: {on_cycles:?}");
}
