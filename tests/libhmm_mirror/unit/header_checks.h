/* SPDX-License-Identifier: MIT */
/*
 * header_checks.h - included after both the kernel ABI header and the
 * library header: every constant the library re-exports must have the
 * ABI's value (the preprocessor already rejected a different spelling).
 */
#define HDR_SAME(a, b) _Static_assert((a) == (b), #a)
HDR_SAME(HMM_MIRROR_FEAT_STATS, 1ULL << 11);
HDR_SAME(HMM_MIRROR_FEAT_RW_COPIED, 1ULL << 13);
HDR_SAME(HMM_MIRROR_FEAT_ADDR_LIMIT, 1ULL << 14);
HDR_SAME(HMM_MIRROR_ABI_VERSION, 3);
HDR_SAME(HMM_MIRROR_PAGE_ORDER(9U << 8), 9);
HDR_SAME(HMM_MIRROR_EVENT_ALL_REASONS, 0xff);
HDR_SAME(HMM_MIRROR_EVENT_LOST, 8);
HDR_SAME(HMM_MIRROR_EVENTS_DEFAULT_LEN, 1024);
HDR_SAME(HMM_MIRROR_EVENTS_MAX_LEN, 65536);
HDR_SAME(sizeof(struct hmm_mirror_event_record), sizeof(struct hmm_mirror_event));
HDR_SAME(sizeof(struct hmm_mirror_counters), sizeof(struct hmm_mirror_stats));
