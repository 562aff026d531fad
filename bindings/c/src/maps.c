// SPDX-License-Identifier: MIT
/*
 * maps.c - hmm_mirror_maps_*(): the mappings of a process, from
 * /proc/PID/maps or smaps.  The file is read whole into the walk's buffer
 * and parsed in place: a mapping's path and VM flags point into it.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

struct hmm_mirror_maps {
	char *text;		/* the file, NUL terminated; lines cut in place */
	size_t len;
	size_t pos;		/* start of the next unread line */
	unsigned int line;	/* its number, for error messages */
	bool smaps;		/* read from smaps: the fields are known */
};

static const char next_call[] = "hmm_mirror_maps_next";

static struct hmm_mirror_maps *maps_new(char *text, size_t len, bool smaps)
{
	struct hmm_mirror_maps *it = calloc(1, sizeof(*it));

	if (!it)
		return NULL;
	it->text = text;
	it->len = len;
	it->smaps = smaps;
	return it;
}

HMM_LIB_EXPORT int hmm_mirror_maps_parse(const char *text, size_t len,
					 struct hmm_mirror_maps **out)
{
	static const char call[] = "hmm_mirror_maps_parse";
	char *copy;

	if (out)
		*out = NULL;
	if (!text || !out)
		return hmm_lib_fail(EINVAL, call, text ? "out is NULL" :
				    "text is NULL", "len=%zu", len);
	copy = malloc(len + 1);
	if (!copy)
		return hmm_lib_fail(ENOMEM, call, NULL, "len=%zu", len);
	memcpy(copy, text, len);
	copy[len] = '\0';
	*out = maps_new(copy, len, false);
	if (!*out) {
		free(copy);
		return hmm_lib_fail(ENOMEM, call, NULL, "len=%zu", len);
	}
	return 0;
}

