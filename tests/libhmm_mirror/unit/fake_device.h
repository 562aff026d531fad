/* SPDX-License-Identifier: MIT */
/*
 * fake_device.h - a stand-in for /dev/hmm_mirror in host unit tests.
 *
 * The test binary defines its own ioctl(), which the library's calls bind
 * to.  It answers for file descriptors that refer to the fake device node
 * (a FIFO made by fake_device_create(), so read() and poll() behave like
 * the event queue), counts every command, records the last argument and
 * can be told to fail; any other descriptor goes to the real system call.
 */
#ifndef FAKE_DEVICE_H
#define FAKE_DEVICE_H

#include <stdint.h>

#include "hmm_mirror.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FAKE_NR_COMMANDS 16

struct fake_device {
	char path[64];			/* the FIFO standing in for the node */
	int writer_fd;			/* write event records here */
	/* What HANDSHAKE answers. */
	uint32_t module_abi_version;
	uint32_t page_shift;
	uint64_t features;
	uint64_t ioctls;
	uint64_t addr_limit;
	/* Commands seen, by number; and the last argument of each. */
	unsigned int calls[FAKE_NR_COMMANDS];
	unsigned char last_arg[FAKE_NR_COMMANDS][256];
	/* Non-zero: the next commands with that number fail with it. */
	int fail_errno[FAKE_NR_COMMANDS];
	/* What a failing READ or WRITE reports as bytes_copied (ABI 3). */
	uint64_t fail_bytes_copied;
	/* What SNAPSHOT and QUERY write in every entry, READ in every byte. */
	uint32_t fill_state;
	uint8_t fill_byte;
	/*
	 * Non-zero: SNAPSHOT and QUERY see stripes of this many pages, by
	 * page number: fill_state in even stripes, 0 in odd ones (runs mode
	 * stops when the array is full, as the module does).
	 */
	uint64_t stripe_pages;
	/* What ATOMIC answers as the word's old value. */
	uint64_t atomic_old;
	/* What STATS answers (the flags field is taken from the caller). */
	struct hmm_mirror_stats stats;
};

extern struct fake_device fake;

/* Make the fake node (answering for every feature); 0 or -errno. */
int fake_device_create(void);
void fake_device_destroy(void);
/* Queue one event record, as the module would. */
int fake_device_push_event(uint32_t reason, uint64_t start, uint64_t end,
			   uint64_t seq, uint64_t pages);
/* Every command counted so far. */
unsigned int fake_device_total_calls(void);

#ifdef __cplusplus
}
#endif

#endif /* FAKE_DEVICE_H */
