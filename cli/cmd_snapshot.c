// SPDX-License-Identifier: MIT
/*
 * cmd_snapshot.c - `hmm-mirror snapshot --pid PID ADDR LEN`: what the CPU
 * page table of a process holds for a range, as a device would see it,
 * collapsed into runs of pages with the same state.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "common.h"
#include "format.h"
#include "json.h"
#include "procmaps.h"
#include "runs.h"

struct snap {
	struct json j;
	bool json;
	uint64_t page;
	const struct mapping_list *maps;
	/* summary, in pages */
	uint64_t pages, present, writable, zero, huge, device, error, absent, unmapped;
};

static void help(void)
{
	printf("usage: %s --pid PID [--json] ADDR LEN\n"
	       "\n"
	       "Show, for each page of [ADDR, ADDR+LEN) in process PID, what its\n"
	       "CPU page table holds, the way a device mirroring it would see it\n"
	       "(SNAPSHOT: nothing is faulted or changed).  Pages with the same\n"
	       "state are shown as one range.  ADDR and LEN are decimal or 0x hex;\n"
	       "LEN may end in K, M, G or T, in either case (4k = 4K = 4KiB =\n"
	       "4096).  The range is widened to whole pages.  States: present\n"
	       "writable / read-only, zero-page (the shared zero page), in device\n"
	       "memory (moved there by 'hmm-mirror migrate'), huge SIZE\n"
	       "(a THP or hugetlb mapping), not present (mapped but never touched\n"
	       "or swapped out), not mapped (no mapping there), not mirrorable\n"
	       "(PROT_NONE or a VM_IO/VM_PFNMAP special mapping).\n"
	       "\n"
	       "  -p, --pid PID  the process (needs ptrace access to it: same user\n"
	       "                 or root; the module feature \"attach\")\n"
	       "  --json         one JSON document (addresses as \"0x...\" strings);\n"
	       "                 on a failure it has \"error\", or is {\"error\":{...}}\n"
	       "  --help         this text\n"
	       "\n" EXIT_CODES_HELP, prog);
}

static void emit(struct snap *s, uint64_t start, uint64_t end, uint32_t state,
		 bool mapped)
{
	uint64_t pages = (end - start) / s->page;
	char size[SIZE_STR_MAX], what[96];

	s->pages += pages;
	if (!mapped)
		s->unmapped += pages;
	else if (state & HMM_MIRROR_PAGE_ERROR)
		s->error += pages;
	else if (!(state & HMM_MIRROR_PAGE_VALID))
		s->absent += pages;
	else
		s->present += pages;
	if ((state & HMM_MIRROR_PAGE_VALID) && (state & HMM_MIRROR_PAGE_WRITE))
		s->writable += pages;
	if ((state & HMM_MIRROR_PAGE_VALID) && (state & HMM_MIRROR_PAGE_ZERO))
		s->zero += pages;
	if ((state & HMM_MIRROR_PAGE_VALID) && HMM_MIRROR_PAGE_ORDER(state))
		s->huge += pages;
	if ((state & HMM_MIRROR_PAGE_VALID) && (state & HMM_MIRROR_PAGE_DEVICE))
		s->device += pages;

	if (mapped)
		describe_state(state, what, sizeof(what));
	else
		snprintf(what, sizeof(what), "not mapped");
	if (s->json) {
		const char *flags[STATE_FLAGS_MAX];
		int n;

		state_flag_names(state, flags, &n);
		json_object_begin(&s->j, NULL);
		json_hex(&s->j, "start", start);
		json_hex(&s->j, "end", end);
		json_u64(&s->j, "bytes", end - start);
		json_u64(&s->j, "pages", pages);
		json_u64(&s->j, "state", state);
		json_array_begin(&s->j, "flags");
		for (int i = 0; i < n; i++)
			json_string(&s->j, NULL, flags[i]);
		json_array_end(&s->j);
		json_u64(&s->j, "order", HMM_MIRROR_PAGE_ORDER(state));
		json_bool(&s->j, "mapped", mapped);
		json_string(&s->j, "description", what);
		json_object_end(&s->j);
	} else {
		printf("0x%012" PRIx64 "-0x%012" PRIx64 "  %10s  %8" PRIu64 " %-5s  %s\n",
		       start, end, human_size(end - start, size), pages,
		       plural(pages, "page", "pages"), what);
	}
}

