// SPDX-License-Identifier: MIT
/*
 * procmaps.c - a process's mappings as a list the commands can search,
 * filled from the library's parser (hmm_mirror_maps_*()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmm_mirror/libhmm_mirror.h"
#include "procmaps.h"

/* One mapping of the library as the commands keep it. */
static int keep(struct mapping *out, const struct hmm_mirror_mapping *map)
{
	/* The tool shows the path as the kernel writes it. */
	const char *deleted = map->flags & HMM_MIRROR_MAPPING_DELETED ?
			      " (deleted)" : "";

	memset(out, 0, sizeof(*out));
	out->start = map->start;
	out->end = map->end;
	snprintf(out->perms, sizeof(out->perms), "%s", map->perms);
	out->offset = map->offset;
	out->inode = map->inode;
	if (asprintf(&out->path, "%s%s", map->path, deleted) < 0) {
		out->path = NULL;
		return -ENOMEM;
	}
	snprintf(out->vmflags, sizeof(out->vmflags), "%s", map->vmflags);
	out->rss_kb = map->rss_kb;
	out->anon_huge_kb = map->anon_huge_kb;
	out->hugetlb_kb = map->hugetlb_kb;
	out->kernel_page_kb = map->kernel_page_kb;
	return 0;
}

int read_mappings(int pid, struct mapping_list *out)
{
	struct hmm_mirror_mapping map;
	struct hmm_mirror_maps *it;
	size_t cap = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = hmm_mirror_maps_open(pid, HMM_MIRROR_MAPS_SMAPS, &it);
	if (ret)
		return ret;
	hmm_mirror_mapping_init(&map);
	out->have_smaps = true;
	while ((ret = hmm_mirror_maps_next(it, &map)) == 1) {
		if (out->n == cap) {
			struct mapping *v;

			cap = cap ? 2 * cap : 64;
			v = realloc(out->v, cap * sizeof(*v));
			if (!v) {
				ret = -ENOMEM;
				break;
			}
			out->v = v;
		}
		ret = keep(&out->v[out->n], &map);
		if (ret)
			break;
		out->n++;
		out->have_smaps &= !!(map.flags & HMM_MIRROR_MAPPING_SMAPS);
	}
	hmm_mirror_maps_close(it);
	if (ret < 0) {
		free_mappings(out);
		return ret;
	}
	/* An empty list: the process exited, or is a kernel thread. */
	if (!out->n) {
		out->have_smaps = false;
		return -ESRCH;
	}
	return 0;
}

void free_mappings(struct mapping_list *list)
{
	for (size_t i = 0; i < list->n; i++)
		free(list->v[i].path);
	free(list->v);
	memset(list, 0, sizeof(*list));
}

bool mapping_has_flag(const struct mapping *m, const char *flag)
{
	size_t len = strlen(flag);

	for (const char *p = m->vmflags; *p;) {
		size_t tok = strcspn(p, " ");

		if (tok == len && !strncmp(p, flag, len))
			return true;
		p += tok;
		while (*p == ' ')
			p++;
	}
	return false;
}

const struct mapping *mapping_find(const struct mapping_list *list,
				   uint64_t addr)
{
	for (size_t i = 0; i < list->n; i++)
		if (addr >= list->v[i].start && addr < list->v[i].end)
			return &list->v[i];
	return NULL;
}
