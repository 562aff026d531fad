// SPDX-License-Identifier: GPL-2.0
/*
 * attach.c - ATTACH: bind a mirror to another process given a pidfd.
 *
 * The permission rule is ptrace's, as for process_vm_readv().  The kernel
 * does not export ptrace_may_access() to modules, so the module opens
 * /proc/PID/mem on the caller's behalf: that open runs the kernel's own
 * mm_access(PTRACE_MODE_ATTACH_FSCREDS), LSM and Yama hooks included, and
 * the opened file pins exactly the mm that was checked.
 */
#include <linux/dcache.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/pid.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>

#include "mirror.h"

/* The struct pid behind a pidfd, referenced; pidfd_pid() is not exported. */
static struct pid *pidfd_to_pid(int pidfd)
{
	struct file *f = fget(pidfd);
	struct pid *pid = ERR_PTR(-EBADF);

	if (!f)
		return pid;
	/* pidfds are anonymous-inode files named "[pidfd]" (kernel/fork.c). */
	if (!strcmp(f->f_path.dentry->d_name.name, "[pidfd]"))
		pid = get_pid(f->private_data);
	fput(f);
	return pid;
}

/*
 * The mm of @pid's process, mmget()ed, if the caller may ptrace it.  The
 * mm is the one /proc/PID/mem pinned when it checked, compared with the
 * task's current mm so an exec in between is not mistaken for the target.
 */
static struct mm_struct *ptrace_checked_mm(struct pid *pid)
{
	struct task_struct *task;
	struct mm_struct *mm, *checked;
	struct file *mem;
	char path[32];
	pid_t nr;

	nr = pid_vnr(pid);
	task = get_pid_task(pid, PIDTYPE_PID);
	if (!nr || !task)
		return ERR_PTR(-ESRCH);

	snprintf(path, sizeof(path), "/proc/%d/mem", nr);
	mem = filp_open(path, O_RDONLY, 0);
	if (IS_ERR(mem)) {
		long err = PTR_ERR(mem);

		put_task_struct(task);
		if (err == -EACCES || err == -EPERM)
			return ERR_PTR(-EPERM);
		if (err == -ENOENT)
			return ERR_PTR(pid_has_task(pid, PIDTYPE_PID) ?
				       -EOPNOTSUPP : -ESRCH);
		return ERR_PTR(err);
	}

	checked = mem->private_data;	/* set by proc's mem_open() */
	mm = get_task_mm(task);
	put_task_struct(task);
	filp_close(mem, NULL);
	if (!mm)
		return ERR_PTR(-ESRCH);
	if (mm != checked) {
		mmput(mm);
		return ERR_PTR(-ESRCH);
	}
	return mm;
}

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
	mutex_unlock(&m->lock);
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
