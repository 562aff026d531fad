// SPDX-License-Identifier: MIT
/*
 * attach.c - ATTACH: mirror another process, given its pid or a pidfd.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434	/* the same number on every architecture */
#endif

/* The pid a pidfd refers to (its fdinfo "Pid:" line), or 0. */
static int pidfd_pid(int pidfd)
{
	char path[64], line[128];
	FILE *f;
	int pid = 0;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pid: %d", &pid) == 1)
			break;
	fclose(f);
	return pid > 0 ? pid : 0;
}

static int attach(struct hmm_mirror *m, int pidfd, int pid, const char *call,
		  const char *args)
{
	struct hmm_mirror_attach a;
	int err;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.pidfd = (uint32_t)pidfd;
	err = hmm_lib_ioctl(m, HMM_MIRROR_IOC_ATTACH, &a);
	if (err)
		return hmm_lib_fail_cmd(err, m, HMM_MIRROR_NR_ATTACH, call, "%s",
					args);
	m->pid = pid;
	return 0;
}

HMM_LIB_EXPORT int hmm_mirror_attach_pidfd(struct hmm_mirror *m, int pidfd)
{
	static const char call[] = "hmm_mirror_attach_pidfd";
	char args[32];
	int ret;

	ret = hmm_lib_check(m, HMM_MIRROR_FEAT_ATTACH, call);
	if (ret)
		return ret;
	snprintf(args, sizeof(args), "pidfd=%d", pidfd);
	if (pidfd < 0)
		return hmm_lib_fail(EBADF, call, "pidfd is negative", "%s",
				    args);
	return attach(m, pidfd, pidfd_pid(pidfd), call, args);
}

HMM_LIB_EXPORT int hmm_mirror_attach_pid(struct hmm_mirror *m, int pid)
{
	static const char call[] = "hmm_mirror_attach_pid";
	char args[32];
	int pidfd, ret;

	ret = hmm_lib_check(m, HMM_MIRROR_FEAT_ATTACH, call);
	if (ret)
		return ret;
	snprintf(args, sizeof(args), "pid=%d", pid);
	if (pid <= 0)
		return hmm_lib_fail(EINVAL, call, "pid must be positive", "%s",
				    args);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return hmm_lib_fail_cmd(errno, m, HMM_LIB_NR_PIDFD_OPEN, call,
					"%s", args);
	ret = attach(m, pidfd, pid, call, args);
	close(pidfd);
	return ret;
}
