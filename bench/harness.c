// SPDX-License-Identifier: GPL-2.0
/*
 * hmm_bench - hmm_mirror.ko against the kernel's own test_hmm (dmirror) and
 * against the CPU doing the same work, on the same memory, in one process.
 * Runs inside the VM (bench/run-bench.sh).
 *
 * This file is the harness: the table of cases (one file each in cases/),
 * the options, the order the cases run in, and the JSON of the results.
 * Every timed figure is the median of several runs.  Progress goes to
 * stderr, each case's tables to stdout (and --txt), the results to --json.
 * The targets are judged from the JSON by bench/report.py, against
 * bench/targets.json.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

/*
 * The cases, in the order they run (for each page mode: every size of the
 * CASE_SIZES cases, then the CASE_DPT_SIZES ones, then the
 * CASE_MIGRATE_SIZES ones; then the others) and the
 * order of their sections in the text report.
 */
static const struct bench_case *const cases[] = {
	&case_rw, &case_snapshot, &case_munmap, &case_dpt, &case_migrate,
	&case_latency, &case_faultback, &case_scaling,
};

struct bench_opt opt = {
	.min_mb = 1, .max_mb = 256, .scale_mb = 256, .dpt_max_mb = 1024,
	.migrate_max_mb = 1024,
	.reps = 5, .lat_iters = 1000, .mode_4k = true, .mode_thp = true,
};

unsigned long sizes[16], dpt_sizes[16], migrate_sizes[16];
unsigned int nr_sizes, nr_dpt_sizes, nr_migrate_sizes;
const char *const page_modes[2] = { "4k", "thp" };

static uint64_t t_start;

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void die(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "hmm_bench: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (%s)\n", strerror(err));
	exit(1);
}

void progress(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "[%7.1fs] ", (now_ns() - t_start) / 1e9);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *mode_name(bool thp)
{
	return thp ? "thp" : "4k";
}

void size_str(char *b, size_t n, unsigned long bytes)
{
	if (bytes >= GiB && !(bytes % GiB))
		snprintf(b, n, "%luG", bytes / GiB);
	else
		snprintf(b, n, "%luM", bytes / MiB);
}

unsigned int reps_for(unsigned long size)
{
	unsigned long r = opt.reps * (64 * MiB / size);

	if (r < opt.reps)
		r = opt.reps;
	if (r > 4UL * opt.reps)
		r = 4UL * opt.reps;
	return r > MAX_REPS ? MAX_REPS : r;
}

/* min, 4*min, 16*min, ... up to max, and max itself: the count. */
static unsigned int size_list(unsigned long *list, unsigned long min_mb,
			      unsigned long max_mb)
{
	unsigned int n = 0;
	unsigned long mb;

	for (mb = min_mb; mb <= max_mb && n < 15; mb *= 4)
		list[n++] = mb * MiB;
	if (!n || list[n - 1] != max_mb * MiB)
		list[n++] = max_mb * MiB;
	return n;
}

/* ---- JSON --------------------------------------------------------------- */

/*
 * hmm_mirror.ko's parameters as the run had them ("snapshot_split": "Y",
 * ...): a run with an optimisation switched off (BENCH_MODULE_ARGS) says so.
 */
static void json_module_params(FILE *f)
{
	static const char dir[] = "/sys/module/hmm_mirror/parameters";
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);

	fprintf(f, "\"module_params\": {");
	for (int i = 0, shown = 0; i < n; i++) {
		char path[512], value[64] = "";
		FILE *p;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		p = names[i]->d_name[0] != '.' ? fopen(path, "r") : NULL;
		if (p && fgets(value, sizeof(value), p)) {
			value[strcspn(value, "\n")] = 0;
			for (char *c = value; *c; c++)
				if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20)
					*c = '?';
			fprintf(f, "%s\"%s\": \"%s\"", shown++ ? ", " : "",
				names[i]->d_name, value);
		}
		if (p)
			fclose(p);
		free(names[i]);
	}
	if (n >= 0)
		free(names);
	fprintf(f, "}");
}

static void json_str(FILE *f, const char *k, const char *v, bool comma)
{
	fprintf(f, "\"%s\": \"%s\"%s", k, v, comma ? ", " : "");
}

/*
 * machine: where it ran; config: what was asked for, and the module's
 * parameters; results: every timed figure with its runs; figures: the
 * untimed ones (null: not measurable); notes: why a case was skipped or
 * stopped short of the sizes asked for.
 */
