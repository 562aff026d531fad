// SPDX-License-Identifier: GPL-2.0
/*
 * fault.c - hmm_range_fault() under the interval-notifier retry protocol:
 * device faults (recorded in the device page table) and snapshots
 * (reported to user space, recorded nowhere).
 */
#include <linux/hmm.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "../abi/hmm_mirror.h"
#include "mirror.h"

/* One walk covers at most this much, aligned to it, so a 2M page is whole. */
#define WALK_CHUNK_PAGES	1024UL
#define WALK_CHUNK_BYTES	(WALK_CHUNK_PAGES << PAGE_SHIFT)
/* Restarts of one chunk before giving up with -EBUSY. */
#define WALK_MAX_RETRIES	64

struct walk {
	struct mirror *m;
	struct hmm_range range;
	unsigned long pfns[WALK_CHUNK_PAGES];
	u64 retries;
};

static unsigned long chunk_end(unsigned long start, unsigned long end)
{
	unsigned long next = ALIGN_DOWN(start, WALK_CHUNK_BYTES) +
			     WALK_CHUNK_BYTES;

	return min(end, next);
}

/*
 * Walk [start, end) (one chunk) with hmm_range_fault() and return with
 * m->lock held and the result still valid (no invalidation since the walk
 * began).  With @vma_holes, pages with no VMA at all are reported as 0
 * instead of HMM_PFN_ERROR, decided under the same mmap_lock as the walk.
 */
static int walk_chunk_locked(struct walk *w, unsigned long start,
			     unsigned long end, unsigned long req_flags,
			     bool vma_holes)
{
	struct mirror *m = w->m;
	struct mm_struct *mm = m->mm;
	unsigned long timeout = jiffies +
				msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	unsigned int tries = 0;
	int ret;

	w->range = (struct hmm_range) {
		.notifier = &m->notifier,
		.start = start,
		.end = end,
		.hmm_pfns = w->pfns,
		.default_flags = req_flags,
		.dev_private_owner = m,
	};

	if (!mmget_not_zero(mm))
		return -ESRCH;

	for (;;) {
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		w->range.notifier_seq = mmu_interval_read_begin(&m->notifier);
		ret = mmap_read_lock_killable(mm);
		if (ret)
			break;
		ret = hmm_range_fault(&w->range);
		if (!ret && vma_holes) {
			unsigned long i, n = (end - start) >> PAGE_SHIFT;

			for (i = 0; i < n; i++)
				if ((w->pfns[i] & HMM_PFN_ERROR) &&
				    !vma_lookup(mm, start + (i << PAGE_SHIFT)))
					w->pfns[i] = 0;
		}
		mmap_read_unlock(mm);

		if (!ret) {
			mutex_lock(&m->lock);
			if (!mmu_interval_read_retry(&m->notifier,
						     w->range.notifier_seq))
				break;	/* success: return locked */
			mutex_unlock(&m->lock);
			ret = -EBUSY;
		}
		if (ret != -EBUSY)
			break;
		w->retries++;
		if (++tries > WALK_MAX_RETRIES || time_after(jiffies, timeout))
			break;
	}
	mmput(mm);
	return ret;
}

