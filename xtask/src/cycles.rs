//! The house rule "no circles between files": inside each crate's `src/`, the files that
//! name each other through `crate::` or `super::` paths must form no cycle.
//!
//! A file is its module (`a/b.rs` and `a/b/mod.rs` are `a::b`). A path names the longest
//! module prefix that is a file; a file naming one of its own ancestors or descendants does
//! not count (a parent declares its children, a child uses its parent's items). Comments,
//! doc comments included, and `#[cfg(test)] mod tests` blocks are skipped: doc links and test
//! helpers are not dependencies.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// Each cycle in the crate whose sources are under `src`, as the modules in it.
pub(crate) fn cycles(src: &Path) -> Vec<Vec<String>> {
    let mut files = BTreeMap::new();
    collect(src, src, &mut files);
    let modules: BTreeSet<Module> = files.keys().cloned().collect();
    let mut graph: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, path) in &files {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let edges = graph.entry(module.clone()).or_default();
        for reference in references(&code_only(&text), module) {
            let Some(target) = (1..=reference.len())
                .rev()
                .map(|len| reference[..len].to_vec())
                .find(|prefix| modules.contains(prefix))
            else {
                continue;
            };
            let related = module.starts_with(&target) || target.starts_with(module);
            if !related {
                edges.insert(target);
            }
        }
    }
    strongly_connected(&graph)
        .into_iter()
        .filter(|component| component.len() > 1)
        .map(|component| component.iter().map(|module| module.join("::")).collect())
        .collect()
}

fn collect(root: &Path, dir: &Path, files: &mut BTreeMap<Module, PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let relative = path.strip_prefix(root).unwrap_or(&path).with_extension("");
            let mut module: Module = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect();
            if module
                .last()
                .is_some_and(|last| ["mod", "lib", "main"].contains(&last.as_str()))
            {
                module.pop();
            }
            files.insert(module, path);
        }
    }
}

/// The text without comments and without a trailing `#[cfg(test)] mod tests` block.
fn code_only(text: &str) -> String {
    let text = text
        .find("#[cfg(test)]\nmod tests")
        .map_or(text, |at| &text[..at]);
    text.lines()
        .map(|line| line.split_once("//").map_or(line, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module paths `text` names, resolved from `module`: `crate::a::b`, `super::a`, and the
/// members of `use crate::{a, b::c}` groups.
fn references(text: &str, module: &Module) -> Vec<Module> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices("crate::") {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for member in group[..end].split(',') {
                found.push(path_of(member.trim()));
            }
        } else {
            found.push(path_of(rest));
        }
    }
    for (at, _) in text.match_indices("super::") {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let mut rest = &text[at..];
        let mut ups = 0;
        while let Some(after) = rest.strip_prefix("super::") {
            ups += 1;
            rest = after;
        }
        if ups <= module.len() {
            let mut path = module[..module.len() - ups].to_vec();
            path.extend(path_of(rest));
            found.push(path);
        }
    }
    found
}

/// The leading `a::b::c` of `text`.
fn path_of(text: &str) -> Module {
    let mut path = Vec::new();
    let mut rest = text;
    loop {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            break;
        }
        rest = &rest[name.len()..];
        path.push(name);
        match rest.strip_prefix("::") {
            Some(after) => rest = after,
            None => break,
        }
    }
    path
}

/// Tarjan's algorithm, iteratively.
fn strongly_connected(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<&Module>> {
    let nodes: Vec<&Module> = graph.keys().collect();
    let index_of: BTreeMap<&Module, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, node)| (*node, i))
        .collect();
    let edges: Vec<Vec<usize>> = nodes
        .iter()
        .map(|node| {
            graph[*node]
                .iter()
                .filter_map(|target| index_of.get(target).copied())
                .collect()
        })
        .collect();
    let mut index = vec![usize::MAX; nodes.len()];
    let mut low = vec![0; nodes.len()];
    let mut on_stack = vec![false; nodes.len()];
    let mut stack = Vec::new();
    let mut components = Vec::new();
    let mut counter = 0;
    for start in 0..nodes.len() {
        if index[start] != usize::MAX {
            continue;
        }
        let mut work = vec![(start, 0)];
        while let Some((node, edge)) = work.pop() {
            if edge == 0 {
                index[node] = counter;
                low[node] = counter;
                counter += 1;
                stack.push(node);
                on_stack[node] = true;
            }
            if let Some(&next) = edges[node].get(edge) {
                work.push((node, edge + 1));
                if index[next] == usize::MAX {
                    work.push((next, 0));
                } else if on_stack[next] {
                    low[node] = low[node].min(index[next]);
                }
                continue;
            }
            if low[node] == index[node] {
                let mut component = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component.push(nodes[member]);
                    if member == node {
                        break;
                    }
                }
                components.push(component);
            }
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[node]);
            }
        }
    }
    components
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crate_with(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-cycles-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn a_cycle_through_three_files_is_found_and_a_line_is_not() {
        let dir = crate_with(
            "ring",
            &[
                ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
                ("a.rs", "use crate::b::B;\n"),
                ("b.rs", "use crate::{c::C, a};\n"),
                (
                    "c.rs",
                    "// use crate::a; (a comment)\nfn f() { super::a::g() }\n",
                ),
            ],
        );
        let found = cycles(&dir);
        assert_eq!(found.len(), 1, "{found:?}");
        let mut members = found[0].clone();
        members.sort();
        assert_eq!(members, ["a", "b", "c"]);

        let dir = crate_with(
            "docs",
            &[
                ("lib.rs", "mod a;\nmod b;\n"),
                (
                    "a.rs",
                    "use crate::b::B;\n/// [`crate::b`] and [`crate::a`]\n",
                ),
                (
                    "b.rs",
                    "//! Uses [`crate::a`] in docs only.\n#[cfg(test)]\nmod tests {\n    use crate::a;\n}\n",
                ),
            ],
        );
        assert!(cycles(&dir).is_empty());
    }

    #[test]
    fn parents_and_children_are_not_cycles() {
        let dir = crate_with(
            "tree",
            &[
                ("lib.rs", "mod store;\nuse crate::store::memory::Memory;\n"),
                (
                    "store/mod.rs",
                    "mod memory;\npub use memory::Memory;\nuse crate::Thing;\n",
                ),
                (
                    "store/memory.rs",
                    "use super::Store;\nuse crate::store::Other;\n",
                ),
            ],
        );
        assert!(cycles(&dir).is_empty());
    }
}
