// SPDX-License-Identifier: GPL-2.0
/*
 * exclusive.c - exclusive device access: EXCLUSIVE makes pages of the
 * mirrored process exclusive to the device, ATOMIC does a device atomic
 * operation through such a page.
 *
 * DOC: Exclusive access
 *
 * A device that does atomic operations on system memory must keep the CPU
 * off the page meanwhile.  The kernel does that with a device-exclusive
 * entry: compat_make_exclusive() faults the page in writable, replaces
 * its CPU page-table entry by a special swap entry and returns the page
 * locked; the device maps it (DPT_ATOMIC, QUERY: HMM_MIRROR_PAGE_EXCLUSIVE)
 * before unlocking it.  A CPU access to the page faults, and the kernel
 * puts the old entry back after an invalidation of that page: the device
 * entry goes, with an event of reason HMM_MIRROR_EVENT_EXCLUSIVE.  Kernels
 * up to 6.14 report that invalidation as MMU_NOTIFY_EXCLUSIVE; later ones
 * as MMU_NOTIFY_CLEAR of the one page, which the module reports as
 * EXCLUSIVE when the device held that page exclusively
 * (mirror_revokes_exclusive_locked()).  The invalidation the kernel sends
 * while granting carries this mirror as its owner and is ignored by this
 * mirror (chunk_invalidate()): the device maps the page right after, and
 * acting on it would only restart the grant.  Other mirrors see it as an
 * EXCLUSIVE invalidation and drop the page.
 *
 * The grant follows the interval-notifier protocol: the sequence is read
 * before the page is made exclusive and checked under m->lock before the
 * device maps it, with the page still locked; an invalidation in between
 * (munmap, madvise, a CPU access) makes it start again.
 *
 * An ATOMIC operation runs under m->lock on a page the device maps
 * DPT_ATOMIC: a CPU access cannot get the page back before the
 * invalidation that removes the entry, which needs m->lock, so the CPU
 * sees the word before or after the operation, never during it.  The
 * device's READ and WRITE use an exclusive entry like any other; FAULT
 * and device faults walk the CPU page table, and hmm_range_fault() faults
 * a device-exclusive entry back like a CPU access does.
 */
#include <linux/atomic.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "../abi/hmm_mirror.h"
#include "compat_exclusive.h"
#include "exclusive.h"

/* Grants of one page that an invalidation may restart before EBUSY. */
#define EXCLUSIVE_MAX_TRIES	16
/* Results copied out per pass. */
#define EXCLUSIVE_PASS_PAGES	512UL

/**
 * mirror_revokes_exclusive_locked() - does an invalidation take away a
 * page the device holds exclusively?
 * @m: the mirror
 * @start: first byte of the invalidated range
 * @end: end of the range
 *
 * For kernels that report a CPU access to a device-exclusive page as a
 * clear of that one page (DOC: Exclusive access).
 *
 * Context: Holds m->lock (an invalidation callback); does not sleep.
 * Return: true if [@start, @end) is one page the device maps DPT_ATOMIC.
 */
bool mirror_revokes_exclusive_locked(struct mirror *m, unsigned long start,
				     unsigned long end)
{
	struct dpt_entry e;

	lockdep_assert_held(&m->lock);
	return end - start == PAGE_SIZE && dpt_lookup(&m->dpt, start, &e) &&
	       (e.flags & DPT_ATOMIC);
}

#ifdef HMM_EXCLUSIVE

/* The owner the grants of @m carry, so its notifier knows its own. */
static void *grant_owner(struct mirror *m)
{
	return m;
}

/**
 * mirror_own_grant() - is this invalidation @m's own grant?
 * @m: the mirror
 * @range: the invalidation
 *
 * Context: Any context.
 * Return: true for the MMU_NOTIFY_EXCLUSIVE of a page @m is making
 * exclusive, which @m ignores (DOC: Exclusive access).
 */
bool mirror_own_grant(struct mirror *m, const struct mmu_notifier_range *range)
{
	return range->event == MMU_NOTIFY_EXCLUSIVE &&
	       range->owner == grant_owner(m);
}

/* Whether the device maps the page at @va exclusively.  Needs m->lock. */
static bool held_locked(struct mirror *m, unsigned long va)
{
	struct dpt_entry e;

	lockdep_assert_held(&m->lock);
	return dpt_lookup(&m->dpt, va, &e) && (e.flags & DPT_ATOMIC);
}

/*
 * One try at granting the page at @va, inside the sequence read at @seq;
 * -EAGAIN if an invalidation came in between.  Needs the mmap_lock.
 */
