// SPDX-License-Identifier: MIT
/*
 * cmd_watch.c - `hmm-mirror watch --pid PID [ADDR [LEN]]`: mirror memory
 * of a process into the device and print every invalidation event as it
 * happens, until interrupted (SIGINT/SIGTERM: exit 0), the process exits,
 * --count records or --timeout seconds.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "common.h"
#include "counters.h"
#include "format.h"
#include "json.h"
#include "procmaps.h"
#include "runs.h"

#define HMM_STR2(x) #x
#define HMM_STR(x) HMM_STR2(x)

#define USER_LIMIT (1ULL << 47)

struct watch {
	struct hmm_mirror *m;
	bool json;
	struct json j;
	uint64_t page;
	/* what the device was given */
	uint64_t pages_mapped, ranges, failed_ranges;
	uint64_t records;
};

static void help(void)
{
	printf("usage: %s --pid PID [options] [ADDR [LEN]]\n"
	       "\n"
	       "Mirror memory of process PID into the device, then print each\n"
	       "invalidation event (munmap, madvise, mprotect, migration, exit, ...)\n"
	       "as it happens, one line per event: the time it was read (local time\n"
	       "of day), sequence number, reason, range, and the device pages\n"
	       "removed with their size.  When the event queue overflowed, a LOST\n"
	       "line says how many events were dropped.\n"
	       "\n"
	       "What is mirrored:\n"
	       "  no ADDR       every page the process has present now, in every\n"
	       "                mapping a device can mirror (not PROT_NONE, VM_IO,\n"
	       "                VM_PFNMAP or [vsyscall]); faulted for read, so nothing\n"
	       "                new is allocated in the process.  Memory it touches\n"
	       "                later is not watched.\n"
	       "  ADDR          the whole mapping that contains ADDR, faulted\n"
	       "  ADDR LEN      [ADDR, ADDR+LEN) widened to pages, faulted; it must\n"
	       "                be mapped and readable\n"
	       "Faulting ADDR populates untouched pages (with the zero page for\n"
	       "anonymous memory, or the file's pages), as a device access would.\n"
	       "\n"
	       "It stops with exit status 0 on SIGINT (Ctrl-C) or SIGTERM, when the\n"
	       "process exits (after its release event), after --count events or\n"
	       "after --timeout seconds.  A line on stderr says when it is ready.\n"
	       "\n"
	       "  -p, --pid PID       the process (needs ptrace access to it)\n"
	       "  -w, --write         fault ADDR for write (needs ADDR)\n"
	       "  -r, --reasons LIST  comma-separated reasons to report: unmap, clear,\n"
	       "                      protection, migrate, release, soft-dirty,\n"
	       "                      exclusive, other, or all (the default)\n"
	       "  -q, --queue N       event queue length (default " HMM_STR(HMM_MIRROR_EVENTS_DEFAULT_LEN)
	       ", at most " HMM_STR(HMM_MIRROR_EVENTS_MAX_LEN) ")\n"
	       "  -n, --count N       stop after N events (LOST lines included)\n"
	       "  -t, --timeout SEC   stop after SEC seconds (a fraction too: 0.5)\n"
	       "  -s, --stats         print this mirror's counters when stopping\n"
	       "  --json              one JSON object per line (JSON Lines): events as\n"
	       "                      {\"time\",\"seq\",\"reason\",\"start\",\"end\",\"bytes\",\n"
	       "                      \"pages\",\"bytes_removed\"}, LOST as {\"time\",\"seq\",\n"
	       "                      \"reason\":\"lost\",\"lost\"}, {\"stats\":{...}} last with\n"
	       "                      --stats, and {\"error\":{...}} on a failure\n"
	       "  --help              this text\n"
	       "\n" EXIT_CODES_HELP, prog);
}

