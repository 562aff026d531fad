// SPDX-License-Identifier: MIT
/*
 * cmd_migrate.c - `hmm-mirror migrate --pid PID [--to-system | --evict]
 * ADDR [LENGTH]`: move a range of a process into the module's
 * device-private memory (ABI 4, MIGRATE; evicting its oldest pages to make
 * room, ABI 5), or back, and say what happened to its pages.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "common.h"
#include "format.h"
#include "json.h"
#include "procmaps.h"

/* Pages asked for in one MIGRATE call: 1 MiB of results. */
#define MIGRATE_CHUNK_PAGES (1U << 18)

static void help(void)
{
	printf("usage: %s --pid PID [--to-system | --evict] [--json] ADDR [LENGTH]\n"
	       "\n"
	       "Move the anonymous private pages of [ADDR, ADDR+LENGTH) in process\n"
	       "PID into the device memory of hmm_mirror.ko (MIGRATE), or with\n"
	       "--to-system back to system memory, and show what happened to each\n"
	       "page, as counts and as runs of pages with one result: moved,\n"
	       "already (already where asked), not_movable (a file page, a pinned\n"
	       "page, a hole) or no_memory (the device memory is full).  Without\n"
	       "LENGTH, the range goes from ADDR to the end of the mapping that\n"
	       "holds it.  ADDR and LENGTH are decimal or 0x hex; LENGTH may end\n"
	       "in K, M, G or T, in either case.  The range is widened to whole\n"
	       "pages.  A CPU access to a page in device memory moves it back by\n"
	       "itself; 'hmm-mirror snapshot' shows pages \"in device memory\".\n"
	       "Pages that do not move are reported, not an error: the exit\n"
	       "status is 0 when the command ran.\n"
	       "\n"
	       "Needs the module feature \"device_memory\" (ABI 4): a kernel with\n"
	       "CONFIG_DEVICE_PRIVATE and the module loaded with\n"
	       "device_memory_mb > 0 ('hmm-mirror info' shows the pool).\n"
	       "\n"
	       "  -p, --pid PID    the process (needs ptrace access to it: same\n"
	       "                   user or root)\n"
	       "  -s, --to-system  move the pages back to system memory\n"
	       "  -e, --evict      when the device memory is full, first move its\n"
	       "                   oldest pages (of any process) back to system\n"
	       "                   memory to make room, instead of leaving pages\n"
	       "                   no_memory; needs the feature \"device_evict\"\n"
	       "                   (ABI 5); not with --to-system\n"
	       "  --json           one JSON document (addresses as \"0x...\"\n"
	       "                   strings); on a failure it has \"error\", or is\n"
	       "                   {\"error\":{...}}\n"
	       "  --help           this text\n"
	       "\n" EXIT_CODES_HELP, prog);
}

