/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mirror.h - one mirror: a software device bound to one address space.
 */
#ifndef HMM_MIRROR_KMOD_MIRROR_H
#define HMM_MIRROR_KMOD_MIRROR_H

#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/types.h>

#include "../core/dpt.h"

/* Spare page-table pages kept per mirror; see mirror_refill_spares(). */
#define MIRROR_SPARES_MAX	16

/*
 * struct mirror - state of one open /dev/hmm_mirror file
 *
 * Lifetime: created by open(), freed by the file's release(); the file
 * holds the only reference, so no refcount is needed.
 *
 * Lock order: mmap_lock -> @lock.  @lock is also taken by the interval
 * notifier, which can run from direct reclaim: nothing may sleep on
 * memory allocation while holding @lock (tables come from @spares, or
 * GFP_NOWAIT).  Never take mmap_lock under @lock.
 */
struct mirror {
	/* Bound at open; mmgrab()ed until release. Never changes. */
	struct mm_struct *mm;
	/* Covers the whole user address space for the mirror's life. */
	struct mmu_interval_notifier notifier;
	/* Protects @dpt, @spares and @nr_spares. */
	struct mutex lock;
	/* The device page table. Under @lock. */
	struct dpt dpt;
	/* Zeroed pages for dpt tables. Under @lock (read racily as a hint). */
	void *spares[MIRROR_SPARES_MAX];
	unsigned int nr_spares;
};

int mirror_create(struct mirror **out);
void mirror_destroy(struct mirror *m);
void mirror_refill_spares(struct mirror *m, void **extra, unsigned int *nr);
void mirror_free_extra(void **extra, unsigned int nr);

/* Range faulting and snapshots: fault.c. */
int mirror_fault_range(struct mirror *m, unsigned long start,
		       unsigned long end, bool write, u64 *retries);
int mirror_snapshot(struct mirror *m, unsigned long start, unsigned long end,
		    u32 __user *states);

/* Device side: device_ops.c. */
int mirror_device_rw(struct mirror *m, unsigned long start, unsigned long end,
		     void __user *buf, bool write, u64 *device_faults);
int mirror_query(struct mirror *m, unsigned long start, unsigned long end,
		 u32 __user *states);
u64 mirror_count_mapped(struct mirror *m, unsigned long start,
			unsigned long end);

#endif /* HMM_MIRROR_KMOD_MIRROR_H */
