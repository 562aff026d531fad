// SPDX-License-Identifier: MIT
/*
 * errors.c - readable errors: the thread's last error message, errno
 * names, and what each errno means for each command (abi/README.md).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define MSG_MAX 512

static _Thread_local char last_error[MSG_MAX];
static _Thread_local char strerror_buf[128];

static const struct {
	int err;
	const char *name;
} errno_names[] = {
	{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { ESRCH, "ESRCH" },
	{ EINTR, "EINTR" }, { EIO, "EIO" }, { ENXIO, "ENXIO" },
	{ E2BIG, "E2BIG" }, { EBADF, "EBADF" }, { EAGAIN, "EAGAIN" },
	{ ENOMEM, "ENOMEM" }, { EACCES, "EACCES" }, { EFAULT, "EFAULT" },
	{ EBUSY, "EBUSY" }, { ENODEV, "ENODEV" }, { ENOTDIR, "ENOTDIR" },
	{ EINVAL, "EINVAL" }, { EMFILE, "EMFILE" }, { ENFILE, "ENFILE" },
	{ ENOTTY, "ENOTTY" }, { ENOSPC, "ENOSPC" }, { EROFS, "EROFS" },
	{ ERANGE, "ERANGE" }, { ENOSYS, "ENOSYS" }, { ENODATA, "ENODATA" },
	{ EPROTO, "EPROTO" }, { EOVERFLOW, "EOVERFLOW" },
	{ EOPNOTSUPP, "EOPNOTSUPP" }, { ETIMEDOUT, "ETIMEDOUT" },
};

/* Meaning of an errno for one command; nr HMM_LIB_NR_ANY matches all. */
static const struct {
	unsigned int nr;
	int err;
	const char *why;
} explanations[] = {
	{ HMM_LIB_NR_OPEN, ENOENT, "no such device node: is hmm_mirror.ko loaded? (modprobe hmm_mirror)" },
	{ HMM_LIB_NR_OPEN, ENXIO, "the device node has no driver behind it: is hmm_mirror.ko loaded?" },
	{ HMM_LIB_NR_OPEN, ENODEV, "the device node has no driver behind it: is hmm_mirror.ko loaded?" },
	{ HMM_LIB_NR_OPEN, EACCES, "permission denied: the node is root-only unless the udev rule gives it to group hmm_mirror (join that group or run as root)" },
	{ HMM_LIB_NR_OPEN, EPERM, "permission denied by the system (LSM or seccomp)" },
	{ HMM_MIRROR_NR_HANDSHAKE, ENOTTY, "not an hmm_mirror device (the handshake ioctl is unknown)" },
	{ HMM_MIRROR_NR_HANDSHAKE, EINVAL, "the module rejected a version-1 handshake" },
	{ HMM_MIRROR_NR_FAULT, EFAULT, "part of the range is not mapped, or not readable (PROT_NONE)" },
	{ HMM_MIRROR_NR_FAULT, EPERM, "write fault on memory without write permission" },
	{ HMM_MIRROR_NR_FAULT, EBUSY, "invalidations kept racing with the fault past the retry bound" },
	{ HMM_MIRROR_NR_SNAPSHOT, EFAULT, "the states array cannot be written" },
	{ HMM_MIRROR_NR_QUERY, EFAULT, "the states array cannot be written" },
	{ HMM_MIRROR_NR_READ, EFAULT, "the range is not mapped or not readable, or buf is not a valid buffer" },
	{ HMM_MIRROR_NR_READ, EBUSY, "invalidations kept racing with the device fault past the retry bound" },
	{ HMM_MIRROR_NR_WRITE, EFAULT, "the range is not mapped or not readable, or buf is not a valid buffer" },
	{ HMM_MIRROR_NR_WRITE, EPERM, "the memory has no write permission" },
	{ HMM_MIRROR_NR_WRITE, EBUSY, "invalidations kept racing with the device fault past the retry bound" },
	{ HMM_MIRROR_NR_ATTACH, EBADF, "not an open pidfd" },
	{ HMM_MIRROR_NR_ATTACH, ESRCH, "the process has exited, has no address space (kernel thread), is not in the caller's pid namespace, or exec'd during the call" },
	{ HMM_MIRROR_NR_ATTACH, EPERM, "the caller may not ptrace the target (same user and no Yama restriction, or CAP_SYS_PTRACE, is needed; see /proc/sys/kernel/yama/ptrace_scope)" },
	{ HMM_MIRROR_NR_ATTACH, EBUSY, "the device already maps pages of the current address space" },
	{ HMM_MIRROR_NR_MIGRATE, EOPNOTSUPP, "no device memory: the kernel lacks CONFIG_DEVICE_PRIVATE, or the module was loaded with device_memory_mb=0" },
	{ HMM_MIRROR_NR_MIGRATE, EFAULT, "the results array cannot be written" },
	{ HMM_MIRROR_NR_EXCLUSIVE, EOPNOTSUPP, "no device-exclusive entries: the kernel lacks CONFIG_DEVICE_PRIVATE" },
	{ HMM_MIRROR_NR_EXCLUSIVE, EFAULT, "the results array cannot be written" },
	{ HMM_MIRROR_NR_ATOMIC, EOPNOTSUPP, "no device-exclusive entries (CONFIG_DEVICE_PRIVATE), or the kernel refuses this page (not anonymous memory)" },
	{ HMM_MIRROR_NR_ATOMIC, EFAULT, "the word is not mapped, or not writable" },
	{ HMM_MIRROR_NR_ATOMIC, EAGAIN, "the device does not hold the page exclusively (HMM_MIRROR_ATOMIC_NO_GRANT)" },
	{ HMM_MIRROR_NR_ATOMIC, EBUSY, "the kernel refused the page (busy; before 6.15 also a page of a huge page), or the CPU kept taking it back" },
	{ HMM_LIB_NR_PIDFD_OPEN, ESRCH, "no such process" },
	{ HMM_LIB_NR_PIDFD_OPEN, ENOSYS, "the kernel has no pidfd_open(2) (Linux 5.3 or later is needed)" },
	{ HMM_MIRROR_NR_EVENTS, EINVAL, "unknown reason bits, or a queue length above "
	  HMM_STR(HMM_MIRROR_EVENTS_MAX_LEN) },
	{ HMM_MIRROR_NR_EVENTS, EBUSY, "the queue length cannot change while records are queued" },
	{ HMM_LIB_NR_EVENT_READ, EINVAL, "events were never enabled: call hmm_mirror_events_config() first" },
	{ HMM_LIB_NR_EVENT_READ, EAGAIN, "no event record arrived in time" },
	{ HMM_LIB_NR_EVENT_READ, ESRCH, "end of the event stream: the mirrored address space exited" },
	{ HMM_LIB_NR_ANY, EOPNOTSUPP, "the module does not support this" },
	{ HMM_LIB_NR_ANY, EINVAL, "the range is not page aligned, is empty, wraps around, or reaches beyond the user address space or the device's address limit (hmm_mirror_info.addr_limit); or a flag or field is not valid" },
	{ HMM_LIB_NR_ANY, ESRCH, "the mirrored address space is gone (the process exited)" },
	{ HMM_LIB_NR_ANY, ENOTTY, "the module does not know this command" },
	{ HMM_LIB_NR_ANY, E2BIG, "the struct is larger than the module knows and its tail is not zero" },
	{ HMM_LIB_NR_ANY, EINTR, "interrupted by a signal" },
	{ HMM_LIB_NR_ANY, ENOMEM, "the kernel ran out of memory" },
};

