// SPDX-License-Identifier: GPL-2.0
/*
 * mirror.c - mirror lifetime, the page-table memory the core asks for, and
 * the STATS counters.
 */
#include <linux/gfp.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "mirror.h"

/* Every open mirror, for module-wide STATS. */
static LIST_HEAD(mirrors);
static DEFINE_MUTEX(mirrors_lock);
/* Module-wide counters since load. */
static struct mirror_counters global_counters;

void mirror_count(struct mirror *m, enum mirror_counter c, u64 n)
{
	atomic64_add(n, &m->counters.c[c]);
	atomic64_add(n, &global_counters.c[c]);
}

/*
 * The core's allocation hooks.  They run under m->lock, which reclaim can
 * take through the notifier, so they must not enter reclaim themselves:
 * spares first, then a GFP_NOWAIT page.
 */
void *dpt_table_alloc(struct dpt *t)
{
	struct mirror *m = container_of(t, struct mirror, dpt);

	lockdep_assert_held(&m->lock);
	if (m->nr_spares)
		return m->spares[--m->nr_spares];
	return (void *)get_zeroed_page(GFP_NOWAIT | __GFP_NOWARN);
}

/*
 * Keep a freed table as a spare while there is room.  An emptied table is
 * already zero; clearing only the others keeps the clear out of most
 * invalidations (a small munmap empties a leaf table entry by entry).
 */
void dpt_table_free(struct dpt *t, void *table, bool zeroed)
{
	struct mirror *m = container_of(t, struct mirror, dpt);

	lockdep_assert_held(&m->lock);
	if (m->nr_spares < MIRROR_SPARES_MAX) {
		if (!zeroed)
			clear_page(table);
		m->spares[m->nr_spares++] = table;
		return;
	}
	free_page((unsigned long)table);
}

/*
 * Top up m->spares before a locked insert.  Pages are allocated with
 * GFP_KERNEL without the lock into @extra (*@nr of them, at most
 * MIRROR_SPARES_MAX); the caller then takes the lock and calls again with
 * *@nr set, which moves them into the pool.  Leftovers go back through
 * mirror_free_extra() after unlocking.
 */
void mirror_refill_spares(struct mirror *m, void **extra, unsigned int *nr)
{
	unsigned int want;

	if (!*nr) {
		want = MIRROR_SPARES_MAX - READ_ONCE(m->nr_spares);
		while (*nr < want) {
			void *p = (void *)get_zeroed_page(GFP_KERNEL);

			if (!p)
				break;
			extra[(*nr)++] = p;
		}
		return;
	}

	lockdep_assert_held(&m->lock);
	while (*nr && m->nr_spares < MIRROR_SPARES_MAX)
		m->spares[m->nr_spares++] = extra[--(*nr)];
}

void mirror_free_extra(void **extra, unsigned int nr)
{
	while (nr)
		free_page((unsigned long)extra[--nr]);
}

int mirror_create(struct mirror **out)
{
	struct mirror_exit_watch *watch;
	struct mirror *m;

	if (!current->mm)
		return -EINVAL;

	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return -ENOMEM;

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

	watch = mirror_exit_watch(m, current->mm);
	if (IS_ERR(watch)) {
		kfree(m);
		return PTR_ERR(watch);
	}
	mirror_bind(m, current->mm, watch);

	mutex_lock(&mirrors_lock);
	list_add(&m->node, &mirrors);
	mutex_unlock(&mirrors_lock);
	*out = m;
	return 0;
}

void mirror_destroy(struct mirror *m)
{
	mutex_lock(&mirrors_lock);
	list_del(&m->node);
	mutex_unlock(&mirrors_lock);

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
	kfree(m);
}

static void fill_counters(struct hmm_mirror_stats *s,
			  struct mirror_counters *c)
{
	int i;

	s->device_faults = atomic64_read(&c->c[MC_DEVICE_FAULTS]);
	s->fault_calls = atomic64_read(&c->c[MC_FAULT_CALLS]);
	s->pages_faulted = atomic64_read(&c->c[MC_PAGES_FAULTED]);
	s->fault_retries = atomic64_read(&c->c[MC_FAULT_RETRIES]);
	for (i = 0; i < HMM_MIRROR_EVENT_NR_REASONS; i++)
		s->invalidations[i] =
			atomic64_read(&c->c[MC_INVALIDATIONS + i]);
	s->pages_invalidated = atomic64_read(&c->c[MC_PAGES_INVALIDATED]);
	s->events_delivered = atomic64_read(&c->c[MC_EVENTS_DELIVERED]);
	s->events_lost = atomic64_read(&c->c[MC_EVENTS_LOST]);
}

/* Add @m's gauges (notifiers, page-table size) to @s. */
static void add_gauges(struct mirror *m, struct hmm_mirror_stats *s)
{
	s->notifiers += atomic_read(&m->nr_chunks);
	mirror_lock(m);
	s->dpt_tables += m->dpt.nr_tables;
	s->dpt_pages += m->dpt.nr_pages;
	mutex_unlock(&m->lock);
	s->mirrors++;
}

void mirror_fill_stats(struct mirror *m, struct hmm_mirror_stats *s)
{
	/* Gauges first: they apply deferred invalidations, which count. */
	add_gauges(m, s);
	fill_counters(s, &m->counters);
}

void mirror_fill_global_stats(struct hmm_mirror_stats *s)
{
	struct mirror *m;

	mutex_lock(&mirrors_lock);
	list_for_each_entry(m, &mirrors, node)
		add_gauges(m, s);
	mutex_unlock(&mirrors_lock);
	fill_counters(s, &global_counters);
}
