//! Links `bellhop` with packed relative relocations (DT_RELR, glibc 2.36 and binutils 2.38 on):
//! its 1.6 MB table of relocations, read whole and applied at every start, shrinks to a few
//! kilobytes, so a process maps and touches less of the binary (README, "Tests and benchmark").
//! A linker without the option ignores it with a warning.
fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.ends_with("-linux-gnu") {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
