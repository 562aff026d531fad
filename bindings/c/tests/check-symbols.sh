#!/usr/bin/env bash
# check-symbols.sh SO MAP HEADER COUNTS: the shared library's ABI.
#   - the soname is libhmm_mirror.so.<major>
#   - it exports exactly the functions of the version script, each with
#     version HMM_MIRROR_1.0, and nothing else
#   - the header declares exactly those functions
# Prints one line per check and writes "passed failed 0" to COUNTS.
set -u
so=$1 map=$2 header=$3 counts=$4
passed=0 failed=0
check() {	# check NAME OK-STATUS DETAILS
	if [ "$2" -eq 0 ]; then
		echo "PASS  $1"; passed=$((passed + 1))
	else
		echo "FAIL  $1"; [ -n "$3" ] && echo "$3" | sed 's/^/      /'
		failed=$((failed + 1))
	fi
}

soname=$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "libhmm_mirror.so.1" ]
check "soname is libhmm_mirror.so.1 (got '$soname')" $? ""

exported=$(objdump -T "$so" | awk '/ D[FO] / && !/\*UND\*/ && !/\*ABS\*/ { print $(NF-1), $NF }' | sort)
versions=$(echo "$exported" | awk '{ print $1 }' | sort -u | grep -v '^HMM_MIRROR_1.0$')
[ -z "$versions" ]
check "every exported symbol has version HMM_MIRROR_1.0" $? "$versions"

names=$(echo "$exported" | awk '{ print $2 }' | sort)
in_map=$(sed -n 's/^[[:space:]]*\(hmm_mirror_[a-z_0-9]*\);.*/\1/p' "$map" | sort)
diff=$(diff <(echo "$names") <(echo "$in_map"))
check "exports match the version script" $? "$diff"

declared=$(grep -E '^[a-z].*\bhmm_mirror_[a-z_0-9]+\(' "$header" | grep -v '^static' |
	sed -E 's/.*\b(hmm_mirror_[a-z_0-9]+)\(.*/\1/' | sort)
diff=$(diff <(echo "$declared") <(echo "$in_map"))
check "the header declares exactly the exported functions" $? "$diff"

echo "$passed $failed 0" > "$counts"
[ "$failed" -eq 0 ]
