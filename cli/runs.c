// SPDX-License-Identifier: MIT
/*
 * runs.c - SNAPSHOT as runs of equal states: the module's runs when it has
 * them (ABI 2), else per-page states in bounded pieces, collapsed here.
 */
#include <errno.h>
#include <stdlib.h>

#include "runs.h"

#define PIECE (1ULL << 30)
#define RUNS_BATCH 4096

/* HMM_MIRROR_FEAT_SNAPSHOT_RUNS: a batch ends on a run boundary. */
static int module_runs(struct hmm_mirror *m, uint64_t addr, uint64_t length,
		       run_fn fn, void *ctx)
{
	struct hmm_mirror_page_run *runs = malloc(RUNS_BATCH * sizeof(*runs));
	const uint64_t end = addr + length;
	uint64_t at = addr;
	int ret = 0;

	if (!runs)
		return -ENOMEM;
	while (at < end && !ret) {
		size_t n = 0;

		ret = hmm_mirror_snapshot_runs(m, at, end - at, runs, RUNS_BATCH,
					       &n);
		if (!ret && !n)
			ret = -EIO;	/* a range always has a run */
		for (size_t i = 0; i < n && !ret; i++)
			ret = fn(ctx, runs[i].addr,
				 runs[i].addr + runs[i].length, runs[i].state);
		if (!ret)
			at = runs[n - 1].addr + runs[n - 1].length;
	}
	free(runs);
	return ret;
}

int snapshot_runs(struct hmm_mirror *m, uint64_t addr, uint64_t length,
		  run_fn fn, void *ctx)
{
	const uint64_t page = hmm_mirror_page_size(m);
	const uint64_t end = addr + length;
	uint64_t run_start = addr;
	uint32_t run_state = 0;
	uint32_t *states;
	int ret = 0;

	if (hmm_mirror_features(m) & HMM_MIRROR_FEAT_SNAPSHOT_RUNS)
		return module_runs(m, addr, length, fn, ctx);
	states = malloc((PIECE / page) * sizeof(*states));
	if (!states)
		return -ENOMEM;
	for (uint64_t at = addr; at < end && !ret;) {
		/* Pieces aligned to PIECE: the kernel walks no further. */
		uint64_t piece_end = (at & ~(PIECE - 1)) + PIECE;
		uint64_t n;

		if (piece_end > end || piece_end < at)
			piece_end = end;
		n = (piece_end - at) / page;
		ret = hmm_mirror_snapshot(m, at, piece_end - at, states, n);
		for (uint64_t i = 0; i < n && !ret; i++) {
			uint64_t here = at + i * page;

			if (here == addr) {
				run_state = states[i];
			} else if (states[i] != run_state) {
				ret = fn(ctx, run_start, here, run_state);
				run_start = here;
				run_state = states[i];
			}
		}
		at = piece_end;
	}
	if (!ret)
		ret = fn(ctx, run_start, end, run_state);
	free(states);
	return ret;
}
