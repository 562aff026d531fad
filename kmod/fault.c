// SPDX-License-Identifier: GPL-2.0
/*
 * fault.c - hmm_range_fault() under the interval-notifier retry protocol:
 * device faults (recorded in the device page table) and snapshots
 * (reported to user space, recorded nowhere).
 */
#include <linux/hmm.h>
#include <linux/jiffies.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "../abi/hmm_mirror.h"
#include "mirror.h"

/* One walk covers at most this much, aligned to it, so a 2M page is whole. */
#define WALK_CHUNK_PAGES	1024UL
#define WALK_CHUNK_BYTES	(WALK_CHUNK_PAGES << PAGE_SHIFT)
/* Restarts of one chunk before giving up with -EBUSY. */
#define WALK_MAX_RETRIES	64

/* The page frame of a hmm_range_fault() output entry. */
static inline unsigned long hmm_pfn_frame(unsigned long hpfn)
{
	return hpfn & ~HMM_PFN_FLAGS;
}

struct walk {
	struct mirror *m;
	struct mirror_chunk *chunk;	/* whose notifier guards the walk */
	struct hmm_range range;
	unsigned long pfns[WALK_CHUNK_PAGES];
	u64 retries;
};

static unsigned long chunk_end(unsigned long start, unsigned long end)
{
	unsigned long next = ALIGN_DOWN(start, WALK_CHUNK_BYTES) +
			     WALK_CHUNK_BYTES;

	return min(end, next);
}

/*
 * Walk [start, end) (inside w->chunk) with hmm_range_fault() and return
 * with m->lock held and the result still valid (no invalidation since the
 * walk began).  With @vma_holes, pages with no VMA at all are reported as 0
 * instead of HMM_PFN_ERROR, decided under the same mmap_lock as the walk.
 * The caller holds an mm_users reference.
 */
static int walk_chunk_locked(struct walk *w, unsigned long start,
			     unsigned long end, unsigned long req_flags,
			     bool vma_holes)
{
	struct mirror *m = w->m;
	struct mm_struct *mm = m->mm;
	unsigned long timeout = jiffies +
				msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	unsigned int tries = 0;
	int ret;

	w->range = (struct hmm_range) {
		.notifier = &w->chunk->notifier,
		.start = start,
		.end = end,
		.hmm_pfns = w->pfns,
		.default_flags = req_flags,
		.dev_private_owner = m,
	};

	for (;;) {
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		w->range.notifier_seq =
			mmu_interval_read_begin(w->range.notifier);
		ret = mmap_read_lock_killable(mm);
		if (ret)
			break;
		ret = hmm_range_fault(&w->range);
		if (!ret && vma_holes) {
			unsigned long i, n = (end - start) >> PAGE_SHIFT;

			for (i = 0; i < n; i++)
				if ((w->pfns[i] & HMM_PFN_ERROR) &&
				    !vma_lookup(mm, start + (i << PAGE_SHIFT)))
					w->pfns[i] = 0;
		}
		mmap_read_unlock(mm);

		if (!ret) {
			mutex_lock(&m->lock);
			if (!mmu_interval_read_retry(w->range.notifier,
						     w->range.notifier_seq))
				break;	/* success: return locked */
			mutex_unlock(&m->lock);
			ret = -EBUSY;
		}
		if (ret != -EBUSY)
			break;
		w->retries++;
		if (++tries > WALK_MAX_RETRIES || time_after(jiffies, timeout))
			break;
	}
	return ret;
}

/* What walk_range() does with each walked piece. */
struct walk_ops {
	/* With m->lock held: the pfns are valid only here. */
	int (*locked)(struct walk *w, void *arg);
	/* Optional, after unlocking: user copies go here. */
	int (*unlocked)(struct walk *w, void *arg);
};

/*
 * Walk [start, end) piece by piece with the retry protocol.  Takes the
 * mm_users reference and the chunk notifiers the walks need.
 */
