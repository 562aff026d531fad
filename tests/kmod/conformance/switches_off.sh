#!/bin/sh
# switches_off.sh - the conformance suite again with the module's two
# optimisations off: defer_invalidations=0 (every invalidation removes the
# device entries before its notifier returns, as hardware needs;
# kmod/invalidate.c) and snapshot_split=0 (a SNAPSHOT walks on one CPU;
# kmod/snapshot_split.c).  A VM suite of make test
# (tests/vm/guest-suite.sh); the GoogleTest report is switches_off.json.
# The switches are restored after.
: "${HMM_CONFORMANCE_BIN:?HMM_CONFORMANCE_BIN is not set (run through make)}"
: "${HMM_RESULTS:?HMM_RESULTS is not set}"
params=/sys/module/hmm_mirror/parameters
saved=
for p in defer_invalidations snapshot_split; do
	[ -w "$params/$p" ] || { echo "switches_off: $params/$p is not writable (module loaded?)" >&2; exit 1; }
	saved="$saved $p=$(cat "$params/$p")"
	echo N >"$params/$p" && [ "$(cat "$params/$p")" = N ] ||
		{ echo "switches_off: $params/$p did not change" >&2; exit 1; }
done
"$HMM_CONFORMANCE_BIN" --gtest_output="json:$HMM_RESULTS/switches_off.json"
rc=$?
for s in $saved; do echo "${s#*=}" >"$params/${s%%=*}"; done
exit $rc
