/* SPDX-License-Identifier: MIT */
/*
 * sysinfo.h - what the running kernel offers a mirror: transparent huge
 * pages, hugetlb pools, kernel configuration, the loaded module.
 */
#ifndef HMM_CLI_SYSINFO_H
#define HMM_CLI_SYSINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The selected value of a sysfs choice file ("always [madvise] never" ->
 * "madvise") into @buf; false if the file cannot be read.
 */
bool sysfs_choice(const char *path, char *buf, size_t size);

/* The first line of a small file, without the newline; false on error. */
bool read_line(const char *path, char *buf, size_t size);

struct hugetlb_pool {
	uint64_t page_kb;	/* 2048, 1048576 */
	uint64_t total, free;
};

/* The hugetlb pools (up to @max), largest last; returns how many. */
size_t hugetlb_pools(struct hugetlb_pool *pools, size_t max);
/* The default huge page size in kB (/proc/meminfo Hugepagesize), or 0. */
uint64_t hugetlb_default_kb(void);

/*
 * Look up CONFIG_ options: @values[i] becomes "y", "m", "n" (not set) for
 * each of @names.  Reads /proc/config.gz (through gzip) or
 * /boot/config-RELEASE; returns the file used, or NULL when neither is
 * available (then every value is "unknown").
 */
const char *kernel_config(const char *const *names, const char **values,
			  size_t n);

#endif /* HMM_CLI_SYSINFO_H */
