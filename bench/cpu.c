// SPDX-License-Identifier: GPL-2.0
/*
 * cpu.c - where the cases run, and the two things qemu TCG needs so that
 * its own effects stay out of the figures: vCPUs kept out of HLT while the
 * threaded case runs, and a warm-up of kernel-mode copies before each page
 * mode.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#include "bench.h"

void set_cpus(int only)
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

/* ---- keeping vCPUs out of HLT ------------------------------------------- */

/*
 * Under qemu TCG, waking a thread on a vCPU that sits in HLT takes about a
 * millisecond, which would swamp the start of the 2-thread runs.  One
 * SCHED_IDLE thread per CPU spins while they run: it keeps its vCPU
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

void spinners_start(void)
{
	long i, n = sysconf(_SC_NPROCESSORS_ONLN);

	atomic_store(&spin_stop, false);
	for (i = 0; i < n && i < 64; i++)
		if (pthread_create(&spinners[i], NULL, spin_main, (void *)i))
			die("pthread_create");
	nr_spinners = i;
}

void spinners_stop(void)
{
	long i;

	atomic_store(&spin_stop, true);
	for (i = 0; i < nr_spinners; i++)
		pthread_join(spinners[i], NULL);
	nr_spinners = 0;
}

/* ---- emulator warm-up --------------------------------------------------- */

/*
 * Under qemu TCG the first large kernel-mode copies on a vCPU run up to
 * ~9x slower than later ones: the emulator's software TLB grows only when
 * the guest flushes it, and a munmap of 256 pages or more flushes the
 * whole TLB of the vCPU.  Copy through the device, with such a munmap
 * after each copy, until two copies take less than half the first, so
 * that every contender is timed in the same steady state.  On real
 * hardware this is just a few reads.  Each read is kept as a figure,
 * warmup.<page mode index>.read_ms.<i>.
 */
void warmup(void)
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
		unmap_region(map_region(slot_addr(SLOT_LAT), MiB, false, true), MiB);
	}
	close(fd);
	unmap_region(buf, size);
	unmap_region(reg, size);
	warmups++;
}