static bool parse_reasons(const char *list, uint32_t *out)
{
	char *copy = strdup(list), *save = NULL;
	bool ok = copy != NULL;

	*out = 0;
	for (char *r = copy ? strtok_r(copy, ",", &save) : NULL; r && ok;
	     r = strtok_r(NULL, ",", &save)) {
		bool found = false;

		if (!strcmp(r, "all")) {
			*out |= HMM_MIRROR_EVENT_ALL_REASONS;
			continue;
		}
		for (uint32_t i = 0; i < HMM_MIRROR_EVENT_NR_REASONS; i++)
			if (!strcmp(r, hmm_mirror_event_reason_name(i))) {
				*out |= 1U << i;
				found = true;
			}
		ok = found;
	}
	free(copy);
	return ok && *out;
}

static int fault_range(struct watch *w, uint64_t start, uint64_t end,
		       uint32_t flags)
{
	uint64_t mapped = 0;
	int ret = hmm_mirror_fault(w->m, start, end - start, flags, &mapped, NULL);

	if (ret)
		return ret;
	w->pages_mapped += mapped;
	w->ranges++;
	return 0;
}

/* Present, mirrorable runs of a mapping: fault them for read. */
static int on_run(void *ctx, uint64_t start, uint64_t end, uint32_t state)
{
	struct watch *w = ctx;
	int ret;

	if (!(state & HMM_MIRROR_PAGE_VALID) || (state & HMM_MIRROR_PAGE_ERROR))
		return 0;
	ret = fault_range(w, start, end, 0);
	/* The process changed the range meanwhile: not an error. */
	if (ret == -EFAULT || ret == -EPERM) {
		w->failed_ranges++;
		return 0;
	}
	return ret;
}

static int mirror_present(struct watch *w, int pid)
{
	struct mapping_list maps;
	int ret = read_mappings(pid, &maps);

	if (ret)
		return fail_errno(EXIT_FAILED, ret,
				  "cannot read /proc/%d/maps: %s", pid,
				  hmm_mirror_strerror(ret));
	for (size_t i = 0; i < maps.n && !ret; i++) {
		const struct mapping *map = &maps.v[i];

		if (map->end > USER_LIMIT || !strncmp(map->perms, "---", 3) ||
		    mapping_has_flag(map, "io") || mapping_has_flag(map, "pf"))
			continue;
		ret = snapshot_runs(w->m, map->start, map->end - map->start,
				    on_run, w);
	}
	free_mappings(&maps);
	return ret ? lib_fail(ret) : EXIT_OK;
}

static int mirror_mapping_at(struct watch *w, int pid, uint64_t addr,
			     uint32_t flags)
{
	struct mapping_list maps;
	const struct mapping *map;
	int ret = read_mappings(pid, &maps);

	if (ret)
		return fail_errno(EXIT_FAILED, ret,
				  "cannot read /proc/%d/maps: %s", pid,
				  hmm_mirror_strerror(ret));
	map = mapping_find(&maps, addr);
	if (!map) {
		free_mappings(&maps);
		return fail(EXIT_FAILED, "no mapping of pid %d contains 0x%" PRIx64,
			    pid, addr);
	}
	ret = fault_range(w, map->start, map->end, flags);
	free_mappings(&maps);
	return ret ? lib_fail(ret) : EXIT_OK;
}

/*
 * One event, stamped with @now, the time it was read (records carry no
 * time of their own).  The size shown is that of the pages the device lost,
 * not of the range: a RELEASE range spans the whole address space.
 */
