//! No import circle between the code's modules.
//!
//! Every file is a module, and a module may name another only if that one does not, by
//! any chain of names, come back to it: types and pure rules at the bottom, the store's
//! traits over them, the context (`Hourmark`) over the store, and the use cases
//! (`impl Hourmark`, in `use_cases.rs` or the area's use-case files) at the top, where
//! nothing imports them. A newcomer can then read any file knowing that what it names
//! is below it.
//!
//! The check reads each crate's sources with `syn`, from its root through its `mod`
//! items (including `#[path]` mounts: the store's shared area files count once inside each
//! engine). A path that names an item (`crate::…`, `super::…`, `self::…`, a `use` or a
//! name a `use` brought in) is followed through re-exports to the module that defines the
//! item; that is an edge. A `pub use` that only re-exports is not an edge, since nothing
//! in the module uses it. Test code (`#[cfg(test)]`) is left out, and paths written
//! inside macro invocations are not seen.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

type ModPath = Vec<String>;

/// What one module declares and names.
#[derive(Default)]
struct Module {
    /// Items it defines (types, functions, constants, macros) and its child modules.
    defs: BTreeSet<String>,
    children: BTreeSet<String>,
    /// Names its `use` items bring in, with the path each stands for and whether it is public.
    aliases: HashMap<String, (Vec<String>, bool)>,
    /// Its glob imports.
    globs: Vec<Vec<String>>,
    /// Paths its code names, with `pub use` re-exports left out.
    named: Vec<Vec<String>>,
    /// First segments of the paths its code (not its `use` items) names.
    idents: BTreeSet<String>,
    /// The `pub use` items, kept aside until `idents` says whether the module uses them.
    reexports: Vec<(String, Vec<String>)>,
}

fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs
        .iter()
        .any(|a| a.path().is_ident("cfg") && a.parse_args::<syn::Meta>().is_ok_and(|m| m.path().is_ident("test")))
}

fn path_attr(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find(|a| a.path().is_ident("path")).and_then(|a| match &a.meta {
        syn::Meta::NameValue(nv) => match &nv.value {
            syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
}

/// Flattens a use tree into (path, the name it binds, glob?).
fn flatten(prefix: &[String], tree: &syn::UseTree, out: &mut Vec<(Vec<String>, Option<String>)>) {
    match tree {
        syn::UseTree::Path(p) => {
            let mut next = prefix.to_vec();
            next.push(p.ident.to_string());
            flatten(&next, &p.tree, out);
        }
        syn::UseTree::Name(n) => {
            let mut path = prefix.to_vec();
            let name = n.ident.to_string();
            if name == "self" {
                let last = path.last().cloned();
                out.push((path, last));
            } else {
                path.push(name.clone());
                out.push((path, Some(name)));
            }
        }
        syn::UseTree::Rename(r) => {
            let mut path = prefix.to_vec();
            path.push(r.ident.to_string());
            out.push((path, Some(r.rename.to_string())));
        }
        syn::UseTree::Glob(_) => out.push((prefix.to_vec(), None)),
        syn::UseTree::Group(g) => g.items.iter().for_each(|t| flatten(prefix, t, out)),
    }
}

/// Collects the paths named in a module's code.
struct Paths<'a>(&'a mut Module);

impl<'ast> Visit<'ast> for Paths<'_> {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if let Some(first) = segments.first() {
            self.0.idents.insert(first.clone());
        }
        self.0.named.push(segments);
        syn::visit::visit_path(self, path);
    }

    /// `pub(crate)`, `pub(super)`, `pub(in …)` say who may see an item; they import nothing.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_item(&mut self, item: &'ast syn::Item) {
        // Child modules and test code are not this module's code. The module's own `use`
        // items are read apart; one inside a function names what it imports.
        if let syn::Item::Mod(_) = item {
            return;
        }
        if let syn::Item::Use(u) = item {
            let mut flat = Vec::new();
            flatten(&[], &u.tree, &mut flat);
            self.0.named.extend(flat.into_iter().map(|(path, _)| path));
            return;
        }
        if item_attrs(item).is_some_and(is_test) {
            return;
        }
        syn::visit::visit_item(self, item);
    }
}

