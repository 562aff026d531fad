/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mirror.h - one mirror: a software device bound to one address space.
 * Its state, its locks, and the functions of the mirror core.
 *
 * DOC: Overview
 *
 * Each open of /dev/hmm_mirror creates a mirror: a device page table (the
 * core's struct dpt) kept in sync with one process's CPU page table.  The
 * front end (main.c) checks each ioctl's argument and calls a command:
 * FAULT (fault.c), SNAPSHOT (snapshot.c, a long walk shared with a second
 * CPU by snapshot_split.c), READ, WRITE and QUERY (device_ops.c), EVENTS
 * with read() and poll() (events.c), ATTACH (attach.c), MIGRATE (migrate.c),
 * EXCLUSIVE and ATOMIC (exclusive.c).
 * The commands use the mirror core below them (this header: lifetime and
 * binding in mirror.c, the notifier registry in notifiers.c, the
 * invalidation policy in invalidate.c, counters in stats.c, page-table
 * memory in dpt_memory.c, the device memory pool in devmem.c; walk.h: the
 * page walk in walk.c), which uses core/.  Calls go that way
 * only.  What differs between the kernels of the matrix is in compat_*.h,
 * probed at build time (conftest.sh, conftest/).
 *
 * Words used for one thing each: a *chunk* is the CHUNK_SIZE (1 GiB) span
 * one interval notifier covers; a walk goes through a range in *pieces*
 * (WALK_PIECE_BYTES, 4 MiB with 4K pages); a device READ/WRITE copies in
 * *rounds* (RW_ROUND_BYTES); QUERY copies states out in *passes*
 * (QUERY_PASS_PAGES).
 *
 * DOC: Locking
 *
 * Lock order: bind_sem -> chunks_lock -> mmap_lock -> lock; read_lock ->
 * lock.  @lock is taken by the interval notifiers, which can run from
 * direct reclaim: nothing may allocate memory that can enter reclaim while
 * holding it (device tables come from the spares or GFP_NOWAIT), nothing
 * may take mmap_lock or chunks_lock under it, and it is never held across
 * a user copy (which may fault and take mmap_lock).  mirror_create() primes
 * lockdep with both rules, so a violation is reported on the first run
 * that does it.  Commands take @lock with mirror_lock() and drop it with
 * mirror_unlock(); mirror_lock() first applies the deferred invalidations
 * (invalidate.c, DOC: Deferred invalidation), so a command never sees an
 * entry the CPU has let go of.  That deferral is sound only because this
 * device touches memory under @lock alone.
 *
 * DOC: Lifetime
 *
 * A mirror lives from open() (mirror_create(), bound to the opener's mm)
 * to the file's release (mirror_destroy()); the file holds the only
 * reference, so no command runs during either.  Binding holds mmgrab() on
 * the mm, an exit watch and the chunks' notifiers; ATTACH unbinds and
 * binds to another mm under bind_sem, only while the device maps nothing.
 * When the mm exits, the first notifier to see the release empties the
 * device page table (one RELEASE event) and commands fail with ESRCH.  A
 * chunk lives from chunk_get() until the GC frees it idle and empty, or
 * until unbinding.
 */
#ifndef HMM_MIRROR_KMOD_MIRROR_H
#define HMM_MIRROR_KMOD_MIRROR_H

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/jiffies.h>
#include <linux/list.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/stddef.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "../abi/hmm_mirror.h"
#include "../core/dpt.h"
#include "../core/event_queue.h"

/* Spare page-table pages kept per mirror; see mirror_refill_spares(). */
#define MIRROR_SPARES_MAX	16

/* Notifier chunks: naturally aligned, as large as the largest entry. */
#define CHUNK_SHIFT		30
#define CHUNK_SIZE		BIT(CHUNK_SHIFT)
/*
 * Grace period between a chunk known empty and its notifier going.
 * Removing a notifier from inside the invalidation that emptied it would
 * wait for that invalidation to end and cost two context switches in the
 * middle of the user's munmap; a range that is unmapped and faulted again
 * soon reuses the chunk instead of registering a new notifier.
 */
#define CHUNK_GC_DELAY		msecs_to_jiffies(200)

/*
 * Counters reported by STATS, per mirror and module-wide: one per __u64 of
 * struct hmm_mirror_stats after its header, in the order of the struct, so
 * a field added there is a counter here.  MC(field) is the counter of
 * @field (MC(invalidations) + reason for an element).  The gauges
 * (notifiers, dpt_*, mirrors) have a slot that nothing counts: stats.c
 * reads them from the mirrors.
 */
#define MC_FIRST	offsetof(struct hmm_mirror_stats, device_faults)
#define MC(field)	((offsetof(struct hmm_mirror_stats, field) - MC_FIRST) / \
			 sizeof(__u64))
#define MC_NR		((sizeof(struct hmm_mirror_stats) - MC_FIRST) / \
			 sizeof(__u64))

