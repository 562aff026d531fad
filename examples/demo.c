// SPDX-License-Identifier: MIT
/*
 * demo.c - a readable hmm_mirror session on libhmm_mirror: fault a buffer
 * into the device, snapshot it, read and write it through the device,
 * munmap part of it and show the device entries disappear.  Exits
 * non-zero if anything it shows is not what the ABI promises.  Run by
 * `make demo` inside the test VM.
 *
 * Build your own the same way: cc prog.c $(pkg-config --cflags --libs
 * libhmm_mirror).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <hmm_mirror/libhmm_mirror.h>

#define NPAGES 16

static int failures;

static void expect(int ok, const char *what)
{
	printf("   %s %s\n", ok ? "[ok]  " : "[FAIL]", what);
	if (!ok)
		failures++;
}

/* The library says which call failed, with what, and what it means. */
static void die(void)
{
	fprintf(stderr, "demo: %s\n", hmm_mirror_last_error());
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

/* The CPU's (hmm_mirror_snapshot) or the device's (hmm_mirror_query) view. */
static void show_pages(struct hmm_mirror *m, int device, char *addr,
		       uint64_t page, uint32_t *states)
{
	char line[NPAGES + 1];
	int ret = device ?
		hmm_mirror_query(m, (uintptr_t)addr, NPAGES * page, states, NPAGES) :
		hmm_mirror_snapshot(m, (uintptr_t)addr, NPAGES * page, states, NPAGES);

	if (ret)
		die();
	for (int i = 0; i < NPAGES; i++)
		line[i] = state_char(states[i]);
	line[NPAGES] = 0;
	printf("   %-20s |%s|\n", device ? "device page table" : "CPU page table", line);
}

/* The same range as runs of pages with one state (hmm_mirror_runs_*). */
static int show_runs(struct hmm_mirror *m, char *addr, uint64_t page)
{
	struct hmm_mirror_page_run run;
	struct hmm_mirror_runs *it;
	int n = 0, ret;

	if (hmm_mirror_runs_open(m, (uintptr_t)addr, NPAGES * page, &it))
		die();
	while ((ret = hmm_mirror_runs_next(it, &run)) == 1) {
		uint64_t first = (run.addr - (uintptr_t)addr) / page;

		printf("   as runs: pages %2" PRIu64 "..%2" PRIu64 " '%c'\n", first,
		       first + (uint64_t)run.length / page - 1, state_char(run.state));
		n++;
	}
	hmm_mirror_runs_close(it);
	if (ret < 0)
		die();
	return n;
}

int main(void)
{
	const uint64_t wanted = HMM_MIRROR_FEAT_FAULT | HMM_MIRROR_FEAT_SNAPSHOT |
				HMM_MIRROR_FEAT_DEVICE_RW | HMM_MIRROR_FEAT_QUERY;
	struct hmm_mirror_info info;
	uint32_t states[NPAGES];
	struct hmm_mirror *m;
	uint64_t page, mapped, retries, faults;
	char *buf, *devbuf;

	printf("hmm-mirror demo: a software device mirrors this process (libhmm_mirror %s)\n",
	       hmm_mirror_lib_version());
	printf("legend: W writable page, R read-only, z zero page, H/h huge, . nothing, ! not mirrorable\n\n");

	if (hmm_mirror_open(&m))
		die();
	hmm_mirror_info_init(&info);
	if (hmm_mirror_handshake(m, &info))
		die();
	page = hmm_mirror_page_size(m);
	printf("0. open /dev/hmm_mirror: module ABI v%u, page size %" PRIu64 ", features:",
	       info.abi_version, page);
	for (int bit = 0; bit < 64; bit++) {
		const char *name = hmm_mirror_feature_name(1ULL << bit);

		if (info.features & (1ULL << bit))
			printf(" %s", name ? name : "?");
	}
	printf("\n");
	expect(hmm_mirror_require(m, wanted) == 0,
	       "the module supports every feature the demo uses");
	if (failures)
		die();

	buf = mmap(NULL, NPAGES * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	devbuf = malloc(NPAGES * page);
	if (buf == MAP_FAILED || !devbuf) {
		perror("demo: memory");
		return 1;
	}
	for (int i = 0; i < NPAGES; i++)
		snprintf(buf + i * page, page, "page %d written by the CPU", i);
	printf("\n1. mmap %d pages at %p; the CPU writes a line into each\n",
	       NPAGES, (void *)buf);

	printf("\n2. SNAPSHOT: the CPU page table, seen through hmm_range_fault()\n");
	show_pages(m, 0, buf, page, states);
	show_pages(m, 1, buf, page, states);
	expect(states[0] == 0, "the device maps nothing yet");

	if (hmm_mirror_fault(m, (uintptr_t)buf, NPAGES * page, 0, &mapped, &retries))
		die();
	printf("\n3. FAULT for read: the device now maps %" PRIu64 " 4K pages (%" PRIu64 " retries)\n",
	       mapped, retries);
	show_pages(m, 1, buf, page, states);
	expect(mapped == NPAGES * page / 4096, "every page is in the device page table");
	/*
	 * A read fault maps a page writable when the CPU's entry is (the
	 * pages were written above), so what step 5 says comes from here.
	 */
	int page2_writable = !!(states[2] & HMM_MIRROR_PAGE_WRITE);

	if (hmm_mirror_read(m, (uintptr_t)buf, devbuf, NPAGES * page, &faults))
		die();
	printf("\n4. device READ of %" PRIu64 " bytes took %" PRIu64 " device faults\n",
	       NPAGES * page, faults);
	printf("   the device reads page 5 as: \"%s\"\n", devbuf + 5 * page);
	expect(memcmp(devbuf, buf, NPAGES * page) == 0, "device data equals CPU data");
	expect(faults == 0, "no device fault: the pages were mapped");

	static const char msg[] = "page 2 written by the DEVICE";

	memset(devbuf, 0, page);
	memcpy(devbuf, msg, sizeof(msg));
	if (hmm_mirror_write(m, (uintptr_t)(buf + 2 * page), devbuf, page, &faults))
		die();
	printf("\n5. device WRITE into page 2: %" PRIu64 " device fault%s (%s)\n",
	       faults, faults == 1 ? "" : "s",
	       page2_writable ? "the device already mapped it writable" :
	       "the device mapped it read-only, so it faulted it for write");
	printf("   the CPU reads page 2 as: \"%s\"\n", buf + 2 * page);
	expect(strcmp(buf + 2 * page, msg) == 0, "the CPU sees the device's write");

	if (munmap(buf + 4 * page, 4 * page)) {
		perror("demo: munmap");
		return 1;
	}
	printf("\n6. munmap pages 4..7: the interval notifier clears them from the device\n");
	show_pages(m, 0, buf, page, states);
	show_pages(m, 1, buf, page, states);
	int gone = 1, kept = 1;

	for (int i = 0; i < NPAGES; i++) {
		if (i >= 4 && i < 8)
			gone &= !(states[i] & HMM_MIRROR_PAGE_VALID);
		else
			kept &= !!(states[i] & HMM_MIRROR_PAGE_VALID);
	}
	expect(gone, "device entries for pages 4..7 are gone");
	expect(kept, "the other 12 entries are still mapped");
	expect(show_runs(m, buf, page) == 3, "the CPU page table is 3 runs: mapped, hole, mapped");

	int ret = hmm_mirror_read(m, (uintptr_t)(buf + 5 * page), devbuf, page, NULL);

	printf("\n7. device READ of unmapped page 5:\n   %s\n",
	       ret ? hmm_mirror_last_error() : "succeeded");
	expect(ret == -EFAULT, "the device cannot read unmapped memory (EFAULT)");

	hmm_mirror_close(m);
	free(devbuf);
	printf("\ndemo %s\n", failures ? "FAILED" : "finished: the device page table followed the CPU's");
	return failures ? 1 : 0;
}
