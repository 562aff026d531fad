// SPDX-License-Identifier: GPL-2.0
/*
 * device_ops.c - what the software device does with its page table: copy
 * data through it (faulting missing pages like a device would) and report
 * what it maps.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "../abi/hmm_mirror.h"
#include "mirror.h"

/* Bytes copied per bounce buffer round; the user copy happens unlocked. */
#define RW_CHUNK_BYTES		(2UL << 20)
/* Device faults in a row that make no progress before giving up. */
#define RW_MAX_STALLS		16
/* QUERY entries reported per locked pass. */
#define QUERY_CHUNK_PAGES	4096UL

/*
 * Copy pages of [va, end) between the device's view and @bounce while the
 * device maps them (writable, for @write).  Returns the address of the
 * first page that needs a device fault, or @end.  Needs m->lock: it keeps
 * the frames from being freed or reused, because an invalidation must take
 * the lock before the CPU page table lets go of them.
 */
static unsigned long copy_mapped_locked(struct mirror *m, unsigned long va,
					unsigned long end, char *bounce,
					bool write)
{
	lockdep_assert_held(&m->lock);
	for (; va < end; va += PAGE_SIZE, bounce += PAGE_SIZE) {
		struct dpt_entry e;
		char *kaddr;

		if (!dpt_lookup(&m->dpt, va, &e))
			break;
		if (write && !(e.flags & DPT_WRITE))
			break;
		kaddr = kmap_local_page(pfn_to_page(e.pfn));
		if (write)
			memcpy(kaddr, bounce, PAGE_SIZE);
		else
			memcpy(bounce, kaddr, PAGE_SIZE);
		kunmap_local(kaddr);
	}
	return va;
}

/* End of the run of pages from @va on that the device lacks (for @write). */
static unsigned long missing_run_end_locked(struct mirror *m, unsigned long va,
					    unsigned long end, bool write)
{
	struct dpt_entry e;

	lockdep_assert_held(&m->lock);
	for (; va < end; va += PAGE_SIZE)
		if (dpt_lookup(&m->dpt, va, &e) &&
		    (!write || (e.flags & DPT_WRITE)))
			break;
	return va;
}

int mirror_device_rw(struct mirror *m, unsigned long start, unsigned long end,
		     void __user *buf, bool write, u64 *device_faults)
{
	char *bounce;
	int ret = 0;

	bounce = kvmalloc(min(end - start, RW_CHUNK_BYTES), GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;

	while (start < end) {
		unsigned long next = min(end, start + RW_CHUNK_BYTES);
		unsigned long n = next - start, va = start;
		unsigned int stalls = 0;
		u64 retries = 0;

		if (write && copy_from_user(bounce, buf, n)) {
			ret = -EFAULT;
			break;
		}
		for (;;) {
			unsigned long done, run_end = next;

			mutex_lock(&m->lock);
			done = copy_mapped_locked(m, va, next,
						  bounce + (va - start), write);
			if (done != next)
				run_end = missing_run_end_locked(m, done, next,
								 write);
			mutex_unlock(&m->lock);
			if (done == next)
				break;
			if (done == va && ++stalls > RW_MAX_STALLS) {
				ret = -EBUSY;
				break;
			}
			if (done != va)
				stalls = 0;
			va = done;
			/* One device fault per run of missing pages. */
			(*device_faults)++;
			mirror_count(m, MC_DEVICE_FAULTS, 1);
			ret = mirror_fault_range(m, va, run_end, write, &retries);
			if (ret)
				break;
		}
		if (ret)
			break;
		if (!write && copy_to_user(buf, bounce, n)) {
			ret = -EFAULT;
			break;
		}
		buf += n;
		start = next;
	}
	kvfree(bounce);
	return ret;
}

static u32 query_state(const struct dpt_entry *e)
{
	u32 state = HMM_MIRROR_PAGE_VALID |
		    (e->order << HMM_MIRROR_PAGE_ORDER_SHIFT);

	if (e->flags & DPT_WRITE)
		state |= HMM_MIRROR_PAGE_WRITE;
	if (e->flags & DPT_ZERO)
		state |= HMM_MIRROR_PAGE_ZERO;
	return state;
}

int mirror_query(struct mirror *m, unsigned long start, unsigned long end,
		 u32 __user *states)
{
	u32 *out;
	int ret = 0;

	out = kvmalloc_array(QUERY_CHUNK_PAGES, sizeof(*out), GFP_KERNEL);
	if (!out)
		return -ENOMEM;

	while (start < end) {
		unsigned long n = min((end - start) >> PAGE_SHIFT,
				      QUERY_CHUNK_PAGES);
		unsigned long i;
		struct dpt_entry e;

		mutex_lock(&m->lock);
		for (i = 0; i < n; i++)
			out[i] = dpt_lookup(&m->dpt, start + (i << PAGE_SHIFT),
					    &e) ? query_state(&e) : 0;
		mutex_unlock(&m->lock);

		if (copy_to_user(states, out, n * sizeof(*out))) {
			ret = -EFAULT;
			break;
		}
		states += n;
		start += n << PAGE_SHIFT;
	}
	kvfree(out);
	return ret;
}

u64 mirror_count_mapped(struct mirror *m, unsigned long start,
			unsigned long end)
{
	struct dpt_entry e;
	u64 count = 0;

	mutex_lock(&m->lock);
	for (; start < end; start += PAGE_SIZE)
		count += dpt_lookup(&m->dpt, start, &e);
	mutex_unlock(&m->lock);
	return count;
}