static int walk_range(struct walk *w, unsigned long start, unsigned long end,
		      unsigned long req_flags, bool vma_holes,
		      const struct walk_ops *ops, void *arg)
{
	struct mirror *m = w->m;
	void *extra[MIRROR_SPARES_MAX];
	int ret = 0;

	if (!mmget_not_zero(m->mm))
		return -ESRCH;
	w->chunk = NULL;
	while (start < end) {
		unsigned long next = chunk_end(start, end);
		unsigned int nr_extra = 0;

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
		ret = walk_chunk_locked(w, start, next, req_flags, vma_holes);
		if (!ret) {
			if (nr_extra)
				mirror_refill_spares(m, extra, &nr_extra);
			ret = ops->locked(w, arg);
			mutex_unlock(&m->lock);
			if (!ret && ops->unlocked)
				ret = ops->unlocked(w, arg);
		}
		mirror_free_extra(extra, nr_extra);
		if (ret)
			break;
		start = next;
	}
	if (w->chunk)
		chunk_put(w->chunk);
	mmput(m->mm);
	mirror_count(m, MC_FAULT_RETRIES, w->retries);
	return ret;
}

/* Record one walked chunk in the device page table.  Needs m->lock. */
static int record_chunk(struct walk *w, void *unused)
{
	struct mirror *m = w->m;
	u64 before = m->dpt.nr_pages;
	unsigned long start = w->range.start;
	unsigned long n = (w->range.end - start) >> PAGE_SHIFT;
	unsigned long i = 0;
	int ret = 0;

	lockdep_assert_held(&m->lock);
	while (i < n) {
		unsigned long hpfn = w->pfns[i];
		unsigned long va = start + (i << PAGE_SHIFT);
		unsigned long pfn = hmm_pfn_frame(hpfn);
		unsigned int order = hmm_pfn_to_map_order(hpfn);
		unsigned int flags = 0;
		unsigned long base, step;

		if (is_zero_pfn(pfn))
			flags |= DPT_ZERO;
		else if (hpfn & HMM_PFN_WRITE)
			flags |= DPT_WRITE;

		if (order != DPT_ORDER_2M && order != DPT_ORDER_1G)
			order = DPT_ORDER_4K;
		/* Frames of a huge mapping are aligned; be safe if not. */
		if ((pfn - ((va >> PAGE_SHIFT) & ((1UL << order) - 1))) &
		    ((1UL << order) - 1))
			order = DPT_ORDER_4K;
		/*
		 * A huge CPU mapping becomes one device entry even where the
		 * walk covers only part of it: entries are aligned and never
		 * larger than a chunk, so the chunk's notifier sees any change
		 * to the rest and clears it too.
		 */
		base = ALIGN_DOWN(va, PAGE_SIZE << order);
		ret = dpt_map(&m->dpt, base,
			      pfn - ((va - base) >> PAGE_SHIFT), order, flags);
		if (ret)
			break;
		step = (base + (PAGE_SIZE << order) - va) >> PAGE_SHIFT;
		i += step;
	}
	/* Entries never cross a chunk, so the change is all this chunk's. */
	w->chunk->pages += m->dpt.nr_pages - before;
	mirror_count(m, MC_PAGES_FAULTED, i < n ? i : n);
	return ret;
}

static const struct walk_ops fault_ops = { .locked = record_chunk };

int mirror_fault_range(struct mirror *m, unsigned long start,
		       unsigned long end, bool write, u64 *retries)
{
	unsigned long req = HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0);
	struct walk *w;
	int ret;

	w = kmalloc(sizeof(*w), GFP_KERNEL);
	if (!w)
		return -ENOMEM;
	w->m = m;
	w->retries = 0;
	mirror_count(m, MC_FAULT_CALLS, 1);
	ret = walk_range(w, start, end, req, false, &fault_ops, NULL);
	*retries += w->retries;
	kfree(w);
	return ret;
}

static u32 snapshot_state(unsigned long hpfn)
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

struct snapshot_out {
	u32 __user *states;
	u32 *buf;
};

/*
 * Pages from entry @i of the walk on that belong to the same CPU mapping,
 * at most to the end of the walk.  Every 4K page of a huge mapping has
 * the same state, so a huge mapping is converted once.
 */
static unsigned long same_mapping_pages(const struct walk *w, unsigned long i,
					unsigned long n)
{
	unsigned long hpfn = w->pfns[i];
	unsigned long va, size;

	if (!(hpfn & HMM_PFN_VALID) || !hmm_pfn_to_map_order(hpfn))
		return 1;
	va = w->range.start + (i << PAGE_SHIFT);
	size = PAGE_SIZE << hmm_pfn_to_map_order(hpfn);
	return min((ALIGN_DOWN(va, size) + size - va) >> PAGE_SHIFT, n - i);
}

