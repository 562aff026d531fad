#!/usr/bin/env bash
# tests/vm/selftest.sh - checks that tests/vm/run-vm.sh works on this machine.
# Boots the VM a handful of times (each ~5-15 s under TCG; the timeout check
# runs in the background in parallel). Prints one line per check and ends with
# "N passed, N failed". Environment (KERNEL, KDIR, BUILD_DIR, ...) is passed on
# to run-vm.sh.
set -u -o pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
RUN=$HERE/run-vm.sh
REPO_DIR=$(cd -- "$HERE/../.." && pwd -P)
WORK=$(mktemp -d "${SELFTEST_DIR:-$REPO_DIR/build/vm}/selftest-XXXX" 2>/dev/null) ||
    { mkdir -p "$REPO_DIR/build/vm" && WORK=$(mktemp -d "$REPO_DIR/build/vm/selftest-XXXX"); } ||
    { echo "selftest: cannot create a work dir" >&2; exit 2; }
trap 'rm -rf -- "$WORK"' EXIT
# Keep the environment of the runner predictable.
unset VM_MODULE VM_MODULE_ARGS VM_NUMA VM_PASS_ENV VM_IGNORE_PATTERNS VM_IGNORE_WARNINGS

PASS=0 FAIL=0
T0=$SECONDS
ok() { PASS=$((PASS + 1)); printf 'PASS  %s\n' "$*"; }
ko() { FAIL=$((FAIL + 1)); printf 'FAIL  %s\n' "$*"; }
check() { # name condition-result(0/1) detail
    if [[ $2 == 0 ]]; then ok "$1${3:+ ($3)}"; else ko "$1${3:+ ($3)}"; fi
}
# vm NAME ARGS... : run the runner quietly; sets RC, DT; keeps stderr in $WORK/NAME.err
vm() {
    local name=$1; shift
    local t=$SECONDS
    "$RUN" -q "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
    RC=$? DT=$((SECONDS - t))
}
show_err() { sed 's/^/      | /' "$WORK/$1.err" >&2; }

# --- timeout check, in the background (mostly idle guest) ---------------------
(
    t=$SECONDS
    "$RUN" -q --timeout 30 sleep 1000 >"$WORK/timeout.out" 2>"$WORK/timeout.err"
    echo "$? $((SECONDS - t))" >"$WORK/timeout.res"
) &
TPID=$!

# --- no boot: usage errors ------------------------------------------------------
"$RUN" --help >/dev/null 2>&1; check "--help exits 0" $? ""
"$RUN" -q --module "$WORK/missing.ko" true >/dev/null 2>"$WORK/missing.err"; rc=$?
[[ $rc == 2 ]] && grep -q 'not found' "$WORK/missing.err"; check "missing module -> exit 2 with a message" $? "status $rc"

# --- 1: true -> 0 -------------------------------------------------------------
vm true true
[[ $RC == 0 ]]; check "true -> 0" $? "status $RC, ${DT}s"
[[ $RC == 0 ]] || show_err true

# --- 2: environment of the guest; exits 7 ------------------------------------
SCR=$WORK/scratch
cat >"$WORK/guest-env.sh" <<'EOF'
S=$VM_SCRATCH
echo hello >"$S/hello"
pwd >"$S/pwd"
echo probe >/tmp/probe && cat /tmp/probe >"$S/tmp"
touch /run-vm-selftest-rotest 2>"$S/ro.err"; echo $? >"$S/ro.rc"
awk '$2 == "/" { print $1, $3, $4 }' /proc/mounts >"$S/rootmount"
python3 -c 'print(1)' >"$S/python" 2>&1
printf '%s|%s|%s\n' "${HMM_SELFTEST_VAR-unset}" "${SELFTEST_EXTRA-unset}" "${SELFTEST_HIDDEN-unset}" >"$S/env"
awk '{ print $2, $3 }' /proc/mounts >"$S/mounts"
id -u >"$S/uid"
echo rw >"$RW_DIR/rw" 2>/dev/null
exit 7
EOF
(
    cd "$HERE" || exit 2
    HMM_SELFTEST_VAR='a b $c' SELFTEST_EXTRA=extra SELFTEST_HIDDEN=hidden RW_DIR=$WORK/rw VM_PASS_ENV="SELFTEST_EXTRA RW_DIR" \
        "$RUN" -q --scratch "$SCR" --rw "$WORK/rw" bash "$WORK/guest-env.sh" >"$WORK/env.out" 2>"$WORK/env.err"
    echo $? >"$WORK/env.rc"
)
RC=$(cat "$WORK/env.rc")
[[ $RC == 7 ]]; check "sh -c 'exit 7' -> 7" $? "status $RC"
[[ $RC == 7 ]] || show_err env
[[ $(cat "$SCR/hello" 2>/dev/null) == hello ]]; check "file written to \$VM_SCRATCH is readable on the host" $? "$SCR/hello"
[[ $(cat "$SCR/pwd" 2>/dev/null) == "$HERE" ]]; check "guest working directory = host working directory" $? "$(cat "$SCR/pwd" 2>/dev/null)"
[[ $(cat "$SCR/tmp" 2>/dev/null) == probe ]]; check "/tmp is writable in the guest" $? ""
ro_rc=$(cat "$SCR/ro.rc" 2>/dev/null)
[[ -n $ro_rc && $ro_rc != 0 && ! -e /run-vm-selftest-rotest ]] && grep -q 'Read-only' "$SCR/ro.err" &&
    grep -Eq '^host 9p ro,' "$SCR/rootmount"