static void write_json(const char *path, double elapsed, const char *date,
		       const char *modes, const char *case_list)
{
	FILE *f = fopen(path, "w");
	struct utsname u;
	unsigned int i, j;
	char line[256];
	FILE *mi;
	unsigned long memkb = 0;

	if (!f)
		die("open %s", path);
	uname(&u);
	mi = fopen("/proc/meminfo", "r");
	while (mi && fgets(line, sizeof(line), mi))
		if (sscanf(line, "MemTotal: %lu kB", &memkb) == 1)
			break;
	if (mi)
		fclose(mi);
	fprintf(f, "{\n  \"machine\": {");
	json_str(f, "kernel", u.release, true);
	json_str(f, "date", date, true);
	fprintf(f, "\"cpus\": %ld, \"mem_total_kb\": %lu, \"reps\": %u, \"elapsed_s\": %.1f},\n",
		sysconf(_SC_NPROCESSORS_ONLN), memkb, opt.reps, elapsed);
	fprintf(f, "  \"config\": {\"min_mb\": %lu, \"max_mb\": %lu, \"dpt_max_mb\": %lu, "
		"\"migrate_max_mb\": %lu, \"scale_mb\": %lu, \"lat_iters\": %u, ",
		opt.min_mb, opt.max_mb, opt.dpt_max_mb, opt.migrate_max_mb,
		opt.scale_mb, opt.lat_iters);
	json_str(f, "modes", modes, true);
	json_str(f, "cases", case_list, true);
	json_module_params(f);
	fprintf(f, "},\n  \"results\": [\n");
	for (i = 0; i < nr_results; i++) {
		const struct result *r = &results[i];

		fprintf(f, "    {");
		json_str(f, "case", r->name, true);
		json_str(f, "mode", r->mode, true);
		json_str(f, "impl", r->impl, true);
		fprintf(f, "\"bytes\": %lu, \"median_ns\": %.0f, \"min_ns\": %.0f, ",
			r->bytes, r->med, r->min);
		if (r->stepped)
			fprintf(f, "\"even_step_median_ns\": %.0f, \"odd_step_median_ns\": %.0f, \"even_runs\": %u, ",
				r->step_med[0], r->step_med[1], r->even_n);
		fprintf(f, "\"runs_ns\": [");
		for (j = 0; j < r->n; j++)
			fprintf(f, "%s%.0f", j ? ", " : "", r->ns[j]);
		fprintf(f, "]}%s\n", i + 1 < nr_results ? "," : "");
	}
	fprintf(f, "  ],\n  \"figures\": {\n");
	for (i = 0; i < nr_figures; i++) {
		if (figures[i].valid)
			fprintf(f, "    \"%s\": %.6g", figures[i].key, figures[i].value);
		else
			fprintf(f, "    \"%s\": null", figures[i].key);
		fprintf(f, "%s\n", i + 1 < nr_figures ? "," : "");
	}
	fprintf(f, "  },\n  \"notes\": {");
	for (i = 0; i < nr_notes; i++)
		fprintf(f, "%s\n    \"%s\": \"%s\"", i ? "," : "",
			notes[i].case_name, notes[i].text);
	fprintf(f, "%s}\n}\n", nr_notes ? "\n  " : "");
	if (fclose(f))
		die("write %s", path);
}

/* ---- main --------------------------------------------------------------- */

static unsigned long env_ul(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : def;
}

static void list_cases(FILE *f)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++)
		fprintf(f, "  %-9s %s\n", cases[i]->name, cases[i]->description);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: hmm_bench [--json FILE] [--txt FILE] | --list\n"
		"environment: BENCH_MAX_MB (256) BENCH_MIN_MB (1) BENCH_REPS (5)\n"
		"  BENCH_MODES (\"4k thp\") BENCH_LAT_ITERS (1000) BENCH_SCALE_MB (256)\n"
		"  BENCH_DPT_MAX_MB (1024) BENCH_MIGRATE_MAX_MB (1024)\n"
		"  BENCH_CASES (all of them):\n");
	list_cases(stderr);
	exit(2);
}

/* Is @word one of the space-separated words of @list? */
static bool in_list(const char *list, const char *word)
{
	const char *p = list;
	size_t n = strlen(word);

	while ((p = strstr(p, word))) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

/* Every word of @list names a case (or, with @modes, a page mode). */
static bool known_words(const char *list, bool modes)
{
	char buf[256], *w, *save;

	snprintf(buf, sizeof(buf), "%s", list);
	for (w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		bool ok = false;

		for (unsigned int i = 0; i < ARRAY_SIZE(cases) && !modes; i++)
			ok |= !strcmp(w, cases[i]->name);
		for (unsigned int m = 0; m < 2 && modes; m++)
			ok |= !strcmp(w, page_modes[m]);
		if (!ok) {
			fprintf(stderr, "hmm_bench: unknown %s '%s'\n",
				modes ? "page mode" : "case", w);
			return false;
		}
	}
	return true;
}

static bool wanted[ARRAY_SIZE(cases)];

static void run_cases(enum case_when when, const struct case_ctx *ctx)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++)
		if (wanted[i] && cases[i]->when == when)
			cases[i]->run(ctx);
}

static bool any_case(enum case_when when)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++)
		if (wanted[i] && cases[i]->when == when)
			return true;
	return false;
}

/* The context of a case's run at @size (0: a case that runs once). */
static struct case_ctx ctx_at(unsigned long size, bool thp)
{
	struct case_ctx c = {
		.size = size, .thp = thp, .mode = mode_name(thp),
		.reps = size ? reps_for(size) : opt.reps,
	};

	if (size)
		size_str(c.sz, sizeof(c.sz), size);
	return c;
}

