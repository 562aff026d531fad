// SPDX-License-Identifier: MIT
/*
 * fake_device.c - the fake /dev/hmm_mirror of the unit tests (see
 * fake_device.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fake_device.h"

struct fake_device fake;
static dev_t fake_dev;
static ino_t fake_ino;

int fake_device_create(void)
{
	struct stat st;

	fake_device_destroy();
	memset(&fake, 0, sizeof(fake));
	snprintf(fake.path, sizeof(fake.path), "/tmp/fake_hmm_mirror.%d",
		 (int)getpid());
	unlink(fake.path);
	if (mkfifo(fake.path, 0600) != 0)
		return -errno;
	if (stat(fake.path, &st) != 0)
		return -errno;
	fake_dev = st.st_dev;
	fake_ino = st.st_ino;
	fake.writer_fd = open(fake.path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fake.writer_fd < 0)
		return -errno;
	fake.module_abi_version = HMM_MIRROR_ABI_VERSION;
	fake.page_shift = 12;
	fake.features = (1ULL << 15) - 1;
	fake.ioctls = (1ULL << HMM_MIRROR_NR_COMMANDS) - 1;
	fake.addr_limit = HMM_MIRROR_ADDR_LIMIT;
	return 0;
}

void fake_device_destroy(void)
{
	if (fake.path[0]) {
		unlink(fake.path);
		fake.path[0] = 0;
	}
	if (fake.writer_fd > 0)
		close(fake.writer_fd);
	fake.writer_fd = -1;
	fake_ino = 0;
}

int fake_device_push_event(uint32_t reason, uint64_t start, uint64_t end,
			   uint64_t seq, uint64_t pages)
{
	struct hmm_mirror_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.size = sizeof(ev);
	ev.reason = reason;
	ev.start = start;
	ev.end = end;
	ev.seq = seq;
	ev.pages = pages;
	return write(fake.writer_fd, &ev, sizeof(ev)) == (ssize_t)sizeof(ev) ?
	       0 : -errno;
}

unsigned int fake_device_total_calls(void)
{
	unsigned int n = 0;

	for (int i = 0; i < FAKE_NR_COMMANDS; i++)
		n += fake.calls[i];
	return n;
}

static int is_fake(int fd)
{
	struct stat st;

	return fake_ino && fstat(fd, &st) == 0 && st.st_dev == fake_dev &&
	       st.st_ino == fake_ino;
}

/* The state SNAPSHOT and QUERY see at @addr (fake.stripe_pages). */
static uint32_t fake_state(uint64_t addr)
{
	if (fake.stripe_pages &&
	    ((addr >> fake.page_shift) / fake.stripe_pages) % 2)
		return 0;
	return fake.fill_state;
}