/* Record one walked chunk in the device page table.  Needs m->lock. */
static int record_chunk(struct mirror *m, struct walk *w)
{
	unsigned long start = w->range.start;
	unsigned long n = (w->range.end - start) >> PAGE_SHIFT;
	unsigned long i = 0;

	lockdep_assert_held(&m->lock);
	while (i < n) {
		unsigned long hpfn = w->pfns[i];
		unsigned long va = start + (i << PAGE_SHIFT);
		unsigned long pfn = page_to_pfn(hmm_pfn_to_page(hpfn));
		unsigned int order = hmm_pfn_to_map_order(hpfn);
		unsigned int flags = 0;
		unsigned long base, step;
		int ret;

		if (is_zero_pfn(pfn))
			flags |= DPT_ZERO;
		else if (hpfn & HMM_PFN_WRITE)
			flags |= DPT_WRITE;

		if (order != DPT_ORDER_2M && order != DPT_ORDER_1G)
			order = DPT_ORDER_4K;
		/* Frames of a huge mapping are aligned; be safe if not. */
		if ((pfn - ((va >> PAGE_SHIFT) & ((1UL << order) - 1))) &
		    ((1UL << order) - 1))
			order = DPT_ORDER_4K;
		/*
		 * A huge CPU mapping becomes one device entry even where the
		 * chunk covers only part of it: the notifier watches the whole
		 * address space, so any change to the rest clears it too.
		 */
		base = ALIGN_DOWN(va, PAGE_SIZE << order);
		ret = dpt_map(&m->dpt, base,
			      pfn - ((va - base) >> PAGE_SHIFT), order, flags);
		if (ret)
			return ret;
		step = (base + (PAGE_SIZE << order) - va) >> PAGE_SHIFT;
		i += step;
	}
	return 0;
}

int mirror_fault_range(struct mirror *m, unsigned long start,
		       unsigned long end, bool write, u64 *retries)
{
	unsigned long req = HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0);
	void *extra[MIRROR_SPARES_MAX];
	struct walk *w;
	int ret = 0;

	w = kmalloc(sizeof(*w), GFP_KERNEL);
	if (!w)
		return -ENOMEM;
	w->m = m;
	w->retries = 0;

	while (start < end) {
		unsigned long next = chunk_end(start, end);
		unsigned int nr_extra = 0;

		mirror_refill_spares(m, extra, &nr_extra);
		ret = walk_chunk_locked(w, start, next, req, false);
		if (!ret) {
			mirror_refill_spares(m, extra, &nr_extra);
			ret = record_chunk(m, w);
			mutex_unlock(&m->lock);
		}
		mirror_free_extra(extra, nr_extra);
		if (ret)
			break;
		start = next;
	}
	*retries += w->retries;
	kfree(w);
	return ret;
}

static u32 snapshot_state(unsigned long hpfn)
{
	unsigned long pfn;
	u32 state;

	if (hpfn & HMM_PFN_ERROR)
		return HMM_MIRROR_PAGE_ERROR;
	if (!(hpfn & HMM_PFN_VALID))
		return 0;

	/*
	 * Only the 4K zero page is recognised: the huge zero page is not
	 * exported to modules, so it reads as a read-only 2M page.
	 */
	pfn = page_to_pfn(hmm_pfn_to_page(hpfn));
	state = HMM_MIRROR_PAGE_VALID |
		(hmm_pfn_to_map_order(hpfn) << HMM_MIRROR_PAGE_ORDER_SHIFT);
	if (is_zero_pfn(pfn))
		state |= HMM_MIRROR_PAGE_ZERO;
	else if (hpfn & HMM_PFN_WRITE)
		state |= HMM_MIRROR_PAGE_WRITE;
	return state;
}

int mirror_snapshot(struct mirror *m, unsigned long start, unsigned long end,
		    u32 __user *states)
{
	struct walk *w;
	u32 *out;
	int ret = 0;

	w = kmalloc(sizeof(*w), GFP_KERNEL);
	out = kmalloc_array(WALK_CHUNK_PAGES, sizeof(*out), GFP_KERNEL);
	if (!w || !out) {
		ret = -ENOMEM;
		goto out;
	}
	w->m = m;
	w->retries = 0;

	while (start < end) {
		unsigned long next = chunk_end(start, end);
		unsigned long i, n = (next - start) >> PAGE_SHIFT;

		ret = walk_chunk_locked(w, start, next, 0, true);
		if (ret)
			break;
		/* Convert under the lock: the pfns are only valid there. */
		for (i = 0; i < n; i++)
			out[i] = snapshot_state(w->pfns[i]);
		mutex_unlock(&m->lock);

		if (copy_to_user(states, out, n * sizeof(*out))) {
			ret = -EFAULT;
			break;
		}
		states += n;
		start = next;
	}
out:
	kfree(out);
	kfree(w);
	return ret;
}
