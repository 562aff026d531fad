// SPDX-License-Identifier: GPL-2.0
/*
 * snapshot.c - SNAPSHOT: what the CPU page table maps, as one state per page
 * or as runs of equal pages, recorded nowhere.  A large range is walked by
 * the caller and one helper on another CPU at the same time: the walk
 * (hmm_range_fault() visits every PTE) is the whole cost of a 4K snapshot.
 */
#include <linux/cpumask.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "../abi/hmm_mirror.h"
#include "walk.h"

/* At least this much must be left for the rest to be split in two. */
#define SPLIT_MIN_BYTES		(32UL << 20)
/* Runs a helper closes before it stops and leaves the rest to the caller. */
#define HELPER_RUNS_MAX		4096UL

/*
 * A walk is split only once it has run for snapshot_split_us: a helper
 * costs a wake-up on another CPU, which a short walk (a small range, or
 * one of huge mappings) does not win back.
 */
static bool snapshot_split = true;
module_param(snapshot_split, bool, 0644);
MODULE_PARM_DESC(snapshot_split,
		 "Walk a long SNAPSHOT with two CPUs (default: Y)");
static unsigned int snapshot_split_us = 100;
module_param(snapshot_split_us, uint, 0644);
MODULE_PARM_DESC(snapshot_split_us,
		 "Split a SNAPSHOT walk still running after this many us with 32 MiB or more left (default: 100; 0: after its first 4 MiB)");

/* These run with user access enabled: no calls allowed. */
static __always_inline u32 snapshot_state(unsigned long hpfn)
{
	u32 state;

	if (hpfn & HMM_PFN_ERROR)
		return HMM_MIRROR_PAGE_ERROR;
	if (!(hpfn & HMM_PFN_VALID))
		return 0;

	/*
	 * Only the 4K zero page is recognised: the huge zero page is not
	 * exported to modules, so it reads as a read-only 2M page.
	 */
	state = HMM_MIRROR_PAGE_VALID |
		(hmm_pfn_to_map_order(hpfn) << HMM_MIRROR_PAGE_ORDER_SHIFT);
	if (is_zero_pfn(hmm_pfn_frame(hpfn)))
		state |= HMM_MIRROR_PAGE_ZERO;
	else if (hpfn & HMM_PFN_WRITE)
		state |= HMM_MIRROR_PAGE_WRITE;
	return state;
}

/*
 * Pages from entry @i of the walk on that belong to the same CPU mapping,
 * at most to the end of the walk.  Every 4K page of a huge mapping has
 * the same state, so a huge mapping is converted once.
 */
static __always_inline unsigned long
same_mapping_pages(const struct walk *w, unsigned long i, unsigned long n)
{
	unsigned long hpfn = w->pfns[i];
	unsigned long va, size;

	if (!(hpfn & HMM_PFN_VALID) || !hmm_pfn_to_map_order(hpfn))
		return 1;
	va = w->range.start + (i << PAGE_SHIFT);
	size = PAGE_SIZE << hmm_pfn_to_map_order(hpfn);
	return min((ALIGN_DOWN(va, size) + size - va) >> PAGE_SHIFT, n - i);
}

/*
 * Pages from entry @i of the walk on with the state of entry @i, at most to
 * the end of the walk: a huge mapping, or 4K pages whose entries have the
 * same flags and are all or none the zero page.  Comparing raw entries
 * keeps the per-page cost of a 4K walk's output to a few instructions.
 */
static __always_inline unsigned long
same_state_pages(const struct walk *w, unsigned long i, unsigned long n)
{
	unsigned long first = w->pfns[i], j;
	bool zero = is_zero_pfn(hmm_pfn_frame(first));

	if (hmm_pfn_to_map_order(first))
		return same_mapping_pages(w, i, n);
	for (j = i + 1; j < n; j++) {
		unsigned long hpfn = w->pfns[j];

		if (((hpfn ^ first) & HMM_PFN_FLAGS) ||
		    is_zero_pfn(hmm_pfn_frame(hpfn)) != zero)
			break;
	}
	return j - i;
}

