#!/usr/bin/env bash
# install-test.sh MAKE STAGE KDIR KREL VERSION LIBVERSION COUNTS
#
# `make install` and `make uninstall` into the staging DESTDIR STAGE (with
# PREFIX=/usr/local), and use what was installed the way a user would:
# pkg-config through the staged .pc, compile and link a program against
# the staged header and library (shared and static), run the staged tool,
# render every staged man page (man --warnings -l), check hmm-mirror(1) and
# the bash and zsh completions against the tool's --help, compile against
# the staged ABI header, check the module's modinfo, the sysusers.d and
# modules-load.d files, and build the staged DKMS source tree against KDIR.
# Then a Debian-style install (PREFIX=/usr LIBDIR=/usr/lib/<multiarch>):
# the tool has no RUNPATH; and make install-dkms, which installs the
# user-space parts too.  One line per check; "passed failed skipped" goes
# to COUNTS (zsh checks are skipped when zsh is not installed).
set -u
make=$1 stage=$2 kdir=$3 krel=$4 version=$5 libversion=$6 counts=$7
prefix=/usr/local
root=$stage$prefix
passed=0 failed=0 skipped=0
here=$(cd "$(dirname "$0")/../.." && pwd)
abiversion=$(sed -n 's/^#define HMM_MIRROR_ABI_VERSION[[:space:]]*\([0-9]*\)$/\1/p' "$here/abi/hmm_mirror.h")
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
	"$root/include/hmm_mirror/hmm_mirror.h"
	"$root/share/man/man1/hmm-mirror.1"
	"$root/share/man/man3/libhmm_mirror.3"
	"$root/share/man/man3/hmm_mirror_snapshot.3"
	"$root/share/bash-completion/completions/hmm-mirror"
	"$root/share/zsh/site-functions/_hmm-mirror"
	"$root/lib/sysusers.d/hmm-mirror.conf"
	"$root/lib/modules-load.d/hmm_mirror.conf"
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
	[ "$out" = "hmm-mirror $version (libhmm_mirror $libversion, ABI version $abiversion)" ] &&
	readelf -d "$root/bin/hmm-mirror" | grep -q 'R.*PATH.*\[\$ORIGIN/../lib\]'
}
check "the staged tool runs with the staged library (RUNPATH \$ORIGIN/../lib)" tool

# --- man pages and completions ---------------------------------------------

man_clean() {	# every staged page renders, and without a warning
	local p err n=0
	for p in "$root"/share/man/man1/*.1 "$root"/share/man/man3/*.3; do
		err=$(MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null) || { echo "$p: man failed"; return 1; }
		[ -z "$err" ] || { echo "$p: $err"; return 1; }
		n=$((n + 1))
	done
	echo "$n pages"
	[ "$n" -ge 30 ]
}
check "man --warnings -l renders every staged man page without a warning" man_clean

# libhmm_mirror(3) and one page per exported function and per header
# inline (the *_init() functions), and no page for anything else.
man3_complete() {
	local want have
	want=$( { nm -D --defined-only "$root/lib/libhmm_mirror.so.$libversion" |
		awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }'
		sed -n 's/^static inline void[[:space:]]*//; s/^\(hmm_mirror_[a-z_]*_init\)(.*/\1/p' \
			"$root/include/hmm_mirror/libhmm_mirror.h"
		echo libhmm_mirror; } | sort -u)
	have=$(cd "$root/share/man/man3" && ls | sed 's/\.3$//' | sort)
	diff <(echo "$want") <(echo "$have")
}
check "a man page per exported function and *_init() inline, and libhmm_mirror(3)" man3_complete

tool_bin=$root/bin/hmm-mirror
# The tool's commands, and the options of a command, as its --help says.
commands() { "$tool_bin" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z]*\) .*/\1/p'; }
options() {
	"$tool_bin" "$1" --help | sed -n 's/^  \(-[-a-z, ]*[a-z]\)\( [A-Z][A-Z]*\)\{0,1\}  .*/\1/p' |
		tr ', ' '\n\n' | sed '/^$/d'
}