check "host root is read-only in the guest" $? "$(cat "$SCR/rootmount" 2>/dev/null)"
rm -f /run-vm-selftest-rotest 2>/dev/null
[[ $(cat "$SCR/python" 2>/dev/null) == 1 ]]; check "python3 -c 'print(1)' works in the guest" $? "$(head -c 200 "$SCR/python" 2>/dev/null)"
[[ $(cat "$SCR/env" 2>/dev/null) == 'a b $c|extra|unset' ]]; check "HMM_* and VM_PASS_ENV variables passed, others not" $? "$(cat "$SCR/env" 2>/dev/null)"
[[ $(cat "$WORK/rw/rw" 2>/dev/null) == rw ]]; check "--rw DIR is writable in the guest" $? ""
[[ $(cat "$SCR/uid" 2>/dev/null) == 0 ]]; check "command runs as root" $? ""
grep -qx '/sys/kernel/debug debugfs' "$SCR/mounts" && grep -qx '/dev/hugepages hugetlbfs' "$SCR/mounts"
check "debugfs and hugetlbfs mounted" $? ""
[[ -s $SCR/vm-dmesg.log && $(cat "$SCR/vm-status" 2>/dev/null) == 7 ]]; check "vm-status and vm-dmesg.log saved in the scratch dir" $? ""

# --- 2b: a work tree below /tmp (a clone there): the guest has its own /tmp
TMPTREE=$(mktemp -d /tmp/hmm-vm-selftest.XXXX) && trap 'rm -rf -- "$WORK" "$TMPTREE"' EXIT
mkdir -p "$TMPTREE/tests/vm" "$TMPTREE/sub" && cp "$RUN" "$TMPTREE/tests/vm/"
printf '#!/bin/sh\npwd >"$VM_SCRATCH/pwd"; cat ../marker >"$VM_SCRATCH/marker"\n' >"$TMPTREE/sub/cmd.sh"
chmod +x "$TMPTREE/sub/cmd.sh" && echo "$TMPTREE" >"$TMPTREE/marker"
SCR2=$WORK/scratch2b
( cd "$TMPTREE/sub" && unset BUILD_DIR && "$TMPTREE/tests/vm/run-vm.sh" -q --scratch "$SCR2" ./cmd.sh \
    >"$WORK/tmptree.out" 2>"$WORK/tmptree.err" ); RC=$?
[[ $RC == 0 && $(cat "$SCR2/pwd" 2>/dev/null) == "$TMPTREE/sub" && $(cat "$SCR2/marker" 2>/dev/null) == "$TMPTREE" ]]
check "a work tree, build dir and working directory below /tmp are visible in the guest" $? "status $RC"
[[ $RC == 0 ]] || show_err tmptree

# --- 3: fake kernel warning -> 99 --------------------------------------------
vm warn sh -c 'echo "WARNING: CPU: 0 PID: 1 at selftest" >/dev/kmsg; exit 0'
[[ $RC == 99 ]] && grep -q "pattern 'WARNING:'" "$WORK/warn.err"; check "kernel WARNING in dmesg -> 99 although the command exits 0" $? "status $RC, ${DT}s"
[[ $RC == 99 ]] || show_err warn

