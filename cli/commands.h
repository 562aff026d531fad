/* SPDX-License-Identifier: MIT */
/*
 * commands.h - the hmm-mirror subcommands.  Each takes its own argv
 * (argv[0] is the subcommand name) and returns the exit status.
 */
#ifndef HMM_CLI_COMMANDS_H
#define HMM_CLI_COMMANDS_H

#include <stdbool.h>
#include <stdint.h>

int cmd_info(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_maps(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_migrate(int argc, char **argv);

struct hmm_mirror;

/* cmd_migrate.c: the command line of `migrate`. */
struct migrate_args {
	int pid;
	bool to_system;
	bool evict;		/* --evict: HMM_MIRROR_MIGRATE_EVICT (ABI 5) */
	bool json;
	bool have_length;	/* else: to the end of the mapping */
	uint64_t addr, length;
};

/*
 * Parse the arguments of `migrate` (argv[0] is "migrate").  Returns 0, -1
 * after printing --help, or the exit code of a usage error (printed).
 */
int migrate_parse(int argc, char **argv, struct migrate_args *a);

/* Per-page results are HMM_MIRROR_MIGRATE_* (1..4); 0 counts unknown ones. */
#define MIGRATE_RESULTS 5
struct migrate_tally {
	uint64_t pages;
	uint64_t counts[MIGRATE_RESULTS];	/* by result */
	uint64_t pages_moved, pages_not_moved;	/* the module's counts */
};

/* One run of pages [start, end) with one result; non-zero stops. */
typedef int (*migrate_run_fn)(void *ctx, uint64_t start, uint64_t end,
			      uint32_t result);

/*
 * MIGRATE [addr, addr + len) (page aligned) with @flags in pieces, calling
 * @on_run (if not NULL) for each run of pages with one result in address
 * order, and counting into @t.  Returns 0, a negative errno of the library,
 * or what @on_run returned.
 */
int migrate_range(struct hmm_mirror *m, uint64_t addr, uint64_t len,
		  uint32_t flags, migrate_run_fn on_run, void *ctx,
		  struct migrate_tally *t);

/* "moved", "already", "not_movable", "no_memory"; "unknown" for others. */
const char *migrate_result_label(uint32_t result);

struct hmm_mirror_event;
struct json;
struct timespec;

/*
 * cmd_watch.c: one event record as a text line on stdout, or as a JSON
 * Lines record into @j when it is not NULL; @now is when it was read,
 * @page the page size (the size shown is @page times the pages removed).
 */
void print_event(const struct hmm_mirror_event *r, uint64_t page,
		 const struct timespec *now, struct json *j);

#endif /* HMM_CLI_COMMANDS_H */
