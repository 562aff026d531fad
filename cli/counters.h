/* SPDX-License-Identifier: MIT */
/*
 * counters.h - printing STATS counters (stats, watch --stats).
 */
#ifndef HMM_CLI_COUNTERS_H
#define HMM_CLI_COUNTERS_H

#include "hmm_mirror/libhmm_mirror.h"
#include "json.h"

void counters_text(const struct hmm_mirror_stats *c);
/* The counters as a JSON object member @key (NULL in an array). */
void counters_json(struct json *j, const char *key,
		   const struct hmm_mirror_stats *c);

#endif /* HMM_CLI_COUNTERS_H */
