//! Builds libhmm_mirror, the C library every binding of hmm-mirror sits on.
//!
//! By default the library is compiled from its C sources with the `cc`
//! crate and linked statically, so a Rust program needs nothing installed.
//! The sources are under `c/` in this crate: in the repository `c/src`,
//! `c/include` and `c/abi` are symbolic links to bindings/c/src,
//! bindings/c/include and abi/, and `cargo package` stores the files they
//! point to, so the published crate builds the same way from its copy.
//!
//! With the `pkg-config` feature, or `HMM_MIRROR_SYS_PKG_CONFIG=1` in the
//! environment, an installed libhmm_mirror (`make install-lib`) is found
//! through pkg-config instead and linked dynamically
//! (`HMM_MIRROR_SYS_STATIC=1`: statically).
//!
//! On docs.rs (`DOCS_RS` set) nothing is compiled or linked: rustdoc needs
//! only the declarations in src/bindings.rs.
//!
//! Dependents get the header directory as `DEP_HMM_MIRROR_INCLUDE`.

use std::env;
use std::path::{Path, PathBuf};

fn env_flag(name: &str) -> bool {
    println!("cargo:rerun-if-env-changed={name}");
    env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}

fn from_pkg_config() {
    let lib = pkg_config::Config::new()
        .atleast_version("1.0")
        .statik(env_flag("HMM_MIRROR_SYS_STATIC"))
        .probe("libhmm_mirror")
        .unwrap_or_else(|e| {
            panic!(
                "hmm-mirror-sys: an installed libhmm_mirror was asked for \
                 (pkg-config feature or HMM_MIRROR_SYS_PKG_CONFIG) but \
                 pkg-config does not find it: {e}\n\
                 Install it with `make install-lib` (PKG_CONFIG_PATH for a \
                 non-standard PREFIX), or build from the sources instead."
            )
        });
    if let Some(dir) = lib.include_paths.first() {
        println!("cargo:include={}", dir.display());
    }
}

fn from_sources(c: &Path) {
    let src = c.join("src");
    let include = c.join("include");
    let abi = c.join("abi");
    if !src.join("handle.c").is_file() || !abi.join("hmm_mirror.h").is_file() {
        panic!(
            "hmm-mirror-sys: the libhmm_mirror sources are not at {} (in \
             the repository, c/src, c/include and c/abi are symbolic links \
             to bindings/c/src, bindings/c/include and abi/: a checkout \
             without symbolic links cannot build them).  Or install the \
             library (`make install-lib`) and enable the `pkg-config` \
             feature or set HMM_MIRROR_SYS_PKG_CONFIG=1.",
            src.display()
        );
    }
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&src)
        .expect("read c/src")
        .map(|e| e.expect("read c/src").path())
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    sources.sort();

    // The flags of bindings/c/libhmm_mirror.mk, less -Werror: a newer
    // compiler's new warning must not break a Rust build.
    cc::Build::new()
        .files(&sources)
        .include(&abi)
        .include(&include)
        .define("_GNU_SOURCE", None)
        .std("c11")
        .warnings(true)
        .extra_warnings(true)
        .flag_if_supported("-Wshadow")
        .flag_if_supported("-Wstrict-prototypes")
        .flag("-fvisibility=hidden")
        .compile("hmm_mirror");

    for dir in [&src, &include.join("hmm_mirror"), &abi] {
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    for file in &sources {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    println!("cargo:include={}", include.display());
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DOCS_RS");
    if env::var_os("DOCS_RS").is_some() {
        return;
    }
    if env::var_os("CARGO_FEATURE_PKG_CONFIG").is_some() || env_flag("HMM_MIRROR_SYS_PKG_CONFIG") {
        from_pkg_config();
        return;
    }
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    from_sources(&manifest.join("c"));
}
