// SPDX-License-Identifier: MIT
/*
 * runs.c - the library's walk over runs (hmm_mirror_runs_*(), which
 * continues full batches and falls back on ABI 1) fed to a callback.
 */
#include "runs.h"

int snapshot_runs(struct hmm_mirror *m, uint64_t addr, uint64_t length,
		  run_fn fn, void *ctx)
{
	struct hmm_mirror_page_run run;
	struct hmm_mirror_runs *it;
	int ret = hmm_mirror_runs_open(m, addr, length, &it);

	if (ret)
		return ret;
	while ((ret = hmm_mirror_runs_next(it, &run)) == 1) {
		ret = fn(ctx, run.addr, run.addr + run.length, run.state);
		if (ret)
			break;
	}
	hmm_mirror_runs_close(it);
	return ret;
}
