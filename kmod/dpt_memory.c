// SPDX-License-Identifier: GPL-2.0
/*
 * dpt_memory.c - the memory of the device page table: the core's table
 * allocation hooks, served from a per-mirror pool of spare pages so that
 * an insert under m->lock, which reclaim can take through the notifiers,
 * never enters reclaim itself.
 */
#include <linux/gfp.h>
#include <linux/lockdep.h>
#include <linux/mm.h>

#include "mirror.h"

/**
 * dpt_table_alloc() - a zeroed table page for the core's device page table
 * @t: the table of a mirror
 *
 * The core's allocation hook.  It runs under m->lock, which reclaim can
 * take through the notifier, so it must not enter reclaim itself: spares
 * first, then a GFP_NOWAIT page.
 *
 * Context: Holds m->lock; does not sleep or enter reclaim.
 * Return: the page, or NULL if there is no spare and no free page.
 */
void *dpt_table_alloc(struct dpt *t)
{
	struct mirror *m = container_of(t, struct mirror, dpt);

	lockdep_assert_held(&m->lock);
	if (m->nr_spares)
		return m->spares[--m->nr_spares];
	return (void *)get_zeroed_page(GFP_NOWAIT | __GFP_NOWARN);
}

/**
 * dpt_table_free() - take back a table page of the core's device page table
 * @t: the table of a mirror
 * @table: a page dpt_table_alloc(@t) returned
 * @zeroed: every word of @table is zero
 *
 * Keep a freed table as a spare while there is room.  An emptied table is
 * already zero; clearing only the others keeps the clear out of most
 * invalidations (a small munmap empties a leaf table entry by entry).
 *
 * Context: Holds m->lock; does not sleep.
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

/**
 * mirror_refill_spares() - top up m->spares before a locked insert
 * @m: the mirror
 * @extra: room for MIRROR_SPARES_MAX pages
 * @nr: pages in @extra
 *
 * Top up m->spares before a locked insert.  Pages are allocated with
 * GFP_KERNEL without the lock into @extra (*@nr of them, at most
 * MIRROR_SPARES_MAX); the caller then takes the lock and calls again with
 * *@nr set, which moves them into the pool.  Leftovers go back through
 * mirror_free_extra() after unlocking.
 *
 * Context: Process context.  The first call, without m->lock, may sleep
 * (GFP_KERNEL); the second holds m->lock and does not.
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

/**
 * mirror_free_extra() - free the pages mirror_refill_spares() left over
 * @extra: the pages
 * @nr: how many
 *
 * Context: Any context; does not sleep.
 */
void mirror_free_extra(void **extra, unsigned int nr)
{
	while (nr)
		free_page((unsigned long)extra[--nr]);
}

