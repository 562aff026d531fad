// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - /dev/hmm_mirror: the misc device, its file operations and the
 * ioctl front end.  Every command copies and checks its argument here
 * before any memory of the mirrored process is touched.
 */
#include <linux/build_bug.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/uaccess.h>

#include "../abi/hmm_mirror.h"
#include "devmem.h"
#include "exclusive.h"
#include "mirror.h"

/* Pin the ABI layouts: a change here is an ABI break. */
static_assert(sizeof(struct hmm_mirror_handshake) ==
	      HMM_MIRROR_HANDSHAKE_SIZE_VER4);
static_assert(offsetof(struct hmm_mirror_handshake, device_memory_size) ==
	      HMM_MIRROR_HANDSHAKE_SIZE_VER3);
static_assert(sizeof(struct hmm_mirror_migrate) ==
	      HMM_MIRROR_MIGRATE_SIZE_VER4);
static_assert(offsetof(struct hmm_mirror_migrate, pages_moved) == 40);
static_assert(offsetof(struct hmm_mirror_stats, device_memory_pages) ==
	      HMM_MIRROR_STATS_SIZE_VER1);
static_assert(sizeof(struct hmm_mirror_fault) == HMM_MIRROR_FAULT_SIZE_VER1);
/* HANDSHAKE reports the device page table's end as the ABI's limit. */
static_assert(DPT_VA_LIMIT == HMM_MIRROR_ADDR_LIMIT);
static_assert(sizeof(struct hmm_mirror_pages) == HMM_MIRROR_PAGES_SIZE_VER2);
static_assert(sizeof(struct hmm_mirror_run) == HMM_MIRROR_RUN_SIZE);
static_assert(offsetof(struct hmm_mirror_run, state) == 16);
static_assert(sizeof(struct hmm_mirror_rw) == HMM_MIRROR_RW_SIZE_VER3);
static_assert(offsetof(struct hmm_mirror_handshake, page_shift) == 40);
static_assert(offsetof(struct hmm_mirror_handshake, addr_limit) ==
	      HMM_MIRROR_HANDSHAKE_SIZE_VER1);
static_assert(offsetof(struct hmm_mirror_fault, retries) == 32);
static_assert(offsetof(struct hmm_mirror_pages, states_len) == 32);
static_assert(offsetof(struct hmm_mirror_pages, nr_runs) == 40);
static_assert(offsetof(struct hmm_mirror_rw, device_faults) == 32);
static_assert(offsetof(struct hmm_mirror_rw, bytes_copied) ==
	      HMM_MIRROR_RW_SIZE_VER1);
static_assert(sizeof(struct hmm_mirror_attach) == HMM_MIRROR_ATTACH_SIZE_VER1);
static_assert(sizeof(struct hmm_mirror_event) == HMM_MIRROR_EVENT_SIZE_VER1);
static_assert(sizeof(struct hmm_mirror_events) == HMM_MIRROR_EVENTS_SIZE_VER1);
static_assert(sizeof(struct hmm_mirror_stats) == HMM_MIRROR_STATS_SIZE_VER5);
static_assert(offsetof(struct hmm_mirror_stats, exclusive_granted) ==
	      HMM_MIRROR_STATS_SIZE_VER4);
static_assert(sizeof(struct hmm_mirror_exclusive) ==
	      HMM_MIRROR_EXCLUSIVE_SIZE_VER5);
static_assert(offsetof(struct hmm_mirror_exclusive, pages_granted) == 40);
static_assert(sizeof(struct hmm_mirror_atomic) == HMM_MIRROR_ATOMIC_SIZE_VER5);
static_assert(offsetof(struct hmm_mirror_atomic, operand) == 24);
static_assert(offsetof(struct hmm_mirror_atomic, old) == 40);
static_assert(offsetof(struct hmm_mirror_stats, pages_evicted) ==
	      HMM_MIRROR_STATS_SIZE_VER4 + 16);
