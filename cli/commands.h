/* SPDX-License-Identifier: MIT */
/*
 * commands.h - the hmm-mirror subcommands.  Each takes its own argv
 * (argv[0] is the subcommand name) and returns the exit status.
 */
#ifndef HMM_CLI_COMMANDS_H
#define HMM_CLI_COMMANDS_H

int cmd_info(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_maps(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_stats(int argc, char **argv);

#endif /* HMM_CLI_COMMANDS_H */
