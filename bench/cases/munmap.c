// SPDX-License-Identifier: GPL-2.0
/*
 * munmap - what a mirror costs the CPU's munmap: of a range the device
 * maps ("mirrored"), and of unrelated memory (the same size, 64 GiB away,
 * while the device maps another range), against the same munmap with no
 * device open ("plain").  The diagnostic "chunk kept" contender also maps
 * a page elsewhere in the same 1 GiB chunk, so that the munmap does not
 * empty the chunk.
 */
#include <unistd.h>

#include "bench.h"

/* Who maps the memory when a munmap is timed. */
enum munmap_dev { MU_PLAIN, MU_HMM, MU_HMM_KEEP, MU_DMIRROR, MU_NR };

/*
 * The order the contenders run in.  Two things slow a munmap that have
 * nothing to do with who maps memory.  One is what ran just before it
 * (dmirror's close frees its tree through RCU, a mirror's close its
 * notifiers).  The other is the step's parity: populating and unmapping
 * the same range again and again alternates between a faster and a slower
 * munmap, about 8% apart at THP 1 GiB even with no device at all (the
 * page allocator hands the freed pages back last in, first out, so the
 * range's physical order flips from one step to the next).  These
 * sequences, taken round and round, hold each ordered pair of 3 (or 4)
 * contenders twice per turn, once ending on an even step and once on an
 * odd one.  So every contender follows every other equally often and is
 * timed on even and odd steps equally often, and its figure is the mean
 * of its medians on even and on odd steps (record_stepped()).  check()
 * checks both properties.
 */
static const unsigned char order3[12] = { 0, 1, 0, 2, 1, 0, 2, 1, 2, 0, 1, 2 };
static const unsigned char order4[24] = {
	0, 1, 0, 2, 0, 3, 1, 0, 1, 2, 1, 3, 2, 0, 2, 1, 3, 0, 3, 2, 3, 1, 2, 3
};

static const unsigned char *balanced_order(unsigned int n, unsigned int *len)
{
	*len = n == 4 ? ARRAY_SIZE(order4) : ARRAY_SIZE(order3);
	return n == 4 ? order4 : order3;
}

/* The contender (index into the caller's list of @n) timed @g-th. */
static unsigned int balanced_next(unsigned int n, unsigned int g)
{
	unsigned int len;
	const unsigned char *order = balanced_order(n, &len);

	return order[g % len];
}

/* Die unless order3 and order4 have the properties the figures rely on. */
static bool check(void)
{
	for (unsigned int n = 3; n <= 4; n++) {
		unsigned int len, i, a, b, pairs[4][4][2] = { 0 }, steps[4][2] = { 0 };
		const unsigned char *o = balanced_order(n, &len);

		for (i = 0; i < len; i++) {
			/* the pair that ends on step i + 1 */
			pairs[o[i]][o[(i + 1) % len]][(i + 1) % len % 2]++;
			steps[o[i]][i % 2]++;
		}
		for (a = 0; a < n; a++) {
			if (steps[a][0] != steps[a][1] || steps[a][0] * 2 * n != len)
				die("order%u: contender %u unbalanced", n, a);
			for (b = 0; b < n; b++)
				if (pairs[a][b][0] != (a != b) ||
				    pairs[a][b][1] != (a != b))
					die("order%u: pair %u %u unbalanced", n, a, b);
		}
	}
	return true;
}

/*
 * @reps rounded up so that the timings make whole turns of the order, at
 * most 60 (a whole number of turns for 3 and 4 contenders, <= MAX_REPS).
 */
static unsigned int balanced_reps(unsigned int n, unsigned int reps)
{
	unsigned int len, per_turn;

	balanced_order(n, &len);
	per_turn = len / n;
	if (reps > 60)
		reps = 60;
	return (reps + per_turn - 1) / per_turn * per_turn;
}

/*
 * Map @size at @at, let @dev map @mirrored (which may be the same memory)
 * and time the munmap of @at.  MU_HMM_KEEP also maps @keeper, a page in the
 * same 1 GiB chunk, so that the munmap does not empty the chunk.
 */
static double timed_munmap(enum munmap_dev dev, void *at, char *mirrored,
			   char *keeper, unsigned long size, bool thp)
{
	char *p = map_region(at, size, thp, true);
	int fd = -1;
	uint64_t t;

	if (dev == MU_HMM || dev == MU_HMM_KEEP) {
		fd = hm_open();
		if (dev == MU_HMM_KEEP)
			hm_fault(fd, keeper, PAGE, false);
		hm_fault(fd, mirrored ? mirrored : p, size, false);
	} else if (dev == MU_DMIRROR) {
		fd = dm_open();
		dm_map(fd, mirrored ? mirrored : p, size);
	}
	t = now_ns();
	unmap_region(p, size);
	t = now_ns() - t;
	if (fd >= 0)
		close(fd);
	return t;
}

