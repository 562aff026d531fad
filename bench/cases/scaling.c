// SPDX-License-Identifier: GPL-2.0
/*
 * scaling - faulting the two halves of a range from two threads against
 * the whole range from one: hmm_mirror FAULT, dmirror READ (its only way to
 * fault), and CPU page faults on fresh memory as the reference.  4K pages,
 * BENCH_SCALE_MB, every CPU kept out of HLT (cpu.c).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "bench.h"
#include "hmm_mirror.h"

enum scale_kind { SC_HMM, SC_DMIRROR, SC_CPU, SC_NR };

static const char *const impl[SC_NR] = { "hmm_mirror", "dmirror", "cpu_touch" };

struct scale_arg {
	enum scale_kind kind;
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
	if (a->kind == SC_HMM)
		hm_fault(a->fd, a->addr, a->len, false);
	else if (a->kind == SC_DMIRROR)
		dm_read(a->fd, a->addr, a->len, a->buf);
	else
		for (i = 0; i < a->len; i += PAGE)
			a->addr[i] = 1;
	a->t1 = now_ns();
	return NULL;
}

/* hmm_mirror STATS.fault_retries summed over the runs, by thread count. */
static uint64_t scale_retries[2];

/* Time to fault [reg, reg+size) from @nthreads threads, disjoint halves. */
static double scale_run(enum scale_kind kind, char *reg, char *buf,
			unsigned long size, int nthreads)
{
	struct scale_arg a[2];
	pthread_barrier_t bar;
	pthread_t th[2];
	int fd = -1, i;
	uint64_t t0, t1;

	if (kind == SC_HMM)
		fd = hm_open();
	else if (kind == SC_DMIRROR)
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
	if (kind == SC_HMM) {
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

static void run(const struct case_ctx *c)
{
	unsigned long size = opt.scale_mb * MiB;
	double t[SC_NR][2][MAX_REPS];
	unsigned int r, n = c->reps;
	char *reg, *buf, sz[16];
	int k, th;

	size_str(sz, sizeof(sz), size);
	reg = map_region(slot_addr(SLOT_REGION), size, false, true);
	buf = map_region(slot_addr(SLOT_BUF), size, false, true);
	for (r = 0; r < n; r++)
		for (th = 1; th <= 2; th++) {
			for (k = SC_HMM; k <= SC_DMIRROR; k++)
				t[k][th - 1][r] = scale_run(k, reg, buf, size, th);
			/* the CPU reference needs unpopulated memory each time */
			unmap_region(reg, size);
			reg = map_region(slot_addr(SLOT_REGION), size, false, false);
			t[SC_CPU][th - 1][r] = scale_run(SC_CPU, reg, buf, size, th);
		}
	figure(true, scale_retries[0], "scaling.hmm_mirror.fault_retries_1thread");
	figure(true, scale_retries[1], "scaling.hmm_mirror.fault_retries_2threads");
	for (k = 0; k < SC_NR; k++) {
		double t1 = median(t[k][0], n), t2 = median(t[k][1], n);

		record("fault_1thread", "4k", impl[k], size, t[k][0], n);
		record("fault_2threads", "4k", impl[k], size, t[k][1], n);
		figure(true, t1 / t2, "scaling_2v1.%s", impl[k]);
		progress("fault scaling %s 4k %s: 1 thread %.1f ms, 2 threads %.1f ms, ratio %.2f",
			 impl[k], sz, t1 / 1e6, t2 / 1e6, t1 / t2);
	}
	unmap_region(buf, size);
	unmap_region(reg, size);
}

static void report(void)
{
	static const char *const label[SC_NR] = {
		"hmm_mirror FAULT", "dmirror READ (fault+copy)",
		"CPU page faults (reference)" };
	char key[96];

	out("\nfaulting disjoint halves from 2 threads vs 1 (4k pages), throughput ratio t1/t2\n");
	for (unsigned int i = 0; i < SC_NR; i++) {
		const struct figure *f;

		snprintf(key, sizeof(key), "scaling_2v1.%s", impl[i]);
		f = get_figure(key);
		if (f)
			out("  %-28s %6.2fx\n", label[i], f->value);
	}
}

const struct bench_case case_scaling = {
	.name = "scaling",
	.description = "faulting disjoint halves from 2 threads against 1: FAULT, dmirror READ, CPU faults",
	.when = CASE_ONCE_ALL,
	.run = run,
	.report = report,
};
