#!/bin/sh
# tests/rust/run-vm-tests.sh LIST: the Rust suite, run inside the test VM
# (by `make vm-test`, through the wrapper bindings/rust/rust.mk generates,
# which tests/vm/guest-suite.sh runs as the suite "rust").
#
# LIST has one line per program, built on the host:
#   test PATH      a libtest binary of the hmm-mirror crate's tests/*.rs;
#                  its device tests are #[ignore]d on the host, so it runs
#                  with --ignored (one thread: some tests fork)
#   example PATH [ARGS]        a program that exits 0 when its check
#                              passed; counts as one test
#   example-fails PATH [ARGS]  a negative control: must exit 1 (its check
#                              found the fault it was given), not 0 or 2
# Writes $HMM_RESULTS/rust.counts ("passed failed skipped") and exits 1 when
# anything failed.
set -u
list=${1:?usage: run-vm-tests.sh LIST}
results=${HMM_RESULTS:?HMM_RESULTS is not set}
here=$(cd "$(dirname "$0")" && pwd)
log=$(mktemp)

# Automatic NUMA balancing (on in the two-node guest of `make vm-test`)
# write-protects pages of a process that has run for a second or more, so
# the kernel may clear device entries at any moment; the tests check exact
# device page tables and event lists.  Off while they run, then restored.
numa=/proc/sys/kernel/numa_balancing
numa_was=$(cat "$numa" 2>/dev/null)
if [ -n "$numa_was" ] && [ "$numa_was" != 0 ]; then
	echo 0 >"$numa" && trap 'echo "$numa_was" >"$numa"' EXIT
fi
passed=0 failed=0 skipped=0
status=0

add() {	# add "P F S"
	set -- $1
	passed=$((passed + $1)) failed=$((failed + $2)) skipped=$((skipped + $3))
	[ "$2" -eq 0 ] || status=1
}

while read -r kind bin args; do
	[ -n "$kind" ] || continue
	name=$(basename "$bin")
	case "$kind" in
	test)
		echo "--- rust: ${name%-*}"
		"$bin" --ignored --test-threads=1 >"$log" 2>&1
		rc=$?
		cat "$log"
		counts=$("$here/libtest-counts.sh" "$log")
		# A crash after the closing line, or a non-zero exit with no
		# failure counted, is still a failure.
		if [ "$rc" -ne 0 ] && [ "$(echo "$counts" | cut -d' ' -f2)" -eq 0 ]; then
			echo "$name: exit status $rc"
			counts="$(echo "$counts" | cut -d' ' -f1) 1 $(echo "$counts" | cut -d' ' -f3)"
		fi
		add "$counts"
		;;
	example)
		echo "--- rust: example $name $args"
		# shellcheck disable=SC2086 # ARGS are words
		if "$bin" $args; then
			add "1 0 0"
		else
			echo "$name: FAILED (exit status $?)"
			add "0 1 0"
		fi
		;;
	example-fails)
		echo "--- rust: example $name $args (must find a fault: exit 1)"
		# shellcheck disable=SC2086
		"$bin" $args
		rc=$?
		if [ "$rc" -eq 1 ]; then
			echo "$name $args: failed as it must"
			add "1 0 0"
		else
			echo "$name $args: FAILED (exit status $rc, not 1)"
			add "0 1 0"
		fi
		;;
	*)
		echo "run-vm-tests.sh: unknown line in $list: $kind $bin"
		add "0 1 0"
		;;
	esac
done <"$list"
rm -f "$log"

echo "rust: $passed passed, $failed failed, $skipped skipped"
echo "$passed $failed $skipped" >"$results/rust.counts"
exit $status
