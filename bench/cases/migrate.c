// SPDX-License-Identifier: GPL-2.0
/*
 * migrate, faultback - device memory (issue 19 item 8).
 *
 * migrate: a populated range moved into device memory and back:
 * hmm_mirror's MIGRATE (to the device: flags 0; back:
 * HMM_MIRROR_MIGRATE_TO_SYSTEM) against dmirror's HMM_DMIRROR_MIGRATE_TO_DEV
 * and _TO_SYS, with a memcpy of the same bytes in user space as the
 * reference.  Between the two moves each device READs the range out of its
 * device memory (read_devmem), against hmm_mirror's READ of the same range
 * in system memory (warm: mapped already, as MIGRATE leaves the moved
 * pages mapped) and memcpy.  Every contender gets a freshly populated
 * range per run: hmm_mirror splits a huge page it moves (it moves 4K
 * pages), dmirror moves it whole, so a range moved once is not what it
 * was.  Every run checks that the pages went where they were sent
 * (hmm_mirror's pages_moved, dmirror's SNAPSHOT) and that the data came
 * back.  dmirror's MIGRATE_TO_DEV also copies the range out to the
 * caller's buffer (its own check): that copy is part of its time.
 *
 * faultback: after a move of N pages into device memory, each first CPU
 * write to a page, timed alone: the page comes back through the device's
 * migrate_to_ram().  hmm_mirror's pages and dmirror's, against the first
 * write to fresh anonymous memory (a plain page fault).  4K pages.
 *
 * Both are skipped, with a note, where hmm_mirror has no device memory
 * (no CONFIG_DEVICE_PRIVATE in the kernel, or device_memory_mb=0).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "hmm_mirror.h"

#define GIB_F	((double)GiB)

/* Why there is no device memory to time, or NULL. */
static const char *no_devmem(void)
{
	if (access("/dev/hmm_dmirror0", R_OK | W_OK))
		return "no /dev/hmm_dmirror0 (test_hmm.ko)";
	if (!hm_device_memory())
		return "hmm_mirror has no device memory (no HMM_MIRROR_FEAT_DEVICE_MEMORY: a kernel without CONFIG_DEVICE_PRIVATE, or device_memory_mb=0)";
	return NULL;
}

static unsigned long mem_available_mb(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	unsigned long kb = 0;
	char line[256];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %lu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb / 1024;
}

/*
 * The sizes stop at hmm_mirror's device memory and at what the guest can
 * hold: at size S the range, the buffer, the device's backing pages and
 * dmirror's bounce buffer take 4 S (and 256 MiB more are kept free).
 */
static bool check_migrate(void)
{
	const char *why = no_devmem();
	unsigned long pool_mb, ram_mb, asked = opt.migrate_max_mb;

	if (why) {
		note("migrate", "skipped: %s", why);
		return false;
	}
	pool_mb = hm_device_memory() / MiB;
	ram_mb = mem_available_mb();
	ram_mb = ram_mb > 256 ? (ram_mb - 256) / 4 : 0;
	if (opt.migrate_max_mb > pool_mb) {
		opt.migrate_max_mb = pool_mb;
		note("migrate", "sizes up to %lu MiB, not %lu: hmm_mirror's device memory is %lu MiB (device_memory_mb)",
		     pool_mb, asked, pool_mb);
	}
	if (opt.migrate_max_mb > ram_mb) {
		note("migrate", "sizes up to %lu MiB, not %lu: %lu MiB of memory available in the guest, 4x the size needed",
		     ram_mb, opt.migrate_max_mb, mem_available_mb());
		opt.migrate_max_mb = ram_mb;
	}
	if (opt.migrate_max_mb < opt.min_mb) {
		note("migrate", "skipped: no size fits");
		return false;
	}
	return true;
}

/* ---- migrate ------------------------------------------------------------ */

/* Pages whose first byte is not what map_region() wrote: lost data. */
static unsigned long bad_pages(const char *p, unsigned long size)
{
	unsigned long i, bad = 0;

	for (i = 0; i < size; i += PAGE)
		bad += p[i] != (char)(i / PAGE + 1);
	return bad;
}

/* One contender's times in one run, and the pages not where they were sent. */
struct mig_run {
	double to, rd, back;
	unsigned long misplaced;
};

