// SPDX-License-Identifier: GPL-2.0
/*
 * Device-private memory: ZONE_DEVICE pages of type MEMORY_DEVICE_PRIVATE
 * and the migrate_vma API to move pages into and out of them
 * (CONFIG_DEVICE_PRIVATE, CONFIG_DEVICE_MIGRATION).  Debian's stock 6.1
 * and 6.12 kernels lack it.
 */
#include <linux/memremap.h>
#include <linux/migrate.h>

#if !IS_ENABLED(CONFIG_DEVICE_PRIVATE) || !IS_ENABLED(CONFIG_DEVICE_MIGRATION)
#error "no device-private memory"
#endif

int hmm_conftest(void);
int hmm_conftest(void)
{
	return MEMORY_DEVICE_PRIVATE | MIGRATE_VMA_SELECT_DEVICE_PRIVATE;
}