man1_matches_help() {	# each command is a section with an item per option
	local text c o bad=0 n=0
	text=$(MANWIDTH=200 man -l "$root/share/man/man1/hmm-mirror.1" 2>/dev/null) || return 1
	for c in $(commands); do
		section=$(awk -v c="$c" '$0 == "   " c { on = 1; next } on && /^   [a-z]/ { exit } on' <<<"$text")
		[ -n "$section" ] || { echo "no section for $c"; bad=1; continue; }
		for o in $(options "$c"); do
			[ "$o" = --help ] && continue
			n=$((n + 1))
			# An item of its own: "-s, --stats" or "--json" at the margin.
			grep -Eq -- "^ {7}(-[a-z-]+, )*$o([ ,]|\$)" <<<"$section" ||
				{ echo "$c: $o missing"; bad=1; }
		done
	done
	echo "$n options checked"
	[ $bad -eq 0 ] && [ $n -ge 10 ]
}
check "hmm-mirror(1) has a section per command of --help, with an item per option" man1_matches_help

bash_completion() {
	local f=$root/share/bash-completion/completions/hmm-mirror
	bash -n "$f" || return 1
	# shellcheck disable=SC2016
	bash -c '
		source "$1"; tool=$2
		complete_line() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _hmm_mirror; printf "%s\n" "${COMPREPLY[@]}" | sort; }
		want=$("$tool" --help | sed -n "/^commands:/,/^\$/s/^  \([a-z][a-z]*\) .*/\1/p" | sort)
		got=$(complete_line hmm-mirror "" | grep -vx help)
		[ "$want" = "$got" ] || { echo "commands: want [$want] got [$got]"; exit 1; }
		for c in $want; do
			want=$("$tool" "$c" --help | sed -n "s/^  \(-[-a-z, ]*[a-z]\)\( [A-Z][A-Z]*\)\{0,1\}  .*/\1/p" | tr ", " "\n\n" | sed "/^\$/d" | sort)
			got=$(complete_line hmm-mirror "$c" -)
			[ "$want" = "$got" ] || { echo "$c: want [$want] got [$got]"; exit 1; }
		done
		[ "$(complete_line hmm-mirror watch --reasons un,pro)" = un,protection ]
	' _ "$f" "$tool_bin"
}
check "bash completion: bash -n, and it completes the commands and options of --help" bash_completion

if command -v zsh >/dev/null; then
	zsh_completion() {
		local f=$root/share/zsh/site-functions/_hmm-mirror c o bad=0
		zsh -n "$f" || return 1
		for c in $(commands); do
			grep -q "[\"']$c:" "$f" || { echo "no command $c"; bad=1; }
			for o in $(options "$c"); do
				grep -q -- "$o\b" "$f" || { echo "$c: $o missing"; bad=1; }
			done
		done
		[ $bad -eq 0 ] && zsh -f -c "fpath=(${f%/*} \$fpath); autoload -Uz compinit; compinit -u -D; [[ \${_comps[hmm-mirror]} == _hmm-mirror ]]"
	}
	check "zsh completion: zsh -n, names every command and option of --help, compinit binds it" zsh_completion
else
	echo "SKIP  zsh completion (zsh is not installed: make setup)"
	skipped=$((skipped + 1))
fi

# --- the ABI header, the module and its system files ------------------------

abi_header() {	# alone, and with the library's header in either order
	local d first second
	d=$(mktemp -d)
	for first in hmm_mirror.h libhmm_mirror.h; do
		second=$([ $first = hmm_mirror.h ] && echo libhmm_mirror.h || echo hmm_mirror.h)
		printf '#include <hmm_mirror/%s>\n#include <hmm_mirror/%s>\nint main(void) { return HMM_MIRROR_IOC_HANDSHAKE == 0 || HMM_MIRROR_ABI_VERSION < 1; }\n' \
			$first $second > "$d/u.c"
		cc -std=c11 -Wall -Wextra -Werror -pedantic -I"$root/include" -o "$d/u" "$d/u.c" || { rm -rf "$d"; return 1; }
	done
	printf '#include <hmm_mirror/hmm_mirror.h>\nint main(void) { return HMM_MIRROR_IOC_STATS == 0; }\n' > "$d/u.c"
	cc -std=c11 -Wall -Wextra -Werror -I"$root/include" -o "$d/u" "$d/u.c"
	local rc=$?
	rm -rf "$d"
	return $rc
}
check "the staged ABI header <hmm_mirror/hmm_mirror.h> compiles alone and with libhmm_mirror.h" abi_header