fn item_attrs(item: &syn::Item) -> Option<&[syn::Attribute]> {
    Some(match item {
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Macro(i) => &i.attrs,
        syn::Item::Mod(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Trait(i) => &i.attrs,
        syn::Item::Type(i) => &i.attrs,
        syn::Item::Union(i) => &i.attrs,
        syn::Item::Use(i) => &i.attrs,
        _ => return None,
    })
}

/// Reads a module's items (a file, or an inline module's body) into `modules`.
fn read_items(
    items: &[syn::Item],
    here: &ModPath,
    (dir, file_dir): (&Path, &Path),
    modules: &mut BTreeMap<ModPath, Module>,
    files: &mut BTreeMap<ModPath, PathBuf>,
) {
    let mut module = modules.remove(here).unwrap_or_default();
    for item in items {
        if item_attrs(item).is_some_and(is_test) {
            continue;
        }
        let name = match item {
            syn::Item::Const(i) => Some(i.ident.to_string()),
            syn::Item::Enum(i) => Some(i.ident.to_string()),
            syn::Item::Fn(i) => Some(i.sig.ident.to_string()),
            syn::Item::Static(i) => Some(i.ident.to_string()),
            syn::Item::Struct(i) => Some(i.ident.to_string()),
            syn::Item::Trait(i) => Some(i.ident.to_string()),
            syn::Item::Type(i) => Some(i.ident.to_string()),
            syn::Item::Union(i) => Some(i.ident.to_string()),
            syn::Item::Macro(i) => i.ident.as_ref().map(ToString::to_string),
            _ => None,
        };
        if let Some(name) = name {
            module.defs.insert(name);
        }
        if let syn::Item::Use(u) = item {
            let public = !matches!(u.vis, syn::Visibility::Inherited);
            let mut flat = Vec::new();
            flatten(&[], &u.tree, &mut flat);
            for (path, bound) in flat {
                match bound {
                    None => module.globs.push(path),
                    Some(bound) => {
                        module.aliases.insert(bound.clone(), (path.clone(), public));
                        if public {
                            module.reexports.push((bound, path));
                        } else {
                            module.named.push(path);
                        }
                    }
                }
            }
        }
    }
    let code = items.iter().filter(|i| !matches!(i, syn::Item::Use(_))).cloned().collect();
    Paths(&mut module).visit_file(&syn::File { shebang: None, attrs: Vec::new(), items: code });
    modules.insert(here.clone(), module);
    for item in items {
        let syn::Item::Mod(m) = item else { continue };
        if is_test(&m.attrs) {
            continue;
        }
        let name = m.ident.to_string();
        modules.get_mut(here).expect("read above").children.insert(name.clone());
        let mut child = here.clone();
        child.push(name.clone());
        if let Some((_, inline)) = &m.content {
            read_items(inline, &child, (&dir.join(&name), file_dir), modules, files);
            continue;
        }
        let file = match path_attr(&m.attrs) {
            // A `#[path]` is relative to the folder of the file that declares the module.
            Some(p) => file_dir.join(p),
            None if dir.join(format!("{name}.rs")).exists() => dir.join(format!("{name}.rs")),
            None => dir.join(&name).join("mod.rs"),
        };
        read_file(&file, &child, modules, files);
    }
}

fn read_file(
    file: &Path,
    here: &ModPath,
    modules: &mut BTreeMap<ModPath, Module>,
    files: &mut BTreeMap<ModPath, PathBuf>,
) {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let parsed = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    let parent = file.parent().expect("a file has a folder");
    let dir = if matches!(stem, "mod" | "lib" | "main") { parent.to_path_buf() } else { parent.join(stem) };
    files.insert(here.clone(), file.to_path_buf());
    read_items(&parsed.items, here, (&dir, parent), modules, files);
}

/// Resolves paths to the modules that define what they name.
struct Crate {
    modules: BTreeMap<ModPath, Module>,
}

impl Crate {
    /// A path as written in `at`, made absolute; `None` for another crate's.
    fn absolute(&self, at: &ModPath, path: &[String]) -> Option<Vec<String>> {
        self.absolute_within(at, path, 0)
    }

    /// `absolute`, giving up after a chain of `depth` imports (a name that imports itself,
    /// such as `use serde;`, would go round for ever).
    fn absolute_within(&self, at: &ModPath, path: &[String], depth: usize) -> Option<Vec<String>> {
        let first = path.first()?;
        if depth > 16 {
            return None;
        }
        let mut base = at.clone();
        match first.as_str() {
            "crate" => return Some(path[1..].to_vec()),
            "self" => return Some(at.iter().chain(&path[1..]).cloned().collect()),
            "super" => {
                let mut rest = path;
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
                return Some(base.into_iter().chain(rest.iter().cloned()).collect());
            }
            _ => {}
        }
        let module = self.modules.get(at)?;
        if module.children.contains(first) || module.defs.contains(first) {
            return Some(at.iter().chain(path).cloned().collect());
        }
        if let Some((target, _)) = module.aliases.get(first) {
            let target = target.clone();
            let mut whole = self.absolute_within(at, &target, depth + 1)?;
            whole.extend(path[1..].iter().cloned());
            return Some(whole);
        }
        for glob in &module.globs {
            if let Some(base) = self.absolute_within(at, glob, depth + 1) {
                let mut whole = base;
                whole.extend(path.iter().cloned());
                if self.resolve(&whole, &mut BTreeSet::new()).is_some() {
                    return Some(whole);
                }
            }
        }
        None
    }

    /// The module that defines what an absolute path names.
    fn resolve(&self, path: &[String], seen: &mut BTreeSet<Vec<String>>) -> Option<ModPath> {
        if !seen.insert(path.to_vec()) {
            return None;
        }
        let mut module: ModPath = Vec::new();
        let mut rest = path;
        while let Some(first) = rest.first() {
            if !self.modules.get(&module)?.children.contains(first) {
                break;
            }
            module.push(first.clone());
            rest = &rest[1..];
        }
        let Some(name) = rest.first() else { return Some(module) };
        let here = self.modules.get(&module)?;
        if here.defs.contains(name) {
            return Some(module);
        }
        if let Some((target, _)) = here.aliases.get(name) {
            let mut whole = self.absolute(&module, target)?;
            whole.extend(rest[1..].iter().cloned());
            return self.resolve(&whole, seen);
        }
        for glob in &here.globs {
            if let Some(mut whole) = self.absolute(&module, glob) {
                whole.extend(rest.iter().cloned());
                if let Some(found) = self.resolve(&whole, seen) {
                    return Some(found);
                }
            }
        }
        None
    }

    /// Each module's edges to the modules it names, with one path that made each.
    fn edges(&self) -> BTreeMap<ModPath, BTreeMap<ModPath, String>> {
        let mut edges: BTreeMap<ModPath, BTreeMap<ModPath, String>> = BTreeMap::new();
        for (at, module) in &self.modules {
            let used_reexports =
                module.reexports.iter().filter(|(bound, _)| module.idents.contains(bound)).map(|(_, path)| path);
            for path in module.named.iter().chain(used_reexports) {
                let Some(whole) = self.absolute(at, path) else { continue };
                let Some(target) = self.resolve(&whole, &mut BTreeSet::new()) else { continue };
                if &target != at {
                    edges.entry(at.clone()).or_default().entry(target).or_insert_with(|| path.join("::"));
                }
            }
        }
        edges
    }
}

/// The groups of modules that reach each other (Tarjan), those of more than one only.
fn circles(edges: &BTreeMap<ModPath, BTreeMap<ModPath, String>>) -> Vec<Vec<ModPath>> {
    struct State<'a> {
        edges: &'a BTreeMap<ModPath, BTreeMap<ModPath, String>>,
        index: HashMap<&'a ModPath, usize>,
        low: HashMap<&'a ModPath, usize>,
        stack: Vec<&'a ModPath>,
        groups: Vec<Vec<ModPath>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a ModPath) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        for w in s.edges.get(v).into_iter().flat_map(|e| e.keys()) {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.stack.contains(&w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = Vec::new();
            while let Some(w) = s.stack.pop() {
                group.push(w.clone());
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                s.groups.push(group);
            }
        }
    }
    let mut state = State { edges, index: HashMap::new(), low: HashMap::new(), stack: Vec::new(), groups: Vec::new() };
    for v in edges.keys() {
        if !state.index.contains_key(v) {
            visit(&mut state, v);
        }
    }
    state.groups
}

