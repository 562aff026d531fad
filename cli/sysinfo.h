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

/* Where modprobe looks for the modules of each kernel release. */
#define MODULES_ROOT "/lib/modules"

/*
 * Is a hmm_mirror.ko (also .ko.xz, .ko.zst, .ko.gz) installed for
 * @release: listed in @root/@release/modules.dep (where modprobe finds
 * it), or, in a tree without modules.dep, anywhere under @root/@release
 * (kernel/, updates/dkms/, extra/, ...)?
 */
bool module_installed(const char *root, const char *release);

/*
 * Why the running kernel has no /dev/hmm_mirror that modprobe could give
 * it: @hmm_mirror_config (CONFIG_HMM_MIRROR from kernel_config(): "y",
 * "m", "n" or "unknown", read from @config_source) is "n", so no
 * hmm_mirror.ko can load; or no hmm_mirror.ko is installed for @release
 * under @root.  The reason goes into @buf; false when there is none of
 * these (a module is installed: loading it is the advice then).
 */
bool module_unavailable_reason(const char *root, const char *release,
			       const char *hmm_mirror_config,
			       const char *config_source, char *buf,
			       size_t size);

#endif /* HMM_CLI_SYSINFO_H */