/*
 * The helper: walks [start, end) of the caller's range on the unbound
 * workqueue while the caller walks the part before @start.  Lives on the
 * caller's stack; the caller always waits for it (helper_finish()) before
 * returning, so everything it points to outlives it.
 *
 * The helper never sleeps on user memory: it writes per-page states into
 * the caller's array with page faults disabled, into pages the caller
 * faulted in.  On any error it just stops; the caller walks on from where
 * it stopped and meets the error itself, in its own (killable) context.
 */
struct snapshot_helper {
	struct work_struct work;
	struct walk *w;
	unsigned long start, end;
	const struct walk_ops *ops;
	void *arg;
	struct mm_struct *user_mm;	/* the caller's, when @ops write to it */
	atomic_t cancel;
	unsigned long done;	/* walked and written up to here */
};

static void helper_work(struct work_struct *work)
{
	struct snapshot_helper *h = container_of(work, typeof(*h), work);

	if (h->user_mm)
		kthread_use_mm(h->user_mm);
	walk_range(h->w, h->start, h->end, 0, true, h->ops, h->arg);
	h->done = h->w->done;
	if (h->user_mm)
		kthread_unuse_mm(h->user_mm);
}

/* Make the caller's walk pause where the rest is worth splitting. */
static void split_later(struct walk *w)
{
	if (!READ_ONCE(snapshot_split) || num_online_cpus() < 2)
		return;
	w->pause_at = ktime_get_ns() +
		      (u64)READ_ONCE(snapshot_split_us) * NSEC_PER_USEC;
	w->pause_min = SPLIT_MIN_BYTES;
}

/*
 * Walk [start, end) alone until the walk is worth splitting.  Returns what
 * walk_range() returns; on WALK_PAUSE, *@from is where the walk stopped and
 * *@mid the middle of the rest at a piece boundary (both parts >= 16 MiB).
 */
static int walk_until_split(struct walk *w, unsigned long start,
			    unsigned long end, const struct walk_ops *ops,
			    void *arg, unsigned long *from, unsigned long *mid)
{
	int ret;

	split_later(w);
	ret = walk_range(w, start, end, 0, true, ops, arg);
	if (ret == WALK_PAUSE) {
		w->pause_at = 0;
		*from = w->done;
		*mid = ALIGN_DOWN(*from + (end - *from) / 2, WALK_CHUNK_BYTES);
	}
	return ret;
}

/* Queue a helper for [start, end); false if it cannot be had. */
static bool helper_start(struct snapshot_helper *h, struct mirror *m,
			 unsigned long start, unsigned long end,
			 const struct walk_ops *ops, void *arg,
			 struct mm_struct *user_mm)
{
	h->w = walk_alloc(m);
	if (!h->w)
		return false;
	atomic_set(&h->cancel, 0);
	h->w->cancel = &h->cancel;
	h->w->helper = true;
	h->start = start;
	h->end = end;
	h->ops = ops;
	h->arg = arg;
	h->user_mm = user_mm;
	h->done = start;
	INIT_WORK_ONSTACK(&h->work, helper_work);
	queue_work(system_unbound_wq, &h->work);
	return true;
}

/*
 * Wait for the helper, telling it to stop first if @cancel.  Returns where
 * the caller goes on: the helper's start if it never ran (dequeued unrun),
 * else as far as it walked.
 */
static unsigned long helper_finish(struct snapshot_helper *h, bool cancel)
{
	if (cancel)
		atomic_set(&h->cancel, 1);
	cancel_work_sync(&h->work);
	destroy_work_on_stack(&h->work);
	kfree(h->w);
	return h->done;
}

/* ---- one state per page ---- */

struct states_out {
	u32 __user *states;	/* the state of the page at @base */
	unsigned long base;
};

static u32 __user *states_at(const struct states_out *out, unsigned long va)
{
	return out->states + ((va - out->base) >> PAGE_SHIFT);
}

/*
 * Write the states of a walked piece straight to user memory.  This runs
 * before the walk is known valid: a piece walked again is written again.
 */