static void run(const struct case_ctx *c)
{
	unsigned long size = c->size;
	bool thp = c->thp;
	struct stepped near[MU_NR] = { 0 }, far[MU_NR] = { 0 };
	const struct result *nh, *ndm, *np, *fh, *fdm, *fp;
	void *region = slot_addr(SLOT_REGION);
	void *b_addr = (char *)slot_addr(SLOT_A) + FAR;
	/*
	 * Diagnostic: a page the device keeps mapped in the same 1 GiB chunk,
	 * so that the munmap does not empty the chunk (no GC work queued).
	 */
	bool keep = size <= GiB - 2 * MiB;
	/*
	 * The unrelated munmap is judged against 1.02x: three times the runs
	 * so that the figure resolves that (the 95% interval shows how well).
	 */
	unsigned int far_reps = balanced_reps(MU_NR - 1, 3 * c->reps);
	/*
	 * A small munmap takes tens of microseconds, about what a neighbour
	 * (dmirror's slow munmap, the next populate) disturbs it by: the same
	 * three times the runs.  Larger ones get twice the runs, so that each
	 * parity has at least 6 samples for its median.
	 */
	unsigned int near_reps = size <= 16 * MiB ? far_reps : 2 * c->reps;
	char *keeper = keep ? map_region((char *)region + GiB - 2 * MiB,
					 PAGE, false, true) : NULL;
	unsigned int g, n = keep ? MU_NR : MU_NR - 1;
	enum munmap_dev devs[MU_NR] = { MU_PLAIN, MU_HMM, MU_DMIRROR, MU_HMM_KEEP };
	char *a;

	if (thp) {
		a = map_region(region, size, thp, true);
		figure(true, thp_fraction(a, size), "thp_fraction.munmap.%s", c->sz);
		unmap_region(a, size);
	}
	/* Every contender near_reps times, in the balanced order. */
	near_reps = balanced_reps(n, near_reps);
	for (g = 0; g < near_reps * n; g++) {
		enum munmap_dev d = devs[balanced_next(n, g)];

		stepped_add(&near[d], g, timed_munmap(d, region, NULL, keeper,
						       size, thp));
	}

	/* Unrelated: the device maps A, the munmap is of B, 64 GiB away. */
	a = map_region(slot_addr(SLOT_A), size, thp, true);
	if (thp) {
		char *b = map_region(b_addr, size, thp, true);

		figure(true, thp_fraction(b, size), "thp_fraction.munmap_far.%s", c->sz);
		unmap_region(b, size);
	}
	for (g = 0; g < far_reps * (MU_NR - 1); g++) {
		enum munmap_dev d = devs[balanced_next(MU_NR - 1, g)];

		stepped_add(&far[d], g, timed_munmap(d, b_addr,
						     d == MU_PLAIN ? NULL : a,
						     NULL, size, thp));
	}
	unmap_region(a, size);

	nh = record_stepped("munmap_mirrored", c->mode, "hmm_mirror", size, &near[MU_HMM]);
	ndm = record_stepped("munmap_mirrored", c->mode, "dmirror", size, &near[MU_DMIRROR]);
	np = record_stepped("munmap_mirrored", c->mode, "plain", size, &near[MU_PLAIN]);
	if (keep) {
		record_stepped("munmap_mirrored", c->mode, "hm_keepchunk", size,
			       &near[MU_HMM_KEEP]);
		unmap_region(keeper, PAGE);
	}
	fh = record_stepped("munmap_unrelated", c->mode, "hmm_mirror", size, &far[MU_HMM]);
	fdm = record_stepped("munmap_unrelated", c->mode, "dmirror", size, &far[MU_DMIRROR]);
	fp = record_stepped("munmap_unrelated", c->mode, "plain", size, &far[MU_PLAIN]);
	/*
	 * How finely the run resolves a munmap ratio, A/A: the same plain
	 * munmap in the two phases (different ranges, different neighbours).
	 */
	figure(true, fp->med / np->med, "munmap_aa.%s.%s", c->mode, c->sz);
	progress("munmap %s %s: mirrored hmm_mirror %.2f dmirror %.2f plain %.2f ms; unrelated %.2f / %.2f / %.2f ms",
		 c->mode, c->sz, nh->med / 1e6, ndm->med / 1e6, np->med / 1e6,
		 fh->med / 1e6, fdm->med / 1e6, fp->med / 1e6);
}

static void report(void)
{
	unsigned int i, m;
	char sz[16];

	for (m = 0; m < 2; m++) {
		print_case("munmap_mirrored", page_modes[m], "plain", false);
		print_case("munmap_unrelated", page_modes[m], "plain", false);
	}
	out("\ndiagnostics: munmap of a mirrored range, ms; \"chunk kept\": another page of the same\n"
	    "1 GiB chunk stays mapped, so the munmap does not empty the chunk (no GC work queued)\n");
	out("  %-4s %6s %11s %11s %11s %9s %9s\n", "mode", "size", "hmm_mirror", "chunk kept",
	    "plain", "hm/plain", "kept/pl");
	for (m = 0; m < 2; m++)
		for (i = 0; i < nr_sizes; i++) {
			const char *mo = page_modes[m];
			const struct result *k = find("munmap_mirrored", mo, "hm_keepchunk", sizes[i]);
			const struct result *h = find("munmap_mirrored", mo, "hmm_mirror", sizes[i]);
			const struct result *p = find("munmap_mirrored", mo, "plain", sizes[i]);

			if (!k || !h || !p)
				continue;
			size_str(sz, sizeof(sz), sizes[i]);
			out("  %-4s %6s %11.3f %11.3f %11.3f %8.3fx %8.3fx\n", mo, sz,
			    h->med / 1e6, k->med / 1e6, p->med / 1e6, h->med / p->med,
			    k->med / p->med);
		}
}

const struct bench_case case_munmap = {
	.name = "munmap",
	.description = "munmap of a mirrored range and of unrelated memory, against a plain munmap",
	.when = CASE_SIZES,
	.run = run,
	.report = report,
	.check = check,
};
