#!/bin/sh
# guest-suite.sh RESULTS BINARY...: run inside the test VM (by `make
# vm-test`).  Runs each GoogleTest binary with a JSON report in RESULTS
# (a directory the VM runner shares writable); a binary that dies without
# writing its report is recorded as one failure.
results=$1
shift
status=0
for bin in "$@"; do
	name=$(basename "$bin")
	echo "=== $name"
	"$bin" --gtest_output="json:$results/$name.json" || status=1
	if [ ! -s "$results/$name.json" ]; then
		echo "$name: no report (crashed?)"
		echo "0 1 0" > "$results/$name.counts"
		status=1
	fi
done
exit $status
