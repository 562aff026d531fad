// SPDX-License-Identifier: GPL-2.0
/*
 * rw - device read (fault + copy, then again warm) and device write, for
 * both devices, against memcpy of the same bytes.  A fresh device per run,
 * so the first READ or WRITE of a run faults every page.  FAULT alone
 * splits a cold read into its fault and its copy.
 */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static void run(const struct case_ctx *c)
{
	unsigned long size = c->size;
	char *reg = map_region(slot_addr(SLOT_REGION), size, c->thp, true);
	char *buf = map_region(slot_addr(SLOT_BUF), size, c->thp, true);
	double hc[MAX_REPS], hw[MAX_REPS], dc[MAX_REPS], dw[MAX_REPS];
	double hwc[MAX_REPS], hww[MAX_REPS], dwc[MAX_REPS], dww[MAX_REPS];
	double mr[MAX_REPS], mw[MAX_REPS], fo[MAX_REPS];
	unsigned int r, n = c->reps;
	uint64_t t;
	int fd;

	if (c->thp)
		figure(true, thp_fraction(reg, size), "thp_fraction.%s", c->sz);
	memcpy(buf, reg, size);	/* warm both */
	for (r = 0; r < n; r++) {
		/* the CPU reference: the same bytes, both directions */
		t = now_ns();
		memcpy(buf, reg, size);
		mr[r] = now_ns() - t;
		t = now_ns();
		memcpy(reg, buf, size);
		mw[r] = now_ns() - t;

		/* the fault part of a cold read alone: FAULT, no copy */
		fd = hm_open();
		t = now_ns();
		hm_fault(fd, reg, size, false);
		fo[r] = now_ns() - t;
		close(fd);

		fd = hm_open();
		t = now_ns();
		hm_rw(fd, reg, size, buf, false);
		hc[r] = now_ns() - t;
		t = now_ns();
		hm_rw(fd, reg, size, buf, false);
		hw[r] = now_ns() - t;
		close(fd);

		fd = dm_open();
		t = now_ns();
		dm_read(fd, reg, size, buf);
		dc[r] = now_ns() - t;
		t = now_ns();
		dm_read(fd, reg, size, buf);
		dw[r] = now_ns() - t;
		close(fd);

		fd = hm_open();
		t = now_ns();
		hm_rw(fd, reg, size, buf, true);
		hwc[r] = now_ns() - t;
		t = now_ns();
		hm_rw(fd, reg, size, buf, true);
		hww[r] = now_ns() - t;
		close(fd);

		fd = dm_open();
		t = now_ns();
		dm_write(fd, reg, size, buf);
		dwc[r] = now_ns() - t;
		t = now_ns();
		dm_write(fd, reg, size, buf);
		dww[r] = now_ns() - t;
		close(fd);
	}
	record("read_cold", c->mode, "hmm_mirror", size, hc, n);
	record("fault_only", c->mode, "hmm_mirror", size, fo, n);
	record("read_cold", c->mode, "dmirror", size, dc, n);
	record("read_cold", c->mode, "memcpy", size, mr, n);
	record("read_warm", c->mode, "hmm_mirror", size, hw, n);
	record("read_warm", c->mode, "dmirror", size, dw, n);
	record("read_warm", c->mode, "memcpy", size, mr, n);
	record("write_cold", c->mode, "hmm_mirror", size, hwc, n);
	record("write_cold", c->mode, "dmirror", size, dwc, n);
	record("write_cold", c->mode, "memcpy", size, mw, n);
	record("write_warm", c->mode, "hmm_mirror", size, hww, n);
	record("write_warm", c->mode, "dmirror", size, dww, n);
	record("write_warm", c->mode, "memcpy", size, mw, n);
	progress("rw %s %s: read cold hmm_mirror %.1f ms, dmirror %.1f ms, memcpy %.1f ms; write cold %.1f / %.1f / %.1f ms",
		 c->mode, c->sz, median(hc, n) / 1e6, median(dc, n) / 1e6,
		 median(mr, n) / 1e6, median(hwc, n) / 1e6,
		 median(dwc, n) / 1e6, median(mw, n) / 1e6);
	unmap_region(buf, size);
	unmap_region(reg, size);
}

static void report(void)
{
	unsigned int i, m;
	char sz[16];

	for (m = 0; m < 2; m++) {
		print_case("read_cold", page_modes[m], "memcpy", true);
		print_case("read_warm", page_modes[m], "memcpy", true);
		print_case("write_cold", page_modes[m], "memcpy", true);
		print_case("write_warm", page_modes[m], "memcpy", true);
	}
	out("\ndiagnostics: hmm_mirror cold read = fault + copy, ms (FAULT alone; a warm READ is the copy alone)\n");
	out("  %-4s %6s %11s %11s %11s\n", "mode", "size", "FAULT only", "warm READ", "cold READ");
	for (m = 0; m < 2; m++)
		for (i = 0; i < nr_sizes; i++) {
			const char *mo = page_modes[m];
			const struct result *f = find("fault_only", mo, "hmm_mirror", sizes[i]);
			const struct result *h = find("read_cold", mo, "hmm_mirror", sizes[i]);
			const struct result *w = find("read_warm", mo, "hmm_mirror", sizes[i]);

			if (!f || !h || !w)
				continue;
			size_str(sz, sizeof(sz), sizes[i]);
			out("  %-4s %6s %11.3f %11.3f %11.3f\n", mo, sz,
			    f->med / 1e6, w->med / 1e6, h->med / 1e6);
		}
}

const struct bench_case case_rw = {
	.name = "rw",
	.description = "device READ/WRITE, cold (fault + copy) and warm, against dmirror and memcpy",
	.when = CASE_SIZES,
	.run = run,
	.report = report,
};
