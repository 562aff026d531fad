// SPDX-License-Identifier: GPL-2.0
/*
 * snapshot_split.c - the split snapshot walk: one SNAPSHOT walked by the
 * caller and a helper on another CPU at the same time, from the range's
 * two ends.
 *
 * DOC: Split snapshot walk
 *
 * A SNAPSHOT walk that has run for snapshot_split_us (100 us) with
 * SPLIT_MIN_BYTES (32 MiB) or more left queues a helper on the unbound
 * workqueue; the helper walks down from the end a segment at a time while
 * the caller walks on up, each claiming its next piece under a spinlock
 * (struct walk_share) until they meet.  Why: the walk (hmm_range_fault()
 * visits every PTE) is the whole cost of a 4K snapshot, and a short walk
 * never pays for waking another CPU, hence the delay.  The module
 * parameter snapshot_split=0 (also writable in /sys/module/hmm_mirror/
 * parameters/) turns it off, as does a single online CPU: every walk is
 * then the caller's alone.  Measured (bench/README.md): 1.4x to 1.8x of
 * one walker for 4K pages on 6.1, depending on how soon the host wakes the
 * idle vCPU; nothing for THP on 6.1 (0.88x to 0.97x: its walk is short);
 * a loss for THP on 7.3 (0.52x to 0.67x at 256 MiB), not looked into.
 *
 * What the helper writes is the output's business (snapshot.c): per-page
 * states straight into the caller's array, runs into a buffer of its own
 * that the caller merges after its own (runs_merge()).
 */
#include <linux/cpumask.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>

#include "compat_workqueue.h"
#include "snapshot_split.h"

/* At least this much must be left for a helper to be worth having. */
#define SPLIT_MIN_BYTES		(32UL << 20)
/* A helper claims segments of at least this much. */
#define HELPER_SEG_MIN_BYTES	(8UL << 20)

/*
 * A walk gets a helper only once it has run for snapshot_split_us: a
 * helper costs a wake-up on another CPU, which a short walk (a small
 * range, or one of huge mappings) does not win back.
 */
static bool snapshot_split = true;
module_param(snapshot_split, bool, 0644);
MODULE_PARM_DESC(snapshot_split,
		 "Walk a long SNAPSHOT with two CPUs (default: Y)");
static unsigned int snapshot_split_us = 100;
module_param(snapshot_split_us, uint, 0644);
MODULE_PARM_DESC(snapshot_split_us,
		 "Give a SNAPSHOT walk still running after this many us, with 32 MiB or more left, a helper (default: 100; 0: after its first 4 MiB)");

/**
 * walk_share_init() - share [@start, @end) between two walkers
 * @s: the share
 * @start: first byte of the range
 * @end: end of the range
 */
static void walk_share_init(struct walk_share *s, unsigned long start,
			    unsigned long end)
{
	spin_lock_init(&s->lock);
	s->lo = start;
	s->hi = end;
}

/**
 * walk_share_claim_up() - claim the next piece going up
 * @s: the share
 * @start: first byte of the piece, where the last claim going up ended
 * @end: end of the piece; lowered to where the other walker's claims begin
 *
 * Claim [@start, *@end) going up, or the part of it below the other
 * walker's claims.  The walker's side of the share, called by walk_range().
 *
 * Context: Any context.  Takes @s->lock, a spinlock.
 * Return: true if a part was claimed, false if nothing is left.
 */
bool walk_share_claim_up(struct walk_share *s, unsigned long start,
			 unsigned long *end)
{
	bool ok;

	spin_lock(&s->lock);
	ok = start < s->hi;
	if (ok) {
		*end = min(*end, s->hi);
		s->lo = *end;
	}
	spin_unlock(&s->lock);
	return ok;
}

/**
 * walk_share_claim_down() - claim the next segment going down
 * @s: the share
 * @min_bytes: the least a segment holds, unless less is left
 * @start: first byte of the segment claimed
 * @end: end of the segment claimed
 *
 * Claim a segment going down: a thirty-second of what is left, at least
 * @min_bytes, in whole pieces.
 *
 * Context: Any context.  Takes @s->lock, a spinlock.
 * Return: true if a segment was claimed, false if nothing is left.
 */
static bool walk_share_claim_down(struct walk_share *s, unsigned long min_bytes,
				  unsigned long *start, unsigned long *end)
{
	unsigned long bytes, from;

	spin_lock(&s->lock);
	bytes = max((s->hi - min(s->lo, s->hi)) / 32, min_bytes);
	from = s->hi > s->lo + bytes ?
	       ALIGN_DOWN(s->hi - bytes, WALK_PIECE_BYTES) : s->lo;
	*start = max(from, s->lo);
	*end = s->hi;
	if (*start < *end)
		s->hi = *start;
	spin_unlock(&s->lock);
	return *start < *end;
}

/**
 * walk_share_give_back() - give back the segment last claimed going down
 * @s: the share
 * @start: first byte of the segment
 * @end: end of the segment
 *
 * Give back [@start, @end), not walked in full: the walker going up walks
 * it (again) once it gets there.
 *
 * Context: Any context.  Takes @s->lock, a spinlock.
 */
static void walk_share_give_back(struct walk_share *s, unsigned long start,
				 unsigned long end)
{
	spin_lock(&s->lock);
	WARN_ON_ONCE(s->hi != start);
	s->hi = end;
	spin_unlock(&s->lock);
}