static void hm_run(const struct case_ctx *c, char *buf, struct mig_run *m)
{
	unsigned long pages = c->size / PAGE, to, back, nm;
	char *reg = map_region(slot_addr(SLOT_REGION), c->size, c->thp, true);
	int fd = hm_open();
	uint64_t t;

	t = now_ns();
	to = hm_migrate(fd, reg, c->size, false, &nm);
	m->to = now_ns() - t;
	t = now_ns();
	hm_rw(fd, reg, c->size, buf, false);
	m->rd = now_ns() - t;
	t = now_ns();
	back = hm_migrate(fd, reg, c->size, true, &nm);
	m->back = now_ns() - t;
	m->misplaced = (pages - to) + (to - back);
	if (bad_pages(buf, c->size) || bad_pages(reg, c->size))
		die("hmm_mirror: data lost in device memory (%s %s)", c->mode, c->sz);
	close(fd);
	unmap_region(reg, c->size);
}

static void dm_run(const struct case_ctx *c, char *buf, struct mig_run *m)
{
	unsigned long pages = c->size / PAGE, dev;
	char *reg = map_region(slot_addr(SLOT_REGION), c->size, c->thp, true);
	int fd = dm_open();
	uint64_t t;

	t = now_ns();
	dm_migrate(fd, reg, c->size, buf, false);
	m->to = now_ns() - t;
	dev = dm_device_pages(fd, reg, c->size);
	t = now_ns();
	dm_read(fd, reg, c->size, buf);
	m->rd = now_ns() - t;
	t = now_ns();
	dm_migrate(fd, reg, c->size, NULL, true);
	m->back = now_ns() - t;
	m->misplaced = (pages - dev) + dm_device_pages(fd, reg, c->size);
	if (bad_pages(buf, c->size) || bad_pages(reg, c->size))
		die("dmirror: data lost in device memory (%s %s)", c->mode, c->sz);
	close(fd);
	unmap_region(reg, c->size);
}

static void run_migrate(const struct case_ctx *c)
{
	unsigned long size = c->size, misplaced[2] = { 0 };
	char *buf = map_region(slot_addr(SLOT_BUF), size, c->thp, true);
	double hto[MAX_REPS], hrd[MAX_REPS], hback[MAX_REPS];
	double dto[MAX_REPS], drd[MAX_REPS], dback[MAX_REPS];
	double hsys[MAX_REPS], mc[MAX_REPS];
	unsigned int r, n = c->reps;
	struct mig_run h, d;
	uint64_t t;

	if (c->thp) {
		char *reg = map_region(slot_addr(SLOT_REGION), size, true, true);

		figure(true, thp_fraction(reg, size), "thp_fraction.migrate.%s", c->sz);
		unmap_region(reg, size);
	}
	for (r = 0; r < n; r++) {
		char *reg;
		int fd;

		/* each goes first in every other run */
		if (r % 2) {
			dm_run(c, buf, &d);
			hm_run(c, buf, &h);
		} else {
			hm_run(c, buf, &h);
			dm_run(c, buf, &d);
		}
		hto[r] = h.to;
		hrd[r] = h.rd;
		hback[r] = h.back;
		dto[r] = d.to;
		drd[r] = d.rd;
		dback[r] = d.back;
		misplaced[0] += h.misplaced;
		misplaced[1] += d.misplaced;

		/* the references: READ of system memory, memcpy */
		reg = map_region(slot_addr(SLOT_REGION), size, c->thp, true);
		fd = hm_open();
		hm_rw(fd, reg, size, buf, false);
		t = now_ns();
		hm_rw(fd, reg, size, buf, false);
		hsys[r] = now_ns() - t;
		close(fd);
		t = now_ns();
		memcpy(buf, reg, size);
		mc[r] = now_ns() - t;
		unmap_region(reg, size);
	}
	record("migrate_to_dev", c->mode, "hmm_mirror", size, hto, n);
	record("migrate_to_dev", c->mode, "dmirror", size, dto, n);
	record("migrate_to_dev", c->mode, "memcpy", size, mc, n);
	record("migrate_to_sys", c->mode, "hmm_mirror", size, hback, n);
	record("migrate_to_sys", c->mode, "dmirror", size, dback, n);
	record("migrate_to_sys", c->mode, "memcpy", size, mc, n);
	record("read_devmem", c->mode, "hmm_mirror", size, hrd, n);
	record("read_devmem", c->mode, "dmirror", size, drd, n);
	record("read_devmem", c->mode, "hm_sysmem", size, hsys, n);
	record("read_devmem", c->mode, "memcpy", size, mc, n);
	figure(true, misplaced[0], "migrate_misplaced.%s.%s.hmm_mirror", c->mode, c->sz);
	figure(true, misplaced[1], "migrate_misplaced.%s.%s.dmirror", c->mode, c->sz);
	progress("migrate %s %s: to device hmm_mirror %.1f ms, dmirror %.1f ms; back %.1f / %.1f ms; memcpy %.1f ms; READ of device memory %.1f / %.1f ms%s",
		 c->mode, c->sz, median(hto, n) / 1e6, median(dto, n) / 1e6,
		 median(hback, n) / 1e6, median(dback, n) / 1e6,
		 median(mc, n) / 1e6, median(hrd, n) / 1e6, median(drd, n) / 1e6,
		 misplaced[0] || misplaced[1] ? "; some pages not moved" : "");
	unmap_region(buf, size);
}

