// SPDX-License-Identifier: MIT
/*
 * memory.c - the commands on ranges of the mirrored address space: FAULT,
 * SNAPSHOT, QUERY, READ and WRITE.  Ranges are checked here, before any
 * system call, with the rules of abi/README.md "Ranges" (the device's
 * address limit when the module says it; the end of the mirrored address
 * space is only known to the kernel).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define RANGE_FMT "addr=0x%" PRIx64 ", length=0x%" PRIx64

int hmm_lib_check_range(const struct hmm_mirror *m, uint64_t addr,
			uint64_t length, const char *call, const char *args)
{
	uint64_t mask = (1ULL << m->page_shift) - 1;
	char why[128];

	if (!length)
		return hmm_lib_fail(EINVAL, call, "length is 0", "%s", args);
	if ((addr & mask) || (length & mask)) {
		snprintf(why, sizeof(why),
			 "%s is not a multiple of the page size (%" PRIu64 ")",
			 (addr & mask) ? "addr" : "length", mask + 1);
		return hmm_lib_fail(EINVAL, call, why, "%s", args);
	}
	if (addr + length < addr)
		return hmm_lib_fail(EINVAL, call, "addr + length wraps around",
				    "%s", args);
	if (m->addr_limit && addr + length > m->addr_limit) {
		snprintf(why, sizeof(why),
			 "the range reaches past the device's address limit 0x%" PRIx64 " (addr_limit of the handshake)",
			 m->addr_limit);
		return hmm_lib_fail(EINVAL, call, why, "%s", args);
	}
	return 0;
}

HMM_LIB_EXPORT int hmm_mirror_fault(struct hmm_mirror *m, uint64_t addr,
				    uint64_t length, uint32_t flags,
				    uint64_t *pages_mapped, uint64_t *retries)
{
	static const char call[] = "hmm_mirror_fault";
	struct hmm_mirror_fault f;
	char args[128];
	int ret;

	ret = hmm_lib_check(m, HMM_MIRROR_FEAT_FAULT, call);
	if (ret)
		return ret;
	snprintf(args, sizeof(args), RANGE_FMT ", %s", addr, length,
		 flags == HMM_MIRROR_FAULT_WRITE ? "write" :
		 flags ? "flags=?" : "read");
	if (flags & ~HMM_MIRROR_FAULT_WRITE)
		return hmm_lib_fail(EINVAL, call, "unknown flags", "%s", args);
	ret = hmm_lib_check_range(m, addr, length, call, args);
	if (ret)
		return ret;

	memset(&f, 0, sizeof(f));
	f.size = sizeof(f);
	f.flags = flags;
	f.addr = addr;
	f.length = length;
	ret = hmm_lib_ioctl(m, HMM_MIRROR_IOC_FAULT, &f);
	if (ret)
		return hmm_lib_fail_cmd(ret, m, HMM_MIRROR_NR_FAULT, call, "%s",
					args);
	if (pages_mapped)
		*pages_mapped = f.pages_mapped;
	if (retries)
		*retries = f.retries;
	return 0;
}

static int pages_cmd(struct hmm_mirror *m, unsigned int nr, uint64_t feature,
		     const char *call, uint64_t addr, uint64_t length,
		     uint32_t *states, size_t states_len)
{
	struct hmm_mirror_pages p;
	char args[160];
	uint64_t npages;
	int ret;

	ret = hmm_lib_check(m, feature, call);
	if (ret)
		return ret;
	snprintf(args, sizeof(args), RANGE_FMT ", states_len=%zu", addr,
		 length, states_len);
	ret = hmm_lib_check_range(m, addr, length, call, args);
	if (ret)
		return ret;
	npages = length >> m->page_shift;
	if (!states)
		return hmm_lib_fail(EINVAL, call, "states is NULL", "%s", args);
	if (states_len < npages) {
		char why[96];

		snprintf(why, sizeof(why),
			 "states holds fewer entries than the range has pages (%" PRIu64 ")",
			 npages);
		return hmm_lib_fail(EINVAL, call, why, "%s", args);
	}

	memset(&p, 0, sizeof(p));
	p.size = sizeof(p);
	p.addr = addr;
	p.length = length;
	p.states = (uint64_t)(uintptr_t)states;
	p.states_len = states_len;
	ret = hmm_lib_ioctl(m, nr == HMM_MIRROR_NR_SNAPSHOT ?
			    HMM_MIRROR_IOC_SNAPSHOT : HMM_MIRROR_IOC_QUERY, &p);
	if (ret)
		return hmm_lib_fail_cmd(ret, m, nr, call, "%s", args);
	return 0;
}

HMM_LIB_EXPORT int hmm_mirror_snapshot(struct hmm_mirror *m, uint64_t addr,
				       uint64_t length, uint32_t *states,
				       size_t states_len)
{
	return pages_cmd(m, HMM_MIRROR_NR_SNAPSHOT, HMM_MIRROR_FEAT_SNAPSHOT,
			 "hmm_mirror_snapshot", addr, length, states,
			 states_len);
}

HMM_LIB_EXPORT int hmm_mirror_snapshot_runs(struct hmm_mirror *m,
					    uint64_t addr, uint64_t length,
					    struct hmm_mirror_run *runs,
					    size_t runs_len, size_t *nr_runs)
{
	static const char call[] = "hmm_mirror_snapshot_runs";
	struct hmm_mirror_pages p;
	char args[160];
	int ret;

	ret = hmm_lib_check(m, HMM_MIRROR_FEAT_SNAPSHOT_RUNS, call);
	if (ret)
		return ret;
	snprintf(args, sizeof(args), RANGE_FMT ", runs_len=%zu", addr, length,
		 runs_len);
	ret = hmm_lib_check_range(m, addr, length, call, args);
	if (ret)
		return ret;
	if (!runs || !nr_runs)
		return hmm_lib_fail(EINVAL, call, runs ? "nr_runs is NULL" :
				    "runs is NULL", "%s", args);
	if (!runs_len)
		return hmm_lib_fail(EINVAL, call, "runs_len is 0", "%s", args);

	memset(&p, 0, sizeof(p));
	p.size = sizeof(p);
	p.flags = HMM_MIRROR_PAGES_RUNS;
	p.addr = addr;
	p.length = length;
	p.states = (uint64_t)(uintptr_t)runs;
	p.states_len = runs_len;
	ret = hmm_lib_ioctl(m, HMM_MIRROR_IOC_SNAPSHOT, &p);
	if (ret)
		return hmm_lib_fail_cmd(ret, m, HMM_MIRROR_NR_SNAPSHOT, call, "%s",
					args);
	*nr_runs = (size_t)p.nr_runs;
	return 0;
}

HMM_LIB_EXPORT int hmm_mirror_query(struct hmm_mirror *m, uint64_t addr,
				    uint64_t length, uint32_t *states,
				    size_t states_len)
{
	return pages_cmd(m, HMM_MIRROR_NR_QUERY, HMM_MIRROR_FEAT_QUERY,
			 "hmm_mirror_query", addr, length, states, states_len);
}

_Static_assert(sizeof(struct hmm_mirror_rw_result) ==
	       HMM_MIRROR_RW_RESULT_SIZE_VER1, "struct hmm_mirror_rw_result layout");

/*
 * READ or WRITE; *@out receives the bytes copied and the device faults,
 * on failure too (0 and 0 when nothing reached the module).
 */