static int grant_once(struct mirror *m, struct mirror_chunk *c,
		      unsigned long va, void **extra, unsigned int *nr_extra)
{
	unsigned long seq = mmu_interval_read_begin(&c->notifier);
	struct page *page;
	u64 before;
	int ret;

	page = compat_make_exclusive(m->mm, va, grant_owner(m));
	if (IS_ERR(page))
		return PTR_ERR(page);
	mirror_lock(m);
	ret = -EAGAIN;
	if (!mmu_interval_read_retry(&c->notifier, seq)) {
		if (*nr_extra)
			mirror_refill_spares(m, extra, nr_extra);
		before = m->dpt.nr_pages;
		ret = dpt_map(&m->dpt, va, page_to_pfn(page), DPT_ORDER_4K,
			      DPT_WRITE | DPT_ATOMIC);
		c->pages += m->dpt.nr_pages - before;
	}
	mirror_unlock(m);
	/* Once the device maps it, a CPU access may take it back. */
	folio_unlock(page_folio(page));
	put_page(page);
	return ret;
}

/*
 * Make the page at @va exclusive to the device and map it DPT_ATOMIC,
 * unless the device holds it already.  Returns 0, a positive errno for a
 * page the kernel refused, or a negative error of the whole call.  Needs
 * bind_sem and a live mm.
 */
static int grant_page(struct mirror *m, unsigned long va)
{
	void *extra[MIRROR_SPARES_MAX];
	unsigned int tries, nr_extra = 0;
	struct mirror_chunk *c;
	bool held;
	int ret = 0;

	mirror_lock(m);
	held = held_locked(m, va);
	mirror_unlock(m);
	if (held)
		return 0;
	c = chunk_get(m, va);
	if (IS_ERR(c))
		return PTR_ERR(c);
	for (tries = 0; tries < EXCLUSIVE_MAX_TRIES; tries++) {
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		/* Table pages for the map, allocated without the lock. */
		if (!nr_extra)
			mirror_refill_spares(m, extra, &nr_extra);
		ret = mmap_read_lock_killable(m->mm);
		if (ret)
			break;
		/*
		 * Fault the page in writable first, outside the sequence: a
		 * device-exclusive entry left there (another mirror's, or a
		 * grant of ours that lost a race) is taken back now, and not
		 * by the grant, which would then always see an invalidation.
		 */
		ret = fixup_user_fault(m->mm, va, FAULT_FLAG_WRITE, NULL);
		if (!ret)
			ret = grant_once(m, c, va, extra, &nr_extra);
		mmap_read_unlock(m->mm);
		if (ret != -EAGAIN)
			break;
		ret = -EBUSY;
	}
	mirror_free_extra(extra, nr_extra);
	chunk_put(c);
	if (!ret)
		mirror_count(m, MC(exclusive_granted), 1);
	/* The kernel refused the page: a result, not a failure. */
	if (ret && ret != -EINTR && ret != -ENOMEM)
		ret = -ret;
	return ret;
}

/**
 * mirror_exclusive() - EXCLUSIVE: make a range exclusive to the device
 * @m: the mirror
 * @start: first byte of the range (page aligned, checked by the caller)
 * @end: end of the range, exclusive
 * @results: NULL, or one result per page: 0 or the positive errno of the
 *	kernel's refusal (access_ok() checked by the caller)
 * @granted: incremented per page granted
 * @refused: incremented per page refused
 *
 * Context: Process context, may sleep.  Holds m->bind_sem; takes
 * chunks_lock, the mmap_lock, the page's lock and m->lock, in that order.
 *
 * Return: 0, -ENOMEM, -ESRCH (the address space exited), -EFAULT
 * (@results), -EINTR (fatal signal), or the error of registering a
 * notifier or of the device page table.
 */
int mirror_exclusive(struct mirror *m, unsigned long start, unsigned long end,
		     u32 __user *results, u64 *granted, u64 *refused)
{
	u32 *res;
	int ret = 0;

	lockdep_assert_held(&m->bind_sem);
	res = kmalloc_array(EXCLUSIVE_PASS_PAGES, sizeof(*res), GFP_KERNEL);
	if (!res)
		return -ENOMEM;
	if (!mmget_not_zero(m->mm)) {
		kfree(res);
		return -ESRCH;
	}
	while (start < end && !ret) {
		unsigned long n = min((end - start) >> PAGE_SHIFT,
				      EXCLUSIVE_PASS_PAGES);
		unsigned long i;

		for (i = 0; i < n; i++) {
			ret = grant_page(m, start + (i << PAGE_SHIFT));
			if (ret < 0)
				break;
			res[i] = ret;
			if (ret)
				(*refused)++;
			else
				(*granted)++;
			ret = 0;
		}
		if (results && i &&
		    copy_to_user(results, res, i * sizeof(*results)) && !ret)
			ret = -EFAULT;
		results += n;
		start += n << PAGE_SHIFT;
	}
	mmput(m->mm);
	kfree(res);
	return ret;
}

