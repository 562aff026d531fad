// SPDX-License-Identifier: GPL-2.0
/*
 * hmm_bench - hmm_mirror.ko against the kernel's own test_hmm (dmirror) and
 * against the CPU doing the same work, on the same memory, in one process.
 * Runs inside the VM (bench/run-bench.sh); see bench/README.md.
 *
 * Every timed figure is the median of --reps runs.  Progress goes to stderr,
 * the table to stdout (and --txt), machine-readable results to --json.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "hmm_mirror.h"		/* abi/ */
#include "test_hmm_uapi.h"	/* the kernel's lib/, at build time */

#define PAGE		4096UL
#define MiB		(1UL << 20)
#define GiB		(1UL << 30)
#define MAX_REPS	64
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
/* Regions live at fixed, 1 GiB aligned addresses: slot i at BASE + i*SLOT. */
#define REGION_BASE	0x200000000000UL	/* 32 TiB */
#define SLOT		(4 * GiB)
#define FAR		(64 * GiB)		/* "unrelated": another chunk */

enum { SLOT_REGION, SLOT_BUF, SLOT_A, SLOT_B, SLOT_LAT };

static struct {
	unsigned long min_mb, max_mb, scale_mb, dpt_max_mb;
	unsigned int reps, lat_iters;
	bool mode_4k, mode_thp;
	const char *json, *txt;
} opt = {
	.min_mb = 1, .max_mb = 256, .scale_mb = 256, .dpt_max_mb = 1024,
	.reps = 5, .lat_iters = 1000, .mode_4k = true, .mode_thp = true,
};

static uint64_t t_start;
/* Runs per measurement at the current size (more for small, noisy ones). */
static unsigned int nreps;

static unsigned int reps_for(unsigned long size)
{
	unsigned long r = opt.reps * (64 * MiB / size);

	if (r < opt.reps)
		r = opt.reps;
	if (r > 4UL * opt.reps)
		r = 4UL * opt.reps;
	return r > MAX_REPS ? MAX_REPS : r;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "hmm_bench: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (%s)\n", strerror(errno));
	exit(1);
}

static void progress(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "[%7.1fs] ", (now_ns() - t_start) / 1e9);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, unsigned int n)
{
	double s[MAX_REPS];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* ---- results ------------------------------------------------------------ */

struct result {
	char name[24];		/* read_cold, munmap_mirrored, ... */
	char mode[4];		/* 4k, thp */
	char impl[16];		/* hmm_mirror, dmirror, memcpy, plain, ... */
	unsigned long bytes;
	unsigned int n;
	double ns[MAX_REPS];
	double med, min;
	/* Timed on even and odd steps (munmap): med is the mean of these. */
	bool stepped;
	double step_med[2];
	unsigned int even_n;	/* ns[] holds the even steps' times first */
};

static struct result *results;
static unsigned int nr_results, cap_results;

static struct result *record(const char *name, const char *mode,
			     const char *impl, unsigned long bytes,
			     const double *ns, unsigned int n)
{
	struct result *r;

	if (nr_results == cap_results) {
		cap_results = cap_results ? 2 * cap_results : 256;
		results = realloc(results, cap_results * sizeof(*results));
		if (!results)
			die("realloc");
	}
	r = &results[nr_results++];
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->mode, sizeof(r->mode), "%s", mode);
	snprintf(r->impl, sizeof(r->impl), "%s", impl);
	r->bytes = bytes;
	r->n = n;
	memcpy(r->ns, ns, n * sizeof(*ns));
	r->med = median(ns, n);
	r->min = ns[0];
	for (unsigned int i = 1; i < n; i++)
		r->min = ns[i] < r->min ? ns[i] : r->min;
	return r;
}

/* One contender's munmap times, kept apart by the parity of their step. */
struct stepped {
	double ns[2][MAX_REPS / 2];
	unsigned int n[2];
};

static void stepped_add(struct stepped *s, unsigned int step, double ns)
{
	s->ns[step % 2][s->n[step % 2]++] = ns;
}

/*
 * Record munmap times taken on even and odd steps: the figure is the mean of
 * the two medians, which the alternation between the two (see order3) moves
 * much less than it moves the median of all of them.
 */
static const struct result *record_stepped(const char *name, const char *mode,
					   const char *impl, unsigned long bytes,
					   const struct stepped *s)
{
	double all[MAX_REPS];
	struct result *r;

	memcpy(all, s->ns[0], s->n[0] * sizeof(all[0]));
	memcpy(all + s->n[0], s->ns[1], s->n[1] * sizeof(all[0]));
	r = record(name, mode, impl, bytes, all, s->n[0] + s->n[1]);
	r->stepped = true;
	r->even_n = s->n[0];
	r->step_med[0] = median(s->ns[0], s->n[0]);
	r->step_med[1] = median(s->ns[1], s->n[1]);
	r->med = (r->step_med[0] + r->step_med[1]) / 2;
	return r;
}

static const struct result *find(const char *name, const char *mode,
				 const char *impl, unsigned long bytes)
{
	unsigned int i;

	for (i = 0; i < nr_results; i++)
		if (!strcmp(results[i].name, name) &&
		    !strcmp(results[i].mode, mode) &&
		    !strcmp(results[i].impl, impl) && results[i].bytes == bytes)
			return &results[i];
	return NULL;
}

/* Extra figures (latency, page-table memory, scaling) as name/value pairs. */
struct figure {
	char key[64];
	double value;
	bool valid;
};
static struct figure figures[256];
static unsigned int nr_figures;

static void figure(bool valid, double value, const char *fmt, ...)
{
	struct figure *f = &figures[nr_figures++];
	va_list ap;

	if (nr_figures > sizeof(figures) / sizeof(figures[0]))
		die("too many figures");
	va_start(ap, fmt);
	vsnprintf(f->key, sizeof(f->key), fmt, ap);
	va_end(ap);
	f->value = value;
	f->valid = valid;
}

static const struct figure *get_figure(const char *key)
{
	unsigned int i;

	for (i = 0; i < nr_figures; i++)
		if (!strcmp(figures[i].key, key))
			return &figures[i];
	return NULL;
}

/* ---- memory ------------------------------------------------------------- */

static void *slot_addr(int slot)
{
	return (void *)(REGION_BASE + (unsigned long)slot * SLOT);
}

