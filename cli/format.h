/* SPDX-License-Identifier: MIT */
/*
 * format.h - human-readable sizes and page states.
 */
#ifndef HMM_CLI_FORMAT_H
#define HMM_CLI_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SIZE_STR_MAX 32

/* "0 B", "4 KiB", "1.5 MiB": binary units, one decimal when not exact. */
const char *human_size(uint64_t bytes, char buf[SIZE_STR_MAX]);

/*
 * "present writable", "present read-only zero-page", "huge 2 MiB",
 * "present writable in device memory", "not present", "not mirrorable":
 * what a page state means, for text output.
 */
const char *describe_state(uint32_t state, char *buf, size_t size);

/* Page-state flag names for JSON: "valid", "write", "error", "zero", "device". */
#define STATE_FLAGS_MAX 6
void state_flag_names(uint32_t state, const char *names[STATE_FLAGS_MAX],
		      int *count);

/* @one when @n is 1, else @many: "1 page", "2 pages", "0 pages". */
const char *plural(uint64_t n, const char *one, const char *many);

#define TIME_STR_MAX 64

/* "14:03:07.123456": the local time of day of @ts, to the microsecond. */
const char *clock_time(const struct timespec *ts, char buf[TIME_STR_MAX]);

/* "2025-01-31T14:03:07.123456Z": @ts in UTC, ISO 8601 (RFC 3339). */
const char *iso_time(const struct timespec *ts, char buf[TIME_STR_MAX]);

#endif /* HMM_CLI_FORMAT_H */