static_assert(offsetof(struct hmm_mirror_event, flags) == 40);
static_assert(offsetof(struct hmm_mirror_stats, invalidations) == 40);
static_assert(offsetof(struct hmm_mirror_stats, mirrors) == 152);

/*
 * Features of the module as a whole rather than of one command; each
 * command's own comes from its row of ioc_commands[].
 */
#define FEATURES_MODULE	(HMM_MIRROR_FEAT_HUGE_ENTRIES | \
			 HMM_MIRROR_FEAT_LAZY_NOTIFIERS | \
			 HMM_MIRROR_FEAT_FILE_BACKED | HMM_MIRROR_FEAT_FORK | \
			 HMM_MIRROR_FEAT_EXIT | HMM_MIRROR_FEAT_SNAPSHOT_RUNS | \
			 HMM_MIRROR_FEAT_RW_COPIED | HMM_MIRROR_FEAT_ADDR_LIMIT | \
			 HMM_MIRROR_FEAT_DEVICE_EVICT)
/* What ABI version 3 added, and what version 2 added. */
#define FEATURES_SINCE_VER3	(HMM_MIRROR_FEAT_RW_COPIED | \
				 HMM_MIRROR_FEAT_ADDR_LIMIT)
#define FEATURES_SINCE_VER2	HMM_MIRROR_FEAT_SNAPSHOT_RUNS
/*
 * What version 4 added: MIGRATE's feature, advertised only where the
 * kernel and the pool have device memory (devmem.h).
 */
#define FEATURES_SINCE_VER4	HMM_MIRROR_FEAT_DEVICE_MEMORY
/*
 * What version 5 added: exclusive access, advertised only where the
 * kernel has device-exclusive entries (exclusive.c); eviction, only with
 * device memory.
 */
#define FEATURES_SINCE_VER5	(HMM_MIRROR_FEAT_EXCLUSIVE | \
				 HMM_MIRROR_FEAT_DEVICE_EVICT)
/* The MIGRATE flags this module knows. */
#define MIGRATE_FLAGS		(HMM_MIRROR_MIGRATE_TO_SYSTEM | \
				 HMM_MIRROR_MIGRATE_EVICT)

/* The argument of any command, as the front end copies it in. */
union ioc_arg {
	struct hmm_mirror_handshake handshake;
	struct hmm_mirror_fault fault;
	struct hmm_mirror_pages pages;
	struct hmm_mirror_rw rw;
	struct hmm_mirror_attach attach;
	struct hmm_mirror_events events;
	struct hmm_mirror_stats stats;
	struct hmm_mirror_migrate migrate;
	struct hmm_mirror_exclusive exclusive;
	struct hmm_mirror_atomic atomic;
};

static void ioc_masks(u64 *ioctls, u64 *features);

/*
 * Copy an argument struct that starts with its own __u32 size, following
 * copy_struct_from_user(): shorter is zero-extended, longer must have a
 * zero tail.  Returns the caller's size through @usize for copy_out().
 */
static int copy_in(void *karg, size_t ksize, size_t ver1_size,
		   void __user *uarg, u32 *usize)
{
	u32 size;
	int ret;

	if (get_user(size, (u32 __user *)uarg))
		return -EFAULT;
	if (size < ver1_size)
		return -EINVAL;
	if (size > PAGE_SIZE)
		return -E2BIG;
	ret = copy_struct_from_user(karg, ksize, uarg, size);
	if (ret)
		return ret;
	*usize = size;
	return 0;
}

static int copy_out(void __user *uarg, const void *karg, size_t ksize,
		    u32 usize)
{
	return copy_to_user(uarg, karg, min_t(size_t, ksize, usize)) ?
	       -EFAULT : 0;
}

/*
 * Ranges: page aligned, non-empty, no wrap, inside user space and the dpt;
 * and the address space must still exist.  Needs bind_sem.
 */