/* A run: state-0 runs are split into mapped (not present) and not mapped. */
static int on_run(void *ctx, uint64_t start, uint64_t end, uint32_t state)
{
	struct snap *s = ctx;

	if (state || !s->maps) {
		emit(s, start, end, state, true);
		return 0;
	}
	while (start < end) {
		const struct mapping *m = mapping_find(s->maps, start);
		uint64_t stop = end;

		if (m) {
			stop = m->end < end ? m->end : end;
		} else {
			/* up to the next mapping that starts inside the run */
			for (size_t i = 0; i < s->maps->n; i++)
				if (s->maps->v[i].start > start && s->maps->v[i].start < stop)
					stop = s->maps->v[i].start;
		}
		emit(s, start, stop, 0, m != NULL);
		start = stop;
	}
	return 0;
}

static void summary(struct snap *s)
{
	if (s->json) {
		json_object_begin(&s->j, "summary");
		json_u64(&s->j, "pages", s->pages);
		json_u64(&s->j, "present", s->present);
		json_u64(&s->j, "writable", s->writable);
		json_u64(&s->j, "zero", s->zero);
		json_u64(&s->j, "huge", s->huge);
		json_u64(&s->j, "device", s->device);
		json_u64(&s->j, "not_present", s->absent);
		json_u64(&s->j, "not_mapped", s->unmapped);
		json_u64(&s->j, "not_mirrorable", s->error);
		json_object_end(&s->j);
		return;
	}
	printf("%" PRIu64 " %s: %" PRIu64 " present (%" PRIu64 " writable, %"
	       PRIu64 " zero-page, %" PRIu64 " in huge pages", s->pages,
	       plural(s->pages, "page", "pages"), s->present, s->writable,
	       s->zero, s->huge);
	/* Only when there are some: the line stays as it was without. */
	if (s->device)
		printf(", %" PRIu64 " in device memory", s->device);
	printf("), %" PRIu64 " not present, %" PRIu64 " not mapped, %" PRIu64
	       " not mirrorable\n", s->absent, s->unmapped, s->error);
}

int cmd_snapshot(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mapping_list maps;
	struct hmm_mirror *m;
	struct snap s;
	uint64_t addr, len;
	int pid = 0, c, ret;
	char size[SIZE_STR_MAX];

	memset(&s, 0, sizeof(s));
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!parse_pid(optarg, &pid))
				return usage_error("bad pid '%s'", optarg);
			break;
		case 'j':
			s.json = true;
			break;
		case 'h':
			help();
			return EXIT_OK;
		default:
			return option_error(argv, c);
		}
	}
	if (!pid)
		return usage_error("--pid PID is required");
	if (argc - optind != 2)
		return usage_error("expected ADDR LEN");
	if (!parse_u64(argv[optind], &addr))
		return usage_error("bad address '%s'", argv[optind]);
	if (!parse_size(argv[optind + 1], &len))
		return usage_error("bad length '%s': want %s", argv[optind + 1],
				   SIZE_SYNTAX);

	ret = open_mirror(pid, HMM_MIRROR_FEAT_SNAPSHOT, &m);
	if (ret)
		return ret;
	s.page = hmm_mirror_page_size(m);
	if (!page_range(&addr, &len, s.page)) {
		hmm_mirror_close(m);
		return EXIT_USAGE;
	}
	/* Only to tell "not mapped" from "not present"; optional. */
	s.maps = read_mappings(pid, &maps) == 0 ? &maps : NULL;

	if (s.json) {
		json_init(&s.j, stdout, true);
		json_object_begin(&s.j, NULL);
		json_i64(&s.j, "pid", pid);
		json_hex(&s.j, "start", addr);
		json_hex(&s.j, "end", addr + len);
		json_u64(&s.j, "page_size", s.page);
		json_array_begin(&s.j, "runs");
	} else {
		printf("pid %d: 0x%" PRIx64 "-0x%" PRIx64 " (%s, %" PRIu64 " %s)\n",
		       pid, addr, addr + len, human_size(len, size), len / s.page,
		       plural(len / s.page, "page", "pages"));
	}
	ret = snapshot_runs(m, addr, len, on_run, &s);
	if (s.json)
		json_array_end(&s.j);
	if (!ret)
		summary(&s);
	else
		ret = lib_fail_in(s.json ? &s.j : NULL, ret);
	if (s.json) {
		json_object_end(&s.j);
		json_finish(&s.j);
	}
	fflush(stdout);
	if (s.maps)
		free_mappings(&maps);
	hmm_mirror_close(m);
	return ret;
}
