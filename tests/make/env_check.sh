#!/usr/bin/env bash
# env_check.sh MAKE COUNTS: the kernel variables survive the way
# `make test` starts its second make (run by `make env-test`, part of
# `make test`).  Writes "passed failed skipped" to COUNTS.
#
# `make test` runs setup, which may install the first kernel headers, then
# a new make.  The first make has already exported KDIR, KERNEL and
# VM_MODDIR, empty on a machine that had no headers: the second make must
# treat an empty value as unset and find the kernel itself.  Checked here
# by running make with the three variables empty in the environment, as
# that second make sees them, against a make with them unset.
set -u
make=${1:?usage: env_check.sh MAKE COUNTS}
counts=${2:?usage: env_check.sh MAKE COUNTS}
cd "$(dirname "$0")/../.." || exit 1

passed=0
failed=0
skipped=0
check() {	# check NAME GOT WANT
	if [ "$2" = "$3" ]; then
		echo "make env: ok: $1"
		passed=$((passed + 1))
	else
		echo "make env: FAILED: $1: got '$2', want '$3'"
		failed=$((failed + 1))
	fi
}
show() {	# the kernel variables as one make run resolves them
	$make --no-print-directory -f Makefile \
		--eval='show-kernel-vars: ; @echo "KDIR=$(KDIR) KERNEL=$(KERNEL) VM_MODDIR=$(VM_MODDIR)"' \
		show-kernel-vars "$@" 2>/dev/null
}

unset_env=$(env -u KDIR -u KERNEL -u VM_MODDIR bash -c "$(declare -f show); make='$make'; show")
empty_env=$(KDIR= KERNEL= VM_MODDIR= bash -c "$(declare -f show); make='$make'; show")
check "empty KDIR, KERNEL, VM_MODDIR in the environment count as unset" "$empty_env" "$unset_env"

# The real path: a make that exported them empty starts another make.
nested=$(KDIR= KERNEL= VM_MODDIR= $make --no-print-directory -f Makefile \
	--eval='nested-kernel-vars: ; @env -u MAKEFLAGS $(MAKE) --no-print-directory --eval='"'"'inner: ; @echo "KDIR=$$(KDIR) KERNEL=$$(KERNEL) VM_MODDIR=$$(VM_MODDIR)"'"'"' inner' \
	nested-kernel-vars 2>/dev/null)
check "a make started by a make that exported them empty finds the kernel" "$nested" "$unset_env"

if ls -d /usr/src/linux-headers-*-amd64 >/dev/null 2>&1; then
	case $unset_env in
	KDIR=/usr/src/linux-headers-*-amd64\ KERNEL=/*) check "the default is an installed kernel" yes yes ;;
	*) check "the default is an installed kernel" "$unset_env" "KDIR=/usr/src/linux-headers-*-amd64 KERNEL=/boot/..." ;;
	esac
else
	echo "make env: skipped: no /usr/src/linux-headers-*-amd64 (the default kernel)"
	skipped=$((skipped + 1))
fi

# Which VM run make test's second make picks: every kernel of the matrix,
# unless the caller named one with KDIR= (command line or environment).
target() {	# the VM_TEST_TARGET of a make started by a make run with "$@"
	env -u HMM_KERNEL_CHOSEN -u KDIR -u KERNEL -u VM_MODDIR "$@" --no-print-directory -f Makefile \
		--eval='outer-target: ; @$(MAKE) --no-print-directory --eval='"'"'inner: ; @echo $$(VM_TEST_TARGET)'"'"' inner' \
		outer-target 2>/dev/null
}
kdir=${unset_env#KDIR=}
kdir=${kdir%% *}
check "make test without KDIR runs the VM suites on every kernel" "$(target $make)" vm-matrix
check "make test KDIR=... runs them on that kernel" "$(target $make KDIR="$kdir")" vm-test
check "KDIR=... make test (environment) runs them on that kernel" "$(target env KDIR="$kdir" $make)" vm-test

# A value given on the command line still wins.
cmdline=$(KDIR= $make --no-print-directory -f Makefile --eval='kdir: ; @echo "$(KDIR)"' kdir KDIR=/nonexistent 2>/dev/null)
check "KDIR= on the command line wins" "$cmdline" /nonexistent

echo "$passed $failed $skipped" >"$counts"
[ "$failed" -eq 0 ]
