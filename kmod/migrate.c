// SPDX-License-Identifier: GPL-2.0
/*
 * migrate.c - MIGRATE: move a range of the mirrored process into the
 * device's memory or back, a batch at a time, with one result per page.
 * DOC: Device memory in devmem.h.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "../abi/hmm_mirror.h"
#include "compat_devmem.h"
#include "devmem.h"
#include "walk.h"

#ifdef HMM_DEVMEM

/* Pages moved per mmap_lock hold: a leaf table of the device page table. */
#define MIGRATE_BATCH_PAGES	512UL
#define MIGRATE_BATCH_BYTES	(MIGRATE_BATCH_PAGES << PAGE_SHIFT)
/* A result not known yet: the page was not selected (see map_moved()). */
#define MIGRATE_PENDING		0

/*
 * One batch: migrate_vma's arrays and the results, by page of the batch;
 * @first keeps the first pass's results while an eviction makes room for
 * a second (evict_and_retry()).
 */
struct migrate_batch {
	unsigned long src[MIGRATE_BATCH_PAGES];
	unsigned long dst[MIGRATE_BATCH_PAGES];
	u32 results[MIGRATE_BATCH_PAGES];
	u32 first[MIGRATE_BATCH_PAGES];
	unsigned long base;		/* address of entry 0 */
	u64 moved, no_memory;
};

static void fill_results(u32 *res, unsigned long n, u32 result)
{
	while (n--)
		*res++ = result;
}

/*
 * Destinations for a move to the device: a device page per selected page,
 * holding a copy of it (zeros for a page never populated).
 */