static int answer(unsigned int nr, void *arg)
{
	switch (nr) {
	case HMM_MIRROR_NR_HANDSHAKE: {
		struct hmm_mirror_handshake *hs = arg;

		hs->module_abi_version = fake.module_abi_version;
		hs->features_supported = fake.features;
		hs->ioctls_supported = fake.ioctls;
		hs->page_shift = fake.page_shift;
		if (hs->size >= HMM_MIRROR_HANDSHAKE_SIZE_VER3)
			hs->addr_limit = fake.addr_limit;
		return 0;
	}
	case HMM_MIRROR_NR_FAULT: {
		struct hmm_mirror_fault *f = arg;

		f->pages_mapped = f->length >> fake.page_shift;
		f->retries = 3;
		return 0;
	}
	case HMM_MIRROR_NR_SNAPSHOT:
	case HMM_MIRROR_NR_QUERY: {
		struct hmm_mirror_pages *p = arg;
		uint32_t *states = (uint32_t *)(uintptr_t)p->states;

		if (p->flags & HMM_MIRROR_PAGES_RUNS) {
			struct hmm_mirror_run *r = (void *)(uintptr_t)p->states;
			uint64_t at = p->addr, end = p->addr + p->length;

			/* Whole stripes (or the range) as runs, while they fit. */
			p->nr_runs = 0;
			while (at < end && p->nr_runs < p->states_len) {
				uint64_t stop = end;

				if (fake.stripe_pages) {
					uint64_t s = fake.stripe_pages << fake.page_shift;

					stop = (at / s + 1) * s;
					if (stop > end)
						stop = end;
				}
				r->addr = at;
				r->length = stop - at;
				r->state = fake_state(at);
				r->reserved = 0;
				r++;
				p->nr_runs++;
				at = stop;
			}
			return 0;
		}
		for (uint64_t i = 0; i < p->length >> fake.page_shift; i++)
			states[i] = fake_state(p->addr + (i << fake.page_shift));
		return 0;
	}
	case HMM_MIRROR_NR_READ:
	case HMM_MIRROR_NR_WRITE: {
		struct hmm_mirror_rw *rw = arg;

		if (nr == HMM_MIRROR_NR_READ)
			memset((void *)(uintptr_t)rw->buf, fake.fill_byte,
			       rw->length);
		rw->device_faults = 1;
		if (rw->size >= HMM_MIRROR_RW_SIZE_VER3)
			rw->bytes_copied = rw->length;
		return 0;
	}
	case HMM_MIRROR_NR_ATTACH:
	case HMM_MIRROR_NR_EVENTS:
		return 0;
	case HMM_MIRROR_NR_MIGRATE: {
		struct hmm_mirror_migrate *mg = arg;
		uint64_t i, n = mg->length >> fake.page_shift;

		for (i = 0; mg->results && i < n; i++)
			((uint32_t *)(uintptr_t)mg->results)[i] =
				HMM_MIRROR_MIGRATE_MOVED;
		mg->pages_moved = n;
		mg->pages_not_moved = 0;
		return 0;
	}
	case HMM_MIRROR_NR_EXCLUSIVE: {
		struct hmm_mirror_exclusive *ex = arg;
		uint64_t i, n = ex->length >> fake.page_shift;

		/* Every page granted but the second, refused with EBUSY. */
		for (i = 0; ex->results && i < n; i++)
			((uint32_t *)(uintptr_t)ex->results)[i] =
				i == 1 ? EBUSY : 0;
		ex->pages_refused = n > 1;
		ex->pages_granted = n - ex->pages_refused;
		return 0;
	}
	case HMM_MIRROR_NR_ATOMIC: {
		struct hmm_mirror_atomic *at = arg;

		at->old = fake.atomic_old;
		return 0;
	}
	case HMM_MIRROR_NR_STATS: {
		struct hmm_mirror_stats *s = arg;
		uint32_t flags = s->flags;

		*s = fake.stats;
		s->size = sizeof(*s);
		s->flags = flags;
		return 0;
	}
	default:
		return ENOTTY;
	}
}

/* Binds before the C library's ioctl() for every caller in the program. */
int ioctl(int fd, unsigned long request, ...)
{
	unsigned int nr = request & 0xff;
	va_list ap;
	void *arg;
	int err;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!is_fake(fd))
		return (int)syscall(SYS_ioctl, fd, request, arg);
	if (((request >> 8) & 0xff) != HMM_MIRROR_IOC_MAGIC ||
	    nr >= FAKE_NR_COMMANDS) {
		errno = ENOTTY;
		return -1;
	}
	fake.calls[nr]++;
	memcpy(fake.last_arg[nr], arg, *(uint32_t *)arg < 256 ?
	       *(uint32_t *)arg : 256);
	err = fake.fail_errno[nr];
	if (!err)
		err = answer(nr, arg);
	else if (nr == HMM_MIRROR_NR_READ || nr == HMM_MIRROR_NR_WRITE) {
		struct hmm_mirror_rw *rw = arg;

		/* As a module of ABI 3 fails part way. */
		rw->device_faults = 1;
		rw->bytes_copied = fake.fail_bytes_copied;
	}
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}