/* GiB/s of @impl in @name at @size, 0 if not timed. */
static double gibps(const char *name, const char *mode, const char *impl,
		    unsigned long size)
{
	const struct result *r = find(name, mode, impl, size);

	return r ? r->bytes / GIB_F / (r->med / 1e9) : 0;
}

static void print_table(const char *name, const char *mode, const char *title,
			const char *ref2)
{
	unsigned int i;
	char sz[16];

	if (!find(name, mode, "hmm_mirror", migrate_sizes[nr_migrate_sizes - 1]))
		return;
	out("\n%s (%s pages), GiB/s (speed ratio: higher is better for hmm_mirror)\n",
	    title, mode);
	out("  %6s %11s %11s %11s", "size", "hmm_mirror", "dmirror", "memcpy");
	if (ref2)
		out(" %11s", ref2);
	out(" %11s %11s%s\n", "hm/dmirror", "hm/memcpy", ref2 ? "     hm/sysmem" : "");
	for (i = 0; i < nr_migrate_sizes; i++) {
		double h = gibps(name, mode, "hmm_mirror", migrate_sizes[i]);
		double d = gibps(name, mode, "dmirror", migrate_sizes[i]);
		double m = gibps(name, mode, "memcpy", migrate_sizes[i]);
		double s = ref2 ? gibps(name, mode, ref2, migrate_sizes[i]) : 0;

		if (!h || !d || !m)
			continue;
		size_str(sz, sizeof(sz), migrate_sizes[i]);
		out("  %6s %11.3f %11.3f %11.3f", sz, h, d, m);
		if (ref2)
			out(" %11.3f", s);
		out(" %10.2fx %10.2fx", h / d, h / m);
		if (ref2 && s)
			out(" %13.2fx", h / s);
		out("\n");
	}
}

static void report_migrate(void)
{
	for (unsigned int m = 0; m < 2; m++) {
		print_table("migrate_to_dev", page_modes[m], "migrate to device memory", NULL);
		print_table("migrate_to_sys", page_modes[m], "migrate back to system memory", NULL);
		print_table("read_devmem", page_modes[m], "device READ of device memory",
			    "hm_sysmem");
	}
	out("  (dmirror's MIGRATE_TO_DEV also copies the range out to the caller; hm_sysmem: hmm_mirror's READ of the range in system memory)\n");
}

const struct bench_case case_migrate = {
	.name = "migrate",
	.description = "move to device memory and back, READ of device memory, against dmirror and memcpy",
	.when = CASE_MIGRATE_SIZES,
	.check = check_migrate,
	.run = run_migrate,
	.report = report_migrate,
};

/* ---- faultback ---------------------------------------------------------- */

enum fb_kind { FB_HMM, FB_DMIRROR, FB_PLAIN, FB_NR };

static const char *const fb_names[FB_NR] = { "hmm_mirror", "dmirror", "first_touch" };

/* Pages per round; the kinds take turns round by round. */
#define FB_ROUND	256

