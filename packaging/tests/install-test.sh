#!/usr/bin/env bash
# install-test.sh MAKE STAGE KDIR KREL VERSION LIBVERSION COUNTS
#
# `make install` and `make uninstall` into the staging DESTDIR STAGE (with
# PREFIX=/usr/local), and use what was installed the way a user would:
# pkg-config through the staged .pc, compile and link a program against
# the staged header and library (shared and static), run the staged tool,
# and build the staged DKMS source tree against KDIR.  One line per check;
# "passed failed 0" goes to COUNTS.
set -u
make=$1 stage=$2 kdir=$3 krel=$4 version=$5 libversion=$6 counts=$7
prefix=/usr/local
root=$stage$prefix
passed=0 failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

check() {	# check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@" >"$log" 2>&1; then
		echo "PASS  $what"
		passed=$((passed + 1))
	else
		echo "FAIL  $what"
		sed 's/^/      /' "$log" | tail -20
		failed=$((failed + 1))
	fi
}

rm -rf "$stage"
check "make install DESTDIR=... PREFIX=$prefix" \
	$make --no-print-directory install DESTDIR="$stage" PREFIX=$prefix

files=(
	"$root/bin/hmm-mirror"
	"$root/lib/libhmm_mirror.so.$libversion"
	"$root/lib/libhmm_mirror.a"
	"$root/include/hmm_mirror/libhmm_mirror.h"
	"$root/lib/pkgconfig/libhmm_mirror.pc"
	"$stage/etc/udev/rules.d/99-hmm-mirror.rules"
	"$stage/lib/modules/$krel/extra/hmm_mirror.ko"
)
all_there() { for f in "${files[@]}"; do [ -f "$f" ] || { echo "missing $f"; return 1; }; done; }
check "every file is installed" all_there
links() {
	[ "$(readlink "$root/lib/libhmm_mirror.so.1")" = "libhmm_mirror.so.$libversion" ] &&
	[ "$(readlink "$root/lib/libhmm_mirror.so")" = "libhmm_mirror.so.1" ]
}
check "libhmm_mirror.so -> .so.1 -> .so.$libversion" links
check "the installed module is for $krel" \
	bash -c "modinfo -F vermagic '$stage/lib/modules/$krel/extra/hmm_mirror.ko' | grep -q '^$krel '"
check "the udev rule gives the node to group hmm_mirror, mode 0660" \
	grep -q 'KERNEL=="hmm_mirror".*GROUP="hmm_mirror", MODE="0660"' \
	"$stage/etc/udev/rules.d/99-hmm-mirror.rules"

export PKG_CONFIG_SYSROOT_DIR=$stage PKG_CONFIG_LIBDIR=$root/lib/pkgconfig
pc_flags() {
	local got
	got=$(pkg-config --cflags --libs libhmm_mirror) || return 1
	got=${got% }
	echo "got: $got"
	[ "$got" = "-I$root/include -L$root/lib -lhmm_mirror" ] &&
	[ "$(pkg-config --modversion libhmm_mirror)" = "$libversion" ] &&
	grep -q "^prefix=$prefix\$" "$root/lib/pkgconfig/libhmm_mirror.pc"
}
check "pkg-config --cflags --libs libhmm_mirror (staged .pc, prefix $prefix)" pc_flags

src=$(mktemp -d)
cat > "$src/use.c" <<'PROG'
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <hmm_mirror/libhmm_mirror.h>

int main(void)
{
	struct hmm_mirror *m = NULL;
	int ret = hmm_mirror_open_path("/nonexistent/hmm_mirror", &m);

	printf("%s %d\n", hmm_mirror_lib_version(), ret == -ENOENT && !m &&
	       strstr(hmm_mirror_last_error(), "hmm_mirror_open") != NULL);
	return 0;
}
PROG
link_shared() {
	# shellcheck disable=SC2046
	cc -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags libhmm_mirror) \
		-o "$src/use" "$src/use.c" $(pkg-config --libs libhmm_mirror) &&
	[ "$(LD_LIBRARY_PATH=$root/lib "$src/use")" = "$libversion 1" ] &&
	LD_LIBRARY_PATH=$root/lib ldd "$src/use" | grep -q "$root/lib/libhmm_mirror.so.1"
}
check "a program compiles and links against the staged shared library" link_shared
link_static() {
	# shellcheck disable=SC2046
	cc -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags libhmm_mirror) \
		-o "$src/use-static" "$src/use.c" -L"$root/lib" \
		-Wl,-Bstatic -lhmm_mirror -Wl,-Bdynamic &&
	[ "$("$src/use-static")" = "$libversion 1" ] &&
	! ldd "$src/use-static" | grep -q libhmm_mirror
}
check "a program links the staged static library" link_static
rm -rf "$src"

tool() {
	local out
	out=$(env -u LD_LIBRARY_PATH "$root/bin/hmm-mirror" --version) || return 1
	echo "$out"
	[ "$out" = "hmm-mirror $version (libhmm_mirror $libversion, ABI version 2)" ] &&
	readelf -d "$root/bin/hmm-mirror" | grep -q 'R.*PATH.*\[\$ORIGIN/../lib\]'
}
check "the staged tool runs with the staged library (RUNPATH \$ORIGIN/../lib)" tool

check "make uninstall DESTDIR=..." \
	$make --no-print-directory uninstall DESTDIR="$stage" PREFIX=$prefix
nothing_left() {
	local left
	left=$(find "$stage" -type f -o -type l)
	[ -z "$left" ] || { echo "left behind: $left"; return 1; }
}
check "uninstall removes every installed file" nothing_left

dkms_tree() {
	local dir=$stage/usr/src/hmm-mirror-$version
	$make --no-print-directory dkms-src DESTDIR="$stage" &&
	grep -q "^PACKAGE_VERSION=\"$version\"\$" "$dir/dkms.conf" &&
	make -C "$kdir" M="$dir/kmod" modules &&
	modinfo -F vermagic "$dir/kmod/hmm_mirror.ko" | grep -q "^$krel "
}
check "the DKMS source tree is complete: it builds hmm_mirror.ko for $krel" dkms_tree
rm -rf "$stage"

echo "packaging: $passed passed, $failed failed"
echo "$passed $failed 0" > "$counts"
[ "$failed" -eq 0 ]
