/* SPDX-License-Identifier: GPL-2.0 */
/*
 * exclusive.h - exclusive device access (EXCLUSIVE, ATOMIC).  DOC:
 * Exclusive access in exclusive.c.
 */
#ifndef HMM_MIRROR_KMOD_EXCLUSIVE_H
#define HMM_MIRROR_KMOD_EXCLUSIVE_H

#include <linux/mmu_notifier.h>
#include <linux/types.h>

#include "mirror.h"

bool exclusive_supported(void);
bool mirror_own_grant(struct mirror *m,
		      const struct mmu_notifier_range *range);
bool mirror_revokes_exclusive_locked(struct mirror *m, unsigned long start,
				     unsigned long end);

/* EXCLUSIVE and ATOMIC.  Need bind_sem. */
int mirror_exclusive(struct mirror *m, unsigned long start, unsigned long end,
		     u32 __user *results, u64 *granted, u64 *refused);
int mirror_atomic(struct mirror *m, struct hmm_mirror_atomic *a);

#endif /* HMM_MIRROR_KMOD_EXCLUSIVE_H */
