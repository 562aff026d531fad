// SPDX-License-Identifier: GPL-2.0
/*
 * notifiers.c - the registry of the mirror's interval notifiers, one per
 * chunk (CHUNK_SIZE of the address space, naturally aligned) where the
 * device maps pages or a walk needs one, and the garbage collection that
 * lets a chunk's notifier go once it is idle and empty.
 *
 * Registering lazily keeps memory churn elsewhere in the process away from
 * the mirror.  A notifier cannot be removed from its own callback, so an
 * emptied chunk is freed by a work item, CHUNK_GC_DELAY later.  An
 * invalidation that empties a chunk does not even arm that work (arming a
 * timer is a good part of what a small mirrored munmap costs over a plain
 * one): it sets gc_wanted, and the device's next command arms it through
 * mirror_gc_kick(), or the next invalidation that finds the chunk empty.
 */
#include <linux/mm.h>
#include <linux/slab.h>

#include "compat_workqueue.h"
#include "mirror.h"

/**
 * chunk_gc_later() - free the chunks that are idle and empty then,
 * CHUNK_GC_DELAY from now
 * @m: the mirror
 *
 * Already pending: the earlier deadline stands.
 *
 * Context: Any context.
 */
void chunk_gc_later(struct mirror *m)
{
	queue_delayed_work(compat_unbound_wq, &m->gc_work, CHUNK_GC_DELAY);
}

/**
 * mirror_gc_kick() - arm the garbage collection an invalidation asked for
 * @m: the mirror
 *
 * Called by every command, through mirror_lock().
 *
 * Context: Any context; a command calls it holding m->lock.
 */
void mirror_gc_kick(struct mirror *m)
{
	if (READ_ONCE(m->gc_wanted)) {
		WRITE_ONCE(m->gc_wanted, false);
		chunk_gc_later(m);
	}
}

/**
 * chunk_get() - find or register the chunk holding @va, with a user
 * reference
 * @m: the mirror
 * @va: an address of the bound mm
 *
 * Needs bind_sem and a live mm (mm_users held): registering a notifier
 * requires one.  A snapshot helper calls this for a task that holds
 * bind_sem and waits for it (see struct walk), so lockdep is asked in
 * walk_range(), which knows which case it is.
 *
 * Context: Process context, may sleep.  Takes chunks_lock, and mmap_lock to
 * register a notifier.
 * Return: the chunk, or an ERR_PTR() (-ENOMEM, or the notifier's error).
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
							   &chunk_notifier_ops);
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

/**
 * chunk_put() - drop a user reference taken by chunk_get()
 * @c: the chunk
 *
 * Context: Process context, may sleep.  Takes chunks_lock.
 */
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
	/* @c may be on m->deferred: mirror_lock() applies what is there. */
	mirror_lock(m);
	mirror_unlock(m);
	atomic_dec(&m->nr_chunks);
	kfree(c);
}

/**
 * mirror_gc_work() - the garbage collection: free every idle, empty chunk
 * @work: m->gc_work
 *
 * Context: Workqueue (m->gc_work), may sleep.  Takes chunks_lock, then
 * m->lock for each idle chunk; waits for the callbacks of a notifier it
 * removes.
 */
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
		mirror_unlock(m);
		if (empty)
			chunk_free(m, c);
	}
	mutex_unlock(&m->chunks_lock);
}

/**
 * mirror_free_chunks() - unregister and free every chunk
 * @m: the mirror, being unbound: no walk holds a chunk
 *
 * Applies their deferred invalidations on the way.
 *
 * Context: Process context, may sleep.  Takes chunks_lock, then m->lock;
 * waits for running notifier callbacks.
 */
void mirror_free_chunks(struct mirror *m)
{
	struct mirror_chunk *c;
	unsigned long idx;

	mutex_lock(&m->chunks_lock);
	xa_for_each(&m->chunks, idx, c)
		chunk_free(m, c);
	mutex_unlock(&m->chunks_lock);
}
