// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * dpt.c - the device page table, see dpt.h.
 *
 * Levels are numbered from the leaves: a level-0 table holds 4K entries, a
 * level-1 table 2M entries or level-0 tables, a level-2 table 1G entries or
 * level-1 tables, and the top table (level 3) only level-2 tables.  An
 * entry is one of
 *
 *   0                                       nothing mapped
 *   pfn << 12 | HUGE? | ZERO? | WRITE? | P  a leaf; HUGE at levels 1 and 2
 *   table address | used << 2 | TABLE | P   a directory entry
 *
 * where "used" (0..512) counts the non-zero entries of the table pointed
 * to.  struct dpt.root is the directory entry of the top table.  A table
 * whose count drops to zero is freed at once, so no empty table outlives a
 * call, and the pages under a level-0 table are just its count.
 */
#include "dpt.h"

#define DPT_ENTRIES	512

#define E_PRESENT	0x1ULL
#define E_TABLE		0x2ULL
#define E_WRITE		0x4ULL
#define E_ZERO		0x8ULL
#define E_HUGE		0x10ULL
#define E_ATOMIC	0x20ULL
#define E_USED_SHIFT	2
#define E_USED_MASK	(0x3ffULL << E_USED_SHIFT)
#define E_USED_ONE	(0x1ULL << E_USED_SHIFT)
#define E_ADDR_MASK	(~(u64)(DPT_TABLE_BYTES - 1))

/* Frames above this do not fit in a leaf entry. */
#define DPT_PFN_LIMIT	((u64)1 << (64 - DPT_PAGE_SHIFT))

static inline bool is_table(u64 e)
{
	return e & E_TABLE;
}

static inline u64 *dir_table(u64 e)
{
	return (u64 *)(uintptr_t)(e & E_ADDR_MASK);
}

static inline unsigned int dir_used(u64 e)
{
	return (e & E_USED_MASK) >> E_USED_SHIFT;
}

static inline u64 make_dir(u64 *table)
{
	return (u64)(uintptr_t)table | E_TABLE | E_PRESENT;
}

/* log2 of the bytes one entry of a level-@level table covers. */
static inline unsigned int level_shift(unsigned int level)
{
	return DPT_PAGE_SHIFT + level * DPT_LEVEL_BITS;
}

/* 4K pages one leaf entry of a level-@level table maps. */
static inline u64 leaf_pages(unsigned int level)
{
	return (u64)1 << (level * DPT_LEVEL_BITS);
}

static inline unsigned int index_of(u64 va, unsigned int level)
{
	return (va >> level_shift(level)) & (DPT_ENTRIES - 1);
}

/*
 * The entries of a level-@level table mapping from @base that overlap
 * [@start, @end), which must overlap the table: [*@first, *@last].
 */
static inline void entries_in(unsigned int level, u64 base, u64 start,
			      u64 end, u64 *first, u64 *last)
{
	unsigned int shift = level_shift(level);

	*first = start > base ? (start - base) >> shift : 0;
	*last = (end - base - 1) >> shift;
	if (*last > DPT_ENTRIES - 1)
		*last = DPT_ENTRIES - 1;
}

/* Grow @span (if any) to cover [@lo, @hi). */
static void span_add(struct dpt_span *span, u64 lo, u64 hi)
{
	if (!span)
		return;
	if (span->start >= span->end || lo < span->start)
		span->start = lo;
	if (hi > span->end)
		span->end = hi;
}

/* The span of the used entries of a level-0 table mapping from @base. */
static void leaf_table_span(const u64 *table, u64 base,
			    struct dpt_span *span)
{
	unsigned int first = 0, last = DPT_ENTRIES - 1;

	while (first < last && !table[first])
		first++;
	while (last > first && !table[last])
		last--;
	span_add(span, base + ((u64)first << DPT_PAGE_SHIFT),
		 base + ((u64)(last + 1) << DPT_PAGE_SHIFT));
}

/*
 * Free the table that directory entry @dir points to, which sits at
 * @level and maps from @base, with everything below it.  Returns the pages
 * it mapped.  A level-0 table is freed without reading it (its count is
 * its pages) unless @span asks where its entries were.
 */
static u64 free_table(struct dpt *t, u64 dir, unsigned int level, u64 base,
		      struct dpt_span *span)
{
	u64 *table = dir_table(dir);
	unsigned int left = dir_used(dir);
	unsigned int shift = level_shift(level);
	u64 pages = 0;
	unsigned int i;

	if (level == 0) {
		pages = left;
		if (span && left)
			leaf_table_span(table, base, span);
	} else {
		for (i = 0; left && i < DPT_ENTRIES; i++) {
			u64 e = table[i];
			u64 eb = base + ((u64)i << shift);

			if (!e)
				continue;
			left--;
			if (is_table(e)) {
				pages += free_table(t, e, level - 1, eb, span);
			} else {
				pages += leaf_pages(level);
				span_add(span, eb, eb + ((u64)1 << shift));
			}
		}
	}
	/* Nothing here was cleared: the table goes back stale. */
	dpt_table_free(t, table, false);
	t->nr_tables--;
	return pages;
}

