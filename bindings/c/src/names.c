// SPDX-License-Identifier: MIT
/*
 * names.c - names of feature bits, commands and event reasons, as the
 * hmm-mirror tool and the bindings print them.
 */
#include "internal.h"

/* Indexed by bit number; the bits are the ABI header's. */
#define FEAT_BIT(f) __builtin_ctzll(HMM_MIRROR_FEAT_##f)
static const char *const feature_names[] = {
	[FEAT_BIT(FAULT)] = "fault",
	[FEAT_BIT(SNAPSHOT)] = "snapshot",
	[FEAT_BIT(DEVICE_RW)] = "device_rw",
	[FEAT_BIT(QUERY)] = "query",
	[FEAT_BIT(HUGE_ENTRIES)] = "huge_entries",
	[FEAT_BIT(ATTACH)] = "attach",
	[FEAT_BIT(EVENTS)] = "events",
	[FEAT_BIT(LAZY_NOTIFIERS)] = "lazy_notifiers",
	[FEAT_BIT(FILE_BACKED)] = "file_backed",
	[FEAT_BIT(FORK)] = "fork",
	[FEAT_BIT(EXIT)] = "exit",
	[FEAT_BIT(STATS)] = "stats",
	[FEAT_BIT(SNAPSHOT_RUNS)] = "snapshot_runs",
	[FEAT_BIT(RW_COPIED)] = "rw_copied",
	[FEAT_BIT(ADDR_LIMIT)] = "addr_limit",
	[FEAT_BIT(DEVICE_MEMORY)] = "device_memory",
	[FEAT_BIT(EXCLUSIVE)] = "exclusive",
	[FEAT_BIT(DEVICE_EVICT)] = "device_evict",
};

static const char *const command_names[] = {
	[HMM_MIRROR_NR_HANDSHAKE] = "HANDSHAKE",
	[HMM_MIRROR_NR_FAULT] = "FAULT",
	[HMM_MIRROR_NR_SNAPSHOT] = "SNAPSHOT",
	[HMM_MIRROR_NR_READ] = "READ",
	[HMM_MIRROR_NR_WRITE] = "WRITE",
	[HMM_MIRROR_NR_QUERY] = "QUERY",
	[HMM_MIRROR_NR_ATTACH] = "ATTACH",
	[HMM_MIRROR_NR_EVENTS] = "EVENTS",
	[HMM_MIRROR_NR_STATS] = "STATS",
	[HMM_MIRROR_NR_MIGRATE] = "MIGRATE",
	[HMM_MIRROR_NR_EXCLUSIVE] = "EXCLUSIVE",
	[HMM_MIRROR_NR_ATOMIC] = "ATOMIC",
};

static const char *const reason_names[] = {
	[HMM_MIRROR_EVENT_UNMAP] = "unmap",
	[HMM_MIRROR_EVENT_CLEAR] = "clear",
	[HMM_MIRROR_EVENT_PROTECTION] = "protection",
	[HMM_MIRROR_EVENT_MIGRATE] = "migrate",
	[HMM_MIRROR_EVENT_RELEASE] = "release",
	[HMM_MIRROR_EVENT_SOFT_DIRTY] = "soft-dirty",
	[HMM_MIRROR_EVENT_EXCLUSIVE] = "exclusive",
	[HMM_MIRROR_EVENT_OTHER] = "other",
	[HMM_MIRROR_EVENT_LOST] = "lost",
};

static const char *const migrate_result_names[] = {
	[HMM_MIRROR_MIGRATE_MOVED] = "moved",
	[HMM_MIRROR_MIGRATE_ALREADY] = "already",
	[HMM_MIRROR_MIGRATE_NOT_MOVABLE] = "not_movable",
	[HMM_MIRROR_MIGRATE_NO_MEMORY] = "no_memory",
};

static const char *const atomic_op_names[] = {
	[HMM_MIRROR_ATOMIC_ADD] = "add",
	[HMM_MIRROR_ATOMIC_XCHG] = "xchg",
	[HMM_MIRROR_ATOMIC_CMPXCHG] = "cmpxchg",
	[HMM_MIRROR_ATOMIC_OR] = "or",
	[HMM_MIRROR_ATOMIC_AND] = "and",
};

_Static_assert(sizeof(atomic_op_names) / sizeof(atomic_op_names[0]) ==
	       HMM_MIRROR_ATOMIC_NR_OPS, "a name for every atomic operation");
_Static_assert(sizeof(feature_names) / sizeof(feature_names[0]) ==
	       64 - __builtin_clzll(HMM_MIRROR_FEAT_ALL),
	       "a name for every HMM_MIRROR_FEAT_* bit");
_Static_assert(sizeof(command_names) / sizeof(command_names[0]) ==
	       HMM_MIRROR_NR_COMMANDS, "a name for every command");

HMM_LIB_EXPORT const char *hmm_mirror_feature_name(uint64_t feature)
{
	unsigned int bit;

	if (!feature || (feature & (feature - 1)))
		return NULL;
	bit = (unsigned int)__builtin_ctzll(feature);
	if (bit >= sizeof(feature_names) / sizeof(feature_names[0]))
		return NULL;
	return feature_names[bit];
}

HMM_LIB_EXPORT const char *hmm_mirror_command_name(unsigned int nr)
{
	if (nr >= sizeof(command_names) / sizeof(command_names[0]))
		return NULL;
	return command_names[nr];
}

HMM_LIB_EXPORT const char *hmm_mirror_event_reason_name(uint32_t reason)
{
	if (reason >= sizeof(reason_names) / sizeof(reason_names[0]))
		return NULL;
	return reason_names[reason];
}

HMM_LIB_EXPORT const char *hmm_mirror_migrate_result_name(uint32_t result)
{
	if (result >= sizeof(migrate_result_names) /
		      sizeof(migrate_result_names[0]))
		return NULL;
	return migrate_result_names[result];
}

HMM_LIB_EXPORT const char *hmm_mirror_atomic_op_name(uint32_t op)
{
	if (op >= HMM_MIRROR_ATOMIC_NR_OPS)
		return NULL;
	return atomic_op_names[op];
}

HMM_LIB_EXPORT const char *hmm_mirror_lib_version(void)
{
	return HMM_STR(HMM_MIRROR_LIB_VERSION_MAJOR) "."
	       HMM_STR(HMM_MIRROR_LIB_VERSION_MINOR) "."
	       HMM_STR(HMM_MIRROR_LIB_VERSION_PATCH);
}
