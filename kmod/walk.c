// SPDX-License-Identifier: GPL-2.0
/*
 * walk.c - hmm_range_fault() under the interval-notifier retry protocol.
 */
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "devmem.h"
#include "snapshot_split.h"
#include "walk.h"

/*
 * Restarts of one piece, because an invalidation overlapped it, before
 * giving up with -EBUSY; so is a piece overlapped again and again for over
 * HMM_RANGE_DEFAULT_TIMEOUT.  Restarts for invalidations elsewhere in the
 * chunk (hmm_range_fault() sees the chunk's sequence move) do not count
 * towards these: a piece nobody touches must make progress.  They have
 * their own, much larger bound, only against a bug.
 */
#define WALK_MAX_RETRIES	64
#define WALK_MAX_OTHER_RETRIES	100000

static unsigned long piece_end(unsigned long start, unsigned long end)
{
	unsigned long next = ALIGN_DOWN(start, WALK_PIECE_BYTES) +
			     WALK_PIECE_BYTES;

	return min(end, next);
}

/*
 * One VMA covers [start, end): no page of it can be a hole, and the scan
 * for holes (a load per page, about 2% of a 4K snapshot) can be skipped.
 */
static bool vma_covers(struct mm_struct *mm, unsigned long start,
		       unsigned long end)
{
	struct vm_area_struct *vma = vma_lookup(mm, start);

	return vma && vma->vm_end >= end;
}

/*
 * Walk [start, end) (inside w->chunk) with hmm_range_fault(), run
 * ops->walked, and return with m->lock held and the result still valid (no
 * invalidation since the walk began).  With @vma_holes, pages with no VMA
 * at all are reported as 0 instead of HMM_PFN_ERROR, decided under the same
 * mmap_lock as the walk.  The caller holds an mm_users reference.
 */
static int walk_piece_locked(struct walk *w, unsigned long start,
			     unsigned long end, unsigned long req_flags,
			     bool vma_holes, const struct walk_ops *ops,
			     void *arg)
{
	struct mirror *m = w->m;
	struct mm_struct *mm = m->mm;
	unsigned long timeout = 0;
	unsigned int tries = 0, others = 0;
	int ret;

	w->range = (struct hmm_range) {
		.notifier = &w->chunk->notifier,
		.start = start,
		.end = end,
		.hmm_pfns = w->pfns,
		.default_flags = req_flags,
		.dev_private_owner = devmem_owner(),
	};

	/* From here on an invalidation of the piece marks w->hit. */
	mutex_lock(&m->lock);
	w->hit = false;
	list_add(&w->node, &m->walkers);
	mutex_unlock(&m->lock);

	for (;;) {
		bool hit = false;

		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		/* Also waits for a running invalidation of the chunk to end. */
		w->range.notifier_seq =
			mmu_interval_read_begin(w->range.notifier);
		ret = mmap_read_lock_killable(mm);
		if (ret)
			break;
		ret = hmm_range_fault(&w->range);
		if (!ret && vma_holes && !vma_covers(mm, start, end)) {
			unsigned long i, n = (end - start) >> PAGE_SHIFT;

			for (i = 0; i < n; i++)
				if ((w->pfns[i] & HMM_PFN_ERROR) &&
				    !vma_lookup(mm, start + (i << PAGE_SHIFT)))
					w->pfns[i] = 0;
		}
		mmap_read_unlock(mm);
		if (!ret && ops->walked) {
			ret = ops->walked(w, arg);
			if (ret)
				break;
		}

		if (!ret || ret == -EBUSY) {
			mirror_lock(m);
			/*
			 * Only an invalidation that overlapped the piece can
			 * have made what the walk saw stale; the chunk's
			 * sequence also moves for the rest of the chunk.
			 */
			if (!ret && !w->hit) {
				list_del(&w->node);
				return 0;	/* success: return locked */
			}
			hit = w->hit;
			w->hit = false;
			mirror_unlock(m);
			ret = -EBUSY;
		}
		if (ret != -EBUSY)
			break;
		w->retries++;
		if (!hit) {
			if (++others > WALK_MAX_OTHER_RETRIES)
				break;
			cond_resched();
			continue;
		}
		if (!tries++)
			timeout = jiffies +
				  msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
		else if (tries > WALK_MAX_RETRIES || time_after(jiffies, timeout))
			break;
	}
	mutex_lock(&m->lock);
	list_del(&w->node);
	mutex_unlock(&m->lock);
	return ret;
}

/**
 * mirror_mark_walkers_locked() - restart the walks an invalidation overlaps
 * @m: the mirror
 * @start: first byte of the range being invalidated
 * @end: end of the range
 *
 * An invalidation of [@start, @end) is under way: the walks of pieces it
 * overlaps must start again.
 *
 * Context: Holds m->lock, maybe in an invalidation callback under direct
 * reclaim: does not sleep.
 */
void mirror_mark_walkers_locked(struct mirror *m, unsigned long start,
				unsigned long end)
{
	struct walk *w;

	lockdep_assert_held(&m->lock);
	list_for_each_entry(w, &m->walkers, node)
		if (w->range.start < end && start < w->range.end)
			w->hit = true;
}