int migrate_parse(int argc, char **argv, struct migrate_args *a)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "to-system", no_argument, NULL, 's' },
		{ "evict", no_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 0;	/* glibc: start again (the unit tests parse several times) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:sejh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!parse_pid(optarg, &a->pid))
				return usage_error("bad pid '%s'", optarg);
			break;
		case 's':
			a->to_system = true;
			break;
		case 'e':
			a->evict = true;
			break;
		case 'j':
			a->json = true;
			break;
		case 'h':
			help();
			return -1;
		default:
			return option_error(argv, c);
		}
	}
	if (!a->pid)
		return usage_error("--pid PID is required");
	if (a->evict && a->to_system)
		return usage_error("--evict makes room in device memory: not with --to-system");
	if (argc - optind < 1 || argc - optind > 2)
		return usage_error("expected ADDR [LENGTH]");
	if (!parse_u64(argv[optind], &a->addr))
		return usage_error("bad address '%s'", argv[optind]);
	if (argc - optind == 2) {
		if (!parse_size(argv[optind + 1], &a->length) || !a->length)
			return usage_error("bad length '%s': want %s",
					   argv[optind + 1], SIZE_SYNTAX);
		a->have_length = true;
	}
	return 0;
}

const char *migrate_result_label(uint32_t result)
{
	const char *n = hmm_mirror_migrate_result_name(result);

	return n ? n : "unknown";
}

int migrate_range(struct hmm_mirror *m, uint64_t addr, uint64_t len,
		  uint32_t flags, migrate_run_fn on_run, void *ctx,
		  struct migrate_tally *t)
{
	uint64_t page = hmm_mirror_page_size(m);
	uint64_t run_start = addr, end = addr + len;
	uint32_t run_result = 0;
	uint32_t *results;
	int ret = 0;

	memset(t, 0, sizeof(*t));
	if (!page)
		return -EINVAL;
	results = malloc(sizeof(*results) * MIGRATE_CHUNK_PAGES);
	if (!results)
		return -ENOMEM;
	for (uint64_t at = addr; at < end;) {
		uint64_t n = (end - at) / page, moved = 0, not_moved = 0;

		if (n > MIGRATE_CHUNK_PAGES)
			n = MIGRATE_CHUNK_PAGES;
		ret = hmm_mirror_migrate(m, at, n * page, flags, results, n,
					 &moved, &not_moved);
		if (ret)
			break;
		t->pages_moved += moved;
		t->pages_not_moved += not_moved;
		for (uint64_t i = 0; i < n; i++) {
			uint32_t r = results[i];

			t->pages++;
			t->counts[r < MIGRATE_RESULTS ? r : 0]++;
			if (at + i * page == addr) {
				run_result = r;
			} else if (r != run_result) {
				if (on_run)
					ret = on_run(ctx, run_start, at + i * page,
						     run_result);
				if (ret)
					goto out;
				run_start = at + i * page;
				run_result = r;
			}
		}
		at += n * page;
	}
	if (!ret && on_run && end > run_start)
		ret = on_run(ctx, run_start, end, run_result);
out:
	free(results);
	return ret;
}

struct out {
	struct json j;
	bool json;
	uint64_t page;
};

static int print_run(void *ctx, uint64_t start, uint64_t end, uint32_t result)
{
	struct out *o = ctx;
	uint64_t pages = (end - start) / o->page;
	char size[SIZE_STR_MAX];

	if (o->json) {
		json_object_begin(&o->j, NULL);
		json_hex(&o->j, "start", start);
		json_hex(&o->j, "end", end);
		json_u64(&o->j, "pages", pages);
		json_string(&o->j, "result", migrate_result_label(result));
		json_object_end(&o->j);
	} else {
		printf("0x%012" PRIx64 "-0x%012" PRIx64 "  %10s  %8" PRIu64 " %-5s  %s\n",
		       start, end, human_size(end - start, size), pages,
		       plural(pages, "page", "pages"), migrate_result_label(result));
	}
	return 0;
}

/* The mapping that holds @addr, to its end; false (after the error) if none. */
static int mapping_rest(int pid, uint64_t addr, uint64_t *len)
{
	struct mapping_list maps;
	const struct mapping *mp;
	int ret = read_mappings(pid, &maps);

	if (ret)
		return fail_errno(EXIT_FAILED, ret,
				  "cannot read the mappings of pid %d: %s", pid,
				  hmm_mirror_strerror(ret));
	mp = mapping_find(&maps, addr);
	if (!mp) {
		free_mappings(&maps);
		return fail(EXIT_FAILED, "pid %d maps nothing at 0x%" PRIx64
			    ": give a LENGTH", pid, addr);
	}
	*len = mp->end - addr;
	free_mappings(&maps);
	return 0;
}

int cmd_migrate(int argc, char **argv)
{
	struct migrate_args a;
	struct migrate_tally t;
	struct hmm_mirror_device_memory dm;
	struct hmm_mirror *m;
	struct out o;
	uint64_t addr, len;
	uint32_t flags;
	char size[SIZE_STR_MAX], total[SIZE_STR_MAX];
	bool have_dm;
	int ret;

	ret = migrate_parse(argc, argv, &a);
	if (ret)
		return ret < 0 ? EXIT_OK : ret;
	addr = a.addr;
	len = a.length;

	ret = open_mirror(a.pid, HMM_MIRROR_FEAT_DEVICE_MEMORY |
			  (a.evict ? HMM_MIRROR_FEAT_DEVICE_EVICT : 0), &m);
	if (ret)
		return ret;
	memset(&o, 0, sizeof(o));
	o.json = a.json;
	o.page = hmm_mirror_page_size(m);
	if (!a.have_length) {
		addr &= ~(o.page - 1);
		ret = mapping_rest(a.pid, addr, &len);
		if (ret) {
			hmm_mirror_close(m);
			return ret;
		}
	}
	if (!page_range(&addr, &len, o.page)) {
		hmm_mirror_close(m);
		return EXIT_USAGE;
	}
	flags = a.to_system ? HMM_MIRROR_MIGRATE_TO_SYSTEM : 0;
	if (a.evict)
		flags |= HMM_MIRROR_MIGRATE_EVICT;

	if (o.json) {
		json_init(&o.j, stdout, true);
		json_object_begin(&o.j, NULL);
		json_i64(&o.j, "pid", a.pid);
		json_hex(&o.j, "start", addr);
		json_hex(&o.j, "end", addr + len);
		json_u64(&o.j, "page_size", o.page);
		json_string(&o.j, "direction", a.to_system ? "to_system" : "to_device");
		json_bool(&o.j, "evict", a.evict);
		json_array_begin(&o.j, "runs");
	} else {
		printf("pid %d: 0x%" PRIx64 "-0x%" PRIx64 " (%s, %" PRIu64 " %s) %s\n",
		       a.pid, addr, addr + len, human_size(len, size), len / o.page,
		       plural(len / o.page, "page", "pages"),
		       a.to_system ? "back to system memory" :
		       a.evict ? "to device memory, evicting its oldest pages if full" :
		       "to device memory");
	}
	ret = migrate_range(m, addr, len, flags, print_run, &o, &t);
	if (o.json)
		json_array_end(&o.j);
	if (ret) {
		ret = lib_fail_in(o.json ? &o.j : NULL, ret);
	} else {
		hmm_mirror_device_memory_init(&dm);
		have_dm = hmm_mirror_device_memory(m, &dm) == 0;

		if (o.json) {
			json_u64(&o.j, "pages", t.pages);
			json_object_begin(&o.j, "results");
			for (uint32_t r = 1; r < MIGRATE_RESULTS; r++)
				json_u64(&o.j, migrate_result_label(r), t.counts[r]);
			json_object_end(&o.j);
			json_u64(&o.j, "pages_moved", t.pages_moved);
			json_u64(&o.j, "pages_not_moved", t.pages_not_moved);
			if (have_dm) {
				json_object_begin(&o.j, "device_memory");
				json_u64(&o.j, "total_bytes", dm.total_bytes);
				json_u64(&o.j, "used_bytes", dm.used_bytes);
				json_object_end(&o.j);
			} else {
				json_null(&o.j, "device_memory");
			}
		} else {
			const char *sep = "";

			printf("%" PRIu64 " %s: ", t.pages, plural(t.pages, "page", "pages"));
			for (uint32_t r = 1; r < MIGRATE_RESULTS; r++) {
				printf("%s%" PRIu64 " %s", sep, t.counts[r],
				       migrate_result_label(r));
				sep = ", ";
			}
			printf("\n");
			if (have_dm)
				printf("device memory: %s used of %s\n",
				       human_size(dm.used_bytes, size),
				       human_size(dm.total_bytes, total));
		}
		ret = EXIT_OK;
	}
	if (o.json) {
		json_object_end(&o.j);
		json_finish(&o.j);
	}
	fflush(stdout);
	hmm_mirror_close(m);
	return ret;
}
