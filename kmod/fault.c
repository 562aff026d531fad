// SPDX-License-Identifier: GPL-2.0
/*
 * fault.c - device faults: hmm_range_fault() with fault flags, each walked
 * piece recorded in the device page table.
 */
#include <linux/mm.h>
#include <linux/slab.h>

#include "devmem.h"
#include "walk.h"

/*
 * 4K pages gathered for one dpt_map_pages() call: a leaf table's worth, so
 * an aligned piece is two calls, each filling one table.
 */
#define FAULT_BATCH_PAGES	512

/* The 4K pages of a piece gathered for the device page table. */
struct fault_batch {
	unsigned long va;	/* of words[0] */
	unsigned int nr;
	bool write;		/* a write fault */
	/*
	 * A write fault found pages in this device's memory that the CPU
	 * maps read-only (COW after fork, mprotect): [ro_start, ro_end).
	 */
	unsigned long ro_start, ro_end;
	u64 words[FAULT_BATCH_PAGES];	/* dpt_page() of each */
};

/* Map what @b gathered; the batch is empty afterwards.  Needs m->lock. */
static int batch_flush(struct mirror *m, struct fault_batch *b)
{
	int ret = 0;

	lockdep_assert_held(&m->lock);
	if (b->nr)
		ret = dpt_map_pages(&m->dpt, b->va, b->words, b->nr);
	b->nr = 0;
	return ret;
}

/*
 * Record one walked piece in the device page table: runs of 4K pages in
 * batches, huge mappings one entry each.  Needs m->lock.
 */
static int record_piece(struct walk *w, void *arg)
{
	struct fault_batch *b = arg;
	struct mirror *m = w->m;
	u64 before = m->dpt.nr_pages;
	unsigned long start = w->range.start;
	unsigned long n = (w->range.end - start) >> PAGE_SHIFT;
	unsigned long i = 0, done = 0;
	int ret = 0;

	lockdep_assert_held(&m->lock);
	b->nr = 0;
	while (i < n) {
		unsigned long hpfn = w->pfns[i];
		unsigned long va = start + (i << PAGE_SHIFT);
		unsigned long pfn = hmm_pfn_frame(hpfn);
		unsigned int order = hmm_pfn_to_map_order(hpfn);
		unsigned int flags = 0;
		unsigned long base;

		if (is_zero_pfn(pfn))
			flags |= DPT_ZERO;
		else if (hpfn & HMM_PFN_WRITE)
			flags |= DPT_WRITE;
		/*
		 * hmm_range_fault() reports this device's own pages as they
		 * are, without a write fault (mirror_fault_range()).
		 */
		if (b->write && !(hpfn & HMM_PFN_WRITE) && devmem_pfn(pfn)) {
			b->ro_start = min(b->ro_start, va);
			b->ro_end = max(b->ro_end, va + PAGE_SIZE);
		}

		if (order != DPT_ORDER_2M && order != DPT_ORDER_1G)
			order = DPT_ORDER_4K;
		/* Frames of a huge mapping are aligned; be safe if not. */
		if ((pfn - ((va >> PAGE_SHIFT) & ((1UL << order) - 1))) &
		    ((1UL << order) - 1))
			order = DPT_ORDER_4K;

		if (order == DPT_ORDER_4K) {
			if (!b->nr)
				b->va = va;
			b->words[b->nr++] = dpt_page(pfn, flags);
			i++;
			if (b->nr < FAULT_BATCH_PAGES)
				continue;
			ret = batch_flush(m, b);
			if (ret)
				break;
			done = i;
			continue;
		}

		ret = batch_flush(m, b);
		if (ret)
			break;
		done = i;
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
		i = min(n, (base + (PAGE_SIZE << order) - start) >> PAGE_SHIFT);
		done = i;
	}
	if (!ret) {
		ret = batch_flush(m, b);
		if (!ret)
			done = n;
	}
	/* Entries never cross a chunk, so the change is all this chunk's. */
	w->chunk->pages += m->dpt.nr_pages - before;
	mirror_count(m, MC(pages_faulted), done);
	return ret;
}

static const struct walk_ops fault_ops = { .locked = record_piece };

/**
 * mirror_fault_range() - fault a range into the device page table (FAULT)
 * @m: the mirror
 * @start: first byte of the range, page aligned
 * @end: end of the range, page aligned, above @start
 * @write: fault the pages writable (HMM_PFN_REQ_WRITE)
 * @retries: the walk's restarts are added here
 *
 * Faults the pages in on the CPU side as a device would (hmm_range_fault()
 * with HMM_PFN_REQ_FAULT) and maps each walked piece in the device page
 * table.  The pieces before a failure stay mapped.
 *
 * Context: Process context, may sleep.  The caller holds bind_sem for
 * reading; takes chunks_lock, mmap_lock and m->lock (walk_range()).
 * Return: 0; -ENOMEM; -ESRCH if the address space exited; -EFAULT for a
 * page that cannot be faulted (no VMA, or no access for @write); -EINTR on
 * a fatal signal; -EBUSY if invalidations keep restarting the walk of a
 * piece; or another error of hmm_range_fault(), of registering a notifier
 * or of the device page table.
 */
int mirror_fault_range(struct mirror *m, unsigned long start,
		       unsigned long end, bool write, u64 *retries)
{
	unsigned long req = HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0);
	struct fault_batch *b;
	struct walk *w;
	int ret;

	b = kmalloc(sizeof(*b), GFP_KERNEL);
	w = walk_alloc(m);
	if (!w || !b) {
		kfree(b);
		kfree(w);
		return -ENOMEM;
	}
	mirror_count(m, MC(fault_calls), 1);
	b->write = write;
	b->ro_start = ULONG_MAX;
	b->ro_end = 0;
	ret = walk_range(w, start, end, req, false, &fault_ops, b);
	/*
	 * A write to a page in device memory that the CPU maps read-only:
	 * the device does what the CPU would, which is to fault.  The page
	 * goes back to system memory first (hmm_range_fault() does not fault
	 * this device's pages), then the write fault breaks COW, or fails
	 * for memory without write permission.
	 */
	if (!ret && b->ro_end) {
		u64 moved = 0, not_moved = 0;

		ret = mirror_migrate(m, b->ro_start, b->ro_end,
				     HMM_MIRROR_MIGRATE_TO_SYSTEM, NULL,
				     &moved, &not_moved);
		if (!ret)
			ret = walk_range(w, start, end, req, false, &fault_ops,
					 b);
	}
	*retries += w->retries;
	kfree(b);
	kfree(w);
	return ret;
}
