// SPDX-License-Identifier: GPL-2.0
/*
 * page_pgmap(page): a ZONE_DEVICE page's pgmap, kept in the folio since
 * 6.14; before, page->pgmap.
 */
#include <linux/memremap.h>
#include <linux/mm.h>

struct dev_pagemap *hmm_conftest(struct page *page);
struct dev_pagemap *hmm_conftest(struct page *page)
{
	return page_pgmap(page);
}
