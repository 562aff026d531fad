#!/usr/bin/env bash
# require.sh WHAT...: say exactly what is missing for a make target, and how
# to get it, instead of failing obscurely later.  WHAT is one of:
#   host   compilers, GoogleTest and libFuzzer
#   kdir   the kernel build tree in $KDIR
#   vm     qemu, busybox and the kernel image in $KERNEL
set -u
fail=0
need() {	# need CHECK-COMMAND PACKAGE DESCRIPTION
	if ! eval "$1" >/dev/null 2>&1; then
		echo "missing: $3 (Debian package $2; 'make setup' installs it)" >&2
		fail=1
	fi
}
for what in "$@"; do
	case "$what" in
	host)
		need "command -v gcc" build-essential "the C compiler gcc"
		need "command -v g++" g++ "the C++ compiler g++"
		need "test -f /usr/include/gtest/gtest.h" libgtest-dev "GoogleTest"
		need "command -v clang++-14" clang-14 "clang++ for the fuzzers"
		need "ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" \
			libclang-rt-14-dev "libFuzzer"
		;;
	kdir)
		if [ -z "${KDIR:-}" ] || [ ! -f "${KDIR}/Makefile" ]; then
			echo "missing: a kernel build tree (KDIR='${KDIR:-}'); 'make setup' installs linux-headers-amd64, or pass KDIR=" >&2
			fail=1
		fi
		;;
	vm)
		need "command -v qemu-system-x86_64" qemu-system-x86 "qemu-system-x86_64"
		need "test -x /bin/busybox" busybox-static "busybox"
		need "command -v cpio" cpio "cpio"
		if [ -z "${KERNEL:-}" ] || [ ! -f "${KERNEL}" ]; then
			echo "missing: the guest kernel image (KERNEL='${KERNEL:-}'); 'make setup' installs linux-image-amd64, or pass KERNEL=" >&2
			fail=1
		fi
		;;
	*)
		echo "require.sh: unknown requirement '$what'" >&2
		fail=1
		;;
	esac
done
exit $fail
