// SPDX-License-Identifier: MIT
/*
 * format.c - human-readable sizes and page states.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "hmm_mirror/libhmm_mirror.h"

const char *human_size(uint64_t bytes, char buf[SIZE_STR_MAX])
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned int u = 0;
	uint64_t whole = bytes, rest = 0;

	while (whole >= 1024 && u < 6) {
		rest = whole % 1024;
		whole /= 1024;
		u++;
	}
	if (!rest)
		snprintf(buf, SIZE_STR_MAX, "%" PRIu64 " %s", whole, units[u]);
	else
		snprintf(buf, SIZE_STR_MAX, "%.1f %s",
			 (double)whole + (double)rest / 1024.0, units[u]);
	return buf;
}

const char *describe_state(uint32_t state, char *buf, size_t size)
{
	unsigned int order = HMM_MIRROR_PAGE_ORDER(state);
	char huge[SIZE_STR_MAX + 8] = "";
	char hs[SIZE_STR_MAX];

	if (state & HMM_MIRROR_PAGE_ERROR) {
		snprintf(buf, size, "not mirrorable");
		return buf;
	}
	if (!(state & HMM_MIRROR_PAGE_VALID)) {
		snprintf(buf, size, "not present");
		return buf;
	}
	if (order)
		snprintf(huge, sizeof(huge), " huge %s",
			 human_size(4096ULL << order, hs));
	snprintf(buf, size, "present %s%s%s%s",
		 (state & HMM_MIRROR_PAGE_WRITE) ? "writable" : "read-only",
		 (state & HMM_MIRROR_PAGE_ZERO) ? " zero-page" : "",
		 (state & HMM_MIRROR_PAGE_DEVICE) ? " in device memory" :
		 (state & HMM_MIRROR_PAGE_EXCLUSIVE) ? " held exclusively" : "",
		 huge);
	return buf;
}

void state_flag_names(uint32_t state, const char *names[STATE_FLAGS_MAX],
		      int *count)
{
	*count = 0;
	if (state & HMM_MIRROR_PAGE_VALID)
		names[(*count)++] = "valid";
	if (state & HMM_MIRROR_PAGE_WRITE)
		names[(*count)++] = "write";
	if (state & HMM_MIRROR_PAGE_ERROR)
		names[(*count)++] = "error";
	if (state & HMM_MIRROR_PAGE_ZERO)
		names[(*count)++] = "zero";
	if (state & HMM_MIRROR_PAGE_DEVICE)
		names[(*count)++] = "device";
	if (state & HMM_MIRROR_PAGE_EXCLUSIVE)
		names[(*count)++] = "exclusive";
}

const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

const char *clock_time(const struct timespec *ts, char buf[TIME_STR_MAX])
{
	struct tm tm;

	if (!localtime_r(&ts->tv_sec, &tm))
		memset(&tm, 0, sizeof(tm));
	snprintf(buf, TIME_STR_MAX, "%02d:%02d:%02d.%06d", tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (int)(ts->tv_nsec / 1000 % 1000000));
	return buf;
}

const char *iso_time(const struct timespec *ts, char buf[TIME_STR_MAX])
{
	struct tm tm;

	if (!gmtime_r(&ts->tv_sec, &tm))
		memset(&tm, 0, sizeof(tm));
	snprintf(buf, TIME_STR_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (int)(ts->tv_nsec / 1000 % 1000000));
	return buf;
}