static int states_copy(struct walk *w, const struct states_out *out)
{
	unsigned long i = 0, n = (w->range.end - w->range.start) >> PAGE_SHIFT;
	u32 __user *dst = states_at(out, w->range.start);

	if (!user_write_access_begin(dst, n * sizeof(*dst)))
		return -EFAULT;
	while (i < n) {
		unsigned long end = i + same_state_pages(w, i, n);
		u32 state = snapshot_state(w->pfns[i]);

		do {
			unsafe_put_user(state, &dst[i], efault);
		} while (++i < end);
	}
	user_write_access_end();
	return 0;
efault:
	user_write_access_end();
	return -EFAULT;
}

static int states_write(struct walk *w, void *arg)
{
	int ret;

	if (!w->helper)
		return states_copy(w, arg);
	/* A helper must not sleep on user memory: see snapshot_helper. */
	pagefault_disable();
	ret = states_copy(w, arg);
	pagefault_enable();
	return ret;
}

static const struct walk_ops states_ops = { .walked = states_write };

int mirror_snapshot(struct mirror *m, unsigned long start, unsigned long end,
		    u32 __user *states)
{
	struct states_out out = { .states = states, .base = start };
	unsigned long from, mid, next;
	struct snapshot_helper h;
	struct walk *w;
	int ret;

	w = walk_alloc(m);
	if (!w)
		return -ENOMEM;
	ret = walk_until_split(w, start, end, &states_ops, &out, &from, &mid);
	if (ret != WALK_PAUSE)
		goto out;
	/* The helper's part of the array must be there before it starts. */
	if (fault_in_safe_writeable((const char __user *)states_at(&out, mid),
				    ((end - mid) >> PAGE_SHIFT) * sizeof(u32)) ||
	    !helper_start(&h, m, mid, end, &states_ops, &out, current->mm))
		mid = end;
	ret = walk_range(w, from, mid, 0, true, &states_ops, &out);
	if (mid < end) {
		next = helper_finish(&h, ret != 0);
		if (!ret && next < end)
			ret = walk_range(w, next, end, 0, true, &states_ops,
					 &out);
	}
out:
	kfree(w);
	return ret;
}

/* ---- runs of equal pages (HMM_MIRROR_PAGES_RUNS) ---- */

/*
 * Runs are closed into @buf and, in the caller, copied out after each piece
 * (unlocked).  The open run carries over to the next piece, so runs are
 * maximal across pieces.  A helper copies nothing: the caller appends the
 * helper's runs to its own (runs_merge()).
 */
struct runs_out {
	struct hmm_mirror_run __user *runs;	/* next free slot; NULL: helper */
	u64 room;		/* runs that may still be closed */
	u64 written;
	struct hmm_mirror_run *buf;	/* closed, not yet copied */
	unsigned long nbuf, cap;
	struct hmm_mirror_run open;	/* length 0: none */
	bool full;		/* @room is used up: stop */
};

/*
 * Add [va, va + len) in @state after the open run.  Returns false, and adds
 * nothing, once @room runs are closed.
 */
static bool runs_add(struct runs_out *out, unsigned long va, unsigned long len,
		     u32 state)
{
	if (out->open.length && out->open.state == state &&
	    out->open.addr + out->open.length == va) {
		out->open.length += len;
		return true;
	}
	if (out->open.length) {
		out->buf[out->nbuf++] = out->open;
		out->open.length = 0;
		if (out->nbuf == out->room) {
			out->full = true;
			return false;
		}
	}
	out->open = (struct hmm_mirror_run) {
		.addr = va, .length = len, .state = state,
	};
	return true;
}

/*
 * Under m->lock.  @out's buffer is empty at the start of a piece, and a
 * piece closes at most one run per page: at most @cap.
 */
static int runs_convert(struct walk *w, void *arg)
{
	struct runs_out *out = arg;
	unsigned long start = w->range.start;
	unsigned long i = 0, n = (w->range.end - start) >> PAGE_SHIFT;

	while (i < n) {
		unsigned long pages = same_state_pages(w, i, n);

		if (!runs_add(out, start + (i << PAGE_SHIFT),
			      pages << PAGE_SHIFT, snapshot_state(w->pfns[i])))
			break;
		i += pages;
	}
	return 0;
}

