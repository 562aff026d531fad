// SPDX-License-Identifier: MIT
/*
 * stats.c - STATS: counters of one mirror or of the whole module.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

static int stats(struct hmm_mirror *m, struct hmm_mirror_stats *c,
		 uint32_t flags, const char *call)
{
	struct hmm_mirror_stats s;
	int ret;

	ret = hmm_lib_check(m, HMM_MIRROR_FEAT_STATS, call);
	if (ret)
		return ret;
	if (!c)
		return hmm_lib_fail(EINVAL, call, "c is NULL", NULL);
	if (c->size < HMM_MIRROR_STATS_SIZE_VER1)
		return hmm_lib_fail(EINVAL, call,
				    "c->size is too small: initialise it with hmm_mirror_counters_init()",
				    "c->size=%u", c->size);
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.flags = flags;
	ret = hmm_lib_ioctl(m, HMM_MIRROR_IOC_STATS, &s);
	if (ret)
		return hmm_lib_fail_cmd(ret, m, HMM_MIRROR_NR_STATS, call, NULL);

	s.flags = flags;	/* GLOBAL or 0, as the module writes it back */
	hmm_lib_copy_sized(c, c->size, &s, sizeof(s));
	return 0;
}

HMM_LIB_EXPORT int hmm_mirror_stats(struct hmm_mirror *m,
				    struct hmm_mirror_stats *c)
{
	return stats(m, c, 0, "hmm_mirror_stats");
}

HMM_LIB_EXPORT int hmm_mirror_stats_global(struct hmm_mirror *m,
					   struct hmm_mirror_stats *c)
{
	return stats(m, c, HMM_MIRROR_STATS_GLOBAL, "hmm_mirror_stats_global");
}
