// SPDX-License-Identifier: MIT
/*
 * common.c - exit codes, errors, number parsing and opening a mirror for
 * the hmm-mirror subcommands.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

const char *prog = "hmm-mirror";

int fail(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", prog);
	return EXIT_USAGE;
}

int option_error(char **argv, int c)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";

	if (c == ':')
		return usage_error("option '%s' needs a value", arg);
	if (optopt)
		return usage_error("unknown option '-%c'", optopt);
	return usage_error("unknown option '%s'", arg);
}

int lib_fail(int err)
{
	int code = EXIT_FAILED;

	switch (-err) {
	case EOPNOTSUPP:
		code = EXIT_UNAVAILABLE;
		break;
	}
	return fail(code, "%s", hmm_mirror_last_error());
}

bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return !errno && !*end;
}

bool parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	char *end;
	const char *u;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 0);
	if (errno)
		return false;
	if (!*end)
		return true;
	u = strchr(units, *end);
	if (!u || (end[1] && strcmp(end + 1, "iB") && strcmp(end + 1, "B")))
		return false;
	for (const char *p = units; p <= u; p++) {
		if (*out > UINT64_MAX / 1024)
			return false;
		*out *= 1024;
	}
	return true;
}

bool parse_pid(const char *s, int *out)
{
	uint64_t v;

	if (!parse_u64(s, &v) || v == 0 || v > 4194304)
		return false;
	*out = (int)v;
	return true;
}

int open_mirror(int pid, uint64_t features, struct hmm_mirror **out)
{
	struct hmm_mirror *m = NULL;
	int ret;

	*out = NULL;
	ret = hmm_mirror_open(&m);
	if (ret)
		return fail(EXIT_UNAVAILABLE, "%s", hmm_mirror_last_error());
	if (pid > 0)
		features |= HMM_MIRROR_FEAT_ATTACH;
	ret = hmm_mirror_require(m, features);
	if (!ret && pid > 0)
		ret = hmm_mirror_attach_pid(m, pid);
	if (ret) {
		int code = lib_fail(ret);

		hmm_mirror_close(m);
		return code;
	}
	*out = m;
	return EXIT_OK;
}

bool page_range(uint64_t *addr, uint64_t *len, uint64_t page)
{
	uint64_t start = *addr & ~(page - 1);
	uint64_t end = *addr + *len;

	if (!*len) {
		usage_error("the length is 0");
		return false;
	}
	if (end < *addr || end > UINT64_MAX - page) {
		usage_error("the range wraps around the address space");
		return false;
	}
	end = (end + page - 1) & ~(page - 1);
	*addr = start;
	*len = end - start;
	return true;
}
