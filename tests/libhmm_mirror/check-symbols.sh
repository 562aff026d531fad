#!/usr/bin/env bash
# check-symbols.sh SO MAP HEADER COUNTS: the shared library's ABI.
#   - the soname is libhmm_mirror.so.<major>
#   - it exports exactly the functions of the version script, each with
#     the version of the node that lists it (HMM_MIRROR_1.0, 1.1, ...),
#     and nothing else
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
# "VERSION name" for every function of the version script, by its node.
want=$(awk '/^HMM_MIRROR_[0-9.]+ *\{/ { node = $1 }
	/^[[:space:]]*hmm_mirror_[a-z_0-9]*;/ { gsub(/[[:space:];]/, ""); print node, $0 }' "$map" | sort)
diff=$(diff <(echo "$exported") <(echo "$want"))
check "every exported symbol has the version of its node in the version script" $? "$diff"

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
