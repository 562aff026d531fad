/* SPDX-License-Identifier: MIT */
/*
 * header_checks.h - included after both the kernel ABI header and the
 * library header, in either order: the library header includes the ABI
 * header (it declares nothing of the ABI again), so the constants are the
 * ABI's whichever comes first.
 */
#define HDR_SAME(a, b) _Static_assert((a) == (b), #a)
HDR_SAME(HMM_MIRROR_FEAT_STATS, 1ULL << 11);
HDR_SAME(HMM_MIRROR_FEAT_RW_COPIED, 1ULL << 13);
HDR_SAME(HMM_MIRROR_FEAT_ADDR_LIMIT, 1ULL << 14);
HDR_SAME(HMM_MIRROR_ABI_VERSION, 5);
HDR_SAME(HMM_MIRROR_FEAT_EXCLUSIVE, 1ULL << 16);
HDR_SAME(HMM_MIRROR_PAGE_EXCLUSIVE, 1U << 5);
HDR_SAME(HMM_MIRROR_ATOMIC_NR_OPS, 5);
HDR_SAME(HMM_MIRROR_FEAT_DEVICE_MEMORY, 1ULL << 15);
HDR_SAME(HMM_MIRROR_PAGE_DEVICE, 1U << 4);
HDR_SAME(HMM_MIRROR_EVENT_FLAG_TO_SYSTEM, 1U << 1);
HDR_SAME(HMM_MIRROR_MIGRATE_NO_MEMORY, 4);
HDR_SAME(HMM_MIRROR_PAGE_ORDER(9U << 8), 9);
HDR_SAME(HMM_MIRROR_EVENT_ALL_REASONS, 0xff);
HDR_SAME(HMM_MIRROR_EVENT_LOST, 8);
HDR_SAME(HMM_MIRROR_EVENTS_DEFAULT_LEN, 1024);
HDR_SAME(HMM_MIRROR_EVENTS_MAX_LEN, 65536);
/* The 1.0-1.2 names of the structs are the ABI's. */
HDR_SAME(sizeof(struct hmm_mirror_event_record), HMM_MIRROR_EVENT_SIZE_VER1);
HDR_SAME(sizeof(struct hmm_mirror_counters), HMM_MIRROR_STATS_SIZE_VER5);
HDR_SAME(sizeof(struct hmm_mirror_page_run), HMM_MIRROR_RUN_SIZE);
HDR_SAME(HMM_MIRROR_COUNTERS_SIZE_VER1, 160);
HDR_SAME(HMM_MIRROR_EVENT_RECORD_SIZE_VER1, 48);
