// SPDX-License-Identifier: GPL-2.0
/*
 * mirror.c - a mirror's lifetime and its binding to an address space:
 * creation (bound to the opener's mm), the notifier that sees the bound mm
 * exit, binding to another mm (ATTACH) and unbinding, and destruction when
 * the file is released.  DOC: Lifetime in mirror.h.
 */
#include <linux/gfp.h>
#include <linux/lockdep.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "devmem.h"
#include "mirror.h"

/*
 * Teach lockdep the rules reclaim can break (as drm_gpusvm_init() does):
 * m->lock is taken by the notifiers, which reclaim can call, and under
 * mmap_lock by the walks.  Recorded once at creation, so an allocation
 * that may enter reclaim under m->lock, or an mmap_lock taken under it, is
 * reported on the first run that does it, not only when reclaim happens
 * to hit it.
 */
static void mirror_prime_lockdep(struct mirror *m, struct mm_struct *mm)
{
	if (!IS_ENABLED(CONFIG_LOCKDEP))
		return;
	fs_reclaim_acquire(GFP_KERNEL);
	might_lock(&m->lock);
	fs_reclaim_release(GFP_KERNEL);
	mmap_read_lock(mm);
	might_lock(&m->lock);
	mmap_read_unlock(mm);
}

/**
 * mirror_exit_watch() - start watching @mm for exit on behalf of @m
 * @m: the mirror
 * @mm: an address space with users
 *
 * A tiny interval notifier on the first page of the address space (never
 * mapped), there only to see the address space exit while the device maps
 * nothing.  The only step of binding that can fail, so it comes first.
 *
 * Context: Process context, may sleep.  Registering the notifier may take
 * @mm's mmap_lock.
 * Return: the watch, or an ERR_PTR().
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
					   &exit_notifier_ops);
	if (ret) {
		kfree(w);
		return ERR_PTR(ret);
	}
	return w;
}

/**
 * mirror_bind() - bind an unbound mirror to @mm
 * @m: the mirror, bind_sem held for writing (or not yet published)
 * @mm: the address space
 * @watch: from mirror_exit_watch() on @mm
 *
 * Context: Process context, may sleep.  Takes m->lock.
 */
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

/**
 * mirror_unbind() - drop every notifier and the mm
 * @m: the mirror, bind_sem held for writing (or being destroyed)
 *
 * The device must map nothing after.  The GC work is cancelled only once
 * every notifier is gone: until then a callback (the unmaps of an exiting
 * process, say) may arm it again.
 *
 * Context: Process context, may sleep.  Takes chunks_lock and m->lock; waits
 * for running notifier callbacks and the GC work.
 */
void mirror_unbind(struct mirror *m)
{
	mirror_free_chunks(m);
	mmu_interval_notifier_remove(&m->exit_watch->notifier);
	cancel_delayed_work_sync(&m->gc_work);
	kfree(m->exit_watch);
	m->exit_watch = NULL;
	mmdrop(m->mm);
	m->mm = NULL;
}

/**
 * mirror_create() - a new mirror, bound to the caller's address space
 * @out: the mirror
 *
 * Context: Process context (open()), may sleep.
 * Return: 0, -EINVAL for a caller without an mm (kernel thread), -ENOMEM,
 * or the notifier's error.
 */
int mirror_create(struct mirror **out)
{
	struct mirror_exit_watch *watch;
	struct mirror *m;

	if (!current->mm)
		return -EINVAL;

	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return -ENOMEM;
	m->devmem_acct = devmem_account_new();
	if (!m->devmem_acct) {
		kfree(m);
		return -ENOMEM;
	}

	init_rwsem(&m->bind_sem);
	mutex_init(&m->chunks_lock);
	xa_init(&m->chunks);
	INIT_DELAYED_WORK(&m->gc_work, mirror_gc_work);
	mutex_init(&m->lock);
	mutex_init(&m->read_lock);
	init_waitqueue_head(&m->waitq);
	dpt_init(&m->dpt);
	INIT_LIST_HEAD(&m->deferred);
	INIT_LIST_HEAD(&m->walkers);
	mirror_prime_lockdep(m, current->mm);

	watch = mirror_exit_watch(m, current->mm);
	if (IS_ERR(watch)) {
		devmem_account_put(m->devmem_acct);
		kfree(m);
		return PTR_ERR(watch);
	}
	mirror_bind(m, current->mm, watch);

	mirror_list_add(m);
	*out = m;
	return 0;
}

/**
 * mirror_destroy() - unbind and free @m
 * @m: the mirror of a file being released: no command runs
 *
 * Context: Process context (the file's release), may sleep.  Takes what
 * mirror_unbind() takes, and m->lock.
 */
void mirror_destroy(struct mirror *m)
{
	mirror_list_del(m);

	mirror_unbind(m);

	mutex_lock(&m->lock);
	/* Every chunk is gone, and with it every deferred invalidation. */
	WARN_ON_ONCE(!list_empty(&m->deferred));
	WARN_ON_ONCE(!list_empty(&m->walkers));
	dpt_destroy(&m->dpt);
	mirror_free_extra(m->spares, m->nr_spares);
	m->nr_spares = 0;
	mutex_unlock(&m->lock);

	mirror_events_free(m);
	xa_destroy(&m->chunks);
	mutex_destroy(&m->read_lock);
	mutex_destroy(&m->lock);
	mutex_destroy(&m->chunks_lock);
	/* Its pages in device memory keep the account (devmem.h). */
	devmem_account_put(m->devmem_acct);
	kfree(m);
}
