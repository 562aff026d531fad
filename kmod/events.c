// SPDX-License-Identifier: GPL-2.0
/*
 * events.c - invalidation events for user space: the mapping from the
 * kernel's notifier events to the ABI's reasons, the EVENTS command, and
 * read() and poll() on the mirror fd.  The queue itself is the core's
 * bounded evq; it never allocates, so events are queued straight from the
 * invalidation callbacks.
 */
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "mirror.h"

/* Records handed out per read() pass. */
#define EVENTS_READ_BATCH	16

/**
 * mirror_event_reason() - the ABI's reason for a notifier event
 * @event: why the kernel invalidates (struct mmu_notifier_range)
 *
 * Context: Any context.
 * Return: an HMM_MIRROR_EVENT_* reason; HMM_MIRROR_EVENT_OTHER for an
 * event this ABI version has no name for.
 */
u32 mirror_event_reason(enum mmu_notifier_event event)
{
	switch (event) {
	case MMU_NOTIFY_UNMAP:
		return HMM_MIRROR_EVENT_UNMAP;
	case MMU_NOTIFY_CLEAR:
		return HMM_MIRROR_EVENT_CLEAR;
	case MMU_NOTIFY_PROTECTION_VMA:
	case MMU_NOTIFY_PROTECTION_PAGE:
		return HMM_MIRROR_EVENT_PROTECTION;
	case MMU_NOTIFY_SOFT_DIRTY:
		return HMM_MIRROR_EVENT_SOFT_DIRTY;
	case MMU_NOTIFY_RELEASE:
		return HMM_MIRROR_EVENT_RELEASE;
	case MMU_NOTIFY_MIGRATE:
		return HMM_MIRROR_EVENT_MIGRATE;
	case MMU_NOTIFY_EXCLUSIVE:
		return HMM_MIRROR_EVENT_EXCLUSIVE;
	default:
		return HMM_MIRROR_EVENT_OTHER;
	}
}

/**
 * mirror_events_config() - choose the reasons queued and the queue length
 * @m: the mirror
 * @reasons: BIT() of each HMM_MIRROR_EVENT_* reason to queue; 0: none
 * @queue_len: records the queue holds; 0: HMM_MIRROR_EVENTS_DEFAULT_LEN
 *
 * EVENTS.  A new length allocates a new queue, before taking m->lock, and
 * only while no record is pending.
 *
 * Context: Process context, may sleep.  Takes m->lock.
 * Return: 0; -EINVAL for an unknown reason or a length above
 * HMM_MIRROR_EVENTS_MAX_LEN; -ENOMEM; -EBUSY if the length changes while
 * records are pending; -EAGAIN if another call changed the length meanwhile.
 */
int mirror_events_config(struct mirror *m, u32 reasons, u32 queue_len)
{
	struct hmm_mirror_event *ring = NULL, *old = NULL;
	int ret = 0;

	if (reasons & ~HMM_MIRROR_EVENT_ALL_REASONS)
		return -EINVAL;
	if (!queue_len)
		queue_len = HMM_MIRROR_EVENTS_DEFAULT_LEN;
	if (queue_len > HMM_MIRROR_EVENTS_MAX_LEN)
		return -EINVAL;

	/* Allocate before locking: the notifier takes m->lock. */
	if (queue_len != READ_ONCE(m->events.cap)) {
		ring = kvcalloc(queue_len, sizeof(*ring), GFP_KERNEL);
		if (!ring)
			return -ENOMEM;
	}

	/* Applies deferred invalidations under the old reasons. */
	mirror_lock(m);
	if (queue_len != m->events.cap) {
		if (evq_pending(&m->events)) {
			ret = -EBUSY;
			old = ring;
			goto unlock;
		}
		if (!ring) {	/* the length changed since we looked */
			ret = -EAGAIN;
			goto unlock;
		}
		old = m->events.ring;
		evq_resize(&m->events, ring, queue_len);
	}
	m->event_reasons = reasons;
	m->events_configured = true;
unlock:
	mirror_unlock(m);
	kvfree(old);
	return ret;
}

/**
 * mirror_event_locked() - queue an event if user space asked for its reason
 * @m: the mirror
 * @reason: an HMM_MIRROR_EVENT_* reason
 * @flags: HMM_MIRROR_EVENT_FLAG_* for the record (a move's direction)
 * @start: first byte of the invalidated range
 * @end: end of the range
 * @pages: device pages the invalidation removed
 *
 * A full queue drops the record and counts it lost; readers are woken.
 *
 * Context: Holds m->lock, maybe in an invalidation callback under direct
 * reclaim: does not sleep or allocate.
 */
