// SPDX-License-Identifier: GPL-2.0
/*
 * chunks.c - lazy interval notifiers.  The mirror watches only the 1 GiB
 * chunks where the device maps pages, so memory churn elsewhere in the
 * process never reaches it.  A notifier cannot be removed from its own
 * callback, so chunks that run empty are freed by a work item, a grace
 * period later (CHUNK_GC_DELAY).  An munmap that empties a chunk does not
 * even arm that work: arming a timer is a good part of what a small
 * mirrored munmap costs over a plain one.  It only marks the mirror
 * (gc_wanted), and the work is armed by the device's next command, or by
 * the next invalidation that finds the chunk empty.  A last, tiny notifier
 * on the first page of the address space (never mapped) exists only to see
 * the address space exit.
 *
 * An invalidation nobody wants an event for is only recorded in its chunk
 * and applied to the device page table by the device's next command, which
 * takes the lock with mirror_lock(), or by the next invalidation in that
 * chunk, which must know whether the chunk is empty.  The device reads and
 * writes memory only under that lock, so it never uses an entry the CPU
 * has let go of, and a munmap runs as little code as a callback can (see
 * bench/README.md, "munmap of a small mirrored range").
 */
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "compat_workqueue.h"
#include "mirror.h"

static u32 event_reason(enum mmu_notifier_event event)
{
	switch (event) {
	case MMU_NOTIFY_UNMAP:
		return HMM_MIRROR_EVENT_UNMAP;
	case MMU_NOTIFY_CLEAR:
		return HMM_MIRROR_EVENT_CLEAR;
	case MMU_NOTIFY_PROTECTION_VMA:
	case MMU_NOTIFY_PROTECTION_PAGE:
		return HMM_MIRROR_EVENT_PROTECTION;
	case MMU_NOTIFY_SOFT_DIRTY:
		return HMM_MIRROR_EVENT_SOFT_DIRTY;
	case MMU_NOTIFY_RELEASE:
		return HMM_MIRROR_EVENT_RELEASE;
	case MMU_NOTIFY_MIGRATE:
		return HMM_MIRROR_EVENT_MIGRATE;
	case MMU_NOTIFY_EXCLUSIVE:
		return HMM_MIRROR_EVENT_EXCLUSIVE;
	default:
		return HMM_MIRROR_EVENT_OTHER;
	}
}

/* Free the chunks that are empty then, CHUNK_GC_DELAY from now. */
static void chunk_gc_later(struct mirror *m)
{
	/* Already pending: the earlier deadline stands. */
	queue_delayed_work(compat_unbound_wq, &m->gc_work, CHUNK_GC_DELAY);
}

/* Called by every command: arm the work an invalidation asked for. */
void mirror_gc_kick(struct mirror *m)
{
	if (READ_ONCE(m->gc_wanted)) {
		WRITE_ONCE(m->gc_wanted, false);
		chunk_gc_later(m);
	}
}

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
	mirror_count(m, MC_PAGES_INVALIDATED, pages);
	mirror_event_locked(m, HMM_MIRROR_EVENT_RELEASE, span.start, span.end,
			    pages);
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
			       u32 reason, bool report)
{
	struct dpt_span span;
	u64 removed;

	lockdep_assert_held(&m->lock);
	removed = dpt_unmap_span(&m->dpt, start, end, &span);
	if (!removed)
		return;
	c->pages -= removed;
	mirror_count(m, MC_PAGES_INVALIDATED, removed);
	/* The event covers what the device lost, not the request. */
	if (report)
		mirror_event_locked(m, reason, span.start, span.end, removed);
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
			   HMM_MIRROR_EVENT_OTHER, false);
	list_del_init(&c->deferred_node);
}

/* Apply every deferred invalidation of @m, oldest first. */
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
 * by removing its entries when an event must say what the device lost,
 * otherwise by recording the range for the next command (see the top).
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
	u32 reason = event_reason(range->event);
	bool was_empty;

	if (!lock_for_invalidate(m, range))
		return false;

	mmu_interval_set_seq(mni, cur_seq);
	mirror_mark_walkers_locked(m, start, end);
	/* Is the chunk empty?  Only the one before can say. */
	if (!list_empty(&c->deferred_node))
		chunk_apply_deferred_locked(m, c);
	was_empty = !c->pages;
	mirror_count(m, MC_INVALIDATIONS + reason, 1);
	if (reason == HMM_MIRROR_EVENT_RELEASE) {
		mirror_release_locked(m);
	} else if (c->pages && event_wanted(m, reason)) {
		chunk_unmap_locked(m, c, start, end, reason, true);
	} else if (c->pages) {
		c->deferred_start = start;
		c->deferred_end = end;
		list_add_tail(&c->deferred_node, &m->deferred);
	}
	mutex_unlock(&m->lock);

	/* Churn in a chunk left empty: let it go now (see the top). */
	if (was_empty && reason != HMM_MIRROR_EVENT_RELEASE)
		chunk_gc_later(m);
	return true;
}