ko=$stage/lib/modules/$krel/extra/hmm_mirror.ko
module_info() {
	local v a
	v=$(modinfo -F version "$ko") && a=$(modinfo -F author "$ko") || return 1
	echo "version '$v', author '$a', VERSION '$(cat "$here/VERSION")'"
	[ "$v" = "$version" ] && [ "$v" = "$(cat "$here/VERSION")" ] && [ -n "$a" ] &&
	[ "$(modinfo -F name "$ko")" = hmm_mirror ]
}
check "modinfo: the module's version is VERSION ($version), and it has an author" module_info
autoload_file() {	# modules-load.d names the module; no devname alias without a fixed minor
	[ "$(grep -v '^#' "$root/lib/modules-load.d/hmm_mirror.conf")" = "$(modinfo -F name "$ko")" ] &&
	! modinfo -F alias "$ko" | grep -q '^devname:'
}
check "modules-load.d/hmm_mirror.conf loads hmm_mirror at boot" autoload_file
sysusers_file() {
	local f=$root/lib/sysusers.d/hmm-mirror.conf out
	grep -q '^g hmm_mirror -$' "$f" || return 1
	command -v systemd-sysusers >/dev/null || return 0
	mkdir -p "$stage/sysusers-root"
	out=$(systemd-sysusers --dry-run --root="$stage/sysusers-root" - <"$f" 2>&1)
	echo "$out"
	rm -rf "$stage/sysusers-root"
	grep -q "^Creating group 'hmm_mirror'" <<<"$out"
}
check "sysusers.d/hmm-mirror.conf declares the group hmm_mirror (systemd-sysusers --dry-run)" sysusers_file

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
dkms_version() {	# the DKMS build reads VERSION too
	local dir=$stage/usr/src/hmm-mirror-$version
	[ "$(modinfo -F version "$dir/kmod/hmm_mirror.ko")" = "$version" ]
}
check "the DKMS-built module's version is $version too" dkms_version
rm -rf "$stage"

# --- a Debian-style install -------------------------------------------------

multiarch=$(cc -print-multiarch)
deb=(DESTDIR="$stage" PREFIX=/usr LIBDIR=/usr/lib/$multiarch UDEVRULESDIR=/usr/lib/udev/rules.d)
check "make install-dkms DESTDIR=... PREFIX=/usr LIBDIR=/usr/lib/$multiarch" $make --no-print-directory install-dkms "${deb[@]}"
debfiles=(
	"$stage/usr/bin/hmm-mirror"
	"$stage/usr/lib/$multiarch/libhmm_mirror.so.$libversion"
	"$stage/usr/lib/$multiarch/pkgconfig/libhmm_mirror.pc"
	"$stage/usr/include/hmm_mirror/libhmm_mirror.h"
	"$stage/usr/include/hmm_mirror/hmm_mirror.h"
	"$stage/usr/share/man/man1/hmm-mirror.1"
	"$stage/usr/share/man/man3/hmm_mirror_open.3"
	"$stage/usr/share/bash-completion/completions/hmm-mirror"
	"$stage/usr/share/zsh/vendor-completions/_hmm-mirror"
	"$stage/usr/lib/udev/rules.d/99-hmm-mirror.rules"
	"$stage/usr/lib/sysusers.d/hmm-mirror.conf"
	"$stage/usr/lib/modules-load.d/hmm_mirror.conf"
	"$stage/usr/src/hmm-mirror-$version/dkms.conf"
	"$stage/usr/src/hmm-mirror-$version/VERSION"
)
deb_there() { for f in "${debfiles[@]}"; do [ -f "$f" ] || { echo "missing $f"; return 1; }; done; }
check "install-dkms puts the library, headers, tool, man pages, completions, udev rule, group and modules-load.d file in Debian's places too" deb_there
no_runpath() {
	readelf -d "$stage/usr/bin/hmm-mirror" | grep -E 'R(UN)?PATH' && return 1
	grep -q "^libdir=/usr/lib/$multiarch\$" "$stage/usr/lib/$multiarch/pkgconfig/libhmm_mirror.pc"
}
check "/usr/bin/hmm-mirror has no RUNPATH or RPATH (LIBDIR=/usr/lib/$multiarch)" no_runpath
check "make uninstall-dkms (Debian-style)" $make --no-print-directory uninstall-dkms "${deb[@]}"
check "uninstall-dkms removes every installed file" nothing_left
rm -rf "$stage"

echo "packaging: $passed passed, $failed failed, $skipped skipped"
echo "$passed $failed $skipped" > "$counts"
[ "$failed" -eq 0 ]