/* Convert one walked piece; the pfns are only valid under m->lock. */
static int snapshot_convert(struct walk *w, void *arg)
{
	struct snapshot_out *out = arg;
	unsigned long i = 0, n = (w->range.end - w->range.start) >> PAGE_SHIFT;

	while (i < n) {
		unsigned long run = same_mapping_pages(w, i, n);

		memset32(&out->buf[i], snapshot_state(w->pfns[i]), run);
		i += run;
	}
	return 0;
}

static int snapshot_copy(struct walk *w, void *arg)
{
	struct snapshot_out *out = arg;
	unsigned long n = (w->range.end - w->range.start) >> PAGE_SHIFT;

	if (copy_to_user(out->states, out->buf, n * sizeof(u32)))
		return -EFAULT;
	out->states += n;
	return 0;
}

static const struct walk_ops snapshot_ops = {
	.locked = snapshot_convert,
	.unlocked = snapshot_copy,
};

int mirror_snapshot(struct mirror *m, unsigned long start, unsigned long end,
		    u32 __user *states)
{
	struct snapshot_out out = { .states = states };
	struct walk *w;
	int ret = -ENOMEM;

	w = kmalloc(sizeof(*w), GFP_KERNEL);
	out.buf = kmalloc_array(WALK_CHUNK_PAGES, sizeof(u32), GFP_KERNEL);
	if (w && out.buf) {
		w->m = m;
		w->retries = 0;
		ret = walk_range(w, start, end, 0, true, &snapshot_ops, &out);
	}
	kfree(out.buf);
	kfree(w);
	return ret;
}

/*
 * SNAPSHOT with HMM_MIRROR_PAGES_RUNS.  Runs are closed under m->lock into
 * @buf and copied out after each piece; the open run carries over to the
 * next piece, so runs are maximal across piece boundaries.
 */
struct runs_out {
	struct hmm_mirror_run __user *runs;	/* next free user slot */
	u64 room;		/* user slots left */
	u64 written;
	struct hmm_mirror_run *buf;	/* runs closed in this piece */
	unsigned long nbuf;
	struct hmm_mirror_run open;	/* length 0: none yet */
	bool full;		/* every user slot is taken: stop */
};

/* Returned by runs_copy() to end the walk early, without an error. */
#define WALK_STOP	1

static int runs_convert(struct walk *w, void *arg)
{
	struct runs_out *out = arg;
	unsigned long start = w->range.start;
	unsigned long i = 0, n = (w->range.end - start) >> PAGE_SHIFT;

	while (i < n) {
		unsigned long va = start + (i << PAGE_SHIFT);
		unsigned long pages = same_mapping_pages(w, i, n);
		u32 state = snapshot_state(w->pfns[i]);

		i += pages;
		if (out->open.length && out->open.state == state) {
			out->open.length += pages << PAGE_SHIFT;
			continue;
		}
		if (out->open.length) {
			out->buf[out->nbuf++] = out->open;
			if (out->nbuf == out->room) {
				out->full = true;
				break;
			}
		}
		out->open = (struct hmm_mirror_run) {
			.addr = va,
			.length = pages << PAGE_SHIFT,
			.state = state,
		};
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
	int ret = runs_flush(out, out->buf, out->nbuf);

	out->nbuf = 0;
	return ret ? ret : out->full ? WALK_STOP : 0;
}

static const struct walk_ops runs_ops = {
	.locked = runs_convert,
	.unlocked = runs_copy,
};

int mirror_snapshot_runs(struct mirror *m, unsigned long start,
			 unsigned long end, struct hmm_mirror_run __user *runs,
			 u64 max_runs, u64 *nr_runs)
{
	struct runs_out out = { .runs = runs, .room = max_runs };
	struct walk *w;
	int ret = -ENOMEM;

	w = kmalloc(sizeof(*w), GFP_KERNEL);
	/* A piece closes at most one run per page. */
	out.buf = kvmalloc_array(WALK_CHUNK_PAGES, sizeof(*out.buf),
				 GFP_KERNEL);
	if (w && out.buf) {
		w->m = m;
		w->retries = 0;
		ret = walk_range(w, start, end, 0, true, &runs_ops, &out);
		if (ret == WALK_STOP)
			ret = 0;
		else if (!ret && out.open.length)
			ret = runs_flush(&out, &out.open, 1);
	}
	*nr_runs = out.written;
	kvfree(out.buf);
	kfree(w);
	return ret;
}