/*
 * Remove every entry that overlaps [@start, @end) from the table of
 * directory entry *@dirp, which sits at @level and maps the addresses from
 * @base on; the range must overlap that span.  Keeps the count in *@dirp
 * and returns the pages removed; the caller frees the table if it emptied.
 * Tables the range covers whole are dropped by free_table().
 */
static u64 unmap_table(struct dpt *t, u64 *dirp, unsigned int level,
		       u64 base, u64 start, u64 end, struct dpt_span *span)
{
	u64 *table = dir_table(*dirp);
	unsigned int shift = level_shift(level);
	u64 size = (u64)1 << shift;
	u64 first, last, i;
	u64 pages = 0;

	entries_in(level, base, start, end, &first, &last);
	for (i = first; i <= last && dir_used(*dirp); i++) {
		u64 e = table[i];
		u64 eb = base + (i << shift);

		if (!e)
			continue;
		if (!is_table(e)) {
			/* A leaf goes whole, even if only partly covered. */
			pages += leaf_pages(level);
			span_add(span, eb, eb + size);
		} else if (start <= eb && end - eb >= size) {
			pages += free_table(t, e, level - 1, eb, span);
		} else {
			pages += unmap_table(t, &table[i], level - 1, eb,
					     start, end, span);
			if (dir_used(table[i]))
				continue;
			/* unmap_table() cleared each of its entries. */
			dpt_table_free(t, dir_table(table[i]), true);
			t->nr_tables--;
		}
		table[i] = 0;
		*dirp -= E_USED_ONE;
	}
	return pages;
}

void dpt_init(struct dpt *t)
{
	t->root = 0;
	t->nr_tables = 0;
	t->nr_pages = 0;
}

void dpt_destroy(struct dpt *t)
{
	if (t->root)
		free_table(t, t->root, DPT_LEVELS - 1, 0, NULL);
	t->root = 0;
	t->nr_pages = 0;
}

/*
 * Make sure the level-@target table on the way to @va is there: allocate
 * the missing tables first, so that -ENOMEM changes nothing, then link
 * them in, replacing a huge leaf in the way (removed whole).  Returns the
 * directory entry pointing to that table, or NULL for -ENOMEM.
 */
static u64 *table_for(struct dpt *t, u64 va, unsigned int target)
{
	u64 *spare[DPT_LEVELS];
	unsigned int level, need, n;
	u64 e, *dirp, *slot;

	need = DPT_LEVELS - target;
	e = t->root;
	for (level = DPT_LEVELS - 1; is_table(e); level--) {
		need--;
		if (level == target)
			break;
		e = dir_table(e)[index_of(va, level)];
	}
	for (n = 0; n < need; n++) {
		spare[n] = dpt_table_alloc(t);
		if (!spare[n]) {
			while (n--)
				dpt_table_free(t, spare[n], true);
			return NULL;
		}
	}
	t->nr_tables += need;

	if (!t->root)
		t->root = make_dir(spare[--need]);
	dirp = &t->root;
	for (level = DPT_LEVELS - 1; level > target; level--) {
		slot = &dir_table(*dirp)[index_of(va, level)];
		if (!is_table(*slot)) {
			if (*slot)	/* a huge leaf in the way goes whole */
				t->nr_pages -= leaf_pages(level);
			else
				*dirp += E_USED_ONE;
			*slot = make_dir(spare[--need]);
		}
		dirp = slot;
	}
	return dirp;
}

int dpt_map(struct dpt *t, u64 va, u64 pfn, unsigned int order,
	    unsigned int flags)
{
	unsigned int target;
	u64 mask, leaf, *dirp, *slot;

	if (order != DPT_ORDER_4K && order != DPT_ORDER_2M &&
	    order != DPT_ORDER_1G)
		return -EINVAL;
	if (flags & ~DPT_FLAGS_MASK)
		return -EINVAL;
	mask = ((u64)1 << order) - 1;
	if (va >= DPT_VA_LIMIT || va & (((mask + 1) << DPT_PAGE_SHIFT) - 1))
		return -EINVAL;
	if (pfn >= DPT_PFN_LIMIT || pfn & mask)
		return -EINVAL;
	target = order / DPT_LEVEL_BITS;

	dirp = table_for(t, va, target);
	if (!dirp)
		return -ENOMEM;

	leaf = pfn << DPT_PAGE_SHIFT | E_PRESENT;
	if (target)
		leaf |= E_HUGE;
	if (flags & DPT_WRITE)
		leaf |= E_WRITE;
	if (flags & DPT_ZERO)
		leaf |= E_ZERO;
	if (flags & DPT_ATOMIC)
		leaf |= E_ATOMIC;

	slot = &dir_table(*dirp)[index_of(va, target)];
	if (!*slot)
		*dirp += E_USED_ONE;
	else if (is_table(*slot))
		t->nr_pages -= free_table(t, *slot, target - 1, 0, NULL);
	else
		t->nr_pages -= leaf_pages(target);
	*slot = leaf;
	t->nr_pages += leaf_pages(target);
	return 0;
}