static int check_range(struct mirror *m, u64 addr, u64 length)
{
	u64 limit = min_t(u64, m->mm->task_size, DPT_VA_LIMIT);

	lockdep_assert_held(&m->bind_sem);
	if (READ_ONCE(m->released))
		return -ESRCH;

	if (!length || !PAGE_ALIGNED(addr) || !PAGE_ALIGNED(length))
		return -EINVAL;
	if (addr + length < addr || addr + length > limit)
		return -EINVAL;
	return 0;
}

/*
 * A range with its optional per-page results array (MIGRATE, EXCLUSIVE):
 * the range as check_range() wants it; an array of at least one __u32 per
 * page inside user space, or none with results_len 0.  Needs bind_sem.
 */
static int check_range_results(struct mirror *m, u64 addr, u64 length,
			       u64 results, u64 results_len)
{
	int ret = check_range(m, addr, length);

	if (ret)
		return ret;
	if (results ? results_len < length >> PAGE_SHIFT : results_len)
		return -EINVAL;
	if (results && !access_ok(u64_to_user_ptr(results),
				  (length >> PAGE_SHIFT) * sizeof(u32)))
		return -EFAULT;
	return 0;
}

static long ioc_handshake(struct mirror *m, union ioc_arg *arg,
			  void __user *uarg, u32 usize)
{
	struct hmm_mirror_handshake *a = &arg->handshake;
	u64 ioctls, features;

	if (a->flags || a->reserved || !a->abi_version)
		return -EINVAL;

	/*
	 * A caller of an older version is answered as a module of that
	 * version was: its version, only the features it defined, and no
	 * field it did not have (0, as a zero tail stayed).
	 */
	ioc_masks(&ioctls, &features);
	a->module_abi_version = min_t(u32, a->abi_version,
				      HMM_MIRROR_ABI_VERSION);
	if (a->module_abi_version < 5)
		features &= ~FEATURES_SINCE_VER5;
	if (!exclusive_supported())
		features &= ~HMM_MIRROR_FEAT_EXCLUSIVE;
	if (!devmem_enabled())
		features &= ~HMM_MIRROR_FEAT_DEVICE_EVICT;
	if (a->module_abi_version < 4 || !devmem_enabled())
		features &= ~FEATURES_SINCE_VER4;
	if (a->module_abi_version < 3)
		features &= ~FEATURES_SINCE_VER3;
	if (a->module_abi_version < 2)
		features &= ~FEATURES_SINCE_VER2;
	a->features_supported = features;
	a->ioctls_supported = ioctls;
	a->page_shift = PAGE_SHIFT;
	a->addr_limit = a->module_abi_version < 3 ? 0 : DPT_VA_LIMIT;
	a->device_memory_size = 0;
	a->device_memory_used = 0;
	if (features & HMM_MIRROR_FEAT_DEVICE_MEMORY) {
		a->device_memory_size = (u64)devmem_nr_pages << PAGE_SHIFT;
		a->device_memory_used = devmem_used_pages() << PAGE_SHIFT;
	}
	return copy_out(uarg, a, sizeof(*a), usize);
}

static long ioc_fault(struct mirror *m, union ioc_arg *arg,
		      void __user *uarg, u32 usize)
{
	struct hmm_mirror_fault *a = &arg->fault;
	int ret;

	if (a->flags & ~HMM_MIRROR_FAULT_WRITE)
		return -EINVAL;
	down_read(&m->bind_sem);
	ret = check_range(m, a->addr, a->length);
	if (!ret) {
		a->retries = 0;
		ret = mirror_fault_range(m, a->addr, a->addr + a->length,
					 a->flags & HMM_MIRROR_FAULT_WRITE,
					 &a->retries);
	}
	if (!ret)
		a->pages_mapped = mirror_count_mapped(m, a->addr,
						      a->addr + a->length);
	up_read(&m->bind_sem);
	return ret ? ret : copy_out(uarg, a, sizeof(*a), usize);
}

