/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * dpt.h - the device page table: a four-level, hardware-like radix table
 * that maps 4K, 2M and 1G device entries for a 48-bit virtual address space.
 *
 * Every table is DPT_TABLE_BYTES (512 x 64-bit entries), so a fully used
 * leaf table costs 8 bytes per 4K page.  A directory entry keeps the number
 * of used entries of the table it points to in its low bits (tables are
 * 4K aligned), so emptied tables are freed without scanning them and a
 * range that covers a whole table drops it in one step.
 *
 * Locking: none inside.  The owner serialises every call on one struct dpt
 * (kmod/ holds its mirror lock); lookups may run concurrently with each
 * other but not with map or unmap.
 */
#ifndef HMM_CORE_DPT_H
#define HMM_CORE_DPT_H

#include "core_env.h"

#define DPT_PAGE_SHIFT	12
#define DPT_LEVEL_BITS	9
#define DPT_LEVELS	4
#define DPT_VA_BITS	(DPT_PAGE_SHIFT + DPT_LEVELS * DPT_LEVEL_BITS)	/* 48 */
#define DPT_VA_LIMIT	((u64)1 << DPT_VA_BITS)

/* Orders a device entry can have. */
#define DPT_ORDER_4K	0
#define DPT_ORDER_2M	9
#define DPT_ORDER_1G	18

/* Flags of a device entry (dpt_map() and struct dpt_entry). */
#define DPT_WRITE	0x1u		/* the device may write */
#define DPT_ZERO	0x2u		/* maps the shared zero page */
/* The device holds the page exclusively, for atomic operations. */
#define DPT_ATOMIC	0x8u
#define DPT_FLAGS_MASK	(DPT_WRITE | DPT_ZERO | DPT_ATOMIC)

struct dpt {
	u64 root;		/* directory entry of the top table, or 0 */
	u64 nr_tables;		/* tables allocated, for memory accounting */
	u64 nr_pages;		/* 4K-equivalent pages mapped */
};

/* What one 4K page of the address space maps to. */
struct dpt_entry {
	u64 pfn;		/* page frame of this 4K page */
	unsigned int flags;	/* DPT_WRITE, DPT_ZERO, DPT_ATOMIC */
	unsigned int order;	/* order of the entry holding it */
};

void dpt_init(struct dpt *t);
/* Free every table; @t is empty afterwards and may be reused. */
void dpt_destroy(struct dpt *t);

/*
 * Map the naturally aligned block of 1 << @order pages at @va to frames
 * starting at @pfn (aligned to the order as well).  Replaces whatever
 * overlapped it: a smaller entry is replaced by a huge one, a huge entry
 * hit by a smaller mapping is removed whole first.
 * Returns 0, -EINVAL (bad order, alignment, flags, @va beyond
 * DPT_VA_LIMIT, or @pfn too large for 52 bits) or -ENOMEM (the table is
 * unchanged then).
 */
int dpt_map(struct dpt *t, u64 va, u64 pfn, unsigned int order,
	    unsigned int flags);

/* A 4K page for dpt_map_pages(): frame @pfn (below 2^52), DPT_* @flags. */
static inline u64 dpt_page(u64 pfn, unsigned int flags)
{
	return pfn << DPT_PAGE_SHIFT | flags;
}

/*
 * Map the @n 4K pages from @va (page aligned) to @pages[0..n) (each made by
 * dpt_page()), as @n dpt_map() calls at DPT_ORDER_4K would, in order, but
 * going down the table once per 2M instead of once per page.  Returns 0,
 * -EINVAL (checked before any change: @va unaligned, the range beyond
 * DPT_VA_LIMIT, or unknown flags in a page) or -ENOMEM: the pages from the
 * 2M block whose tables could not be allocated on are unchanged, those
 * before it mapped.
 */
int dpt_map_pages(struct dpt *t, u64 va, const u64 *pages, u64 n);

/*
 * Fill @e for the 4K page at @va (any byte address inside it); returns
 * false when nothing maps it, @e is untouched then.
 */
bool dpt_lookup(const struct dpt *t, u64 va, struct dpt_entry *e);

/*
 * The 4K pages of [@start, @end) (page aligned; @end is clamped to
 * DPT_VA_LIMIT) that some entry maps; a huge entry counts only the pages
 * inside the range.  Reads no leaf table the range covers whole (its count
 * is in its directory entry), so it costs one step per 2M, not per page.
 */
u64 dpt_count(const struct dpt *t, u64 start, u64 end);

/*
 * Remove every entry that overlaps [@start, @end); a huge entry that is
 * only partly covered is removed whole.  Frees tables left empty.  Never
 * allocates, so it is safe in invalidation callbacks.  Returns the number
 * of 4K-equivalent pages removed.  @start and @end need no alignment; @end
 * is clamped to DPT_VA_LIMIT and an empty range removes nothing.
 */
u64 dpt_unmap(struct dpt *t, u64 start, u64 end);

/* Where the entries a dpt_unmap_span() removed were: [start, end). */
struct dpt_span {
	u64 start;
	u64 end;	/* start == end: nothing was removed */
};

/*
 * dpt_unmap(), also reporting in @span the smallest range holding every
 * entry removed (a huge entry counts whole).  Unlike dpt_unmap(), it
 * reads the level-0 tables it drops, from both ends to their first used
 * entry.
 */
u64 dpt_unmap_span(struct dpt *t, u64 start, u64 end, struct dpt_span *span);
#endif /* HMM_CORE_DPT_H */