# --- 3b: a known warning report is dropped whole, another one still fails -----
known='echo "------------[ cut here ]------------" >/dev/kmsg
echo "WARNING: CPU: 0 PID: 1 at selftest/known.c:1 known_bug+0x1/0x2" >/dev/kmsg
echo "Call Trace:" >/dev/kmsg
echo "---[ end trace 0000000000000000 ]---" >/dev/kmsg'
VM_IGNORE_WARNINGS='at selftest/known\.c' vm known sh -c "$known
echo 'WARNING: CPU: 0 PID: 1 at selftest/other.c:1' >/dev/kmsg; exit 0"
[[ $RC == 99 ]] && grep -q "selftest/other.c" "$WORK/known.err" && ! grep -q "known.c\|Call Trace" "$WORK/known.err"
check "VM_IGNORE_WARNINGS drops the known report whole, not another warning" $? "status $RC, ${DT}s"
[[ $RC == 99 ]] || show_err known

# --- 4: kernel crash -> failure, no hang --------------------------------------
vm crash sh -c 'echo c >/proc/sysrq-trigger; sleep 100'
[[ $RC == 99 || $RC == 98 ]]; check "guest kernel panic -> failure without waiting for the timeout" $? "status $RC, ${DT}s"

# --- 5: module + NUMA + move_pages ---------------------------------------------
KREL=$(sed -n 's/^run-vm: kernel \([^,]*\),.*/\1/p' "$WORK/true.err")
KDIR_=${KDIR:-/usr/src/linux-headers-$KREL}
MODB=$WORK/mod
mkdir -p "$MODB" && cp "$HERE/selftest-mod/vm_selftest.c" "$HERE/selftest-mod/Kbuild" "$MODB/"
if [[ -n $KREL && -d $KDIR_ ]] && make -s -C "$KDIR_" M="$MODB" modules >"$WORK/mod-build.log" 2>&1 && [[ -f $MODB/vm_selftest.ko ]]; then
    cat >"$WORK/guest-numa.py" <<'EOF'
import ctypes, mmap, os, sys
S = os.environ["VM_SCRATCH"]
nodes = sorted(d for d in os.listdir("/sys/devices/system/node") if d.startswith("node"))
libc = ctypes.CDLL(None, use_errno=True)
buf = mmap.mmap(-1, 4096)
buf[0] = 1
addr = ctypes.c_void_p.from_buffer(buf)
page = (ctypes.c_void_p * 1)(ctypes.addressof(addr))
node = (ctypes.c_int * 1)(1)
status = (ctypes.c_int * 1)(-1)
# move_pages(pid 0, 1 page, pages, nodes, status, MPOL_MF_MOVE)
rc = libc.syscall(279, 0, 1, page, node, status, 2)
del addr
with open(S + "/numa", "w") as f:
    f.write("%d %d %d\n" % (len(nodes), rc, status[0]))
with open("/sys/module/vm_selftest/parameters/value") as f:
    open(S + "/modparam", "w").write(f.read())
EOF
    SCR5=$WORK/scratch5
    vm numa --numa --cpus 2 --scratch "$SCR5" --module "$MODB/vm_selftest.ko" --module-args value=42 \
        python3 "$WORK/guest-numa.py"
    [[ $RC == 0 ]]; check "--numa --module boot" $? "status $RC, ${DT}s"
    [[ $RC == 0 ]] || show_err numa
    [[ $(cat "$SCR5/modparam" 2>/dev/null) == 42 ]] && grep -q 'vm_selftest: loaded, value=42' "$SCR5/vm-dmesg.log"
    check "--module PATH.ko --module-args loads the module before the command" $? "value=$(cat "$SCR5/modparam" 2>/dev/null)"
    read -r nn mrc mst <"$SCR5/numa" 2>/dev/null
    [[ ${nn:-} == 2 && ${mrc:-} == 0 && ${mst:-} == 1 ]]
    check "--numa gives 2 nodes and move_pages(2) migrates to node 1" $? "nodes=${nn:-?} rc=${mrc:-?} status=${mst:-?}"
else
    ko "build the selftest module against $KDIR_ (see $WORK/mod-build.log)"
    cat "$WORK/mod-build.log" >&2 2>/dev/null
fi

# --- timeout result -----------------------------------------------------------
wait "$TPID"
read -r trc tdt <"$WORK/timeout.res"
[[ $trc == 124 && $tdt -lt 110 ]] && grep -q TIMEOUT "$WORK/timeout.err"
check "--timeout 30 sleep 1000 -> timeout status" $? "status $trc after ${tdt}s"
[[ $trc == 124 ]] || show_err timeout

echo "total time $((SECONDS - T0))s"
echo "$PASS passed, $FAIL failed"
((FAIL == 0))
