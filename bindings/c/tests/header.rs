//! The committed header must be exactly what cbindgen generates from the
//! source: this test fails when they differ. `PLASMITE_BLESS=1` rewrites it.

use std::path::Path;

#[test]
fn committed_header_matches_the_source() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("bindings/c/cbindgen.toml parses");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let path = crate_dir.join("include/plasmite.h");
    if std::env::var_os("PLASMITE_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write include/plasmite.h");
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    if committed != generated {
        let generated = String::from_utf8_lossy(&generated);
        let committed = String::from_utf8_lossy(&committed);
        let first_diff = generated
            .lines()
            .zip(committed.lines())
            .position(|(g, c)| g != c)
            .map_or_else(
                || "one is a prefix of the other".to_owned(),
                |i| format!("first difference at line {}", i + 1),
            );
        panic!(
            "include/plasmite.h is out of date ({first_diff}); regenerate it with \
             PLASMITE_BLESS=1 cargo test -p plasmite-capi --test header"
        );
    }
}