/* SNAPSHOT with HMM_MIRROR_PAGES_RUNS: runs instead of per-page states. */
static long ioc_snapshot_runs(struct mirror *m, struct hmm_mirror_pages *a,
			      void __user *uarg, u32 usize)
{
	struct hmm_mirror_run __user *runs = u64_to_user_ptr(a->states);
	u64 max_runs = min_t(u64, a->states_len, a->length >> PAGE_SHIFT);
	int ret;

	/* Without room for nr_runs the caller could not tell what it got. */
	if (usize < HMM_MIRROR_PAGES_SIZE_VER2 || !a->states_len)
		return -EINVAL;
	down_read(&m->bind_sem);
	ret = check_range(m, a->addr, a->length);
	if (ret)
		goto out;
	ret = -EFAULT;
	if (!access_ok(runs, max_runs * sizeof(*runs)))
		goto out;
	ret = mirror_snapshot_runs(m, a->addr, a->addr + a->length, runs,
				   max_runs, &a->nr_runs);
out:
	up_read(&m->bind_sem);
	return ret ? ret : copy_out(uarg, a, sizeof(*a), usize);
}

static long ioc_pages(struct mirror *m, struct hmm_mirror_pages *a,
		      void __user *uarg, u32 usize, bool query)
{
	u32 __user *states;
	int ret;

	if (a->flags & ~HMM_MIRROR_PAGES_RUNS)
		return -EINVAL;
	if (a->flags & HMM_MIRROR_PAGES_RUNS)
		return query ? -EINVAL : ioc_snapshot_runs(m, a, uarg, usize);
	down_read(&m->bind_sem);
	ret = check_range(m, a->addr, a->length);
	if (ret)
		goto out;
	ret = -EINVAL;
	if (a->states_len < a->length >> PAGE_SHIFT)
		goto out;
	ret = -EFAULT;
	states = u64_to_user_ptr(a->states);
	if (!access_ok(states, (a->length >> PAGE_SHIFT) * sizeof(u32)))
		goto out;

	if (query)
		ret = mirror_query(m, a->addr, a->addr + a->length, states);
	else
		ret = mirror_snapshot(m, a->addr, a->addr + a->length, states);
out:
	up_read(&m->bind_sem);
	return ret;
}

static long ioc_snapshot(struct mirror *m, union ioc_arg *arg,
			 void __user *uarg, u32 usize)
{
	return ioc_pages(m, &arg->pages, uarg, usize, false);
}

static long ioc_query(struct mirror *m, union ioc_arg *arg,
		      void __user *uarg, u32 usize)
{
	return ioc_pages(m, &arg->pages, uarg, usize, true);
}

static long ioc_rw(struct mirror *m, struct hmm_mirror_rw *a,
		   void __user *uarg, u32 usize, bool write)
{
	void __user *buf;
	int ret;

	a->device_faults = 0;
	a->bytes_copied = 0;
	if (a->flags) {
		ret = -EINVAL;
		goto out;
	}
	down_read(&m->bind_sem);
	ret = check_range(m, a->addr, a->length);
	buf = u64_to_user_ptr(a->buf);
	if (!ret && (!a->buf || !access_ok(buf, a->length)))
		ret = -EFAULT;
	if (!ret)
		ret = mirror_device_rw(m, a->addr, a->addr + a->length, buf,
				       write, &a->device_faults,
				       &a->bytes_copied);
	up_read(&m->bind_sem);
out:
	if (!ret)
		return copy_out(uarg, a, sizeof(*a), usize);
	/*
	 * ABI 3: a caller whose struct holds bytes_copied learns how far a
	 * failed copy got.  An older caller's struct stays as it was, as
	 * before; and the error stays the call's, whether or not this lands.
	 */
	if (usize >= HMM_MIRROR_RW_SIZE_VER3)
		copy_out(uarg, a, sizeof(*a), usize);
	return ret;
}

static long ioc_read(struct mirror *m, union ioc_arg *arg,
		     void __user *uarg, u32 usize)
{
	return ioc_rw(m, &arg->rw, uarg, usize, false);
}