static int rw_cmd(struct hmm_mirror *m, unsigned int nr, const char *call,
		  uint64_t addr, const void *buf, uint64_t length,
		  struct hmm_mirror_rw_result *out)
{
	struct hmm_mirror_rw rw;
	char args[160];
	int ret;

	memset(out, 0, sizeof(*out));
	ret = hmm_lib_check(m, HMM_MIRROR_FEAT_DEVICE_RW, call);
	if (ret)
		return ret;
	snprintf(args, sizeof(args), RANGE_FMT ", buf=%p", addr, length, buf);
	ret = hmm_lib_check_range(m, addr, length, call, args);
	if (ret)
		return ret;
	if (!buf)
		return hmm_lib_fail(EINVAL, call, "buf is NULL", "%s", args);

	memset(&rw, 0, sizeof(rw));
	rw.size = sizeof(rw);
	rw.addr = addr;
	rw.length = length;
	rw.buf = (uint64_t)(uintptr_t)buf;
	ret = hmm_lib_ioctl(m, nr == HMM_MIRROR_NR_READ ?
			    HMM_MIRROR_IOC_READ : HMM_MIRROR_IOC_WRITE, &rw);
	if (!ret) {
		/* A module of ABI 2 does not write bytes_copied: all of it. */
		out->bytes_copied = length;
		out->device_faults = rw.device_faults;
		return 0;
	}
	/* ABI 3 says how far a failed copy got; ABI 2 wrote nothing. */
	if (m->features & HMM_MIRROR_FEAT_RW_COPIED) {
		out->bytes_copied = rw.bytes_copied < length ?
				    rw.bytes_copied : length;
		out->device_faults = rw.device_faults;
	}
	return hmm_lib_fail_cmd(ret, m, nr, call, "%s", args);
}