fn read_crate(root: &Path) -> (Crate, BTreeMap<ModPath, PathBuf>) {
    let mut modules = BTreeMap::new();
    let mut files = BTreeMap::new();
    read_file(root, &Vec::new(), &mut modules, &mut files);
    (Crate { modules }, files)
}

fn name(path: &ModPath) -> String {
    if path.is_empty() { "crate".to_owned() } else { path.join("::") }
}

#[test]
fn no_module_imports_back_from_a_module_that_imports_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let roots = [
        "core/src/lib.rs",
        "http/src/lib.rs",
        "mini-program-api/src/lib.rs",
        "server/src/lib.rs",
        "server/src/main.rs",
        "loadtest/src/main.rs",
    ];
    let mut found = Vec::new();
    for crate_root in roots {
        let (krate, files) = read_crate(&root.join(crate_root));
        let edges = krate.edges();
        if crate_root == "core/src/lib.rs" {
            // The reader must see the core whole, or the check proves nothing.
            assert!(files.len() > 150, "read only {} files of the core", files.len());
            let store =
                edges.get(&vec!["store".to_owned(), "postgres".to_owned(), "shared".to_owned(), "scans".to_owned()]);
            assert!(
                store.is_some_and(|e| !e.is_empty()),
                "the store's shared files, mounted by #[path], were not read"
            );
        }
        for group in circles(&edges) {
            let members: BTreeSet<&ModPath> = group.iter().collect();
            let mut lines = Vec::new();
            for from in &group {
                for (to, via) in edges.get(from).into_iter().flatten() {
                    if members.contains(to) {
                        lines.push(format!("  {} -> {} ({via})", name(from), name(to)));
                    }
                }
            }
            lines.sort();
            found.push(format!("{crate_root}: {} modules import each other:\n{}", group.len(), lines.join("\n")));
        }
    }
    assert!(found.is_empty(), "import circles:\n{}", found.join("\n"));
}