static int runs_flush(struct runs_out *out, const struct hmm_mirror_run *r,
		      unsigned long nr)
{
	if (copy_to_user(out->runs, r, nr * sizeof(*r)))
		return -EFAULT;
	out->runs += nr;
	out->room -= nr;
	out->written += nr;
	return 0;
}

static int runs_copy(struct walk *w, void *arg)
{
	struct runs_out *out = arg;
	int ret = 0;

	if (out->runs) {
		ret = runs_flush(out, out->buf, out->nbuf);
		out->nbuf = 0;
	}
	return ret ? ret : out->full ? WALK_STOP : 0;
}

static const struct walk_ops runs_ops = {
	.locked = runs_convert,
	.unlocked = runs_copy,
};

/*
 * Append the runs of a helper that walked on from where @out ends, and copy
 * them out: @out's buffer is empty again when a piece is walked after this.
 * Returns 0, WALK_STOP once the user's slots are full, or an error.
 */
static int runs_merge(struct runs_out *out, const struct runs_out *h)
{
	unsigned long k;
	int ret;

	for (k = 0; k <= h->nbuf; k++) {
		const struct hmm_mirror_run *r = k < h->nbuf ? &h->buf[k] :
							       &h->open;

		if (!r->length)
			continue;
		if (runs_add(out, r->addr, r->length, r->state) &&
		    out->nbuf < out->cap)
			continue;
		ret = runs_copy(NULL, out);
		if (ret)
			return ret;
	}
	return runs_copy(NULL, out);
}

/* Where a helper's runs end: the caller walks on from there. */
static unsigned long runs_end(const struct runs_out *h, unsigned long start)
{
	const struct hmm_mirror_run *last;

	if (h->open.length)
		last = &h->open;
	else if (h->nbuf)
		last = &h->buf[h->nbuf - 1];
	else
		return start;
	return last->addr + last->length;
}

int mirror_snapshot_runs(struct mirror *m, unsigned long start,
			 unsigned long end, struct hmm_mirror_run __user *runs,
			 u64 max_runs, u64 *nr_runs)
{
	struct runs_out out = {
		.runs = runs, .room = max_runs, .cap = WALK_CHUNK_PAGES,
	};
	/* The helper's runs come after the caller's: at most max_runs. */
	struct runs_out hout = { .cap = min_t(u64, HELPER_RUNS_MAX, max_runs) };
	unsigned long from, mid, next;
	struct snapshot_helper h;
	struct walk *w;
	int ret = -ENOMEM;

	w = walk_alloc(m);
	out.buf = kvmalloc_array(out.cap, sizeof(*out.buf), GFP_KERNEL);
	if (!w || !out.buf)
		goto out;
	ret = walk_until_split(w, start, end, &runs_ops, &out, &from, &mid);
	if (ret != WALK_PAUSE)
		goto done;
	hout.room = hout.cap;
	hout.buf = kvmalloc_array(hout.cap, sizeof(*hout.buf), GFP_KERNEL);
	if (!hout.buf ||
	    !helper_start(&h, m, mid, end, &runs_ops, &hout, NULL))
		mid = end;
	ret = walk_range(w, from, mid, 0, true, &runs_ops, &out);
	if (mid < end) {
		/* Its runs say how far it got, wherever it stopped. */
		helper_finish(&h, ret != 0);
		if (!ret)
			ret = runs_merge(&out, &hout);
		next = runs_end(&hout, mid);
		if (!ret && next < end)
			ret = walk_range(w, next, end, 0, true, &runs_ops,
					 &out);
	}
done:
	if (ret == WALK_STOP)
		ret = 0;
	else if (!ret && out.open.length)
		ret = runs_flush(&out, &out.open, 1);
out:
	*nr_runs = out.written;
	kvfree(hout.buf);
	kvfree(out.buf);
	kfree(w);
	return ret;
}
