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
#include "devmem.h"
#include "mirror.h"

/*
 * Bytes copied per round: the caller's buffer for one round is pinned, so
 * the device copies straight between frames under m->lock, where no user
 * fault may happen (the notifier takes that lock).
 */
#define RW_ROUND_BYTES		(2UL << 20)
#define RW_ROUND_PAGES		(RW_ROUND_BYTES >> PAGE_SHIFT)
/* Device faults in a row that make no progress before giving up. */
#define RW_MAX_STALLS		16
/* QUERY entries reported per locked pass. */
#define QUERY_PASS_PAGES	4096UL

/* One round's worth of the caller's buffer, pinned. */
struct user_window {
	struct page **pages;	/* RW_ROUND_PAGES + 1: the buffer may be unaligned */
	unsigned long nr;
	unsigned long offset;	/* of the buffer's first byte in pages[0] */
};

/*
 * Pin @len bytes at @buf; for a device READ the module writes into them.
 * A window that is not entirely there (or not writable for READ) is EFAULT
 * before anything of this round is copied; earlier rounds have been
 * (abi/README.md, READ / WRITE).
 */
static int pin_window(struct user_window *uw, void __user *buf, size_t len,
		      bool dev_write)
{
	unsigned long addr = (unsigned long)buf;
	long got;

	uw->offset = offset_in_page(addr);
	uw->nr = DIV_ROUND_UP(uw->offset + len, PAGE_SIZE);
	got = pin_user_pages_fast(addr & PAGE_MASK, uw->nr,
				  dev_write ? 0 : FOLL_WRITE, uw->pages);
	if (got == uw->nr)
		return 0;
	if (got > 0)
		unpin_user_pages(uw->pages, got);
	return got < 0 && got != -EFAULT ? got : -EFAULT;
}

/* Copy one device page (mapped at @kaddr) at byte @off of the window. */
static void copy_with_window(struct user_window *uw, unsigned long off,
			     char *kaddr, bool dev_write)
{
	unsigned long done = 0;

	while (done < PAGE_SIZE) {
		unsigned long pos = uw->offset + off + done;
		unsigned long in = offset_in_page(pos);
		unsigned long n = min(PAGE_SIZE - done, PAGE_SIZE - in);
		char *u = kmap_local_page(uw->pages[pos >> PAGE_SHIFT]);

		if (dev_write)
			memcpy(kaddr + done, u + in, n);
		else
			memcpy(u + in, kaddr + done, n);
		kunmap_local(u);
		done += n;
	}
}

/*
 * Copy pages of [va, end) between the device's view and the window (whose
 * first byte belongs to @base) while the device maps them (writable, for
 * @write).  Returns the address of the first page that needs a device
 * fault, or @end.  Needs m->lock, taken with mirror_lock(): it keeps the
 * frames from being freed or reused, because an invalidation must take the
 * lock before the CPU page table lets go of them, and mirror_lock() has
 * applied every invalidation that was only recorded.
 */
