// SPDX-License-Identifier: MIT
/*
 * devmem.c - device memory (ABI 4): MIGRATE (with eviction, ABI 5), and
 * the pool's size and use from HANDSHAKE and STATS.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "internal.h"

_Static_assert(sizeof(struct hmm_mirror_device_memory) ==
	       HMM_MIRROR_DEVICE_MEMORY_SIZE_VER1,
	       "struct hmm_mirror_device_memory layout");

HMM_LIB_EXPORT int hmm_mirror_migrate(struct hmm_mirror *m, uint64_t addr,
				      uint64_t length, uint32_t flags,
				      uint32_t *results, uint64_t results_len,
				      uint64_t *pages_moved,
				      uint64_t *pages_not_moved)
{
	static const char call[] = "hmm_mirror_migrate";
	const uint32_t known = HMM_MIRROR_MIGRATE_TO_SYSTEM |
			       HMM_MIRROR_MIGRATE_EVICT;
	struct hmm_mirror_migrate a;
	char args[160];
	int ret;

	ret = hmm_lib_check(m, HMM_MIRROR_FEAT_DEVICE_MEMORY, call);
	if (ret)
		return ret;
	snprintf(args, sizeof(args),
		 "addr=0x%" PRIx64 ", length=0x%" PRIx64 ", %s", addr, length,
		 flags == HMM_MIRROR_MIGRATE_TO_SYSTEM ? "to system" :
		 flags == HMM_MIRROR_MIGRATE_EVICT ? "to device, evicting" :
		 flags ? "flags=?" : "to device");
	if (flags & ~known)
		return hmm_lib_fail(EINVAL, call, "unknown flags", "%s", args);
	if ((flags & HMM_MIRROR_MIGRATE_EVICT) &&
	    (flags & HMM_MIRROR_MIGRATE_TO_SYSTEM))
		return hmm_lib_fail(EINVAL, call,
				    "HMM_MIRROR_MIGRATE_EVICT makes room in device memory: not with HMM_MIRROR_MIGRATE_TO_SYSTEM",
				    "%s", args);
	if (flags & HMM_MIRROR_MIGRATE_EVICT) {
		ret = hmm_lib_check(m, HMM_MIRROR_FEAT_DEVICE_EVICT, call);
		if (ret)
			return ret;
	}
	if (!results != !results_len)
		return hmm_lib_fail(EINVAL, call,
				    "results and results_len go together",
				    "%s", args);

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = flags;
	a.addr = addr;
	a.length = length;
	a.results = (uint64_t)(uintptr_t)results;
	a.results_len = results_len;
	ret = hmm_lib_ioctl(m, HMM_MIRROR_IOC_MIGRATE, &a);
	if (ret)
		return hmm_lib_fail_cmd(ret, m, HMM_MIRROR_NR_MIGRATE, call,
					"%s", args);
	if (pages_moved)
		*pages_moved = a.pages_moved;
	if (pages_not_moved)
		*pages_not_moved = a.pages_not_moved;
	return 0;
}

HMM_LIB_EXPORT int hmm_mirror_device_memory(struct hmm_mirror *m,
					    struct hmm_mirror_device_memory *dm)
{
	static const char call[] = "hmm_mirror_device_memory";
	struct hmm_mirror_device_memory out;
	struct hmm_mirror_stats s, g;
	int ret;

	ret = hmm_lib_check(m, HMM_MIRROR_FEAT_DEVICE_MEMORY |
			    HMM_MIRROR_FEAT_STATS, call);
	if (ret)
		return ret;
	if (!dm || dm->size < HMM_MIRROR_DEVICE_MEMORY_SIZE_VER1)
		return hmm_lib_fail(EINVAL, call,
				    "dm is NULL or dm->size is too small: initialise it with hmm_mirror_device_memory_init()",
				    NULL);
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	g = s;
	g.flags = HMM_MIRROR_STATS_GLOBAL;
	ret = hmm_lib_ioctl(m, HMM_MIRROR_IOC_STATS, &s);
	if (!ret)
		ret = hmm_lib_ioctl(m, HMM_MIRROR_IOC_STATS, &g);
	if (ret)
		return hmm_lib_fail_cmd(ret, m, HMM_MIRROR_NR_STATS, call, NULL);

	memset(&out, 0, sizeof(out));
	out.total_bytes = g.device_memory_pages << m->page_shift;
	out.used_bytes = g.device_pages << m->page_shift;
	out.mirror_pages = s.device_pages;
	out.pages_to_device = s.pages_to_device;
	out.pages_to_system = s.pages_to_system;
	out.pages_faulted_back = s.pages_faulted_back;
	out.pages_no_memory = s.pages_no_memory;
	hmm_lib_copy_sized(dm, dm->size, &out, sizeof(out));
	return 0;
}
