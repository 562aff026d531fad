/* SPDX-License-Identifier: MIT */
/*
 * runs.h - SNAPSHOT over a range of any size reported as runs of pages
 * with the same state, to a callback.
 */
#ifndef HMM_CLI_RUNS_H
#define HMM_CLI_RUNS_H

#include <stdint.h>

#include "hmm_mirror/libhmm_mirror.h"

/* Called once per run of equal states, in address order. */
typedef int (*run_fn)(void *ctx, uint64_t start, uint64_t end,
		      uint32_t state);

/*
 * SNAPSHOT [addr, addr + length) (page aligned) and call @fn for each run
 * of equal states, in address order (hmm_mirror_runs_open(): any range
 * size, any ABI).  Returns 0, a negative errno from the library, or what
 * @fn returned if not 0.
 */
int snapshot_runs(struct hmm_mirror *m, uint64_t addr, uint64_t length,
		  run_fn fn, void *ctx);

#endif /* HMM_CLI_RUNS_H */
