#!/bin/bash
# check-kernel-doc.sh KERNEL_DOC OBJDIR FILE.c... - part of make check.
# Every function a FILE.c defines non-static (a global text symbol of
# OBJDIR/FILE.o, so the compiler, not a pattern, says which; the aliases
# of module_init() and module_exit() aside) has a kernel-doc comment with
# a Context: section, and kernel-doc finds nothing to warn about in the
# FILEs (-Wall where the tool has it, 6.3+; -v before, which adds the
# missing Return: warning).
set -u
kdoc=$1 objdir=$2
shift 2
# Perl up to 6.x, Python from 7.x (a link to tools/docs/kernel-doc).
kdoc() { if [ -x "$kdoc" ]; then "$kdoc" "$@"; else perl "$kdoc" "$@"; fi; }
if kdoc -h 2>&1 | grep -q -- -Wall; then warn=-Wall; else warn=-v; fi
fail=0
out=$(kdoc -none "$warn" "$@" 2>&1 | grep -v ': info: ')
[ -z "$out" ] || { echo "$out"; fail=1; }
for f in "$@"; do
	obj=$objdir/$(basename "${f%.c}").o
	[ -f "$obj" ] || { echo "check-kernel-doc: no $obj (build the module first)"; fail=1; continue; }
	# name<TAB>has a Context section, for each function kernel-doc documents
	docs=$(kdoc -rst "$f" 2>/dev/null | awk '
		/^\.\. c:function::/ { if (fn != "") print fn "\t" ctx
			s = $0; sub(/ *\(.*/, "", s); n = split(s, a, /[ *]+/)
			fn = a[n]; ctx = 0; next }
		/^ *\*\*Context\*\*$/ { ctx = 1 }
		END { if (fn != "") print fn "\t" ctx }')
	for sym in $(nm --defined-only "$obj" | awk '$2 == "T" && $3 != "init_module" && $3 != "cleanup_module" { print $3 }'); do
		case $(printf '%s\n' "$docs" | awk -F '\t' -v s="$sym" '$1 == s { print $2 }') in
		1) ;;
		0) echo "$f: $sym(): kernel-doc without Context:"; fail=1 ;;
		*) echo "$f: $sym(): non-static, no kernel-doc comment"; fail=1 ;;
		esac
	done
done
[ $fail = 0 ] && echo "check-kernel-doc: $# files, every non-static function documented"
exit $fail
