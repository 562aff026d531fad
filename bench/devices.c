// SPDX-License-Identifier: GPL-2.0
/*
 * devices.c - the two devices, each behind a few calls that die on error:
 * hmm_mirror (/dev/hmm_mirror, abi/hmm_mirror.h) and the kernel's own
 * test_hmm "dmirror" (/dev/hmm_dmirror0, lib/test_hmm_uapi.h of the kernel
 * the benchmark is built for; only this file includes it).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "bench.h"
#include "hmm_mirror.h"		/* abi/ */
#include "test_hmm_uapi.h"	/* the kernel's lib/, at build time */

/* ---- hmm_mirror --------------------------------------------------------- */

int hm_open(void)
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

void hm_fault(int fd, void *addr, unsigned long len, bool write)
{
	struct hmm_mirror_fault f = {
		.size = sizeof(f), .addr = (uintptr_t)addr, .length = len,
		.flags = write ? HMM_MIRROR_FAULT_WRITE : 0,
	};

	if (ioctl(fd, HMM_MIRROR_IOC_FAULT, &f))
		die("hmm_mirror FAULT");
}

void hm_rw(int fd, void *addr, unsigned long len, void *buf, bool write)
{
	struct hmm_mirror_rw rw = {
		.size = sizeof(rw), .addr = (uintptr_t)addr, .length = len,
		.buf = (uintptr_t)buf,
	};

	if (ioctl(fd, write ? HMM_MIRROR_IOC_WRITE : HMM_MIRROR_IOC_READ, &rw))
		die("hmm_mirror %s", write ? "WRITE" : "READ");
}

void hm_snapshot(int fd, void *addr, unsigned long len, uint32_t *st)
{
	struct hmm_mirror_pages p = {
		.size = sizeof(p), .addr = (uintptr_t)addr, .length = len,
		.states = (uintptr_t)st, .states_len = len / PAGE,
	};

	if (ioctl(fd, HMM_MIRROR_IOC_SNAPSHOT, &p))
		die("hmm_mirror SNAPSHOT");
}

