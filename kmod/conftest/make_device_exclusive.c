// SPDX-License-Identifier: GPL-2.0
/*
 * make_device_exclusive(mm, addr, owner, &folio): one page made exclusive
 * to a device, returned with its folio locked and referenced (7.x).
 */
#include <linux/mm.h>
#include <linux/rmap.h>

/* Declared everywhere, defined only with device-private memory. */
#if !IS_ENABLED(CONFIG_DEVICE_PRIVATE)
#error "no device-exclusive entries"
#endif

struct page *hmm_conftest(struct mm_struct *mm, unsigned long addr,
			  void *owner, struct folio **folio);
struct page *hmm_conftest(struct mm_struct *mm, unsigned long addr,
			  void *owner, struct folio **folio)
{
	return make_device_exclusive(mm, addr, owner, folio);
}
