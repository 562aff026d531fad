// SPDX-License-Identifier: GPL-2.0
/*
 * devmem.c - the device memory pool: device-private ZONE_DEVICE pages,
 * their backing pages, the accounts they are charged to, and the pgmap's
 * callbacks (the free callback and migrate_to_ram()).  DOC: Device memory
 * in devmem.h.
 */
#include <linux/highmem.h>
#include <linux/ioport.h>
#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "../abi/hmm_mirror.h"
#include "compat_devmem.h"
#include "devmem.h"

static unsigned int device_memory_mb = 256;
module_param(device_memory_mb, uint, 0444);
MODULE_PARM_DESC(device_memory_mb,
		 "MiB of device-private memory shared by all mirrors, where the kernel has CONFIG_DEVICE_PRIVATE (default: 256; 0: none)");

unsigned long devmem_first_pfn __read_mostly;
unsigned long devmem_nr_pages __read_mostly;

/*
 * struct devmem_account - what a mirror has in device memory
 * @ref: one for the mirror, one per device page charged to it
 * @pages: device pages charged to it now
 * @faulted_back: of its pages, those a CPU access moved back
 * @evicted: of its pages, those an eviction moved back (devmem_evict())
 *
 * Outlives the mirror while pages are charged to it (DOC: Device memory).
 */
struct devmem_account {
	struct kref ref;
	atomic64_t pages;
	atomic64_t faulted_back;
	atomic64_t evicted;
};

static void devmem_account_release(struct kref *ref)
{
	kfree(container_of(ref, struct devmem_account, ref));
}

/**
 * devmem_account_new() - an account for a new mirror
 *
 * Context: Process context, may sleep (GFP_KERNEL).
 *
 * Return: the account, or NULL without memory (the mirror then fails).
 */
struct devmem_account *devmem_account_new(void)
{
	struct devmem_account *acct = kzalloc(sizeof(*acct), GFP_KERNEL);

	if (acct)
		kref_init(&acct->ref);
	return acct;
}

/**
 * devmem_account_put() - drop a reference to an account
 * @acct: the account, or NULL
 *
 * The mirror drops its own when it is destroyed, a page when it is freed;
 * the last frees the account.
 *
 * Context: Any context.
 */
void devmem_account_put(struct devmem_account *acct)
{
	if (acct)
		kref_put(&acct->ref, devmem_account_release);
}

/**
 * devmem_account_pages() - device pages charged to an account now
 * @acct: the account, or NULL
 *
 * Context: Any context.
 *
 * Return: the pages, 0 for NULL.
 */
u64 devmem_account_pages(struct devmem_account *acct)
{
	return acct ? atomic64_read(&acct->pages) : 0;
}

/**
 * devmem_account_faulted_back() - pages of an account a CPU access moved back
 * @acct: the account, or NULL
 *
 * Context: Any context.
 *
 * Return: the pages since the account was made, 0 for NULL.
 */
u64 devmem_account_faulted_back(struct devmem_account *acct)
{
	return acct ? atomic64_read(&acct->faulted_back) : 0;
}

/**
 * devmem_account_evicted() - pages of an account an eviction moved back
 * @acct: the account, or NULL
 *
 * Context: Any context.
 *
 * Return: the pages since the account was made, 0 for NULL.
 */
u64 devmem_account_evicted(struct devmem_account *acct)
{
	return acct ? atomic64_read(&acct->evicted) : 0;
}

#ifdef HMM_DEVMEM

/*
 * What the device keeps for one of its pages while it is allocated.
 * @node is the pool's (devmem_pool.allocated, under its lock); the rest is
 * the page holder's (DOC: Device memory).
 */
struct devmem_slot {
	struct page *backing;		/* the page's contents */
	struct devmem_account *acct;	/* charged with the page */
	struct list_head node;		/* on devmem_pool.allocated */
};