struct mirror_counters {
	atomic64_t c[MC_NR];
};

struct devmem_account;
struct file;
struct mirror;
struct poll_table_struct;

/*
 * struct mirror_exit_watch - an interval notifier on the first page of an
 * address space (never mapped), only there to see the address space exit
 * while the device maps nothing.  Owned by the mirror bound to that mm.
 */
struct mirror_exit_watch {
	struct mmu_interval_notifier notifier;
	struct mirror *m;
};

/*
 * struct mirror_chunk - one interval notifier over CHUNK_SIZE of the
 * address space, registered while the device maps pages there (or a walk
 * needs it).
 *
 * Lifetime: created by chunk_get(), which takes a user reference; freed by
 * the mirror's garbage-collection work once it has no user and no page,
 * or by mirror_destroy().  Both run under mirror->chunks_lock.
 */
struct mirror_chunk {
	struct mmu_interval_notifier notifier;
	struct mirror *m;
	unsigned long start;
	/* Device pages mapped inside the chunk. Under mirror->lock. */
	u64 pages;
	/* Walks using the notifier. Under mirror->chunks_lock. */
	unsigned int users;
	/*
	 * An invalidation recorded but not applied to the device page table
	 * (chunk_invalidate()): [deferred_start, deferred_end) while the chunk
	 * is on mirror->deferred.  Under mirror->lock.
	 */
	unsigned long deferred_start;
	unsigned long deferred_end;
	struct list_head deferred_node;
};

/*
 * struct mirror - state of one open /dev/hmm_mirror file
 *
 * Lifetime and locking: DOC: Lifetime and DOC: Locking above.  The mirror
 * is on the global list (for module-wide STATS) for its whole life.
 */
struct mirror {
	/* Read: any command using @mm. Write: ATTACH, which replaces @mm. */
	struct rw_semaphore bind_sem;
	/* mmgrab()ed while bound. Under bind_sem. */
	struct mm_struct *mm;
	/* Sees @mm exit. Under bind_sem. */
	struct mirror_exit_watch *exit_watch;

	/* Protects @chunks membership and every chunk's @users. */
	struct mutex chunks_lock;
	struct xarray chunks;		/* chunk index -> struct mirror_chunk */
	atomic_t nr_chunks;
	/* Frees idle, empty chunks, CHUNK_GC_DELAY after it is armed. */
	struct delayed_work gc_work;
	/*
	 * An invalidation emptied a chunk: the next command arms @gc_work.
	 * Set under @lock; read and cleared by commands without it (a race
	 * only arms the work twice, or at the command after).
	 */
	bool gc_wanted;

	/*
	 * Protects everything below, and every chunk's @pages and deferred
	 * invalidation.  Commands take it with mirror_lock(), which applies
	 * the deferred invalidations first: every reader of @dpt then sees
	 * each invalidation that has returned.
	 */
	struct mutex lock;
	struct dpt dpt;
	/*
	 * The chunks with a deferred invalidation, oldest first.  Such a
	 * chunk has @pages > 0 until it is applied, so the GC, which applies
	 * them before it looks, never frees a chunk on this list.
	 */
	struct list_head deferred;
	/*
	 * Walkers between the start of a piece's walk and its check: an
	 * invalidation marks those whose piece it overlaps (struct walk), so
	 * a walk restarts for changes to its own piece only.
	 */
	struct list_head walkers;
	void *spares[MIRROR_SPARES_MAX];
	unsigned int nr_spares;
	/* The address space exited: commands fail with ESRCH. */
	bool released;
	/* Events: the queue, the reasons wanted, whether ever configured. */
	struct evq events;
	u32 event_reasons;
	bool events_configured;

	/* Serialises read() so that peeked records are dropped in order. */
	struct mutex read_lock;
	wait_queue_head_t waitq;	/* read() and poll() wait here */