static long ioc_write(struct mirror *m, union ioc_arg *arg,
		      void __user *uarg, u32 usize)
{
	return ioc_rw(m, &arg->rw, uarg, usize, true);
}

static long ioc_attach(struct mirror *m, union ioc_arg *arg,
		       void __user *uarg, u32 usize)
{
	struct hmm_mirror_attach *a = &arg->attach;

	if (a->flags || a->reserved)
		return -EINVAL;
	if (a->pidfd > INT_MAX)
		return -EBADF;
	return mirror_attach(m, a->pidfd);
}

static long ioc_events(struct mirror *m, union ioc_arg *arg,
		       void __user *uarg, u32 usize)
{
	struct hmm_mirror_events *a = &arg->events;

	if (a->flags)
		return -EINVAL;
	return mirror_events_config(m, a->reasons, a->queue_len);
}

static long ioc_stats(struct mirror *m, union ioc_arg *arg,
		      void __user *uarg, u32 usize)
{
	struct hmm_mirror_stats *a = &arg->stats;
	u32 flags;

	if (a->flags & ~HMM_MIRROR_STATS_GLOBAL)
		return -EINVAL;
	flags = a->flags;
	memset(a, 0, sizeof(*a));
	a->size = usize;
	a->flags = flags;
	if (flags & HMM_MIRROR_STATS_GLOBAL)
		mirror_fill_global_stats(a);
	else
		mirror_fill_stats(m, a);
	return copy_out(uarg, a, sizeof(*a), usize);
}

/* MIGRATE (ABI 4, EVICT 5): arguments checked here, the move in migrate.c. */
static long ioc_migrate(struct mirror *m, union ioc_arg *arg,
			void __user *uarg, u32 usize)
{
	struct hmm_mirror_migrate *a = &arg->migrate;
	u32 __user *results = u64_to_user_ptr(a->results);
	int ret;

	if (a->flags & ~MIGRATE_FLAGS)
		return -EINVAL;
	/* Eviction makes room in device memory: no sense moving out. */
	if ((a->flags & HMM_MIRROR_MIGRATE_EVICT) &&
	    (a->flags & HMM_MIRROR_MIGRATE_TO_SYSTEM))
		return -EINVAL;
	if (!devmem_enabled())
		return -EOPNOTSUPP;
	down_read(&m->bind_sem);
	ret = check_range_results(m, a->addr, a->length, a->results,
				  a->results_len);
	if (ret)
		goto out;
	a->pages_moved = 0;
	a->pages_not_moved = 0;
	ret = mirror_migrate(m, a->addr, a->addr + a->length,
			     a->flags, a->results ? results : NULL, &a->pages_moved,
			     &a->pages_not_moved);
out:
	up_read(&m->bind_sem);
	return ret ? ret : copy_out(uarg, a, sizeof(*a), usize);
}

/* EXCLUSIVE (ABI 5): arguments checked here, the grant in exclusive.c. */
static long ioc_exclusive(struct mirror *m, union ioc_arg *arg,
			  void __user *uarg, u32 usize)
{
	struct hmm_mirror_exclusive *a = &arg->exclusive;
	u32 __user *results = u64_to_user_ptr(a->results);
	int ret;

	if (a->flags)
		return -EINVAL;
	if (!exclusive_supported())
		return -EOPNOTSUPP;
	down_read(&m->bind_sem);
	ret = check_range_results(m, a->addr, a->length, a->results,
				  a->results_len);
	if (ret)
		goto out;
	a->pages_granted = 0;
	a->pages_refused = 0;
	ret = mirror_exclusive(m, a->addr, a->addr + a->length,
			       a->results ? results : NULL, &a->pages_granted,
			       &a->pages_refused);
out:
	up_read(&m->bind_sem);
	return ret ? ret : copy_out(uarg, a, sizeof(*a), usize);
}

