// SPDX-License-Identifier: GPL-2.0
/*
 * dpt - device page-table memory per 4K page mapped: hmm_mirror's own
 * count (STATS.dpt_tables, 4 KiB each) after a FAULT of the range, and an
 * estimate for dmirror, whose xarray no interface reports.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "hmm_mirror.h"

/* radix_tree_node (xarray nodes) active objects and object size. */
static bool slab_xa(unsigned long *objs, unsigned long *objsize)
{
	char line[512];
	FILE *f = fopen("/proc/slabinfo", "r");
	bool ok = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "radix_tree_node ", 16)) {
			ok = sscanf(line + 16, "%lu %*u %lu", objs, objsize) == 2;
			break;
		}
	fclose(f);
	return ok;
}

static void run(const struct case_ctx *c)
{
	unsigned long size = c->size;
	char *reg = map_region(slot_addr(SLOT_REGION), size, c->thp, true);
	char *buf = map_region(slot_addr(SLOT_BUF), size, c->thp, true);
	unsigned long pages = size / PAGE, o1, o2, osz;
	struct hmm_mirror_stats s;
	double hb, db = 0;
	bool dvalid;
	int fd;

	fd = hm_open();
	hm_fault(fd, reg, size, false);
	hm_stats(fd, &s);
	close(fd);
	if (s.dpt_pages != pages)
		fprintf(stderr, "warning: dpt maps %llu pages of %lu\n",
			(unsigned long long)s.dpt_pages, pages);
	hb = (double)s.dpt_tables * 4096 / pages;
	figure(true, hb, "dpt_bytes_per_page.%s.%s.hmm_mirror", c->mode, c->sz);
	figure(true, s.dpt_tables, "dpt_tables.%s.%s.hmm_mirror", c->mode, c->sz);

	/*
	 * dmirror keeps an xarray (radix_tree_node slab objects): estimate
	 * from the slab's active objects before and after its READ, in a
	 * quiet guest.  SLUB counts whole per-CPU slabs as active, so small
	 * deltas are noise: none below 64 MiB.
	 */
	fd = dm_open();
	dvalid = slab_xa(&o1, &osz);
	dm_read(fd, reg, size, buf);
	dvalid = dvalid && slab_xa(&o2, &osz) && o2 > o1 && pages >= 16384;
	if (dvalid)
		db = (double)(o2 - o1) * osz / pages;
	close(fd);
	figure(dvalid, db, "dpt_bytes_per_page.%s.%s.dmirror_estimate", c->mode, c->sz);
	if (c->thp)
		figure(true, thp_fraction(reg, size), "thp_fraction.dpt.%s", c->sz);
	progress("dpt %s %s: hmm_mirror %llu tables = %.3f B/page; dmirror estimate %.2f B/page (%s)",
		 c->mode, c->sz, (unsigned long long)s.dpt_tables, hb, db,
		 dvalid ? "radix_tree_node slab delta" : "n/a: too small to see");
	unmap_region(buf, size);
	unmap_region(reg, size);
}

static void report(void)
{
	static const char *const col[4][2] = {
		{ "4k", "hmm_mirror" }, { "4k", "dmirror_estimate" },
		{ "thp", "hmm_mirror" }, { "thp", "dmirror_estimate" } };
	char sz[16], key[96];

	out("\ndevice page-table memory, bytes per 4K page mapped (hmm_mirror: STATS.dpt_tables*4096/pages;\n"
	    "dmirror: radix_tree_node slab delta, an estimate; n/a below 64M)\n");
	out("  %6s %12s %12s %12s %12s\n", "size", "hm 4k", "dmirror 4k", "hm thp", "dmirror thp");
	for (unsigned int i = 0; i < nr_dpt_sizes; i++) {
		size_str(sz, sizeof(sz), dpt_sizes[i]);
		out("  %6s", sz);
		for (unsigned int j = 0; j < 4; j++) {
			const struct figure *f;

			snprintf(key, sizeof(key), "dpt_bytes_per_page.%s.%s.%s",
				 col[j][0], sz, col[j][1]);
			f = get_figure(key);
			if (f && f->valid)
				out(" %12.3f", f->value);
			else
				out(" %12s", "n/a");
		}
		out("\n");
	}
}

const struct bench_case case_dpt = {
	.name = "dpt",
	.description = "device page-table bytes per 4K page mapped, against an estimate of dmirror's xarray",
	.when = CASE_DPT_SIZES,
	.run = run,
	.report = report,
};