/**
 * walk_alloc() - a walker for @m
 * @m: the mirror
 *
 * Not cancellable; kfree() it.  Zeroed: newer kernels' hmm_range_fault()
 * (7.x of the matrix) keep the HMM_PFN_INOUT_FLAGS bits (DMA_MAPPED,
 * P2PDMA) of the pfns it is given, so they must start clear.
 *
 * Context: Process context, may sleep (GFP_KERNEL).
 * Return: the walker, or NULL.
 */
struct walk *walk_alloc(struct mirror *m)
{
	struct walk *w = kzalloc(sizeof(*w), GFP_KERNEL);

	if (w)
		w->m = m;
	return w;
}

/*
 * The end of the stretch from @start on that no VMA covers, at most @end;
 * @start if a VMA covers @start.  Remembers how far that VMA goes, so a
 * walk through one large VMA looks it up once.
 */
static unsigned long hole_end(struct walk *w, unsigned long start,
			      unsigned long end)
{
	struct mm_struct *mm = w->m->mm;
	struct vm_area_struct *vma;
	unsigned long hend = start;

	if (start < w->no_hole_until)
		return start;
	if (mmap_read_lock_killable(mm))
		return start;	/* the walk meets the signal itself */
	vma = find_vma(mm, start);
	if (!vma)
		hend = end;
	else if (vma->vm_start > start)
		hend = min(end, vma->vm_start);
	else
		w->no_hole_until = vma->vm_end;
	mmap_read_unlock(mm);
	return hend;
}

/**
 * walk_range() - walk a range piece by piece with the retry protocol
 * @w: the walker
 * @start: first byte of the range, page aligned
 * @end: end of the range, page aligned
 * @req_flags: HMM_PFN_REQ_* for every page (0: fault nothing)
 * @vma_holes: report pages with no VMA as 0, not HMM_PFN_ERROR, and hand
 *	stretches without any to @ops->hole if set
 * @ops: what to do with each walked piece
 * @arg: for @ops
 *
 * Walk [@start, @end) piece by piece with the retry protocol.  Takes the
 * mm_users reference and the chunk notifiers the walks need.  w->done
 * tells how far it got: every piece before it went through all the hooks.
 * With w->share, the walk ends early, returning 0, where the other
 * walker's claims begin.
 *
 * Context: Process context, or a helper's work item.  May sleep.  Needs
 * bind_sem, held by this task or, for a helper, by the task it works for.
 * Takes chunks_lock, mmap_lock for reading and m->lock; returns with none
 * held.  The hooks run as struct walk_ops says.
 * Return: 0, WALK_STOP (a hook ended the walk), WALK_PAUSE (at
 * w->pause_at) or a negative error: -ESRCH if the address space exited,
 * -ECANCELED (w->cancel), -EINTR on a fatal signal, -EBUSY if
 * invalidations keep restarting a piece, or the error of a hook, of
 * hmm_range_fault() or of registering a notifier.
 */
int walk_range(struct walk *w, unsigned long start, unsigned long end,
	       unsigned long req_flags, bool vma_holes,
	       const struct walk_ops *ops, void *arg)
{
	struct mirror *m = w->m;
	void *extra[MIRROR_SPARES_MAX];
	u64 retries = w->retries;	/* a walker may walk several ranges */
	int ret = 0;

	if (!w->helper)
		lockdep_assert_held(&m->bind_sem);
	w->done = start;
	w->no_hole_until = 0;
	if (!mmget_not_zero(m->mm))
		return -ESRCH;
	w->chunk = NULL;
	while (start < end) {
		unsigned long next = piece_end(start, end);
		unsigned int nr_extra = 0;

		if (w->cancel && atomic_read(w->cancel)) {
			ret = -ECANCELED;
			break;
		}
		if (vma_holes && ops->hole) {
			unsigned long hend = hole_end(w, start, end);

			if (hend > start) {
				if (w->share &&
				    !walk_share_claim_up(w->share, start, &hend))
					break;
				ret = ops->hole(w, start, hend, arg);
				if (ret)
					break;
				next = hend;
				goto walked;
			}
		}
		if (w->share && !walk_share_claim_up(w->share, start, &next))
			break;
		if (!w->chunk || start >= w->chunk->start + CHUNK_SIZE) {
			if (w->chunk)
				chunk_put(w->chunk);
			w->chunk = chunk_get(m, start);
			if (IS_ERR(w->chunk)) {
				ret = PTR_ERR(w->chunk);
				w->chunk = NULL;
				break;
			}
		}
		if (req_flags)
			mirror_refill_spares(m, extra, &nr_extra);
		ret = walk_piece_locked(w, start, next, req_flags, vma_holes,
					ops, arg);
		if (!ret) {
			if (nr_extra)
				mirror_refill_spares(m, extra, &nr_extra);
			if (ops->locked)
				ret = ops->locked(w, arg);
			mirror_unlock(m);
			if (!ret && ops->unlocked)
				ret = ops->unlocked(w, arg);
		}
		mirror_free_extra(extra, nr_extra);
		if (ret)
			break;
walked:
		start = next;
		w->done = next;
		if (w->pause_at && end - start >= w->pause_min &&
		    ktime_get_ns() >= w->pause_at) {
			ret = WALK_PAUSE;
			break;
		}
	}
	if (w->chunk)
		chunk_put(w->chunk);
	mmput(m->mm);
	mirror_count(m, MC(fault_retries), w->retries - retries);
	return ret;
}
