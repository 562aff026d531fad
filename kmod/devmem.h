/* SPDX-License-Identifier: GPL-2.0 */
/*
 * devmem.h - the software device's own memory: device-private ZONE_DEVICE
 * pages shared by every mirror, and moving pages of a mirrored process
 * into it and back (MIGRATE, and CPU faults on those pages).
 *
 * DOC: Device memory
 *
 * At load the module sets up device_memory_mb (default 256, 0: none) of
 * device-private memory: a free physical range (request_free_mem_region)
 * given struct pages by memremap_pages() as MEMORY_DEVICE_PRIVATE.  The
 * CPU cannot address those pages; a CPU page table that holds one has a
 * device-private swap entry instead, and a CPU access calls
 * migrate_to_ram().  What the device stores in a page is kept in a kernel
 * page of its own (the page's *backing*), allocated with the device page
 * and freed with it: the device copies through the backing, and only the
 * device does.
 *
 * The pool is the module's, shared by all mirrors, and its pgmap owner is
 * the module's device identity (devmem_owner()): every mirror's walks
 * pass it as dev_private_owner, so hmm_range_fault() reports a page in
 * this device's memory as it is (SNAPSHOT and QUERY show
 * HMM_MIRROR_PAGE_DEVICE, READ and WRITE copy through its backing).  A
 * page in another device's private memory is not present to a walk that
 * does not fault (SNAPSHOT, QUERY: 0); a fault (FAULT, READ, WRITE) brings
 * it back to system memory through that device's migrate_to_ram(), and
 * MIGRATE does not select it (NOT_MOVABLE; back: ALREADY).  A page in
 * device memory is charged to the mirror that moved it (struct
 * devmem_account), which may close before the page goes: the account
 * lives until its last page is freed.
 *
 * Moving pages (migrate.c): MIGRATE to the device takes the anonymous
 * private pages of the range (and its unpopulated pages, which arrive
 * zero-filled; not those of a PROT_NONE mapping, which migrate_vma would
 * take, but which nothing could read there) with
 * migrate_vma_setup(MIGRATE_VMA_SELECT_SYSTEM), copies
 * each into a device page's backing, and maps the moved pages in the
 * mirror's device page table; MIGRATE back and migrate_to_ram() select
 * this device's pages (MIGRATE_VMA_SELECT_DEVICE_PRIVATE).  A transparent
 * huge page is split by migrate_vma_setup() and moves as 4K pages: device
 * pages are 4K in this version, also on 7.x where device-private THP
 * exists (MIGRATE_VMA_SELECT_COMPOUND).  File pages, pages pinned or
 * otherwise busy, and pages of VM_SPECIAL or hugetlb mappings do not move
 * and are reported so.
 *
 * The device page table sees moves as invalidations (MMU_NOTIFY_MIGRATE)
 * like any other; the owner of the notifier range tells the direction
 * (devmem_event_flags()), which the MIGRATE event carries.
 *
 * Eviction (ABI 5, MIGRATE with HMM_MIRROR_MIGRATE_EVICT): the pool keeps
 * its allocated pages on a list in allocation order (devmem_pool.allocated:
 * a page joins at the tail when devmem_alloc_page() takes it off the free
 * stack and leaves in the free callback).  A batch of a move to the device
 * that found no free page for some of its pages drops the mmap_lock,
 * evicts that many of the oldest pages, whichever mirror they belong to
 * (devmem_evict()), and moves the batch again; pages that still find no
 * room are reported NO_MEMORY.  An eviction is the kernel's device-side
 * migration: the pfns are locked and unmapped by migrate_device_pfns()
 * (or migrate_device_range() per run of pfns where the kernel lacks it),
 * copied from their backing into new system pages (the copy MIGRATE back
 * uses), then migrate_device_pages() and migrate_device_finalize(), which
 * frees the device pages.  A page that is busy (a move's destination, not
 * yet mapped; pinned; being freed) cannot be locked or unmapped and is
 * skipped; one more round takes as many pages after the skipped ones.
 * The unmap runs the notifiers of every mirror mapping an evicted page;
 * the kernel calls that invalidation MMU_NOTIFY_CLEAR with no owner, and
 * devmem_event_flags() tells it by the evicting thread (devmem_pool
 * .evictor), so mirrors see a MIGRATE event with the TO_SYSTEM flag, as
 * for a move back.  Each evicted page counts in pages_evicted of the pool
 * and of the account it was charged to.
 *
 * Lifetime: a device page is allocated (with its backing, its account
 * charged and a module reference) by devmem_alloc_page() and freed by the
 * pgmap's free callback once the last CPU mapping and reference are gone:
 * munmap, exit, or the move back.  While any page is out, the module
 * cannot be unloaded (its reference); unloading with none out tears the
 * pool down (memunmap_pages() finds every page free).
 *
 * Locking: devmem_pool.lock, a spinlock, protects the free stack and the
 * allocation list (every slot's list node); nothing else is done under
 * it and no other lock is taken inside it.  An evictor reads the list
 * under it and drops it before touching a page: a page it collected may
 * be freed or even handed out again meanwhile, which is harmless, since
 * the kernel locks and references each page (one with no reference or
 * already locked is skipped) before the evictor reads its slot.
 * devmem_pool.evict_lock, a mutex, makes one eviction at a time (so one
 * evictor thread); it is taken with no mmap_lock held (an evicted page
 * may be any process's, and migrate_device_*() take page locks, rmap
 * locks and, through the notifiers, mirror locks: evict_lock -> page
 * lock -> m->lock), by a MIGRATE holding only its mirror's bind_sem.  A
 * page's slot (backing, account) is written by its allocator before the
 * page is published in a page table and read by whoever holds the page;
 * the device reads a backing under the mirror's lock, which an
 * invalidation of the page must take before the page can go.
 * migrate_to_ram() runs under the faulting mm's mmap_lock and takes
 * mirror locks only through the notifiers (mmap_lock -> lock, DOC:
 * Locking in mirror.h).
 */