/*
 * struct devmem_pool - the module's device memory
 * @pgmap: the device-private pages, owned by &devmem_pool
 * @res: the physical range they occupy
 * @slots: one per page, by pfn - devmem_first_pfn
 * @lock: protects @free, @nr_free, @allocated and every slot's node
 * @free: the free pages (offsets into @slots), a stack
 * @nr_free: entries on @free
 * @allocated: the allocated pages' slots, oldest first: an eviction's
 *	candidates (DOC: Device memory)
 * @faulted_back: pages a CPU access moved back, since load
 * @evicted: pages an eviction moved back, since load
 * @evict_lock: one eviction at a time, so @evictor names its thread
 * @evictor: the thread inside migrate_device_range() for an eviction, or
 *	NULL: the notifiers it runs report a move back (devmem_event_flags())
 */
struct devmem_pool {
	struct dev_pagemap pgmap;
	struct resource *res;
	struct devmem_slot *slots;
	spinlock_t lock;	/* protects @free, @nr_free, @allocated */
	u32 *free;
	unsigned long nr_free;
	struct list_head allocated;
	atomic64_t faulted_back;
	atomic64_t evicted;
	struct mutex evict_lock;	/* serialises devmem_evict() */
	struct task_struct *evictor;
};

static struct devmem_pool devmem_pool;
/* The notifier owner of moves to the device: tells them from moves back. */
static const char devmem_to_device_token;

/**
 * devmem_owner() - the device's identity as the owner of its memory
 *
 * Context: Any context.
 *
 * Return: the pgmap owner of the pool: the dev_private_owner of every
 * walk, and the migrate_vma pgmap_owner of moves back to system memory.
 */
void *devmem_owner(void)
{
	return &devmem_pool;
}

/**
 * devmem_to_device_owner() - the notifier owner of moves to the device
 *
 * Context: Any context.
 *
 * Return: a cookie that is not the pgmap owner: it only tells a move into
 * the device's memory from a move out of it (devmem_event_flags()).
 */
void *devmem_to_device_owner(void)
{
	return (void *)&devmem_to_device_token;
}

/**
 * devmem_used_pages() - pages of the pool allocated now
 *
 * Context: Any context; a snapshot without the pool's lock.
 *
 * Return: the pages.
 */
u64 devmem_used_pages(void)
{
	return devmem_nr_pages - READ_ONCE(devmem_pool.nr_free);
}

/**
 * devmem_faulted_back() - pages a CPU access moved back since load
 *
 * Context: Any context.
 *
 * Return: the pages.
 */
u64 devmem_faulted_back(void)
{
	return atomic64_read(&devmem_pool.faulted_back);
}

/**
 * devmem_evicted() - pages an eviction moved back since load
 *
 * Context: Any context.
 *
 * Return: the pages.
 */
u64 devmem_evicted(void)
{
	return atomic64_read(&devmem_pool.evicted);
}

/**
 * devmem_event_flags() - the direction of a move, for its event
 * @range: an invalidation
 *
 * Context: An invalidation callback, under the mirror's lock: does not
 * sleep.
 *
 * An eviction unmaps its pages with migrate_device_range(), whose
 * invalidation the kernel calls MMU_NOTIFY_CLEAR without an owner; it is
 * told by its thread, @evictor, which runs nothing else meanwhile.
 *
 * Return: HMM_MIRROR_EVENT_FLAG_TO_DEVICE or _TO_SYSTEM for a move into or
 * out of this device's memory (an eviction included), else 0.  Non-zero
 * makes the event a HMM_MIRROR_EVENT_MIGRATE one.
 */
u32 devmem_event_flags(const struct mmu_notifier_range *range)
{
	if (range->event == MMU_NOTIFY_CLEAR && !range->owner &&
	    READ_ONCE(devmem_pool.evictor) == current)
		return HMM_MIRROR_EVENT_FLAG_TO_SYSTEM;
	if (range->event != MMU_NOTIFY_MIGRATE)
		return 0;
	if (range->owner == devmem_to_device_owner())
		return HMM_MIRROR_EVENT_FLAG_TO_DEVICE;
	if (range->owner == devmem_owner())
		return HMM_MIRROR_EVENT_FLAG_TO_SYSTEM;
	return 0;
}

