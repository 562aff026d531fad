// SPDX-License-Identifier: MIT
/*
 * runs.c - SNAPSHOT in bounded pieces, collapsed into runs of equal
 * states.
 */
#include <errno.h>
#include <stdlib.h>

#include "runs.h"

#define PIECE (1ULL << 30)

int snapshot_runs(struct hmm_mirror *m, uint64_t addr, uint64_t length,
		  run_fn fn, void *ctx)
{
	const uint64_t page = hmm_mirror_page_size(m);
	const uint64_t end = addr + length;
	uint64_t run_start = addr;
	uint32_t run_state = 0;
	uint32_t *states;
	int ret = 0;

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
