#!/bin/sh
# tests/python/python.sh: the Python binding's tests against hmm_mirror.ko,
# run inside the test VM by tests/vm/guest-suite.sh (a VM_SUITES entry of
# bindings/python/python.mk).  Writes $HMM_RESULTS/python.counts
# ("passed failed skipped") and pytest's junit report beside it.
#
# HMM_PYTHON: the interpreter that has hmm_mirror and pytest installed (the
# venv `make` built on the host, which the guest sees at the same path).
here=$(cd "$(dirname "$0")" && pwd)
results=${HMM_RESULTS:-/tmp}
python=${HMM_PYTHON:-python3}
counts="$results/python.counts"
case $python in	# made absolute: we cd below
/*) ;;
*/*) python=$PWD/$python ;;
esac

rm -f "$counts"
cd "$here" || exit 1
# The guest's root is read-only: no bytecode files, no pytest cache.
PYTHONDONTWRITEBYTECODE=1 HMM_PYTHON_REQUIRE_DEVICE=1 \
	"$python" -m pytest -q vm --counts "$counts" \
	--junitxml "$results/python-junit.xml" -o junit_family=xunit2
rc=$?
[ -s "$counts" ] || echo "0 1 0" > "$counts"
exit $rc
