// SPDX-License-Identifier: GPL-2.0
/*
 * stats.c - medians, the timed results and the untimed figures of a run.
 * The harness writes both to the JSON; the cases print them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double median(const double *v, unsigned int n)
{
	double s[MAX_REPS];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

struct result *results;
unsigned int nr_results;
static unsigned int cap_results;

struct result *record(const char *name, const char *mode, const char *impl,
		      unsigned long bytes, const double *ns, unsigned int n)
{
	struct result *r;

	if (nr_results == cap_results) {
		cap_results = cap_results ? 2 * cap_results : 256;
		results = realloc(results, cap_results * sizeof(*results));
		if (!results)
			die("realloc");
	}
	r = &results[nr_results++];
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->mode, sizeof(r->mode), "%s", mode);
	snprintf(r->impl, sizeof(r->impl), "%s", impl);
	r->bytes = bytes;
	r->n = n;
	memcpy(r->ns, ns, n * sizeof(*ns));
	r->med = median(ns, n);
	r->min = ns[0];
	for (unsigned int i = 1; i < n; i++)
		r->min = ns[i] < r->min ? ns[i] : r->min;
	return r;
}

void stepped_add(struct stepped *s, unsigned int step, double ns)
{
	s->ns[step % 2][s->n[step % 2]++] = ns;
}

/*
 * Record times taken on even and odd steps: the figure is the mean of the
 * two medians.  Where the times alternate between a faster and a slower
 * step (cases/munmap.c), that moves much less than the median of all of
 * them, which lands between the two modes.
 */
const struct result *record_stepped(const char *name, const char *mode,
				    const char *impl, unsigned long bytes,
				    const struct stepped *s)
{
	double all[MAX_REPS];
	struct result *r;

	memcpy(all, s->ns[0], s->n[0] * sizeof(all[0]));
	memcpy(all + s->n[0], s->ns[1], s->n[1] * sizeof(all[0]));
	r = record(name, mode, impl, bytes, all, s->n[0] + s->n[1]);
	r->stepped = true;
	r->even_n = s->n[0];
	r->step_med[0] = median(s->ns[0], s->n[0]);
	r->step_med[1] = median(s->ns[1], s->n[1]);
	r->med = (r->step_med[0] + r->step_med[1]) / 2;
	return r;
}

const struct result *find(const char *name, const char *mode,
			  const char *impl, unsigned long bytes)
{
	for (unsigned int i = 0; i < nr_results; i++)
		if (!strcmp(results[i].name, name) &&
		    !strcmp(results[i].mode, mode) &&
		    !strcmp(results[i].impl, impl) && results[i].bytes == bytes)
			return &results[i];
	return NULL;
}

struct figure figures[512];
unsigned int nr_figures;

void figure(bool valid, double value, const char *fmt, ...)
{
	struct figure *f;
	va_list ap;

	if (nr_figures == ARRAY_SIZE(figures))
		die("too many figures");
	f = &figures[nr_figures++];
	va_start(ap, fmt);
	vsnprintf(f->key, sizeof(f->key), fmt, ap);
	va_end(ap);
	f->value = value;
	f->valid = valid;
}

const struct figure *get_figure(const char *key)
{
	for (unsigned int i = 0; i < nr_figures; i++)
		if (!strcmp(figures[i].key, key))
			return &figures[i];
	return NULL;
}

struct note notes[16];
unsigned int nr_notes;

void note(const char *case_name, const char *fmt, ...)
{
	struct note *n = NULL;
	size_t len;
	va_list ap;

	for (unsigned int i = 0; i < nr_notes && !n; i++)
		if (!strcmp(notes[i].case_name, case_name))
			n = &notes[i];
	if (!n) {
		if (nr_notes == ARRAY_SIZE(notes))
			die("too many notes");
		n = &notes[nr_notes++];
		snprintf(n->case_name, sizeof(n->case_name), "%s", case_name);
		n->text[0] = 0;
	}
	len = strlen(n->text);
	if (len && len + 2 < sizeof(n->text)) {
		strcpy(n->text + len, "; ");
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(n->text + len, sizeof(n->text) - len, fmt, ap);
	va_end(ap);
	/* the JSON writes it as it is: no quotes, backslashes, controls */
	for (char *c = n->text; *c; c++)
		if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20)
			*c = '\'';
	progress("%s: %s", case_name, n->text + len);
}

const char *get_note(const char *case_name)
{
	for (unsigned int i = 0; i < nr_notes; i++)
		if (!strcmp(notes[i].case_name, case_name))
			return notes[i].text;
	return NULL;
}