/* Do @op on the word at @p; returns its old value. */
static u64 atomic_op(atomic64_t *p, u32 op, u64 operand, u64 compare)
{
	switch (op) {
	case HMM_MIRROR_ATOMIC_ADD:
		return atomic64_fetch_add(operand, p);
	case HMM_MIRROR_ATOMIC_XCHG:
		return atomic64_xchg(p, operand);
	case HMM_MIRROR_ATOMIC_CMPXCHG:
		return atomic64_cmpxchg(p, compare, operand);
	case HMM_MIRROR_ATOMIC_OR:
		return atomic64_fetch_or(operand, p);
	default:	/* HMM_MIRROR_ATOMIC_AND: the caller checked @op */
		return atomic64_fetch_and(operand, p);
	}
}

/*
 * Do the operation if the device holds the page of @a->addr exclusively.
 * Returns 0 (done, @a->old set) or -EAGAIN (not held).
 */
static int atomic_if_held(struct mirror *m, struct hmm_mirror_atomic *a)
{
	struct dpt_entry e;
	struct page *page;
	char *kaddr;
	int ret = -EAGAIN;

	mirror_lock(m);
	if (dpt_lookup(&m->dpt, a->addr, &e) && (e.flags & DPT_ATOMIC)) {
		page = pfn_to_page(e.pfn);
		kaddr = kmap_local_page(page);
		a->old = atomic_op((atomic64_t *)(kaddr +
						  offset_in_page(a->addr)),
				   a->op, a->operand, a->compare);
		kunmap_local(kaddr);
		/* As a CPU store dirties its pte (see copy_mapped_locked()). */
		folio_mark_dirty(page_folio(page));
		ret = 0;
	}
	mirror_unlock(m);
	return ret;
}

/**
 * mirror_atomic() - ATOMIC: a device atomic operation on one word
 * @m: the mirror
 * @a: the checked argument (8-byte aligned address in range, known op);
 *	@a->old is set on success
 *
 * Without exclusive access to the word's page the device takes it, as a
 * device's atomic fault would, unless HMM_MIRROR_ATOMIC_NO_GRANT.
 *
 * Context: Process context, may sleep.  Holds m->bind_sem; takes what
 * mirror_exclusive() takes.
 *
 * Return: 0; -EAGAIN (NO_GRANT and not held); -EBUSY (the page keeps
 * being taken back); the errno of the kernel's refusal (EFAULT, EBUSY,
 * EOPNOTSUPP, ...); -ESRCH, -EINTR, -ENOMEM.
 */
int mirror_atomic(struct mirror *m, struct hmm_mirror_atomic *a)
{
	unsigned int tries;
	int ret;

	lockdep_assert_held(&m->bind_sem);
	for (tries = 0; tries < EXCLUSIVE_MAX_TRIES; tries++) {
		ret = atomic_if_held(m, a);
		if (ret != -EAGAIN || (a->flags & HMM_MIRROR_ATOMIC_NO_GRANT))
			break;
		if (!mmget_not_zero(m->mm))
			return -ESRCH;
		mirror_count(m, MC(device_faults), 1);
		ret = grant_page(m, a->addr & PAGE_MASK);
		mmput(m->mm);
		if (ret > 0)
			ret = -ret;
		if (ret)
			return ret;
		ret = -EBUSY;
	}
	if (!ret)
		mirror_count(m, MC(atomic_ops), 1);
	return ret;
}

/**
 * exclusive_supported() - whether the kernel has device-exclusive entries
 *
 * Context: Any context.
 * Return: true where EXCLUSIVE and ATOMIC work (HMM_MIRROR_FEAT_EXCLUSIVE).
 */
bool exclusive_supported(void)
{
	return true;
}

#else /* !HMM_EXCLUSIVE */

bool mirror_own_grant(struct mirror *m, const struct mmu_notifier_range *range)
{
	return false;
}

int mirror_exclusive(struct mirror *m, unsigned long start, unsigned long end,
		     u32 __user *results, u64 *granted, u64 *refused)
{
	return -EOPNOTSUPP;
}

int mirror_atomic(struct mirror *m, struct hmm_mirror_atomic *a)
{
	return -EOPNOTSUPP;
}

bool exclusive_supported(void)
{
	return false;
}
#endif /* HMM_EXCLUSIVE */