/* ATOMIC (ABI 5): one aligned word of user space, a known operation. */
static long ioc_atomic(struct mirror *m, union ioc_arg *arg,
		       void __user *uarg, u32 usize)
{
	struct hmm_mirror_atomic *a = &arg->atomic;
	int ret;

	if (a->flags & ~HMM_MIRROR_ATOMIC_NO_GRANT || a->reserved ||
	    a->op >= HMM_MIRROR_ATOMIC_NR_OPS ||
	    (a->op != HMM_MIRROR_ATOMIC_CMPXCHG && a->compare))
		return -EINVAL;
	if (!IS_ALIGNED(a->addr, sizeof(u64)))
		return -EINVAL;
	if (!exclusive_supported())
		return -EOPNOTSUPP;
	down_read(&m->bind_sem);
	ret = check_range(m, a->addr & PAGE_MASK, PAGE_SIZE);
	if (!ret)
		ret = mirror_atomic(m, a);
	up_read(&m->bind_sem);
	return ret ? ret : copy_out(uarg, a, sizeof(*a), usize);
}

/**
 * struct ioc_command - one command of the ioctl front end
 * @cmd: its ioctl number, HMM_MIRROR_IOC_*
 * @handler: runs the command on its argument, copied in and zero-extended
 *	(@uarg and the caller's @usize are for writing it back)
 * @size: the size of the argument struct this module knows
 * @ver1_size: the size of version 1 of that struct, the smallest accepted
 * @feature: the HMM_MIRROR_FEAT_* bit of the command, 0 for HANDSHAKE
 */
struct ioc_command {
	unsigned int cmd;
	long (*handler)(struct mirror *m, union ioc_arg *arg,
			void __user *uarg, u32 usize);
	u32 size;
	u32 ver1_size;
	u64 feature;
};

/* The row of HMM_MIRROR_IOC_<name>, at its number HMM_MIRROR_NR_<name>. */
#define IOC_COMMAND(name, fn, type, ver1, feat)				\
	[HMM_MIRROR_NR_##name] = {					\
		.cmd = HMM_MIRROR_IOC_##name, .handler = (fn),		\
		.size = sizeof(struct type), .ver1_size = (ver1),	\
		.feature = (feat) }

/* The commands, by number: dispatch and HANDSHAKE's masks come from here. */
static const struct ioc_command ioc_commands[HMM_MIRROR_NR_COMMANDS] = {
	IOC_COMMAND(HANDSHAKE, ioc_handshake, hmm_mirror_handshake,
		    HMM_MIRROR_HANDSHAKE_SIZE_VER1, 0),
	IOC_COMMAND(FAULT, ioc_fault, hmm_mirror_fault,
		    HMM_MIRROR_FAULT_SIZE_VER1, HMM_MIRROR_FEAT_FAULT),
	IOC_COMMAND(SNAPSHOT, ioc_snapshot, hmm_mirror_pages,
		    HMM_MIRROR_PAGES_SIZE_VER1, HMM_MIRROR_FEAT_SNAPSHOT),
	IOC_COMMAND(READ, ioc_read, hmm_mirror_rw,
		    HMM_MIRROR_RW_SIZE_VER1, HMM_MIRROR_FEAT_DEVICE_RW),
	IOC_COMMAND(WRITE, ioc_write, hmm_mirror_rw,
		    HMM_MIRROR_RW_SIZE_VER1, HMM_MIRROR_FEAT_DEVICE_RW),
	IOC_COMMAND(QUERY, ioc_query, hmm_mirror_pages,
		    HMM_MIRROR_PAGES_SIZE_VER1, HMM_MIRROR_FEAT_QUERY),
	IOC_COMMAND(ATTACH, ioc_attach, hmm_mirror_attach,
		    HMM_MIRROR_ATTACH_SIZE_VER1, HMM_MIRROR_FEAT_ATTACH),
	IOC_COMMAND(EVENTS, ioc_events, hmm_mirror_events,
		    HMM_MIRROR_EVENTS_SIZE_VER1, HMM_MIRROR_FEAT_EVENTS),
	IOC_COMMAND(STATS, ioc_stats, hmm_mirror_stats,
		    HMM_MIRROR_STATS_SIZE_VER1, HMM_MIRROR_FEAT_STATS),
	IOC_COMMAND(MIGRATE, ioc_migrate, hmm_mirror_migrate,
		    HMM_MIRROR_MIGRATE_SIZE_VER4, HMM_MIRROR_FEAT_DEVICE_MEMORY),
	IOC_COMMAND(EXCLUSIVE, ioc_exclusive, hmm_mirror_exclusive,
		    HMM_MIRROR_EXCLUSIVE_SIZE_VER5, HMM_MIRROR_FEAT_EXCLUSIVE),
	IOC_COMMAND(ATOMIC, ioc_atomic, hmm_mirror_atomic,
		    HMM_MIRROR_ATOMIC_SIZE_VER5, HMM_MIRROR_FEAT_EXCLUSIVE),
};

