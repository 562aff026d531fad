// SPDX-License-Identifier: MIT
/*
 * counters.c - STATS counters as text or JSON.
 */
#include <inttypes.h>
#include <stdio.h>

#include "counters.h"
#include "format.h"

void counters_text(const struct hmm_mirror_counters *c)
{
	char size[SIZE_STR_MAX];
	uint64_t inval = 0;
	const char *sep = "";

	for (int r = 0; r < HMM_MIRROR_EVENT_NR_REASONS; r++)
		inval += c->invalidations[r];
	if (c->global)
		printf("  open mirrors            %" PRIu64 " (this command's own included)\n",
		       c->mirrors);
	printf("  device faults           %" PRIu64 "\n", c->device_faults);
	printf("  fault calls             %" PRIu64 "\n", c->fault_calls);
	printf("  pages faulted           %" PRIu64 "\n", c->pages_faulted);
	printf("  fault retries           %" PRIu64 "\n", c->fault_retries);
	printf("  invalidations           %" PRIu64, inval);
	if (inval) {
		printf(" (");
		for (int r = 0; r < HMM_MIRROR_EVENT_NR_REASONS; r++) {
			if (!c->invalidations[r])
				continue;
			printf("%s%s %" PRIu64, sep,
			       hmm_mirror_event_reason_name((uint32_t)r),
			       c->invalidations[r]);
			sep = ", ";
		}
		printf(")");
	}
	printf("\n");
	printf("  pages invalidated       %" PRIu64 "\n", c->pages_invalidated);
	printf("  events delivered        %" PRIu64 "\n", c->events_delivered);
	printf("  events lost             %" PRIu64 "\n", c->events_lost);
	printf("  interval notifiers      %" PRIu64 "\n", c->notifiers);
	printf("  device page-table pages %" PRIu64 " (%s)\n", c->dpt_tables,
	       human_size(c->dpt_tables * 4096, size));
	printf("  device-mapped pages     %" PRIu64 " (%s)\n", c->dpt_pages,
	       human_size(c->dpt_pages * 4096, size));
}

void counters_json(struct json *j, const char *key,
		   const struct hmm_mirror_counters *c)
{
	json_object_begin(j, key);
	json_bool(j, "global", c->global);
	json_u64(j, "device_faults", c->device_faults);
	json_u64(j, "fault_calls", c->fault_calls);
	json_u64(j, "pages_faulted", c->pages_faulted);
	json_u64(j, "fault_retries", c->fault_retries);
	json_object_begin(j, "invalidations");
	for (int r = 0; r < HMM_MIRROR_EVENT_NR_REASONS; r++)
		json_u64(j, hmm_mirror_event_reason_name((uint32_t)r),
			 c->invalidations[r]);
	json_object_end(j);
	json_u64(j, "pages_invalidated", c->pages_invalidated);
	json_u64(j, "events_delivered", c->events_delivered);
	json_u64(j, "events_lost", c->events_lost);
	json_u64(j, "notifiers", c->notifiers);
	json_u64(j, "dpt_tables", c->dpt_tables);
	json_u64(j, "dpt_pages", c->dpt_pages);
	json_u64(j, "mirrors", c->mirrors);
	json_object_end(j);
}
