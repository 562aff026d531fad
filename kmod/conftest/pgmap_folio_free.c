// SPDX-License-Identifier: GPL-2.0
/*
 * dev_pagemap_ops.folio_free(folio): replaced page_free(page) when device
 * pages became folios that may be large (7.x).
 */
#include <linux/memremap.h>

void hmm_conftest_free(struct folio *folio);
struct dev_pagemap_ops *hmm_conftest(struct dev_pagemap_ops *ops);
struct dev_pagemap_ops *hmm_conftest(struct dev_pagemap_ops *ops)
{
	ops->folio_free = hmm_conftest_free;
	return ops;
}