/* The ABI's __u64 fields are unsigned long long: %llu. */
void print_event(const struct hmm_mirror_event *r, uint64_t page,
		 const struct timespec *now, struct json *j)
{
	const char *name = hmm_mirror_event_reason_name(r->reason);
	char size[SIZE_STR_MAX], unknown[24], when[TIME_STR_MAX];

	if (!name) {
		snprintf(unknown, sizeof(unknown), "reason%u", r->reason);
		name = unknown;
	}
	if (j) {
		json_object_begin(j, NULL);
		json_string(j, "time", iso_time(now, when));
		json_u64(j, "seq", r->seq);
		json_string(j, "reason", name);
		if (r->reason == HMM_MIRROR_EVENT_LOST) {
			json_u64(j, "lost", r->pages);
		} else {
			json_hex(j, "start", r->start);
			json_hex(j, "end", r->end);
			json_u64(j, "bytes", r->end - r->start);
			json_u64(j, "pages", r->pages);
			json_u64(j, "bytes_removed", r->pages * page);
		}
		json_object_end(j);
		json_finish(j);
		return;
	}
	clock_time(now, when);
	if (r->reason == HMM_MIRROR_EVENT_LOST)
		printf("%s seq %-8llu LOST        %llu"
		       " %s: the queue was full (raise --queue)\n", when,
		       r->seq, r->pages,
		       plural(r->pages, "event lost", "events lost"));
	else
		printf("%s seq %-8llu %-11s 0x%012llx-0x%012llx  %10s  %llu %s\n",
		       when, r->seq, name, r->start,
		       r->end, human_size(r->pages * page, size), r->pages,
		       plural(r->pages, "page", "pages"));
	fflush(stdout);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum stop { STOP_NONE, STOP_SIGNAL, STOP_EXIT, STOP_COUNT, STOP_TIMEOUT };

/* Drain the queue; STOP_EXIT at its end, or a negative errno. */
static int drain(struct watch *w, uint64_t count)
{
	struct hmm_mirror_event rec;
	struct timespec now;
	int ret;

	for (;;) {
		if (count && w->records >= count)
			return STOP_COUNT;
		hmm_mirror_event_record_init(&rec);
		ret = hmm_mirror_event_next(w->m, &rec, 0);
		if (ret == -EAGAIN)
			return STOP_NONE;
		if (ret == -ESRCH)
			return STOP_EXIT;
		if (ret)
			return ret;
		w->records++;
		clock_gettime(CLOCK_REALTIME, &now);
		print_event(&rec, w->page, &now, w->json ? &w->j : NULL);
	}
}

/* The poll loop: the mirror fd and a signalfd for SIGINT/SIGTERM/SIGHUP. */
static int event_loop(struct watch *w, int sfd, uint64_t count, int64_t deadline)
{
	for (;;) {
		struct pollfd fds[2] = {
			{ .fd = hmm_mirror_fd(w->m), .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		int timeout = -1, n, ret;

		ret = drain(w, count);
		if (ret)
			return ret;
		if (deadline) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return STOP_TIMEOUT;
			timeout = (int)left;
		}
		n = poll(fds, 2, timeout);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0 && fds[1].revents)
			return STOP_SIGNAL;
	}
}

int cmd_watch(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "write", no_argument, NULL, 'w' },
		{ "reasons", required_argument, NULL, 'r' },
		{ "queue", required_argument, NULL, 'q' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "stats", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t reasons = HMM_MIRROR_EVENT_ALL_REASONS, flags = 0;
	uint64_t queue = 0, count = 0, addr = 0, len = 0;
	int64_t timeout_ms = 0;
	bool stats = false, have_addr = false, have_len = false;
	struct watch w;
	int pid = 0, c, ret, sfd;
	int64_t deadline = 0;
	char size[SIZE_STR_MAX];
	sigset_t sigs;
	const char *why;

	memset(&w, 0, sizeof(w));
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:wr:q:n:t:sjh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!parse_pid(optarg, &pid))
				return usage_error("bad pid '%s'", optarg);
			break;
		case 'w':
			flags = HMM_MIRROR_FAULT_WRITE;
			break;
		case 'r':
			if (!parse_reasons(optarg, &reasons))
				return usage_error("bad reason list '%s'", optarg);
			break;
		case 'q':
			if (!parse_u64(optarg, &queue) || !queue || queue > HMM_MIRROR_EVENTS_MAX_LEN)
				return usage_error("bad queue length '%s' (1 to %d)", optarg,
						   HMM_MIRROR_EVENTS_MAX_LEN);
			break;
		case 'n':
			if (!parse_u64(optarg, &count) || !count)
				return usage_error("bad count '%s'", optarg);
			break;
		case 't':
			if (!parse_seconds(optarg, 86400 * 365, &timeout_ms))
				return usage_error("bad timeout '%s' (seconds, more than 0 and at most a year; a fraction too: 0.5)",
						   optarg);
			break;
		case 's':
			stats = true;
			break;
		case 'j':
			w.json = true;
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
	if (argc - optind > 2)
		return usage_error("expected at most ADDR LEN");
	if (argc - optind >= 1) {
		have_addr = true;
		if (!parse_u64(argv[optind], &addr))
			return usage_error("bad address '%s'", argv[optind]);
	}
	if (argc - optind == 2) {
		have_len = true;
		if (!parse_size(argv[optind + 1], &len))
			return usage_error("bad length '%s': want %s",
					   argv[optind + 1], SIZE_SYNTAX);
	}
	if (flags && !have_addr)
		return usage_error("--write needs ADDR");

	ret = open_mirror(pid, HMM_MIRROR_FEAT_FAULT | HMM_MIRROR_FEAT_SNAPSHOT |
			  HMM_MIRROR_FEAT_EVENTS, &w.m);
	if (ret)
		return ret;
	w.page = hmm_mirror_page_size(w.m);
	if (have_len && !page_range(&addr, &len, w.page)) {
		hmm_mirror_close(w.m);
		return EXIT_USAGE;
	}
	/* Events first, so nothing that happens while faulting is missed. */
	ret = hmm_mirror_events_config(w.m, reasons, (uint32_t)queue);
	if (ret) {
		ret = lib_fail(ret);
		goto out;
	}
	if (have_len) {
		ret = fault_range(&w, addr, addr + len, flags);
		ret = ret ? lib_fail(ret) : EXIT_OK;
	} else if (have_addr) {
		ret = mirror_mapping_at(&w, pid, addr, flags);
	} else {
		ret = mirror_present(&w, pid);
	}
	if (ret)
		goto out;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		ret = fail(EXIT_FAILED, "signalfd: %s", hmm_mirror_strerror(errno));
		goto out;
	}
	if (timeout_ms)
		deadline = now_ms() + timeout_ms;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (w.json)
		json_init(&w.j, stdout, false);
	fprintf(stderr, "%s: pid %d: the device maps %" PRIu64 " %s (%s) in %"
		PRIu64 " %s%s; watching (Ctrl-C to stop)\n", prog, pid,
		w.pages_mapped, plural(w.pages_mapped, "page", "pages"),
		human_size(w.pages_mapped * w.page, size), w.ranges,
		plural(w.ranges, "range", "ranges"),
		w.failed_ranges ? ", some ranges changed while being mapped" : "");

	ret = event_loop(&w, sfd, count, deadline);
	close(sfd);
	switch (ret) {
	case STOP_EXIT:
		why = "the process exited";
		break;
	case STOP_SIGNAL:
		why = "interrupted";
		break;
	case STOP_COUNT:
		why = "count reached";
		break;
	case STOP_TIMEOUT:
		why = "timeout";
		break;
	default:
		ret = lib_fail(ret);
		goto out;
	}
	fprintf(stderr, "%s: %s after %" PRIu64 " %s\n", prog, why, w.records,
		plural(w.records, "event", "events"));
	ret = EXIT_OK;
	if (stats) {
		struct hmm_mirror_stats cs;
		int err;

		hmm_mirror_counters_init(&cs);
		err = hmm_mirror_stats(w.m, &cs);
		if (err) {
			ret = lib_fail(err);
		} else if (w.json) {
			json_object_begin(&w.j, NULL);
			counters_json(&w.j, "stats", &cs);
			json_object_end(&w.j);
			json_finish(&w.j);
		} else {
			printf("counters of this mirror:\n");
			counters_text(&cs);
		}
	}
out:
	fflush(stdout);
	hmm_mirror_close(w.m);
	return ret;
}
