// SPDX-License-Identifier: MIT
/*
 * procmaps.c - parse /proc/PID/smaps (or /proc/PID/maps).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procmaps.h"

static FILE *open_proc(int pid, const char *what)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	return fopen(path, "re");
}

/* "55d4c8a00000-55d4c8a01000 r--p 00000000 08:01 1234   /usr/bin/x" */
static bool parse_header(const char *line, struct mapping *m)
{
	char dev[32];
	int pos = 0;
	const char *path;
	size_t len;

	if (!isxdigit((unsigned char)line[0]))
		return false;
	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %31s %" SCNu64 "%n",
		   &m->start, &m->end, m->perms, &m->offset, dev, &m->inode,
		   &pos) != 6)
		return false;
	path = line + pos;
	while (*path == ' ' || *path == '\t')
		path++;
	len = strcspn(path, "\n");
	m->path = strndup(path, len);
	return m->path != NULL;
}

static void parse_field(const char *line, struct mapping *m)
{
	uint64_t v;

	if (!strncmp(line, "VmFlags:", 8)) {
		const char *flags = line + 8;

		while (*flags == ' ')
			flags++;
		snprintf(m->vmflags, sizeof(m->vmflags), "%.*s",
			 (int)strcspn(flags, "\n"), flags);
	} else if (sscanf(line, "Rss: %" SCNu64, &v) == 1) {
		m->rss_kb = v;
	} else if (sscanf(line, "AnonHugePages: %" SCNu64, &v) == 1) {
		m->anon_huge_kb = v;
	} else if (sscanf(line, "Shared_Hugetlb: %" SCNu64, &v) == 1 ||
		   sscanf(line, "Private_Hugetlb: %" SCNu64, &v) == 1) {
		m->hugetlb_kb += v;
	} else if (sscanf(line, "KernelPageSize: %" SCNu64, &v) == 1) {
		m->kernel_page_kb = v;
	}
}

int read_mappings(int pid, struct mapping_list *out)
{
	size_t cap = 0;
	char *line = NULL;
	size_t line_size = 0;
	FILE *f;

	memset(out, 0, sizeof(*out));
	f = open_proc(pid, "smaps");
	out->have_smaps = f != NULL;
	if (!f)
		f = open_proc(pid, "maps");
	if (!f)
		return -errno;
	while (getline(&line, &line_size, f) > 0) {
		struct mapping m;

		memset(&m, 0, sizeof(m));
		if (parse_header(line, &m)) {
			if (out->n == cap) {
				struct mapping *v;

				cap = cap ? 2 * cap : 64;
				v = realloc(out->v, cap * sizeof(*v));
				if (!v) {
					free(m.path);
					break;
				}
				out->v = v;
			}
			out->v[out->n++] = m;
		} else if (out->n) {
			parse_field(line, &out->v[out->n - 1]);
		}
	}
	free(line);
	fclose(f);
	/* An empty list: the process exited, or is a kernel thread. */
	return out->n ? 0 : -ESRCH;
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
