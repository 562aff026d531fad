#!/bin/sh
# torture.sh - the short torture round of `make test` (a VM suite, see
# tests/vm/guest-suite.sh): a fixed seed, HMM_TORTURE_SECONDS long; the
# counts are rounds checked clean and findings.
: "${HMM_TORTURE_BIN:?HMM_TORTURE_BIN is not set (run through make)}"
: "${HMM_RESULTS:?HMM_RESULTS is not set}"
exec "$HMM_TORTURE_BIN" --seed 20261207 --seconds "${HMM_TORTURE_SECONDS:-60}" \
	--verbose --counts "$HMM_RESULTS/torture.counts"
