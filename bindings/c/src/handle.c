// SPDX-License-Identifier: MIT
/*
 * handle.c - the mirror handle: open, handshake, close, feature checks.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "internal.h"

_Static_assert(sizeof(struct hmm_mirror_info) == HMM_MIRROR_INFO_SIZE_VER1 + 8 &&
	       offsetof(struct hmm_mirror_info, addr_limit) ==
	       HMM_MIRROR_INFO_SIZE_VER1, "struct hmm_mirror_info layout");

int hmm_lib_ioctl(const struct hmm_mirror *m, unsigned long cmd, void *arg)
{
	int ret;

	do {
		ret = ioctl(m->fd, cmd, arg);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return errno;
	/* The module never returns a positive value; do not call it success. */
	return ret > 0 ? EPROTO : 0;
}

void hmm_lib_copy_sized(void *dst, uint32_t dst_size, const void *src,
			size_t src_size)
{
	size_t n = dst_size < src_size ? dst_size : src_size;

	/* The caller's size field stays as the caller set it. */
	memcpy((char *)dst + sizeof(uint32_t), (const char *)src + sizeof(uint32_t),
	       n - sizeof(uint32_t));
}

/* "HMM_MIRROR_FEAT_ATTACH (bit 5), HMM_MIRROR_FEAT_EVENTS (bit 6)" */
static void feature_list(uint64_t features, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = 0;
	for (unsigned int bit = 0; bit < 64 && len < size; bit++) {
		const char *name = hmm_mirror_feature_name(1ULL << bit);
		char upper[32];
		size_t i;

		if (!(features & (1ULL << bit)))
			continue;
		if (!name)
			name = "unknown";
		for (i = 0; name[i] && i < sizeof(upper) - 1; i++)
			upper[i] = (char)toupper((unsigned char)name[i]);
		upper[i] = 0;
		len += (size_t)snprintf(buf + len, size - len,
					"%sHMM_MIRROR_FEAT_%s (bit %u)",
					len ? ", " : "", upper, bit);
	}
}

static const char *why_missing(const char *list)
{
	static _Thread_local char why[256];

	snprintf(why, sizeof(why), "the module does not support %s", list);
	return why;
}

int hmm_lib_check(const struct hmm_mirror *m, uint64_t features,
		  const char *call)
{
	char missing[200];

	if (!m)
		return hmm_lib_fail(EINVAL, call, "the handle is NULL", NULL);
	if ((m->features & features) == features)
		return 0;
	feature_list(features & ~m->features, missing, sizeof(missing));
	return hmm_lib_fail(EOPNOTSUPP, call, why_missing(missing), NULL);
}

HMM_LIB_EXPORT int hmm_mirror_require(struct hmm_mirror *m, uint64_t features)
{
	return hmm_lib_check(m, features, "hmm_mirror_require");
}

/* HANDSHAKE into @hs, checked against this machine. */
static int handshake(const struct hmm_mirror *m, const char *call,
		     struct hmm_mirror_handshake *hs)
{
	long page = sysconf(_SC_PAGESIZE);
	int err;

	memset(hs, 0, sizeof(*hs));
	hs->size = sizeof(*hs);
	hs->abi_version = HMM_MIRROR_ABI_VERSION;
	hs->features_wanted = ~0ULL;
	err = hmm_lib_ioctl(m, HMM_MIRROR_IOC_HANDSHAKE, hs);
	if (err)
		return hmm_lib_fail_cmd(err, m, HMM_MIRROR_NR_HANDSHAKE, call,
					"fd=%d", m->fd);
	if (hs->module_abi_version < 1 || hs->page_shift < 12 ||
	    hs->page_shift > 30 || (1L << hs->page_shift) != page)
		return hmm_lib_fail(EPROTO, call,
				    "the module's handshake does not fit this machine or library",
				    "module ABI %u, page_shift %u, CPU page size %ld",
				    hs->module_abi_version, hs->page_shift, page);
	return 0;
}

/* Keep what the handshake @hs answered in @m. */
static void keep(struct hmm_mirror *m, const struct hmm_mirror_handshake *hs)
{
	m->abi_version = hs->module_abi_version;
	m->features = hs->features_supported;
	m->ioctls = hs->ioctls_supported;
	m->page_shift = hs->page_shift;
	m->addr_limit = (hs->features_supported & HMM_MIRROR_FEAT_ADDR_LIMIT) ?
			hs->addr_limit : 0;
}

HMM_LIB_EXPORT int hmm_mirror_open_path(const char *path,
					struct hmm_mirror **out)
{
	struct hmm_mirror_handshake hs;
	struct hmm_mirror *m;
	int ret;

