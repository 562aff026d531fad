/* SPDX-License-Identifier: MIT */
/*
 * procmaps.h - a process's mappings, from /proc/PID/smaps (or
 * /proc/PID/maps when smaps cannot be read).
 */
#ifndef HMM_CLI_PROCMAPS_H
#define HMM_CLI_PROCMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mapping {
	uint64_t start, end;
	char perms[8];		/* "rw-p", as struct hmm_mirror_mapping */
	uint64_t offset;
	uint64_t inode;
	char *path;		/* "" for anonymous; "[stack]", "[vvar]", ... */
	char vmflags[160];	/* smaps VmFlags ("rd wr mr ..."), "" if unknown */
	uint64_t rss_kb;
	uint64_t anon_huge_kb;	/* AnonHugePages */
	uint64_t hugetlb_kb;	/* Shared_Hugetlb + Private_Hugetlb */
	uint64_t kernel_page_kb;	/* KernelPageSize */
};

struct mapping_list {
	struct mapping *v;
	size_t n;
	bool have_smaps;	/* VmFlags and sizes are known */
};

/* 0, or a negative errno (-ENOENT: no such process; -EACCES). */
int read_mappings(int pid, struct mapping_list *out);
void free_mappings(struct mapping_list *list);

/* Does VmFlags hold the two-letter flag @flag ("io", "pf", "ht")? */
bool mapping_has_flag(const struct mapping *m, const char *flag);
/* The mapping containing @addr, or NULL. */
const struct mapping *mapping_find(const struct mapping_list *list,
				   uint64_t addr);

#endif /* HMM_CLI_PROCMAPS_H */
