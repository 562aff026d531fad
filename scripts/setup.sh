#!/usr/bin/env bash
# Install, from Debian packages, everything the build and the tests need.
# Idempotent: only missing packages are installed, apt-get update runs once
# and only when something is missing.
set -euo pipefail

# dwarves (pahole): Debian's 6.12 and 7.x headers ship vmlinux, so modules
# built against them get BTF.  debootstrap: make kernels makes the trixie
# build root for the 7.x kernels (their kbuild needs glibc >= 2.38).
# man-db, groff-base and zsh: the packaging test renders the man pages
# (man --warnings -l) and syntax-checks the zsh completion (zsh -n).
PACKAGES=(
	build-essential
	g++
	libgtest-dev
	qemu-system-x86
	linux-image-amd64
	linux-headers-amd64
	busybox-static
	cpio
	kmod	
	sparse	
	python3
	python3-venv
	libclang-dev
	clang-14
	libclang-rt-14-dev
	man-db
	groff-base
	zsh
	dwarves
	debootstrap
)

# Rust is not taken from Debian: bookworm's cargo (1.63) is older than the
# crates' rust-version (bindings/rust/Cargo.toml).  Say so, do not fail:
# only the Rust suites need it.
if ! command -v cargo >/dev/null 2>&1; then
	echo "setup: cargo not found; the Rust suites need Rust 1.82 or newer, from rustup:" >&2
	echo "setup:   curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt" >&2
fi

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "setup: all packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
