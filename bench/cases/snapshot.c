// SPDX-License-Identifier: GPL-2.0
/*
 * snapshot - SNAPSHOT of populated memory, one state per page and as runs
 * of equal pages (HMM_MIRROR_PAGES_RUNS), against dmirror's SNAPSHOT and
 * against the CPU reading /proc/self/pagemap.  The diagnostic rows time
 * hmm_mirror with one walker (snapshot_split=N) in the same runs.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "hmm_mirror.h"

static void run(const struct case_ctx *c)
{
	unsigned long size = c->size;
	char *reg = map_region(slot_addr(SLOT_REGION), size, c->thp, true);
	unsigned long pages = size / PAGE;
	uint32_t *st = malloc(pages * sizeof(*st));
	uint8_t *perm = malloc(pages);
	uint64_t *pm = malloc(pages * sizeof(*pm));
	double h[MAX_REPS], hr[MAX_REPS], d[MAX_REPS], p[MAX_REPS];
	double h1[MAX_REPS], hr1[MAX_REPS];	/* one walker */
	bool one = set_snapshot_split(true);
	struct hmm_mirror_run runs[256];
	unsigned long nr_runs = 0;
	int hfd = hm_open(), dfd = dm_open();
	/* cheap and noisy: three times the runs */
	unsigned int n = 3 * c->reps > MAX_REPS ? MAX_REPS : 3 * c->reps;
	int pfd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	unsigned int r;
	uint64_t t;

	if (!st || !perm || !pm || pfd < 0)
		die("snapshot setup");
	/* touched before any timing: no page fault on the outputs is timed */
	memset(st, 0, pages * sizeof(*st));
	memset(perm, 0, pages);
	memset(pm, 0, pages * sizeof(*pm));
	for (r = 0; r < n; r++) {
		t = now_ns();
		hm_snapshot(hfd, reg, size, st);
		h[r] = now_ns() - t;
		t = now_ns();
		nr_runs = hm_snapshot_runs(hfd, reg, size, runs, 256);
		hr[r] = now_ns() - t;
		if (one) {
			if (!set_snapshot_split(false))
				die("snapshot_split");
			t = now_ns();
			hm_snapshot(hfd, reg, size, st);
			h1[r] = now_ns() - t;
			t = now_ns();
			hm_snapshot_runs(hfd, reg, size, runs, 256);
			hr1[r] = now_ns() - t;
			if (!set_snapshot_split(true))
				die("snapshot_split");
		}
		t = now_ns();
		dm_snapshot(dfd, reg, size, perm);
		d[r] = now_ns() - t;
		t = now_ns();
		if (pread(pfd, pm, pages * sizeof(*pm),
			  (uintptr_t)reg / PAGE * sizeof(*pm)) !=
		    (ssize_t)(pages * sizeof(*pm)))
			die("pagemap");
		p[r] = now_ns() - t;
	}
	/* sanity: every page is there in all three views */
	if (!(st[0] & HMM_MIRROR_PAGE_VALID) || !(st[pages - 1] & HMM_MIRROR_PAGE_VALID) ||
	    !dm_present(perm[0]) || !(pm[pages - 1] >> 63))
		die("snapshot: populated pages not reported");
	/* populated, writable memory of one page size: a single run */
	if (nr_runs != 1 || runs[0].state != st[0] || runs[0].length != size)
		die("snapshot runs: %lu runs for uniform memory", nr_runs);
	record("snapshot", c->mode, "hmm_mirror", size, h, n);
	record("snapshot", c->mode, "dmirror", size, d, n);
	record("snapshot", c->mode, "pagemap", size, p, n);
	record("snapshot_runs", c->mode, "hmm_mirror", size, hr, n);
	record("snapshot_runs", c->mode, "dmirror", size, d, n);
	record("snapshot_runs", c->mode, "pagemap", size, p, n);
	if (one) {
		record("snapshot", c->mode, "hm_1walker", size, h1, n);
		record("snapshot_runs", c->mode, "hm_1walker", size, hr1, n);
	}
	progress("snapshot %s %s: hmm_mirror %.2f ms (runs %.2f ms), dmirror %.2f ms, pagemap %.2f ms",
		 c->mode, c->sz, median(h, n) / 1e6, median(hr, n) / 1e6,
		 median(d, n) / 1e6, median(p, n) / 1e6);
	close(pfd);
	close(dfd);
	close(hfd);
	free(pm);
	free(perm);
	free(st);
	unmap_region(reg, size);
}

static void report(void)
{
	static const char *const cs[] = { "snapshot", "snapshot_runs" };
	unsigned int i, k, m;
	char sz[16];

	for (m = 0; m < 2; m++) {
		print_case("snapshot", page_modes[m], "pagemap", true);
		print_case("snapshot_runs", page_modes[m], "pagemap", true);
	}
	out("\ndiagnostics: SNAPSHOT with one walker (snapshot_split=N) against the default,\n"
	    "which walks 32 MiB and more with the caller and a helper on the other CPU; ms\n");
	out("  %-13s %-4s %6s %11s %11s %11s %9s %9s\n", "case", "mode", "size", "hmm_mirror",
	    "one walker", "dmirror", "2w/1w", "1w/dm");
	for (m = 0; m < 2; m++)
		for (i = 0; i < nr_sizes; i++)
			for (k = 0; k < 2; k++) {
				const char *mo = page_modes[m];
				const struct result *o = find(cs[k], mo, "hm_1walker", sizes[i]);
				const struct result *h = find(cs[k], mo, "hmm_mirror", sizes[i]);
				const struct result *d = find(cs[k], mo, "dmirror", sizes[i]);

				if (!o || !h || !d)
					continue;
				size_str(sz, sizeof(sz), sizes[i]);
				out("  %-13s %-4s %6s %11.3f %11.3f %11.3f %8.2fx %8.2fx\n", cs[k],
				    mo, sz, h->med / 1e6, o->med / 1e6, d->med / 1e6,
				    o->med / h->med, d->med / o->med);
			}
}

const struct bench_case case_snapshot = {
	.name = "snapshot",
	.description = "SNAPSHOT per page and as runs, against dmirror's SNAPSHOT and /proc/self/pagemap",
	.when = CASE_SIZES,
	.run = run,
	.report = report,
};
