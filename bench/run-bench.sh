#!/usr/bin/env bash
# run-bench.sh: `make bench`.  Builds (or reuses) the project kernel, builds
# hmm_mirror.ko for it and the benchmark, boots ONE VM with hmm_mirror.ko and
# test_hmm.ko loaded, runs build/bench/bin-<release>/hmm_bench there, copies
# the results to build/bench/, judges the targets (bench/report.py, from
# bench/targets.json: printed and appended to results.txt) and plots the
# results on the host.
#
# Environment: BENCH_MAX_MB BENCH_MIN_MB BENCH_REPS BENCH_MODES BENCH_CASES
# BENCH_LAT_ITERS BENCH_SCALE_MB BENCH_DPT_MAX_MB BENCH_MIGRATE_MAX_MB
# BENCH_NO_WARMUP BENCH_NO_SPIN
# (passed to the guest; see bench/README.md), BENCH_FLAVOUR (default|debug;
# default: default), BENCH_MEM (guest MiB, default 6144), BENCH_CPUS (default 2),
# BENCH_TIMEOUT (s, default 1800), BENCH_PLOT=0 (skip the plot),
# BENCH_NICE (niceness of the VM, default -10: it competes with host load),
# KVER (the project kernel's source: 6.1, the default, or 7.3),
# BENCH_MODULE_ARGS (hmm_mirror.ko's parameters, e.g. defer_invalidations=0
# or snapshot_split=0: a run with an optimisation off; device_memory_mb is
# BENCH_DEVMEM_MB, default 1024, unless given there).  The results
# are also kept per kernel release: build/bench/results-<release>.json.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$REPO/build}
OUT=$BUILD/bench
FLAVOUR=${BENCH_FLAVOUR:-default}
msg() { echo "bench: $*" >&2; }

cd "$REPO"
"$REPO/scripts/kernel/build-kernel.sh" "$FLAVOUR" >/dev/null
eval "$("$REPO/scripts/kernel/build-kernel.sh" --print-env "$FLAVOUR")"
REL=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"/\1/p' "$KDIR/include/generated/utsrelease.h")
[[ -f $TEST_HMM_KO ]] || { msg "missing $TEST_HMM_KO (CONFIG_TEST_HMM=m?)"; exit 1; }

msg "kernel $REL: building hmm_mirror.ko and the benchmark"
make --no-print-directory -C "$REPO" module KDIR="$KDIR" KERNEL="$KERNEL" >&2
MODULE=$BUILD/kmod/$REL/kmod/hmm_mirror.ko
make --no-print-directory -C "$REPO" bench-bin KDIR="$KDIR" >&2
BIN=$OUT/bin-$REL/hmm_bench

mkdir -p "$OUT/vm"
rm -f "$OUT/vm/results.json" "$OUT/vm/results.txt" "$OUT/throughput.png"
export KDIR KERNEL VM_MODDIR
export VM_HUGEPAGES=
export VM_PASS_ENV="BENCH_MAX_MB BENCH_MIN_MB BENCH_REPS BENCH_MODES BENCH_CASES BENCH_LAT_ITERS BENCH_SCALE_MB BENCH_DPT_MAX_MB BENCH_MIGRATE_MAX_MB BENCH_NO_WARMUP BENCH_NO_SPIN"
# hmm_mirror's device memory: 1 GiB, the largest size of the migrate case
# (the module's default is 256 MiB).
MODULE_ARGS=${BENCH_MODULE_ARGS:-}
[[ " $MODULE_ARGS" == *" device_memory_mb="* ]] ||
    MODULE_ARGS="${MODULE_ARGS:+$MODULE_ARGS }device_memory_mb=${BENCH_DEVMEM_MB:-1024}"
start=$(date +%s)
msg "booting $KERNEL with hmm_mirror.ko and test_hmm.ko (${BENCH_MEM:-6144} MiB, ${BENCH_CPUS:-2} CPUs, TCG)"
# The host may be busy (2 cores, other builds): run the guest at a higher
# priority so that its vCPUs are descheduled less often during timings.
NICE=${BENCH_NICE:--10}
echo "host load before: $(cat /proc/loadavg)" >"$OUT/host.txt"
rc=0
nice -n "$NICE" "$REPO/tests/vm/run-vm.sh" --mem "${BENCH_MEM:-6144}" --cpus "${BENCH_CPUS:-2}" \
    --timeout "${BENCH_TIMEOUT:-1800}" \
    --module "$TEST_HMM_KO" --module "$MODULE" --module-args "$MODULE_ARGS" \
    --scratch "$OUT/vm" -- \
    "$BIN" --json "$OUT/vm/results.json" --txt "$OUT/vm/results.txt" || rc=$?
msg "VM run: $(( $(date +%s) - start )) s, status $rc"
echo "host load after: $(cat /proc/loadavg)" >>"$OUT/host.txt"
echo "VM run: $(( $(date +%s) - start )) s at nice $NICE" >>"$OUT/host.txt"
[[ $rc == 0 && -s $OUT/vm/results.json ]] || { msg "the benchmark failed (console: $BUILD/vm/$REL/last-run.log)"; exit 1; }
# The verdicts come from the data: bench/targets.json against the results.
python3 "$REPO/bench/report.py" "$OUT/vm/results.json" >"$OUT/targets.txt"
cat "$OUT/targets.txt"
cat "$OUT/vm/results.txt" "$OUT/targets.txt" >"$OUT/results.txt"
cp "$OUT/vm/results.json" "$OUT/results.json"
cp "$OUT/vm/results.json" "$OUT/results-$REL.json"
cp "$OUT/results.txt" "$OUT/results-$REL.txt"
msg "results: $OUT/results.json, $OUT/results.txt (make bench-publish keeps them in bench/results/)"

if [[ ${BENCH_PLOT:-1} != 0 ]]; then
    PY=python3
    if ! $PY -c 'import matplotlib' 2>/dev/null; then
        if [[ ! -x $OUT/venv/bin/python ]] || ! "$OUT/venv/bin/python" -c 'import matplotlib' 2>/dev/null; then
            msg "installing matplotlib into $OUT/venv (pip)"
            python3 -m venv "$OUT/venv" >&2 &&
                "$OUT/venv/bin/pip" install --quiet matplotlib >&2 ||
                { msg "cannot install matplotlib: no plot"; exit 0; }
        fi
        PY=$OUT/venv/bin/python
    fi
    "$PY" "$REPO/bench/plot.py" "$OUT/results.json" "$OUT/throughput.png"
    msg "plot: $OUT/throughput.png"
fi
