#!/usr/bin/env bash
# hmm-selftest.sh: `make hmm-selftest`.  The kernel's own HMM selftest
# (tools/testing/selftests/{mm,vm}/hmm-tests.c of the project kernel's source)
# run against that kernel's test_hmm.ko: the reference row for the parity
# table (tests/kmod/conformance/PARITY.md) and for the device-memory work.
#
# Builds (or reuses) the project kernel (build-kernel.sh; KVER=6.1 or 7.3),
# installs its uapi headers into the build tree (make headers), compiles
# hmm-tests with the selftest harness of the same tree, boots one VM with
# test_hmm.ko loaded and runs it.  The TAP output and a summary go to
# build/hmm-selftest/<release>/; the last line is "N passed, N failed,
# N skipped".  Exit status: 0 when no case failed.
#
# Environment: KVER (6.1 default, 7.3), HMM_SELFTEST_FLAVOUR (default|debug),
# HMM_SELFTEST_TIMEOUT (VM seconds, default 1800), HMM_SELFTEST_ARGS
# (passed to hmm-tests, e.g. "-t migrate").
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$REPO/build}
FLAVOUR=${HMM_SELFTEST_FLAVOUR:-default}
msg() { echo "hmm-selftest: $*" >&2; }
die() { msg "error: $*"; exit 1; }

case ${1:-} in
-h|--help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac

"$REPO/scripts/kernel/build-kernel.sh" "$FLAVOUR" >/dev/null
eval "$("$REPO/scripts/kernel/build-kernel.sh" --print-env "$FLAVOUR")"
[[ -f $TEST_HMM_KO ]] || die "missing $TEST_HMM_KO (CONFIG_TEST_HMM=m?)"
SRC=$(readlink -f "$KDIR/source")
REL=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"/\1/p' "$KDIR/include/generated/utsrelease.h")
OUT=$BUILD/hmm-selftest/$REL
mkdir -p "$OUT"

# The selftest directory moved from vm/ to mm/ in 6.3.
DIR=
for d in "$SRC/tools/testing/selftests/mm" "$SRC/tools/testing/selftests/vm"; do
    [[ -f $d/hmm-tests.c ]] && { DIR=$d; break; }
done
[[ -n $DIR ]] || die "no hmm-tests.c under $SRC/tools/testing/selftests"

if [[ ! -f $KDIR/usr/include/linux/mman.h ]]; then
    msg "installing the uapi headers into $KDIR/usr/include (make headers)"
    make -s -C "$SRC" O="$KDIR" headers >"$OUT/headers.log" 2>&1 ||
        die "make headers failed (see $OUT/headers.log)"
fi

# What the selftest Makefile passes (its top_srcdir, KHDR_INCLUDES and
# TOOLS_INCLUDES), for hmm-tests and the helpers it links with.
BIN=$OUT/hmm-tests
srcs=("$DIR/hmm-tests.c" "$DIR/vm_util.c")
[[ -f $DIR/hugepage_settings.c ]] && grep -q hugepage_settings.h "$DIR/hmm-tests.c" &&
    srcs+=("$DIR/hugepage_settings.c")
[[ -f $DIR/thp_settings.c ]] && grep -q thp_settings.h "$DIR/hmm-tests.c" &&
    srcs+=("$DIR/thp_settings.c")
msg "building $BIN from $DIR"
gcc -Wall -O2 -U_FORTIFY_SOURCE -I "$SRC" -I "$SRC/tools/testing/selftests" -I "$DIR" \
    -isystem "$KDIR/usr/include" -isystem "$SRC/tools/include/uapi" \
    -o "$BIN" "${srcs[@]}" -lrt -lpthread -lm >"$OUT/build.log" 2>&1 ||
    { tail -n 20 "$OUT/build.log" >&2; die "building hmm-tests failed (see $OUT/build.log)"; }

# In the guest: devtmpfs makes /dev/hmm_dmirror*; hmm-tests needs huge pages
# for its hugetlbfs cases.
cat >"$OUT/guest.sh" <<EOF
#!/bin/sh
cd "$OUT" || exit 2
ls /dev/hmm_dmirror* >"\$VM_SCRATCH/devices" 2>&1
"$BIN" ${HMM_SELFTEST_ARGS:-} >"\$VM_SCRATCH/tap.txt" 2>&1
echo \$? >"\$VM_SCRATCH/status"
exit 0
EOF
chmod +x "$OUT/guest.sh"
rm -rf "$OUT/vm"
msg "booting $KERNEL with test_hmm.ko (TCG; the migrate and huge-page cases take minutes)"
KDIR=$KDIR KERNEL=$KERNEL VM_MODDIR=$VM_MODDIR VM_HUGEPAGES=${VM_HUGEPAGES:-64} \
    "$REPO/tests/vm/run-vm.sh" -q --mem 4096 --timeout "${HMM_SELFTEST_TIMEOUT:-1800}" \
    --module "$TEST_HMM_KO" --scratch "$OUT/vm" -- "$OUT/guest.sh" ||
    die "the VM run failed (console: $BUILD/vm/$REL/last-run.log)"
cp "$OUT/vm/tap.txt" "$OUT/tap.txt"

# kselftest_harness prints "ok N name", "ok N name # SKIP why", "not ok N name".
pass=$(grep -cE '^ok [0-9]+ ' "$OUT/tap.txt" | tr -d ' ' || true)
skip=$(grep -cE '^ok [0-9]+ .*# SKIP' "$OUT/tap.txt" || true)
fail=$(grep -cE '^not ok [0-9]+ ' "$OUT/tap.txt" || true)
pass=$((pass - skip))
{
    echo "kernel $REL ($(basename "$DIR")/hmm-tests.c), test_hmm.ko, exit status $(cat "$OUT/vm/status")"
    grep -E '^(not )?ok [0-9]+ ' "$OUT/tap.txt" || true
    echo "$pass passed, $fail failed, $skip skipped"
} >"$OUT/summary.txt"
cat "$OUT/summary.txt"
[[ $fail == 0 && $((pass + skip)) -gt 0 ]]