/* dpt_page()'s flags sit two bits below the leaf's: one shift converts. */
static_assert(E_WRITE == (u64)DPT_WRITE << 2 && E_ZERO == (u64)DPT_ZERO << 2 &&
	      E_ATOMIC == (u64)DPT_ATOMIC << 2,
	      "dpt_page() flags must convert to leaf flags by a shift");

int dpt_map_pages(struct dpt *t, u64 va, const u64 *pages, u64 n)
{
	const u64 low = ((u64)1 << DPT_PAGE_SHIFT) - 1;
	u64 i;

	if (va & low || va >= DPT_VA_LIMIT ||
	    n > (DPT_VA_LIMIT - va) >> DPT_PAGE_SHIFT)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (pages[i] & low & ~(u64)DPT_FLAGS_MASK)
			return -EINVAL;

	while (n) {
		unsigned int first = index_of(va, 0);
		u64 cnt = DPT_ENTRIES - first < n ? DPT_ENTRIES - first : n;
		u64 *dirp = table_for(t, va, 0);
		u64 *table;

		if (!dirp)
			return -ENOMEM;
		table = dir_table(*dirp) + first;
		for (i = 0; i < cnt; i++) {
			/* A level-0 entry is a 4K leaf or nothing. */
			if (table[i])
				t->nr_pages--;
			else
				*dirp += E_USED_ONE;
			table[i] = (pages[i] & ~low) |
				   (pages[i] & DPT_FLAGS_MASK) << 2 | E_PRESENT;
		}
		t->nr_pages += cnt;
		pages += cnt;
		n -= cnt;
		va += cnt << DPT_PAGE_SHIFT;
	}
	return 0;
}

/*
 * dpt_count() below the table @table, which sits at @level and maps from
 * @base; [@start, @end) overlaps that table.
 */
static u64 count_table(const u64 *table, unsigned int level, u64 base,
		       u64 start, u64 end)
{
	unsigned int shift = level_shift(level);
	u64 size = (u64)1 << shift;
	u64 first, last, i;
	u64 pages = 0;

	entries_in(level, base, start, end, &first, &last);
	for (i = first; i <= last; i++) {
		u64 e = table[i];
		u64 eb = base + (i << shift);
		u64 lo = start > eb ? start : eb;
		u64 hi = end < eb + size ? end : eb + size;

		if (!e)
			continue;
		if (!is_table(e))	/* a leaf: the part inside the range */
			pages += (hi - lo) >> DPT_PAGE_SHIFT;
		else if (level == 1 && lo == eb && hi == eb + size)
			pages += dir_used(e);	/* a whole leaf table */
		else
			pages += count_table(dir_table(e), level - 1, eb, lo, hi);
	}
	return pages;
}

u64 dpt_count(const struct dpt *t, u64 start, u64 end)
{
	if (end > DPT_VA_LIMIT)
		end = DPT_VA_LIMIT;
	if (!t->root || start >= end)
		return 0;
	return count_table(dir_table(t->root), DPT_LEVELS - 1, 0, start, end);
}

bool dpt_lookup(const struct dpt *t, u64 va, struct dpt_entry *e)
{
	unsigned int level = DPT_LEVELS;
	u64 ent = t->root;
	u64 mask;

	if (va >= DPT_VA_LIMIT)
		return false;
	while (is_table(ent)) {
		level--;
		ent = dir_table(ent)[index_of(va, level)];
	}
	if (!ent)
		return false;

	mask = leaf_pages(level) - 1;
	e->pfn = (ent >> DPT_PAGE_SHIFT) + ((va >> DPT_PAGE_SHIFT) & mask);
	e->flags = 0;
	if (ent & E_WRITE)
		e->flags |= DPT_WRITE;
	if (ent & E_ZERO)
		e->flags |= DPT_ZERO;
	if (ent & E_ATOMIC)
		e->flags |= DPT_ATOMIC;
	e->order = level * DPT_LEVEL_BITS;
	return true;
}

u64 dpt_unmap(struct dpt *t, u64 start, u64 end)
{
	return dpt_unmap_span(t, start, end, NULL);
}

u64 dpt_unmap_span(struct dpt *t, u64 start, u64 end, struct dpt_span *span)
{
	u64 pages;

	if (span)
		*span = (struct dpt_span) { 0, 0 };
	if (end > DPT_VA_LIMIT)
		end = DPT_VA_LIMIT;
	if (!t->root || start >= end)
		return 0;

	if (start == 0 && end == DPT_VA_LIMIT) {
		pages = free_table(t, t->root, DPT_LEVELS - 1, 0, span);
		t->root = 0;
	} else {
		pages = unmap_table(t, &t->root, DPT_LEVELS - 1, 0, start, end,
				    span);
		if (!dir_used(t->root)) {
			dpt_table_free(t, dir_table(t->root), true);
			t->nr_tables--;
			t->root = 0;
		}
	}
	t->nr_pages -= pages;
	return pages;
}