void mirror_event_locked(struct mirror *m, u32 reason, u32 flags,
			 unsigned long start, unsigned long end, u64 pages)
{
	u64 lost;

	lockdep_assert_held(&m->lock);
	if (!m->events.ring || !(m->event_reasons & BIT(reason)))
		return;
	lost = m->events.lost_total;
	evq_push_flags(&m->events, reason, flags, start, end, pages);
	if (m->events.lost_total != lost)
		mirror_count(m, MC(events_lost), 1);
	wake_up_all(&m->waitq);
}

/**
 * mirror_events_read() - read() on the mirror fd: hand out queued events
 * @m: the mirror
 * @buf: room for @count bytes of struct hmm_mirror_event records
 * @count: bytes; whole records only, at most EVENTS_READ_BATCH of them
 * @nonblock: fail with -EAGAIN instead of waiting for a record
 *
 * Records are dropped from the queue only once copied out.
 *
 * Context: Process context, may sleep: waits interruptibly for a record
 * unless @nonblock.  Takes m->read_lock, then m->lock (not across the copy).
 * Return: the bytes read; 0 once the address space exited and the queue is
 * empty; -EINVAL if @count is below one record or events were never
 * configured (and none is pending); -EAGAIN; -ERESTARTSYS; or -EFAULT.
 */
ssize_t mirror_events_read(struct mirror *m, char __user *buf, size_t count,
			   bool nonblock)
{
	struct hmm_mirror_event batch[EVENTS_READ_BATCH];
	/*
	 * The queue is checked under m->lock, a mutex, so the wait cannot be
	 * a wait_event() condition (it would sleep in a non-running task
	 * state): wait_woken() checks with the task running and sleeps
	 * without losing a wake-up between the check and the sleep.
	 */
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	size_t max = count / sizeof(batch[0]);
	ssize_t done = 0;
	int ret = 0;
	u32 n;

	if (!max)
		return -EINVAL;
	max = min_t(size_t, max, ARRAY_SIZE(batch));

	if (mutex_lock_interruptible(&m->read_lock))
		return -ERESTARTSYS;
	add_wait_queue(&m->waitq, &wait);
	for (;;) {
		bool released;

		mutex_lock(&m->lock);
		if (!m->events_configured && !evq_pending(&m->events)) {
			mutex_unlock(&m->lock);
			ret = -EINVAL;
			break;
		}
		n = evq_peek(&m->events, batch, max);
		released = m->released;
		mutex_unlock(&m->lock);

		if (n)
			break;
		if (released)
			break;	/* end of file */
		if (nonblock) {
			ret = -EAGAIN;
			break;
		}
		if (signal_pending(current)) {
			ret = -ERESTARTSYS;
			break;
		}
		wait_woken(&wait, TASK_INTERRUPTIBLE, MAX_SCHEDULE_TIMEOUT);
	}
	remove_wait_queue(&m->waitq, &wait);

	/* Copy unlocked (it may fault), then consume what was copied. */
	if (!ret && n) {
		if (copy_to_user(buf, batch, n * sizeof(batch[0]))) {
			ret = -EFAULT;
		} else {
			mutex_lock(&m->lock);
			evq_drop(&m->events, n);
			mutex_unlock(&m->lock);
			mirror_count(m, MC(events_delivered), n);
			done = n * sizeof(batch[0]);
		}
	}
	mutex_unlock(&m->read_lock);
	return ret ? ret : done;
}

/**
 * mirror_events_poll() - poll() on the mirror fd
 * @m: the mirror
 * @file: the mirror's file
 * @wait: the poll table
 *
 * Context: Process context, may sleep.  Takes m->lock.
 * Return: EPOLLIN | EPOLLRDNORM while a record is pending, EPOLLHUP once
 * the address space exited.
 */
__poll_t mirror_events_poll(struct mirror *m, struct file *file,
			    struct poll_table_struct *wait)
{
	__poll_t mask = 0;

	poll_wait(file, &m->waitq, wait);
	mutex_lock(&m->lock);
	if (evq_pending(&m->events))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (m->released)
		mask |= EPOLLHUP;
	mutex_unlock(&m->lock);
	return mask;
}

/**
 * mirror_events_free() - free the event queue of a mirror going away
 * @m: the mirror
 *
 * Context: From mirror_destroy(): no command, read() or notifier can run.
 */
void mirror_events_free(struct mirror *m)
{
	kvfree(m->events.ring);
	m->events.ring = NULL;
}
