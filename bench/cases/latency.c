// SPDX-License-Identifier: GPL-2.0
/*
 * latency - from an invalidation (MADV_DONTNEED, munmap) of a page the
 * mirror maps to its event read by a thread blocked in poll() on the
 * mirror fd; the reference is an eventfd write to a reader blocked the
 * same way.  dmirror has no event interface.  Both threads share CPU 0,
 * so that no cross-vCPU wake-up is timed: a halted TCG vCPU takes about a
 * millisecond to wake.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"
#include "hmm_mirror.h"

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

enum lat_kind { LAT_MADVISE, LAT_MUNMAP, LAT_MUNMAP_KEEP, LAT_EVENTFD, LAT_NR };

static const char *const names[LAT_NR] = {
	"madvise", "munmap", "munmap_keepchunk", "eventfd" };

static void run_kind(enum lat_kind kind)
{
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
		rd.fd = hm_open();
		hm_events(rd.fd, 1U << HMM_MIRROR_EVENT_UNMAP |
				 1U << HMM_MIRROR_EVENT_CLEAR);
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

static void run(const struct case_ctx *c)
{
	(void)c;
	for (unsigned int k = 0; k < LAT_NR; k++)
		run_kind(k);
}

static void report(void)
{
	static const char *const label[LAT_NR] = {
		"hmm_mirror MADV_DONTNEED", "hmm_mirror munmap",
		"hmm_mirror munmap, chunk kept", "eventfd write (reference)" };
	char key[96];

	out("\ninvalidation -> event readable (reader thread in poll() on the same CPU, CLOCK_MONOTONIC);\n"
	    "\"call\": median time the munmap/madvise/write call itself took\n");
	out("  %-31s %10s %10s %8s %9s\n", "", "median us", "p99 us", "samples", "call us");
	for (unsigned int i = 0; i < LAT_NR; i++) {
		const struct figure *md, *p99, *ns, *call;

		snprintf(key, sizeof(key), "latency.%s.median_us", names[i]);
		md = get_figure(key);
		snprintf(key, sizeof(key), "latency.%s.p99_us", names[i]);
		p99 = get_figure(key);
		snprintf(key, sizeof(key), "latency.%s.samples", names[i]);
		ns = get_figure(key);
		snprintf(key, sizeof(key), "latency.%s.call_median_us", names[i]);
		call = get_figure(key);
		if (md && p99 && ns && call)
			out("  %-31s %10.1f %10.1f %8.0f %9.1f\n", label[i], md->value,
			    p99->value, ns->value, call->value);
	}
	out("  dmirror: no event interface (n/a)\n");
}

const struct bench_case case_latency = {
	.name = "latency",
	.description = "invalidation (madvise, munmap) to the event read in poll(), against an eventfd write",
	.when = CASE_ONCE_CPU0,
	.run = run,
	.report = report,
};
