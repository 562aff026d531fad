// SPDX-License-Identifier: MIT
/*
 * exclusive.c - exclusive device access (ABI 5): EXCLUSIVE and ATOMIC.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "internal.h"

HMM_LIB_EXPORT int hmm_mirror_exclusive(struct hmm_mirror *m, uint64_t addr,
					uint64_t length, uint32_t *results,
					uint64_t results_len,
					uint64_t *pages_granted,
					uint64_t *pages_refused)
{
	static const char call[] = "hmm_mirror_exclusive";
	struct hmm_mirror_exclusive a;
	char args[96];
	int ret;

	ret = hmm_lib_check(m, HMM_MIRROR_FEAT_EXCLUSIVE, call);
	if (ret)
		return ret;
	snprintf(args, sizeof(args), "addr=0x%" PRIx64 ", length=0x%" PRIx64,
		 addr, length);
	if (!results != !results_len)
		return hmm_lib_fail(EINVAL, call,
				    "results and results_len go together",
				    "%s", args);

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.addr = addr;
	a.length = length;
	a.results = (uint64_t)(uintptr_t)results;
	a.results_len = results_len;
	ret = hmm_lib_ioctl(m, HMM_MIRROR_IOC_EXCLUSIVE, &a);
	if (ret)
		return hmm_lib_fail_cmd(ret, m, HMM_MIRROR_NR_EXCLUSIVE, call,
					"%s", args);
	if (pages_granted)
		*pages_granted = a.pages_granted;
	if (pages_refused)
		*pages_refused = a.pages_refused;
	return 0;
}

HMM_LIB_EXPORT int hmm_mirror_atomic(struct hmm_mirror *m, uint64_t addr,
				     uint32_t op, uint64_t operand,
				     uint64_t compare, uint32_t flags,
				     uint64_t *old)
{
	static const char call[] = "hmm_mirror_atomic";
	const char *name = hmm_mirror_atomic_op_name(op);
	struct hmm_mirror_atomic a;
	char args[160];
	int ret;

	ret = hmm_lib_check(m, HMM_MIRROR_FEAT_EXCLUSIVE, call);
	if (ret)
		return ret;
	snprintf(args, sizeof(args),
		 "addr=0x%" PRIx64 ", %s, operand=0x%" PRIx64 "%s", addr,
		 name ? name : "op=?", operand,
		 flags & HMM_MIRROR_ATOMIC_NO_GRANT ? ", no grant" : "");
	if (!name)
		return hmm_lib_fail(EINVAL, call, "unknown operation", "%s",
				    args);
	if (flags & ~HMM_MIRROR_ATOMIC_NO_GRANT)
		return hmm_lib_fail(EINVAL, call, "unknown flags", "%s", args);
	if (addr % sizeof(uint64_t))
		return hmm_lib_fail(EINVAL, call,
				    "the word is not 8-byte aligned", "%s",
				    args);

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = flags;
	a.addr = addr;
	a.op = op;
	a.operand = operand;
	a.compare = compare;
	ret = hmm_lib_ioctl(m, HMM_MIRROR_IOC_ATOMIC, &a);
	if (ret)
		return hmm_lib_fail_cmd(ret, m, HMM_MIRROR_NR_ATOMIC, call,
					"%s", args);
	if (old)
		*old = a.old;
	return 0;
}
