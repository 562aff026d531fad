// SPDX-License-Identifier: MIT
/*
 * demo.c - a readable hmm_mirror session: fault a buffer into the device,
 * snapshot it, read and write it through the device, munmap part of it and
 * show the device entries disappear.  Exits non-zero if anything it shows
 * is not what the ABI promises.  Run by `make demo` inside the test VM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hmm_mirror.h"

#define NPAGES 16
#define PAGE 4096UL

static int failures;

static void expect(int ok, const char *what)
{
	printf("   %s %s\n", ok ? "[ok]  " : "[FAIL]", what);
	if (!ok)
		failures++;
}

static void die(const char *what)
{
	fprintf(stderr, "demo: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* One character per page: what a QUERY or SNAPSHOT state means. */
static char state_char(uint32_t s)
{
	if (s & HMM_MIRROR_PAGE_ERROR)
		return '!';
	if (!(s & HMM_MIRROR_PAGE_VALID))
		return '.';
	if (s & HMM_MIRROR_PAGE_ZERO)
		return 'z';
	if (HMM_MIRROR_PAGE_ORDER(s))
		return (s & HMM_MIRROR_PAGE_WRITE) ? 'H' : 'h';
	return (s & HMM_MIRROR_PAGE_WRITE) ? 'W' : 'R';
}

static void show_pages(int fd, unsigned long cmd, const char *label,
		       char *addr, uint32_t *states)
{
	struct hmm_mirror_pages p = {
		.size = sizeof(p), .addr = (uintptr_t)addr,
		.length = NPAGES * PAGE, .states = (uintptr_t)states,
		.states_len = NPAGES,
	};
	char line[NPAGES + 1];

	if (ioctl(fd, cmd, &p))
		die(label);
	for (int i = 0; i < NPAGES; i++)
		line[i] = state_char(states[i]);
	line[NPAGES] = 0;
	printf("   %-28s |%s|\n", label, line);
}

