/* SPDX-License-Identifier: MIT */
/*
 * internal.h - what the library's source files share: the handle, the
 * error recorder and the ioctl wrapper.  Not installed.
 */
#ifndef LIBHMM_MIRROR_INTERNAL_H
#define LIBHMM_MIRROR_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>

#include "hmm_mirror.h"			/* the kernel ABI */
#include "hmm_mirror/libhmm_mirror.h"	/* the library API */

/* A macro's value as a string literal (version numbers, ABI limits). */
#define HMM_STR2(x) #x
#define HMM_STR(x) HMM_STR2(x)

#define HMM_LIB_EXPORT __attribute__((visibility("default")))
#define HMM_LIB_PRINTF(f, a) __attribute__((format(printf, f, a)))

/*
 * Command numbers for error explanations: the ABI's HMM_MIRROR_NR_*, and
 * these for the calls that are not ioctls.
 */
#define HMM_LIB_NR_OPEN		0x100	/* open(2) of the device node */
#define HMM_LIB_NR_PIDFD_OPEN	0x101	/* pidfd_open(2) */
#define HMM_LIB_NR_EVENT_READ	0x102	/* read(2) of event records */
#define HMM_LIB_NR_ANY		0x1ff	/* explanations for every command */

struct hmm_mirror {
	int fd;
	int pid;		/* attached process; 0: the opener */
	uint32_t page_shift;
	uint32_t abi_version;	/* the module's */
	uint64_t features;
	uint64_t ioctls;
	uint64_t addr_limit;	/* 0: the module does not say (ABI < 3) */
};

/*
 * Record "CALL(ARGS): ENAME: explanation" as the thread's last error and
 * return -err.  @err is a positive errno; @why may be NULL for the
 * generic text of @err.
 */
int hmm_lib_fail(int err, const char *call, const char *why,
		 const char *args_fmt, ...) HMM_LIB_PRINTF(4, 5);

/*
 * An ioctl the module answered with @err (positive): records the error
 * with the command-specific explanation of @err and returns -err.
 */
int hmm_lib_fail_cmd(int err, const struct hmm_mirror *m, unsigned int nr,
		     const char *call, const char *args_fmt, ...)
	HMM_LIB_PRINTF(5, 6);

/* The explanation of @err (positive) for command @nr, or NULL. */
const char *hmm_lib_explain(unsigned int nr, int err);

/* ioctl(m->fd, cmd, arg), retried on EINTR: 0 or a positive errno. */
int hmm_lib_ioctl(const struct hmm_mirror *m, unsigned long cmd, void *arg);

/*
 * -EINVAL unless @m is a handle; -EOPNOTSUPP unless the module has every
 * bit of @features.  Records the error for @call.
 */
int hmm_lib_check(const struct hmm_mirror *m, uint64_t features,
		  const char *call);

/*
 * 0 if [addr, addr + length) is a valid range for @m, else records why
 * for @call(@args) and returns -EINVAL.
 */
int hmm_lib_check_range(const struct hmm_mirror *m, uint64_t addr,
			uint64_t length, const char *call, const char *args);

/* Copy min(@dst_size, @src_size) bytes, keeping the caller's size field. */
void hmm_lib_copy_sized(void *dst, uint32_t dst_size, const void *src,
			size_t src_size);

#endif /* LIBHMM_MIRROR_INTERNAL_H */
