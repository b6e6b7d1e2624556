//! Gives libplasmite.so its SONAME, so programs linked against it record
//! `libplasmite.so` rather than a build path.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libplasmite.so");
    }
}
