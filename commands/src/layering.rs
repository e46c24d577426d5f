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

/// The code a file compiles outside its tests: line comments dropped (their paths name no
/// dependency), an inline `mod tests { … }` and a `#[cfg(test)] mod …;` left out.
fn code_of(text: &str) -> String {
    let mut code = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]" {
            let next = lines.peek().map(|l| l.trim()).unwrap_or_default();
            if next.starts_with("mod ") && next.ends_with('{') {
                break;
            }
            while lines.peek().is_some_and(|l| l.trim().starts_with("#[")) {
                lines.next();
            }
            lines.next();
            continue;
        }
        code.push_str(line.split("//").next().unwrap_or_default());
        code.push('\n');
    }
    code
}

/// The first names a `use` tree or a path reaches from `text` (which follows `crate::` or
/// `super::`): `a::b` gives `a`; `{a, b::c, self}` gives `a` and `b`.
fn first_names(text: &str) -> Vec<String> {
    let text = text.trim_start();
    if let Some(group) = text.strip_prefix('{') {
        let mut depth = 0;
        let mut items = Vec::new();
        let mut item = String::new();
        for c in group.chars() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(std::mem::take(&mut item));
                    continue;
                }
                _ => {}
            }
            item.push(c);
        }
        items.push(item);
        return items.iter().flat_map(|item| first_names(item)).collect();
    }
    let name: String = text.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    match name.as_str() {
        "" | "self" => Vec::new(),
        _ => vec![name],
    }
}

/// Each module a file names through `crate::` or `super::` (any number of them).
fn references(module: &[String], text: &str) -> Vec<Vec<String>> {
    let code = code_of(text);
    let mut found = Vec::new();
    for (at, prefix) in code.match_indices("crate::").chain(code.match_indices("super::")) {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let mut base: Vec<String> = match prefix {
            "crate::" => Vec::new(),
            _ => module[..module.len().saturating_sub(1)].to_vec(),
        };
        let mut rest = &code[at + prefix.len()..];
        while let Some(after) = rest.strip_prefix("super::") {
            base.pop();
            rest = after;
        }
        for name in first_names(rest) {
            let mut target = base.clone();
            target.push(name);
            found.push(target);
        }
    }
    found
}

#[test]
fn no_import_cycle_between_sibling_modules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    // Per parent module: which child uses which sibling.
    let mut edges: BTreeMap<Vec<String>, BTreeSet<(String, String)>> = BTreeMap::new();
    for file in &files {
        let module = module_of(&root, file);
        for target in references(&module, &std::fs::read_to_string(file).unwrap()) {
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
