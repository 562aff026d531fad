// SPDX-License-Identifier: MIT
/*
 * cmd_stats.c - `hmm-mirror stats`: the module's counters since it was
 * loaded.
 */
#include <getopt.h>
#include <stdio.h>

#include "commands.h"
#include "common.h"
#include "counters.h"
#include "json.h"

static void help(void)
{
	printf("usage: %s [--json]\n"
	       "\n"
	       "Show the module-wide counters of hmm_mirror.ko since it was loaded:\n"
	       "device faults, fault calls and retries, pages faulted, invalidations\n"
	       "by reason, pages invalidated, events delivered and lost, and the\n"
	       "interval notifiers, device page-table pages and device-mapped pages\n"
	       "of the mirrors open now (this command's own mirror included; it maps\n"
	       "nothing), and (ABI 4) the device memory: its size in pages, the\n"
	       "pages in it now, pages moved to it and back, faulted back by a CPU\n"
	       "access, and left for lack of memory; (ABI 5) pages evicted from it\n"
	       "to make room (migrate --evict).\n"
	       "\n"
	       "There is no --pid: counters of one mirror belong to whoever holds\n"
	       "that mirror open, and a mirror this command made for a process would\n"
	       "be new and all zero.  'hmm-mirror watch --stats' prints the counters\n"
	       "of the mirror it used when it stops.\n"
	       "\n"
	       "  --json     one JSON document ({\"error\":{...}} on a failure)\n"
	       "  --help     this text\n"
	       "\n" EXIT_CODES_HELP, prog);
}

int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct hmm_mirror_stats c;
	struct hmm_mirror *m;
	bool json = false;
	int ch, ret;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":jh", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = true;
			break;
		case 'h':
			help();
			return EXIT_OK;
		default:
			return option_error(argv, ch);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);

	ret = open_mirror(0, HMM_MIRROR_FEAT_STATS, &m);
	if (ret)
		return ret;
	hmm_mirror_counters_init(&c);
	ret = hmm_mirror_stats_global(m, &c);
	if (ret) {
		ret = lib_fail(ret);
		hmm_mirror_close(m);
		return ret;
	}
	hmm_mirror_close(m);
	if (json) {
		struct json j;

		json_init(&j, stdout, true);
		counters_json(&j, NULL, &c);
		json_finish(&j);
	} else {
		printf("hmm_mirror.ko counters since it was loaded\n");
		counters_text(&c);
	}
	return EXIT_OK;
}