/* Bit n of @ioctls for every command n; the features of the commands. */
static void ioc_masks(u64 *ioctls, u64 *features)
{
	unsigned int nr;

	*ioctls = 0;
	*features = FEATURES_MODULE;
	for (nr = 0; nr < ARRAY_SIZE(ioc_commands); nr++) {
		if (!ioc_commands[nr].handler)
			continue;
		*ioctls |= BIT_ULL(nr);
		*features |= ioc_commands[nr].feature;
	}
}

static long hmm_mirror_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	struct mirror *m = file->private_data;
	void __user *uarg = (void __user *)arg;
	const struct ioc_command *c;
	union ioc_arg karg;
	unsigned int nr;
	u32 usize;
	int ret;

	mirror_gc_kick(m);
	nr = _IOC_NR(cmd);
	if (nr >= ARRAY_SIZE(ioc_commands))
		return -ENOTTY;
	c = &ioc_commands[nr];
	if (!c->handler || c->cmd != cmd)
		return -ENOTTY;
	ret = copy_in(&karg, c->size, c->ver1_size, uarg, &usize);
	if (ret)
		return ret;
	return c->handler(m, &karg, uarg, usize);
}

static ssize_t hmm_mirror_read(struct file *file, char __user *buf,
			       size_t count, loff_t *ppos)
{
	return mirror_events_read(file->private_data, buf, count,
				  file->f_flags & O_NONBLOCK);
}

static __poll_t hmm_mirror_poll(struct file *file,
				struct poll_table_struct *wait)
{
	return mirror_events_poll(file->private_data, file, wait);
}

static int hmm_mirror_open(struct inode *inode, struct file *file)
{
	struct mirror *m;
	int ret;

	ret = mirror_create(&m);
	if (ret)
		return ret;
	file->private_data = m;
	return 0;
}

static int hmm_mirror_release(struct inode *inode, struct file *file)
{
	mirror_destroy(file->private_data);
	return 0;
}

static const struct file_operations hmm_mirror_fops = {
	.owner = THIS_MODULE,
	.open = hmm_mirror_open,
	.release = hmm_mirror_release,
	.read = hmm_mirror_read,
	.poll = hmm_mirror_poll,
	.unlocked_ioctl = hmm_mirror_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice hmm_mirror_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "hmm_mirror",
	.fops = &hmm_mirror_fops,
	.mode = 0600,
};

static int __init hmm_mirror_init(void)
{
	int ret = devmem_init();

	if (ret)
		return ret;
	ret = misc_register(&hmm_mirror_misc);
	if (ret)
		devmem_exit();
	return ret;
}

static void __exit hmm_mirror_exit(void)
{
	misc_deregister(&hmm_mirror_misc);
	devmem_exit();
}

module_init(hmm_mirror_init);
module_exit(hmm_mirror_exit);

MODULE_DESCRIPTION("Software device mirroring a process address space with HMM");
MODULE_AUTHOR("hmm-mirror developers");
MODULE_VERSION(HMM_MIRROR_VERSION);
MODULE_LICENSE("GPL");
