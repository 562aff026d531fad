// SPDX-License-Identifier: MIT
/*
 * cli_target.c - the process the hmm-mirror CLI tests look at.
 *
 * It maps a few regions, each between two PROT_NONE guard pages so that
 * it stays its own mapping, prints one JSON line describing them, and
 * then obeys commands read from stdin, answering "ok" or "error ERRNO":
 *
 *   unmap REGION OFFSET LENGTH        munmap part of a region
 *   protect REGION OFFSET LENGTH r|rw|none
 *   dontneed REGION OFFSET LENGTH     madvise(MADV_DONTNEED)
 *   touch REGION                      write every page
 *   exit                              exit 0 (so does end of input)
 *
 * Regions: rw (64 pages, written), ro (16 pages, read: the zero page),
 * none (8 pages, PROT_NONE), untouched (32 pages, never touched), and
 * huge (one 2 MiB hugetlb page, written) when hugetlb pages are available.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_SIZE (2UL << 20)

struct region {
	const char *name;
	size_t pages;
	int prot;
	int touch;		/* 0 no, 1 read, 2 write */
	uint8_t *addr;
	size_t len;
};

static struct region regions[] = {
	{ "rw", 64, PROT_READ | PROT_WRITE, 2, NULL, 0 },
	{ "ro", 16, PROT_READ, 1, NULL, 0 },
	{ "none", 8, PROT_NONE, 0, NULL, 0 },
	{ "untouched", 32, PROT_READ | PROT_WRITE, 0, NULL, 0 },
	{ "huge", 0, PROT_READ | PROT_WRITE, 2, NULL, 0 },
};
#define NREGIONS (sizeof(regions) / sizeof(regions[0]))

static size_t page;

static void touch(struct region *r, int how)
{
	volatile uint8_t sink = 0;

	for (size_t off = 0; off < r->len; off += page) {
		if (how == 2)
			r->addr[off] = 0x5a;
		else
			sink += r->addr[off];
	}
	(void)sink;
}

static void map_region(struct region *r)
{
	uint8_t *base;

	if (!strcmp(r->name, "huge")) {
		void *p = mmap(NULL, HUGE_SIZE, r->prot,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);

		if (p == MAP_FAILED)
			return;		/* no hugetlb pages: reported as null */
		r->addr = p;
		r->len = HUGE_SIZE;
		touch(r, 2);
		return;
	}
	r->len = r->pages * page;
	base = mmap(NULL, r->len + 2 * page, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	r->addr = base + page;
	if (r->prot != PROT_NONE && mprotect(r->addr, r->len, r->prot)) {
		perror("mprotect");
		exit(1);
	}
	madvise(r->addr, r->len, MADV_NOHUGEPAGE);
	if (r->touch)
		touch(r, r->touch);
}

static struct region *find(const char *name)
{
	for (size_t i = 0; i < NREGIONS; i++)
		if (!strcmp(regions[i].name, name) && regions[i].addr)
			return &regions[i];
	return NULL;
}

static int command(const char *line)
{
	char op[16], name[16], prot[8];
	unsigned long off = 0, len = 0;
	struct region *r;
	int n;

	n = sscanf(line, "%15s %15s %lu %lu %7s", op, name, &off, &len, prot);
	if (n >= 1 && !strcmp(op, "exit"))
		exit(0);
	if (n < 2 || !(r = find(name)))
		return EINVAL;
	if (!strcmp(op, "touch"))
		return touch(r, 2), 0;
	if (n < 4 || off + len > r->len)
		return EINVAL;
	if (!strcmp(op, "unmap"))
		return munmap(r->addr + off, len) ? errno : 0;
	if (!strcmp(op, "dontneed"))
		return madvise(r->addr + off, len, MADV_DONTNEED) ? errno : 0;
	if (!strcmp(op, "protect") && n == 5) {
		int p = !strcmp(prot, "rw") ? PROT_READ | PROT_WRITE :
			!strcmp(prot, "r") ? PROT_READ : PROT_NONE;

		return mprotect(r->addr + off, len, p) ? errno : 0;
	}
	return EINVAL;
}

int main(void)
{
	char line[256];
	const char *sep = "";

	page = (size_t)sysconf(_SC_PAGESIZE);
	for (size_t i = 0; i < NREGIONS; i++)
		map_region(&regions[i]);

	printf("{\"pid\": %d, \"page_size\": %zu, \"regions\": {", (int)getpid(), page);
	for (size_t i = 0; i < NREGIONS; i++) {
		if (regions[i].addr)
			printf("%s\"%s\": {\"addr\": \"%p\", \"length\": %zu}", sep,
			       regions[i].name, (void *)regions[i].addr, regions[i].len);
		else
			printf("%s\"%s\": null", sep, regions[i].name);
		sep = ", ";
	}
	printf("}}\n");
	fflush(stdout);

	while (fgets(line, sizeof(line), stdin)) {
		int err = command(line);

		if (err)
			printf("error %d\n", err);
		else
			printf("ok\n");
		fflush(stdout);
	}
	return 0;
}
