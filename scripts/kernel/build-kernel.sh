#!/usr/bin/env bash
# Build (or reuse) a kernel for hmm-mirror's VM runs: Debian's linux-source-6.1
# (or linux-source-KVER, KVER=7.3) configured with `make defconfig
# kvm_guest.config` plus hmm.config (HMM, DEVICE_PRIVATE, TEST_HMM=m, THP,
# hugetlbfs, NUMA, ...) and, for the "debug" flavour, debug.config (KASAN,
# lockdep, kmemleak, DEBUG_VM).
#
# Cache (outside the work tree):
#   $HMM_KERNEL_CACHE/<flavour>-<version>/   default /var/cache/hmm-mirror/kernels
#     build/     the O= build tree: KDIR for out-of-tree modules
#     bzImage    the kernel image (KERNEL= for tests/vm/run-vm.sh)
#     modules/   INSTALL_MOD_PATH; modules/lib/modules/<release> is VM_MODDIR
#     stamp      hash of source version + config inputs; present = reusable
#     build.log  the full make output
# A kernel whose stamp matches is reused without running make.
set -euo pipefail

usage() {
    cat <<EOF
usage: $0 [--print-env] [--config-only] [--jobs N] [--kver 6.1|7.3] [default|debug]

Builds the "default" (or "debug") hmm-mirror kernel from Debian's
linux-source-KVER (default 6.1; also KVER in the environment) into
${HMM_KERNEL_CACHE:-/var/cache/hmm-mirror/kernels}/<flavour>-<version>/, or reuses it.
  --print-env   print KDIR= KERNEL= VM_MODDIR= TEST_HMM_KO= for the cached
                kernel and exit (status 1 if it is not built)
  --config-only write and check the .config, build nothing
  --jobs N      make -j (default 2; run under nice)
environment: HMM_KERNEL_CACHE (cache root), HMM_KERNEL_SRC (an unpacked
linux-source tree; default <cache>/src/linux-source-KVER, unpacked from
/usr/src/linux-source-KVER.tar.xz; for 6.1 the package is installed with
apt-get if the tarball is missing, for a kernel of kernels.list from another
suite (7.3) it is fetched by `scripts/debian-kernels.sh source KVER` through
the project's own apt configuration, which leaves the system's alone)
EOF
}

FLAVOUR=default
PRINT_ENV=0
CONFIG_ONLY=0
JOBS=${JOBS:-2}
KVER=${KVER:-6.1}
while [[ $# -gt 0 ]]; do
    case $1 in
        --print-env) PRINT_ENV=1; shift ;;
        --config-only) CONFIG_ONLY=1; shift ;;
        --jobs) JOBS=$2; shift 2 ;;
        --kver) KVER=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        default|debug) FLAVOUR=$1; shift ;;
        *) usage >&2; exit 2 ;;
    esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE_ROOT=${HMM_KERNEL_CACHE:-/var/cache/hmm-mirror/kernels}
SRC_CACHE=$(dirname "$CACHE_ROOT")/src
[[ $KVER =~ ^[0-9]+\.[0-9]+$ ]] || { echo "build-kernel: bad KVER '$KVER' (e.g. 6.1, 7.3)" >&2; exit 2; }
TARBALL=/usr/src/linux-source-$KVER.tar.xz
msg() { echo "build-kernel: $*" >&2; }
die() { msg "error: $*"; exit 1; }

FRAGMENTS=("$HERE/hmm.config")
[[ $FLAVOUR == debug ]] && FRAGMENTS+=("$HERE/debug.config")

# --- locate the source ---------------------------------------------------
find_src() {
    local s
    for s in "${HMM_KERNEL_SRC:-}" "/var/tmp/hmm-src/linux-source-$KVER" "$SRC_CACHE/linux-source-$KVER"; do
        [[ -n $s && -f $s/Makefile && -f $s/kernel/configs/kvm_guest.config ]] && { echo "$s"; return 0; }
    done
    return 1
}
SRC=$(find_src || true)
if [[ -z $SRC ]]; then
    [[ $PRINT_ENV == 1 ]] && exit 1
    if [[ ! -f $TARBALL && $KVER == 6.1 ]]; then
        msg "$TARBALL missing: installing linux-source-6.1 (apt-get)"
        [[ $(id -u) == 0 ]] || die "need root to apt-get install linux-source-6.1"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends linux-source-6.1 >&2 ||
            { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends linux-source-6.1 >&2; } ||
            die "cannot install linux-source-6.1"
    elif [[ ! -f $TARBALL ]]; then
        # Not in this Debian 12 machine's suites: the kernels.list entry
        # names the suite and version; the private apt fetches the package.
        TARBALL=$("$HERE/../debian-kernels.sh" source "$KVER") ||
            die "cannot fetch linux-source-$KVER (is $KVER in kernels.list?)"
    fi
    mkdir -p "$SRC_CACHE"
    msg "unpacking $TARBALL into $SRC_CACHE (a minute or two)"
    tar -C "$SRC_CACHE" -xf "$TARBALL"
    SRC=$SRC_CACHE/linux-source-$KVER
    [[ -f $SRC/Makefile ]] || die "$TARBALL has no linux-source-$KVER/Makefile"
fi
[[ -e $SRC/.config || -e $SRC/include/config ]] &&
    die "$SRC is configured in-tree; O= builds need a clean source (make mrproper there or set HMM_KERNEL_SRC)"

