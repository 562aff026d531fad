#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# package-checks.sh: can the crates be published, and built by docs.rs?
# Run by `make rust-host-test` (bindings/rust/rust.mk) with CARGO and
# CARGO_TARGET_DIR set; each check prints one libtest-style line
# ("test result: ok. 1 passed; 0 failed; ...") that tests/rust/
# libtest-counts.sh adds to rust-host.counts.  Exit status 1 when one
# failed.
#
#   package     `cargo package --workspace`: both .crate files, each built
#               from its unpacked copy (hmm-mirror against the packaged
#               hmm-mirror-sys through cargo's temporary local registry,
#               so nothing has to be on crates.io yet).  Needs the
#               crates.io index, like any cargo build on a fresh machine.
#   contents    hmm-mirror-sys carries every file of bindings/c/src,
#               libhmm_mirror.h and abi/hmm_mirror.h; both crates carry
#               LICENSE.
#   docs.rs     what docs.rs does: DOCS_RS=1, rustdoc -D warnings, and a
#               C compiler that fails, so any C build fails the check.
set -u

cd "$(dirname "$0")/../../bindings/rust" || exit 1
CARGO=${CARGO:-cargo}
: "${CARGO_TARGET_DIR:?CARGO_TARGET_DIR must be set (rust.mk does)}"
rc=0

check() {
	local name=$1
	shift
	if "$@"; then
		echo "test result: ok. 1 passed; 0 failed; 0 ignored; ($name)"
	else
		echo "test result: FAILED. 0 passed; 1 failed; 0 ignored; ($name)"
		rc=1
	fi
}

# --allow-dirty: the check is about the tree as it is, committed or not.
#
# To build hmm-mirror against the packaged hmm-mirror-sys, cargo unpacks
# the latter into $CARGO_HOME/registry/src/-<hash of the temporary
# registry's path>/hmm-mirror-sys-<version>, and reuses that copy as long
# as it exists: with the version unchanged, a change to hmm-mirror-sys
# (a new function, say) would be verified against the copy of the first
# run and fail.  So the packages go to a target directory named after what
# hmm-mirror-sys holds, which moves (and unpacks afresh) when that changes;
# the directories of older contents are removed.
package() {
	local sum dir
	sum=$(cd hmm-mirror-sys &&
		$CARGO package --list --locked --allow-dirty -p hmm-mirror-sys |
		LC_ALL=C sort | while read -r f; do
			[ -f "$f" ] && { echo "$f"; cat "$f"; }
		done | sha256sum | cut -c1-16) || return 1
	dir=$CARGO_TARGET_DIR/package-$sum
	find "$CARGO_TARGET_DIR" -maxdepth 1 -name 'package-*' ! -name "package-$sum" \
		-exec rm -rf {} +
	CARGO_TARGET_DIR=$dir $CARGO package --workspace --locked --allow-dirty
}

# has LIST FILE...: every FILE is a line of LIST.
has() {
	local list=$1 f ok=0
	shift
	for f in "$@"; do
		grep -qxF "$f" <<<"$list" || { echo "package-checks: $f is not in the package" >&2; ok=1; }
	done
	return $ok
}

contents() {
	local sys safe f want=()
	sys=$($CARGO package --list --locked --allow-dirty -p hmm-mirror-sys) || return 1
	safe=$($CARGO package --list --locked --allow-dirty -p hmm-mirror) || return 1
	for f in ../c/src/*.c ../c/src/*.h; do
		want+=("c/src/${f##*/}")
	done
	has "$sys" "${want[@]}" c/include/hmm_mirror/libhmm_mirror.h \
		c/abi/hmm_mirror.h build.rs LICENSE README.md &&
		has "$safe" LICENSE README.md
}

docs_rs() {
	local dir=$CARGO_TARGET_DIR-docsrs
	# A target directory of its own: DOCS_RS changes what build.rs does.
	DOCS_RS=1 CC=/bin/false RUSTDOCFLAGS="-D warnings" CARGO_TARGET_DIR=$dir \
		$CARGO doc --locked --workspace --no-deps || return 1
	if find "$dir" -name 'libhmm_mirror.a' | grep -q .; then
		echo "package-checks: build.rs compiled C with DOCS_RS set" >&2
		return 1
	fi
}

check "cargo package --workspace: both crates build from their .crate files" package
check "the crates carry libhmm_mirror's sources, the ABI header and LICENSE" contents
check "docs.rs build: DOCS_RS=1, no C compiler, rustdoc -D warnings" docs_rs
exit $rc