static struct devmem_slot *devmem_slot(struct page *page)
{
	return &devmem_pool.slots[page_to_pfn(page) - devmem_first_pfn];
}

/**
 * devmem_backing() - the page holding the contents of a device page
 * @pfn: a page frame that devmem_pfn() accepts, allocated: mapped by the
 *	caller's device page table or held by the caller
 *
 * Context: Any context; the caller keeps the page allocated (m->lock for
 * a page its device page table maps).
 *
 * Return: the backing page.
 */
struct page *devmem_backing(unsigned long pfn)
{
	return devmem_pool.slots[pfn - devmem_first_pfn].backing;
}

/**
 * devmem_alloc_page() - a free device page, charged to @acct
 * @acct: the mirror's account
 *
 * Allocates the page's backing too; may sleep (GFP_HIGHUSER).  The page
 * comes locked with one reference, as migrate_vma_pages() wants its
 * destinations, and holds a module reference until it is freed.
 *
 * Context: Process context, may sleep; takes the pool's spinlock.
 *
 * Return: the page, or NULL if the pool is empty or the backing cannot
 * be had.  The page is the newest on the pool's allocation list.
 */
struct page *devmem_alloc_page(struct devmem_account *acct)
{
	struct devmem_slot *slot;
	struct page *backing, *page;
	unsigned long off;

	backing = alloc_page(GFP_HIGHUSER);
	if (!backing)
		return NULL;
	spin_lock(&devmem_pool.lock);
	if (!devmem_pool.nr_free) {
		spin_unlock(&devmem_pool.lock);
		__free_page(backing);
		return NULL;
	}
	off = devmem_pool.free[--devmem_pool.nr_free];
	slot = &devmem_pool.slots[off];
	/* Its refcount is 0 until zone_device_page_init(): evictors skip it. */
	list_add_tail(&slot->node, &devmem_pool.allocated);
	spin_unlock(&devmem_pool.lock);

	page = pfn_to_page(devmem_first_pfn + off);
	slot->backing = backing;
	slot->acct = acct;
	kref_get(&acct->ref);
	atomic64_inc(&acct->pages);
	__module_get(THIS_MODULE);
	compat_zone_device_page_init(page, &devmem_pool.pgmap);
	return page;
}

/* The pgmap's free callback: the page's last reference went. */
static void devmem_page_free(struct page *page)
{
	struct devmem_slot *slot = devmem_slot(page);
	struct devmem_account *acct = slot->acct;

	__free_page(slot->backing);
	slot->backing = NULL;
	slot->acct = NULL;
	atomic64_dec(&acct->pages);
	devmem_account_put(acct);

	spin_lock(&devmem_pool.lock);
	list_del(&slot->node);
	devmem_pool.free[devmem_pool.nr_free++] = page_to_pfn(page) -
						  devmem_first_pfn;
	spin_unlock(&devmem_pool.lock);
	/*
	 * The module may go once this is dropped; the core puts the pgmap's
	 * reference after this returns, and unloading waits for that in
	 * memunmap_pages(), so no code of the module runs after it.
	 */
	module_put(THIS_MODULE);
}

COMPAT_PGMAP_FREE_OP(devmem_page_free);

/*
 * The copy of every move out of device memory: for each selected device
 * page of @src (n entries), a new locked system page in @dst holding its
 * contents, or 0.  @vma and @start place the pages for the allocator
 * (migrate_vma); an eviction has no VMA (NULL).
 */
