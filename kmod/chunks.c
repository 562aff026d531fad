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
 */
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

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
	queue_delayed_work(system_unbound_wq, &m->gc_work, CHUNK_GC_DELAY);
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
 * Clear the device entries of the range, inside this chunk only (every
 * overlapping chunk gets its own call), before the CPU page table changes.
 */
static bool chunk_invalidate(struct mmu_interval_notifier *mni,
			     const struct mmu_notifier_range *range,
			     unsigned long cur_seq)
{
	struct mirror_chunk *c = container_of(mni, struct mirror_chunk,
					      notifier);
	struct mirror *m = c->m;
	unsigned long start = max(range->start, c->start);
	unsigned long end = min(range->end, c->start + CHUNK_SIZE);
	u32 reason = event_reason(range->event);
	struct dpt_span span;
	bool was_empty;
	u64 removed = 0;

	if (!lock_for_invalidate(m, range))
		return false;

	mmu_interval_set_seq(mni, cur_seq);
	was_empty = !c->pages;
	mirror_count(m, MC_INVALIDATIONS + reason, 1);
	if (reason == HMM_MIRROR_EVENT_RELEASE) {
		mirror_release_locked(m);
	} else if (start < end && c->pages) {
		removed = dpt_unmap_span(&m->dpt, start,
					 min_t(u64, end, DPT_VA_LIMIT), &span);
		c->pages -= removed;
		mirror_count(m, MC_PAGES_INVALIDATED, removed);
		/* The event covers what the device lost, not the request. */
		if (removed)
			mirror_event_locked(m, reason, span.start, span.end,
					    removed);
		if (removed && !c->pages)
			WRITE_ONCE(m->gc_wanted, true);
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

	mutex_lock(&m->chunks_lock);
	idle = !--c->users;
	mutex_unlock(&m->chunks_lock);
	if (idle && !READ_ONCE(c->pages))
		chunk_gc_later(m);
}

/* Unregister and free @c.  Needs chunks_lock; @c has no user. */
static void chunk_free(struct mirror *m, struct mirror_chunk *c)
{
	lockdep_assert_held(&m->chunks_lock);
	xa_erase(&m->chunks, c->start >> CHUNK_SHIFT);
	/* Waits for a running callback; none can start afterwards. */
	mmu_interval_notifier_remove(&c->notifier);
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
		mutex_lock(&m->lock);
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
