#!/usr/bin/env python3
"""Docs name only versions the build produces (make doc-version-test).

The versions live in one place each:

  project   VERSION (the tool, the module, the Rust crates, the Python
            package)
  library   the HMM_MIRROR_LIB_VERSION_* macros of libhmm_mirror.h (the
            Makefile fragment names the .so after them)
  ABI       HMM_MIRROR_ABI_VERSION of abi/hmm_mirror.h
  symbols   the version nodes of bindings/c/libhmm_mirror.map

Every other mention is checked against them: "libhmm_mirror.so.X.Y.Z",
"libhmm_mirror X.Y.Z", a quoted "X.Y.Z" on a line about the library's
version (lib_version() docs in C, Rust and Python), HMM_MIRROR_X.Y symbol
versions, "hmm-mirror X.Y.Z", "the current ABI version is N", "speaks ABI
version N", the `loaded` and `ABI version` lines of `info` samples, and the
package versions of Cargo.toml, Cargo.lock, pyproject.toml and
__version__.  CHANGELOG.md is history and is not checked.

Usage: doc_versions_check.py [COUNTS]; writes "passed failed 0" to COUNTS.
Exits 1 on a mismatch, printing FILE:LINE and what it should say.
"""
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".git", "build", "target", "__pycache__", ".venv", "node_modules"}
SKIP_FILES = {"CHANGELOG.md"}
SUFFIXES = {".md", ".in", ".h", ".c", ".cc", ".rs", ".py", ".toml", ".lock",
            ".map", ".txt", ".1", ".3"}


def read(rel: str) -> str:
    return (ROOT / rel).read_text()


def truth() -> dict:
    header = read("bindings/c/include/hmm_mirror/libhmm_mirror.h")
    lib = ".".join(re.search(r"#define HMM_MIRROR_LIB_VERSION_%s\s+(\d+)" % p,
                             header).group(1)
                   for p in ("MAJOR", "MINOR", "PATCH"))
    abi = re.search(r"#define HMM_MIRROR_ABI_VERSION\s+(\d+)",
                    read("abi/hmm_mirror.h")).group(1)
    nodes = re.findall(r"^(HMM_MIRROR_\d+\.\d+)\s*\{",
                       read("bindings/c/libhmm_mirror.map"), re.M)
    return {"project": read("VERSION").strip(), "lib": lib, "abi": abi,
            "nodes": nodes}


def files():
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        for name in filenames:
            path = Path(dirpath) / name
            if name in SKIP_FILES or path.suffix not in SUFFIXES:
                continue
            if path.resolve() == Path(__file__).resolve():
                continue
            yield path


def main() -> int:
    t = truth()
    lib, abi, project = t["lib"], t["abi"], t["project"]
    major, minor = lib.split(".")[:2]
    problems = []
    checks = 0

    # The build itself: the newest symbol node is the library's MAJOR.MINOR.
    checks += 1
    if not t["nodes"] or t["nodes"][-1] != "HMM_MIRROR_%s.%s" % (major, minor):
        problems.append("bindings/c/libhmm_mirror.map: newest node %s, library %s"
                        % (t["nodes"][-1:] or "none", lib))

    # Only docs state the current ABI version; code and tests name older ones.
    doc_suffixes = {".md", ".in", ".1", ".3"}
    rules = [
        # (regex, expected, what, applies to docs only)
        (r"libhmm_mirror\.so\.(\d+\.\d+\.\d+)", lib, "library version", False),
        (r"libhmm_mirror[ ,]+(?:version )?(\d+\.\d+\.\d+)", lib,
         "library version", False),
        (r"(?:lib_version|libhmm_mirror|library's version)[^\n]*?\"(\d+\.\d+\.\d+)\"",
         lib, "library version", False),
        (r"\bHMM_MIRROR_(\d+\.\d+)\b", None, "symbol version node", False),
        (r"\bhmm-mirror (\d+\.\d+\.\d+)", project, "project version (VERSION)",
         False),
        (r"^\s+loaded\s+yes, version (\d+\.\d+\.\d+)", project,
         "module version (info sample)", True),
        (r"current ABI version is \**(\d+)", abi, "ABI version", True),
        (r"speaks ABI version (\d+)", abi, "ABI version", True),
        (r"^\s+ABI version\s{2,}(\d+)\s*$", abi, "ABI version (info sample)",
         True),
    ]
    for path in files():
        rel = path.relative_to(ROOT)
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        for regex, want, what, docs_only in rules:
            if docs_only and path.suffix not in doc_suffixes:
                continue
            for m in re.finditer(regex, text, re.M):
                checks += 1
                got = m.group(1)
                line = text.count("\n", 0, m.start()) + 1
                if want is None:
                    ok = "HMM_MIRROR_" + got in t["nodes"]
                    expect = "one of " + ", ".join(t["nodes"])
                else:
                    ok = got == want
                    expect = want
                if not ok:
                    problems.append("%s:%d: %s %s, the build has %s"
                                    % (rel, line, what, got, expect))

    # Package versions follow VERSION.
    pkgs = [
        ("bindings/rust/Cargo.toml", r'^\[workspace\.package\][^\[]*?^version = "([^"]+)"'),
        ("bindings/rust/Cargo.toml", r'hmm-mirror-sys = \{[^}]*version = "([^"]+)"'),
        ("bindings/rust/Cargo.lock", r'name = "hmm-mirror"\nversion = "([^"]+)"'),
        ("bindings/rust/Cargo.lock", r'name = "hmm-mirror-sys"\nversion = "([^"]+)"'),
        ("bindings/python/pyproject.toml", r'^version = "([^"]+)"'),
        ("bindings/python/src/hmm_mirror/__init__.py", r'^__version__ = "([^"]+)"'),
    ]
    for rel, regex in pkgs:
        checks += 1
        m = re.search(regex, read(rel), re.M | re.S)
        if not m:
            problems.append("%s: no version found (%s)" % (rel, regex))
        elif m.group(1) != project:
            problems.append("%s: package version %s, VERSION has %s"
                            % (rel, m.group(1), project))

    for p in problems:
        print("doc versions: FAILED: " + p)
    print("doc versions: %d checks, %d wrong (project %s, libhmm_mirror %s, "
          "ABI %s, symbol nodes %s)" % (checks, len(problems), project, lib,
                                        abi, " ".join(t["nodes"])))
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text("%d %d 0\n" % (checks - len(problems),
                                                    len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
