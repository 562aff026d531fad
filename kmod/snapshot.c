// SPDX-License-Identifier: GPL-2.0
/*
 * snapshot.c - SNAPSHOT: what the CPU page table maps, as one state per page
 * or as runs of equal pages, recorded nowhere: the states and how they are
 * written out.  A long walk is shared with a helper on another CPU
 * (snapshot_split.c).
 */
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "../abi/hmm_mirror.h"
#include "devmem.h"
#include "snapshot_split.h"

/* Runs and segments a helper keeps before it leaves the rest. */
#define HELPER_RUNS_MAX		4096UL
#define HELPER_SEGS_MAX		512U

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
	if (devmem_pfn(hmm_pfn_frame(hpfn)))
		state |= HMM_MIRROR_PAGE_DEVICE;
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
 * same flags and are all or none the zero page, all or none in device
 * memory.  Comparing raw entries
 * keeps the per-page cost of a 4K walk's output to a few instructions.
 */
static __always_inline unsigned long
same_state_pages(const struct walk *w, unsigned long i, unsigned long n)
{
	unsigned long first = w->pfns[i], j;
	bool zero = is_zero_pfn(hmm_pfn_frame(first));
	bool dev = devmem_pfn(hmm_pfn_frame(first));

	if (hmm_pfn_to_map_order(first))
		return same_mapping_pages(w, i, n);
	for (j = i + 1; j < n; j++) {
		unsigned long hpfn = w->pfns[j];

		if (((hpfn ^ first) & HMM_PFN_FLAGS) ||
		    is_zero_pfn(hmm_pfn_frame(hpfn)) != zero ||
		    devmem_pfn(hmm_pfn_frame(hpfn)) != dev)
			break;
	}
	return j - i;
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
 * The states are worked out with user access closed (objtool: no calls,
 * bounds-check handlers included, with UACCESS enabled), a run at a time.
 */
static int states_copy(struct walk *w, const struct states_out *out)
{
	unsigned long i = 0, n = (w->range.end - w->range.start) >> PAGE_SHIFT;
	u32 __user *dst = states_at(out, w->range.start);

	while (i < n) {
		unsigned long end = i + same_state_pages(w, i, n);
		u32 state = snapshot_state(w->pfns[i]);

		if (!user_write_access_begin(&dst[i], (end - i) * sizeof(*dst)))
			return -EFAULT;
		do {
			unsafe_put_user(state, &dst[i], efault);
		} while (++i < end);
		user_write_access_end();
	}
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

/* No VMA in [start, end): zeros, without walking it. */
static int states_hole(struct walk *w, unsigned long start, unsigned long end,
		       void *arg)
{
	u32 __user *dst = states_at(arg, start);
	unsigned long bytes = ((end - start) >> PAGE_SHIFT) * sizeof(*dst);
	unsigned long left;

	if (!w->helper)
		return clear_user(dst, bytes) ? -EFAULT : 0;
	pagefault_disable();
	left = clear_user(dst, bytes);
	pagefault_enable();
	return left ? -EFAULT : 0;
}

static const struct walk_ops states_ops = {
	.walked = states_write,
	.hole = states_hole,
};

/**
 * mirror_snapshot() - what the CPU page table maps, one state per page
 * @m: the mirror
 * @start: first byte of the range, page aligned
 * @end: end of the range, page aligned, above @start
 * @states: one HMM_MIRROR_PAGE_* state per page of the range (0: no page)
 *
 * SNAPSHOT: walks the CPU page table without faulting and records nothing
 * in the device page table.  A long walk is shared with a helper on
 * another CPU (snapshot_split.c), which writes into @states as well.
 *
 * Context: Process context, may sleep.  The caller holds bind_sem for
 * reading; takes what walk_range() takes, and waits for the helper.
 * Return: 0; -ENOMEM; -EFAULT if @states cannot be written; -ESRCH if the
 * address space exited; -EINTR on a fatal signal; or another error of the
 * walk (walk_range()).
 */
int mirror_snapshot(struct mirror *m, unsigned long start, unsigned long end,
		    u32 __user *states)
{
	struct states_out out = { .states = states, .base = start };
	struct snapshot_helper h = {};
	unsigned long from, mid;
	struct walk *w;
	bool helper;
	int ret;

	w = walk_alloc(m);
	if (!w)
		return -ENOMEM;
	ret = walk_until_split(w, start, end, &states_ops, &out);
	if (ret != WALK_PAUSE)
		goto out;
	/*
	 * The helper needs the array there: fault in the top half, which is
	 * as far as it gets with both walking at one speed.  Should it get
	 * further, it stops at the first page that is not there.
	 */
	from = w->done;
	mid = ALIGN_DOWN(from + (end - from) / 2, PAGE_SIZE);
	helper = !fault_in_safe_writeable((const char __user *)states_at(&out, mid),
					  ((end - mid) >> PAGE_SHIFT) * sizeof(u32)) &&
		 snapshot_helper_start(&h, w, from, end, &states_ops, &out,
				       current->mm);
	ret = walk_with_helper(w, &h, helper, end, &states_ops, &out);
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

/* No VMA in [start, end): one run of holes, without walking it. */
static int runs_hole(struct walk *w, unsigned long start, unsigned long end,
		     void *arg)
{
	runs_add(arg, start, end - start, 0);
	return runs_copy(w, arg);
}

static const struct walk_ops runs_ops = {
	.locked = runs_convert,
	.unlocked = runs_copy,
	.hole = runs_hole,
};

/*
 * A helper's runs: closed at the end of every segment, segment after
 * segment from the top down (@seg_first[k] is the first run of the k-th
 * segment claimed).
 */
struct runs_helper_out {
	struct runs_out out;
	unsigned long *seg_first;
	unsigned int nsegs;
};

static bool runs_seg_begin(void *arg)
{
	struct runs_helper_out *h = container_of(arg, typeof(*h), out);

	if (h->nsegs == HELPER_SEGS_MAX || h->out.nbuf >= h->out.room)
		return false;
	h->seg_first[h->nsegs] = h->out.nbuf;
	return true;
}

/*
 * A segment walked in full closes its open run (a walk that did not fill
 * the buffer left room for one); any other drops the segment's runs.
 */
static bool runs_seg_end(void *arg, int ret)
{
	struct runs_helper_out *h = container_of(arg, typeof(*h), out);
	struct runs_out *out = &h->out;

	if (ret) {
		out->nbuf = h->seg_first[h->nsegs];
		out->open.length = 0;
		return false;
	}
	if (out->open.length) {
		out->buf[out->nbuf++] = out->open;
		out->open.length = 0;
	}
	h->nsegs++;
	return true;
}

/*
 * Append the runs of a helper whose walk begins where @out's ends, in
 * address order, and copy them out: @out's buffer is empty again after.
 * Returns 0, WALK_STOP once the user's slots are full, or an error.
 */
static int runs_merge(struct runs_out *out, const struct runs_helper_out *h)
{
	unsigned int k = h->nsegs;
	int ret;

	while (k--) {
		unsigned long i = h->seg_first[k];
		unsigned long last = k + 1 < h->nsegs ? h->seg_first[k + 1] :
							h->out.nbuf;

		for (; i < last; i++) {
			const struct hmm_mirror_run *r = &h->out.buf[i];

			if (runs_add(out, r->addr, r->length, r->state) &&
			    out->nbuf < out->cap)
				continue;
			ret = runs_copy(NULL, out);
			if (ret)
				return ret;
		}
	}
	return runs_copy(NULL, out);
}

/**
 * mirror_snapshot_runs() - what the CPU page table maps, as runs
 * @m: the mirror
 * @start: first byte of the range, page aligned
 * @end: end of the range, page aligned, above @start
 * @runs: room for @max_runs runs, each a maximal stretch of pages with one
 *	HMM_MIRROR_PAGE_* state, in address order
 * @max_runs: runs @runs holds, at least 1
 * @nr_runs: set to the runs written, also on failure
 *
 * SNAPSHOT with HMM_MIRROR_PAGES_RUNS.  Once @max_runs runs are written
 * the walk stops: the runs then cover the range up to the last one's end.
 * A long walk is shared with a helper on another CPU (snapshot_split.c),
 * whose runs are merged after the caller's own.
 *
 * Context: Process context, may sleep.  The caller holds bind_sem for
 * reading; takes what walk_range() takes, and waits for the helper.
 * Return: 0; -ENOMEM; -EFAULT if @runs cannot be written; -ESRCH if the
 * address space exited; -EINTR on a fatal signal; or another error of the
 * walk (walk_range()).
 */
int mirror_snapshot_runs(struct mirror *m, unsigned long start,
			 unsigned long end, struct hmm_mirror_run __user *runs,
			 u64 max_runs, u64 *nr_runs)
{
	struct runs_out out = {
		.runs = runs, .room = max_runs, .cap = WALK_PIECE_PAGES,
	};
	/* The helper's runs come after the caller's: at most max_runs. */
	struct runs_helper_out hout = {
		.out.cap = min_t(u64, HELPER_RUNS_MAX, max_runs),
	};
	struct snapshot_helper h = {
		.seg_begin = runs_seg_begin, .seg_end = runs_seg_end,
	};
	struct walk *w;
	bool helper;
	int ret = -ENOMEM;

	w = walk_alloc(m);
	out.buf = kvmalloc_array(out.cap, sizeof(*out.buf), GFP_KERNEL);
	if (!w || !out.buf)
		goto out;
	ret = walk_until_split(w, start, end, &runs_ops, &out);
	if (ret != WALK_PAUSE)
		goto done;
	hout.out.room = hout.out.cap;
	hout.out.buf = kvmalloc_array(hout.out.cap, sizeof(*hout.out.buf),
				      GFP_KERNEL);
	hout.seg_first = kmalloc_array(HELPER_SEGS_MAX,
				       sizeof(*hout.seg_first), GFP_KERNEL);
	helper = hout.out.buf && hout.seg_first &&
		 snapshot_helper_start(&h, w, w->done, end, &runs_ops,
				       &hout.out, NULL);
	ret = walk_with_helper(w, &h, helper, end, &runs_ops, &out);
	if (helper && !ret)
		ret = runs_merge(&out, &hout);
done:
	if (ret == WALK_STOP)
		ret = 0;
	else if (!ret && out.open.length)
		ret = runs_flush(&out, &out.open, 1);
out:
	*nr_runs = out.written;
	kfree(hout.seg_first);
	kvfree(hout.out.buf);
	kvfree(out.buf);
	kfree(w);
	return ret;
}
