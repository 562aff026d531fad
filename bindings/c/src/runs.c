// SPDX-License-Identifier: MIT
/*
 * runs.c - hmm_mirror_runs_*(): a range of any size as runs of equal page
 * states.  The module's runs (ABI 2) a batch at a time, continued from the
 * end of a full batch; on an ABI 1 module, per-page SNAPSHOT of bounded
 * pieces collapsed here.  Either way the caller gets the same runs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

/* Runs asked for per call: 24 KiB, and one call covers most ranges. */
#define RUNS_BATCH 1024
/*
 * Pages per SNAPSHOT on ABI 1: a 256 KiB states array, 256 MiB of range
 * with 4K pages.  Pieces are aligned to their size so that each walk
 * stays short (a SNAPSHOT is not interruptible but by a fatal signal).
 */
#define PIECE_PAGES (1U << 16)

struct hmm_mirror_runs {
	struct hmm_mirror *m;
	uint64_t at;		/* where the next module call starts */
	uint64_t end;
	bool module_runs;	/* the module has SNAPSHOT_RUNS */
	int error;		/* sticky: the walk stopped with it */
	/* The last batch: module runs, or per-page states from @base. */
	struct hmm_mirror_page_run *runs;
	uint32_t *states;
	uint64_t base;
	size_t len, pos;
	/* The run being grown: reported once the next one differs. */
	struct hmm_mirror_page_run pending;
	bool have_pending;
};

HMM_LIB_EXPORT int hmm_mirror_runs_open(struct hmm_mirror *m, uint64_t addr,
					uint64_t length,
					struct hmm_mirror_runs **out)
{
	static const char call[] = "hmm_mirror_runs_open";
	struct hmm_mirror_runs *it;
	char args[96];
	int ret;

	if (out)
		*out = NULL;
	ret = hmm_lib_check(m, HMM_MIRROR_FEAT_SNAPSHOT, call);
	if (ret)
		return ret;
	snprintf(args, sizeof(args), "addr=0x%" PRIx64 ", length=0x%" PRIx64,
		 addr, length);
	ret = hmm_lib_check_range(m, addr, length, call, args);
	if (ret)
		return ret;
	if (!out)
		return hmm_lib_fail(EINVAL, call, "out is NULL", "%s", args);
	it = calloc(1, sizeof(*it));
	if (it) {
		it->module_runs = m->features & HMM_MIRROR_FEAT_SNAPSHOT_RUNS;
		if (it->module_runs)
			it->runs = malloc(RUNS_BATCH * sizeof(*it->runs));
		else
			it->states = malloc(PIECE_PAGES * sizeof(*it->states));
	}
	if (!it || (!it->runs && !it->states)) {
		free(it);
		return hmm_lib_fail(ENOMEM, call, NULL, "%s", args);
	}
	it->m = m;
	it->at = addr;
	it->end = addr + length;
	*out = it;
	return 0;
}

/* The next batch of module runs: 1, 0 at the end, or a negative errno. */
static int fill_runs(struct hmm_mirror_runs *it)
{
	size_t n = 0;
	int ret;

	ret = hmm_mirror_snapshot_runs(it->m, it->at, it->end - it->at,
				       it->runs, RUNS_BATCH, &n);
	if (ret)
		return ret;
	/* A range always has a run; the module never writes more than asked. */
	if (!n || n > RUNS_BATCH)
		return hmm_lib_fail(EIO, "hmm_mirror_runs_next",
				    "the module answered a bad number of runs",
				    "at 0x%" PRIx64 ": nr_runs=%zu", it->at, n);
	it->len = n;
	it->pos = 0;
	return 1;
}

/* The next piece of per-page states (ABI 1). */
static int fill_states(struct hmm_mirror_runs *it)
{
	const uint32_t shift = it->m->page_shift;
	const uint64_t piece = (uint64_t)PIECE_PAGES << shift;
	uint64_t stop = (it->at & ~(piece - 1)) + piece;
	int ret;

	if (stop > it->end || stop < it->at)
		stop = it->end;
	it->len = (stop - it->at) >> shift;
	ret = hmm_mirror_snapshot(it->m, it->at, stop - it->at, it->states,
				  PIECE_PAGES);
	if (ret)
		return ret;
	it->base = it->at;
	it->pos = 0;
	it->at = stop;
	return 1;
}

/* The next run as the module or one piece gives it, not yet merged. */
static int raw_next(struct hmm_mirror_runs *it, struct hmm_mirror_page_run *r)
{
	if (it->pos == it->len) {
		int ret;

		if (it->at >= it->end)
			return 0;
		ret = it->module_runs ? fill_runs(it) : fill_states(it);
		if (ret <= 0)
			return ret;
	}
	if (it->module_runs) {
		*r = it->runs[it->pos++];
		/* Each run must start where the walk is and move it on. */
		if (r->addr != it->at || !r->length ||
		    r->length > it->end - it->at)
			return hmm_lib_fail(EIO, "hmm_mirror_runs_next",
					    "the module's run does not continue the walk",
					    "at 0x%" PRIx64 ": run addr=0x%" PRIx64 ", length=0x%" PRIx64,
					    it->at, (uint64_t)r->addr,
					    (uint64_t)r->length);
		it->at += r->length;
		if (it->at == it->end)
			it->pos = it->len;	/* nothing after the end counts */
		return 1;
	}
	const size_t first = it->pos;

	r->state = it->states[it->pos];
	r->reserved = 0;
	while (it->pos < it->len && it->states[it->pos] == r->state)
		it->pos++;
	r->addr = it->base + ((uint64_t)first << it->m->page_shift);
	r->length = (uint64_t)(it->pos - first) << it->m->page_shift;
	return 1;
}

HMM_LIB_EXPORT int hmm_mirror_runs_next(struct hmm_mirror_runs *it,
					struct hmm_mirror_page_run *run)
{
	struct hmm_mirror_page_run r;
	int ret;

	if (!it || !run)
		return hmm_lib_fail(EINVAL, "hmm_mirror_runs_next",
				    it ? "run is NULL" : "it is NULL", "%s", "");
	if (it->error)
		return it->error;
	/* Grow the pending run until one differs: batches and pieces end
	 * where the module or the piece size says, not where states change. */
	while ((ret = raw_next(it, &r)) > 0) {
		if (!it->have_pending) {
			it->pending = r;
			it->have_pending = true;
		} else if (r.state == it->pending.state) {
			it->pending.length += r.length;
		} else {
			*run = it->pending;
			it->pending = r;
			return 1;
		}
	}
	if (ret < 0) {
		it->error = ret;
		it->have_pending = false;
		return ret;
	}
	if (!it->have_pending)
		return 0;
	*run = it->pending;
	it->have_pending = false;
	return 1;
}

HMM_LIB_EXPORT void hmm_mirror_runs_close(struct hmm_mirror_runs *it)
{
	if (!it)
		return;
	free(it->runs);
	free(it->states);
	free(it);
}