HMM_LIB_EXPORT const char *hmm_mirror_errno_name(int err)
{
	if (err < 0)
		err = -err;
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (errno_names[i].err == err && err)
			return errno_names[i].name;
	return NULL;
}

HMM_LIB_EXPORT const char *hmm_mirror_strerror(int err)
{
	const char *name;
	char text[96];

	if (err < 0)
		err = -err;
	if (err == 0)
		return "success";
	name = hmm_mirror_errno_name(err);
	/* The GNU strerror_r returns a pointer, maybe not into text. */
	snprintf(strerror_buf, sizeof(strerror_buf), "%s: %s",
		 name ? name : "error", strerror_r(err, text, sizeof(text)));
	return strerror_buf;
}

HMM_LIB_EXPORT const char *hmm_mirror_last_error(void)
{
	return last_error;
}

const char *hmm_lib_explain(unsigned int nr, int err)
{
	const size_t n = sizeof(explanations) / sizeof(explanations[0]);

	for (size_t i = 0; i < n; i++)
		if (explanations[i].nr == nr && explanations[i].err == err)
			return explanations[i].why;
	for (size_t i = 0; i < n; i++)
		if (explanations[i].nr == HMM_LIB_NR_ANY &&
		    explanations[i].err == err)
			return explanations[i].why;
	return NULL;
}

static int vfail(int err, const char *call, const char *args_fmt,
		 va_list ap, const char *suffix, const char *why)
{
	char args[256] = "";
	const char *name = hmm_mirror_errno_name(err);

	if (args_fmt)
		vsnprintf(args, sizeof(args), args_fmt, ap);
	if (!why)
		why = strerror(err);
	if (name)
		snprintf(last_error, sizeof(last_error), "%s(%s)%s: %s: %s",
			 call, args, suffix, name, why);
	else
		snprintf(last_error, sizeof(last_error), "%s(%s)%s: errno %d: %s",
			 call, args, suffix, err, why);
	return -err;
}

int hmm_lib_fail(int err, const char *call, const char *why,
		 const char *args_fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, args_fmt);
	ret = vfail(err, call, args_fmt, ap, "", why);
	va_end(ap);
	return ret;
}

int hmm_lib_fail_cmd(int err, const struct hmm_mirror *m, unsigned int nr,
		     const char *call, const char *args_fmt, ...)
{
	char suffix[32] = "";
	va_list ap;
	int ret;

	if (m && m->pid > 0)
		snprintf(suffix, sizeof(suffix), " on pid %d", m->pid);
	va_start(ap, args_fmt);
	ret = vfail(err, call, args_fmt, ap, suffix, hmm_lib_explain(nr, err));
	va_end(ap);
	return ret;
}
