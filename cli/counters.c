// SPDX-License-Identifier: MIT
/*
 * counters.c - STATS counters as text or JSON, every counter the library's
 * table describes (hmm_mirror_counter_*()), in its order.
 */
#include <inttypes.h>
#include <stdio.h>

#include "counters.h"

static uint64_t counter_total(const struct hmm_mirror_stats *c, unsigned int i)
{
	uint64_t sum = 0;

	for (unsigned int k = 0; k < hmm_mirror_counter_len(i); k++)
		sum += hmm_mirror_counter_value(c, i, k);
	return sum;
}

void counters_text(const struct hmm_mirror_stats *c)
{
	for (unsigned int i = 0; i < hmm_mirror_counter_count(); i++) {
		const char *sep = ": ";

		printf("  %-18s %12" PRIu64 "  %s", hmm_mirror_counter_name(i),
		       counter_total(c, i), hmm_mirror_counter_meaning(i));
		for (unsigned int k = 0; hmm_mirror_counter_len(i) > 1 &&
		     k < hmm_mirror_counter_len(i); k++) {
			uint64_t v = hmm_mirror_counter_value(c, i, k);

			if (!v)
				continue;
			printf("%s%s %" PRIu64, sep,
			       hmm_mirror_counter_element_name(i, k), v);
			sep = ", ";
		}
		printf("\n");
	}
}

void counters_json(struct json *j, const char *key,
		   const struct hmm_mirror_stats *c)
{
	json_object_begin(j, key);
	json_bool(j, "global", c->flags & HMM_MIRROR_STATS_GLOBAL);
	for (unsigned int i = 0; i < hmm_mirror_counter_count(); i++) {
		const char *name = hmm_mirror_counter_name(i);

		if (hmm_mirror_counter_len(i) == 1) {
			json_u64(j, name, hmm_mirror_counter_value(c, i, 0));
			continue;
		}
		json_object_begin(j, name);
		for (unsigned int k = 0; k < hmm_mirror_counter_len(i); k++)
			json_u64(j, hmm_mirror_counter_element_name(i, k),
				 hmm_mirror_counter_value(c, i, k));
		json_object_end(j);
	}
	json_object_end(j);
}
