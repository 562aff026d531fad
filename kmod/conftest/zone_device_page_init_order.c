// SPDX-License-Identifier: GPL-2.0
/*
 * zone_device_page_init(page, pgmap, order): the page's pgmap and folio
 * order are given at allocation (7.x); before, zone_device_page_init(page).
 */
#include <linux/memremap.h>

void hmm_conftest(struct page *page, struct dev_pagemap *pgmap);
void hmm_conftest(struct page *page, struct dev_pagemap *pgmap)
{
	zone_device_page_init(page, pgmap, 0);
}
