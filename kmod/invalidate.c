// SPDX-License-Identifier: GPL-2.0
/*
 * invalidate.c - the invalidation policy: what the device page table does
 * when the CPU page table is about to change (the interval notifiers'
 * callbacks), and when the address space goes away.
 *
 * DOC: Deferred invalidation
 *
 * An invalidation nobody wants an event for is, by default, only recorded
 * in its chunk and applied to the device page table by the device's next
 * command (mirror_lock() applies every recorded one before the command
 * looks) or by the next invalidation in that chunk, which must know
 * whether the chunk is empty.  The callback then runs as little code as
 * it can, which is what makes a munmap of a mirrored range cost about what
 * a plain one does.
 *
 * This holds only for a device that touches memory under m->lock: this
 * software device reads and writes memory only there, so it never uses an
 * entry the CPU has let go of.  Hardware walks its page table without the
 * driver's lock and must have the entries gone before the notifier
 * returns; so must a driver prototype that mimics it.  The module
 * parameter defer_invalidations=0 gives that behaviour: every invalidation
 * removes the entries before the callback returns (make test runs the
 * conformance suite both ways: tests/kmod/conformance/switches_off.sh).  An
 * invalidation an event is wanted for is always applied at once, since the
 * event reports what the device lost.
 */
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>

#include "devmem.h"
#include "exclusive.h"
#include "mirror.h"

static bool defer_invalidations = true;
module_param(defer_invalidations, bool, 0644);
MODULE_PARM_DESC(defer_invalidations,
		 "Leave device entries an invalidation removes without an event to the device's next command (default: yes); no removes them before the notifier returns, as hardware needs");

/*
 * The address space is going away: empty the device page table and report
 * one RELEASE event, whichever notifier sees the release first.
 */
static void mirror_release_locked(struct mirror *m)
{
	struct mirror_chunk *c;
	struct dpt_span span;
	unsigned long idx;
	u64 pages;

	lockdep_assert_held(&m->lock);
	if (m->released)
		return;
	m->released = true;
	mirror_mark_walkers_locked(m, 0, ULONG_MAX);
	/* What earlier invalidations took is not this event's. */
	mirror_apply_deferred_locked(m);
	pages = dpt_unmap_span(&m->dpt, 0, DPT_VA_LIMIT, &span);
	xa_for_each(&m->chunks, idx, c)
		c->pages = 0;
	mirror_count(m, MC(pages_invalidated), pages);
	mirror_event_locked(m, HMM_MIRROR_EVENT_RELEASE, 0, span.start,
			    span.end, pages);
	wake_up_all(&m->waitq);
	/* Every chunk is empty now: let their notifiers go. */
	chunk_gc_later(m);
}

/* Lock @m in an invalidation callback; false if it must not block. */
static bool lock_for_invalidate(struct mirror *m,
				const struct mmu_notifier_range *range)
{
	if (mmu_notifier_range_blockable(range)) {
		mutex_lock(&m->lock);
		return true;
	}
	return mutex_trylock(&m->lock);
}

/*
 * Remove the device entries of [@start, @end) inside @c, reporting an
 * event if @report.  Needs m->lock.
 */
static void chunk_unmap_locked(struct mirror *m, struct mirror_chunk *c,
			       unsigned long start, unsigned long end,
			       u32 reason, u32 flags, bool report)
{
	struct dpt_span span;
	u64 removed;

	lockdep_assert_held(&m->lock);
	removed = dpt_unmap_span(&m->dpt, start, end, &span);
	if (!removed)
		return;
	c->pages -= removed;
	mirror_count(m, MC(pages_invalidated), removed);
	/* The event covers what the device lost, not the request. */
	if (report)
		mirror_event_locked(m, reason, flags, span.start, span.end,
				    removed);
	if (!c->pages)
		WRITE_ONCE(m->gc_wanted, true);
}

/*
 * Apply @c's deferred invalidation.  No event: one is deferred only while
 * its reason is not wanted, and EVENTS_CONFIG applies them before it
 * changes what is wanted.  Needs m->lock.
 */
static void chunk_apply_deferred_locked(struct mirror *m,
					struct mirror_chunk *c)
{
	lockdep_assert_held(&m->lock);
	chunk_unmap_locked(m, c, c->deferred_start, c->deferred_end,
			   HMM_MIRROR_EVENT_OTHER, 0, false);
	list_del_init(&c->deferred_node);
}

