// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * event_queue.c - bounded invalidation-event queue; see event_queue.h.
 */
#include "event_queue.h"

void evq_init(struct evq *q, struct hmm_mirror_event *ring, u32 cap)
{
	*q = (struct evq) { .ring = ring, .cap = cap };
}

void evq_resize(struct evq *q, struct hmm_mirror_event *ring, u32 cap)
{
	q->ring = ring;
	q->cap = cap;
	q->head = 0;
	q->count = 0;
}

static void put(struct evq *q, u32 reason, u32 flags, u64 start, u64 end,
		u64 seq, u64 pages)
{
	struct hmm_mirror_event *e = &q->ring[(q->head + q->count) % q->cap];

	*e = (struct hmm_mirror_event) {
		.size = sizeof(*e),
		.reason = reason,
		.start = start,
		.end = end,
		.seq = seq,
		.pages = pages,
		.flags = flags,
	};
	q->count++;
}

/* Turn the lost events into a LOST record once there is room for it. */
static void flush_lost(struct evq *q)
{
	if (!q->lost || q->count == q->cap)
		return;
	put(q, HMM_MIRROR_EVENT_LOST, 0, 0, 0, q->lost_first_seq, q->lost);
	q->lost = 0;
}

void evq_push(struct evq *q, u32 reason, u64 start, u64 end, u64 pages)
{
	evq_push_flags(q, reason, 0, start, end, pages);
}

void evq_push_flags(struct evq *q, u32 reason, u32 flags, u64 start, u64 end,
		    u64 pages)
{
	u64 seq = q->next_seq++;

	flush_lost(q);
	if (!q->lost && q->count < q->cap) {
		put(q, reason, flags, start, end, seq, pages);
		return;
	}
	if (!q->lost)
		q->lost_first_seq = seq;
	q->lost++;
	q->lost_total++;
}

u32 evq_peek(struct evq *q, struct hmm_mirror_event *out, u32 max)
{
	u32 n;

	if (!q->count)
		flush_lost(q);
	for (n = 0; n < max && n < q->count; n++)
		out[n] = q->ring[(q->head + n) % q->cap];
	return n;
}

void evq_drop(struct evq *q, u32 n)
{
	if (n > q->count)
		n = q->count;
	q->head = (q->head + n) % q->cap;
	q->count -= n;
	q->delivered += n;
}

u32 evq_pop(struct evq *q, struct hmm_mirror_event *out, u32 max)
{
	u32 n = 0, got;

	do {
		got = evq_peek(q, out + n, max - n);
		evq_drop(q, got);
		n += got;
	} while (got && n < max);
	return n;
}

u64 evq_pending(const struct evq *q)
{
	return q->count + (q->lost ? 1 : 0);
}
