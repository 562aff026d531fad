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
#include "mirror.h"

/* Pin the ABI layouts: a change here is an ABI break. */
static_assert(sizeof(struct hmm_mirror_handshake) ==
	      HMM_MIRROR_HANDSHAKE_SIZE_VER3);
static_assert(sizeof(struct hmm_mirror_fault) == HMM_MIRROR_FAULT_SIZE_VER1);
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
static_assert(sizeof(struct hmm_mirror_stats) == HMM_MIRROR_STATS_SIZE_VER1);
static_assert(offsetof(struct hmm_mirror_event, flags) == 40);
static_assert(offsetof(struct hmm_mirror_stats, invalidations) == 40);
static_assert(offsetof(struct hmm_mirror_stats, mirrors) == 152);

#define HMM_MIRROR_FEATURES	HMM_MIRROR_FEAT_ALL
/* What a module of ABI version 2, and of version 1, advertised. */
#define HMM_MIRROR_FEATURES_VER2 (HMM_MIRROR_FEATURES & \
				  ~(HMM_MIRROR_FEAT_RW_COPIED | \
				    HMM_MIRROR_FEAT_ADDR_LIMIT))
#define HMM_MIRROR_FEATURES_VER1 (HMM_MIRROR_FEATURES_VER2 & \
				  ~HMM_MIRROR_FEAT_SNAPSHOT_RUNS)

#define HMM_MIRROR_IOCTLS	(BIT_ULL(HMM_MIRROR_NR_COMMANDS) - 1)

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

static long ioc_handshake(void __user *uarg)
{
	struct hmm_mirror_handshake a;
	u32 usize;
	int ret;

	ret = copy_in(&a, sizeof(a), HMM_MIRROR_HANDSHAKE_SIZE_VER1, uarg,
		      &usize);
	if (ret)
		return ret;
	if (a.flags || a.reserved || !a.abi_version)
		return -EINVAL;

	/*
	 * A caller of an older version is answered as a module of that
	 * version was: its version, only the features it defined, and no
	 * field it did not have (0, as a zero tail stayed).
	 */
	a.module_abi_version = min_t(u32, a.abi_version,
				     HMM_MIRROR_ABI_VERSION);
	if (a.module_abi_version < 2)
		a.features_supported = HMM_MIRROR_FEATURES_VER1;
	else if (a.module_abi_version < 3)
		a.features_supported = HMM_MIRROR_FEATURES_VER2;
	else
		a.features_supported = HMM_MIRROR_FEATURES;
	a.ioctls_supported = HMM_MIRROR_IOCTLS;
	a.page_shift = PAGE_SHIFT;
	a.addr_limit = a.module_abi_version < 3 ? 0 : DPT_VA_LIMIT;
	return copy_out(uarg, &a, sizeof(a), usize);
}

