// SPDX-License-Identifier: GPL-2.0
/*
 * struct migrate_vma.fault_page: migrate_to_ram() tells migrate_vma_setup()
 * which page it faults on, which the caller holds a reference to (and, on
 * 7.x, the lock of).  Every kernel of the matrix has it; without it the
 * module offers no device memory rather than race with the fault.
 */
#include <linux/migrate.h>

int hmm_conftest(struct migrate_vma *args, struct page *page);
int hmm_conftest(struct migrate_vma *args, struct page *page)
{
	args->fault_page = page;
	return 0;
}