/* Map @size bytes at @addr, 4K-only or THP, and touch every page. */
static char *map_region(void *addr, unsigned long size, bool thp,
			bool populate)
{
	char *p = mmap(addr, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	unsigned long i;

	if (p == MAP_FAILED)
		die("mmap %lu MiB at %p", size / MiB, addr);
	if (p != addr)
		die("mmap placed the region at %p, not %p", (void *)p, addr);
	if (madvise(p, size, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		die("madvise");
	if (populate)
		for (i = 0; i < size; i += PAGE)
			p[i] = (char)(i / PAGE + 1);
	return p;
}

static void unmap_region(void *p, unsigned long size)
{
	if (munmap(p, size))
		die("munmap");
}

/* ---- the two devices ---------------------------------------------------- */

static int hm_open(void)
{
	struct hmm_mirror_handshake h = {
		.size = sizeof(h), .abi_version = HMM_MIRROR_ABI_VERSION,
	};
	int fd = open("/dev/hmm_mirror", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die("open /dev/hmm_mirror");
	if (ioctl(fd, HMM_MIRROR_IOC_HANDSHAKE, &h))
		die("HANDSHAKE");
	return fd;
}

static void hm_fault(int fd, void *addr, unsigned long len, bool write)
{
	struct hmm_mirror_fault f = {
		.size = sizeof(f), .addr = (uintptr_t)addr, .length = len,
		.flags = write ? HMM_MIRROR_FAULT_WRITE : 0,
	};

	if (ioctl(fd, HMM_MIRROR_IOC_FAULT, &f))
		die("hmm_mirror FAULT");
}

static void hm_rw(int fd, void *addr, unsigned long len, void *buf, bool write)
{
	struct hmm_mirror_rw rw = {
		.size = sizeof(rw), .addr = (uintptr_t)addr, .length = len,
		.buf = (uintptr_t)buf,
	};

	if (ioctl(fd, write ? HMM_MIRROR_IOC_WRITE : HMM_MIRROR_IOC_READ, &rw))
		die("hmm_mirror %s", write ? "WRITE" : "READ");
}

static void hm_snapshot(int fd, void *addr, unsigned long len, uint32_t *st)
{
	struct hmm_mirror_pages p = {
		.size = sizeof(p), .addr = (uintptr_t)addr, .length = len,
		.states = (uintptr_t)st, .states_len = len / PAGE,
	};

	if (ioctl(fd, HMM_MIRROR_IOC_SNAPSHOT, &p))
		die("hmm_mirror SNAPSHOT");
}

/* SNAPSHOT with HMM_MIRROR_PAGES_RUNS over the whole range; returns the runs. */
static unsigned long hm_snapshot_runs(int fd, void *addr, unsigned long len,
				      struct hmm_mirror_run *runs, unsigned long cap)
{
	uintptr_t at = (uintptr_t)addr, end = (uintptr_t)addr + len;
	unsigned long total = 0;

	while (at < end) {
		struct hmm_mirror_pages p = {
			.size = sizeof(p), .flags = HMM_MIRROR_PAGES_RUNS,
			.addr = at, .length = end - at,
			.states = (uintptr_t)runs, .states_len = cap,
		};

		if (ioctl(fd, HMM_MIRROR_IOC_SNAPSHOT, &p) || !p.nr_runs)
			die("hmm_mirror SNAPSHOT runs");
		total += p.nr_runs;
		at = runs[p.nr_runs - 1].addr + runs[p.nr_runs - 1].length;
	}
	return total;
}

static void hm_stats(int fd, struct hmm_mirror_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	if (ioctl(fd, HMM_MIRROR_IOC_STATS, s))
		die("hmm_mirror STATS");
}

static int dm_open(void)
{
	int fd = open("/dev/hmm_dmirror0", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die("open /dev/hmm_dmirror0");
	return fd;
}

static void dm_cmd(int fd, unsigned long req, const char *what, void *addr,
		   unsigned long len, void *ptr)
{
	struct hmm_dmirror_cmd c = {
		.addr = (uintptr_t)addr, .ptr = (uintptr_t)ptr,
		.npages = len / PAGE,
	};

	if (ioctl(fd, req, &c))
		die("dmirror %s", what);
	if (c.cpages != len / PAGE)
		die("dmirror %s: %llu of %lu pages", what,
		    (unsigned long long)c.cpages, len / PAGE);
}

/* ---- cases -------------------------------------------------------------- */

static const char *mode_name(bool thp)
{
	return thp ? "thp" : "4k";
}

static void size_str(char *b, size_t n, unsigned long bytes)
{
	if (bytes >= GiB && !(bytes % GiB))
		snprintf(b, n, "%luG", bytes / GiB);
	else
		snprintf(b, n, "%luM", bytes / MiB);
}

/* Fraction of @len at @p backed by huge pages (AnonHugePages in smaps). */
static double thp_fraction(void *p, unsigned long len)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long start, end, kb = 0;
	char line[256];
	bool in = false;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2)
			in = start >= (uintptr_t)p && end <= (uintptr_t)p + len;
		else if (in && !strncmp(line, "AnonHugePages:", 14))
			kb += strtoul(line + 14, NULL, 10);
	}
	fclose(f);
	return kb * 1024.0 / len;
}

/*
 * Device read (fault + copy, then again warm) and device write, for both
 * devices, against memcpy of the same bytes.  Fresh device per run.
 */
static void case_rw(unsigned long size, bool thp)
{
	const char *mode = mode_name(thp);
	char *reg = map_region(slot_addr(SLOT_REGION), size, thp, true);
	char *buf = map_region(slot_addr(SLOT_BUF), size, thp, true);
	double hc[MAX_REPS], hw[MAX_REPS], dc[MAX_REPS], dw[MAX_REPS];
	double hwc[MAX_REPS], hww[MAX_REPS], dwc[MAX_REPS], dww[MAX_REPS];
	double mr[MAX_REPS], mw[MAX_REPS], fo[MAX_REPS];
	unsigned int r;
	char sz[16];
	uint64_t t;
	int fd;

	size_str(sz, sizeof(sz), size);
	if (thp)
		figure(true, thp_fraction(reg, size), "thp_fraction.%s", sz);
	memcpy(buf, reg, size);	/* warm both */
	for (r = 0; r < nreps; r++) {
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
		dm_cmd(fd, HMM_DMIRROR_READ, "READ", reg, size, buf);
		dc[r] = now_ns() - t;
		t = now_ns();
		dm_cmd(fd, HMM_DMIRROR_READ, "READ", reg, size, buf);
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
		dm_cmd(fd, HMM_DMIRROR_WRITE, "WRITE", reg, size, buf);
		dwc[r] = now_ns() - t;
		t = now_ns();
		dm_cmd(fd, HMM_DMIRROR_WRITE, "WRITE", reg, size, buf);
		dww[r] = now_ns() - t;
		close(fd);
	}
	record("read_cold", mode, "hmm_mirror", size, hc, nreps);
	record("fault_only", mode, "hmm_mirror", size, fo, nreps);
	record("read_cold", mode, "dmirror", size, dc, nreps);
	record("read_cold", mode, "memcpy", size, mr, nreps);
	record("read_warm", mode, "hmm_mirror", size, hw, nreps);
	record("read_warm", mode, "dmirror", size, dw, nreps);
	record("read_warm", mode, "memcpy", size, mr, nreps);
	record("write_cold", mode, "hmm_mirror", size, hwc, nreps);
	record("write_cold", mode, "dmirror", size, dwc, nreps);
	record("write_cold", mode, "memcpy", size, mw, nreps);
	record("write_warm", mode, "hmm_mirror", size, hww, nreps);
	record("write_warm", mode, "dmirror", size, dww, nreps);
	record("write_warm", mode, "memcpy", size, mw, nreps);
	progress("rw %s %s: read cold hmm_mirror %.1f ms, dmirror %.1f ms, memcpy %.1f ms; write cold %.1f / %.1f / %.1f ms",
		 mode, sz, median(hc, nreps) / 1e6,
		 median(dc, nreps) / 1e6, median(mr, nreps) / 1e6,
		 median(hwc, nreps) / 1e6, median(dwc, nreps) / 1e6,
		 median(mw, nreps) / 1e6);
	unmap_region(buf, size);
	unmap_region(reg, size);
}

/*
 * hmm_mirror walks a SNAPSHOT of 32 MiB or more with two CPUs (module
 * parameter snapshot_split); the diagnostic "one walker" rows turn that
 * off.  Returns false when the module has no such parameter.
 */
static bool set_snapshot_split(bool on)
{
	FILE *f = fopen("/sys/module/hmm_mirror/parameters/snapshot_split", "w");
	bool ok;

	if (!f)
		return false;
	ok = fputs(on ? "Y\n" : "N\n", f) >= 0;
	return fclose(f) == 0 && ok;
}

/* SNAPSHOT of populated memory; the CPU reference reads /proc/self/pagemap. */
static void case_snapshot(unsigned long size, bool thp)
{
	const char *mode = mode_name(thp);
	char *reg = map_region(slot_addr(SLOT_REGION), size, thp, true);
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
	unsigned int nreps = 3 * reps_for(size) > MAX_REPS ? MAX_REPS : 3 * reps_for(size);
	int pfd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	unsigned int r;
	uint64_t t;
	char sz[16];

	if (!st || !perm || !pm || pfd < 0)
		die("snapshot setup");
	memset(st, 0, pages * sizeof(*st));
	memset(perm, 0, pages);
	memset(pm, 0, pages * sizeof(*pm));
	for (r = 0; r < nreps; r++) {
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
		dm_cmd(dfd, HMM_DMIRROR_SNAPSHOT, "SNAPSHOT", reg, size, perm);
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
	    !(perm[0] & (HMM_DMIRROR_PROT_READ | HMM_DMIRROR_PROT_WRITE)) ||
	    !(pm[pages - 1] >> 63))
		die("snapshot: populated pages not reported");
	/* populated, writable memory of one page size: a single run */
	if (nr_runs != 1 || runs[0].state != st[0] || runs[0].length != size)
		die("snapshot runs: %lu runs for uniform memory", nr_runs);
	record("snapshot", mode, "hmm_mirror", size, h, nreps);
	record("snapshot", mode, "dmirror", size, d, nreps);
	record("snapshot", mode, "pagemap", size, p, nreps);
	record("snapshot_runs", mode, "hmm_mirror", size, hr, nreps);
	record("snapshot_runs", mode, "dmirror", size, d, nreps);
	record("snapshot_runs", mode, "pagemap", size, p, nreps);
	if (one) {
		record("snapshot", mode, "hm_1walker", size, h1, nreps);
		record("snapshot_runs", mode, "hm_1walker", size, hr1, nreps);
	}
	size_str(sz, sizeof(sz), size);
	progress("snapshot %s %s: hmm_mirror %.2f ms (runs %.2f ms), dmirror %.2f ms, pagemap %.2f ms",
		 mode, sz, median(h, nreps) / 1e6, median(hr, nreps) / 1e6,
		 median(d, nreps) / 1e6, median(p, nreps) / 1e6);
	close(pfd);
	close(dfd);
	close(hfd);
	free(pm);
	free(perm);
	free(st);
	unmap_region(reg, size);
}

/* Give dmirror a device mapping of [p, p+size): READ is its only fault. */
static void dm_map(int fd, void *p, unsigned long size)
{
	char *buf = map_region(slot_addr(SLOT_BUF), size, false, false);

	dm_cmd(fd, HMM_DMIRROR_READ, "READ", p, size, buf);
	unmap_region(buf, size);
}

/*
 * munmap of a range the device maps, and of unrelated memory (same size,
 * FAR away) while the device maps another range, against munmap with no
 * mirror open.
 */
/* Who maps the memory when a munmap is timed. */
enum munmap_dev { MU_PLAIN, MU_HMM, MU_HMM_KEEP, MU_DMIRROR, MU_NR };

/*
 * The order the munmap contenders run in.  Two things slow a munmap that
 * have nothing to do with who maps memory.  One is what ran just before it
 * (dmirror's close frees its tree through RCU, a mirror's close its
 * notifiers).  The other is the step's parity: populating and unmapping the
 * same range again and again alternates between a faster and a slower
 * munmap, about 8% apart at THP 1 GiB even with no mirror at all (see
 * bench/README.md, "even and odd steps").  These sequences, taken round and
 * round, hold each ordered pair of 3 (or 4) contenders twice per turn, once
 * ending on an even step and once on an odd one.  So every contender follows
 * every other equally often and is timed on even and odd steps equally
 * often, and its figure is the mean of its medians on even and on odd steps
 * (struct stepped).  check_orders() checks both properties.
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
static void check_orders(void)
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

static void case_munmap(unsigned long size, bool thp)
{
	const char *mode = mode_name(thp);
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
	unsigned int far_reps = balanced_reps(MU_NR - 1, 3 * nreps);
	/*
	 * A small munmap takes tens of microseconds, about what a neighbour
	 * (dmirror's slow munmap, the next populate) disturbs it by: the same
	 * three times the runs.  Larger ones get twice the runs, so that each
	 * parity has at least 6 samples for its median.
	 */
	unsigned int near_reps = size <= 16 * MiB ? far_reps : 2 * nreps;
	char *keeper = keep ? map_region((char *)region + GiB - 2 * MiB,
					 PAGE, false, true) : NULL;
	unsigned int g, n = keep ? MU_NR : MU_NR - 1;
	enum munmap_dev devs[MU_NR] = { MU_PLAIN, MU_HMM, MU_DMIRROR, MU_HMM_KEEP };
	char sz[16], *a;

	size_str(sz, sizeof(sz), size);
	if (thp) {
		a = map_region(region, size, thp, true);
		figure(true, thp_fraction(a, size), "thp_fraction.munmap.%s", sz);
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

		figure(true, thp_fraction(b, size), "thp_fraction.munmap_far.%s", sz);
		unmap_region(b, size);
	}
	for (g = 0; g < far_reps * (MU_NR - 1); g++) {
		enum munmap_dev d = devs[balanced_next(MU_NR - 1, g)];

		stepped_add(&far[d], g, timed_munmap(d, b_addr,
						     d == MU_PLAIN ? NULL : a,
						     NULL, size, thp));
	}
	unmap_region(a, size);

	nh = record_stepped("munmap_mirrored", mode, "hmm_mirror", size, &near[MU_HMM]);
	ndm = record_stepped("munmap_mirrored", mode, "dmirror", size, &near[MU_DMIRROR]);
	np = record_stepped("munmap_mirrored", mode, "plain", size, &near[MU_PLAIN]);
	if (keep) {
		record_stepped("munmap_mirrored", mode, "hm_keepchunk", size,
			       &near[MU_HMM_KEEP]);
		unmap_region(keeper, PAGE);
	}
	fh = record_stepped("munmap_unrelated", mode, "hmm_mirror", size, &far[MU_HMM]);
	fdm = record_stepped("munmap_unrelated", mode, "dmirror", size, &far[MU_DMIRROR]);
	fp = record_stepped("munmap_unrelated", mode, "plain", size, &far[MU_PLAIN]);
	progress("munmap %s %s: mirrored hmm_mirror %.2f dmirror %.2f plain %.2f ms; unrelated %.2f / %.2f / %.2f ms",
		 mode, sz, nh->med / 1e6, ndm->med / 1e6, np->med / 1e6,
		 fh->med / 1e6, fdm->med / 1e6, fp->med / 1e6);
}

/* ---- keeping vCPUs out of HLT -------------------------------------------- */

/*
 * Under qemu TCG, waking a thread on a vCPU that sits in HLT takes about a
 * millisecond, which would swamp the start of the 2-thread scaling runs.
 * One SCHED_IDLE thread per CPU spins while they run: it keeps its vCPU
 * executing and yields at once to any normal thread woken there.
 */
static _Atomic bool spin_stop;
static pthread_t spinners[64];
static long nr_spinners;

static void *spin_main(void *arg)
{
	struct sched_param sp = { 0 };
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET((long)arg, &set);
	sched_setaffinity(0, sizeof(set), &set);
	sched_setscheduler(0, SCHED_IDLE, &sp);
	while (!atomic_load_explicit(&spin_stop, memory_order_relaxed))
		;
	return NULL;
}

static void spinners_start(void)
{
	long i, n = sysconf(_SC_NPROCESSORS_ONLN);

	atomic_store(&spin_stop, false);
	for (i = 0; i < n && i < 64; i++)
		if (pthread_create(&spinners[i], NULL, spin_main, (void *)i))
			die("pthread_create");
	nr_spinners = i;
}

static void spinners_stop(void)
{
	long i;

	atomic_store(&spin_stop, true);
	for (i = 0; i < nr_spinners; i++)
		pthread_join(spinners[i], NULL);
	nr_spinners = 0;
}

/* ---- invalidation-to-event latency -------------------------------------- */

struct reader {
	int fd;
	bool events;		/* mirror events, else an eventfd */
	int done;		/* eventfd: the reader saw something */
	_Atomic uint64_t stamp;
	_Atomic unsigned long count;
	_Atomic bool stop;
};

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	struct hmm_mirror_event ev[16];
	uint64_t v;

	while (!atomic_load(&rd->stop)) {
		struct pollfd pfd = { .fd = rd->fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if (rd->events)
			n = read(rd->fd, ev, sizeof(ev)) / (ssize_t)sizeof(ev[0]);
		else
			n = read(rd->fd, &v, sizeof(v)) == sizeof(v);
		if (n <= 0)
			continue;
		atomic_store(&rd->stamp, now_ns());
		atomic_fetch_add(&rd->count, (unsigned long)n);
		v = 1;
		if (write(rd->done, &v, sizeof(v)) != sizeof(v))
			die("eventfd write");
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Wait (blocked, so the reader may run on this CPU too) for the reader to
 * count past @seen; the stamp it took, or 0 after 2 s.
 */
static uint64_t wait_event(struct reader *rd, unsigned long seen)
{
	struct pollfd pfd = { .fd = rd->done, .events = POLLIN };
	uint64_t v;

	while (atomic_load(&rd->count) == seen) {
		if (poll(&pfd, 1, 2000) <= 0)
			return 0;
		if (read(rd->done, &v, sizeof(v)) != sizeof(v))
			die("eventfd read");
	}
	return atomic_load(&rd->stamp);
}

enum lat_kind { LAT_MADVISE, LAT_MUNMAP, LAT_MUNMAP_KEEP, LAT_EVENTFD };

static void case_latency(enum lat_kind kind)
{
	static const char *const names[] = {
		"madvise", "munmap", "munmap_keepchunk", "eventfd" };
	bool unmaps = kind == LAT_MUNMAP || kind == LAT_MUNMAP_KEEP;
	char *keeper = (char *)slot_addr(SLOT_LAT) + 2 * MiB;
	unsigned int n = opt.lat_iters, i, got = 0;
	uint64_t *lat = calloc(n, sizeof(*lat)), *op = calloc(n, sizeof(*op));
	char *page = slot_addr(SLOT_LAT);
	struct reader rd = { .events = kind != LAT_EVENTFD };
	pthread_t th;

	rd.done = eventfd(0, EFD_CLOEXEC);
	if (!lat || !op || rd.done < 0)
		die("latency setup");
	if (kind == LAT_EVENTFD) {
		rd.fd = eventfd(0, EFD_CLOEXEC);
		if (rd.fd < 0)
			die("eventfd");
	} else {
		struct hmm_mirror_events e = {
			.size = sizeof(e),
			.reasons = 1U << HMM_MIRROR_EVENT_UNMAP |
				   1U << HMM_MIRROR_EVENT_CLEAR,
		};

		rd.fd = hm_open();
		if (ioctl(rd.fd, HMM_MIRROR_IOC_EVENTS, &e))
			die("EVENTS");
	}
	if (kind == LAT_MADVISE)
		map_region(page, PAGE, false, false);
	if (kind == LAT_MUNMAP_KEEP) {
		map_region(keeper, PAGE, false, true);
		hm_fault(rd.fd, keeper, PAGE, false);
	}
	if (pthread_create(&th, NULL, reader_main, &rd))
		die("pthread_create");
	usleep(10000);

	for (i = 0; i < n; i++) {
		unsigned long seen = atomic_load(&rd.count);
		uint64_t t0, t1;

		if (unmaps)
			map_region(page, PAGE, false, false);
		if (kind != LAT_EVENTFD) {
			page[0] = 1;
			hm_fault(rd.fd, page, PAGE, false);
		}
		t0 = now_ns();
		if (kind == LAT_MADVISE) {
			if (madvise(page, PAGE, MADV_DONTNEED))
				die("madvise");
		} else if (unmaps) {
			unmap_region(page, PAGE);
		} else {
			uint64_t one = 1;

			if (write(rd.fd, &one, sizeof(one)) != sizeof(one))
				die("eventfd write");
		}
		op[i] = now_ns() - t0;
		t1 = wait_event(&rd, seen);
		if (t1 && t1 >= t0)
			lat[got++] = t1 - t0;
	}
	atomic_store(&rd.stop, true);
	pthread_join(th, NULL);
	if (kind == LAT_MADVISE)
		unmap_region(page, PAGE);
	if (kind == LAT_MUNMAP_KEEP)
		unmap_region(keeper, PAGE);
	close(rd.fd);
	close(rd.done);

	qsort(lat, got, sizeof(*lat), cmp_u64);
	qsort(op, n, sizeof(*op), cmp_u64);
	figure(true, op[n / 2] / 1e3, "latency.%s.call_median_us", names[kind]);
	if (got) {
		figure(true, lat[got / 2] / 1e3, "latency.%s.median_us", names[kind]);
		figure(true, lat[(got * 99) / 100] / 1e3, "latency.%s.p99_us",
		       names[kind]);
	}
	figure(true, got, "latency.%s.samples", names[kind]);
	figure(true, n - got, "latency.%s.missed", names[kind]);
	progress("latency %s: %u samples, median %.1f us, p99 %.1f us", names[kind],
		 got, got ? lat[got / 2] / 1e3 : 0,
		 got ? lat[(got * 99) / 100] / 1e3 : 0);
	free(op);
	free(lat);
}

/* ---- device page-table memory ------------------------------------------- */

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

static void case_dpt(unsigned long size, bool thp)
{
	const char *mode = mode_name(thp);
	char *reg = map_region(slot_addr(SLOT_REGION), size, thp, true);
	char *buf = map_region(slot_addr(SLOT_BUF), size, thp, true);
	unsigned long pages = size / PAGE, o1, o2, osz;
	struct hmm_mirror_stats s;
	double hb, db = 0;
	bool dvalid;
	char sz[16];
	int fd;

	size_str(sz, sizeof(sz), size);
	fd = hm_open();
	hm_fault(fd, reg, size, false);
	hm_stats(fd, &s);
	close(fd);
	if (s.dpt_pages != pages)
		fprintf(stderr, "warning: dpt maps %llu pages of %lu\n",
			(unsigned long long)s.dpt_pages, pages);
	hb = (double)s.dpt_tables * 4096 / pages;
	figure(true, hb, "dpt_bytes_per_page.%s.%s.hmm_mirror", mode, sz);
	figure(true, s.dpt_tables, "dpt_tables.%s.%s.hmm_mirror", mode, sz);

	/*
	 * dmirror keeps an xarray (radix_tree_node slab objects) whose size
	 * no interface reports: estimate from the slab's active objects
	 * before and after its READ, in a quiet guest.  SLUB counts whole
	 * per-CPU slabs as active, so small deltas are noise.
	 */
	fd = dm_open();
	dvalid = slab_xa(&o1, &osz);
	dm_cmd(fd, HMM_DMIRROR_READ, "READ", reg, size, buf);
	dvalid = dvalid && slab_xa(&o2, &osz) && o2 > o1 && pages >= 16384;
	if (dvalid)
		db = (double)(o2 - o1) * osz / pages;
	close(fd);
	figure(dvalid, db, "dpt_bytes_per_page.%s.%s.dmirror_estimate", mode, sz);
	if (thp)
		figure(true, thp_fraction(reg, size), "thp_fraction.dpt.%s", sz);
	progress("dpt %s %s: hmm_mirror %llu tables = %.3f B/page; dmirror estimate %.2f B/page (%s)",
		 mode, sz, (unsigned long long)s.dpt_tables, hb, db,
		 dvalid ? "radix_tree_node slab delta" : "n/a: too small to see");
	unmap_region(buf, size);
	unmap_region(reg, size);
}

/* ---- faulting disjoint ranges from 2 threads ---------------------------- */

struct scale_arg {
	int kind;		/* 0 hmm_mirror FAULT, 1 dmirror READ, 2 CPU touch */
	int fd;
	char *addr, *buf;
	unsigned long len;
	pthread_barrier_t *bar;
	uint64_t t0, t1;
};

static void *scale_main(void *p)
{
	struct scale_arg *a = p;
	unsigned long i;

	pthread_barrier_wait(a->bar);
	a->t0 = now_ns();
	if (a->kind == 0)
		hm_fault(a->fd, a->addr, a->len, false);
	else if (a->kind == 1)
		dm_cmd(a->fd, HMM_DMIRROR_READ, "READ", a->addr, a->len, a->buf);
	else
		for (i = 0; i < a->len; i += PAGE)
			a->addr[i] = 1;
	a->t1 = now_ns();
	return NULL;
}

/* hmm_mirror STATS.fault_retries summed over the runs, by thread count. */
static uint64_t scale_retries[2];

/* Time to fault [reg, reg+size) from @nthreads threads, disjoint halves. */
static double scale_run(int kind, char *reg, char *buf, unsigned long size,
			int nthreads)
{
	struct scale_arg a[2];
	pthread_barrier_t bar;
	pthread_t th[2];
	int fd = -1, i;
	uint64_t t0, t1;

	if (kind == 0)
		fd = hm_open();
	else if (kind == 1)
		fd = dm_open();
	pthread_barrier_init(&bar, NULL, nthreads);
	for (i = 0; i < nthreads; i++) {
		a[i] = (struct scale_arg) {
			.kind = kind, .fd = fd, .bar = &bar,
			.len = size / nthreads,
			.addr = reg + i * (size / nthreads),
			.buf = buf + i * (size / nthreads),
		};
		if (pthread_create(&th[i], NULL, scale_main, &a[i]))
			die("pthread_create");
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
	if (kind == 0) {
		struct hmm_mirror_stats st;

		hm_stats(fd, &st);
		scale_retries[nthreads - 1] += st.fault_retries;
	}
	if (fd >= 0)
		close(fd);
	t0 = a[0].t0;
	t1 = a[0].t1;
	for (i = 1; i < nthreads; i++) {
		t0 = a[i].t0 < t0 ? a[i].t0 : t0;
		t1 = a[i].t1 > t1 ? a[i].t1 : t1;
	}
	return t1 - t0;
}

static void case_scaling(unsigned long size)
{
	static const char *const impl[] = { "hmm_mirror", "dmirror", "cpu_touch" };
	double t[3][2][MAX_REPS];
	char *reg, *buf;
	unsigned int r;
	char sz[16];
	int k, n;

	size_str(sz, sizeof(sz), size);
	reg = map_region(slot_addr(SLOT_REGION), size, false, true);
	buf = map_region(slot_addr(SLOT_BUF), size, false, true);
	for (r = 0; r < nreps; r++)
		for (n = 1; n <= 2; n++) {
			for (k = 0; k < 2; k++)
				t[k][n - 1][r] = scale_run(k, reg, buf, size, n);
			/* the CPU reference needs unpopulated memory each time */
			unmap_region(reg, size);
			reg = map_region(slot_addr(SLOT_REGION), size, false, false);
			t[2][n - 1][r] = scale_run(2, reg, buf, size, n);
		}
	figure(true, scale_retries[0], "scaling.hmm_mirror.fault_retries_1thread");
	figure(true, scale_retries[1], "scaling.hmm_mirror.fault_retries_2threads");
	for (k = 0; k < 3; k++) {
		double t1 = median(t[k][0], nreps), t2 = median(t[k][1], nreps);

		record("fault_1thread", "4k", impl[k], size, t[k][0], nreps);
		record("fault_2threads", "4k", impl[k], size, t[k][1], nreps);
		figure(true, t1 / t2, "scaling_2v1.%s", impl[k]);
		progress("fault scaling %s 4k %s: 1 thread %.1f ms, 2 threads %.1f ms, ratio %.2f",
			 impl[k], sz, t1 / 1e6, t2 / 1e6, t1 / t2);
	}
	unmap_region(buf, size);
	unmap_region(reg, size);
}

/* ---- emulator warm-up --------------------------------------------------- */

/*
 * Under qemu TCG the first large kernel-mode copies on a vCPU run up to
 * ~9x slower than later ones (the emulator's software TLB for kernel
 * accesses has to grow first; see bench/README.md).  Copy through the
 * device until that has happened, so that every implementation is timed
 * in the same steady state.  On real hardware this is just 12 reads.
 */
static void warmup(void)
{
	static unsigned int warmups;

	unsigned long size = (opt.max_mb < 64 ? opt.max_mb : 64) * MiB;
	char *reg = map_region(slot_addr(SLOT_REGION), size, true, true);
	char *buf = map_region(slot_addr(SLOT_BUF), size, true, true);
	int fd = hm_open(), i, fast = 0;
	uint64_t t, first = 0;

	for (i = 0; i < 40 && fast < 2; i++) {
		t = now_ns();
		hm_rw(fd, reg, size, buf, false);
		t = now_ns() - t;
		first = first ? first : t;
		fast = t < first / 2 ? fast + 1 : 0;
		figure(true, t / 1e6, "warmup.%u.read_ms.%02d", warmups, i);
		progress("warm-up %d: device read of %lu MiB %.1f ms", i, size / MiB, t / 1e6);
		/* a munmap of 256 pages flushes the whole TLB of this vCPU */
		unmap_region(map_region(slot_addr(SLOT_LAT), MiB, false, true), MiB);
	}
	close(fd);
	unmap_region(buf, size);
	unmap_region(reg, size);
	warmups++;
}

static void set_cpus(int only)
{
	cpu_set_t set;
	long i, n = sysconf(_SC_NPROCESSORS_ONLN);

	CPU_ZERO(&set);
	for (i = 0; i < n; i++)
		if (only < 0 || i == only)
			CPU_SET(i, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

/* ---- report ------------------------------------------------------------- */

static FILE *txt;

static void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (txt) {
		va_start(ap, fmt);
		vfprintf(txt, fmt, ap);
		va_end(ap);
	}
}

struct target {
	const char *what;
	double value, limit;
	bool at_least;		/* value >= limit, else value <= limit */
	bool valid;
	const char *where;
	bool has_interval;
	double interval[2];	/* 95% bootstrap interval of value */
};
static struct target targets[24];
static unsigned int nr_targets;

static void target(const char *what, const char *where, bool valid,
		   double value, bool at_least, double limit)
{
	targets[nr_targets++] = (struct target) {
		.what = what, .where = where, .valid = valid, .value = value,
		.at_least = at_least, .limit = limit,
	};
}

static bool target_met(const struct target *t)
{
	return t->valid && (t->at_least ? t->value >= t->limit :
					  t->value <= t->limit);
}

static const char *verdict(const struct target *t)
{
	if (!target_met(t))
		return "MISSED";
	if (t->has_interval &&
	    (t->at_least ? t->interval[0] < t->limit : t->interval[1] > t->limit))
		return "MET, 95% interval crosses the limit";
	return "MET";
}

/* A small PRNG for the bootstrap (xorshift64): seeded, so reproducible. */
static uint64_t xorshift(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* @r's figure (struct stepped) from its samples drawn again with replacement. */
static double resampled_figure(const struct result *r, uint64_t *state)
{
	double draw[MAX_REPS], fig = 0;

	for (unsigned int p = 0; p < 2; p++) {
		const double *ns = p ? r->ns + r->even_n : r->ns;
		unsigned int i, n = p ? r->n - r->even_n : r->even_n;

		for (i = 0; i < n; i++)
			draw[i] = ns[xorshift(state) % n];
		fig += median(draw, n) / 2;
	}
	return fig;
}

/*
 * A munmap target: @h's cost over @c's, at most @limit, with its 95%
 * bootstrap interval: each contender's even and odd steps are resampled
 * apart, as they were timed.
 */
static void munmap_target(const char *what, const char *where,
			  const struct result *h, const struct result *c,
			  double limit)
{
	enum { ROUNDS = 2000 };
	static double ratio[ROUNDS];
	struct target *t;
	uint64_t state = 0x9e3779b97f4a7c15ULL;

	target(what, where, true, h->med / c->med, false, limit);
	t = &targets[nr_targets - 1];
	for (unsigned int i = 0; i < ROUNDS; i++)
		ratio[i] = resampled_figure(h, &state) /
			   resampled_figure(c, &state);
	qsort(ratio, ROUNDS, sizeof(ratio[0]), cmp_double);
	t->has_interval = true;
	t->interval[0] = ratio[ROUNDS / 40];
	t->interval[1] = ratio[ROUNDS - 1 - ROUNDS / 40];
}

static unsigned long sizes[16], dpt_sizes[16];
static unsigned int nr_sizes, nr_dpt_sizes;

/* min, 4*min, 16*min, ... up to max, and max itself: the count. */
static unsigned int size_list(unsigned long *out, unsigned long min_mb,
			      unsigned long max_mb)
{
	unsigned int n = 0;
	unsigned long mb;

	for (mb = min_mb; mb <= max_mb && n < 15; mb *= 4)
		out[n++] = mb * MiB;
	if (!n || out[n - 1] != max_mb * MiB)
		out[n++] = max_mb * MiB;
	return n;
}

/* Throughput cases: GB/s and speed ratios; time cases: ms and cost ratios. */
static void print_case(const char *name, const char *mode, const char *ref,
		       bool throughput)
{
	unsigned int i;

	if (!find(name, mode, "hmm_mirror", sizes[nr_sizes - 1]))
		return;
	out("\n%s (%s pages)%s\n", name, mode,
	    throughput ? ", GB/s (speed ratio: higher is better for hmm_mirror)" :
			 ", ms (cost ratio: lower is better for hmm_mirror)");
	out("  %6s %11s %11s %11s %11s %11s\n", "size", "hmm_mirror", "dmirror",
	    ref, "hm/dmirror", "hm/ref");
	for (i = 0; i < nr_sizes; i++) {
		const struct result *h = find(name, mode, "hmm_mirror", sizes[i]);
		const struct result *d = find(name, mode, "dmirror", sizes[i]);
		const struct result *c = find(name, mode, ref, sizes[i]);
		char sz[16];

		if (!h || !d || !c)
			continue;
		size_str(sz, sizeof(sz), sizes[i]);
		if (throughput)
			out("  %6s %11.3f %11.3f %11.3f %10.2fx %10.2fx\n", sz,
			    h->bytes / h->med, d->bytes / d->med,
			    c->bytes / c->med, d->med / h->med, c->med / h->med);
		else
			out("  %6s %11.3f %11.3f %11.3f %10.3fx %10.3fx\n", sz,
			    h->med / 1e6, d->med / 1e6, c->med / 1e6,
			    h->med / d->med, h->med / c->med);
	}
}

static void report(void)
{
	unsigned long big = sizes[nr_sizes - 1];
	const char *modes[2] = { "4k", "thp" };
	char sz[16], key[96];
	unsigned int i, m;
	const struct result *h, *d, *c;
	static char where[8][64];

	size_str(sz, sizeof(sz), big);
	for (m = 0; m < 2; m++) {
		print_case("read_cold", modes[m], "memcpy", true);
		print_case("read_warm", modes[m], "memcpy", true);
		print_case("write_cold", modes[m], "memcpy", true);
		print_case("write_warm", modes[m], "memcpy", true);
		print_case("snapshot", modes[m], "pagemap", true);
		print_case("snapshot_runs", modes[m], "pagemap", true);
		print_case("munmap_mirrored", modes[m], "plain", false);
		print_case("munmap_unrelated", modes[m], "plain", false);
	}

	out("\ndiagnostics: hmm_mirror cold read = fault + copy, ms (FAULT alone; a warm READ is the copy alone)\n");
	out("  %-4s %6s %11s %11s %11s\n", "mode", "size", "FAULT only", "warm READ", "cold READ");
	for (m = 0; m < 2; m++)
		for (i = 0; i < nr_sizes; i++) {
			const struct result *f = find("fault_only", modes[m], "hmm_mirror", sizes[i]);

			h = find("read_cold", modes[m], "hmm_mirror", sizes[i]);
			c = find("read_warm", modes[m], "hmm_mirror", sizes[i]);
			if (!f || !h || !c)
				continue;
			size_str(sz, sizeof(sz), sizes[i]);
			out("  %-4s %6s %11.3f %11.3f %11.3f\n", modes[m], sz,
			    f->med / 1e6, c->med / 1e6, h->med / 1e6);
		}
	out("\ndiagnostics: SNAPSHOT with one walker (snapshot_split=N) against the default,\n"
	    "which walks 32 MiB and more with the caller and a helper on the other CPU; ms\n");
	out("  %-13s %-4s %6s %11s %11s %11s %9s %9s\n", "case", "mode", "size", "hmm_mirror",
	    "one walker", "dmirror", "2w/1w", "1w/dm");
	for (m = 0; m < 2; m++)
		for (i = 0; i < nr_sizes; i++) {
			static const char *const cs[] = { "snapshot", "snapshot_runs" };
			unsigned int k;

			for (k = 0; k < 2; k++) {
				const struct result *o = find(cs[k], modes[m], "hm_1walker", sizes[i]);

				h = find(cs[k], modes[m], "hmm_mirror", sizes[i]);
				d = find(cs[k], modes[m], "dmirror", sizes[i]);
				if (!o || !h || !d)
					continue;
				size_str(sz, sizeof(sz), sizes[i]);
				out("  %-13s %-4s %6s %11.3f %11.3f %11.3f %8.2fx %8.2fx\n", cs[k],
				    modes[m], sz, h->med / 1e6, o->med / 1e6, d->med / 1e6,
				    o->med / h->med, d->med / o->med);
			}
		}
	out("\ndiagnostics: munmap of a mirrored range, ms; \"chunk kept\": another page of the same\n"
	    "1 GiB chunk stays mapped, so the munmap does not empty the chunk (no GC work queued)\n");
	out("  %-4s %6s %11s %11s %11s %9s %9s\n", "mode", "size", "hmm_mirror", "chunk kept",
	    "plain", "hm/plain", "kept/pl");
	for (m = 0; m < 2; m++)
		for (i = 0; i < nr_sizes; i++) {
			const struct result *k = find("munmap_mirrored", modes[m], "hm_keepchunk", sizes[i]);

			h = find("munmap_mirrored", modes[m], "hmm_mirror", sizes[i]);
			c = find("munmap_mirrored", modes[m], "plain", sizes[i]);
			if (!k || !h || !c)
				continue;
			size_str(sz, sizeof(sz), sizes[i]);
			out("  %-4s %6s %11.3f %11.3f %11.3f %8.3fx %8.3fx\n", modes[m], sz,
			    h->med / 1e6, k->med / 1e6, c->med / 1e6, h->med / c->med,
			    k->med / c->med);
		}

	out("\ninvalidation -> event readable (reader thread in poll() on the same CPU, CLOCK_MONOTONIC);\n"
	    "\"call\": median time the munmap/madvise/write call itself took\n");
	out("  %-31s %10s %10s %8s %9s\n", "", "median us", "p99 us", "samples", "call us");
	for (i = 0; i < 4; i++) {
		static const char *const k[] = {
			"madvise", "munmap", "munmap_keepchunk", "eventfd" };
		static const char *const label[] = {
			"hmm_mirror MADV_DONTNEED", "hmm_mirror munmap",
			"hmm_mirror munmap, chunk kept", "eventfd write (reference)" };
		const struct figure *md, *p99, *ns, *call;

		snprintf(key, sizeof(key), "latency.%s.median_us", k[i]);
		md = get_figure(key);
		snprintf(key, sizeof(key), "latency.%s.p99_us", k[i]);
		p99 = get_figure(key);
		snprintf(key, sizeof(key), "latency.%s.samples", k[i]);
		ns = get_figure(key);
		snprintf(key, sizeof(key), "latency.%s.call_median_us", k[i]);
		call = get_figure(key);
		if (md && p99 && ns && call)
			out("  %-31s %10.1f %10.1f %8.0f %9.1f\n", label[i], md->value,
			    p99->value, ns->value, call->value);
	}
	out("  dmirror: no event interface (n/a)\n");

	out("\ndevice page-table memory, bytes per 4K page mapped (hmm_mirror: STATS.dpt_tables*4096/pages;\n"
	    "dmirror: radix_tree_node slab delta, an estimate; n/a below 64M)\n");
	out("  %6s %12s %12s %12s %12s\n", "size", "hm 4k", "dmirror 4k", "hm thp", "dmirror thp");
	for (i = 0; i < nr_dpt_sizes; i++) {
		const struct figure *f[4];
		static const char *const col[4][2] = {
			{ "4k", "hmm_mirror" }, { "4k", "dmirror_estimate" },
			{ "thp", "hmm_mirror" }, { "thp", "dmirror_estimate" } };
		unsigned int j;

		size_str(sz, sizeof(sz), dpt_sizes[i]);
		out("  %6s", sz);
		for (j = 0; j < 4; j++) {
			snprintf(key, sizeof(key), "dpt_bytes_per_page.%s.%s.%s",
				 col[j][0], sz, col[j][1]);
			f[j] = get_figure(key);
			if (f[j] && f[j]->valid)
				out(" %12.3f", f[j]->value);
			else
				out(" %12s", "n/a");
		}
		out("\n");
	}

	out("\nfaulting disjoint halves from 2 threads vs 1 (4k pages), throughput ratio t1/t2\n");
	for (i = 0; i < 3; i++) {
		static const char *const k[] = { "hmm_mirror", "dmirror", "cpu_touch" };
		static const char *const label[] = {
			"hmm_mirror FAULT", "dmirror READ (fault+copy)",
			"CPU page faults (reference)" };
		const struct figure *f;

		snprintf(key, sizeof(key), "scaling_2v1.%s", k[i]);
		f = get_figure(key);
		if (f)
			out("  %-28s %6.2fx\n", label[i], f->value);
	}

	/* Targets, at the largest size of the run, 4K pages (THP alongside). */
	size_str(sz, sizeof(sz), big);
	for (m = 0; m < 2; m++) {
		const char *mo = modes[m];

		snprintf(where[4 * m], sizeof(where[0]), "%s %s", mo, sz);
		h = find("read_cold", mo, "hmm_mirror", big);
		d = find("read_cold", mo, "dmirror", big);
		c = find("read_cold", mo, "memcpy", big);
		if (h && d && c) {
			target("cold device read >= 2x dmirror", where[4 * m], true,
			       d->med / h->med, true, 2.0);
			target("cold device read >= 0.5x memcpy", where[4 * m], true,
			       c->med / h->med, true, 0.5);
		}
		h = find("snapshot", mo, "hmm_mirror", big);
		d = find("snapshot", mo, "dmirror", big);
		if (h && d)
			target("snapshot >= 3x dmirror", where[4 * m], true,
			       d->med / h->med, true, 3.0);
		h = find("snapshot_runs", mo, "hmm_mirror", big);
		if (h && d)
			target("snapshot runs >= 3x dmirror", where[4 * m], true,
			       d->med / h->med, true, 3.0);
		h = find("munmap_mirrored", mo, "hmm_mirror", big);
		c = find("munmap_mirrored", mo, "plain", big);
		d = find("munmap_unrelated", mo, "plain", big);
		if (h && c)
			munmap_target("munmap mirrored <= 1.2x plain",
				      where[4 * m], h, c, 1.2);
		/* resolution: the same plain munmap measured in both phases */
		if (c && d)
			figure(true, d->med / c->med, "munmap_aa.%s.%s", mo, sz);
		h = find("munmap_unrelated", mo, "hmm_mirror", big);
		c = find("munmap_unrelated", mo, "plain", big);
		if (h && c)
			munmap_target("munmap unrelated <= 1.02x plain",
				      where[4 * m], h, c, 1.02);
		/* ... and the mirrored munmap at the smallest size too */
		for (i = 0; i < nr_sizes - 1; i++) {
			h = find("munmap_mirrored", mo, "hmm_mirror", sizes[i]);
			c = find("munmap_mirrored", mo, "plain", sizes[i]);
			if (!h || !c)
				continue;
			size_str(where[4 * m + 1], sizeof(where[0]), sizes[i]);
			snprintf(where[4 * m + 2], sizeof(where[0]), "%s %s", mo,
				 where[4 * m + 1]);
			munmap_target("munmap mirrored <= 1.2x plain",
				      where[4 * m + 2], h, c, 1.2);
			break;
		}
	}
	{
		unsigned long dbig = dpt_sizes[nr_dpt_sizes - 1];
		const struct figure *f;

		size_str(sz, sizeof(sz), dbig);
		snprintf(where[1], sizeof(where[0]), "4k %s", sz);
		snprintf(where[5], sizeof(where[0]), "thp %s", sz);
		snprintf(key, sizeof(key), "dpt_bytes_per_page.4k.%s.hmm_mirror", sz);
		f = get_figure(key);
		if (f)
			target("dpt <= 8.5 B per 4K page", where[1], f->valid,
			       f->value, false, 8.5);
		snprintf(key, sizeof(key), "dpt_bytes_per_page.thp.%s.hmm_mirror", sz);
		f = get_figure(key);
		if (f)
			target("dpt <= 0.1 B per page (THP)", where[5], f->valid,
			       f->value, false, 0.1);
	}
	out("\ntargets (measured at the largest size of the run)\n");
	for (i = 0; i < nr_targets; i++) {
		const struct target *t = &targets[i];

		out("  %-34s %-9s %8.3f  ", t->what, t->where, t->value);
		if (t->has_interval)
			out("(95%%: %.3f to %.3f)  ", t->interval[0], t->interval[1]);
		out("%s\n", verdict(t));
	}
	out("  resolution of the munmap ratios (A/A: plain munmap of phase 2 / phase 1):");
	for (m = 0; m < 2; m++) {
		const struct figure *f;

		size_str(sz, sizeof(sz), big);
		snprintf(key, sizeof(key), "munmap_aa.%s.%s", modes[m], sz);
		f = get_figure(key);
		if (f)
			out(" %s %.3f", modes[m], f->value);
	}
	out("\n");
}

static void json_str(FILE *f, const char *k, const char *v, bool comma)
{
	fprintf(f, "\"%s\": \"%s\"%s", k, v, comma ? ", " : "");
}

static void write_json(const char *path, double elapsed)
{
	FILE *f = fopen(path, "w");
	struct utsname u;
	unsigned int i, j;
	char line[256];
	FILE *mi;
	unsigned long memkb = 0;

	if (!f)
		die("open %s", path);
	uname(&u);
	mi = fopen("/proc/meminfo", "r");
	while (mi && fgets(line, sizeof(line), mi))
		if (sscanf(line, "MemTotal: %lu kB", &memkb) == 1)
			break;
	if (mi)
		fclose(mi);
	fprintf(f, "{\n  \"machine\": {");
	json_str(f, "kernel", u.release, true);
	fprintf(f, "\"cpus\": %ld, \"mem_total_kb\": %lu, \"reps\": %u, \"elapsed_s\": %.1f},\n",
		sysconf(_SC_NPROCESSORS_ONLN), memkb, opt.reps, elapsed);
	fprintf(f, "  \"results\": [\n");
	for (i = 0; i < nr_results; i++) {
		const struct result *r = &results[i];

		fprintf(f, "    {");
		json_str(f, "case", r->name, true);
		json_str(f, "mode", r->mode, true);
		json_str(f, "impl", r->impl, true);
		fprintf(f, "\"bytes\": %lu, \"median_ns\": %.0f, \"min_ns\": %.0f, ",
			r->bytes, r->med, r->min);
		if (r->stepped)
			fprintf(f, "\"even_step_median_ns\": %.0f, \"odd_step_median_ns\": %.0f, \"even_runs\": %u, ",
				r->step_med[0], r->step_med[1], r->even_n);
		fprintf(f, "\"runs_ns\": [");
		for (j = 0; j < r->n; j++)
			fprintf(f, "%s%.0f", j ? ", " : "", r->ns[j]);
		fprintf(f, "]}%s\n", i + 1 < nr_results ? "," : "");
	}
	fprintf(f, "  ],\n  \"figures\": {\n");
	for (i = 0; i < nr_figures; i++) {
		if (figures[i].valid)
			fprintf(f, "    \"%s\": %.6g", figures[i].key, figures[i].value);
		else
			fprintf(f, "    \"%s\": null", figures[i].key);
		fprintf(f, "%s\n", i + 1 < nr_figures ? "," : "");
	}
	fprintf(f, "  },\n  \"targets\": [\n");
	for (i = 0; i < nr_targets; i++) {
		const struct target *t = &targets[i];

		fprintf(f, "    {");
		json_str(f, "target", t->what, true);
		json_str(f, "at", t->where, true);
		fprintf(f, "\"value\": %.6g, \"limit\": %g, ", t->value, t->limit);
		if (t->has_interval)
			fprintf(f, "\"interval95\": [%.6g, %.6g], ",
				t->interval[0], t->interval[1]);
		fprintf(f, "\"met\": %s}%s\n", target_met(t) ? "true" : "false",
			i + 1 < nr_targets ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	fclose(f);
}

/* ---- main --------------------------------------------------------------- */

static unsigned long env_ul(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : def;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: hmm_bench [--json FILE] [--txt FILE]\n"
		"environment: BENCH_MAX_MB (256) BENCH_MIN_MB (1) BENCH_REPS (5)\n"
		"  BENCH_MODES (\"4k thp\") BENCH_LAT_ITERS (1000) BENCH_SCALE_MB (256)\n"
		"  BENCH_DPT_MAX_MB (1024) BENCH_CASES (\"rw snapshot munmap latency dpt scaling\")\n");
	exit(2);
}

static bool want_case(const char *cases, const char *name)
{
	const char *p = cases;
	size_t n = strlen(name);

	while ((p = strstr(p, name))) {
		if ((p == cases || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

int main(int argc, char **argv)
{
	const char *modes, *cases;
	unsigned long s;
	unsigned int i, m;
	int c;

	t_start = now_ns();
	check_orders();
	for (c = 1; c < argc; c++) {
		if (!strcmp(argv[c], "--json") && c + 1 < argc)
			opt.json = argv[++c];
		else if (!strcmp(argv[c], "--txt") && c + 1 < argc)
			opt.txt = argv[++c];
		else
			usage();
	}
	opt.max_mb = env_ul("BENCH_MAX_MB", opt.max_mb);
	opt.min_mb = env_ul("BENCH_MIN_MB", opt.min_mb);
	opt.reps = env_ul("BENCH_REPS", opt.reps);
	opt.lat_iters = env_ul("BENCH_LAT_ITERS", opt.lat_iters);
	opt.scale_mb = env_ul("BENCH_SCALE_MB", opt.scale_mb);
	opt.dpt_max_mb = env_ul("BENCH_DPT_MAX_MB", opt.dpt_max_mb);
	modes = getenv("BENCH_MODES") ? getenv("BENCH_MODES") : "4k thp";
	cases = getenv("BENCH_CASES") ? getenv("BENCH_CASES") :
		"rw snapshot munmap latency dpt scaling";
	opt.mode_4k = want_case(modes, "4k");
	opt.mode_thp = want_case(modes, "thp");
	if (opt.reps < 1 || opt.reps > MAX_REPS || opt.min_mb < 1 ||
	    opt.max_mb < opt.min_mb || opt.max_mb > 1024 || opt.lat_iters < 1)
		usage();
	if (opt.scale_mb > opt.max_mb)
		opt.scale_mb = opt.max_mb;
	if (opt.txt) {
		txt = fopen(opt.txt, "w");
		if (!txt)
			die("open %s", opt.txt);
	}
	/* sizes 1M, 4M, 16M, ... up to max (and max itself) */
	nr_sizes = size_list(sizes, opt.min_mb, opt.max_mb);
	nr_dpt_sizes = size_list(dpt_sizes, opt.min_mb, opt.dpt_max_mb);

	progress("hmm_bench: sizes %lu MiB .. %lu MiB, %u runs each, modes:%s%s",
		 opt.min_mb, opt.max_mb, opt.reps, opt.mode_4k ? " 4k" : "",
		 opt.mode_thp ? " thp" : "");
	/* single-threaded cases on one CPU, in the warmed-up state */
	set_cpus(0);
	for (m = 0; m < 2; m++) {
		bool thp = m == 1;

		if (!(thp ? opt.mode_thp : opt.mode_4k))
			continue;
		if (!getenv("BENCH_NO_WARMUP"))
			warmup();
		for (i = 0; i < nr_sizes; i++) {
			s = sizes[i];
			/* below 2M there is no huge page to be had */
			if (thp && s < 2 * MiB)
				continue;
			nreps = reps_for(s);
			if (want_case(cases, "rw"))
				case_rw(s, thp);
			if (want_case(cases, "snapshot"))
				case_snapshot(s, thp);
			if (want_case(cases, "munmap"))
				case_munmap(s, thp);
		}
		for (i = 0; i < nr_dpt_sizes && want_case(cases, "dpt"); i++)
			if (!thp || dpt_sizes[i] >= 2 * MiB)
				case_dpt(dpt_sizes[i], thp);
	}
	/* the threaded cases on every CPU */
	set_cpus(-1);
	/*
	 * Latency: the reader thread shares the CPU with the thread that
	 * unmaps, so no cross-vCPU wake-up is timed (a halted TCG vCPU takes
	 * about a millisecond to wake).
	 */
	if (want_case(cases, "latency")) {
		set_cpus(0);
		case_latency(LAT_MADVISE);
		case_latency(LAT_MUNMAP);
		case_latency(LAT_MUNMAP_KEEP);
		case_latency(LAT_EVENTFD);
		set_cpus(-1);
	}
	if (!getenv("BENCH_NO_SPIN"))
		spinners_start();
	nreps = opt.reps;
	if (want_case(cases, "scaling"))
		case_scaling(opt.scale_mb * MiB);
	spinners_stop();

	report();
	if (opt.json)
		write_json(opt.json, (now_ns() - t_start) / 1e9);
	progress("done");
	if (txt)
		fclose(txt);
	return 0;
}
