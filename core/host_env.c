// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * host_env.c - core_env.h for the host library: tables come from
 * aligned_alloc().  Unit tests link their own dpt_table_alloc() and
 * dpt_table_free() instead; the archive member holding these is then
 * never pulled in.
 */
#include <stdlib.h>
#include <string.h>

#include "core_env.h"

void *dpt_table_alloc(struct dpt *t)
{
	void *table = aligned_alloc(DPT_TABLE_BYTES, DPT_TABLE_BYTES);

	(void)t;
	if (table)
		memset(table, 0, DPT_TABLE_BYTES);
	return table;
}

void dpt_table_free(struct dpt *t, void *table, bool zeroed)
{
	(void)t;
	(void)zeroed;
	free(table);
}
