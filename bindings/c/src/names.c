// SPDX-License-Identifier: MIT
/*
 * names.c - names of feature bits, commands and event reasons, as the
 * hmm-mirror tool and the bindings print them.
 */
#include "internal.h"

static const char *const feature_names[] = {
	[0] = "fault",
	[1] = "snapshot",
	[2] = "device_rw",
	[3] = "query",
	[4] = "huge_entries",
	[5] = "attach",
	[6] = "events",
	[7] = "lazy_notifiers",
	[8] = "file_backed",
	[9] = "fork",
	[10] = "exit",
	[11] = "stats",
	[12] = "snapshot_runs",
	[13] = "rw_copied",
	[14] = "addr_limit",
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

_Static_assert(sizeof(feature_names) / sizeof(feature_names[0]) ==
	       64 - __builtin_clzll(HMM_MIRROR_FEAT_ALL),
	       "a name for every HMM_MIRROR_FEAT_* bit");
_Static_assert(sizeof(command_names) / sizeof(command_names[0]) ==
	       HMM_MIRROR_NR_COMMANDS, "a name for every command");
_Static_assert(HMM_MIRROR_FEAT_SNAPSHOT_RUNS == 1ULL << 12 &&
	       HMM_MIRROR_FEAT_RW_COPIED == 1ULL << 13 &&
	       HMM_MIRROR_FEAT_ADDR_LIMIT == 1ULL << 14,
	       "feature bits moved");

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

HMM_LIB_EXPORT const char *hmm_mirror_lib_version(void)
{
	return HMM_STR(HMM_MIRROR_LIB_VERSION_MAJOR) "."
	       HMM_STR(HMM_MIRROR_LIB_VERSION_MINOR) "."
	       HMM_STR(HMM_MIRROR_LIB_VERSION_PATCH);
}
