// SPDX-License-Identifier: MIT
/*
 * main.c - hmm-mirror: look at a process's memory the way a device
 * mirroring it with HMM sees it.  Dispatches to the subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "common.h"

#ifndef HMM_MIRROR_VERSION
#define HMM_MIRROR_VERSION "unknown"
#endif

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "info", cmd_info, "module, ABI, features and what the kernel supports" },
	{ "snapshot", cmd_snapshot, "page states of a range of a process, as runs" },
	{ "maps", cmd_maps, "a process's mappings, annotated with what a device sees" },
	{ "watch", cmd_watch, "mirror a process and stream invalidation events" },
	{ "stats", cmd_stats, "module-wide counters" },
	{ "migrate", cmd_migrate, "move a range of a process into device memory, or back" },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hmm-mirror [--help] [--version] COMMAND [ARGS]\n"
		"\n"
		"Look at a process's memory the way a device mirroring it through\n"
		"the kernel's HMM sees it, using /dev/hmm_mirror (hmm_mirror.ko).\n"
		"\n"
		"commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\n"
		"'hmm-mirror COMMAND --help' describes a command.  Commands that\n"
		"print data take --json.\n"
		"\n" EXIT_CODES_HELP);
}

int main(int argc, char **argv)
{
	static char name[64];
	const char *cmd;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		if (argc > 2 && strcmp(cmd, "help") == 0) {
			/* "hmm-mirror help CMD" is "hmm-mirror CMD --help". */
			char *args[] = { argv[2], (char *)"--help", NULL };

			for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
				if (!strcmp(argv[2], commands[i].name)) {
					snprintf(name, sizeof(name), "hmm-mirror %s",
						 commands[i].name);
					prog = name;
					return commands[i].run(2, args);
				}
			return usage_error("unknown command '%s'", argv[2]);
		}
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("hmm-mirror %s (libhmm_mirror %s, ABI version %d)\n",
		       HMM_MIRROR_VERSION, hmm_mirror_lib_version(),
		       HMM_MIRROR_ABI_VERSION);
		return EXIT_OK;
	}
	/*
	 * Known before the command parses its options, so that a usage error
	 * is a JSON error too (options may follow the arguments; "--" ends
	 * them).
	 */
	for (int i = 2; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--json"))
			json_output = true;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(cmd, commands[i].name))
			continue;
		snprintf(name, sizeof(name), "hmm-mirror %s", commands[i].name);
		prog = name;
		return commands[i].run(argc - 1, argv + 1);
	}
	return usage_error("unknown command '%s'", cmd);
}
