/* SPDX-License-Identifier: MIT */
/*
 * commands.h - the hmm-mirror subcommands.  Each takes its own argv
 * (argv[0] is the subcommand name) and returns the exit status.
 */
#ifndef HMM_CLI_COMMANDS_H
#define HMM_CLI_COMMANDS_H

#include <stdint.h>

int cmd_info(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_maps(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_stats(int argc, char **argv);

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