/* SNAPSHOT with HMM_MIRROR_PAGES_RUNS over the whole range; returns the runs. */
unsigned long hm_snapshot_runs(int fd, void *addr, unsigned long len,
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

/* Bytes of device memory the module has: 0 without the feature. */
unsigned long hm_device_memory(void)
{
	struct hmm_mirror_handshake h = {
		.size = sizeof(h), .abi_version = HMM_MIRROR_ABI_VERSION,
		.features_wanted = HMM_MIRROR_FEAT_DEVICE_MEMORY,
	};
	int fd = open("/dev/hmm_mirror", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die("open /dev/hmm_mirror");
	if (ioctl(fd, HMM_MIRROR_IOC_HANDSHAKE, &h))
		die("HANDSHAKE");
	close(fd);
	if (h.module_abi_version < 4 ||
	    !(h.features_supported & HMM_MIRROR_FEAT_DEVICE_MEMORY))
		return 0;
	return h.device_memory_size;
}

unsigned long hm_migrate(int fd, void *addr, unsigned long len, bool to_system,
			 unsigned long *not_moved)
{
	struct hmm_mirror_migrate mg = {
		.size = sizeof(mg), .addr = (uintptr_t)addr, .length = len,
		.flags = to_system ? HMM_MIRROR_MIGRATE_TO_SYSTEM : 0,
	};

	if (ioctl(fd, HMM_MIRROR_IOC_MIGRATE, &mg))
		die("hmm_mirror MIGRATE%s", to_system ? " to system" : "");
	*not_moved = mg.pages_not_moved;
	return mg.pages_moved;
}

void hm_stats(int fd, struct hmm_mirror_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	if (ioctl(fd, HMM_MIRROR_IOC_STATS, s))
		die("hmm_mirror STATS");
}

/* Ask for events of @reasons (a mask of 1 << HMM_MIRROR_EVENT_*). */
void hm_events(int fd, uint32_t reasons)
{
	struct hmm_mirror_events e = { .size = sizeof(e), .reasons = reasons };

	if (ioctl(fd, HMM_MIRROR_IOC_EVENTS, &e))
		die("EVENTS");
}

/*
 * hmm_mirror walks a SNAPSHOT of 32 MiB or more with two CPUs (module
 * parameter snapshot_split); the diagnostic "one walker" rows turn that
 * off.  Returns false when the module has no such parameter.
 */
bool set_snapshot_split(bool on)
{
	FILE *f = fopen("/sys/module/hmm_mirror/parameters/snapshot_split", "w");
	bool ok;

	if (!f)
		return false;
	ok = fputs(on ? "Y\n" : "N\n", f) >= 0;
	return fclose(f) == 0 && ok;
}

/* ---- dmirror ------------------------------------------------------------ */

int dm_open(void)
{
	int fd = open("/dev/hmm_dmirror0", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die("open /dev/hmm_dmirror0");
	return fd;
}

/* One command; its cpages. */
static unsigned long dm_cmd_n(int fd, unsigned long req, const char *what,
			      void *addr, unsigned long len, void *ptr)
{
	struct hmm_dmirror_cmd c = {
		.addr = (uintptr_t)addr, .ptr = (uintptr_t)ptr,
		.npages = len / PAGE,
	};

	if (ioctl(fd, req, &c))
		die("dmirror %s", what);
	return c.cpages;
}

/* One command that must see every page of the range. */
static void dm_cmd(int fd, unsigned long req, const char *what, void *addr,
		   unsigned long len, void *ptr)
{
	unsigned long cpages = dm_cmd_n(fd, req, what, addr, len, ptr);

	if (cpages != len / PAGE)
		die("dmirror %s: %lu of %lu pages", what, cpages, len / PAGE);
}

void dm_read(int fd, void *addr, unsigned long len, void *buf)
{
	dm_cmd(fd, HMM_DMIRROR_READ, "READ", addr, len, buf);
}

void dm_write(int fd, void *addr, unsigned long len, void *buf)
{
	dm_cmd(fd, HMM_DMIRROR_WRITE, "WRITE", addr, len, buf);
}

void dm_snapshot(int fd, void *addr, unsigned long len, uint8_t *perm)
{
	dm_cmd(fd, HMM_DMIRROR_SNAPSHOT, "SNAPSHOT", addr, len, perm);
}

bool dm_present(uint8_t perm)
{
	return perm & (HMM_DMIRROR_PROT_READ | HMM_DMIRROR_PROT_WRITE);
}

/* Give dmirror a device mapping of [p, p+size): READ is its only fault. */
void dm_map(int fd, void *p, unsigned long size)
{
	char *buf = map_region(slot_addr(SLOT_BUF), size, false, false);

	dm_read(fd, p, size, buf);
	unmap_region(buf, size);
}

/*
 * Into dmirror's device memory (which also copies the range out to @buf,
 * HMM_DMIRROR_MIGRATE_TO_DEV's own check, so @buf holds @len bytes) or
 * back.  Where the pages went, dm_device_pages() tells.
 */
void dm_migrate(int fd, void *addr, unsigned long len, void *buf,
		bool to_system)
{
	if (to_system)
		dm_cmd_n(fd, HMM_DMIRROR_MIGRATE_TO_SYS, "MIGRATE_TO_SYS", addr,
			 len, NULL);
	else
		dm_cmd_n(fd, HMM_DMIRROR_MIGRATE_TO_DEV, "MIGRATE_TO_DEV", addr,
			 len, buf);
}

unsigned long dm_device_pages(int fd, void *addr, unsigned long len)
{
	unsigned long i, n = len / PAGE, dev = 0;
	uint8_t *perm = malloc(n);

	if (!perm)
		die("malloc");
	dm_snapshot(fd, addr, len, perm);
	for (i = 0; i < n; i++)
		/* the PMD/PUD bits may be set beside it */
		dev += (perm[i] & 0xf0) == HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL;
	free(perm);
	return dev;
}
