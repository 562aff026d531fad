// SPDX-License-Identifier: MIT
//
// lib_stats_vm_test.cc - hmm_mirror_stats() and hmm_mirror_stats_global() count
// what the mirror did.

#include "vm_test.h"

namespace libhmm_vm {
namespace {

class StatsTest : public LibTest {
 protected:
  void SetUp() override {
    LibTest::SetUp();
    if (HasFatalFailure()) return;
    REQUIRE_FEATURE(m_, HMM_MIRROR_FEAT_STATS);
    hmm_mirror_counters_init(&c_);
  }
  struct hmm_mirror_counters c_;
};

TEST_F(StatsTest, AFreshMirrorCountsNothing) {
  ASSERT_EQ(hmm_mirror_stats(m_, &c_), 0) << LastError();
  EXPECT_EQ(c_.flags, 0u);
  EXPECT_EQ(c_.fault_calls, 0u);
  EXPECT_EQ(c_.pages_faulted, 0u);
  EXPECT_EQ(c_.dpt_pages, 0u);
  EXPECT_EQ(c_.mirrors, 1u);
}

TEST_F(StatsTest, FaultsAndInvalidationsAreCounted) {
  Region r(8);
  ASSERT_EQ(hmm_mirror_fault(m_, r.addr(), r.size(), 0, nullptr, nullptr), 0);
  ASSERT_EQ(hmm_mirror_stats(m_, &c_), 0) << LastError();
  EXPECT_EQ(c_.fault_calls, 1u);
  EXPECT_EQ(c_.pages_faulted, 8u);
  EXPECT_EQ(c_.dpt_pages, 8u);
  EXPECT_GE(c_.dpt_tables, 1u);
  r.Unmap();
  ASSERT_EQ(hmm_mirror_stats(m_, &c_), 0);
  EXPECT_GE(c_.invalidations[HMM_MIRROR_EVENT_UNMAP], 1u);
  EXPECT_EQ(c_.pages_invalidated, 8u);
  EXPECT_EQ(c_.dpt_pages, 0u);
}

TEST_F(StatsTest, DeviceFaultsOfReads) {
  Region r(2);
  std::vector<uint8_t> buf(r.size());
  ASSERT_EQ(hmm_mirror_read(m_, r.addr(), buf.data(), buf.size(), nullptr), 0);
  ASSERT_EQ(hmm_mirror_stats(m_, &c_), 0);
  EXPECT_GE(c_.device_faults, 1u);
}

TEST_F(StatsTest, EventsDeliveredAndLost) {
  REQUIRE_FEATURE(m_, HMM_MIRROR_FEAT_EVENTS);
  ASSERT_EQ(hmm_mirror_events_config(m_, HMM_MIRROR_EVENT_ALL_REASONS, 1), 0);
  Region r(4);
  ASSERT_EQ(hmm_mirror_fault(m_, r.addr(), r.size(), 0, nullptr, nullptr), 0);
  ASSERT_EQ(madvise(r.data(), page_, MADV_DONTNEED), 0);
  ASSERT_EQ(madvise(r.data() + 2 * page_, page_, MADV_DONTNEED), 0);
  struct hmm_mirror_event_record rec;
  hmm_mirror_event_record_init(&rec);
  while (hmm_mirror_event_next(m_, &rec, 0) == 0) {
  }
  ASSERT_EQ(hmm_mirror_stats(m_, &c_), 0);
  EXPECT_EQ(c_.events_lost, 1u);
  EXPECT_EQ(c_.events_delivered, 2u);  // the record and the LOST record
}

TEST_F(StatsTest, GlobalCountsEveryMirror) {
  struct hmm_mirror* other = nullptr;
  ASSERT_EQ(hmm_mirror_open(&other), 0) << LastError();
  ASSERT_EQ(hmm_mirror_stats_global(m_, &c_), 0) << LastError();
  EXPECT_EQ(c_.flags, HMM_MIRROR_STATS_GLOBAL);
  EXPECT_GE(c_.mirrors, 2u);
  Region r(4);
  uint64_t before = c_.pages_faulted;
  ASSERT_EQ(hmm_mirror_fault(other, r.addr(), r.size(), 0, nullptr, nullptr), 0);
  ASSERT_EQ(hmm_mirror_stats_global(m_, &c_), 0);
  EXPECT_GE(c_.pages_faulted, before + 4);
  EXPECT_GE(c_.dpt_pages, 4u);
  hmm_mirror_close(other);
}

TEST_F(StatsTest, StatsWorkAfterTheProcessExited) {
  REQUIRE_FEATURE(m_, HMM_MIRROR_FEAT_ATTACH);
  REQUIRE_FEATURE(m_, HMM_MIRROR_FEAT_EXIT);
  Target t(2, 1);
  ASSERT_EQ(hmm_mirror_attach_pid(m_, t.pid()), 0) << LastError();
  ASSERT_EQ(hmm_mirror_fault(m_, t.addr(), t.size(), 0, nullptr, nullptr), 0);
  t.Stop();
  ASSERT_EQ(hmm_mirror_stats(m_, &c_), 0) << LastError();
  EXPECT_EQ(c_.pages_faulted, 2u);
  EXPECT_EQ(c_.dpt_pages, 0u);
}

}  // namespace
}  // namespace libhmm_vm
