// SPDX-License-Identifier: GPL-2.0
/*
 * stats.c - the counters STATS reports, per mirror and module-wide, and
 * the gauges it reads from the mirrors (notifiers, page-table size).
 */
#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mutex.h>

#include "devmem.h"
#include "mirror.h"

/* Every open mirror, for module-wide STATS. */
static LIST_HEAD(mirrors);
static DEFINE_MUTEX(mirrors_lock);
/* Module-wide counters since load. */
static struct mirror_counters global_counters;

/**
 * mirror_count() - add @n to counter @c of @m and of the module
 * @m: the mirror
 * @c: the counter
 * @n: the amount
 *
 * Context: Any context.
 */
void mirror_count(struct mirror *m, unsigned int c, u64 n)
{
	atomic64_add(n, &m->counters.c[c]);
	atomic64_add(n, &global_counters.c[c]);
}

/**
 * mirror_list_add() - put @m on the list module-wide STATS reads
 * @m: a new mirror
 *
 * Context: Process context, may sleep.  Takes the list's mutex.
 */
void mirror_list_add(struct mirror *m)
{
	mutex_lock(&mirrors_lock);
	list_add(&m->node, &mirrors);
	mutex_unlock(&mirrors_lock);
}

/**
 * mirror_list_del() - take @m off that list
 * @m: a mirror being destroyed
 *
 * Context: Process context, may sleep.  Takes the list's mutex.
 */
void mirror_list_del(struct mirror *m)
{
	mutex_lock(&mirrors_lock);
	list_del(&m->node);
	mutex_unlock(&mirrors_lock);
}

/* Add counters @c to @s, every field after the header (gauges have 0). */
static void add_counters(struct hmm_mirror_stats *s,
			 struct mirror_counters *c)
{
	__u64 *v = (void *)s + MC_FIRST;
	unsigned int i;

	for (i = 0; i < MC_NR; i++)
		v[i] += atomic64_read(&c->c[i]);
}

/* Add @m's gauges (notifiers, page-table size) to @s. */
static void add_gauges(struct mirror *m, struct hmm_mirror_stats *s)
{
	s->notifiers += atomic_read(&m->nr_chunks);
	mirror_lock(m);
	s->dpt_tables += m->dpt.nr_tables;
	s->dpt_pages += m->dpt.nr_pages;
	mirror_unlock(m);
	s->mirrors++;
}

/**
 * mirror_fill_stats() - STATS of one mirror
 * @m: the mirror
 * @s: filled in
 *
 * Context: Process context, may sleep.  Takes m->lock.
 */
void mirror_fill_stats(struct mirror *m, struct hmm_mirror_stats *s)
{
	/* Gauges first: they apply deferred invalidations, which count. */
	add_gauges(m, s);
	add_counters(s, &m->counters);
	s->device_memory_pages = devmem_nr_pages;
	s->device_pages = devmem_account_pages(m->devmem_acct);
	s->pages_faulted_back = devmem_account_faulted_back(m->devmem_acct);
	s->pages_evicted = devmem_account_evicted(m->devmem_acct);
}

/**
 * mirror_fill_global_stats() - module-wide STATS
 * @s: filled in
 *
 * Context: Process context, may sleep.  Takes the list's mutex, then each
 * mirror's lock.
 */
void mirror_fill_global_stats(struct hmm_mirror_stats *s)
{
	struct mirror *m;

	mutex_lock(&mirrors_lock);
	list_for_each_entry(m, &mirrors, node)
		add_gauges(m, s);
	mutex_unlock(&mirrors_lock);
	add_counters(s, &global_counters);
	s->device_memory_pages = devmem_nr_pages;
	s->device_pages = devmem_used_pages();
	s->pages_faulted_back = devmem_faulted_back();
	s->pages_evicted = devmem_evicted();
}
