/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat_pidfd.h - the struct pid behind a pidfd, on every kernel of the
 * matrix.  The kernel's own pidfd_pid() is not exported to modules, so a
 * pidfd is recognised by what user space cannot forge: the pseudo file
 * system its inode lives on (neither can be mounted from user space, and
 * only kernel code creates files there), never by a name alone.
 *
 * - pidfs (Linux 6.9+, PID_FS_MAGIC defined): a pidfd is a pidfs file and
 *   its inode's i_private is the struct pid, which lives as long as the
 *   inode does.
 * - anon_inodefs (before pidfs, and 6.9 built without it): kernel/fork.c
 *   makes a pidfd an anon_inodefs file named "[pidfd]" with the struct pid
 *   as private_data.  Every name on anon_inodefs is a literal chosen by
 *   the kernel code that created the file, so there, and only there, the
 *   name tells pidfds from eventfds, epoll and the rest.  Such a file
 *   reopened through /proc/PID/fd has no private_data: refused.
 */
#ifndef HMM_MIRROR_COMPAT_PIDFD_H
#define HMM_MIRROR_COMPAT_PIDFD_H

#include <linux/dcache.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/pid.h>
#include <linux/string.h>
#include <uapi/linux/magic.h>

/* @f's struct pid, referenced, or ERR_PTR(-EBADF) if @f is not a pidfd. */
static inline struct pid *compat_pidfd_get_pid(struct file *f)
{
	struct inode *inode = file_inode(f);

#ifdef PID_FS_MAGIC
	if (inode->i_sb->s_magic == PID_FS_MAGIC)
		return inode->i_private ? get_pid(inode->i_private) :
					  ERR_PTR(-EBADF);
#endif
	if (inode->i_sb->s_magic == ANON_INODE_FS_MAGIC &&
	    !strcmp(f->f_path.dentry->d_name.name, "[pidfd]") &&
	    f->private_data)
		return get_pid(f->private_data);
	return ERR_PTR(-EBADF);
}

#endif /* HMM_MIRROR_COMPAT_PIDFD_H */