int main(void)
{
	struct hmm_mirror_handshake hs = {
		.size = sizeof(hs), .abi_version = HMM_MIRROR_ABI_VERSION,
		.features_wanted = HMM_MIRROR_FEAT_FAULT |
				   HMM_MIRROR_FEAT_SNAPSHOT |
				   HMM_MIRROR_FEAT_DEVICE_RW |
				   HMM_MIRROR_FEAT_QUERY,
	};
	uint32_t states[NPAGES];
	char devbuf[NPAGES * PAGE];
	int fd;

	printf("hmm-mirror demo: a software device mirrors this process\n");
	printf("legend: W writable page, R read-only, z zero page, H/h huge, . nothing, ! not mirrorable\n\n");

	fd = open("/dev/hmm_mirror", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open /dev/hmm_mirror (is hmm_mirror.ko loaded?)");
	if (ioctl(fd, HMM_MIRROR_IOC_HANDSHAKE, &hs))
		die("handshake");
	printf("0. handshake: module ABI v%u, page size %lu, features 0x%llx, ioctls 0x%llx\n",
	       hs.module_abi_version, 1UL << hs.page_shift,
	       (unsigned long long)hs.features_supported,
	       (unsigned long long)hs.ioctls_supported);
	expect((hs.features_supported & hs.features_wanted) == hs.features_wanted,
	       "module supports every feature the demo uses");

	char *buf = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap");
	for (int i = 0; i < NPAGES; i++)
		snprintf(buf + i * PAGE, PAGE, "page %d written by the CPU", i);
	printf("\n1. mmap %d pages at %p; the CPU writes a line into each\n",
	       NPAGES, (void *)buf);

	printf("\n2. SNAPSHOT: the CPU page table, seen through hmm_range_fault()\n");
	show_pages(fd, HMM_MIRROR_IOC_SNAPSHOT, "CPU page table", buf, states);
	show_pages(fd, HMM_MIRROR_IOC_QUERY, "device page table", buf, states);
	expect(states[0] == 0, "the device maps nothing yet");

	struct hmm_mirror_fault f = {
		.size = sizeof(f), .addr = (uintptr_t)buf,
		.length = NPAGES * PAGE,
	};
	if (ioctl(fd, HMM_MIRROR_IOC_FAULT, &f))
		die("fault");
	printf("\n3. FAULT for read: device now maps %llu pages (%llu retries)\n",
	       (unsigned long long)f.pages_mapped,
	       (unsigned long long)f.retries);
	show_pages(fd, HMM_MIRROR_IOC_QUERY, "device page table", buf, states);
	expect(f.pages_mapped == NPAGES, "every page is in the device page table");
	/*
	 * A read fault maps a page writable when the CPU's entry is (the
	 * pages were written above), so what step 5 says comes from here.
	 */
	int page2_writable = !!(states[2] & HMM_MIRROR_PAGE_WRITE);

	struct hmm_mirror_rw rw = {
		.size = sizeof(rw), .addr = (uintptr_t)buf,
		.length = NPAGES * PAGE, .buf = (uintptr_t)devbuf,
	};
	if (ioctl(fd, HMM_MIRROR_IOC_READ, &rw))
		die("device read");
	printf("\n4. device READ of %lu bytes took %llu device faults\n",
	       NPAGES * PAGE, (unsigned long long)rw.device_faults);
	printf("   the device reads page 5 as: \"%s\"\n", devbuf + 5 * PAGE);
	expect(memcmp(devbuf, buf, sizeof(devbuf)) == 0,
	       "device data equals CPU data");
	expect(rw.device_faults == 0, "no device fault: the pages were mapped");

	char msg[] = "page 2 written by the DEVICE";
	struct hmm_mirror_rw wr = {
		.size = sizeof(wr), .addr = (uintptr_t)(buf + 2 * PAGE),
		.length = PAGE, .buf = (uintptr_t)devbuf,
	};
	memset(devbuf, 0, PAGE);
	memcpy(devbuf, msg, sizeof(msg));
	if (ioctl(fd, HMM_MIRROR_IOC_WRITE, &wr))
		die("device write");
	printf("\n5. device WRITE into page 2: %llu device fault%s (%s)\n",
	       (unsigned long long)wr.device_faults,
	       wr.device_faults == 1 ? "" : "s",
	       page2_writable ? "the device already mapped it writable" :
	       "the device mapped it read-only, so it faulted it for write");
	printf("   the CPU reads page 2 as: \"%s\"\n", buf + 2 * PAGE);
	expect(strcmp(buf + 2 * PAGE, msg) == 0, "the CPU sees the device's write");

	if (munmap(buf + 4 * PAGE, 4 * PAGE))
		die("munmap");
	printf("\n6. munmap pages 4..7: the interval notifier clears them from the device\n");
	show_pages(fd, HMM_MIRROR_IOC_SNAPSHOT, "CPU page table", buf, states);
	show_pages(fd, HMM_MIRROR_IOC_QUERY, "device page table", buf, states);
	int gone = 1, kept = 1;

	for (int i = 0; i < NPAGES; i++) {
		if (i >= 4 && i < 8)
			gone &= !(states[i] & HMM_MIRROR_PAGE_VALID);
		else
			kept &= !!(states[i] & HMM_MIRROR_PAGE_VALID);
	}
	expect(gone, "device entries for pages 4..7 are gone");
	expect(kept, "the other 12 entries are still mapped");

	rw.length = PAGE;
	rw.addr = (uintptr_t)(buf + 5 * PAGE);
	int r = ioctl(fd, HMM_MIRROR_IOC_READ, &rw);
	printf("\n7. device READ of unmapped page 5: %s\n",
	       r ? strerror(errno) : "succeeded");
	expect(r == -1 && errno == EFAULT, "the device cannot read unmapped memory (EFAULT)");

	close(fd);
	printf("\ndemo %s\n", failures ? "FAILED" : "finished: the device page table followed the CPU's");
	return failures ? 1 : 0;
}
