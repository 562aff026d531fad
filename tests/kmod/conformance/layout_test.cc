// SPDX-License-Identifier: MIT
//
// layout_test.cc - the ABI layout, pinned at compile time.
//
// abi/README.md: every field is __u32 or __u64, there is no implicit
// padding, structs only grow at the end, and "each layout is pinned by
// static asserts in the module and by the conformance tests".  A failure
// here is an ABI break, so it stops the build.  The runtime tests repeat the
// checks so the report shows them.

#include <linux/ioctl.h>

#include <cstddef>
#include <type_traits>

#include "hmm_mirror_test.h"

namespace hmm_conformance {
namespace {

// --- struct hmm_mirror_handshake: size flags abi_version module_abi_version
//     features_wanted features_supported ioctls_supported page_shift reserved
//     (version 1, 48 bytes) addr_limit (version 3) device_memory_size
//     device_memory_used (version 4)
static_assert(HMM_MIRROR_HANDSHAKE_SIZE_VER1 == 48);
static_assert(HMM_MIRROR_HANDSHAKE_SIZE_VER3 == 56);
static_assert(sizeof(hmm_mirror_handshake) == HMM_MIRROR_HANDSHAKE_SIZE_VER4,
              "sizeof(struct hmm_mirror_handshake) != "
              "HMM_MIRROR_HANDSHAKE_SIZE_VER4: the header's constant and "
              "struct disagree (ABI bug in abi/hmm_mirror.h)");
static_assert(offsetof(hmm_mirror_handshake, size) == 0);
static_assert(offsetof(hmm_mirror_handshake, flags) == 4);
static_assert(offsetof(hmm_mirror_handshake, abi_version) == 8);
static_assert(offsetof(hmm_mirror_handshake, module_abi_version) == 12);
static_assert(offsetof(hmm_mirror_handshake, features_wanted) == 16);
static_assert(offsetof(hmm_mirror_handshake, features_supported) == 24);
static_assert(offsetof(hmm_mirror_handshake, ioctls_supported) == 32);
static_assert(offsetof(hmm_mirror_handshake, page_shift) == 40);
static_assert(offsetof(hmm_mirror_handshake, reserved) == 44);
static_assert(offsetof(hmm_mirror_handshake, addr_limit) == 48);
static_assert(offsetof(hmm_mirror_handshake, device_memory_size) == 56);
static_assert(offsetof(hmm_mirror_handshake, device_memory_used) == 64);
static_assert(sizeof(hmm_mirror_handshake) == 72,
              "the twelve documented fields of hmm_mirror_handshake take 72 "
              "bytes");

// --- struct hmm_mirror_fault: size flags addr length pages_mapped retries
static_assert(sizeof(hmm_mirror_fault) == HMM_MIRROR_FAULT_SIZE_VER1);
static_assert(offsetof(hmm_mirror_fault, size) == 0);
static_assert(offsetof(hmm_mirror_fault, flags) == 4);
static_assert(offsetof(hmm_mirror_fault, addr) == 8);
static_assert(offsetof(hmm_mirror_fault, length) == 16);
static_assert(offsetof(hmm_mirror_fault, pages_mapped) == 24);
static_assert(offsetof(hmm_mirror_fault, retries) == 32);
static_assert(sizeof(hmm_mirror_fault) == 40);

// --- struct hmm_mirror_pages: size flags addr length states states_len
// (version 1, 40 bytes) nr_runs (version 2)
static_assert(HMM_MIRROR_PAGES_SIZE_VER1 == 40);
static_assert(sizeof(hmm_mirror_pages) == HMM_MIRROR_PAGES_SIZE_VER2);
static_assert(offsetof(hmm_mirror_pages, size) == 0);
static_assert(offsetof(hmm_mirror_pages, flags) == 4);
static_assert(offsetof(hmm_mirror_pages, addr) == 8);
static_assert(offsetof(hmm_mirror_pages, length) == 16);
static_assert(offsetof(hmm_mirror_pages, states) == 24);
static_assert(offsetof(hmm_mirror_pages, states_len) == 32);
static_assert(offsetof(hmm_mirror_pages, nr_runs) == 40);
static_assert(sizeof(hmm_mirror_pages) == 48);

// --- struct hmm_mirror_run: addr length state reserved
static_assert(sizeof(hmm_mirror_run) == HMM_MIRROR_RUN_SIZE);
static_assert(sizeof(hmm_mirror_run) == 24);
static_assert(offsetof(hmm_mirror_run, addr) == 0);
static_assert(offsetof(hmm_mirror_run, length) == 8);
static_assert(offsetof(hmm_mirror_run, state) == 16);
static_assert(offsetof(hmm_mirror_run, reserved) == 20);
static_assert(HMM_MIRROR_PAGES_RUNS == 1);
static_assert(HMM_MIRROR_FEAT_SNAPSHOT_RUNS == (1ULL << 12));

// --- struct hmm_mirror_rw: size flags addr length buf device_faults
// (version 1, 40 bytes) bytes_copied (version 3)
static_assert(HMM_MIRROR_RW_SIZE_VER1 == 40);
static_assert(sizeof(hmm_mirror_rw) == HMM_MIRROR_RW_SIZE_VER3);
static_assert(offsetof(hmm_mirror_rw, size) == 0);
static_assert(offsetof(hmm_mirror_rw, flags) == 4);
static_assert(offsetof(hmm_mirror_rw, addr) == 8);
static_assert(offsetof(hmm_mirror_rw, length) == 16);
static_assert(offsetof(hmm_mirror_rw, buf) == 24);
static_assert(offsetof(hmm_mirror_rw, device_faults) == 32);
static_assert(offsetof(hmm_mirror_rw, bytes_copied) == 40);
static_assert(sizeof(hmm_mirror_rw) == 48);
static_assert(HMM_MIRROR_FEAT_RW_COPIED == (1ULL << 13));
static_assert(HMM_MIRROR_FEAT_ADDR_LIMIT == (1ULL << 14));

// --- struct hmm_mirror_attach: size flags pidfd reserved
static_assert(sizeof(hmm_mirror_attach) == HMM_MIRROR_ATTACH_SIZE_VER1);
static_assert(offsetof(hmm_mirror_attach, size) == 0);
static_assert(offsetof(hmm_mirror_attach, flags) == 4);
static_assert(offsetof(hmm_mirror_attach, pidfd) == 8);
static_assert(offsetof(hmm_mirror_attach, reserved) == 12);
static_assert(sizeof(hmm_mirror_attach) == 16);

// --- struct hmm_mirror_event (a read() record): size reason start end seq
//     pages flags reserved
static_assert(sizeof(hmm_mirror_event) == HMM_MIRROR_EVENT_SIZE_VER1);
static_assert(offsetof(hmm_mirror_event, size) == 0);
static_assert(offsetof(hmm_mirror_event, reason) == 4);
static_assert(offsetof(hmm_mirror_event, start) == 8);
static_assert(offsetof(hmm_mirror_event, end) == 16);
static_assert(offsetof(hmm_mirror_event, seq) == 24);
static_assert(offsetof(hmm_mirror_event, pages) == 32);
static_assert(offsetof(hmm_mirror_event, flags) == 40);
static_assert(offsetof(hmm_mirror_event, reserved) == 44);
static_assert(sizeof(hmm_mirror_event) == 48);

// --- struct hmm_mirror_events: size flags reasons queue_len
static_assert(sizeof(hmm_mirror_events) == HMM_MIRROR_EVENTS_SIZE_VER1);
static_assert(offsetof(hmm_mirror_events, size) == 0);
static_assert(offsetof(hmm_mirror_events, flags) == 4);
static_assert(offsetof(hmm_mirror_events, reasons) == 8);
static_assert(offsetof(hmm_mirror_events, queue_len) == 12);
static_assert(sizeof(hmm_mirror_events) == 16);

// --- struct hmm_mirror_stats: size flags device_faults fault_calls
//     pages_faulted fault_retries invalidations[8] pages_invalidated
//     events_delivered events_lost notifiers dpt_tables dpt_pages mirrors
//     (version 1, 160 bytes) device_memory_pages device_pages
//     pages_to_device pages_to_system pages_faulted_back pages_no_memory
//     (version 4, 208 bytes) exclusive_granted atomic_ops pages_evicted
//     (version 5)
static_assert(HMM_MIRROR_STATS_SIZE_VER1 == 160);
static_assert(HMM_MIRROR_STATS_SIZE_VER4 == 208);
static_assert(sizeof(hmm_mirror_stats) == HMM_MIRROR_STATS_SIZE_VER5);
static_assert(offsetof(hmm_mirror_stats, size) == 0);
static_assert(offsetof(hmm_mirror_stats, flags) == 4);
static_assert(offsetof(hmm_mirror_stats, device_faults) == 8);
static_assert(offsetof(hmm_mirror_stats, fault_calls) == 16);
static_assert(offsetof(hmm_mirror_stats, pages_faulted) == 24);
static_assert(offsetof(hmm_mirror_stats, fault_retries) == 32);
static_assert(offsetof(hmm_mirror_stats, invalidations) == 40);
static_assert(sizeof(hmm_mirror_stats::invalidations) == 8 * 8);
static_assert(offsetof(hmm_mirror_stats, pages_invalidated) == 104);
static_assert(offsetof(hmm_mirror_stats, events_delivered) == 112);
static_assert(offsetof(hmm_mirror_stats, events_lost) == 120);
static_assert(offsetof(hmm_mirror_stats, notifiers) == 128);
static_assert(offsetof(hmm_mirror_stats, dpt_tables) == 136);
static_assert(offsetof(hmm_mirror_stats, dpt_pages) == 144);
static_assert(offsetof(hmm_mirror_stats, mirrors) == 152);
static_assert(offsetof(hmm_mirror_stats, device_memory_pages) == 160);
static_assert(offsetof(hmm_mirror_stats, device_pages) == 168);
static_assert(offsetof(hmm_mirror_stats, pages_to_device) == 176);
static_assert(offsetof(hmm_mirror_stats, pages_to_system) == 184);
static_assert(offsetof(hmm_mirror_stats, pages_faulted_back) == 192);
static_assert(offsetof(hmm_mirror_stats, pages_no_memory) == 200);
static_assert(offsetof(hmm_mirror_stats, exclusive_granted) == 208);
static_assert(offsetof(hmm_mirror_stats, atomic_ops) == 216);
static_assert(offsetof(hmm_mirror_stats, pages_evicted) == 224);
static_assert(sizeof(hmm_mirror_stats) == 232);

// --- struct hmm_mirror_migrate (version 4): size flags addr length results
//     results_len pages_moved pages_not_moved
static_assert(sizeof(hmm_mirror_migrate) == HMM_MIRROR_MIGRATE_SIZE_VER4);
static_assert(offsetof(hmm_mirror_migrate, size) == 0);
static_assert(offsetof(hmm_mirror_migrate, flags) == 4);
static_assert(offsetof(hmm_mirror_migrate, addr) == 8);
static_assert(offsetof(hmm_mirror_migrate, length) == 16);
static_assert(offsetof(hmm_mirror_migrate, results) == 24);
static_assert(offsetof(hmm_mirror_migrate, results_len) == 32);
static_assert(offsetof(hmm_mirror_migrate, pages_moved) == 40);
static_assert(offsetof(hmm_mirror_migrate, pages_not_moved) == 48);
static_assert(sizeof(hmm_mirror_migrate) == 56);
static_assert(std::is_same_v<decltype(hmm_mirror_migrate::results), __u64>);

// --- struct hmm_mirror_exclusive (version 5): size flags addr length
//     results results_len pages_granted pages_refused
static_assert(sizeof(hmm_mirror_exclusive) == HMM_MIRROR_EXCLUSIVE_SIZE_VER5);
static_assert(offsetof(hmm_mirror_exclusive, size) == 0);
static_assert(offsetof(hmm_mirror_exclusive, flags) == 4);
static_assert(offsetof(hmm_mirror_exclusive, addr) == 8);
static_assert(offsetof(hmm_mirror_exclusive, length) == 16);
static_assert(offsetof(hmm_mirror_exclusive, results) == 24);
static_assert(offsetof(hmm_mirror_exclusive, results_len) == 32);
static_assert(offsetof(hmm_mirror_exclusive, pages_granted) == 40);
static_assert(offsetof(hmm_mirror_exclusive, pages_refused) == 48);
static_assert(sizeof(hmm_mirror_exclusive) == 56);
static_assert(std::is_same_v<decltype(hmm_mirror_exclusive::results), __u64>);

// --- struct hmm_mirror_atomic (version 5): size flags addr op reserved
//     operand compare old
static_assert(sizeof(hmm_mirror_atomic) == HMM_MIRROR_ATOMIC_SIZE_VER5);
static_assert(offsetof(hmm_mirror_atomic, size) == 0);
static_assert(offsetof(hmm_mirror_atomic, flags) == 4);
static_assert(offsetof(hmm_mirror_atomic, addr) == 8);
static_assert(offsetof(hmm_mirror_atomic, op) == 16);
static_assert(offsetof(hmm_mirror_atomic, reserved) == 20);
static_assert(offsetof(hmm_mirror_atomic, operand) == 24);
static_assert(offsetof(hmm_mirror_atomic, compare) == 32);
static_assert(offsetof(hmm_mirror_atomic, old) == 40);
static_assert(sizeof(hmm_mirror_atomic) == 48);
static_assert(std::is_same_v<decltype(hmm_mirror_atomic::op), __u32>);

// Field widths: every field is __u32 or __u64.
static_assert(std::is_same_v<decltype(hmm_mirror_handshake::size), __u32>);
static_assert(std::is_same_v<decltype(hmm_mirror_handshake::features_wanted),
                             __u64>);
static_assert(std::is_same_v<decltype(hmm_mirror_pages::states), __u64>);
static_assert(std::is_same_v<decltype(hmm_mirror_handshake::addr_limit),
                             __u64>);
static_assert(std::is_same_v<decltype(hmm_mirror_rw::buf), __u64>);
static_assert(std::is_same_v<decltype(hmm_mirror_rw::bytes_copied), __u64>);
static_assert(std::is_same_v<decltype(hmm_mirror_attach::pidfd), __u32>);
static_assert(std::is_same_v<decltype(hmm_mirror_event::seq), __u64>);
static_assert(std::is_same_v<decltype(hmm_mirror_events::queue_len), __u32>);
static_assert(std::is_same_v<std::remove_extent_t<decltype(
                                 hmm_mirror_stats::invalidations)>,
                             __u64>);
static_assert(std::is_same_v<decltype(hmm_mirror_stats::mirrors), __u64>);

// --- Commands: _IO(0xB2, nr), no size or direction bits.
static_assert(HMM_MIRROR_IOC_MAGIC == 0xB2);
static_assert(HMM_MIRROR_ABI_VERSION == 5);

#define HMM_PIN_COMMAND(cmd, nr)                          \
  static_assert(_IOC_TYPE(cmd) == 0xB2, #cmd " magic");   \
  static_assert(_IOC_NR(cmd) == (nr), #cmd " number");    \
  static_assert(_IOC_DIR(cmd) == _IOC_NONE, #cmd " dir"); \
  static_assert(_IOC_SIZE(cmd) == 0, #cmd " size");       \
  static_assert((cmd) == _IO(0xB2, nr), #cmd)

HMM_PIN_COMMAND(HMM_MIRROR_IOC_HANDSHAKE, 0x00);
HMM_PIN_COMMAND(HMM_MIRROR_IOC_FAULT, 0x01);
HMM_PIN_COMMAND(HMM_MIRROR_IOC_SNAPSHOT, 0x02);
HMM_PIN_COMMAND(HMM_MIRROR_IOC_READ, 0x03);
HMM_PIN_COMMAND(HMM_MIRROR_IOC_WRITE, 0x04);
HMM_PIN_COMMAND(HMM_MIRROR_IOC_QUERY, 0x05);
HMM_PIN_COMMAND(HMM_MIRROR_IOC_ATTACH, 0x06);
HMM_PIN_COMMAND(HMM_MIRROR_IOC_EVENTS, 0x07);
HMM_PIN_COMMAND(HMM_MIRROR_IOC_STATS, 0x08);
HMM_PIN_COMMAND(HMM_MIRROR_IOC_MIGRATE, 0x09);
HMM_PIN_COMMAND(HMM_MIRROR_IOC_EXCLUSIVE, 0x0a);
HMM_PIN_COMMAND(HMM_MIRROR_IOC_ATOMIC, 0x0b);
#undef HMM_PIN_COMMAND
static_assert(HMM_MIRROR_NR_MIGRATE == 0x09);
static_assert(HMM_MIRROR_NR_EXCLUSIVE == 0x0a);
static_assert(HMM_MIRROR_NR_ATOMIC == 0x0b);
static_assert(HMM_MIRROR_NR_COMMANDS == 12);
static_assert(HMM_MIRROR_NR_ATTACH == 0x06);
static_assert(HMM_MIRROR_NR_EVENTS == 0x07);
static_assert(HMM_MIRROR_NR_STATS == 0x08);

// --- Flag and state bits.
static_assert(HMM_MIRROR_FEAT_FAULT == 1ULL << 0);
static_assert(HMM_MIRROR_FEAT_SNAPSHOT == 1ULL << 1);
static_assert(HMM_MIRROR_FEAT_DEVICE_RW == 1ULL << 2);
static_assert(HMM_MIRROR_FEAT_QUERY == 1ULL << 3);
static_assert(HMM_MIRROR_FEAT_HUGE_ENTRIES == 1ULL << 4);
static_assert(HMM_MIRROR_FEAT_ATTACH == 1ULL << 5);
static_assert(HMM_MIRROR_FEAT_EVENTS == 1ULL << 6);
static_assert(HMM_MIRROR_FEAT_LAZY_NOTIFIERS == 1ULL << 7);
static_assert(HMM_MIRROR_FEAT_FILE_BACKED == 1ULL << 8);
static_assert(HMM_MIRROR_FEAT_FORK == 1ULL << 9);
static_assert(HMM_MIRROR_FEAT_EXIT == 1ULL << 10);
static_assert(HMM_MIRROR_FEAT_STATS == 1ULL << 11);
static_assert(HMM_MIRROR_FEAT_DEVICE_MEMORY == 1ULL << 15);
static_assert(HMM_MIRROR_FEAT_DEVICE_EVICT == 1ULL << 17);
static_assert(HMM_MIRROR_FEAT_ALL == (1ULL << 18) - 1);
static_assert(HMM_MIRROR_PAGE_DEVICE == 1U << 4);
static_assert(HMM_MIRROR_FEAT_EXCLUSIVE == 1ULL << 16);
static_assert(HMM_MIRROR_PAGE_EXCLUSIVE == 1U << 5);
static_assert(HMM_MIRROR_ATOMIC_ADD == 0 && HMM_MIRROR_ATOMIC_XCHG == 1 &&
              HMM_MIRROR_ATOMIC_CMPXCHG == 2 && HMM_MIRROR_ATOMIC_OR == 3 &&
              HMM_MIRROR_ATOMIC_AND == 4 && HMM_MIRROR_ATOMIC_NR_OPS == 5);
static_assert(HMM_MIRROR_ATOMIC_NO_GRANT == 1U << 0);
static_assert(HMM_MIRROR_EVENT_FLAG_TO_DEVICE == 1U << 0);
static_assert(HMM_MIRROR_EVENT_FLAG_TO_SYSTEM == 1U << 1);
static_assert(HMM_MIRROR_MIGRATE_TO_SYSTEM == 1U << 0);
static_assert(HMM_MIRROR_MIGRATE_EVICT == 1U << 1);
static_assert(HMM_MIRROR_MIGRATE_MOVED == 1 && HMM_MIRROR_MIGRATE_ALREADY == 2 &&
              HMM_MIRROR_MIGRATE_NOT_MOVABLE == 3 &&
              HMM_MIRROR_MIGRATE_NO_MEMORY == 4);
// Event reasons: the record's reason and the bit in hmm_mirror_events.reasons.
static_assert(HMM_MIRROR_EVENT_UNMAP == 0);
static_assert(HMM_MIRROR_EVENT_CLEAR == 1);
static_assert(HMM_MIRROR_EVENT_PROTECTION == 2);
static_assert(HMM_MIRROR_EVENT_MIGRATE == 3);
static_assert(HMM_MIRROR_EVENT_RELEASE == 4);
static_assert(HMM_MIRROR_EVENT_SOFT_DIRTY == 5);
static_assert(HMM_MIRROR_EVENT_EXCLUSIVE == 6);
static_assert(HMM_MIRROR_EVENT_OTHER == 7);
static_assert(HMM_MIRROR_EVENT_NR_REASONS == 8);
static_assert(HMM_MIRROR_EVENT_LOST == 8);
static_assert(HMM_MIRROR_EVENT_ALL_REASONS == 0xffU);
static_assert(HMM_MIRROR_STATS_GLOBAL == 1U << 0);
// One invalidation counter per reason, LOST excluded.
static_assert(sizeof(hmm_mirror_stats::invalidations) /
                  sizeof(hmm_mirror_stats::invalidations[0]) ==
              HMM_MIRROR_EVENT_NR_REASONS);
static_assert(HMM_MIRROR_FAULT_WRITE == 1U << 0);
static_assert(HMM_MIRROR_PAGE_VALID == 1U << 0);
static_assert(HMM_MIRROR_PAGE_WRITE == 1U << 1);
static_assert(HMM_MIRROR_PAGE_ERROR == 1U << 2);
static_assert(HMM_MIRROR_PAGE_ZERO == 1U << 3);
static_assert(HMM_MIRROR_PAGE_ORDER_SHIFT == 8);
static_assert(HMM_MIRROR_PAGE_ORDER(0x0903U) == 9);
static_assert(HMM_MIRROR_PAGE_ORDER(0x120fU) == 18);

TEST(Layout, StructSizesAreTheNewestVersionSizes) {
  EXPECT_EQ(sizeof(hmm_mirror_handshake), size_t{HMM_MIRROR_HANDSHAKE_SIZE_VER4});
  EXPECT_EQ(sizeof(hmm_mirror_fault), size_t{HMM_MIRROR_FAULT_SIZE_VER1});
  EXPECT_EQ(sizeof(hmm_mirror_pages), size_t{HMM_MIRROR_PAGES_SIZE_VER2});
  EXPECT_EQ(sizeof(hmm_mirror_run), size_t{HMM_MIRROR_RUN_SIZE});
  EXPECT_EQ(sizeof(hmm_mirror_rw), size_t{HMM_MIRROR_RW_SIZE_VER3});
  EXPECT_EQ(sizeof(hmm_mirror_attach), size_t{HMM_MIRROR_ATTACH_SIZE_VER1});
  EXPECT_EQ(sizeof(hmm_mirror_event), size_t{HMM_MIRROR_EVENT_SIZE_VER1});
  EXPECT_EQ(sizeof(hmm_mirror_events), size_t{HMM_MIRROR_EVENTS_SIZE_VER1});
  EXPECT_EQ(sizeof(hmm_mirror_stats), size_t{HMM_MIRROR_STATS_SIZE_VER5});
  EXPECT_EQ(sizeof(hmm_mirror_migrate), size_t{HMM_MIRROR_MIGRATE_SIZE_VER4});
  EXPECT_EQ(sizeof(hmm_mirror_exclusive),
            size_t{HMM_MIRROR_EXCLUSIVE_SIZE_VER5});
  EXPECT_EQ(sizeof(hmm_mirror_atomic), size_t{HMM_MIRROR_ATOMIC_SIZE_VER5});
}

TEST(Layout, StructsAreWholeNumbersOfU64) {
  // No tail padding can hide between versions: each struct ends on an
  // 8-byte boundary, so an array of records (read()) steps by sizeof.
  EXPECT_EQ(sizeof(hmm_mirror_handshake) % 8, 0u);
  EXPECT_EQ(sizeof(hmm_mirror_rw) % 8, 0u);
  EXPECT_EQ(sizeof(hmm_mirror_attach) % 8, 0u);
  EXPECT_EQ(sizeof(hmm_mirror_event) % 8, 0u);
  EXPECT_EQ(sizeof(hmm_mirror_events) % 8, 0u);
  EXPECT_EQ(sizeof(hmm_mirror_stats) % 8, 0u);
  EXPECT_EQ(sizeof(hmm_mirror_migrate) % 8, 0u);
  EXPECT_EQ(sizeof(hmm_mirror_exclusive) % 8, 0u);
  EXPECT_EQ(sizeof(hmm_mirror_atomic) % 8, 0u);
  EXPECT_EQ(offsetof(hmm_mirror_stats, pages_invalidated),
            offsetof(hmm_mirror_stats, invalidations) +
                HMM_MIRROR_EVENT_NR_REASONS * sizeof(__u64));
}

TEST(Layout, Version3FieldsStartWhereTheVersion1StructsEnded) {
  // Grown at the end, with nothing between the old end and the new field.
  EXPECT_EQ(offsetof(hmm_mirror_handshake, addr_limit),
            size_t{HMM_MIRROR_HANDSHAKE_SIZE_VER1});
  EXPECT_EQ(offsetof(hmm_mirror_rw, bytes_copied),
            size_t{HMM_MIRROR_RW_SIZE_VER1});
  EXPECT_EQ(HMM_MIRROR_HANDSHAKE_SIZE_VER3,
            HMM_MIRROR_HANDSHAKE_SIZE_VER1 + sizeof(__u64));
  EXPECT_EQ(HMM_MIRROR_RW_SIZE_VER3, HMM_MIRROR_RW_SIZE_VER1 + sizeof(__u64));
}

TEST(Layout, Version4FieldsStartWhereTheOlderStructsEnded) {
  EXPECT_EQ(offsetof(hmm_mirror_handshake, device_memory_size),
            size_t{HMM_MIRROR_HANDSHAKE_SIZE_VER3});
  EXPECT_EQ(offsetof(hmm_mirror_stats, device_memory_pages),
            size_t{HMM_MIRROR_STATS_SIZE_VER1});
  EXPECT_EQ(offsetof(hmm_mirror_migrate, size), 0u);
  EXPECT_EQ(offsetof(hmm_mirror_migrate, flags), 4u);
}

TEST(Layout, Version5FieldsStartWhereTheOlderStructsEnded) {
  EXPECT_EQ(offsetof(hmm_mirror_stats, exclusive_granted),
            size_t{HMM_MIRROR_STATS_SIZE_VER4});
  // Eviction's counter is the last field of version 5.
  EXPECT_EQ(offsetof(hmm_mirror_stats, pages_evicted) + sizeof(__u64),
            size_t{HMM_MIRROR_STATS_SIZE_VER5});
  EXPECT_EQ(HMM_MIRROR_STATS_SIZE_VER5, HMM_MIRROR_STATS_SIZE_VER4 + 3 * sizeof(__u64));
}

TEST(Layout, EveryStructStartsWithSizeThenFlags) {
  EXPECT_EQ(offsetof(hmm_mirror_handshake, size), 0u);
  EXPECT_EQ(offsetof(hmm_mirror_fault, size), 0u);
  EXPECT_EQ(offsetof(hmm_mirror_pages, size), 0u);
  EXPECT_EQ(offsetof(hmm_mirror_rw, size), 0u);
  EXPECT_EQ(offsetof(hmm_mirror_handshake, flags), 4u);
  EXPECT_EQ(offsetof(hmm_mirror_fault, flags), 4u);
  EXPECT_EQ(offsetof(hmm_mirror_pages, flags), 4u);
  EXPECT_EQ(offsetof(hmm_mirror_rw, flags), 4u);
  EXPECT_EQ(offsetof(hmm_mirror_attach, size), 0u);
  EXPECT_EQ(offsetof(hmm_mirror_events, size), 0u);
  EXPECT_EQ(offsetof(hmm_mirror_stats, size), 0u);
  EXPECT_EQ(offsetof(hmm_mirror_attach, flags), 4u);
  EXPECT_EQ(offsetof(hmm_mirror_events, flags), 4u);
  EXPECT_EQ(offsetof(hmm_mirror_stats, flags), 4u);
  // A read() record starts with its own size too.
  EXPECT_EQ(offsetof(hmm_mirror_event, size), 0u);
}

TEST(Layout, CommandsAreIoNumbersOfMagicB2) {
  const struct {
    unsigned long cmd;
    unsigned nr;
  } cmds[] = {{HMM_MIRROR_IOC_HANDSHAKE, 0}, {HMM_MIRROR_IOC_FAULT, 1},
              {HMM_MIRROR_IOC_SNAPSHOT, 2},  {HMM_MIRROR_IOC_READ, 3},
              {HMM_MIRROR_IOC_WRITE, 4},     {HMM_MIRROR_IOC_QUERY, 5},
              {HMM_MIRROR_IOC_ATTACH, 6},    {HMM_MIRROR_IOC_EVENTS, 7},
              {HMM_MIRROR_IOC_STATS, 8}};
  for (const auto& c : cmds) {
    SCOPED_TRACE(c.nr);
    EXPECT_EQ(_IOC_TYPE(c.cmd), 0xB2u);
    EXPECT_EQ(_IOC_NR(c.cmd), c.nr);
    EXPECT_EQ(_IOC_DIR(c.cmd), unsigned{_IOC_NONE});
    EXPECT_EQ(_IOC_SIZE(c.cmd), 0u);
  }
}

}  // namespace
}  // namespace hmm_conformance
