/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat_devmem.h - device-private memory across the kernels of the
 * matrix, by probe (conftest/device_private.c, pgmap_folio_free.c,
 * zone_device_page_init_order.c, page_pgmap.c, migrate_vma_fault_page.c,
 * migrate_device_pfns.c),
 * never by version number.
 *
 * HMM_DEVMEM: the kernel has device-private pages and migrate_vma with
 * fault_page; without it devmem.c builds its stubs and the module offers
 * no device memory (HMM_MIRROR_FEAT_DEVICE_MEMORY clear, MIGRATE is
 * EOPNOTSUPP).
 *
 * compat_pgmap_free_*: the free callback took a page, then a folio
 * (7.x); the module's callback takes the page either way.
 * compat_zone_device_page_init(): the order argument (7.x) is 0: this
 * module's device pages are 4K (DOC: Device memory in devmem.h).
 * compat_page_pgmap(): page->pgmap became page_pgmap(page) (6.14).
 * HMM_HAVE_MIGRATE_DEVICE_PFNS (conftest/migrate_device_pfns.c): an
 * eviction unmaps its list of pfns in one call (7.x), else a range at a
 * time (devmem_unmap_pfns() in devmem.c).
 */
#ifndef HMM_MIRROR_COMPAT_DEVMEM_H
#define HMM_MIRROR_COMPAT_DEVMEM_H

#include "compat_probes.h"

#if defined(HMM_HAVE_DEVICE_PRIVATE) && defined(HMM_HAVE_MIGRATE_VMA_FAULT_PAGE)
#define HMM_DEVMEM 1

#include <linux/memremap.h>
#include <linux/migrate.h>
#include <linux/mm.h>

#ifdef HMM_HAVE_PGMAP_FOLIO_FREE
#define COMPAT_PGMAP_FREE_OP(fn)					\
	static void fn##_folio(struct folio *folio)			\
	{								\
		fn(&folio->page);					\
	}								\
	static_assert(1)
#define COMPAT_PGMAP_FREE_INIT(fn)	.folio_free = fn##_folio
#else
#define COMPAT_PGMAP_FREE_OP(fn)	static_assert(1)
#define COMPAT_PGMAP_FREE_INIT(fn)	.page_free = fn
#endif

static inline void compat_zone_device_page_init(struct page *page,
						struct dev_pagemap *pgmap)
{
#ifdef HMM_HAVE_ZONE_DEVICE_PAGE_INIT_ORDER
	zone_device_page_init(page, pgmap, 0);
#else
	zone_device_page_init(page);
#endif
}

static inline struct dev_pagemap *compat_page_pgmap(struct page *page)
{
#ifdef HMM_HAVE_PAGE_PGMAP
	return page_pgmap(page);
#else
	return page->pgmap;
#endif
}
#endif /* HMM_HAVE_DEVICE_PRIVATE && HMM_HAVE_MIGRATE_VMA_FAULT_PAGE */

#endif /* HMM_MIRROR_COMPAT_DEVMEM_H */
