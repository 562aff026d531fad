/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * core_env.h - what the portable core needs from its host environment.
 *
 * The core is plain C that builds unchanged into the kernel module and
 * into the host library.  It includes no kernel header beyond the basic
 * types, errno values and static_assert(); memory comes from the two hooks
 * below, which kmod/ implements with the page allocator and the host
 * library with aligned_alloc() (core/host_env.c).  Unit tests link their
 * own pair in place of core/host_env.c to count allocations and inject
 * failures.
 */
#ifndef HMM_CORE_ENV_H
#define HMM_CORE_ENV_H

#ifdef __KERNEL__
#include <linux/build_bug.h>
#include <linux/types.h>
#include <linux/errno.h>
#else
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The kernel's name for the 64-bit type, so that the core reads as kernel
 * code.  __UINT64_TYPE__ (GCC, Clang) is the very type uint64_t names.
 */
typedef __UINT64_TYPE__ u64;
typedef __UINT32_TYPE__ u32;
#endif

/* Size and alignment of every device page table, in bytes. */
#define DPT_TABLE_BYTES 4096

struct dpt;

/*
 * Return a zero-filled, DPT_TABLE_BYTES-aligned block of DPT_TABLE_BYTES
 * for a table of @t, or NULL.  Called with @t's owner lock held.  In the
 * kernel the MMU notifier takes that lock, so this must not enter reclaim:
 * kmod/ hands out per-mirror spare pages, then tries GFP_NOWAIT.
 */
void *dpt_table_alloc(struct dpt *t);
/*
 * Give back a block that dpt_table_alloc(@t) returned.  @zeroed: every
 * entry is 0 again (the table emptied entry by entry), so a pool that hands
 * out zero-filled blocks may keep it without clearing it; otherwise it holds
 * stale entries (a table dropped whole, unread).
 */
void dpt_table_free(struct dpt *t, void *table, bool zeroed);

#endif /* HMM_CORE_ENV_H */