	struct mirror_counters counters;
	struct list_head node;		/* on the global mirror list */
	/* Device memory charged to this mirror (devmem.h).  Set at creation. */
	struct devmem_account *devmem_acct;
};

/* mirror.c: lifetime and binding. */
int mirror_create(struct mirror **out);
void mirror_destroy(struct mirror *m);
struct mirror_exit_watch *mirror_exit_watch(struct mirror *m,
					    struct mm_struct *mm);
void mirror_bind(struct mirror *m, struct mm_struct *mm,
		 struct mirror_exit_watch *watch);
void mirror_unbind(struct mirror *m);

/* dpt_memory.c: the device page table's memory. */
void mirror_refill_spares(struct mirror *m, void **extra, unsigned int *nr);
void mirror_free_extra(void **extra, unsigned int nr);

/* stats.c: counters and STATS. */
void mirror_count(struct mirror *m, unsigned int c, u64 n);
void mirror_list_add(struct mirror *m);
void mirror_list_del(struct mirror *m);
void mirror_fill_stats(struct mirror *m, struct hmm_mirror_stats *s);
void mirror_fill_global_stats(struct hmm_mirror_stats *s);

/* notifiers.c: the chunks' notifiers and their garbage collection. */
struct mirror_chunk *chunk_get(struct mirror *m, unsigned long va);
void chunk_put(struct mirror_chunk *c);
void chunk_gc_later(struct mirror *m);
void mirror_gc_work(struct work_struct *work);
void mirror_gc_kick(struct mirror *m);
void mirror_free_chunks(struct mirror *m);

/* invalidate.c: the invalidation policy. */
extern const struct mmu_interval_notifier_ops chunk_notifier_ops;
extern const struct mmu_interval_notifier_ops exit_notifier_ops;
void mirror_apply_deferred_locked(struct mirror *m);

/* walk.c: the page walk (walk.h). */
void mirror_mark_walkers_locked(struct mirror *m, unsigned long start,
				unsigned long end);

/**
 * mirror_lock() - take @m's lock for a command
 * @m: the mirror
 *
 * Applies the deferred invalidations first, so a lock holder never sees
 * one (DOC: Locking).  A chunk one of them empties starts its grace period
 * now, as it would have at this command's mirror_gc_kick() without the
 * deferral.
 */
static inline void mirror_lock(struct mirror *m)
{
	mutex_lock(&m->lock);
	if (!list_empty(&m->deferred)) {
		mirror_apply_deferred_locked(m);
		mirror_gc_kick(m);
	}
}

/**
 * mirror_unlock() - drop the lock mirror_lock() took
 * @m: the mirror
 */
static inline void mirror_unlock(struct mirror *m)
{
	mutex_unlock(&m->lock);
}

/* attach.c: ATTACH. */
int mirror_attach(struct mirror *m, int pidfd);

/* events.c: EVENTS, read() and poll(). */
u32 mirror_event_reason(enum mmu_notifier_event event);
int mirror_events_config(struct mirror *m, u32 reasons, u32 queue_len);
void mirror_event_locked(struct mirror *m, u32 reason, u32 flags,
			 unsigned long start, unsigned long end, u64 pages);
ssize_t mirror_events_read(struct mirror *m, char __user *buf, size_t count,
			   bool nonblock);
__poll_t mirror_events_poll(struct mirror *m, struct file *file,
			    struct poll_table_struct *wait);
void mirror_events_free(struct mirror *m);

/* fault.c: device faults (FAULT). */
int mirror_fault_range(struct mirror *m, unsigned long start,
		       unsigned long end, bool write, u64 *retries);

/* snapshot.c: SNAPSHOT. */
int mirror_snapshot(struct mirror *m, unsigned long start, unsigned long end,
		    u32 __user *states);
int mirror_snapshot_runs(struct mirror *m, unsigned long start,
			 unsigned long end, struct hmm_mirror_run __user *runs,
			 u64 max_runs, u64 *nr_runs);

/* device_ops.c: the device side (READ, WRITE, QUERY). */
int mirror_device_rw(struct mirror *m, unsigned long start, unsigned long end,
		     void __user *buf, bool write, u64 *device_faults,
		     u64 *copied);
int mirror_query(struct mirror *m, unsigned long start, unsigned long end,
		 u32 __user *states);
u64 mirror_count_mapped(struct mirror *m, unsigned long start,
			unsigned long end);

#endif /* HMM_MIRROR_KMOD_MIRROR_H */
