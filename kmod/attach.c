// SPDX-License-Identifier: GPL-2.0
/*
 * attach.c - ATTACH: bind a mirror to another process given a pidfd.
 *
 * The permission rule is ptrace's, as for process_vm_readv().  The kernel
 * does not export ptrace_may_access() to modules, so the module opens the
 * target's "mem" file of proc on the caller's behalf: that open runs the
 * kernel's own mm_access(PTRACE_MODE_ATTACH_FSCREDS), LSM and Yama hooks
 * included, with the caller's credentials.
 *
 * The file is looked up in a proc instance the module mounts itself for
 * the call (in the caller's pid namespace), never through the caller's
 * /proc: a mount namespace can put anything at /proc/PID/mem, for example a
 * symlink to /proc/PID/environ, which needs only PTRACE_MODE_READ and also
 * pins the mm.  The private instance is mounted nowhere, so nothing can be
 * mounted on it or planted in it, and "PID/mem" in it is proc's own file.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>

#include "compat_pidfd.h"
#include "mirror.h"

/* The struct pid behind a pidfd, referenced. */
static struct pid *pidfd_to_pid(int pidfd)
{
	struct file *f = fget(pidfd);
	struct pid *pid;

	if (!f)
		return ERR_PTR(-EBADF);
	pid = compat_pidfd_get_pid(f);
	fput(f);
	return pid;
}

/*
 * A proc instance of the caller's pid namespace, mounted nowhere; mntput()
 * it when done.  Mounted by the kernel for the kernel (SB_KERNMOUNT), so no
 * mount permission of the caller's is asked for.
 */
static struct vfsmount *private_proc_mount(void)
{
	struct file_system_type *proc = get_fs_type("proc");
	struct vfsmount *mnt;

	if (!proc)
		return ERR_PTR(-EOPNOTSUPP);
	mnt = vfs_kern_mount(proc, SB_KERNMOUNT, proc->name, NULL);
	/* put_filesystem() is not exported; it is this. */
	module_put(proc->owner);
	return mnt;
}

/*
 * Open @nr's "mem" in a private proc instance as the caller, for the
 * ptrace check, and close it again: opening is the check.  Returns 0 or
 * the errno of the open.
 */
static int check_task_mem(pid_t nr)
{
	struct vfsmount *mnt = private_proc_mount();
	struct file *mem;
	char name[24];

	if (IS_ERR(mnt))
		return PTR_ERR(mnt);
	snprintf(name, sizeof(name), "%d/mem", nr);
	/* "mem" is proc's own file there; O_NOFOLLOW only to be plain. */
	mem = file_open_root_mnt(mnt, name, O_RDONLY | O_NOFOLLOW, 0);
	mntput(mnt);	/* an open file holds its own reference */
	if (IS_ERR(mem))
		return PTR_ERR(mem);
	filp_close(mem, NULL);
	return 0;
}

/*
 * The mm of @pid's process, mmget()ed, if the caller may ptrace it.  A
 * process outside the caller's pid namespace has no number there: ESRCH,
 * as for pidfd_open().
 *
 * The open checks whatever mm the task that has the number then has.  That
 * is @pid's task and the mm taken here before the open when the task still
 * has that mm after it: an mm only changes by exec, to a new mm, which
 * cannot be the one held here, and the number cannot go to another process
 * before this task has left its mm behind at exit.  So an exec, or an exit
 * and a reuse of the number, during the check is ESRCH, and no proc
 * internals are needed to tell which mm was checked.
 */
static struct mm_struct *ptrace_checked_mm(struct pid *pid)
{
	struct task_struct *task;
	struct mm_struct *mm, *after;
	pid_t nr;
	int err;

	task = get_pid_task(pid, PIDTYPE_PID);
	if (!task)
		return ERR_PTR(-ESRCH);
	nr = pid_nr_ns(pid, task_active_pid_ns(current));
	mm = nr ? get_task_mm(task) : NULL;
	if (!mm) {
		put_task_struct(task);
		return ERR_PTR(-ESRCH);
	}

	err = check_task_mem(nr);
	after = err ? NULL : get_task_mm(task);
	put_task_struct(task);
	if (after)
		mmput(after);
	if (!err && after != mm)
		err = -ESRCH;
	if (err) {
		mmput(mm);
		if (err == -EACCES || err == -EPERM)
			return ERR_PTR(-EPERM);
		if (err == -ENOENT)
			return ERR_PTR(-ESRCH);
		return ERR_PTR(err);
	}
	return mm;
}

/**
 * mirror_attach() - bind @m to the address space of the process of a pidfd
 * @m: the mirror
 * @pidfd: a pidfd of the process to mirror, which the caller must be
 *	allowed to ptrace (PTRACE_MODE_ATTACH_FSCREDS)
 *
 * ATTACH: @m leaves the address space it mirrors for the process's, only
 * while the device maps nothing.
 *
 * Context: Process context, may sleep.  Takes bind_sem for writing, then
 * m->lock; the caller holds neither.
 * Return: 0; -EBADF if @pidfd is not a pidfd; -ESRCH if the process has
 * exited or exec()ed, has no mm, or has no number in the caller's pid
 * namespace; -EPERM if the caller may not ptrace it; -EBUSY if the device
 * maps pages; -ENOMEM; or another errno of the permission check's open.
 */
int mirror_attach(struct mirror *m, int pidfd)
{
	struct mirror_exit_watch *watch;
	struct mm_struct *mm;
	struct pid *pid;
	int ret;

	pid = pidfd_to_pid(pidfd);
	if (IS_ERR(pid))
		return PTR_ERR(pid);
	mm = ptrace_checked_mm(pid);
	put_pid(pid);
	if (IS_ERR(mm))
		return PTR_ERR(mm);
	watch = mirror_exit_watch(m, mm);
	if (IS_ERR(watch)) {
		mmput(mm);
		return PTR_ERR(watch);
	}

	down_write(&m->bind_sem);
	/* A mirror whose process exited maps nothing and may move on. */
	mirror_lock(m);
	ret = m->dpt.nr_pages ? -EBUSY : 0;
	mirror_unlock(m);
	if (!ret) {
		mirror_unbind(m);
		mirror_bind(m, mm, watch);
	}
	up_write(&m->bind_sem);
	if (ret) {
		mmu_interval_notifier_remove(&watch->notifier);
		kfree(watch);
	}
	mmput(mm);
	return ret;
}