VERSION=$(sed -n -e 's/^VERSION = //p' -e 's/^PATCHLEVEL = //p' -e 's/^SUBLEVEL = //p' "$SRC/Makefile" | paste -sd.)
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "cannot read the kernel version from $SRC/Makefile"
DIR=$CACHE_ROOT/$FLAVOUR-$VERSION
B=$DIR/build
HASH=$( { echo "v1 $VERSION $FLAVOUR defconfig kvm_guest.config"; cat "${FRAGMENTS[@]}"; } | sha256sum | cut -c1-16)

print_env() {
    local rel
    rel=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"/\1/p' "$B/include/generated/utsrelease.h")
    echo "KDIR=$B"
    echo "KERNEL=$DIR/bzImage"
    echo "VM_MODDIR=$DIR/modules/lib/modules/$rel"
    echo "TEST_HMM_KO=$DIR/modules/lib/modules/$rel/kernel/lib/test_hmm.ko"
}
is_built() {
    [[ -f $DIR/stamp && $(<"$DIR/stamp") == "$HASH" && -f $DIR/bzImage &&
       -f $B/Module.symvers && -d $B/scripts && -L $B/source ]] &&
        [[ $(readlink -f "$B/source") == "$(readlink -f "$SRC")" ]]
}

if [[ $PRINT_ENV == 1 ]]; then
    is_built || exit 1
    print_env
    exit 0
fi

mkdir -p "$DIR"
exec 9>"$DIR.lock"
flock -n 9 || { msg "another build of $DIR is running; waiting"; flock 9; }

if is_built && [[ $CONFIG_ONLY == 0 ]]; then
    msg "reusing $DIR (stamp $HASH)"
    print_env
    exit 0
fi

# Build tools: installed with apt-get when run as root, else named.
BUILD_PKGS="build-essential flex bison bc libelf-dev libssl-dev"
missing_tools() {
    local t h
    for t in gcc make flex bison bc perl; do command -v $t >/dev/null || echo "$t"; done
    for h in /usr/include/libelf.h /usr/include/openssl/ssl.h; do [[ -f $h ]] || echo "$h"; done
}
if [[ -n $(missing_tools) ]]; then
    [[ $(id -u) == 0 ]] || die "missing $(missing_tools | paste -sd' ') (apt-get install $BUILD_PKGS)"
    msg "installing kernel build tools: $BUILD_PKGS (apt-get)"
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $BUILD_PKGS >&2 ||
        { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $BUILD_PKGS >&2; } ||
        die "cannot install $BUILD_PKGS"
    [[ -z $(missing_tools) ]] || die "still missing after apt-get: $(missing_tools | paste -sd' ')"
fi

start=$(date +%s)
rm -f "$DIR/stamp"
mkdir -p "$B"
LOG=$DIR/build.log
: >"$LOG"
msg "source $SRC ($VERSION), flavour $FLAVOUR, build tree $B, log $LOG"

K=(make -C "$SRC" O="$B")
"${K[@]}" defconfig kvm_guest.config >>"$LOG" 2>&1 || die "defconfig failed (see $LOG)"
(cd "$B" && "$SRC/scripts/kconfig/merge_config.sh" -m -O "$B" "$B/.config" "${FRAGMENTS[@]}") >>"$LOG" 2>&1 ||
    die "merge_config failed (see $LOG)"
"${K[@]}" olddefconfig >>"$LOG" 2>&1 || die "olddefconfig failed (see $LOG)"

# Every fragment line must have survived olddefconfig (later fragments win).
declare -A want=()
for f in "${FRAGMENTS[@]}"; do
    while IFS= read -r line; do
        if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then want[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
        elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then want[${BASH_REMATCH[1]}]=n
        fi
    done <"$f"
done
bad=0
for sym in "${!want[@]}"; do
    got=$(sed -n "s/^$sym=//p" "$B/.config"); got=${got:-n}
    if [[ $got != "${want[$sym]}" ]]; then msg "config: $sym=${want[$sym]} requested, got $got"; bad=1; fi
done
[[ $bad == 0 ]] || die "the config does not have what hmm.config asks for (dependencies?)"
if [[ $CONFIG_ONLY == 1 ]]; then
    msg "config checked: $B/.config (${#want[@]} symbols as requested)"
    exit 0
fi

# The build, with a progress line every 30 s on stderr.
progress() {
    local last=0 n=0 now line
    while IFS= read -r line; do
        echo "$line" >>"$LOG"
        [[ $line == *" CC "* || $line == *" LD "* || $line == *" AR "* ]] && n=$((n + 1))
        now=$(date +%s)
        if (( now - last >= 30 )); then
            last=$now
            msg "[$(( (now - start) / 60 ))m$(( (now - start) % 60 ))s] $n objects; ${line:0:90}"
        fi
    done
}
msg "building bzImage and modules (nice make -j$JOBS; ~15 min on 2 cores for default, much longer for debug)"
set +e
nice "${K[@]}" -j"$JOBS" bzImage modules 2>&1 | progress
rc=${PIPESTATUS[0]}
set -e
[[ $rc == 0 ]] || { tail -30 "$LOG" >&2; die "kernel build failed (status $rc, log $LOG)"; }

rm -rf "$DIR/modules"
"${K[@]}" INSTALL_MOD_PATH="$DIR/modules" modules_install >>"$LOG" 2>&1 || die "modules_install failed (see $LOG)"
cp "$B/arch/x86/boot/bzImage" "$DIR/bzImage"
echo "$HASH" >"$DIR/stamp"
msg "done in $(( ($(date +%s) - start) / 60 )) min $(( ($(date +%s) - start) % 60 )) s: $DIR"
print_env
