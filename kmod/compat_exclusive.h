/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat_exclusive.h - device-exclusive entries across the kernels of the
 * matrix, by probe (conftest/make_device_exclusive.c,
 * make_device_exclusive_range.c), never by version number.
 *
 * HMM_EXCLUSIVE: the kernel can make a page exclusive to a device; without
 * it exclusive.c builds its stubs and EXCLUSIVE and ATOMIC are EOPNOTSUPP.
 *
 * compat_make_exclusive() makes the one page at @addr exclusive to the
 * device and returns it locked and referenced, or an errno: what
 * make_device_exclusive() returns where it exists (6.15 on), and on older
 * kernels make_device_exclusive_range() over that page, whose only word
 * for a refused page is NULL (reported as EBUSY: the page was locked, a
 * subpage of a huge folio, not anonymous, or mapped elsewhere).
 */
#ifndef HMM_MIRROR_COMPAT_EXCLUSIVE_H
#define HMM_MIRROR_COMPAT_EXCLUSIVE_H

#include "compat_probes.h"

#if defined(HMM_HAVE_MAKE_DEVICE_EXCLUSIVE) || \
	defined(HMM_HAVE_MAKE_DEVICE_EXCLUSIVE_RANGE)
#define HMM_EXCLUSIVE 1

#include <linux/err.h>
#include <linux/mm.h>
#include <linux/rmap.h>

/* Needs the mmap_lock for reading; the page comes back locked. */
static inline struct page *compat_make_exclusive(struct mm_struct *mm,
						 unsigned long addr,
						 void *owner)
{
#ifdef HMM_HAVE_MAKE_DEVICE_EXCLUSIVE
	struct folio *folio;

	return make_device_exclusive(mm, addr, owner, &folio);
#else
	struct page *page = NULL;
	int n = make_device_exclusive_range(mm, addr, addr + PAGE_SIZE, &page,
					    owner);

	if (n < 0)
		return ERR_PTR(n);
	if (n == 0)
		return ERR_PTR(-EFAULT);
	return page ? page : ERR_PTR(-EBUSY);
#endif
}
#endif

#endif /* HMM_MIRROR_COMPAT_EXCLUSIVE_H */
