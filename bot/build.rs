//! How `bellhop` is linked, for a process that maps and touches as little of its binary as it can
//! (README, "Tests and benchmark"):
//! - packed relative relocations (DT_RELR, glibc 2.36 and binutils 2.38 on): its 1.6 MB table of
//!   relocations, read whole and applied at every start, shrinks to a few kilobytes; a linker
//!   without the option ignores it with a warning;
//! - the functions in `symbol-order.txt` (`scripts/order-symbols`) first and together: the code a
//!   start and the common commands run fills a few contiguous megabytes, where it was spread over
//!   all of the binary, so the kernel maps less of it around each page touched. Only the LLVM
//!   linker takes the option, which Rust uses by default on x86-64 Linux from 1.90; names it
//!   no longer finds are skipped.
fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.ends_with("-linux-gnu") {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    if target == "x86_64-unknown-linux-gnu" && version_check::is_min_version("1.90.0").unwrap_or(false) {
        let order = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("symbol-order.txt");
        println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}", order.display());
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
        println!("cargo:rerun-if-changed=symbol-order.txt");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