static unsigned long devmem_copy_out(const unsigned long *src,
				     unsigned long *dst, unsigned long n,
				     struct vm_area_struct *vma,
				     unsigned long start,
				     unsigned long *no_memory)
{
	unsigned long i, got = 0;

	for (i = 0; i < n; i++) {
		struct page *spage = migrate_pfn_to_page(src[i]);
		struct page *dpage;

		dst[i] = 0;
		if (!spage || !(src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		if (WARN_ON_ONCE(!devmem_pfn(page_to_pfn(spage))))
			continue;
		if (vma)
			dpage = alloc_page_vma(GFP_HIGHUSER_MOVABLE, vma,
					       start + (i << PAGE_SHIFT));
		else
			dpage = alloc_page(GFP_HIGHUSER_MOVABLE);
		if (!dpage) {
			(*no_memory)++;
			continue;
		}
		lock_page(dpage);
		copy_highpage(dpage, devmem_slot(spage)->backing);
		dst[i] = migrate_pfn(page_to_pfn(dpage));
		if (src[i] & MIGRATE_PFN_WRITE)
			dst[i] |= MIGRATE_PFN_WRITE;
		got++;
	}
	return got;
}

/**
 * devmem_copy_to_system() - system pages for the device pages being moved
 * @args: after migrate_vma_setup() with MIGRATE_VMA_SELECT_DEVICE_PRIVATE
 * @no_memory: incremented per page left behind for lack of a system page
 *
 * Fills @args->dst with a new page per device page selected, its
 * contents copied from the backing.
 *
 * Context: Process context, may sleep (allocates); holds the mmap_lock of
 * @args->vma's mm, as migrate_vma_setup() needed.
 *
 * Return: the pages given a destination.
 */
unsigned long devmem_copy_to_system(struct migrate_vma *args,
				    unsigned long *no_memory)
{
	return devmem_copy_out(args->src, args->dst,
			       (args->end - args->start) >> PAGE_SHIFT,
			       args->vma, args->start, no_memory);
}

/*
 * Collect, lock and unmap the @n device pages whose pfns @src holds, as
 * migrate_device_pfns() does; where the kernel has only
 * migrate_device_range(), a run of consecutive pfns at a time.
 */
static void devmem_unmap_pfns(unsigned long *src, unsigned long n)
{
#ifdef HMM_HAVE_MIGRATE_DEVICE_PFNS
	migrate_device_pfns(src, n);
#else
	unsigned long i = 0, j;

	while (i < n) {
		for (j = i + 1; j < n && src[j] == src[j - 1] + 1; j++)
			;
		migrate_device_range(src + i, src[i], j - i);
		i = j;
	}
#endif
}

/*
 * One round of devmem_evict(): the @nr oldest allocated pages back to
 * system memory, through @src and @dst (@nr entries each).  Returns the
 * pages evicted; *@busy gets those that could not be (locked, pinned or
 * freed meanwhile).  Needs evict_lock.
 */
static unsigned long devmem_evict_round(unsigned long nr, unsigned long *src,
					unsigned long *dst,
					unsigned long *busy)
{
	unsigned long i, n = 0, evicted = 0, no_memory = 0;
	struct devmem_slot *slot;

	lockdep_assert_held(&devmem_pool.evict_lock);
	spin_lock(&devmem_pool.lock);
	list_for_each_entry(slot, &devmem_pool.allocated, node) {
		if (n == nr)
			break;
		src[n++] = devmem_first_pfn + (slot - devmem_pool.slots);
	}
	spin_unlock(&devmem_pool.lock);
	if (!n)
		return 0;

	/*
	 * Unmapping runs the notifiers of every mirror that maps a page;
	 * they see a move back (devmem_event_flags()).  Nothing else runs
	 * meanwhile: the copies allocate, outside this window.
	 */
	WRITE_ONCE(devmem_pool.evictor, current);
	devmem_unmap_pfns(src, n);
	WRITE_ONCE(devmem_pool.evictor, NULL);

	devmem_copy_out(src, dst, n, NULL, 0, &no_memory);
	migrate_device_pages(src, dst, n);
	for (i = 0; i < n; i++) {
		struct page *page = migrate_pfn_to_page(src[i]);
		struct devmem_account *acct;

		if (!page || !(src[i] & MIGRATE_PFN_MIGRATE) || !dst[i]) {
			(*busy)++;
			continue;
		}
		/* Locked and held by the eviction: its slot stays. */
		acct = devmem_slot(page)->acct;
		atomic64_inc(&acct->evicted);
		evicted++;
	}
	atomic64_add(evicted, &devmem_pool.evicted);
	/* Frees the evicted pages: they leave the allocation list. */
	migrate_device_finalize(src, dst, n);
	return evicted;
}

/**
 * devmem_evict() - make room: move the pool's oldest pages back
 * @nr: pages wanted free, at most MIGRATE_BATCH_PAGES of migrate.c
 *
 * Moves up to @nr of the allocated device pages, oldest first and of
 * whichever mirror, back to system memory through the kernel's
 * device-side migration, their contents copied from the backing.  A page
 * that cannot move (busy) is skipped: a second round takes as many pages
 * after it.  MIGRATE with HMM_MIRROR_MIGRATE_EVICT, between its passes
 * over a batch (DOC: Device memory).
 *
 * Context: Process context, may sleep; no mmap_lock held (the pages may
 * be any process's).  Takes evict_lock, the pool's spinlock, page locks
 * and, through the notifiers, mirror locks.
 *
 * Return: the pages evicted.
 */
unsigned long devmem_evict(unsigned long nr)
{
	unsigned long *src, evicted, busy = 0;

	if (!nr)
		return 0;
	/* Room for a second round: @nr and as many as were busy. */
	src = kvmalloc_array(4 * nr, sizeof(*src), GFP_KERNEL);
	if (!src)
		return 0;
	mutex_lock(&devmem_pool.evict_lock);
	evicted = devmem_evict_round(nr, src, src + 2 * nr, &busy);
	if (evicted < nr && busy) {
		/* The busy ones are still the oldest: take those after. */
		unsigned long more = nr - evicted + busy;

		busy = 0;
		evicted += devmem_evict_round(more, src, src + 2 * nr, &busy);
	}
	mutex_unlock(&devmem_pool.evict_lock);
	kvfree(src);
	return evicted;
}

/*
 * The CPU touched a page in device memory: move it back, data intact.
 * The notifiers see the move (MMU_NOTIFY_MIGRATE, owner devmem_owner())
 * and remove the page from every device page table first.
 */
static vm_fault_t devmem_migrate_to_ram(struct vm_fault *vmf)
{
	unsigned long src = 0, dst = 0, no_memory = 0;
	struct migrate_vma args = {
		.vma = vmf->vma,
		.start = vmf->address & PAGE_MASK,
		.end = (vmf->address & PAGE_MASK) + PAGE_SIZE,
		.src = &src,
		.dst = &dst,
		.pgmap_owner = devmem_owner(),
		.flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
		.fault_page = vmf->page,
	};
	struct devmem_account *acct = devmem_slot(vmf->page)->acct;

	if (migrate_vma_setup(&args))
		return VM_FAULT_SIGBUS;
	/* Not selected: another thread moved it already; retry the access. */
	if (args.cpages && !devmem_copy_to_system(&args, &no_memory) &&
	    no_memory) {
		migrate_vma_finalize(&args);
		return VM_FAULT_OOM;
	}
	/* The fault's reference keeps the page, and so @acct, alive. */
	kref_get(&acct->ref);
	migrate_vma_pages(&args);
	if (src & MIGRATE_PFN_MIGRATE) {
		atomic64_inc(&devmem_pool.faulted_back);
		atomic64_inc(&acct->faulted_back);
	}
	migrate_vma_finalize(&args);
	devmem_account_put(acct);
	return 0;
}

static const struct dev_pagemap_ops devmem_pgmap_ops = {
	COMPAT_PGMAP_FREE_INIT(devmem_page_free),
	.migrate_to_ram = devmem_migrate_to_ram,
};

/**
 * devmem_init() - set up the pool at module load
 *
 * Context: Module init, may sleep.
 *
 * Return: 0, also when there is no pool (device_memory_mb=0), or the
 * error that keeps the pool from being set up.
 */
int devmem_init(void)
{
	unsigned long nr = (unsigned long)device_memory_mb << (20 - PAGE_SHIFT);
	struct resource *res;
	unsigned long i;
	void *addr;
	int ret;

	if (!nr)
		return 0;
	spin_lock_init(&devmem_pool.lock);
	INIT_LIST_HEAD(&devmem_pool.allocated);
	mutex_init(&devmem_pool.evict_lock);
	devmem_pool.slots = kvcalloc(nr, sizeof(*devmem_pool.slots),
				     GFP_KERNEL);
	devmem_pool.free = kvmalloc_array(nr, sizeof(*devmem_pool.free),
					  GFP_KERNEL);
	ret = -ENOMEM;
	if (!devmem_pool.slots || !devmem_pool.free)
		goto free;
	res = request_free_mem_region(&iomem_resource, nr << PAGE_SHIFT,
				      "hmm_mirror device memory");
	if (IS_ERR(res)) {
		ret = PTR_ERR(res);
		goto free;
	}
	devmem_pool.res = res;
	devmem_pool.pgmap.type = MEMORY_DEVICE_PRIVATE;
	devmem_pool.pgmap.range.start = res->start;
	devmem_pool.pgmap.range.end = res->end;
	devmem_pool.pgmap.nr_range = 1;
	devmem_pool.pgmap.ops = &devmem_pgmap_ops;
	devmem_pool.pgmap.owner = devmem_owner();
	addr = memremap_pages(&devmem_pool.pgmap, numa_node_id());
	if (IS_ERR(addr)) {
		ret = PTR_ERR(addr);
		goto release;
	}
	/* Handed out from the lowest pfn up. */
	for (i = 0; i < nr; i++)
		devmem_pool.free[i] = nr - 1 - i;
	devmem_pool.nr_free = nr;
	devmem_first_pfn = res->start >> PAGE_SHIFT;
	WRITE_ONCE(devmem_nr_pages, nr);
	return 0;
release:
	release_mem_region(res->start, resource_size(res));
free:
	kvfree(devmem_pool.free);
	kvfree(devmem_pool.slots);
	return ret;
}

/**
 * devmem_exit() - tear the pool down at unload, every page free (each one
 * out holds a module reference)
 *
 * Context: Module exit, may sleep (memunmap_pages()).
 */
void devmem_exit(void)
{
	if (!devmem_nr_pages)
		return;
	WARN_ON_ONCE(devmem_pool.nr_free != devmem_nr_pages);
	memunmap_pages(&devmem_pool.pgmap);
	release_mem_region(devmem_pool.res->start,
			   resource_size(devmem_pool.res));
	kvfree(devmem_pool.free);
	kvfree(devmem_pool.slots);
	devmem_nr_pages = 0;
}

#else /* !HMM_DEVMEM: the kernel has no device-private memory. */

static char devmem_owner_token;

void *devmem_owner(void)
{
	return &devmem_owner_token;
}

void *devmem_to_device_owner(void)
{
	return NULL;
}

u64 devmem_used_pages(void)
{
	return 0;
}

u64 devmem_faulted_back(void)
{
	return 0;
}

u64 devmem_evicted(void)
{
	return 0;
}

unsigned long devmem_evict(unsigned long nr)
{
	return 0;
}

u32 devmem_event_flags(const struct mmu_notifier_range *range)
{
	return 0;
}

struct page *devmem_backing(unsigned long pfn)
{
	return NULL;
}

struct page *devmem_alloc_page(struct devmem_account *acct)
{
	return NULL;
}

unsigned long devmem_copy_to_system(struct migrate_vma *args,
				    unsigned long *no_memory)
{
	return 0;
}

int devmem_init(void)
{
	if (device_memory_mb)
		pr_info("hmm_mirror: no device memory: the kernel lacks CONFIG_DEVICE_PRIVATE\n");
	return 0;
}

void devmem_exit(void)
{
}
#endif /* HMM_DEVMEM */