#[test]
fn the_check_sees_a_circle_when_there_is_one() {
    let dir = std::env::temp_dir().join(format!("hourmark-structure-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("area")).expect("temp folder");
    std::fs::write(dir.join("lib.rs"), "mod area;\nmod store;\npub use area::Kind;\n").expect("write");
    std::fs::write(
        dir.join("area.rs"),
        "mod use_cases;\npub struct Kind;\npub fn rule(k: &crate::store::Row) -> bool { let _ = k; true }\n",
    )
    .expect("write");
    std::fs::write(dir.join("area/use_cases.rs"), "use super::*;\nfn go(_: Kind) {}\n").expect("write");
    std::fs::write(dir.join("store.rs"), "use crate::Kind;\npub struct Row(pub Kind);\n").expect("write");
    let (krate, _) = read_crate(&dir.join("lib.rs"));
    let edges = krate.edges();
    let groups = circles(&edges);
    let names: Vec<Vec<String>> = groups.iter().map(|g| g.iter().map(name).collect()).collect();
    // area names store's Row, and store names area's Kind through the crate root's re-export.
    assert_eq!(names.len(), 1, "{names:?}");
    let mut members = names[0].clone();
    members.sort();
    assert_eq!(members, ["area", "store"]);
    // The use cases name the area (through a glob) and nothing names them: not in a circle.
    let use_cases = vec!["area".to_owned(), "use_cases".to_owned()];
    assert!(edges[&use_cases].contains_key(&vec!["area".to_owned()]), "{edges:?}", edges = edges.get(&use_cases));
    std::fs::remove_dir_all(&dir).ok();
}
