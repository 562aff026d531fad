#!/usr/bin/env bash
# help_check.sh MAKE COUNTS: `make help` is complete and true (run by
# `make help-test`, part of `make test`).  Writes "passed failed 0" to
# COUNTS, one count per check:
#
#   1. every .PHONY target of the Makefile and its fragments has a row in
#      `make help` ("target: ... ## text", scripts/make-help.awk) or is
#      named in HELP_HIDDEN;
#   2. every name in HELP_HIDDEN is a .PHONY target (no stale entry);
#   3. every row of `make help` names a target make knows.
#
# The target list comes from make's own database (make -pq), so a target
# added without a "## " text fails check 1.
set -u
make=${1:?usage: help_check.sh MAKE COUNTS}
counts=${2:?usage: help_check.sh MAKE COUNTS}
cd "$(dirname "$0")/../.." || exit 1

passed=0
failed=0
result() {	# result NAME LIST-OF-OFFENDERS
	if [ -z "$2" ]; then
		echo "make help: ok: $1"
		passed=$((passed + 1))
	else
		echo "make help: FAILED: $1:" $2
		failed=$((failed + 1))
	fi
}

db=$($make --no-print-directory -pq -f Makefile help 2>/dev/null)
phony=$(sed -n 's/^\.PHONY: //p' <<<"$db" | tr ' ' '\n' | sed '/^$/d' | sort -u)
# Every target in the database (rules print as "name: prerequisites").
known=$(sed -n 's/^\([A-Za-z0-9_.-][A-Za-z0-9_.-]*\):.*/\1/p' <<<"$db" | sort -u)
hidden=$(sed -n 's/^HELP_HIDDEN := //p' <<<"$db" | tr ' ' '\n' | sed '/^$/d' | sort -u)
rows=$($make --no-print-directory help | sed -n 's/^  \([A-Za-z0-9_.-][A-Za-z0-9_.-]*\)  *[^ ].*/\1/p' | sort -u)

if [ -z "$phony" ] || [ -z "$rows" ]; then
	echo "make help: FAILED: cannot read make's database or make help" >&2
	echo "0 1 0" >"$counts"
	exit 1
fi

# minus A B: the words of A that are not in B.
minus() {
	comm -23 <(printf '%s\n' $1 | sort -u) <(printf '%s\n' $2 | sort -u) |
		sed '/^$/d' | tr '\n' ' '
}

result "every .PHONY target is in make help or HELP_HIDDEN" "$(minus "$phony" "$rows $hidden")"
result "every HELP_HIDDEN name is a .PHONY target" "$(minus "$hidden" "$phony")"
result "every make help row is a target" "$(minus "$rows" "$known")"

echo "$passed $failed 0" >"$counts"
[ "$failed" -eq 0 ]
