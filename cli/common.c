// SPDX-License-Identifier: MIT
/*
 * common.c - exit codes, errors, number parsing and opening a mirror for
 * the hmm-mirror subcommands.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "common.h"
#include "json.h"
#include "sysinfo.h"

const char *prog = "hmm-mirror";
bool json_output;

#define MESSAGE_MAX 1024

/* The JSON error object: the member "error" of @j's open object. */
static void error_member(struct json *j, int code, int err, const char *msg)
{
	json_object_begin(j, "error");
	json_string(j, "command", prog);
	json_string(j, "message", msg);
	json_string(j, "errno", err ? hmm_mirror_errno_name(err) : NULL);
	json_i64(j, "exit_status", code);
	json_object_end(j);
}

/* Message on stderr, and under --json the error in @j or on its own. */
static int vfail(struct json *j, int code, int err, bool usage,
		 const char *fmt, va_list ap)
{
	char msg[MESSAGE_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "%s: %s\n", prog, msg);
	if (usage)
		fprintf(stderr, "Try '%s --help'.\n", prog);
	if (!json_output)
		return code;
	if (j) {
		error_member(j, code, err, msg);
	} else {
		struct json doc;

		fflush(stdout);
		json_init(&doc, stdout, false);
		json_object_begin(&doc, NULL);
		error_member(&doc, code, err, msg);
		json_object_end(&doc);
		json_finish(&doc);
	}
	return code;
}

int fail(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = vfail(NULL, code, 0, false, fmt, ap);
	va_end(ap);
	return code;
}

int fail_errno(int code, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = vfail(NULL, code, err, false, fmt, ap);
	va_end(ap);
	return code;
}

int fail_in(struct json *j, int code, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = vfail(j, code, err, false, fmt, ap);
	va_end(ap);
	return code;
}

int usage_error(const char *fmt, ...)
{
	va_list ap;
	int code;

	va_start(ap, fmt);
	code = vfail(NULL, EXIT_USAGE, 0, true, fmt, ap);
	va_end(ap);
	return code;
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

static int lib_exit_code(int err)
{
	return -err == EOPNOTSUPP ? EXIT_UNAVAILABLE : EXIT_FAILED;
}

int lib_fail(int err)
{
	return fail_errno(lib_exit_code(err), err, "%s", hmm_mirror_last_error());
}

int lib_fail_in(struct json *j, int err)
{
	return fail_in(j, lib_exit_code(err), err, "%s", hmm_mirror_last_error());
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
	if (errno || end == s)
		return false;
	if (!*end || !strcasecmp(end, "B"))
		return true;
	u = strchr(units, toupper((unsigned char)*end));
	if (!u || (end[1] && strcasecmp(end + 1, "iB") && strcasecmp(end + 1, "B")))
		return false;
	for (const char *p = units; p <= u; p++) {
		if (*out > UINT64_MAX / 1024)
			return false;
		*out *= 1024;
	}
	return true;
}

bool parse_seconds(const char *s, uint64_t max_s, int64_t *ms)
{
	uint64_t whole = 0, part = 0, total;
	bool rest = false;
	const char *p = s;

	if (!s || !isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		whole = whole * 10 + (uint64_t)(*p - '0');
		if (whole > max_s)
			return false;
	}
	if (*p == '.') {
		int digits = 0;

		/* Milliseconds; any further non-zero digit rounds up. */
		for (p++; isdigit((unsigned char)*p); p++, digits++) {
			if (digits < 3)
				part = part * 10 + (uint64_t)(*p - '0');
			else if (*p != '0')
				rest = true;
		}
		for (; digits < 3; digits++)
			part *= 10;
	}
	total = whole * 1000 + part + rest;
	if (*p || !total || total > max_s * 1000)
		return false;
	*ms = (int64_t)total;
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
	if (ret) {
		char msg[MESSAGE_MAX];

		return fail_errno(EXIT_UNAVAILABLE, ret, "%s",
				  open_error_message(ret, msg, sizeof(msg)));
	}
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

const char *open_error_message(int err, char *buf, size_t size)
{
	const char *names[] = { "CONFIG_HMM_MIRROR" };
	const char *values[1], *source;
	char why[512];
	struct utsname u;

	snprintf(buf, size, "%s", hmm_mirror_last_error());
	if (err != -ENOENT || uname(&u) != 0)
		return buf;
	source = kernel_config(names, values, 1);
	if (module_unavailable_reason(MODULES_ROOT, u.release, values[0], source,
				      why, sizeof(why)))
		snprintf(buf, size, "hmm_mirror_open(\"%s\"): ENOENT: %s",
			 HMM_MIRROR_DEVICE_PATH, why);
	return buf;
}