static unsigned long copy_mapped_locked(struct mirror *m, unsigned long va,
					unsigned long end, unsigned long base,
					struct user_window *uw, bool write)
{
	lockdep_assert_held(&m->lock);
	if (WARN_ON_ONCE(!list_empty(&m->deferred)))
		return va;
	for (; va < end; va += PAGE_SIZE) {
		struct dpt_entry e;
		struct page *page;
		char *kaddr;

		if (!dpt_lookup(&m->dpt, va, &e))
			break;
		if (write && !(e.flags & DPT_WRITE))
			break;
		/* The device's own memory: its contents are in the backing. */
		page = devmem_pfn(e.pfn) ? devmem_backing(e.pfn) :
					   pfn_to_page(e.pfn);
		kaddr = kmap_local_page(page);
		copy_with_window(uw, va - base, kaddr, write);
		kunmap_local(kaddr);
		/*
		 * Dirty the folio as a CPU store dirties its pte, or reclaim
		 * drops a lazily freed (MADV_FREE) page and writeback skips a
		 * file page with the device's data in it.  Without the folio
		 * lock, which an invalidation may hold while it waits for
		 * m->lock: m->lock keeps the pte, and so the folio's mapping,
		 * in place until the invalidation is through, which locks out
		 * truncation the way the pte lock does for zap_pte_range().
		 * A backing page is the device's alone: nothing to dirty.
		 */
		if (write && !devmem_pfn(e.pfn))
			folio_mark_dirty(page_folio(page));
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

/*
 * One round: [start, next) against the pinned window.  Sets *@done to the
 * end of what was copied: every page below it, none from it on.
 */
static int rw_round(struct mirror *m, unsigned long start, unsigned long next,
		    struct user_window *uw, bool write, u64 *device_faults,
		    unsigned long *done)
{
	unsigned long va = start;
	unsigned int stalls = 0;
	u64 retries = 0;

	for (;;) {
		unsigned long run_end = next;
		int ret;

		mirror_lock(m);
		*done = copy_mapped_locked(m, va, next, start, uw, write);
		if (*done != next)
			run_end = missing_run_end_locked(m, *done, next, write);
		mirror_unlock(m);
		if (*done == next)
			return 0;
		if (*done == va && ++stalls > RW_MAX_STALLS)
			return -EBUSY;
		if (*done != va)
			stalls = 0;
		va = *done;
		/* One device fault per run of missing pages. */
		(*device_faults)++;
		mirror_count(m, MC(device_faults), 1);
		ret = mirror_fault_range(m, va, run_end, write, &retries);
		if (ret)
			return ret;
	}
}

/**
 * mirror_device_rw() - copy data through the device page table (READ, WRITE)
 * @m: the mirror
 * @start: first byte of the device range, page aligned
 * @end: end of the range, page aligned, above @start
 * @buf: the caller's buffer, @end - @start bytes
 * @write: true: WRITE, @buf to the device's pages; false: READ, the other way
 * @device_faults: incremented for each device fault (one per run of pages
 *	the device lacks, or lacks writable for @write)
 * @copied: the bytes copied are added here, also when it fails
 *
 * Copies in address order, in rounds of RW_ROUND_BYTES against the pinned
 * buffer, faulting what the device lacks like a device would.
 *
 * Context: Process context, may sleep.  The caller holds bind_sem for
 * reading; takes m->lock and, for device faults, what mirror_fault_range()
 * takes.
 * Return: 0; -ENOMEM; -EFAULT if a round's buffer is not there (or not
 * writable for READ); -EBUSY if device faults make no progress; or the
 * error of mirror_fault_range().
 */
int mirror_device_rw(struct mirror *m, unsigned long start, unsigned long end,
		     void __user *buf, bool write, u64 *device_faults,
		     u64 *copied)
{
	struct user_window uw;
	int ret = 0;

	uw.pages = kmalloc_array(RW_ROUND_PAGES + 1, sizeof(*uw.pages),
				 GFP_KERNEL);
	if (!uw.pages)
		return -ENOMEM;

	while (start < end) {
		unsigned long next = min(end, start + RW_ROUND_BYTES);
		unsigned long done = start;

		ret = pin_window(&uw, buf, next - start, write);
		if (ret)
			break;
		ret = rw_round(m, start, next, &uw, write, device_faults,
			       &done);
		/* The module wrote into the caller's pages on a READ. */
		unpin_user_pages_dirty_lock(uw.pages, uw.nr, !write);
		*copied += done - start;
		if (ret)
			break;
		buf += next - start;
		start = next;
	}
	kfree(uw.pages);
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
	if (devmem_pfn(e->pfn))
		state |= HMM_MIRROR_PAGE_DEVICE;
	if (e->flags & DPT_ATOMIC)
		state |= HMM_MIRROR_PAGE_EXCLUSIVE;
	return state;
}

/**
 * mirror_query() - what the device page table maps (QUERY)
 * @m: the mirror
 * @start: first byte of the range, page aligned
 * @end: end of the range, page aligned, above @start
 * @states: one HMM_MIRROR_PAGE_* state per page of the range (0: unmapped)
 *
 * Context: Process context, may sleep.  The caller holds bind_sem for
 * reading; takes m->lock for each QUERY_PASS_PAGES entries and copies them
 * out without it.
 * Return: 0, -ENOMEM, or -EFAULT if @states cannot be written (the entries
 * before the failed pass are written).
 */
int mirror_query(struct mirror *m, unsigned long start, unsigned long end,
		 u32 __user *states)
{
	u32 *out;
	int ret = 0;

	out = kvmalloc_array(QUERY_PASS_PAGES, sizeof(*out), GFP_KERNEL);
	if (!out)
		return -ENOMEM;

	while (start < end) {
		unsigned long n = min((end - start) >> PAGE_SHIFT,
				      QUERY_PASS_PAGES);
		unsigned long i;
		struct dpt_entry e;

		mirror_lock(m);
		for (i = 0; i < n; i++)
			out[i] = dpt_lookup(&m->dpt, start + (i << PAGE_SHIFT),
					    &e) ? query_state(&e) : 0;
		mirror_unlock(m);

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

/**
 * mirror_count_mapped() - the 4K pages of a range the device maps
 * @m: the mirror
 * @start: first byte of the range, page aligned
 * @end: end of the range, page aligned
 *
 * Context: Process context, may sleep.  Takes m->lock.
 * Return: how many 4K pages of [@start, @end) the device page table maps;
 * a huge entry counts only its pages inside the range.
 */
u64 mirror_count_mapped(struct mirror *m, unsigned long start,
			unsigned long end)
{
	u64 count;

	mirror_lock(m);
	count = dpt_count(&m->dpt, start, end);
	mirror_unlock(m);
	return count;
}
