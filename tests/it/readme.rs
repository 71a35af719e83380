//! The README stays a map of the code: every area of the core is listed in its layout.

use std::path::Path;

#[test]
fn every_core_module_is_listed_in_the_readme() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let lib = std::fs::read_to_string(root.join("core/src/lib.rs")).expect("core/src/lib.rs");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let modules: Vec<&str> =
        lib.lines().filter_map(|l| l.trim().strip_prefix("pub mod ")).map(|l| l.trim_end_matches(';').trim()).collect();
    assert!(modules.len() > 40, "read core's modules: {modules:?}");
    let missing: Vec<&&str> = modules.iter().filter(|m| !readme.contains(&format!("| `{m}` |"))).collect();
    assert!(missing.is_empty(), "README's layout does not list these core modules: {missing:?}");
}