static void alloc_device_pages(struct mirror *m, struct migrate_vma *args,
			       u32 *res, struct migrate_batch *b)
{
	unsigned long i, n = (args->end - args->start) >> PAGE_SHIFT;

	for (i = 0; i < n; i++) {
		struct page *spage = migrate_pfn_to_page(args->src[i]);
		struct page *dpage;

		args->dst[i] = 0;
		if (!(args->src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		dpage = devmem_alloc_page(m->devmem_acct);
		if (!dpage) {
			res[i] = HMM_MIRROR_MIGRATE_NO_MEMORY;
			b->no_memory++;
			continue;
		}
		if (spage)
			copy_highpage(devmem_backing(page_to_pfn(dpage)), spage);
		else
			clear_highpage(devmem_backing(page_to_pfn(dpage)));
		args->dst[i] = migrate_pfn(page_to_pfn(dpage));
		if ((args->src[i] & MIGRATE_PFN_WRITE) ||
		    (!spage && (args->vma->vm_flags & VM_WRITE)))
			args->dst[i] |= MIGRATE_PFN_WRITE;
	}
}

/*
 * Move [start, end) of @vma (inside one batch) with migrate_vma.  Needs
 * the mmap_lock.
 */
static void migrate_piece(struct mirror *m, struct vm_area_struct *vma,
			  unsigned long start, unsigned long end,
			  bool to_system, struct migrate_batch *b)
{
	unsigned long off = (start - b->base) >> PAGE_SHIFT;
	unsigned long i, n = (end - start) >> PAGE_SHIFT;
	u32 *res = b->results + off;
	struct migrate_vma args = {
		.vma = vma,
		.start = start,
		.end = end,
		.src = b->src + off,
		.dst = b->dst + off,
		.pgmap_owner = to_system ? devmem_owner() :
					   devmem_to_device_owner(),
		.flags = to_system ? MIGRATE_VMA_SELECT_DEVICE_PRIVATE :
				     MIGRATE_VMA_SELECT_SYSTEM,
	};

	/* hugetlb, VM_SPECIAL and DAX mappings: nothing there can move. */
	if (migrate_vma_setup(&args)) {
		fill_results(res, n, HMM_MIRROR_MIGRATE_NOT_MOVABLE);
		return;
	}
	if (to_system) {
		unsigned long no_memory = 0;

		devmem_copy_to_system(&args, &no_memory);
		b->no_memory += no_memory;
		for (i = 0; i < n; i++)
			if ((args.src[i] & MIGRATE_PFN_MIGRATE) && !args.dst[i])
				res[i] = HMM_MIRROR_MIGRATE_NO_MEMORY;
	} else {
		alloc_device_pages(m, &args, res, b);
	}
	migrate_vma_pages(&args);
	for (i = 0; i < n; i++) {
		struct page *page = migrate_pfn_to_page(args.src[i]);

		if (res[i])
			continue;
		if ((args.src[i] & MIGRATE_PFN_MIGRATE) && args.dst[i]) {
			res[i] = HMM_MIRROR_MIGRATE_MOVED;
			b->moved++;
		} else if (to_system) {
			/* Only a page of this device is selected. */
			res[i] = page && devmem_pfn(page_to_pfn(page)) ?
				 HMM_MIRROR_MIGRATE_NOT_MOVABLE :
				 HMM_MIRROR_MIGRATE_ALREADY;
		} else if (page || (args.src[i] & MIGRATE_PFN_MIGRATE)) {
			/* Pinned, busy, a file page: it stays. */
			res[i] = HMM_MIRROR_MIGRATE_NOT_MOVABLE;
		}
	}
	migrate_vma_finalize(&args);
}

/* Move the batch [b->base, end), VMA by VMA. */
static int migrate_batch(struct mirror *m, unsigned long end, bool to_system,
			 struct migrate_batch *b)
{
	struct mm_struct *mm = m->mm;
	unsigned long va = b->base;
	int ret;

	memset(b->results, 0, sizeof(b->results));
	ret = mmap_read_lock_killable(mm);
	if (ret)
		return ret;
	while (va < end) {
		struct vm_area_struct *vma = find_vma(mm, va);
		unsigned long next;

		if (!vma || vma->vm_start >= end) {
			next = end;
		} else if (vma->vm_start > va) {
			next = vma->vm_start;
		} else if (!to_system && !vma_is_accessible(vma)) {
			/*
			 * PROT_NONE: migrate_vma would take its unpopulated
			 * pages, into memory nothing could read them from.
			 */
			next = min(end, vma->vm_end);
		} else {
			next = min(end, vma->vm_end);
			migrate_piece(m, vma, va, next, to_system, b);
			va = next;
			continue;
		}
		/* No VMA, or no access: nothing to move. */
		fill_results(b->results + ((va - b->base) >> PAGE_SHIFT),
			     (next - va) >> PAGE_SHIFT,
			     HMM_MIRROR_MIGRATE_NOT_MOVABLE);
		va = next;
	}
	mmap_read_unlock(mm);
	return 0;
}

/*
 * After a move to the device: map every page of the walked piece that is
 * in this device's memory (moved now or before) in the device page
 * table, and tell the pages not selected that are there already from
 * those that cannot move.  Needs m->lock; the pfns are valid.
 */
static int map_moved(struct walk *w, void *arg)
{
	struct migrate_batch *b = arg;
	struct mirror *m = w->m;
	u64 before = m->dpt.nr_pages;
	unsigned long start = w->range.start;
	unsigned long i, n = (w->range.end - start) >> PAGE_SHIFT;

	lockdep_assert_held(&m->lock);
	for (i = 0; i < n; i++) {
		unsigned long hpfn = w->pfns[i];
		unsigned long pfn = hmm_pfn_frame(hpfn);
		unsigned long va = start + (i << PAGE_SHIFT);
		u32 *res = &b->results[(va - b->base) >> PAGE_SHIFT];

		if (!(hpfn & HMM_PFN_VALID) || !devmem_pfn(pfn))
			continue;
		if (*res == MIGRATE_PENDING)
			*res = HMM_MIRROR_MIGRATE_ALREADY;
		/* Without a table the device faults the page in later. */
		if (dpt_map(&m->dpt, va, pfn, DPT_ORDER_4K,
			    hpfn & HMM_PFN_WRITE ? DPT_WRITE : 0))
			break;
	}
	w->chunk->pages += m->dpt.nr_pages - before;
	return 0;
}

static int map_moved_hole(struct walk *w, unsigned long start,
			  unsigned long end, void *arg)
{
	return 0;
}

static const struct walk_ops map_moved_ops = {
	.locked = map_moved,
	.hole = map_moved_hole,
};

/*
 * HMM_MIRROR_MIGRATE_EVICT: the batch [b->base, end) left b->no_memory
 * pages for want of device pages.  Evict as many of the pool's oldest
 * pages, outside the mmap_lock, and move the batch again.  A page takes
 * the second pass's result if that moved it, or if the first pass found
 * no room for it or did not select it; else it keeps the first's.  The
 * counts are the merged results'.
 */
static int evict_and_retry(struct mirror *m, unsigned long end,
			   struct migrate_batch *b)
{
	unsigned long i, n = (end - b->base) >> PAGE_SHIFT;
	int ret;

	if (!devmem_evict(b->no_memory))
		return 0;
	memcpy(b->first, b->results, n * sizeof(*b->first));
	ret = migrate_batch(m, end, false, b);
	if (ret)
		return ret;
	b->moved = 0;
	b->no_memory = 0;
	for (i = 0; i < n; i++) {
		if (b->results[i] != HMM_MIRROR_MIGRATE_MOVED &&
		    b->first[i] != HMM_MIRROR_MIGRATE_NO_MEMORY &&
		    b->first[i] != MIGRATE_PENDING)
			b->results[i] = b->first[i];
		if (b->results[i] == HMM_MIRROR_MIGRATE_MOVED)
			b->moved++;
		else if (b->results[i] == HMM_MIRROR_MIGRATE_NO_MEMORY)
			b->no_memory++;
	}
	return 0;
}

/**
 * mirror_migrate() - MIGRATE: move a range into device memory or back
 * @m: the mirror
 * @start: first byte of the range (page aligned, checked by the caller)
 * @end: end of the range, exclusive
 * @flags: HMM_MIRROR_MIGRATE_TO_SYSTEM to move back to system memory
 *	instead of to the device; HMM_MIRROR_MIGRATE_EVICT (not with it) to
 *	make room by eviction (checked by the caller)
 * @results: NULL, or one HMM_MIRROR_MIGRATE_* per page (access_ok()
 *	checked by the caller)
 * @moved: incremented per page moved
 * @not_moved: incremented per page that could not move
 *
 * Moves a batch at a time under the mmap_lock; a page that cannot move is
 * reported, not failed (DOC: Device memory in devmem.h).  With EVICT, a
 * batch that found the pool full evicts, after dropping the mmap_lock,
 * and moves again.  After a move to the device, the moved pages are
 * mapped in the device page table.  Also used by device faults, to bring
 * back a page the CPU maps read-only.
 *
 * Context: Process context, may sleep.  Holds m->bind_sem; takes the
 * mmap_lock and, through the notifiers and the walk, m->lock; an
 * eviction takes other mirrors' locks (devmem_evict()).
 *
 * Return: 0, -EOPNOTSUPP without device memory, -ENOMEM, -ESRCH (the
 * address space exited), -EFAULT (@results), -EINTR (fatal signal).
 */
int mirror_migrate(struct mirror *m, unsigned long start, unsigned long end,
		   u32 flags, u32 __user *results, u64 *moved,
		   u64 *not_moved)
{
	bool to_system = flags & HMM_MIRROR_MIGRATE_TO_SYSTEM;
	bool evict = !to_system && (flags & HMM_MIRROR_MIGRATE_EVICT);
	struct migrate_batch *b;
	struct walk *w = NULL;
	int ret = 0;

	lockdep_assert_held(&m->bind_sem);
	if (!devmem_enabled())
		return -EOPNOTSUPP;
	b = kvmalloc(sizeof(*b), GFP_KERNEL);
	if (!to_system)
		w = walk_alloc(m);
	if (!b || (!to_system && !w)) {
		ret = -ENOMEM;
		goto out;
	}
	if (!mmget_not_zero(m->mm)) {
		ret = -ESRCH;
		goto out;
	}
	while (start < end) {
		unsigned long next = min(end, ALIGN_DOWN(start,
							 MIGRATE_BATCH_BYTES) +
					      MIGRATE_BATCH_BYTES);
		unsigned long i, n = (next - start) >> PAGE_SHIFT;

		b->base = start;
		b->moved = 0;
		b->no_memory = 0;
		ret = migrate_batch(m, next, to_system, b);
		if (!ret && evict && b->no_memory)
			ret = evict_and_retry(m, next, b);
		if (ret)
			break;
		/* Mapping is an optimisation: a failed walk leaves faults. */
		if (!to_system)
			walk_range(w, start, next, 0, true, &map_moved_ops, b);
		for (i = 0; i < n; i++)
			if (b->results[i] == MIGRATE_PENDING)
				b->results[i] = HMM_MIRROR_MIGRATE_NOT_MOVABLE;
		*moved += b->moved;
		for (i = 0; i < n; i++)
			if (b->results[i] == HMM_MIRROR_MIGRATE_NOT_MOVABLE ||
			    b->results[i] == HMM_MIRROR_MIGRATE_NO_MEMORY)
				(*not_moved)++;
		mirror_count(m, to_system ? MC(pages_to_system) :
					    MC(pages_to_device), b->moved);
		mirror_count(m, MC(pages_no_memory), b->no_memory);
		if (results) {
			if (copy_to_user(results, b->results,
					 n * sizeof(*results))) {
				ret = -EFAULT;
				break;
			}
			results += n;
		}
		start = next;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
	}
	mmput(m->mm);
out:
	kfree(w);
	kvfree(b);
	return ret;
}

#else /* !HMM_DEVMEM */

int mirror_migrate(struct mirror *m, unsigned long start, unsigned long end,
		   u32 flags, u32 __user *results, u64 *moved,
		   u64 *not_moved)
{
	return -EOPNOTSUPP;
}
#endif /* HMM_DEVMEM */