#ifndef HMM_MIRROR_KMOD_DEVMEM_H
#define HMM_MIRROR_KMOD_DEVMEM_H

#include <linux/cache.h>
#include <linux/mmu_notifier.h>
#include <linux/types.h>

struct devmem_account;
struct mirror;
struct page;

/* The pool's pfns: [devmem_first_pfn, + devmem_nr_pages); 0 pages: none. */
extern unsigned long devmem_first_pfn __read_mostly;
extern unsigned long devmem_nr_pages __read_mostly;

/* Is @pfn a page of this device's memory?  No calls: used in uaccess. */
static __always_inline bool devmem_pfn(unsigned long pfn)
{
	return pfn - devmem_first_pfn < devmem_nr_pages;
}

/* Whether the module has device memory (HMM_MIRROR_FEAT_DEVICE_MEMORY). */
static inline bool devmem_enabled(void)
{
	return devmem_nr_pages != 0;
}

int devmem_init(void);
void devmem_exit(void);
void *devmem_owner(void);
u64 devmem_used_pages(void);
u64 devmem_faulted_back(void);
u64 devmem_evicted(void);

struct page *devmem_backing(unsigned long pfn);
u32 devmem_event_flags(const struct mmu_notifier_range *range);

struct devmem_account *devmem_account_new(void);
void devmem_account_put(struct devmem_account *acct);
u64 devmem_account_pages(struct devmem_account *acct);
u64 devmem_account_faulted_back(struct devmem_account *acct);
u64 devmem_account_evicted(struct devmem_account *acct);

struct migrate_vma;
/* For migrate.c; only with device memory (devmem_enabled()). */
struct page *devmem_alloc_page(struct devmem_account *acct);
void *devmem_to_device_owner(void);
unsigned long devmem_copy_to_system(struct migrate_vma *args,
				    unsigned long *no_memory);
unsigned long devmem_evict(unsigned long nr);

/* migrate.c: MIGRATE (@flags: HMM_MIRROR_MIGRATE_*).  Needs bind_sem. */
int mirror_migrate(struct mirror *m, unsigned long start, unsigned long end,
		   u32 flags, u32 __user *results, u64 *moved,
		   u64 *not_moved);

#endif /* HMM_MIRROR_KMOD_DEVMEM_H */