static bool check_faultback(void)
{
	const char *why = no_devmem();

	if (why)
		note("faultback", "skipped: %s", why);
	return !why;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * One round of @kind: @n pages moved to its device memory (FB_PLAIN: fresh
 * memory, not populated), then one write to each, timed alone into @lat.
 * Returns the pages that were not where a fault-back needs them.
 */
static unsigned long fb_round(enum fb_kind kind, unsigned long n, uint64_t *lat)
{
	unsigned long len = n * PAGE, missed = 0, i, nm;
	char *buf = map_region(slot_addr(SLOT_BUF), len, false, true);
	volatile char *p = map_region(slot_addr(SLOT_REGION), len, false,
				      kind != FB_PLAIN);
	struct hmm_mirror_stats s0, s1;
	int fd = -1;

	if (kind == FB_HMM) {
		fd = hm_open();
		missed = n - hm_migrate(fd, (char *)p, len, false, &nm);
		hm_stats(fd, &s0);
	} else if (kind == FB_DMIRROR) {
		fd = dm_open();
		dm_migrate(fd, (char *)p, len, buf, false);
		missed = n - dm_device_pages(fd, (char *)p, len);
	}
	for (i = 0; i < n; i++) {
		uint64_t t = now_ns();

		p[i * PAGE] = 2;
		lat[i] = now_ns() - t;
	}
	if (kind == FB_HMM) {
		hm_stats(fd, &s1);
		/* each page moved came back through migrate_to_ram() */
		missed += (n - missed) - (s1.pages_faulted_back - s0.pages_faulted_back);
	} else if (kind == FB_DMIRROR) {
		missed += dm_device_pages(fd, (char *)p, len);
	}
	if (fd >= 0)
		close(fd);
	unmap_region((char *)p, len);
	unmap_region(buf, len);
	return missed;
}

static void run_faultback(const struct case_ctx *c)
{
	unsigned long n = opt.lat_iters, done = 0, missed[FB_NR] = { 0 };
	uint64_t *lat[FB_NR];
	unsigned int k, round = 0;

	(void)c;
	for (k = 0; k < FB_NR; k++) {
		lat[k] = calloc(n, sizeof(*lat[k]));
		if (!lat[k])
			die("calloc");
	}
	while (done < n) {
		unsigned long chunk = n - done < FB_ROUND ? n - done : FB_ROUND;

		for (k = 0; k < FB_NR; k++) {
			enum fb_kind kind = (k + round) % FB_NR;

			missed[kind] += fb_round(kind, chunk, lat[kind] + done);
		}
		done += chunk;
		round++;
	}
	for (k = 0; k < FB_NR; k++) {
		qsort(lat[k], n, sizeof(*lat[k]), cmp_u64);
		figure(true, lat[k][n / 2] / 1e3, "faultback.%s.median_us", fb_names[k]);
		figure(true, lat[k][(n * 99) / 100] / 1e3, "faultback.%s.p99_us", fb_names[k]);
		figure(true, n, "faultback.%s.samples", fb_names[k]);
		figure(true, missed[k], "faultback.%s.missed", fb_names[k]);
		progress("faultback %s: %lu pages, median %.1f us, p99 %.1f us%s",
			 fb_names[k], n, lat[k][n / 2] / 1e3,
			 lat[k][(n * 99) / 100] / 1e3,
			 missed[k] ? ", some pages not in device memory" : "");
		free(lat[k]);
	}
}

static void report_faultback(void)
{
	static const char *const label[FB_NR] = {
		"hmm_mirror's device memory", "dmirror's device memory",
		"fresh memory (reference)" };
	char key[96];

	out("\nfirst CPU write to a page, timed alone (CLOCK_MONOTONIC, 4K pages);\n"
	    "\"missed\": pages that were not in device memory before the write, or did not come back through it\n");
	out("  %-31s %10s %10s %8s %8s\n", "", "median us", "p99 us", "samples", "missed");
	for (unsigned int i = 0; i < FB_NR; i++) {
		const struct figure *md, *p99, *ns, *ms;

		snprintf(key, sizeof(key), "faultback.%s.median_us", fb_names[i]);
		md = get_figure(key);
		snprintf(key, sizeof(key), "faultback.%s.p99_us", fb_names[i]);
		p99 = get_figure(key);
		snprintf(key, sizeof(key), "faultback.%s.samples", fb_names[i]);
		ns = get_figure(key);
		snprintf(key, sizeof(key), "faultback.%s.missed", fb_names[i]);
		ms = get_figure(key);
		if (md && p99 && ns && ms)
			out("  %-31s %10.1f %10.1f %8.0f %8.0f\n", label[i], md->value,
			    p99->value, ns->value, ms->value);
	}
}

const struct bench_case case_faultback = {
	.name = "faultback",
	.description = "first CPU write to a page in device memory (migrate_to_ram), against a first touch of fresh memory",
	.when = CASE_ONCE_CPU0,
	.check = check_faultback,
	.run = run_faultback,
	.report = report_faultback,
};
