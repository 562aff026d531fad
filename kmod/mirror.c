// SPDX-License-Identifier: GPL-2.0
/*
 * mirror.c - mirror lifetime, the interval notifier that keeps the device
 * page table coherent, and the page-table memory the core asks for.
 */
#include <linux/gfp.h>
#include <linux/lockdep.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "mirror.h"

/*
 * Invalidation: clear the device entries of the range before the CPU page
 * table changes.  Blocking is allowed unless the range says otherwise; then
 * the core must not wait for @lock (returning false makes the caller retry).
 */
static bool mirror_invalidate(struct mmu_interval_notifier *mni,
			      const struct mmu_notifier_range *range,
			      unsigned long cur_seq)
{
	struct mirror *m = container_of(mni, struct mirror, notifier);
	unsigned long end = min_t(u64, range->end, DPT_VA_LIMIT);

	if (mmu_notifier_range_blockable(range))
		mutex_lock(&m->lock);
	else if (!mutex_trylock(&m->lock))
		return false;

	mmu_interval_set_seq(mni, cur_seq);
	if (range->start < end)
		dpt_unmap(&m->dpt, range->start, end);

	mutex_unlock(&m->lock);
	return true;
}

static const struct mmu_interval_notifier_ops mirror_notifier_ops = {
	.invalidate = mirror_invalidate,
};

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

void dpt_table_free(struct dpt *t, void *table)
{
	struct mirror *m = container_of(t, struct mirror, dpt);

	lockdep_assert_held(&m->lock);
	if (m->nr_spares < MIRROR_SPARES_MAX) {
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
	struct mm_struct *mm = current->mm;
	struct mirror *m;
	int ret;

	if (!mm)
		return -EINVAL;

	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return -ENOMEM;

	mutex_init(&m->lock);
	dpt_init(&m->dpt);
	m->mm = mm;
	mmgrab(mm);

	ret = mmu_interval_notifier_insert(&m->notifier, mm, 0,
					   ULONG_MAX & PAGE_MASK,
					   &mirror_notifier_ops);
	if (ret) {
		mmdrop(mm);
		kfree(m);
		return ret;
	}
	*out = m;
	return 0;
}

void mirror_destroy(struct mirror *m)
{
	/* Waits for a running invalidation; none can start afterwards. */
	mmu_interval_notifier_remove(&m->notifier);

	mutex_lock(&m->lock);
	dpt_destroy(&m->dpt);
	mirror_free_extra(m->spares, m->nr_spares);
	m->nr_spares = 0;
	mutex_unlock(&m->lock);

	mmdrop(m->mm);
	mutex_destroy(&m->lock);
	kfree(m);
}
