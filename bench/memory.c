// SPDX-License-Identifier: GPL-2.0
/*
 * memory.c - the memory the cases time: anonymous, populated, 4K-only
 * (MADV_NOHUGEPAGE) or THP (MADV_HUGEPAGE), at fixed 1 GiB aligned
 * addresses, so that every run of a case maps the same chunks.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bench.h"

void *slot_addr(int slot)
{
	return (void *)(REGION_BASE + (unsigned long)slot * SLOT);
}

/* Map @size bytes at @addr, 4K-only or THP, and touch every page. */
char *map_region(void *addr, unsigned long size, bool thp, bool populate)
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

void unmap_region(void *p, unsigned long size)
{
	if (munmap(p, size))
		die("munmap");
}

/* Fraction of @len at @p backed by huge pages (AnonHugePages in smaps). */
double thp_fraction(void *p, unsigned long len)
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