/* The whole of @path into a NUL-terminated malloc'd buffer: 0 or -errno. */
static int read_file(const char *path, char **text, size_t *len)
{
	size_t cap = 64 * 1024, n = 0;
	char *buf = NULL;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t got;

		if (!buf || n + 1 == cap) {
			char *bigger = realloc(buf, buf ? 2 * cap : cap);

			if (!bigger) {
				err = -ENOMEM;
				break;
			}
			if (buf)
				cap *= 2;
			buf = bigger;
		}
		/* proc files come a few lines per read: go on to EOF. */
		got = read(fd, buf + n, cap - n - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			err = -errno;
			break;
		}
		if (!got)
			break;
		n += (size_t)got;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

HMM_LIB_EXPORT int hmm_mirror_maps_open(int pid, uint32_t flags,
					struct hmm_mirror_maps **out)
{
	static const char call[] = "hmm_mirror_maps_open";
	char path[64], who[16];
	bool smaps = flags & HMM_MIRROR_MAPS_SMAPS;
	size_t len = 0;
	char *text = NULL;
	int ret;

	if (out)
		*out = NULL;
	if (pid < 0 || (flags & ~HMM_MIRROR_MAPS_SMAPS) || !out)
		return hmm_lib_fail(EINVAL, call, pid < 0 ? "pid is negative" :
				    out ? "unknown flags" : "out is NULL",
				    "pid=%d, flags=0x%x", pid, flags);
	if (pid)
		snprintf(who, sizeof(who), "%d", pid);
	else
		snprintf(who, sizeof(who), "self");
	snprintf(path, sizeof(path), "/proc/%s/%s", who, smaps ? "smaps" : "maps");
	ret = read_file(path, &text, &len);
	/* smaps may be missing (CONFIG_PROC_PAGE_MONITOR=n): maps will do. */
	if (ret && ret != -ENOMEM && smaps) {
		smaps = false;
		snprintf(path, sizeof(path), "/proc/%s/maps", who);
		ret = read_file(path, &text, &len);
	}
	if (ret)
		return hmm_lib_fail(-ret, call,
				    ret == -ENOENT ? "no such process" : NULL,
				    "pid=%d, flags=0x%x: %s", pid, flags, path);
	*out = maps_new(text, len, smaps);
	if (!*out) {
		free(text);
		return hmm_lib_fail(ENOMEM, call, NULL, "pid=%d", pid);
	}
	return 0;
}

/* Hex digits at *@p into @v, moving *@p past them; false if there are none. */
static bool take_hex(const char **p, uint64_t *v)
{
	const char *s = *p;
	char *e;

	if (!isxdigit((unsigned char)*s))
		return false;
	errno = 0;
	*v = strtoull(s, &e, 16);
	*p = e;
	return errno == 0;
}

static bool take_char(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

/* "start-end perms offset major:minor inode   path" into @map. */
static bool parse_header(char *line, struct hmm_mirror_mapping *map)
{
	const char *p = line;
	uint64_t major, minor;
	char *e;
	size_t n;

	if (!take_hex(&p, &map->start) || !take_char(&p, '-') ||
	    !take_hex(&p, &map->end) || !take_char(&p, ' '))
		return false;
	n = strcspn(p, " ");
	if (n < 4 || n >= sizeof(map->perms))
		return false;
	memcpy(map->perms, p, n);
	map->perms[n] = '\0';
	p += n;
	if (!take_char(&p, ' ') || !take_hex(&p, &map->offset) ||
	    !take_char(&p, ' ') || !take_hex(&p, &major) ||
	    !take_char(&p, ':') || !take_hex(&p, &minor) ||
	    !take_char(&p, ' ') || !isdigit((unsigned char)*p))
		return false;
	map->dev_major = (uint32_t)major;
	map->dev_minor = (uint32_t)minor;
	errno = 0;
	map->inode = strtoull(p, &e, 10);
	if (errno || (*e && *e != ' '))
		return false;
	while (*e == ' ' || *e == '\t')
		e++;
	/* The path is the rest of the line, spaces and all. */
	n = strlen(e);
	if (n > 10 && !strcmp(e + n - 10, " (deleted)")) {
		e[n - 10] = '\0';
		map->flags |= HMM_MIRROR_MAPPING_DELETED;
	}
	map->path = e;
	return true;
}

/* One "Name:   value" line of smaps; false if it is not one. */
static bool parse_field(char *line, struct hmm_mirror_mapping *map)
{
	size_t name = strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
	char *v = line + name;
	uint64_t kb;

	if (!name || *v != ':')
		return false;
	*v++ = '\0';
	while (*v == ' ' || *v == '\t')
		v++;
	if (!strcmp(line, "VmFlags")) {
		size_t n = strlen(v);

		while (n && v[n - 1] == ' ')	/* the kernel ends it with one */
			v[--n] = '\0';
		map->vmflags = v;
		return true;
	}
	kb = strtoull(v, NULL, 10);
	if (!strcmp(line, "Rss"))
		map->rss_kb = kb;
	else if (!strcmp(line, "AnonHugePages"))
		map->anon_huge_kb = kb;
	else if (!strcmp(line, "Shared_Hugetlb") || !strcmp(line, "Private_Hugetlb"))
		map->hugetlb_kb += kb;
	else if (!strcmp(line, "KernelPageSize"))
		map->kernel_page_kb = kb;
	return true;
}

/* The next line, cut at its newline; NULL at the end. */
static char *take_line(struct hmm_mirror_maps *it)
{
	char *line, *nl;

	if (it->pos >= it->len)
		return NULL;
	line = it->text + it->pos;
	nl = strchr(line, '\n');
	if (nl) {
		*nl = '\0';
		it->pos = (size_t)(nl - it->text) + 1;
	} else {
		it->pos = it->len;
	}
	it->line++;
	return line;
}

/* Is @line (not yet cut) a mapping header?  Fields start with a name. */
static bool is_header(const char *line)
{
	size_t hex = strspn(line, "0123456789abcdefABCDEF");

	return hex && line[hex] == '-';
}

HMM_LIB_EXPORT int hmm_mirror_maps_next(struct hmm_mirror_maps *it,
					struct hmm_mirror_mapping *out)
{
	struct hmm_mirror_mapping map;
	char *line;

	if (!it || !out)
		return hmm_lib_fail(EINVAL, next_call, it ? "map is NULL" :
				    "it is NULL", "%s", "");
	if (out->size < HMM_MIRROR_MAPPING_SIZE_VER1)
		return hmm_lib_fail(EINVAL, next_call,
				    "map->size is too small: call hmm_mirror_mapping_init() first",
				    "size=%u", out->size);
	/* Blank lines between mappings are skipped (a hand-made text). */
	do {
		line = take_line(it);
	} while (line && !line[strspn(line, " \t")]);
	if (!line)
		return 0;
	memset(&map, 0, sizeof(map));
	map.size = sizeof(map);
	map.vmflags = "";
	if (!parse_header(line, &map))
		return hmm_lib_fail(EINVAL, next_call,
				    "not a mapping of /proc/PID/maps",
				    "line %u: \"%.80s\"", it->line, line);
	if (it->smaps)
		map.flags |= HMM_MIRROR_MAPPING_SMAPS;
	/* Its smaps fields, up to the next mapping. */
	while (it->pos < it->len && !is_header(it->text + it->pos)) {
		line = take_line(it);
		if (!line[strspn(line, " \t")])
			continue;
		if (!parse_field(line, &map))
			return hmm_lib_fail(EINVAL, next_call,
					    "neither a mapping nor a \"Name: value\" field",
					    "line %u: \"%.80s\"", it->line, line);
		/* Text handed to hmm_mirror_maps_parse() may be smaps too. */
		map.flags |= HMM_MIRROR_MAPPING_SMAPS;
	}
	hmm_lib_copy_sized(out, out->size, &map, sizeof(map));
	return 1;
}

HMM_LIB_EXPORT void hmm_mirror_maps_close(struct hmm_mirror_maps *it)
{
	if (!it)
		return;
	free(it->text);
	free(it);
}