	if (out)
		*out = NULL;
	if (!path || !out)
		return hmm_lib_fail(EINVAL, "hmm_mirror_open",
				    path ? "out is NULL" : "path is NULL", NULL);
	m = calloc(1, sizeof(*m));
	if (!m)
		return hmm_lib_fail(ENOMEM, "hmm_mirror_open", NULL, "\"%s\"",
				    path);
	m->fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (m->fd < 0) {
		ret = hmm_lib_fail_cmd(errno, NULL, HMM_LIB_NR_OPEN,
				       "hmm_mirror_open", "\"%s\"", path);
		free(m);
		return ret;
	}
	ret = handshake(m, "hmm_mirror_open", &hs);
	if (ret) {
		close(m->fd);
		free(m);
		return ret;
	}
	keep(m, &hs);
	*out = m;
	return 0;
}

/* What @fd is, for messages: "/dev/null", "socket:[1234]", ... */
static void fd_path(int fd, char *buf, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, size - 1);
	if (n < 0)
		snprintf(buf, size, "?");
	else
		buf[n] = 0;
}

HMM_LIB_EXPORT int hmm_mirror_from_fd(int fd, struct hmm_mirror **out)
{
	static const char call[] = "hmm_mirror_from_fd";
	struct hmm_mirror_handshake hs;
	struct hmm_mirror *m;
	char what[PATH_MAX];
	int fl, fdfl, err;

	if (out)
		*out = NULL;
	if (!out)
		return hmm_lib_fail(EINVAL, call, "out is NULL", "fd=%d", fd);
	if (fd < 0)
		return hmm_lib_fail(EBADF, call, "fd is negative", "fd=%d", fd);
	fl = fcntl(fd, F_GETFL);
	fdfl = fcntl(fd, F_GETFD);
	if (fl < 0 || fdfl < 0)
		return hmm_lib_fail(errno, call, errno == EBADF ?
				    "not an open file descriptor" : NULL,
				    "fd=%d", fd);
	fd_path(fd, what, sizeof(what));
	m = calloc(1, sizeof(*m));
	if (!m)
		return hmm_lib_fail(ENOMEM, call, NULL, "fd=%d", fd);
	m->fd = fd;
	memset(&hs, 0, sizeof(hs));
	err = handshake(m, call, &hs);
	if (err == -ENOTTY) {
		char why[PATH_MAX + 96];

		snprintf(why, sizeof(why),
			 "not an hmm_mirror device: the descriptor is %s, which does not know the handshake ioctl",
			 what);
		err = hmm_lib_fail(ENOTTY, call, why, "fd=%d", fd);
	}
	if (err) {
		free(m);
		return err;
	}
	/*
	 * Close-on-exec, as hmm_mirror_open() opens the device, and
	 * non-blocking, which the event reads need; nothing else.
	 */
	if ((!(fdfl & FD_CLOEXEC) && fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC)) ||
	    (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK))) {
		err = hmm_lib_fail(errno, call, NULL, "fd=%d", fd);
		fcntl(fd, F_SETFD, fdfl);
		free(m);
		return err;
	}
	keep(m, &hs);
	*out = m;
	return 0;
}

HMM_LIB_EXPORT int hmm_mirror_open(struct hmm_mirror **out)
{
	return hmm_mirror_open_path(HMM_MIRROR_DEVICE_PATH, out);
}

HMM_LIB_EXPORT void hmm_mirror_close(struct hmm_mirror *m)
{
	if (!m)
		return;
	close(m->fd);
	free(m);
}

HMM_LIB_EXPORT int hmm_mirror_fd(const struct hmm_mirror *m)
{
	if (!m)
		return hmm_lib_fail(EINVAL, "hmm_mirror_fd", "the handle is NULL",
				    NULL);
	return m->fd;
}

HMM_LIB_EXPORT int hmm_mirror_handshake(struct hmm_mirror *m,
					struct hmm_mirror_info *info)
{
	struct hmm_mirror_handshake hs;
	struct hmm_mirror_info out;
	int ret;

	if (!m || !info)
		return hmm_lib_fail(EINVAL, "hmm_mirror_handshake",
				    m ? "info is NULL" : "the handle is NULL",
				    NULL);
	if (info->size < HMM_MIRROR_INFO_SIZE_VER1)
		return hmm_lib_fail(EINVAL, "hmm_mirror_handshake",
				    "info->size is too small: initialise it with hmm_mirror_info_init()",
				    "info->size=%u", info->size);
	ret = handshake(m, "hmm_mirror_handshake", &hs);
	if (ret)
		return ret;
	memset(&out, 0, sizeof(out));
	out.abi_version = hs.module_abi_version;
	out.lib_abi_version = HMM_MIRROR_ABI_VERSION;
	out.page_shift = hs.page_shift;
	out.features = hs.features_supported;
	out.ioctls = hs.ioctls_supported;
	out.addr_limit = (hs.features_supported & HMM_MIRROR_FEAT_ADDR_LIMIT) ?
			 hs.addr_limit : 0;
	hmm_lib_copy_sized(info, info->size, &out, sizeof(out));
	return 0;
}

HMM_LIB_EXPORT uint64_t hmm_mirror_features(const struct hmm_mirror *m)
{
	return m ? m->features : 0;
}

HMM_LIB_EXPORT uint64_t hmm_mirror_page_size(const struct hmm_mirror *m)
{
	return m ? 1ULL << m->page_shift : 0;
}
