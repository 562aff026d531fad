// SPDX-License-Identifier: GPL-2.0
/*
 * make_device_exclusive_range(mm, start, end, pages, owner): the pages of
 * a range made exclusive to a device, each returned locked and referenced
 * or NULL where the kernel refused it (up to 6.14).
 */
#include <linux/mm.h>
#include <linux/rmap.h>

/* Declared everywhere, defined only with device-private memory. */
#if !IS_ENABLED(CONFIG_DEVICE_PRIVATE)
#error "no device-exclusive entries"
#endif

int hmm_conftest(struct mm_struct *mm, unsigned long start,
		 struct page **pages, void *owner);
int hmm_conftest(struct mm_struct *mm, unsigned long start,
		 struct page **pages, void *owner)
{
	return make_device_exclusive_range(mm, start, start + PAGE_SIZE,
					   pages, owner);
}