int main(int argc, char **argv)
{
	char all[128] = "", date[32];
	const char *modes, *case_list;
	struct case_ctx ctx;
	unsigned int i, m;
	time_t now = time(NULL);
	int c;

	t_start = now_ns();
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%s",
			 i ? " " : "", cases[i]->name);
	for (c = 1; c < argc; c++) {
		if (!strcmp(argv[c], "--json") && c + 1 < argc) {
			opt.json = argv[++c];
		} else if (!strcmp(argv[c], "--txt") && c + 1 < argc) {
			opt.txt = argv[++c];
		} else if (!strcmp(argv[c], "--list")) {
			list_cases(stdout);
			return 0;
		} else {
			usage();
		}
	}
	opt.max_mb = env_ul("BENCH_MAX_MB", opt.max_mb);
	opt.min_mb = env_ul("BENCH_MIN_MB", opt.min_mb);
	opt.reps = env_ul("BENCH_REPS", opt.reps);
	opt.lat_iters = env_ul("BENCH_LAT_ITERS", opt.lat_iters);
	opt.scale_mb = env_ul("BENCH_SCALE_MB", opt.scale_mb);
	opt.dpt_max_mb = env_ul("BENCH_DPT_MAX_MB", opt.dpt_max_mb);
	opt.migrate_max_mb = env_ul("BENCH_MIGRATE_MAX_MB", opt.migrate_max_mb);
	modes = getenv("BENCH_MODES") && *getenv("BENCH_MODES") ?
		getenv("BENCH_MODES") : "4k thp";
	case_list = getenv("BENCH_CASES") && *getenv("BENCH_CASES") ?
		    getenv("BENCH_CASES") : all;
	if (!known_words(modes, true) || !known_words(case_list, false))
		usage();
	opt.mode_4k = in_list(modes, "4k");
	opt.mode_thp = in_list(modes, "thp");
	if (opt.reps < 1 || opt.reps > MAX_REPS || opt.min_mb < 1 ||
	    opt.max_mb < opt.min_mb || opt.max_mb > 1024 || opt.lat_iters < 1 ||
	    opt.dpt_max_mb < opt.min_mb || opt.migrate_max_mb < opt.min_mb ||
	    opt.migrate_max_mb > 1024)
		usage();
	if (opt.scale_mb > opt.max_mb)
		opt.scale_mb = opt.max_mb;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		wanted[i] = in_list(case_list, cases[i]->name);
		if (wanted[i] && cases[i]->check && !cases[i]->check())
			wanted[i] = false;
	}
	output_open(opt.txt);
	nr_sizes = size_list(sizes, opt.min_mb, opt.max_mb);
	nr_dpt_sizes = size_list(dpt_sizes, opt.min_mb, opt.dpt_max_mb);
	nr_migrate_sizes = size_list(migrate_sizes, opt.min_mb, opt.migrate_max_mb);

	progress("hmm_bench: sizes %lu MiB .. %lu MiB, %u runs each, modes:%s%s, cases: %s",
		 opt.min_mb, opt.max_mb, opt.reps, opt.mode_4k ? " 4k" : "",
		 opt.mode_thp ? " thp" : "", case_list);
	/* single-threaded cases on one CPU, in the warmed-up state */
	set_cpus(0);
	for (m = 0; m < 2; m++) {
		bool thp = m == 1;

		if (!(thp ? opt.mode_thp : opt.mode_4k) ||
		    !(any_case(CASE_SIZES) || any_case(CASE_DPT_SIZES) ||
		      any_case(CASE_MIGRATE_SIZES)))
			continue;
		if (!getenv("BENCH_NO_WARMUP"))
			warmup();
		for (i = 0; i < nr_sizes; i++) {
			/* below 2M there is no huge page to be had */
			if (thp && sizes[i] < 2 * MiB)
				continue;
			ctx = ctx_at(sizes[i], thp);
			run_cases(CASE_SIZES, &ctx);
		}
		for (i = 0; i < nr_dpt_sizes; i++) {
			if (thp && dpt_sizes[i] < 2 * MiB)
				continue;
			ctx = ctx_at(dpt_sizes[i], thp);
			run_cases(CASE_DPT_SIZES, &ctx);
		}
		for (i = 0; i < nr_migrate_sizes; i++) {
			if (thp && migrate_sizes[i] < 2 * MiB)
				continue;
			ctx = ctx_at(migrate_sizes[i], thp);
			run_cases(CASE_MIGRATE_SIZES, &ctx);
		}
	}
	ctx = ctx_at(0, false);
	run_cases(CASE_ONCE_CPU0, &ctx);
	/* the threaded cases on every CPU, none of them left to halt */
	set_cpus(-1);
	if (any_case(CASE_ONCE_ALL)) {
		if (!getenv("BENCH_NO_SPIN"))
			spinners_start();
		run_cases(CASE_ONCE_ALL, &ctx);
		spinners_stop();
	}

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		if (wanted[i])
			cases[i]->report();
	for (i = 0; i < nr_notes; i++)
		out("\nnote, %s: %s\n", notes[i].case_name, notes[i].text);
	output_close();
	if (opt.json)
		write_json(opt.json, (now_ns() - t_start) / 1e9, date, modes,
			   case_list);
	progress("done");
	return 0;
}