/**
 * mirror_apply_deferred_locked() - apply every deferred invalidation of
 * @m, oldest first
 * @m: the mirror, m->lock held
 *
 * Context: Holds m->lock; does not sleep or allocate (it runs where an
 * invalidation callback would have).
 */
void mirror_apply_deferred_locked(struct mirror *m)
{
	struct mirror_chunk *c, *next;

	lockdep_assert_held(&m->lock);
	list_for_each_entry_safe(c, next, &m->deferred, deferred_node)
		chunk_apply_deferred_locked(m, c);
}

/* Whether user space wants an event of @reason.  Needs m->lock. */
static bool event_wanted(struct mirror *m, u32 reason)
{
	return m->events.ring && (m->event_reasons & BIT(reason));
}

/*
 * Make the device let go of the range, inside this chunk only (every
 * overlapping chunk gets its own call), before the CPU page table changes:
 * by removing its entries, or by recording the range for the next command
 * (DOC: Deferred invalidation).
 */
static bool chunk_invalidate(struct mmu_interval_notifier *mni,
			     const struct mmu_notifier_range *range,
			     unsigned long cur_seq)
{
	struct mirror_chunk *c = container_of(mni, struct mirror_chunk,
					      notifier);
	struct mirror *m = c->m;
	/* The notifier covers the chunk only, so these overlap it. */
	unsigned long start = max(range->start, c->start);
	unsigned long end = min(range->end, c->start + CHUNK_SIZE);
	/* A move into or out of device memory, an eviction included. */
	u32 flags = devmem_event_flags(range);
	u32 reason = flags ? HMM_MIRROR_EVENT_MIGRATE :
			     mirror_event_reason(range->event);
	bool was_empty;

	/* This mirror's own grant, mapped right after (exclusive.c). */
	if (mirror_own_grant(m, range))
		return true;
	if (!lock_for_invalidate(m, range))
		return false;

	mmu_interval_set_seq(mni, cur_seq);
	mirror_mark_walkers_locked(m, start, end);
	/* Is the chunk empty?  Only the one before can say. */
	if (!list_empty(&c->deferred_node))
		chunk_apply_deferred_locked(m, c);
	was_empty = !c->pages;
	/* A CPU access taking back an exclusive page, on 6.15 and later. */
	if (reason == HMM_MIRROR_EVENT_CLEAR && c->pages &&
	    mirror_revokes_exclusive_locked(m, start, end))
		reason = HMM_MIRROR_EVENT_EXCLUSIVE;
	mirror_count(m, MC(invalidations) + reason, 1);
	if (reason == HMM_MIRROR_EVENT_RELEASE) {
		mirror_release_locked(m);
	} else if (c->pages && event_wanted(m, reason)) {
		chunk_unmap_locked(m, c, start, end, reason, flags, true);
	} else if (c->pages && !READ_ONCE(defer_invalidations)) {
		chunk_unmap_locked(m, c, start, end, reason, 0, false);
	} else if (c->pages) {
		c->deferred_start = start;
		c->deferred_end = end;
		list_add_tail(&c->deferred_node, &m->deferred);
	}
	mutex_unlock(&m->lock);

	/* Churn in a chunk left empty: let it go now (notifiers.c). */
	if (was_empty && reason != HMM_MIRROR_EVENT_RELEASE)
		chunk_gc_later(m);
	return true;
}

const struct mmu_interval_notifier_ops chunk_notifier_ops = {
	.invalidate = chunk_invalidate,
};

static bool exit_invalidate(struct mmu_interval_notifier *mni,
			    const struct mmu_notifier_range *range,
			    unsigned long cur_seq)
{
	struct mirror *m = container_of(mni, struct mirror_exit_watch,
					notifier)->m;

	if (range->event != MMU_NOTIFY_RELEASE)
		return true;
	if (!lock_for_invalidate(m, range))
		return false;
	mmu_interval_set_seq(mni, cur_seq);
	mirror_release_locked(m);
	mutex_unlock(&m->lock);
	return true;
}

const struct mmu_interval_notifier_ops exit_notifier_ops = {
	.invalidate = exit_invalidate,
};