HMM_LIB_EXPORT int hmm_mirror_read(struct hmm_mirror *m, uint64_t addr,
				   void *buf, uint64_t length,
				   uint64_t *device_faults)
{
	struct hmm_mirror_rw_result res;
	int ret;

	ret = rw_cmd(m, HMM_MIRROR_NR_READ, "hmm_mirror_read", addr, buf,
		     length, &res);
	if (!ret && device_faults)
		*device_faults = res.device_faults;
	return ret;
}

HMM_LIB_EXPORT int hmm_mirror_write(struct hmm_mirror *m, uint64_t addr,
				    const void *buf, uint64_t length,
				    uint64_t *device_faults)
{
	struct hmm_mirror_rw_result res;
	int ret;

	ret = rw_cmd(m, HMM_MIRROR_NR_WRITE, "hmm_mirror_write", addr, buf,
		     length, &res);
	if (!ret && device_faults)
		*device_faults = res.device_faults;
	return ret;
}

/* The _ex calls: @res checked, then filled whatever happens. */
static int rw_ex(struct hmm_mirror *m, unsigned int nr, const char *call,
		 uint64_t addr, const void *buf, uint64_t length,
		 struct hmm_mirror_rw_result *res)
{
	struct hmm_mirror_rw_result out;
	int ret;

	if (res && res->size < HMM_MIRROR_RW_RESULT_SIZE_VER1)
		return hmm_lib_fail(EINVAL, call,
				    "res->size is too small: initialise it with hmm_mirror_rw_result_init()",
				    "res->size=%u", res->size);
	ret = rw_cmd(m, nr, call, addr, buf, length, &out);
	if (res)
		hmm_lib_copy_sized(res, res->size, &out, sizeof(out));
	return ret;
}

HMM_LIB_EXPORT int hmm_mirror_read_ex(struct hmm_mirror *m, uint64_t addr,
				      void *buf, uint64_t length,
				      struct hmm_mirror_rw_result *res)
{
	return rw_ex(m, HMM_MIRROR_NR_READ, "hmm_mirror_read_ex", addr, buf,
		     length, res);
}

HMM_LIB_EXPORT int hmm_mirror_write_ex(struct hmm_mirror *m, uint64_t addr,
				       const void *buf, uint64_t length,
				       struct hmm_mirror_rw_result *res)
{
	return rw_ex(m, HMM_MIRROR_NR_WRITE, "hmm_mirror_write_ex", addr, buf,
		     length, res);
}
