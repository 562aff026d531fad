// SPDX-License-Identifier: GPL-2.0
/*
 * fault.c - device faults: hmm_range_fault() with fault flags, each walked
 * piece recorded in the device page table.
 */
#include <linux/mm.h>
#include <linux/slab.h>

#include "walk.h"

/* Record one walked piece in the device page table.  Needs m->lock. */
static int record_piece(struct walk *w, void *unused)
{
	struct mirror *m = w->m;
	u64 before = m->dpt.nr_pages;
	unsigned long start = w->range.start;
	unsigned long n = (w->range.end - start) >> PAGE_SHIFT;
	unsigned long i = 0;
	int ret = 0;

	lockdep_assert_held(&m->lock);
	while (i < n) {
		unsigned long hpfn = w->pfns[i];
		unsigned long va = start + (i << PAGE_SHIFT);
		unsigned long pfn = hmm_pfn_frame(hpfn);
		unsigned int order = hmm_pfn_to_map_order(hpfn);
		unsigned int flags = 0;
		unsigned long base, step;

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
		 * walk covers only part of it: entries are aligned and never
		 * larger than a chunk, so the chunk's notifier sees any change
		 * to the rest and clears it too.
		 */
		base = ALIGN_DOWN(va, PAGE_SIZE << order);
		ret = dpt_map(&m->dpt, base,
			      pfn - ((va - base) >> PAGE_SHIFT), order, flags);
		if (ret)
			break;
		step = (base + (PAGE_SIZE << order) - va) >> PAGE_SHIFT;
		i += step;
	}
	/* Entries never cross a chunk, so the change is all this chunk's. */
	w->chunk->pages += m->dpt.nr_pages - before;
	mirror_count(m, MC_PAGES_FAULTED, i < n ? i : n);
	return ret;
}

static const struct walk_ops fault_ops = { .locked = record_piece };

int mirror_fault_range(struct mirror *m, unsigned long start,
		       unsigned long end, bool write, u64 *retries)
{
	unsigned long req = HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0);
	struct walk *w;
	int ret;

	w = walk_alloc(m);
	if (!w)
		return -ENOMEM;
	mirror_count(m, MC_FAULT_CALLS, 1);
	ret = walk_range(w, start, end, req, false, &fault_ops, NULL);
	*retries += w->retries;
	kfree(w);
	return ret;
}
