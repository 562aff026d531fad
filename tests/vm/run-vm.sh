#!/usr/bin/env bash
# tests/vm/run-vm.sh - run a command as root inside a throw-away qemu (TCG) guest
# that sees the host's root filesystem read-only over 9p, optionally with
# hmm_mirror.ko (or any other out-of-tree module) loaded, and fail when the guest
# kernel log shows a warning/oops/lockdep/KASAN/... report.
#
# Run `tests/vm/run-vm.sh --help` for the interface.
set -u -o pipefail

PROG=run-vm
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_DIR=$(cd -- "$SCRIPT_DIR/../.." && pwd -P)

usage() {
    cat <<'EOF'
usage: tests/vm/run-vm.sh [options] [--] COMMAND [ARGS...]

Boot a qemu/TCG guest with the host's / shared read-only, run COMMAND as root
in it (same working directory, PATH, HMM_* environment), then power off.

options:
  --module PATH.ko     insmod PATH.ko (busybox insmod, before the chroot);
                       repeatable, loaded in order; in-tree dependencies listed
                       by `modinfo -F depends` are loaded first
  --module-args ARGS   parameters for the last --module (e.g. "debug=1")
  --no-module          load no module (clears VM_MODULE and earlier --module)
  --timeout SEC        hard wall-clock limit for the whole VM (default 600)
  --mem MB             guest memory (default 2048)
  --cpus N             guest CPUs (default 2)
  --numa               two NUMA nodes (half the memory and CPUs each; --cpus >= 2)
  --log FILE           console log file (default: <run dir>/console.log,
                       symlinked from $BUILD_DIR/last-run.log)
  --scratch DIR        use DIR as the writable scratch dir (created if missing)
  --rw DIR             also share host DIR writable at the same path (repeatable;
                       e.g. a results directory)
  -q, --quiet          do not copy the console to stdout (log file only)
  -h, --help           this text

environment:
  KERNEL           kernel image (default: newest /boot/vmlinuz-*-amd64 that has
                   a /lib/modules/<release> directory)
  KDIR             kernel build tree (default /usr/src/linux-headers-<release>);
                   when set, the release is read from it
  VM_MODDIR        module tree for the virtio/9p modules (default /lib/modules/<release>);
                   one elsewhere (make kernels) is also mounted at
                   /lib/modules/<release> in the guest, for its modprobe
  BUILD_DIR        cache/run dir (default <repo>/build/vm/<release>)
  VM_TIMEOUT VM_MEM VM_CPUS VM_NUMA=1   defaults for the options above
  VM_MODULE        default module(s) (space separated), VM_MODULE_ARGS its args
  VM_PASS_ENV      extra variable names to pass into the guest (space separated);
                   PATH, HMM_*, PYENV_VERSION, LANG, LC_* are always passed
  VM_CMDLINE_EXTRA appended to the kernel command line
  VM_LOGLEVEL      console loglevel (default 5: warnings and worse on the console)
  VM_HUGEPAGES     number of default-size huge pages to reserve in the guest
  VM_KMEMLEAK=0    skip the kmemleak scan (done when the kernel has kmemleak)
  VM_IGNORE_PATTERNS  ERE; kernel log lines matching it are not treated as failures
  VM_IGNORE_WARNINGS  ERE; a whole "cut here" warning report (WARNING line, call
                   trace, end trace) whose WARNING line matches it is dropped:
                   for known bugs of the kernel under test, never of the module
  VM_MACHINE       qemu machine (default q35), VM_QEMU_EXTRA extra qemu arguments
  VM_9P_CACHE      9p cache mode for the host root (default loose)
  VM_BIOS          firmware (default /usr/share/qemu/qboot.rom if present;
                   "default" = qemu's SeaBIOS)
  VM_PYENV_RESOLVE=0  keep pyenv shims first in the guest PATH (by default the
                   directory of `pyenv which python3` is put in front of them:
                   the shim costs ~4 s per python start under TCG)

in the guest: $VM_SCRATCH is the scratch dir (same absolute path as on the
host, writable, kept after the run), VM_GUEST=1, HOME=/root, /tmp /run /dev/shm
are tmpfs, debugfs is at /sys/kernel/debug, hugetlbfs at /dev/hugepages.
The scratch dir also receives vm-status (exit status) and vm-dmesg.log.

exit status: the command's own status, or
  2   usage / setup error (missing package, kernel, mismatched module ...)
  97  the module could not be loaded in the guest
  98  the guest never reported an exit status (panic, crash, early poweroff)
  99  the kernel log contains a problem report (WARNING:, BUG:, Oops, ...)
  124 timeout (the VM was killed)
EOF
}

msg() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { msg "error: $*"; exit 2; }
need_pkg() { # what, package
    die "$1 not found - install the Debian package '$2' (\`make setup\` installs all test dependencies)"
}

# ---------------------------------------------------------------- arguments
MODULES=()
MODULE_ARGS=${VM_MODULE_ARGS:-}
if [[ -n ${VM_MODULE:-} ]]; then read -r -a MODULES <<<"$VM_MODULE"; fi
TIMEOUT=${VM_TIMEOUT:-600}
MEM=${VM_MEM:-2048}
CPUS=${VM_CPUS:-2}
NUMA=${VM_NUMA:-0}
LOG=
SCRATCH=
QUIET=0
RW_DIRS=()

while (($#)); do
    case $1 in
        --module) [[ $# -ge 2 ]] || die "--module needs a path"; MODULES+=("$2"); MODULE_ARGS=; shift 2 ;;
        --module=*) MODULES+=("${1#*=}"); MODULE_ARGS=; shift ;;
        --module-args) [[ $# -ge 2 ]] || die "--module-args needs a value"; MODULE_ARGS=$2; shift 2 ;;
        --module-args=*) MODULE_ARGS=${1#*=}; shift ;;
        --no-module) MODULES=(); MODULE_ARGS=; shift ;;
        --timeout) [[ $# -ge 2 ]] || die "--timeout needs a value"; TIMEOUT=$2; shift 2 ;;
        --timeout=*) TIMEOUT=${1#*=}; shift ;;
        --mem) [[ $# -ge 2 ]] || die "--mem needs a value"; MEM=$2; shift 2 ;;
        --mem=*) MEM=${1#*=}; shift ;;
        --cpus) [[ $# -ge 2 ]] || die "--cpus needs a value"; CPUS=$2; shift 2 ;;
        --cpus=*) CPUS=${1#*=}; shift ;;
        --numa) NUMA=1; shift ;;
        --log) [[ $# -ge 2 ]] || die "--log needs a file"; LOG=$2; shift 2 ;;
        --log=*) LOG=${1#*=}; shift ;;
        --scratch) [[ $# -ge 2 ]] || die "--scratch needs a dir"; SCRATCH=$2; shift 2 ;;
        --scratch=*) SCRATCH=${1#*=}; shift ;;
        --rw) [[ $# -ge 2 ]] || die "--rw needs a dir"; RW_DIRS+=("$2"); shift 2 ;;
        --rw=*) RW_DIRS+=("${1#*=}"); shift ;;
        -q|--quiet) QUIET=1; shift ;;
        -h|--help) usage; exit 0 ;;
        --) shift; break ;;
        -*) msg "unknown option: $1"; usage >&2; exit 2 ;;
        *) break ;;
    esac
done
(($#)) || { msg "no command given"; usage >&2; exit 2; }

[[ $TIMEOUT =~ ^[0-9]+$ && $TIMEOUT -gt 0 ]] || die "bad --timeout '$TIMEOUT' (seconds)"
[[ $MEM =~ ^[0-9]+$ && $MEM -ge 256 ]] || die "bad --mem '$MEM' (MB, >= 256)"
[[ $CPUS =~ ^[0-9]+$ && $CPUS -ge 1 ]] || die "bad --cpus '$CPUS'"
if [[ $NUMA == 1 && $CPUS -lt 2 ]]; then die "--numa needs --cpus >= 2"; fi

# ---------------------------------------------------------------- host tools
command -v qemu-system-x86_64 >/dev/null || need_pkg qemu-system-x86_64 qemu-system-x86
command -v cpio >/dev/null || need_pkg cpio cpio
command -v modinfo >/dev/null || need_pkg modinfo kmod
command -v timeout >/dev/null || need_pkg timeout coreutils
BUSYBOX=${BUSYBOX:-}
if [[ -z $BUSYBOX ]]; then
    for b in /bin/busybox /usr/bin/busybox $(command -v busybox 2>/dev/null); do
        [[ -x $b ]] && { BUSYBOX=$b; break; }
    done
fi
[[ -n $BUSYBOX && -x $BUSYBOX ]] || need_pkg busybox busybox-static
if ldd "$BUSYBOX" >/dev/null 2>&1; then
    need_pkg "a statically linked busybox ($BUSYBOX is dynamic)" busybox-static
fi

# ---------------------------------------------------------------- kernel
# Release string embedded in a bzImage (setup header: kernel_version pointer at 0x20e).
image_release() {
    local img=$1 magic off
    magic=$(dd if="$img" bs=1 skip=$((0x202)) count=4 2>/dev/null) || return 1
    [[ $magic == HdrS ]] || return 1
    off=$(od -An -tu2 -j $((0x20e)) -N2 "$img" | tr -d ' ') || return 1
    dd if="$img" bs=1 skip=$((off + 0x200)) count=128 2>/dev/null | tr '\0' '\n' | head -n1 | cut -d' ' -f1
}

if [[ -z ${KERNEL:-} ]]; then
    KERNEL=
    while read -r img; do
        rel=${img#/boot/vmlinuz-}
        if [[ -d /lib/modules/$rel ]]; then KERNEL=$img; fi
    done < <(ls -1 /boot/vmlinuz-*-amd64 2>/dev/null | sort -V)
    [[ -n $KERNEL ]] || need_pkg "a kernel image /boot/vmlinuz-*-amd64 with its /lib/modules directory" linux-image-amd64
fi
[[ -r $KERNEL ]] || die "kernel image '$KERNEL' not found (KERNEL=...; Debian's is in package linux-image-amd64, \`make setup\`)"
KERNEL=$(realpath -- "$KERNEL")

RELEASE=
if [[ -n ${KDIR:-} ]]; then
    [[ -d $KDIR ]] || die "KDIR '$KDIR' is not a directory"
    # utsrelease.h is what vermagic uses; Debian's headers carry an upstream
    # version in include/config/kernel.release, so prefer the former.
    if [[ -r $KDIR/include/generated/utsrelease.h ]]; then
        RELEASE=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"/\1/p' "$KDIR/include/generated/utsrelease.h")
    fi
    if [[ -z $RELEASE && -r $KDIR/include/config/kernel.release ]]; then
        RELEASE=$(<"$KDIR/include/config/kernel.release")
    fi
    [[ -n $RELEASE ]] || die "cannot read the kernel release from KDIR=$KDIR (not built/prepared?)"
else
    base=$(basename -- "$KERNEL")
    case $base in
        vmlinuz-*) RELEASE=${base#vmlinuz-} ;;
        *) RELEASE=$(image_release "$KERNEL") || RELEASE= ;;
    esac
    [[ -n $RELEASE ]] || die "cannot determine the kernel release of $KERNEL (set KDIR=<build tree>)"
    KDIR=/usr/src/linux-headers-$RELEASE
fi
img_rel=$(image_release "$KERNEL" 2>/dev/null || true)
if [[ -n $img_rel && $img_rel != "$RELEASE" ]]; then
    msg "warning: $KERNEL reports release '$img_rel' but KDIR/name says '$RELEASE'"
fi
MODDIR=${VM_MODDIR:-/lib/modules/$RELEASE}
# A module tree elsewhere is mounted at /lib/modules/$RELEASE in the guest.
GUEST_MODDIR=
if [[ -d $MODDIR && $(realpath -- "$MODDIR") != $(realpath -m -- "/lib/modules/$RELEASE") ]]; then
    GUEST_MODDIR=$(realpath -- "$MODDIR")
fi

KCONFIG=
for c in "$KDIR/.config" "/boot/config-$RELEASE"; do
    [[ -r $c ]] && { KCONFIG=$c; break; }
done
BUILTIN_LIST=
for b in "$KDIR/modules.builtin" "$MODDIR/modules.builtin"; do
    [[ -r $b ]] && { BUILTIN_LIST=$b; break; }
done

BUILD_DIR=${BUILD_DIR:-$REPO_DIR/build/vm/$RELEASE}
mkdir -p -- "$BUILD_DIR" || die "cannot create BUILD_DIR=$BUILD_DIR"
BUILD_DIR=$(realpath -- "$BUILD_DIR")

# ---------------------------------------------------------------- modules
MODLIST_CACHE=
mod_find() { # name -> path of NAME.ko* in $MODDIR (empty if none)
    local n=$1 alt
    [[ -d $MODDIR ]] || return 0
    if [[ -z $MODLIST_CACHE ]]; then
        MODLIST_CACHE=$(find "$MODDIR" -name '*.ko' -o -name '*.ko.[gxz]z' -o -name '*.ko.zst' 2>/dev/null)
    fi
    alt=${n//_/-}; n=${n//-/_}
    grep -E "/($n|$alt)\.ko(\.(xz|gz|zst))?\$" <<<"$MODLIST_CACHE" | head -n1
}
mod_builtin() { # name -> true when built into the kernel
    local n=${1//-/_}
    [[ -n $BUILTIN_LIST ]] && sed 's/-/_/g' "$BUILTIN_LIST" | grep -q "/$n\.ko\$"
}
mod_config() { # CONFIG_SYM -> y / m / n / ? (unknown)
    local v
    [[ -n $KCONFIG ]] || { echo '?'; return; }
    v=$(grep -E "^$1=" "$KCONFIG" | cut -d= -f2)
    if [[ -n $v ]]; then echo "$v"
    elif grep -q "^# $1 is not set" "$KCONFIG"; then echo n
    else echo '?'; fi
}
# Post-order dependency resolution: appends file paths to RESOLVED.
RESOLVED=()
declare -A SEEN=()
mod_resolve_file() {
    local f=$1 deps d df
    [[ -n ${SEEN[$f]:-} ]] && return 0
    SEEN[$f]=1
    deps=$(modinfo -F depends "$f" 2>/dev/null | tr ',' ' ')
    for d in $deps; do
        mod_builtin "$d" && continue
        df=$(mod_find "$d")
        if [[ -z $df ]]; then
            msg "warning: module dependency '$d' of $(basename "$f") not found in $MODDIR (assuming built in)"
            continue
        fi
        mod_resolve_file "$df"
    done
    RESOLVED+=("$f")
}
decompress_to() { # src dstdir -> prints dst path (uncompressed .ko)
    local src=$1 dir=$2 base dst
    base=$(basename -- "$src"); base=${base%.xz}; base=${base%.gz}; base=${base%.zst}
    dst=$dir/$base
    case $src in
        *.ko) cp -- "$src" "$dst" ;;
        *.xz) command -v xz >/dev/null || need_pkg xz xz-utils; xz -dc -- "$src" >"$dst" ;;
        *.gz) gzip -dc -- "$src" >"$dst" ;;
        *.zst) command -v zstd >/dev/null || need_pkg zstd zstd; zstd -qdc -- "$src" >"$dst" ;;
    esac || die "cannot decompress $src"
    printf '%s\n' "$dst"
}

# virtio-pci transport + 9p over virtio; CONFIG symbol for each top-level module.
BOOT_MODULES=(virtio_pci:CONFIG_VIRTIO_PCI 9pnet_virtio:CONFIG_NET_9P_VIRTIO 9p:CONFIG_9P_FS)
for entry in "${BOOT_MODULES[@]}"; do
    name=${entry%%:*} sym=${entry#*:}
    cfg=$(mod_config "$sym")
    [[ $cfg == y ]] && continue
    [[ $cfg == n ]] && die "kernel $RELEASE has $sym disabled; the VM needs virtio-pci and 9p (config: $KCONFIG)"
    mod_builtin "$name" && continue
    if [[ ! -d $MODDIR ]]; then
        if [[ $cfg == m ]]; then
            die "module directory $MODDIR is missing but $sym=m - install the matching linux-image package (\`make setup\`) or set VM_MODDIR"
        fi
        continue # unknown config and no modules: hope it is built in
    fi
    f=$(mod_find "$name")
    if [[ -z $f ]]; then
        [[ $cfg == m ]] && die "$name.ko not found under $MODDIR although $sym=m"
        msg "warning: $name not found as a module for $RELEASE (assuming built in)"
        continue
    fi
    mod_resolve_file "$f"
done
INITRD_MODULES=("${RESOLVED[@]}")

# ---------------------------------------------------------------- guest /init
read -r -d '' GUEST_INIT <<'INIT_EOF'
#!/bin/sh
# /init of the hmm-mirror test VM (generated by tests/vm/run-vm.sh)
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
msg() { echo "run-vm[guest]: $*"; }
halt_now() {
    sync
    poweroff -f
    echo o >/proc/sysrq-trigger
    sleep 10
}
die() { msg "FATAL: $*"; halt_now; }

CTL=
for w in $(cat /proc/cmdline); do
    case $w in hmmvm.ctl=*) CTL=${w#hmmvm.ctl=} ;; esac
done
[ -n "$CTL" ] || die "no hmmvm.ctl= on the kernel command line"

for m in $(cat /lib/modules/load-order); do
    insmod "/lib/modules/$m" || msg "insmod $m failed"
done

R=/host
mkdir -p $R
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=@CACHE@ host $R \
    || die "cannot mount the host root (9p mount_tag host)"
[ -r "$R$CTL/guest.conf" ] || die "cannot read $CTL/guest.conf through 9p"
. "$R$CTL/guest.conf"
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm $R/dev/hugepages $R/dev/mqueue
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
mount -t mqueue mqueue $R/dev/mqueue 2>/dev/null
[ -e $R/dev/fd ] || ln -s /proc/self/fd $R/dev/fd
[ -e $R/dev/stdin ] || ln -s /proc/self/fd/0 $R/dev/stdin
[ -e $R/dev/stdout ] || ln -s /proc/self/fd/1 $R/dev/stdout
[ -e $R/dev/stderr ] || ln -s /proc/self/fd/2 $R/dev/stderr
mount -t tmpfs -o mode=1777 tmpfs $R/tmp
mount -t tmpfs -o mode=755 tmpfs $R/run
mount_hidden || die "cannot mount a work directory below /tmp or /run"
mount -t debugfs debugfs $R/sys/kernel/debug || msg "warning: cannot mount debugfs"
mount -t tracefs tracefs $R/sys/kernel/tracing 2>/dev/null
mount -t cgroup2 cgroup2 $R/sys/fs/cgroup 2>/dev/null
mount -t hugetlbfs hugetlbfs $R/dev/hugepages 2>/dev/null || msg "warning: cannot mount hugetlbfs"
# A kernel whose modules are not in the host's /lib/modules (VM_MODDIR, e.g.
# one unpacked by make kernels): the guest's modprobe (loop, ext4) finds them
# at the usual place.
if [ -n "$GUEST_MODDIR" ]; then
    { mount -t tmpfs -o mode=755 tmpfs $R/lib/modules &&
      mkdir -p "$R/lib/modules/$GUEST_RELEASE" &&
      mount -o bind "$R$GUEST_MODDIR" "$R/lib/modules/$GUEST_RELEASE"; } ||
        msg "warning: cannot mount $GUEST_MODDIR at /lib/modules/$GUEST_RELEASE"
fi
if [ -n "$HUGEPAGES" ]; then
    echo "$HUGEPAGES" >/proc/sys/vm/nr_hugepages || msg "warning: cannot reserve $HUGEPAGES huge pages"
fi
ip link set lo up 2>/dev/null
hostname hmm-vm

# Mounted last so that a scratch dir below /tmp or /run is not hidden.
S=$R$SCRATCH
mkdir -p "$S" 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,rw,msize=512000,cache=mmap scratch "$S" \
    || die "cannot mount the scratch dir at $SCRATCH"
mount_rw || die "cannot mount a --rw dir"

rc=
if ! load_modules; then
    msg "loading the module failed"
    echo insmod >"$S/vm-insmod-failed"
    rc=97
fi
if [ -z "$rc" ]; then
    chroot $R /usr/bin/env -i /bin/bash --noprofile --norc "$CTL/cmd.sh" </dev/null
    rc=$?
fi
msg "command exited with status $rc"
dmesg >"$S/vm-dmesg.log"
if [ "$KMEMLEAK" != 0 ] && [ -w $R/sys/kernel/debug/kmemleak ]; then
    msg "kmemleak scan"
    echo scan >$R/sys/kernel/debug/kmemleak
    cat $R/sys/kernel/debug/kmemleak >"$S/vm-kmemleak.log"
fi
echo "$rc" >"$S/vm-status.tmp" && mv "$S/vm-status.tmp" "$S/vm-status"
sync
umount "$S" 2>/dev/null
halt_now
INIT_EOF
GUEST_INIT=${GUEST_INIT//@CACHE@/${VM_9P_CACHE:-loose}}

# ---------------------------------------------------------------- initramfs (cached)
INITRD=$BUILD_DIR/initramfs.cpio
stamp_input() {
    echo "v1 $RELEASE"
    stat -Lc '%n %s %Y' -- "$BUSYBOX"
    local f
    for f in "${INITRD_MODULES[@]}"; do stat -Lc '%n %s %Y' -- "$f"; done
    printf '%s\n' "$GUEST_INIT"
}
STAMP=$(stamp_input | sha256sum | cut -d' ' -f1)
if [[ ! -s $INITRD || $(cat "$INITRD.stamp" 2>/dev/null) != "$STAMP" ]]; then
    msg "building initramfs for $RELEASE (${#INITRD_MODULES[@]} modules)"
    stage=$(mktemp -d "$BUILD_DIR/initramfs-stage.XXXXXX") || die "mktemp failed"
    (
        set -e
        mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,host,tmp,lib/modules}
        cp -- "$BUSYBOX" "$stage/bin/busybox"
        for a in $("$BUSYBOX" --list); do
            [[ $a == busybox || -e $stage/bin/$a ]] || ln -s busybox "$stage/bin/$a"
        done
        : >"$stage/lib/modules/load-order"
        for f in "${INITRD_MODULES[@]}"; do
            d=$(decompress_to "$f" "$stage/lib/modules")
            basename -- "$d" >>"$stage/lib/modules/load-order"
        done
        printf '%s\n' "$GUEST_INIT" >"$stage/init"
        chmod 755 "$stage/init"
        if [[ $(id -u) == 0 ]]; then mknod -m 600 "$stage/dev/console" c 5 1; fi
        cd "$stage"
        find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet >"$INITRD.tmp.$$"
    ) || { rm -rf -- "$stage" "$INITRD.tmp.$$"; die "building the initramfs failed"; }
    rm -rf -- "$stage"
    mv -f -- "$INITRD.tmp.$$" "$INITRD"
    echo "$STAMP" >"$INITRD.stamp.tmp.$$" && mv -f -- "$INITRD.stamp.tmp.$$" "$INITRD.stamp"
fi

# ---------------------------------------------------------------- run dir
# Old run dirs (> 1 day) are pruned; the current one is kept for inspection.
find "$BUILD_DIR" -mindepth 1 -maxdepth 1 -name 'run-*' -type d -mmin +1440 -exec rm -rf -- {} + 2>/dev/null
RUN_DIR=$(mktemp -d "$BUILD_DIR/run-$(date +%Y%m%d-%H%M%S)-XXXX") || die "cannot create a run dir in $BUILD_DIR"
CTL=$RUN_DIR/ctl
mkdir -p -- "$CTL"
if [[ -z $SCRATCH ]]; then SCRATCH=$RUN_DIR/scratch; fi
mkdir -p -- "$SCRATCH" || die "cannot create scratch dir $SCRATCH"
SCRATCH=$(realpath -- "$SCRATCH")
rm -f -- "$SCRATCH"/vm-status "$SCRATCH"/vm-status.tmp "$SCRATCH"/vm-dmesg.log \
    "$SCRATCH"/vm-kmemleak.log "$SCRATCH"/vm-insmod-failed
[[ $CTL =~ ^[^[:space:]]+$ ]] || die "run dir path must not contain white space: $CTL"
[[ $SCRATCH != / ]] || die "the scratch dir cannot be /"
for i in "${!RW_DIRS[@]}"; do
    mkdir -p -- "${RW_DIRS[$i]}" || die "cannot create --rw dir ${RW_DIRS[$i]}"
    RW_DIRS[$i]=$(realpath -- "${RW_DIRS[$i]}")
    [[ ${RW_DIRS[$i]} != / ]] || die "--rw / is not allowed"
done
# The guest mounts its own /tmp, /run and /dev/shm over the host's: a work
# tree, build dir, module tree or working directory there (a clone in /tmp)
# is shared again on its own, read-only, at the same path.  /proc, /sys and
# the rest of /dev are the guest's and cannot hold them.
HIDDEN_DIRS=()
for d in "$REPO_DIR" "$BUILD_DIR" "$GUEST_MODDIR" "$PWD"; do
    [[ -n $d ]] || continue
    d=$(realpath -- "$d")
    case $d/ in
        /tmp/*|/run/*|/dev/shm/*) ;;
        /dev/*|/proc/*|/sys/*) die "$d is hidden in the guest (its own /dev, /proc, /sys); use a directory elsewhere" ;;
        *) continue ;;
    esac
    HIDDEN_DIRS+=("$d")
done
if ((${#HIDDEN_DIRS[@]})); then
    # One share per outermost directory: drop those inside another.
    mapfile -t HIDDEN_DIRS < <(printf '%s\n' "${HIDDEN_DIRS[@]}" | LC_ALL=C sort -u |
        awk '{ for (i = 1; i <= n; i++) if (index($0 "/", kept[i] "/") == 1) next; kept[++n] = $0; print }')
fi
if [[ -z $LOG ]]; then
    LOG=$RUN_DIR/console.log
    ln -sfn -- "$LOG" "$BUILD_DIR/last-run.log"
fi
mkdir -p -- "$(dirname -- "$LOG")" && : >"$LOG" || die "cannot write log file $LOG"
LOG=$(realpath -- "$LOG")

sq() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; } # POSIX sh single-quoting
# A guest function NAME that mounts the 9p shares TAG0, TAG1 ... (one per
# host DIR, the qemu -virtfs of the same tag) at their own paths, with OPTS.
mount_function() { # NAME TAG OPTS DIR...
    local name=$1 tag=$2 opts=$3 i=0 d
    shift 3
    echo "$name() {"
    for d in "$@"; do
        echo "    mkdir -p $(sq "/host$d") 2>/dev/null"
        echo "    mount -t 9p -o trans=virtio,version=9p2000.L,$opts $tag$i $(sq "/host$d") || return 1"
        i=$((i + 1))
    done
    echo "    return 0"
    echo "}"
}

# Module(s) to load in the guest, with their in-tree dependencies first.
MOD_LOAD=()
for i in "${!MODULES[@]}"; do
    m=${MODULES[$i]}
    [[ -r $m ]] || die "module '$m' not found (build it first, e.g. \`make -C kmod\`)"
    m=$(realpath -- "$m")
    vm=$(modinfo -F vermagic "$m" 2>/dev/null | awk '{print $1}')
    [[ -n $vm ]] || die "$m does not look like a kernel module (no vermagic)"
    [[ $vm == "$RELEASE" ]] || die "$m was built for kernel '$vm' but the VM boots '$RELEASE' (rebuild with KDIR for $RELEASE, or set KERNEL/KDIR)"
    RESOLVED=()
    deps=$(modinfo -F depends "$m" 2>/dev/null | tr ',' ' ')
    for d in $deps; do
        mod_builtin "$d" && continue
        df=$(mod_find "$d")
        [[ -n $df ]] || { msg "warning: dependency '$d' of $(basename "$m") not found in $MODDIR"; continue; }
        mod_resolve_file "$df"
    done
    for f in "${RESOLVED[@]}"; do
            d=$(decompress_to "$f" "$CTL") || exit 2
        MOD_LOAD+=("$d|")
    done
    args=
    if ((i == ${#MODULES[@]} - 1)); then args=$MODULE_ARGS; fi
    # Loaded from a copy: the guest hides /tmp, and a rebuild during the run
    # must not change what is loaded.
    mkdir -p -- "$CTL/m$i"
    d=$(decompress_to "$m" "$CTL/m$i") || exit 2
    MOD_LOAD+=("$d|$args")
done

{
    echo "# generated by run-vm.sh"
    echo "SCRATCH=$(sq "$SCRATCH")"
    echo "HUGEPAGES=$(sq "${VM_HUGEPAGES:-}")"
    echo "KMEMLEAK=$(sq "${VM_KMEMLEAK:-1}")"
    echo "GUEST_RELEASE=$(sq "$RELEASE")"
    echo "GUEST_MODDIR=$(sq "$GUEST_MODDIR")"
    mount_function mount_hidden hid "ro,msize=512000,cache=${VM_9P_CACHE:-loose}" "${HIDDEN_DIRS[@]}"
    mount_function mount_rw rw "rw,msize=512000,cache=mmap" "${RW_DIRS[@]}"
    echo "load_modules() {"
    for e in "${MOD_LOAD[@]}"; do
        f=${e%%|*} a=${e#*|}
        echo "    msg $(sq "insmod $f $a")"
        echo "    insmod $(sq "/host$f") $a || return 1"
    done
    echo "    return 0"
    echo "}"
} >"$CTL/guest.conf"

# Command script, run by the host's bash inside the chroot with a clean env.
{
    echo "# generated by run-vm.sh"
    pass=(PATH PYENV_VERSION LANG LC_ALL)
    if [[ -n ${VM_PASS_ENV:-} ]]; then read -r -a extra <<<"$VM_PASS_ENV"; pass+=("${extra[@]}"); fi
    while read -r v; do
        [[ $v == HMM_* || $v == LC_* ]] && pass+=("$v")
    done < <(compgen -e)
    # pyenv shims re-resolve the version on every start (seconds under TCG):
    # put the interpreter directory the shim would pick in front of them.
    gpath=$PATH
    if [[ ${VM_PYENV_RESOLVE:-1} != 0 && :$PATH: == *"/.pyenv/shims:"* ]] && command -v pyenv >/dev/null; then
        pyd=$(pyenv which python3 2>/dev/null) && pyd=$(dirname -- "$pyd") && [[ -d $pyd ]] && {
            shims=$(tr ':' '\n' <<<"$PATH" | grep -m1 '/\.pyenv/shims$')
            gpath=${PATH/"$shims"/"$pyd:$shims"}
        }
    fi
    declare -A done_=()
    for v in "${pass[@]}"; do
        [[ $v =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
        [[ -n ${done_[$v]:-} || -z ${!v+x} ]] && continue
        done_[$v]=1
        if [[ $v == PATH ]]; then printf 'export PATH=%q\n' "$gpath"; continue; fi
        printf 'export %s=%q\n' "$v" "${!v}"
    done
    printf 'export HOME=/root TERM=dumb VM_GUEST=1 VM_SCRATCH=%q\n' "$SCRATCH"
    printf 'cd -- %q || { echo "run-vm: cannot cd to %q in the guest" >&2; exit 126; }\n' "$PWD" "$PWD"
    printf 'exec'
    printf ' %q' "$@"
    printf '\n'
} >"$CTL/cmd.sh"

# ---------------------------------------------------------------- qemu
CMDLINE="console=ttyS0 panic=-1 loglevel=${VM_LOGLEVEL:-5} printk.time=1 rdinit=/init"
CMDLINE+=" mitigations=off random.trust_cpu=on edd=off 8250.nr_uarts=1 i8042.noaux i8042.nokbd"
CMDLINE+=" hmmvm.ctl=$CTL"
[[ -n ${VM_CMDLINE_EXTRA:-} ]] && CMDLINE+=" $VM_CMDLINE_EXTRA"

QEMU=(qemu-system-x86_64 -accel tcg -machine "${VM_MACHINE:-q35}" -cpu max
      -m "${MEM}M" -smp "$CPUS" -nographic -no-reboot -nodefaults -serial stdio
      -kernel "$KERNEL" -initrd "$INITRD" -append "$CMDLINE"
      -virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap
      -virtfs "local,path=$SCRATCH,mount_tag=scratch,security_model=none,multidevs=remap")
# qboot boots a little faster than SeaBIOS and prints nothing on the serial port.
BIOS=${VM_BIOS:-/usr/share/qemu/qboot.rom}
if [[ $BIOS != default && -r $BIOS ]]; then QEMU+=(-bios "$BIOS"); fi
for i in "${!RW_DIRS[@]}"; do
    QEMU+=(-virtfs "local,path=${RW_DIRS[$i]},mount_tag=rw$i,security_model=none,multidevs=remap")
done
for i in "${!HIDDEN_DIRS[@]}"; do
    QEMU+=(-virtfs "local,path=${HIDDEN_DIRS[$i]},mount_tag=hid$i,security_model=none,readonly=on,multidevs=remap")
done
if [[ $NUMA == 1 ]]; then
    m0=$((MEM / 2)) m1=$((MEM - MEM / 2)) c0=$((CPUS / 2))
    # One socket per CPU: CPUs sharing a socket (LLC) across nodes trigger the
    # "topology_sane" WARNING in smpboot.c.
    QEMU+=(-smp "$CPUS,sockets=$CPUS,cores=1,threads=1"
           -object "memory-backend-ram,id=numa0,size=${m0}M"
           -object "memory-backend-ram,id=numa1,size=${m1}M"
           -numa "node,nodeid=0,cpus=0-$((c0 - 1)),memdev=numa0"
           -numa "node,nodeid=1,cpus=$c0-$((CPUS - 1)),memdev=numa1")
fi
if [[ -n ${VM_QEMU_EXTRA:-} ]]; then read -r -a qx <<<"$VM_QEMU_EXTRA"; QEMU+=("${qx[@]}"); fi

{
    echo "# run-vm $(date -Is)"
    printf '# command:'; printf ' %q' "$@"; echo
    printf '# qemu:'; printf ' %q' "${QEMU[@]}"; echo
} >>"$LOG"

modtxt=none
((${#MODULES[@]})) && modtxt="${MODULES[*]}"
msg "kernel $RELEASE, module: $modtxt, cpus $CPUS, mem ${MEM}M$([[ $NUMA == 1 ]] && echo ', numa'), timeout ${TIMEOUT}s"
msg "scratch: $SCRATCH"
msg "log: $LOG"

PIDFILE=$CTL/timeout.pid
RCFILE=$CTL/qemu.rc
PIPE_PID=
on_signal() {
    local p
    p=$(cat "$PIDFILE" 2>/dev/null)
    [[ -n $p ]] && kill -TERM "$p" 2>/dev/null # timeout(1) passes it on to qemu
    [[ -n $PIPE_PID ]] && wait "$PIPE_PID" 2>/dev/null
    msg "interrupted ($1); console log: $LOG"
    exit "$2"
}
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

start=$SECONDS
# The pipeline runs in the background so that the traps above fire at once.
{
    timeout --kill-after=20 "$TIMEOUT" "${QEMU[@]}" </dev/null 2>&1 &
    echo $! >"$PIDFILE"
    wait $!
    echo $? >"$RCFILE"
} | tr -d '\r' | if ((QUIET)); then cat >>"$LOG"; else tee -a "$LOG"; fi &
PIPE_PID=$!
wait "$PIPE_PID"
trap - INT TERM HUP
elapsed=$((SECONDS - start))
qrc=$(cat "$RCFILE" 2>/dev/null || echo 255)

# ---------------------------------------------------------------- verdict
fail_hint() { msg "console log: $LOG"; msg "scratch dir: $SCRATCH"; }

if [[ -s $SCRATCH/vm-dmesg.log ]]; then
    { echo "# ---- guest dmesg ($SCRATCH/vm-dmesg.log) ----"; cat "$SCRATCH/vm-dmesg.log"; } >>"$LOG"
fi

# Drop the "cut here" ... "end trace" reports whose WARNING line matches
# VM_IGNORE_WARNINGS; everything else (and every line without it) passes.
drop_known_warnings() {
    if [[ -z ${VM_IGNORE_WARNINGS:-} ]]; then cat; return; fi
    awk -v re="$VM_IGNORE_WARNINGS" '
        /-+\[ cut here \]-+/ { if (n) flush(); n = 1; buf[1] = $0; next }
        n { buf[++n] = $0
            if ($0 ~ /WARNING:/ && $0 ~ re) known = 1
            if ($0 ~ /---\[ end trace/) flush()
            next }
        { print }
        function flush(   i) { if (!known) for (i = 1; i <= n; i++) print buf[i]; n = 0; known = 0 }
        END { if (n) flush() }'
}

PATTERNS=("Oops" "BUG:" "WARNING:" "lockdep" "possible circular locking" "KASAN" "UBSAN"
          "kernel BUG" "general protection fault" "Call Trace" "unreferenced object"
          "RCU stall" "detected stall" "soft lockup" "hard LOCKUP" "blocked for more than"
          "Kernel panic")
# Kernel lines only: the whole saved dmesg, and the timestamped lines of the console.
klog=$(mktemp) && trap 'rm -f -- "$klog"' EXIT
{
    cat -- "$SCRATCH/vm-dmesg.log" "$SCRATCH/vm-kmemleak.log" 2>/dev/null
    sed -n '/^# run-vm/,/^# ---- guest dmesg/p' "$LOG" | grep -E '^\[ *[0-9]+\.[0-9]{6}\] '
} | grep -vE '(Kernel )?[Cc]ommand line:|RCU lockdep checking is enabled' \
  | drop_known_warnings \
  | { if [[ -n ${VM_IGNORE_PATTERNS:-} ]]; then grep -vE -- "$VM_IGNORE_PATTERNS"; else cat; fi } >"$klog"
problems=0
for p in "${PATTERNS[@]}"; do
    hit=$(grep -F -m1 -- "$p" "$klog") || continue
    msg "KERNEL PROBLEM: pattern '$p' in the guest kernel log: $hit"
    problems=$((problems + 1))
done

rc=
if [[ -r $SCRATCH/vm-status ]]; then rc=$(tr -dc '0-9' <"$SCRATCH/vm-status"); fi

if [[ $qrc == 124 || $qrc == 137 ]]; then
    msg "TIMEOUT: the VM did not finish within ${TIMEOUT}s and was killed (hung guest? raise --timeout / VM_TIMEOUT)"
    fail_hint
    exit 124
fi
if ((problems)); then
    msg "FAIL: $problems kernel problem pattern(s) found (command status: ${rc:-none}); see $LOG and $SCRATCH/vm-dmesg.log"
    fail_hint
    exit 99
fi
if [[ -z $rc ]]; then
    msg "FAIL: the guest never reported an exit status (kernel panic, crash or early failure; qemu status $qrc)"
    grep -E '^(qemu-system|run-vm\[guest\]: FATAL)' "$LOG" | head -n5 | sed "s/^/$PROG: /" >&2
    fail_hint
    exit 98
fi
if [[ -e $SCRATCH/vm-insmod-failed ]]; then
    msg "FAIL: loading the module in the guest failed (see the insmod messages in $LOG)"
    fail_hint
    exit 97
fi
if [[ $qrc != 0 ]]; then msg "note: qemu exited with status $qrc"; fi
if [[ $rc != 0 ]]; then
    msg "command exited with status $rc (VM time ${elapsed}s)"
    fail_hint
else
    msg "command passed (VM time ${elapsed}s)"
fi
exit "$rc"
