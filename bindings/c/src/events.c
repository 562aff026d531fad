// SPDX-License-Identifier: MIT
/*
 * events.c - invalidation events: EVENTS, and one record per read(2) of
 * the (non-blocking) mirror fd, waiting with poll(2).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

_Static_assert(sizeof(struct hmm_mirror_event) == HMM_MIRROR_EVENT_SIZE_VER1,
	       "the ABI record this library reads");

HMM_LIB_EXPORT int hmm_mirror_events_config(struct hmm_mirror *m,
					    uint32_t reasons,
					    uint32_t queue_len)
{
	static const char call[] = "hmm_mirror_events_config";
	struct hmm_mirror_events e;
	char args[64];
	int ret;

	ret = hmm_lib_check(m, HMM_MIRROR_FEAT_EVENTS, call);
	if (ret)
		return ret;
	snprintf(args, sizeof(args), "reasons=0x%x, queue_len=%u", reasons,
		 queue_len);
	if (reasons & ~HMM_MIRROR_EVENT_ALL_REASONS)
		return hmm_lib_fail(EINVAL, call, "unknown reason bits", "%s",
				    args);
	memset(&e, 0, sizeof(e));
	e.size = sizeof(e);
	e.reasons = reasons;
	e.queue_len = queue_len;
	ret = hmm_lib_ioctl(m, HMM_MIRROR_IOC_EVENTS, &e);
	if (ret)
		return hmm_lib_fail_cmd(ret, m, HMM_MIRROR_NR_EVENTS, call, "%s",
					args);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

HMM_LIB_EXPORT int hmm_mirror_event_next(struct hmm_mirror *m,
					 struct hmm_mirror_event *rec,
					 int timeout_ms)
{
	static const char call[] = "hmm_mirror_event_next";
	const int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct hmm_mirror_event ev;
	char args[32];
	int ret;

	ret = hmm_lib_check(m, HMM_MIRROR_FEAT_EVENTS, call);
	if (ret)
		return ret;
	snprintf(args, sizeof(args), "timeout_ms=%d", timeout_ms);
	if (!rec)
		return hmm_lib_fail(EINVAL, call, "rec is NULL", "%s", args);
	if (rec->size < HMM_MIRROR_EVENT_SIZE_VER1)
		return hmm_lib_fail(EINVAL, call,
				    "rec->size is too small: initialise it with hmm_mirror_event_record_init()",
				    "%s", args);

	for (;;) {
		struct pollfd pfd = { .fd = m->fd, .events = POLLIN };
		ssize_t n = read(m->fd, &ev, sizeof(ev));
		int wait;

		if (n == (ssize_t)sizeof(ev))
			break;
		if (n == 0)
			return hmm_lib_fail_cmd(ESRCH, m, HMM_LIB_NR_EVENT_READ,
						call, "%s", args);
		if (n > 0)	/* never: the kernel returns whole records */
			return hmm_lib_fail(EPROTO, call, "short event record",
					    "%s", args);
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return hmm_lib_fail_cmd(errno, m, HMM_LIB_NR_EVENT_READ,
						call, "%s", args);

		if (timeout_ms < 0) {
			wait = -1;
		} else {
			int64_t left = deadline - now_ms();

			if (timeout_ms == 0 || left <= 0)
				return hmm_lib_fail_cmd(EAGAIN, m,
							HMM_LIB_NR_EVENT_READ,
							call, "%s", args);
			wait = (int)left;
		}
		ret = poll(&pfd, 1, wait);
		if (ret < 0)
			return hmm_lib_fail_cmd(errno, m, HMM_LIB_NR_EVENT_READ,
						call, "%s", args);
		/* On timeout, go round once more: read() decides. */
		if (ret == 0 && timeout_ms >= 0 && now_ms() >= deadline) {
			n = read(m->fd, &ev, sizeof(ev));
			if (n == (ssize_t)sizeof(ev))
				break;
			if (n == 0)
				return hmm_lib_fail_cmd(ESRCH, m,
							HMM_LIB_NR_EVENT_READ,
							call, "%s", args);
			return hmm_lib_fail_cmd(EAGAIN, m,
						HMM_LIB_NR_EVENT_READ, call,
						"%s", args);
		}
	}

	hmm_lib_copy_sized(rec, rec->size, &ev, sizeof(ev));
	return 0;
}
