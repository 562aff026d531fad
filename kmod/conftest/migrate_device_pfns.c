// SPDX-License-Identifier: GPL-2.0
/*
 * migrate_device_pfns() (7.x): the device-side migration of a list of
 * device pfns, not only a range.  Without it an eviction calls
 * migrate_device_range() (6.1 on) once per run of consecutive pfns.
 */
#include <linux/migrate.h>

int hmm_conftest(unsigned long *src, unsigned long npages);
int hmm_conftest(unsigned long *src, unsigned long npages)
{
	int (*fn)(unsigned long *, unsigned long) = migrate_device_pfns;

	return fn(src, npages);
}
