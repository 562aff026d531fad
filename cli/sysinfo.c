// SPDX-License-Identifier: MIT
/*
 * sysinfo.c - kernel facts for `hmm-mirror info`.
 */
#include <dirent.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "sysinfo.h"

bool read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, (int)size, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = 0;
	return ok;
}

bool sysfs_choice(const char *path, char *buf, size_t size)
{
	char line[256];
	char *open, *close;

	if (!read_line(path, line, sizeof(line)))
		return false;
	open = strchr(line, '[');
	close = open ? strchr(open, ']') : NULL;
	if (!open || !close) {
		snprintf(buf, size, "%s", line);
		return true;
	}
	snprintf(buf, size, "%.*s", (int)(close - open - 1), open + 1);
	return true;
}

static uint64_t read_u64(const char *dir, const char *name)
{
	char path[600], line[64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!read_line(path, line, sizeof(line)))
		return 0;
	return strtoull(line, NULL, 10);
}

static int by_size(const void *a, const void *b)
{
	const struct hugetlb_pool *x = a, *y = b;

	return (x->page_kb > y->page_kb) - (x->page_kb < y->page_kb);
}

size_t hugetlb_pools(struct hugetlb_pool *pools, size_t max)
{
	static const char base[] = "/sys/kernel/mm/hugepages";
	DIR *d = opendir(base);
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) && n < max) {
		char dir[300];
		uint64_t kb;

		if (sscanf(e->d_name, "hugepages-%" SCNu64 "kB", &kb) != 1)
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", base, e->d_name);
		pools[n].page_kb = kb;
		pools[n].total = read_u64(dir, "nr_hugepages");
		pools[n].free = read_u64(dir, "free_hugepages");
		n++;
	}
	closedir(d);
	qsort(pools, n, sizeof(*pools), by_size);
	return n;
}

uint64_t hugetlb_default_kb(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[128];
	uint64_t kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %" SCNu64, &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static FILE *open_config(char *source, size_t size, bool *piped)
{
	struct utsname u;
	FILE *f;

	*piped = false;
	if (access("/proc/config.gz", R_OK) == 0) {
		f = popen("gzip -dc /proc/config.gz 2>/dev/null", "r");
		if (f) {
			*piped = true;
			snprintf(source, size, "/proc/config.gz");
			return f;
		}
	}
	if (uname(&u) != 0)
		return NULL;
	snprintf(source, size, "/boot/config-%s", u.release);
	return fopen(source, "re");
}

const char *kernel_config(const char *const *names, const char **values,
			  size_t n)
{
	static char source[300];
	char line[512];
	bool piped;
	FILE *f;

	for (size_t i = 0; i < n; i++)
		values[i] = "unknown";
	f = open_config(source, sizeof(source), &piped);
	if (!f)
		return NULL;
	for (size_t i = 0; i < n; i++)
		values[i] = "n";
	while (fgets(line, sizeof(line), f)) {
		for (size_t i = 0; i < n; i++) {
			size_t len = strlen(names[i]);

			if (strncmp(line, names[i], len) || line[len] != '=')
				continue;
			values[i] = line[len + 1] == 'y' ? "y" :
				    line[len + 1] == 'm' ? "m" : "n";
		}
	}
	if (piped ? pclose(f) != 0 : fclose(f) != 0) {
		for (size_t i = 0; i < n; i++)
			values[i] = "unknown";
		return NULL;
	}
	return source;
}

static int is_hmm_mirror_ko(const char *path, const struct stat *st, int type,
			    struct FTW *ftw)
{
	const char *name = path + ftw->base;

	(void)st;
	return type == FTW_F && (!strcmp(name, "hmm_mirror.ko") ||
				 !strncmp(name, "hmm_mirror.ko.", 14));
}

/* Does a line "path/hmm_mirror.ko[.xz]: deps" of modules.dep name it? */
static bool dep_line_is_hmm_mirror(const char *line)
{
	const char *end = strchr(line, ':');
	const char *name;
	size_t len;

	if (!end)
		return false;
	for (name = end; name > line && name[-1] != '/'; name--)
		;
	len = (size_t)(end - name);
	return (len == 13 && !strncmp(name, "hmm_mirror.ko", 13)) ||
	       (len > 14 && !strncmp(name, "hmm_mirror.ko.", 14));
}

bool module_installed(const char *root, const char *release)
{
	char path[512], line[4096];
	bool found = false;
	FILE *f;

	/*
	 * modules.dep is what modprobe reads: one file, where walking the
	 * tree reads thousands of directories (slow on a network or 9p root).
	 * A tree without it (depmod never ran) is walked.
	 */
	snprintf(path, sizeof(path), "%s/%s/modules.dep", root, release);
	f = fopen(path, "re");
	if (f) {
		while (!found && fgets(line, sizeof(line), f))
			found = dep_line_is_hmm_mirror(line);
		fclose(f);
		return found;
	}
	snprintf(path, sizeof(path), "%s/%s", root, release);
	/* FTW_PHYS: not into the build and source links of the tree. */
	return nftw(path, is_hmm_mirror_ko, 16, FTW_PHYS) == 1;
}

bool module_unavailable_reason(const char *root, const char *release,
			       const char *hmm_mirror_config,
			       const char *config_source, char *buf,
			       size_t size)
{
	if (hmm_mirror_config && !strcmp(hmm_mirror_config, "n")) {
		snprintf(buf, size,
			 "the running kernel %s is built without CONFIG_HMM_MIRROR "
			 "(%s), which hmm_mirror.ko needs: the module cannot be "
			 "built or loaded for this kernel; boot one with "
			 "CONFIG_HMM_MIRROR=y", release,
			 config_source ? config_source : "its configuration");
		return true;
	}
	if (!module_installed(root, release)) {
		snprintf(buf, size,
			 "no hmm_mirror.ko is installed for the running kernel %s "
			 "(none under %s/%s): build and install it for this kernel "
			 "first (make install-dkms, packaging/README.md)",
			 release, root, release);
		return true;
	}
	return false;
}
