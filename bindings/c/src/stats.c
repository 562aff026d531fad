// SPDX-License-Identifier: MIT
/*
 * stats.c - STATS: counters of one mirror or of the whole module.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

_Static_assert(sizeof(struct hmm_mirror_counters) ==
	       HMM_MIRROR_COUNTERS_SIZE_VER1, "struct hmm_mirror_counters layout");
_Static_assert(HMM_MIRROR_EVENT_NR_REASONS == 8, "invalidations[] size");

static int stats(struct hmm_mirror *m, struct hmm_mirror_counters *c,
		 uint32_t flags, const char *call)
{
	struct hmm_mirror_counters out;
	struct hmm_mirror_stats s;
	int ret;

	ret = hmm_lib_check(m, HMM_MIRROR_FEAT_STATS, call);
	if (ret)
		return ret;
	if (!c)
		return hmm_lib_fail(EINVAL, call, "c is NULL", NULL);
	if (c->size < HMM_MIRROR_COUNTERS_SIZE_VER1)
		return hmm_lib_fail(EINVAL, call,
				    "c->size is too small: initialise it with hmm_mirror_counters_init()",
				    "c->size=%u", c->size);
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.flags = flags;
	ret = hmm_lib_ioctl(m, HMM_MIRROR_IOC_STATS, &s);
	if (ret)
		return hmm_lib_fail_cmd(ret, m, HMM_MIRROR_NR_STATS, call, NULL);

	memset(&out, 0, sizeof(out));
	out.global = !!(flags & HMM_MIRROR_STATS_GLOBAL);
	out.device_faults = s.device_faults;
	out.fault_calls = s.fault_calls;
	out.pages_faulted = s.pages_faulted;
	out.fault_retries = s.fault_retries;
	memcpy(out.invalidations, s.invalidations, sizeof(out.invalidations));
	out.pages_invalidated = s.pages_invalidated;
	out.events_delivered = s.events_delivered;
	out.events_lost = s.events_lost;
	out.notifiers = s.notifiers;
	out.dpt_tables = s.dpt_tables;
	out.dpt_pages = s.dpt_pages;
	out.mirrors = s.mirrors;
	hmm_lib_copy_sized(c, c->size, &out, sizeof(out));
	return 0;
}

HMM_LIB_EXPORT int hmm_mirror_stats(struct hmm_mirror *m,
				    struct hmm_mirror_counters *c)
{
	return stats(m, c, 0, "hmm_mirror_stats");
}

HMM_LIB_EXPORT int hmm_mirror_stats_global(struct hmm_mirror *m,
					   struct hmm_mirror_counters *c)
{
	return stats(m, c, HMM_MIRROR_STATS_GLOBAL, "hmm_mirror_stats_global");
}
