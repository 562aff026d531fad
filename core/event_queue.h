/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * event_queue.h - the bounded queue of invalidation events a mirror hands
 * to user space.
 *
 * The ring never grows and evq_push() never allocates, so events can be
 * queued from invalidation callbacks.  An event that finds the ring full is
 * counted as lost; when room frees up, one HMM_MIRROR_EVENT_LOST record
 * (seq = first lost event, pages = how many) goes in before any newer
 * event, so loss is never silent and seq numbers never have gaps.
 *
 * Locking: none inside; the owner serialises all calls on one queue.
 */
#ifndef HMM_CORE_EVENT_QUEUE_H
#define HMM_CORE_EVENT_QUEUE_H

#include "core_env.h"
#include "../abi/hmm_mirror.h"

struct evq {
	struct hmm_mirror_event *ring;	/* owner-provided, @cap records */
	u32 cap;
	u32 head;			/* oldest record */
	u32 count;			/* records in the ring */
	u64 next_seq;			/* seq of the next event generated */
	u64 lost;			/* lost since the last LOST record */
	u64 lost_first_seq;		/* seq of the first of those */
	u64 delivered;			/* records popped, LOST ones included */
	u64 lost_total;			/* events ever lost */
};

/* @ring holds @cap (>= 1) records; the queue starts empty. */
void evq_init(struct evq *q, struct hmm_mirror_event *ring, u32 cap);

/*
 * Switch an empty queue (evq_pending() == 0) to a new ring of @cap
 * records; sequence numbers and totals carry on.
 */
void evq_resize(struct evq *q, struct hmm_mirror_event *ring, u32 cap);

/* Generate one event (queued, or counted as lost). */
void evq_push(struct evq *q, u32 reason, u64 start, u64 end, u64 pages);
/* The same, with HMM_MIRROR_EVENT_FLAG_* @flags in the record. */
void evq_push_flags(struct evq *q, u32 reason, u32 flags, u64 start, u64 end,
		    u64 pages);

/*
 * Copy up to @max records into @out, oldest first, without consuming them;
 * returns how many.  A pending LOST record is turned into a queued one
 * when the ring has run empty.  evq_drop() then consumes what was copied,
 * so a reader that fails to hand records on loses none.
 */
u32 evq_peek(struct evq *q, struct hmm_mirror_event *out, u32 max);
/* Consume the @n oldest records (at most what evq_peek() returned). */
void evq_drop(struct evq *q, u32 n);
/* evq_peek() and evq_drop() in one. */
u32 evq_pop(struct evq *q, struct hmm_mirror_event *out, u32 max);

/* Records waiting, a pending LOST record included. */
u64 evq_pending(const struct evq *q);

#endif /* HMM_CORE_EVENT_QUEUE_H */