/* The helper's work: segments going down until none is left or one fails. */
static void helper_work(struct work_struct *work)
{
	struct snapshot_helper *h = container_of(work, typeof(*h), work);
	unsigned long start, end;
	int ret;

	if (h->user_mm)
		kthread_use_mm(h->user_mm);
	while ((!h->seg_begin || h->seg_begin(h->arg)) &&
	       walk_share_claim_down(&h->share, HELPER_SEG_MIN_BYTES, &start,
				     &end)) {
		ret = walk_range(h->w, start, end, 0, true, h->ops, h->arg);
		if (h->seg_end ? !h->seg_end(h->arg, ret) : ret) {
			walk_share_give_back(&h->share, start, end);
			break;
		}
	}
	if (h->user_mm)
		kthread_unuse_mm(h->user_mm);
}

/**
 * walk_until_split() - walk a snapshot's range alone while that pays
 * @w: the caller's walker
 * @start: first byte of the range
 * @end: end of the range
 * @ops: the snapshot's output
 * @arg: for @ops
 *
 * Walk [@start, @end) alone until the walk is worth sharing: it has run
 * snapshot_split_us and at least SPLIT_MIN_BYTES are left.  With
 * snapshot_split off, or one CPU online, the walk is never paused.
 *
 * Context: Process context, may sleep.  The caller holds bind_sem for
 * reading; takes what walk_range() takes.
 * Return: what walk_range() returns; on WALK_PAUSE, w->done is where the
 * walk stopped.
 */
int walk_until_split(struct walk *w, unsigned long start, unsigned long end,
		     const struct walk_ops *ops, void *arg)
{
	int ret;

	if (READ_ONCE(snapshot_split) && num_online_cpus() >= 2) {
		w->pause_at = ktime_get_ns() +
			      (u64)READ_ONCE(snapshot_split_us) * NSEC_PER_USEC;
		w->pause_min = SPLIT_MIN_BYTES;
	}
	ret = walk_range(w, start, end, 0, true, ops, arg);
	w->pause_at = 0;
	return ret;
}

/**
 * snapshot_helper_start() - queue a helper for the top of a range
 * @h: the helper, on the caller's stack; seg_begin and seg_end set or NULL
 * @w: the caller's walker, which then shares the range with the helper
 * @start: first byte of what is left of the range
 * @end: end of the range
 * @ops: the snapshot's output, for the helper's walker
 * @arg: for @ops
 * @user_mm: the caller's mm, when @ops write to its memory; else NULL
 *
 * Queue a helper for [@start, @end) and make @w share the range with it.
 * The caller must then call walk_with_helper() with @helper true.
 *
 * Context: Process context, may sleep (allocates with GFP_KERNEL).
 * Return: true if the helper is queued, false if no helper can be had.
 */
bool snapshot_helper_start(struct snapshot_helper *h, struct walk *w,
			   unsigned long start, unsigned long end,
			   const struct walk_ops *ops, void *arg,
			   struct mm_struct *user_mm)
{
	h->w = walk_alloc(w->m);
	if (!h->w)
		return false;
	atomic_set(&h->cancel, 0);
	h->w->cancel = &h->cancel;
	h->w->helper = true;
	walk_share_init(&h->share, start, end);
	h->ops = ops;
	h->arg = arg;
	h->user_mm = user_mm;
	INIT_WORK_ONSTACK(&h->work, helper_work);
	queue_work(compat_unbound_wq, &h->work);
	w->share = &h->share;
	return true;
}

/*
 * Wait for the helper, telling it to stop first if @cancel.  Returns where
 * the helper's walk begins, which is the end of the range if it never ran:
 * the caller walks on from where it stopped to there.
 */
static unsigned long helper_finish(struct snapshot_helper *h, struct walk *w,
				   bool cancel)
{
	w->share = NULL;
	if (cancel)
		atomic_set(&h->cancel, 1);
	cancel_work_sync(&h->work);
	destroy_work_on_stack(&h->work);
	kfree(h->w);
	return h->share.hi;
}

/**
 * walk_with_helper() - walk the rest of a snapshot's range, maybe shared
 * @w: the caller's walker, paused by walk_until_split()
 * @h: the helper
 * @helper: snapshot_helper_start() queued @h
 * @end: end of the range
 * @ops: the snapshot's output
 * @arg: for @ops
 *
 * Walk on from w->done to @end, sharing the walk with @h if @helper, then
 * wait for the helper and walk what it left (its start, or a segment it
 * gave back).  A failed walk stops the helper first.
 *
 * Context: Process context, may sleep.  The caller holds bind_sem for
 * reading, for itself and for the helper, which it waits for; takes what
 * walk_range() takes.
 * Return: 0, WALK_STOP or a negative error, as walk_range().
 */
int walk_with_helper(struct walk *w, struct snapshot_helper *h, bool helper,
		     unsigned long end, const struct walk_ops *ops, void *arg)
{
	unsigned long next;
	int ret;

	ret = walk_range(w, w->done, end, 0, true, ops, arg);
	if (!helper)
		return ret;
	next = helper_finish(h, w, ret != 0);
	if (!ret && w->done < next)
		ret = walk_range(w, w->done, next, 0, true, ops, arg);
	return ret;
}
