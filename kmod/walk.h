/* SPDX-License-Identifier: GPL-2.0 */
/*
 * walk.h - hmm_range_fault() over a range, piece by piece, under the
 * interval-notifier retry protocol.  Used by device faults (fault.c) and
 * snapshots (snapshot.c, snapshot_split.c).
 */
#ifndef HMM_MIRROR_KMOD_WALK_H
#define HMM_MIRROR_KMOD_WALK_H

#include <linux/atomic.h>
#include <linux/hmm.h>

#include "mirror.h"

struct walk_share;

/* One walk covers at most this much, aligned to it, so a 2M page is whole. */
#define WALK_PIECE_PAGES	1024UL
#define WALK_PIECE_BYTES	(WALK_PIECE_PAGES << PAGE_SHIFT)

/* Returned by a walk_ops hook to end the walk early, without an error. */
#define WALK_STOP	1
/* Returned by walk_range() when it paused at w->pause_at (see there). */
#define WALK_PAUSE	2

/* The page frame of a hmm_range_fault() output entry. */
static inline unsigned long hmm_pfn_frame(unsigned long hpfn)
{
	return hpfn & ~HMM_PFN_FLAGS;
}

/*
 * One walker.  Everything but @cancel is owned by the thread running
 * walk_range(); @cancel may be set by another thread to end the walk at the
 * next piece with -ECANCELED.
 */
struct walk {
	struct mirror *m;
	struct mirror_chunk *chunk;	/* whose notifier guards the walk */
	struct hmm_range range;		/* the piece being walked */
	/*
	 * On m->walkers while a piece is walked; @hit is set by an
	 * invalidation that overlaps the piece.  Both under m->lock.
	 */
	struct list_head node;
	bool hit;
	unsigned long pfns[WALK_PIECE_PAGES];
	u64 retries;
	unsigned long done;		/* walk_range() got this far */
	/*
	 * Optional: walk_range() returns WALK_PAUSE at the first piece
	 * boundary at or after @pause_at (ktime_get_ns()) that leaves at
	 * least @pause_min bytes to walk.
	 */
	u64 pause_at;
	unsigned long pause_min;
	atomic_t *cancel;		/* optional */
	/*
	 * Optional: walk_range() claims each piece going up from @share->lo
	 * first, and returns 0 where the other walker's claims begin (the
	 * split snapshot walk, snapshot_split.c).
	 */
	struct walk_share *share;
	/* [.., no_hole_until) is known to be inside one VMA. */
	unsigned long no_hole_until;
	/*
	 * Run by a helper for a thread that holds m->bind_sem and waits for
	 * the helper: the binding cannot change, although lockdep cannot
	 * see the semaphore held by this task.
	 */
	bool helper;
};

/*
 * What walk_range() does with each walked piece; every hook is optional.
 * A hook returns 0, WALK_STOP or a negative error.
 */
struct walk_ops {
	/*
	 * Right after the walk, holding no lock: the pfns may already be
	 * stale.  If an invalidation overlapped the walk, the piece is walked
	 * again and @walked runs again, so it must only produce output that
	 * the next call overwrites (it may fault on user memory).
	 */
	int (*walked)(struct walk *w, void *arg);
	/* With m->lock held, the pfns known valid: device mappings go here. */
	int (*locked)(struct walk *w, void *arg);
	/* After unlocking: user copies of what @locked produced go here. */
	int (*unlocked)(struct walk *w, void *arg);
	/*
	 * Walks with holes reported (vma_holes): [start, end) has no VMA at
	 * all, so every page of it is a hole; called instead of the hooks
	 * above, without walking its page tables or taking its notifiers.
	 */
	int (*hole)(struct walk *w, unsigned long start, unsigned long end,
		    void *arg);
};

struct walk *walk_alloc(struct mirror *m);
int walk_range(struct walk *w, unsigned long start, unsigned long end,
	       unsigned long req_flags, bool vma_holes,
	       const struct walk_ops *ops, void *arg);

#endif /* HMM_MIRROR_KMOD_WALK_H */
