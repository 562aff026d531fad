#!/bin/sh
# guest-suite.sh RESULTS SUITE...: run inside the test VM (by `make
# vm-test`).  A GoogleTest binary writes a JSON report to RESULTS (a
# directory the VM runner shares writable).  A script (*.sh, *.py) gets
# HMM_RESULTS=RESULTS and writes RESULTS/<name>.counts ("passed failed
# skipped"), or RESULTS/<name>.json when it runs a GoogleTest binary.  A
# suite that exits without its report counts as one failure.
results=$1
shift
status=0
# Automatic NUMA balancing (on in the two-node guest) unmaps pages at
# random to sample accesses, clearing device entries under tests that
# expect them to stay; the migration tests use move_pages(2) instead.
[ -w /proc/sys/kernel/numa_balancing ] && echo 0 > /proc/sys/kernel/numa_balancing
for suite in "$@"; do
	name=$(basename "$suite")
	name=${name%.*}
	echo "=== $name"
	case "$suite" in
	*.sh|*.py)
		HMM_RESULTS=$results "$suite" || status=1
		report="$results/$name.counts"
		[ -s "$report" ] || report="$results/$name.json"
		;;
	*)
		"$suite" --gtest_output="json:$results/$name.json" || status=1
		report="$results/$name.json"
		;;
	esac
	if [ ! -s "$report" ]; then
		echo "$name: no report (crashed?)"
		echo "0 1 0" > "$results/$name.counts"
		status=1
	fi
done
exit $status