static long ioc_fault(struct mirror *m, void __user *uarg)
{
	struct hmm_mirror_fault a;
	u32 usize;
	int ret;

	ret = copy_in(&a, sizeof(a), HMM_MIRROR_FAULT_SIZE_VER1, uarg, &usize);
	if (ret)
		return ret;
	if (a.flags & ~HMM_MIRROR_FAULT_WRITE)
		return -EINVAL;
	down_read(&m->bind_sem);
	ret = check_range(m, a.addr, a.length);
	if (!ret) {
		a.retries = 0;
		ret = mirror_fault_range(m, a.addr, a.addr + a.length,
					 a.flags & HMM_MIRROR_FAULT_WRITE,
					 &a.retries);
	}
	if (!ret)
		a.pages_mapped = mirror_count_mapped(m, a.addr,
						     a.addr + a.length);
	up_read(&m->bind_sem);
	return ret ? ret : copy_out(uarg, &a, sizeof(a), usize);
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

static long ioc_pages(struct mirror *m, void __user *uarg, bool query)
{
	struct hmm_mirror_pages a;
	u32 __user *states;
	u32 usize;
	int ret;

	ret = copy_in(&a, sizeof(a), HMM_MIRROR_PAGES_SIZE_VER1, uarg, &usize);
	if (ret)
		return ret;
	if (a.flags & ~HMM_MIRROR_PAGES_RUNS)
		return -EINVAL;
	if (a.flags & HMM_MIRROR_PAGES_RUNS)
		return query ? -EINVAL : ioc_snapshot_runs(m, &a, uarg, usize);
	down_read(&m->bind_sem);
	ret = check_range(m, a.addr, a.length);
	if (ret)
		goto out;
	ret = -EINVAL;
	if (a.states_len < a.length >> PAGE_SHIFT)
		goto out;
	ret = -EFAULT;
	states = u64_to_user_ptr(a.states);
	if (!access_ok(states, (a.length >> PAGE_SHIFT) * sizeof(u32)))
		goto out;

	if (query)
		ret = mirror_query(m, a.addr, a.addr + a.length, states);
	else
		ret = mirror_snapshot(m, a.addr, a.addr + a.length, states);
out:
	up_read(&m->bind_sem);
	return ret;
}

static long ioc_rw(struct mirror *m, void __user *uarg, bool write)
{
	struct hmm_mirror_rw a;
	void __user *buf;
	u32 usize;
	int ret;

	ret = copy_in(&a, sizeof(a), HMM_MIRROR_RW_SIZE_VER1, uarg, &usize);
	if (ret)
		return ret;
	a.device_faults = 0;
	a.bytes_copied = 0;
	if (a.flags) {
		ret = -EINVAL;
		goto out;
	}
	down_read(&m->bind_sem);
	ret = check_range(m, a.addr, a.length);
	buf = u64_to_user_ptr(a.buf);
	if (!ret && (!a.buf || !access_ok(buf, a.length)))
		ret = -EFAULT;
	if (!ret)
		ret = mirror_device_rw(m, a.addr, a.addr + a.length, buf,
				       write, &a.device_faults,
				       &a.bytes_copied);
	up_read(&m->bind_sem);
out:
	if (!ret)
		return copy_out(uarg, &a, sizeof(a), usize);
	/*
	 * ABI 3: a caller whose struct holds bytes_copied learns how far a
	 * failed copy got.  An older caller's struct stays as it was, as
	 * before; and the error stays the call's, whether or not this lands.
	 */
	if (usize >= HMM_MIRROR_RW_SIZE_VER3)
		copy_out(uarg, &a, sizeof(a), usize);
	return ret;
}

static long ioc_attach(struct mirror *m, void __user *uarg)
{
	struct hmm_mirror_attach a;
	u32 usize;
	int ret;

	ret = copy_in(&a, sizeof(a), HMM_MIRROR_ATTACH_SIZE_VER1, uarg, &usize);
	if (ret)
		return ret;
	if (a.flags || a.reserved)
		return -EINVAL;
	if (a.pidfd > INT_MAX)
		return -EBADF;
	return mirror_attach(m, a.pidfd);
}

static long ioc_events(struct mirror *m, void __user *uarg)
{
	struct hmm_mirror_events a;
	u32 usize;
	int ret;

	ret = copy_in(&a, sizeof(a), HMM_MIRROR_EVENTS_SIZE_VER1, uarg, &usize);
	if (ret)
		return ret;
	if (a.flags)
		return -EINVAL;
	return mirror_events_config(m, a.reasons, a.queue_len);
}

static long ioc_stats(struct mirror *m, void __user *uarg)
{
	struct hmm_mirror_stats a;
	u32 usize, flags;
	int ret;

	ret = copy_in(&a, sizeof(a), HMM_MIRROR_STATS_SIZE_VER1, uarg, &usize);
	if (ret)
		return ret;
	if (a.flags & ~HMM_MIRROR_STATS_GLOBAL)
		return -EINVAL;
	flags = a.flags;
	memset(&a, 0, sizeof(a));
	a.size = usize;
	a.flags = flags;
	if (flags & HMM_MIRROR_STATS_GLOBAL)
		mirror_fill_global_stats(&a);
	else
		mirror_fill_stats(m, &a);
	return copy_out(uarg, &a, sizeof(a), usize);
}

static long hmm_mirror_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	struct mirror *m = file->private_data;
	void __user *uarg = (void __user *)arg;

	mirror_gc_kick(m);
	switch (cmd) {
	case HMM_MIRROR_IOC_HANDSHAKE:
		return ioc_handshake(uarg);
	case HMM_MIRROR_IOC_FAULT:
		return ioc_fault(m, uarg);
	case HMM_MIRROR_IOC_SNAPSHOT:
		return ioc_pages(m, uarg, false);
	case HMM_MIRROR_IOC_QUERY:
		return ioc_pages(m, uarg, true);
	case HMM_MIRROR_IOC_READ:
		return ioc_rw(m, uarg, false);
	case HMM_MIRROR_IOC_WRITE:
		return ioc_rw(m, uarg, true);
	case HMM_MIRROR_IOC_ATTACH:
		return ioc_attach(m, uarg);
	case HMM_MIRROR_IOC_EVENTS:
		return ioc_events(m, uarg);
	case HMM_MIRROR_IOC_STATS:
		return ioc_stats(m, uarg);
	default:
		return -ENOTTY;
	}
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
	return misc_register(&hmm_mirror_misc);
}

static void __exit hmm_mirror_exit(void)
{
	misc_deregister(&hmm_mirror_misc);
}

module_init(hmm_mirror_init);
module_exit(hmm_mirror_exit);

MODULE_DESCRIPTION("Software device mirroring a process address space with HMM");
MODULE_AUTHOR("hmm-mirror developers");
MODULE_VERSION(HMM_MIRROR_VERSION);
MODULE_LICENSE("GPL");