static const struct mmu_interval_notifier_ops chunk_ops = {
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

static const struct mmu_interval_notifier_ops exit_ops = {
	.invalidate = exit_invalidate,
};

/*
 * Find or register the chunk holding @va and take a user reference.
 * Needs bind_sem and a live mm (mm_users held): registering a notifier
 * requires one.  A snapshot helper calls this for a task that holds
 * bind_sem and waits for it (see struct walk), so lockdep is asked in
 * walk_range(), which knows which case it is.
 */
struct mirror_chunk *chunk_get(struct mirror *m, unsigned long va)
{
	unsigned long idx = va >> CHUNK_SHIFT;
	struct mirror_chunk *c;
	int ret;

	mutex_lock(&m->chunks_lock);
	c = xa_load(&m->chunks, idx);
	if (!c) {
		c = kzalloc(sizeof(*c), GFP_KERNEL);
		if (!c) {
			c = ERR_PTR(-ENOMEM);
			goto out;
		}
		c->m = m;
		c->start = idx << CHUNK_SHIFT;
		INIT_LIST_HEAD(&c->deferred_node);
		ret = xa_insert(&m->chunks, idx, c, GFP_KERNEL);
		if (!ret) {
			ret = mmu_interval_notifier_insert(&c->notifier, m->mm,
							   c->start, CHUNK_SIZE,
							   &chunk_ops);
			if (ret)
				xa_erase(&m->chunks, idx);
		}
		if (ret) {
			kfree(c);
			c = ERR_PTR(ret);
			goto out;
		}
		atomic_inc(&m->nr_chunks);
	}
	c->users++;
out:
	mutex_unlock(&m->chunks_lock);
	return c;
}

void chunk_put(struct mirror_chunk *c)
{
	struct mirror *m = c->m;
	bool idle;

	/*
	 * Look at c->pages before chunks_lock goes: from then on the GC may
	 * free an idle chunk.
	 */
	mutex_lock(&m->chunks_lock);
	idle = !--c->users && !READ_ONCE(c->pages);
	mutex_unlock(&m->chunks_lock);
	if (idle)
		chunk_gc_later(m);
}

/* Unregister and free @c.  Needs chunks_lock; @c has no user. */
static void chunk_free(struct mirror *m, struct mirror_chunk *c)
{
	lockdep_assert_held(&m->chunks_lock);
	xa_erase(&m->chunks, c->start >> CHUNK_SHIFT);
	/* Waits for a running callback; none can start afterwards. */
	mmu_interval_notifier_remove(&c->notifier);
	/* @c may be on m->deferred: apply what is there now. */
	mirror_lock(m);
	mutex_unlock(&m->lock);
	atomic_dec(&m->nr_chunks);
	kfree(c);
}

void mirror_gc_work(struct work_struct *work)
{
	struct mirror *m = container_of(to_delayed_work(work), struct mirror,
					gc_work);
	struct mirror_chunk *c;
	unsigned long idx;

	mutex_lock(&m->chunks_lock);
	xa_for_each(&m->chunks, idx, c) {
		bool empty;

		if (c->users)
			continue;
		mirror_lock(m);
		empty = !c->pages;
		mutex_unlock(&m->lock);
		if (empty)
			chunk_free(m, c);
	}
	mutex_unlock(&m->chunks_lock);
}

/*
 * Start watching @mm (which must have users) for exit on behalf of @m.
 * The only step of binding that can fail, so it comes first.
 */
struct mirror_exit_watch *mirror_exit_watch(struct mirror *m,
					    struct mm_struct *mm)
{
	struct mirror_exit_watch *w = kzalloc(sizeof(*w), GFP_KERNEL);
	int ret;

	if (!w)
		return ERR_PTR(-ENOMEM);
	w->m = m;
	ret = mmu_interval_notifier_insert(&w->notifier, mm, 0, PAGE_SIZE,
					   &exit_ops);
	if (ret) {
		kfree(w);
		return ERR_PTR(ret);
	}
	return w;
}

/* Bind an unbound mirror to @mm, watched by @watch. */
void mirror_bind(struct mirror *m, struct mm_struct *mm,
		 struct mirror_exit_watch *watch)
{
	mmgrab(mm);
	m->mm = mm;
	m->exit_watch = watch;
	mutex_lock(&m->lock);
	m->released = false;
	mutex_unlock(&m->lock);
}

/*
 * Drop every notifier and the mm.  The device must map nothing after.
 * The GC work is cancelled only once every notifier is gone: until then a
 * callback (the unmaps of an exiting process, say) may arm it again.
 */
void mirror_unbind(struct mirror *m)
{
	struct mirror_chunk *c;
	unsigned long idx;

	mutex_lock(&m->chunks_lock);
	xa_for_each(&m->chunks, idx, c)
		chunk_free(m, c);
	mutex_unlock(&m->chunks_lock);

	mmu_interval_notifier_remove(&m->exit_watch->notifier);
	cancel_delayed_work_sync(&m->gc_work);
	kfree(m->exit_watch);
	m->exit_watch = NULL;
	mmdrop(m->mm);
	m->mm = NULL;
}
