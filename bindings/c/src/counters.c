// SPDX-License-Identifier: MIT
/*
 * counters.c - the STATS counters described once: the name, meaning and
 * place in struct hmm_mirror_stats of each.  The tool and the bindings
 * list the counters from this table, so a counter added to the ABI struct
 * needs a row here and nowhere else in user space (the unit test
 * counters_test.cc fails on a byte of the struct no row covers).
 */
#include <stddef.h>
#include <string.h>

#include "internal.h"

struct counter {
	const char *name;
	const char *meaning;
	uint32_t offset;
	uint32_t len;		/* __u64 values: 1, or one per element */
};

#define COUNTER(field, text)						\
	{ #field, text, offsetof(struct hmm_mirror_stats, field),	\
	  sizeof(((struct hmm_mirror_stats *)0)->field) / sizeof(__u64) }

/* In the order of struct hmm_mirror_stats. */
static const struct counter counters[] = {
	COUNTER(device_faults, "device faults taken by READ and WRITE"),
	COUNTER(fault_calls,
		"FAULT commands plus device faults (hmm_range_fault runs)"),
	COUNTER(pages_faulted, "pages entered into the device page table"),
	COUNTER(fault_retries,
		"page-table walk restarts after a racing invalidation"),
	COUNTER(invalidations, "invalidation callbacks, by reason"),
	COUNTER(pages_invalidated, "device pages removed by invalidations"),
	COUNTER(events_delivered, "event records read, LOST records included"),
	COUNTER(events_lost, "events dropped because the queue was full"),
	COUNTER(notifiers, "interval notifiers registered now"),
	COUNTER(dpt_tables, "device page-table pages allocated now"),
	COUNTER(dpt_pages, "4K pages the device page table maps now"),
	COUNTER(mirrors, "open mirrors (global); 1 for one mirror"),
	COUNTER(device_memory_pages, "4K pages of device memory the module has"),
	COUNTER(device_pages,
		"pages in device memory now (global); those this mirror moved there"),
	COUNTER(pages_to_device, "pages MIGRATE moved to device memory"),
	COUNTER(pages_to_system, "pages MIGRATE moved back to system memory"),
	COUNTER(pages_faulted_back,
		"pages a CPU access moved back from device memory"),
	COUNTER(pages_no_memory,
		"pages MIGRATE left for lack of memory at the target"),
	COUNTER(exclusive_granted,
		"pages made exclusive to the device (EXCLUSIVE, ATOMIC)"),
	COUNTER(atomic_ops, "device atomic operations (ATOMIC)"),
	COUNTER(pages_evicted,
		"pages evicted from device memory to make room (MIGRATE with EVICT)"),
};

#define NR_COUNTERS (sizeof(counters) / sizeof(counters[0]))

HMM_LIB_EXPORT unsigned int hmm_mirror_counter_count(void)
{
	return NR_COUNTERS;
}

HMM_LIB_EXPORT const char *hmm_mirror_counter_name(unsigned int i)
{
	return i < NR_COUNTERS ? counters[i].name : NULL;
}

HMM_LIB_EXPORT const char *hmm_mirror_counter_meaning(unsigned int i)
{
	return i < NR_COUNTERS ? counters[i].meaning : NULL;
}

HMM_LIB_EXPORT unsigned int hmm_mirror_counter_len(unsigned int i)
{
	return i < NR_COUNTERS ? counters[i].len : 0;
}

HMM_LIB_EXPORT size_t hmm_mirror_counter_offset(unsigned int i)
{
	return i < NR_COUNTERS ? counters[i].offset : 0;
}

/* The only array of counters is by invalidation reason. */
HMM_LIB_EXPORT const char *hmm_mirror_counter_element_name(unsigned int i,
							   unsigned int k)
{
	if (i >= NR_COUNTERS || counters[i].len == 1 || k >= counters[i].len)
		return NULL;
	return hmm_mirror_event_reason_name(k);
}

HMM_LIB_EXPORT uint64_t hmm_mirror_counter_value(const struct hmm_mirror_stats *s,
						 unsigned int i, unsigned int k)
{
	size_t at;
	uint64_t v;

	if (!s || i >= NR_COUNTERS || k >= counters[i].len)
		return 0;
	at = counters[i].offset + k * sizeof(v);
	if (at + sizeof(v) > s->size)	/* a caller's older, shorter struct */
		return 0;
	memcpy(&v, (const char *)s + at, sizeof(v));
	return v;
}
