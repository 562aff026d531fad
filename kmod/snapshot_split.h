/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapshot_split.h - the split snapshot walk: one SNAPSHOT walked by the
 * caller and a helper on another CPU (DOC: Split snapshot walk in
 * snapshot_split.c).
 */
#ifndef HMM_MIRROR_KMOD_SNAPSHOT_SPLIT_H
#define HMM_MIRROR_KMOD_SNAPSHOT_SPLIT_H

#include <linux/atomic.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "walk.h"

/*
 * A range walked from both ends: one walker claims pieces going up from @lo,
 * another claims segments going down from @hi, and they meet wherever each
 * has got to.  Neither waits for the other, so a late second walker costs
 * the first nothing.
 */
struct walk_share {
	spinlock_t lock;	/* protects @lo and @hi */
	unsigned long lo;	/* [start, lo) is claimed going up */
	unsigned long hi;	/* [hi, end) is claimed going down */
};

/*
 * The helper: walks the caller's range from the top down, a segment at a
 * time, while the caller walks it from the bottom up; they meet wherever
 * they meet (struct walk_share), so a helper that starts late only helps
 * less.  Lives on the caller's stack; the caller always waits for it
 * (walk_with_helper()) before returning, so everything it points to
 * outlives it.
 *
 * The helper never sleeps on user memory: it writes per-page states into
 * the caller's array with page faults disabled, into pages the caller
 * faulted in.  On any error it gives its segment back and stops; the
 * caller walks that segment and meets the error itself, in its own
 * (killable) context.
 */
struct snapshot_helper {
	struct work_struct work;
	struct walk *w;
	struct walk_share share;
	const struct walk_ops *ops;
	void *arg;
	struct mm_struct *user_mm;	/* the caller's, when @ops write to it */
	/* Optional: before claiming a segment; false stops the helper. */
	bool (*seg_begin)(void *arg);
	/* Optional: after walking one; false gives it back and stops. */
	bool (*seg_end)(void *arg, int ret);
	atomic_t cancel;
};

bool walk_share_claim_up(struct walk_share *s, unsigned long start,
			 unsigned long *end);
int walk_until_split(struct walk *w, unsigned long start, unsigned long end,
		     const struct walk_ops *ops, void *arg);
bool snapshot_helper_start(struct snapshot_helper *h, struct walk *w,
			   unsigned long start, unsigned long end,
			   const struct walk_ops *ops, void *arg,
			   struct mm_struct *user_mm);
int walk_with_helper(struct walk *w, struct snapshot_helper *h, bool helper,
		     unsigned long end, const struct walk_ops *ops, void *arg);

#endif /* HMM_MIRROR_KMOD_SNAPSHOT_SPLIT_H */
