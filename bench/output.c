// SPDX-License-Identifier: GPL-2.0
/*
 * output.c - the text report: to stdout and to --txt.  Each case prints
 * its own section (struct bench_case.report); the targets are not judged
 * here but by bench/report.py, from bench/targets.json and the JSON.
 */
#include <stdarg.h>
#include <stdio.h>

#include "bench.h"

static FILE *txt;

void output_open(const char *txt_path)
{
	if (!txt_path)
		return;
	txt = fopen(txt_path, "w");
	if (!txt)
		die("open %s", txt_path);
}

void output_close(void)
{
	if (txt)
		fclose(txt);
	txt = NULL;
}

void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (txt) {
		va_start(ap, fmt);
		vfprintf(txt, fmt, ap);
		va_end(ap);
	}
}

/*
 * hmm_mirror, dmirror and @ref at every size of the run.  Throughput cases
 * (@throughput): GB/s and speed ratios (the other's time over hmm_mirror's);
 * time cases: ms and cost ratios (hmm_mirror's time over the other's).
 */
void print_case(const char *name, const char *mode, const char *ref,
		bool throughput)
{
	unsigned int i;

	if (!find(name, mode, "hmm_mirror", sizes[nr_sizes - 1]))
		return;
	out("\n%s (%s pages)%s\n", name, mode,
	    throughput ? ", GB/s (speed ratio: higher is better for hmm_mirror)" :
			 ", ms (cost ratio: lower is better for hmm_mirror)");
	out("  %6s %11s %11s %11s %11s %11s\n", "size", "hmm_mirror", "dmirror",
	    ref, "hm/dmirror", "hm/ref");
	for (i = 0; i < nr_sizes; i++) {
		const struct result *h = find(name, mode, "hmm_mirror", sizes[i]);
		const struct result *d = find(name, mode, "dmirror", sizes[i]);
		const struct result *c = find(name, mode, ref, sizes[i]);
		char sz[16];

		if (!h || !d || !c)
			continue;
		size_str(sz, sizeof(sz), sizes[i]);
		if (throughput)
			out("  %6s %11.3f %11.3f %11.3f %10.2fx %10.2fx\n", sz,
			    h->bytes / h->med, d->bytes / d->med,
			    c->bytes / c->med, d->med / h->med, c->med / h->med);
		else
			out("  %6s %11.3f %11.3f %11.3f %10.3fx %10.3fx\n", sz,
			    h->med / 1e6, d->med / 1e6, c->med / 1e6,
			    h->med / d->med, h->med / c->med);
	}
}
