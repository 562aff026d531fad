#!/bin/sh
# libtest-counts.sh [FILE...]: sum libtest's closing lines ("test result:
# ok. N passed; M failed; K ignored; ...") of one or more test binaries'
# output and print "passed failed skipped".  Prints "0 1 0" when there is
# no such line at all (the build or the binary failed before any test).
awk '
/^test result: / {
	for (i = 1; i <= NF; i++) {
		if ($(i + 1) ~ /^passed;?$/) p += $i
		if ($(i + 1) ~ /^failed;?$/) f += $i
		if ($(i + 1) ~ /^ignored;?$/) s += $i
	}
	n++
}
END {
	if (!n) { print "0 1 0"; exit }
	print p + 0, f + 0, s + 0
}' "$@"
