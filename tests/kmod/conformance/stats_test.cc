// SPDX-License-Identifier: MIT
//
// stats_test.cc - HMM_MIRROR_IOC_STATS (abi/README.md, "STATS", and the
// field list in abi/hmm_mirror.h): each per-mirror counter moves as its
// field documents; HMM_MIRROR_STATS_GLOBAL counts the open mirrors and is
// at least every per-mirror value.  Needs HMM_MIRROR_FEAT_STATS.
//
// Where invalidations are counted exactly, the memory lives in a
// ChunkArea: "invalidations" counts callbacks, and any other munmap or
// madvise in a chunk the device maps (the allocator's, ASan's) would be
// one.

#include <sys/mman.h>

#include <vector>

#include "hmm_mirror_test.h"

namespace hmm_conformance {
namespace {

class StatsTest : public FeatureTest<HMM_MIRROR_FEAT_STATS> {
 protected:
  hmm_mirror_stats Get(uint32_t flags = 0) const { return Of(dev_, flags); }
  static hmm_mirror_stats Of(const Mirror& m, uint32_t flags = 0) {
    hmm_mirror_stats st;
    Errno rc = m.Stats(&st, flags);
    EXPECT_EQ(kSuccess, rc);
    if (rc != kSuccess) std::memset(&st, 0xff, sizeof(st));
    return st;
  }
  bool lazy() const { return dev_.Has(HMM_MIRROR_FEAT_LAZY_NOTIFIERS); }
};

TEST_F(StatsTest, FreshMirrorCountsNothing) {
  const hmm_mirror_stats st = Get();
  EXPECT_EQ(st.size, sizeof(st));
  EXPECT_EQ(st.flags, 0u);
  EXPECT_EQ(st.device_faults, 0u);
  EXPECT_EQ(st.fault_calls, 0u);
  EXPECT_EQ(st.pages_faulted, 0u);
  EXPECT_EQ(st.fault_retries, 0u);
  EXPECT_EQ(TotalInvalidations(st), 0u);
  EXPECT_EQ(st.pages_invalidated, 0u);
  EXPECT_EQ(st.events_delivered, 0u);
  EXPECT_EQ(st.events_lost, 0u);
  EXPECT_EQ(st.dpt_pages, 0u);
  EXPECT_EQ(st.mirrors, 1u) << "\"1 otherwise\"";
  if (lazy()) {
    EXPECT_EQ(st.notifiers, 0u);
  }
  // SNAPSHOT and QUERY are not faults.
  Mapping m(4 * page_);
  FillPattern(m.data(), m.size(), 1);
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), m.size(), &s));
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &s));
  const hmm_mirror_stats after = Get();
  EXPECT_EQ(after.fault_calls, 0u) << StatsString(after);
  EXPECT_EQ(after.pages_faulted, 0u) << StatsString(after);
}

TEST_F(StatsTest, FaultCountsOneCallAndItsPages) {
  ChunkArea area(1);
  uint8_t* p = area.Map(0, 0, 16 * page_);
  FillPattern(p, 16 * page_, 2);
  const hmm_mirror_stats before = Get();
  ASSERT_EQ(kSuccess, dev_.Fault(U64(p), 16 * page_));
  const hmm_mirror_stats st = Get();
  EXPECT_EQ(st.fault_calls, 1u) << StatsString(st);
  EXPECT_EQ(st.pages_faulted, 16u) << StatsString(st);
  EXPECT_EQ(st.device_faults, 0u) << "FAULT is not a device fault";
  EXPECT_EQ(st.dpt_pages, 16u) << StatsString(st);
  EXPECT_GT(st.dpt_tables, before.dpt_tables) << "the first pages need tables";
  if (lazy()) {
    EXPECT_EQ(st.notifiers, 1u);
  }
  EXPECT_EQ(TotalInvalidations(st), 0u) << StatsString(st);

  // Pages of a far-away, untouched 2 MiB region need a new leaf table.
  uint8_t* far = area.Map(0, kChunkSize / 2, page_);
  far[0] = 1;
  ASSERT_EQ(kSuccess, dev_.Fault(U64(far), page_));
  const hmm_mirror_stats st2 = Get();
  EXPECT_EQ(st2.fault_calls, 2u);
  EXPECT_EQ(st2.pages_faulted, 17u);
  EXPECT_EQ(st2.dpt_pages, 17u);
  EXPECT_GT(st2.dpt_tables, st.dpt_tables) << StatsString(st2);
}

TEST_F(StatsTest, ReadAndWriteCountDeviceFaults) {
  // Inside one 2 MiB-aligned block: pages 0-3 and 8-11 missing.
  Mapping area(2 * kHugeSize);
  const uint64_t off = ((area.addr() + kHugeSize - 1) & ~(kHugeSize - 1)) - area.addr();
  const uint64_t a = area.addr(off);
  FillPattern(area.at(off), 16 * page_, 3);
  ASSERT_EQ(kSuccess, dev_.Fault(a + 4 * page_, 4 * page_));
  ASSERT_EQ(kSuccess, dev_.Fault(a + 12 * page_, 4 * page_));
  const hmm_mirror_stats before = Get();
  ASSERT_EQ(before.fault_calls, 2u);
  Mapping buf(16 * page_);
  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Read(a, 16 * page_, buf.data(), &faults));
  ASSERT_EQ(faults, 2u);
  hmm_mirror_stats st = Get();
  EXPECT_EQ(st.device_faults, 2u) << StatsString(st);
  EXPECT_EQ(st.fault_calls, 4u) << "FAULT commands plus device faults";
  EXPECT_EQ(st.pages_faulted, before.pages_faulted + 8) << StatsString(st);
  EXPECT_EQ(st.dpt_pages, 16u);
  // A READ of mapped pages takes no fault and counts nothing.
  ASSERT_EQ(kSuccess, dev_.Read(a, 16 * page_, buf.data(), &faults));
  EXPECT_EQ(faults, 0u);
  hmm_mirror_stats again = Get();
  EXPECT_EQ(again.device_faults, 2u);
  EXPECT_EQ(again.fault_calls, 4u);
  // WRITE to read-only entries: one device fault for the run.
  FillPatternAs(buf.data(), 16 * page_, 4, a);
  ASSERT_EQ(kSuccess, dev_.Write(a, 16 * page_, buf.data(), &faults));
  st = Get();
  EXPECT_EQ(st.device_faults, 2 + faults) << StatsString(st);
  EXPECT_EQ(st.fault_calls, 4 + faults) << StatsString(st);
}

TEST_F(StatsTest, InvalidationsAreCountedByReason) {
  ChunkArea area(1);
  uint8_t* p = area.Map(0, 0, 16 * page_);
  FillPattern(p, 16 * page_, 5);
  const bool events = dev_.Has(HMM_MIRROR_FEAT_EVENTS);
  if (events) {
    ASSERT_EQ(kSuccess, dev_.SetEvents(HMM_MIRROR_EVENT_ALL_REASONS));
  }
  ASSERT_EQ(kSuccess, dev_.Fault(U64(p), 16 * page_, HMM_MIRROR_FAULT_WRITE));

  area.Unmap(0, 0, 2 * page_);
  hmm_mirror_stats st = Get();
  EXPECT_EQ(st.invalidations[HMM_MIRROR_EVENT_UNMAP], 1u) << StatsString(st);
  EXPECT_EQ(st.pages_invalidated, 2u) << StatsString(st);
  EXPECT_EQ(st.dpt_pages, 14u) << StatsString(st);

  ASSERT_EQ(0, madvise(p + 2 * page_, 3 * page_, MADV_DONTNEED));
  st = Get();
  EXPECT_EQ(st.invalidations[HMM_MIRROR_EVENT_CLEAR], 1u) << StatsString(st);
  EXPECT_EQ(st.pages_invalidated, 5u) << StatsString(st);
  EXPECT_EQ(st.dpt_pages, 11u) << StatsString(st);

  ASSERT_EQ(0, mprotect(p + 8 * page_, 4 * page_, PROT_READ));
  st = Get();
  EXPECT_GE(st.invalidations[HMM_MIRROR_EVENT_PROTECTION], 1u) << StatsString(st);
  for (uint32_t r : {HMM_MIRROR_EVENT_MIGRATE, HMM_MIRROR_EVENT_RELEASE,
                     HMM_MIRROR_EVENT_SOFT_DIRTY, HMM_MIRROR_EVENT_EXCLUSIVE,
                     HMM_MIRROR_EVENT_OTHER})
    EXPECT_EQ(st.invalidations[r], 0u) << ReasonName(r) << ": " << StatsString(st);
  EXPECT_EQ(st.dpt_pages + st.pages_invalidated, 16u)
      << "every page faulted is mapped or was invalidated: " << StatsString(st);

  if (events) {
    // The records account for the same pages.
    std::vector<hmm_mirror_event> ev = DrainEvents(dev_.fd());
    uint64_t pages = 0;
    for (const hmm_mirror_event& e : ev) pages += e.pages;
    EXPECT_EQ(pages, st.pages_invalidated) << EventsString(ev);
    const hmm_mirror_stats fin = Get();
    EXPECT_EQ(fin.events_delivered, ev.size()) << StatsString(fin);
    EXPECT_EQ(fin.events_lost, 0u);
  }
}

// Without events, an invalidation may reach the device page table only at
// the next command (kmod/chunks.c); STATS is one, and sees all of it.
TEST_F(StatsTest, InvalidationsNobodyListensToAreCountedAtOnce) {
  ChunkArea area(1);
  uint8_t* p = area.Map(0, 0, 16 * page_);
  FillPattern(p, 16 * page_, 6);
  ASSERT_EQ(kSuccess, dev_.Fault(U64(p), 16 * page_));
  area.Unmap(0, 0, 2 * page_);
  hmm_mirror_stats st = Get();
  EXPECT_EQ(st.pages_invalidated, 2u) << StatsString(st);
  EXPECT_EQ(st.dpt_pages, 14u) << StatsString(st);
  // Two in a row in the same chunk, then one more command.
  area.Unmap(0, 2 * page_, page_);
  ASSERT_EQ(0, madvise(p + 4 * page_, 3 * page_, MADV_DONTNEED));
  st = Get();
  EXPECT_EQ(st.invalidations[HMM_MIRROR_EVENT_UNMAP], 2u) << StatsString(st);
  EXPECT_EQ(st.invalidations[HMM_MIRROR_EVENT_CLEAR], 1u) << StatsString(st);
  EXPECT_EQ(st.pages_invalidated, 6u) << StatsString(st);
  EXPECT_EQ(st.dpt_pages, 10u) << StatsString(st);
}

TEST_F(StatsTest, GlobalCountsAnotherMirrorsInvalidationsAtOnce) {
  Mirror other;
  ASSERT_EQ("", other.Open());
  ChunkArea area(1);
  uint8_t* p = area.Map(0, 0, 8 * page_);
  FillPattern(p, 8 * page_, 7);
  ASSERT_EQ(kSuccess, other.Fault(U64(p), 8 * page_));
  const hmm_mirror_stats g0 = Get(HMM_MIRROR_STATS_GLOBAL);
  area.Unmap(0, 0, 8 * page_);
  // Asked through this test's mirror, not the one that mapped the pages.
  const hmm_mirror_stats g1 = Get(HMM_MIRROR_STATS_GLOBAL);
  EXPECT_GE(g1.pages_invalidated, g0.pages_invalidated + 8)
      << StatsString(g0) << "\n" << StatsString(g1);
  EXPECT_EQ(g1.dpt_pages + 8, g0.dpt_pages)
      << StatsString(g0) << "\n" << StatsString(g1);
}

TEST_F(StatsTest, EachMirrorCountsOnlyItself) {
  Mirror other;
  ASSERT_EQ("", other.Open());
  Mapping m(8 * page_);
  FillPattern(m.data(), m.size(), 6);
  ASSERT_EQ(kSuccess, other.Fault(m.addr(), m.size()));
  Mapping buf(m.size());
  ASSERT_EQ(kSuccess, other.Read(m.addr(), m.size(), buf.data()));
  const hmm_mirror_stats mine = Get();
  EXPECT_EQ(mine.fault_calls, 0u) << StatsString(mine);
  EXPECT_EQ(mine.pages_faulted, 0u);
  EXPECT_EQ(mine.dpt_pages, 0u);
  const hmm_mirror_stats theirs = Of(other);
  EXPECT_EQ(theirs.fault_calls, 1u) << StatsString(theirs);
  EXPECT_EQ(theirs.pages_faulted, 8u);
  EXPECT_EQ(theirs.dpt_pages, 8u);
  EXPECT_EQ(theirs.mirrors, 1u);
}

TEST_F(StatsTest, GlobalCountsTheOpenMirrors) {
  const hmm_mirror_stats g0 = Get(HMM_MIRROR_STATS_GLOBAL);
  EXPECT_EQ(g0.flags, uint32_t{HMM_MIRROR_STATS_GLOBAL});
  EXPECT_GE(g0.mirrors, 1u) << "this test's mirror is open";
  {
    Mirror a, b;
    ASSERT_EQ("", a.Open());
    ASSERT_EQ("", b.Open());
    EXPECT_EQ(Get(HMM_MIRROR_STATS_GLOBAL).mirrors, g0.mirrors + 2);
    EXPECT_EQ(Of(a, HMM_MIRROR_STATS_GLOBAL).mirrors, g0.mirrors + 2)
        << "any mirror answers for the module";
  }
  EXPECT_TRUE(WaitFor([&] {
    return Get(HMM_MIRROR_STATS_GLOBAL).mirrors == g0.mirrors;
  })) << Get(HMM_MIRROR_STATS_GLOBAL).mirrors;
}

TEST_F(StatsTest, GlobalIsAtLeastEveryMirror) {
  ChunkArea area(1);
  uint8_t* p = area.Map(0, 0, 8 * page_);
  FillPattern(p, 8 * page_, 7);
  if (dev_.Has(HMM_MIRROR_FEAT_EVENTS)) {
    ASSERT_EQ(kSuccess, dev_.SetEvents(HMM_MIRROR_EVENT_ALL_REASONS));
  }
  Mapping buf(8 * page_);
  ASSERT_EQ(kSuccess, dev_.Read(U64(p), 8 * page_, buf.data()));
  ASSERT_EQ(kSuccess, dev_.Fault(U64(p), 8 * page_, HMM_MIRROR_FAULT_WRITE));
  area.Unmap(0, 0, page_);
  ASSERT_EQ(0, madvise(p + page_, page_, MADV_DONTNEED));
  DrainEvents(dev_.fd());
  const hmm_mirror_stats mine = Get();
  const hmm_mirror_stats g = Get(HMM_MIRROR_STATS_GLOBAL);
  EXPECT_GE(g.device_faults, mine.device_faults);
  EXPECT_GE(g.fault_calls, mine.fault_calls);
  EXPECT_GE(g.pages_faulted, mine.pages_faulted);
  EXPECT_GE(g.fault_retries, mine.fault_retries);
  for (unsigned r = 0; r < HMM_MIRROR_EVENT_NR_REASONS; ++r)
    EXPECT_GE(g.invalidations[r], mine.invalidations[r]) << ReasonName(r);
  EXPECT_GE(g.pages_invalidated, mine.pages_invalidated);
  EXPECT_GE(g.events_delivered, mine.events_delivered);
  EXPECT_GE(g.events_lost, mine.events_lost);
  EXPECT_GE(g.notifiers, mine.notifiers);
  EXPECT_GE(g.dpt_tables, mine.dpt_tables);
  EXPECT_GE(g.dpt_pages, mine.dpt_pages);
  EXPECT_GE(g.mirrors, 1u);
  EXPECT_GT(mine.fault_calls, 0u) << "the test did something";
}

TEST_F(StatsTest, GlobalTotalsOutliveTheirMirrors) {
  // "the module's totals since it was loaded": a closed mirror's faults
  // stay counted; what it mapped does not.
  Mapping m(8 * page_);
  FillPattern(m.data(), m.size(), 8);
  const hmm_mirror_stats g0 = Get(HMM_MIRROR_STATS_GLOBAL);
  {
    Mirror other;
    ASSERT_EQ("", other.Open());
    ASSERT_EQ(kSuccess, other.Fault(m.addr(), m.size()));
    const hmm_mirror_stats g1 = Get(HMM_MIRROR_STATS_GLOBAL);
    EXPECT_EQ(g1.fault_calls, g0.fault_calls + 1);
    EXPECT_EQ(g1.pages_faulted, g0.pages_faulted + 8);
    EXPECT_EQ(g1.dpt_pages, g0.dpt_pages + 8);
  }
  EXPECT_TRUE(WaitFor([&] {
    const hmm_mirror_stats g = Get(HMM_MIRROR_STATS_GLOBAL);
    return g.dpt_pages == g0.dpt_pages && g.mirrors == g0.mirrors;
  })) << StatsString(Get(HMM_MIRROR_STATS_GLOBAL));
  const hmm_mirror_stats g2 = Get(HMM_MIRROR_STATS_GLOBAL);
  EXPECT_EQ(g2.fault_calls, g0.fault_calls + 1);
  EXPECT_EQ(g2.pages_faulted, g0.pages_faulted + 8);
}

TEST_F(StatsTest, UnknownFlagsAreEinval) {
  for (uint32_t flags : {2U, 0x80000000U, 3U}) {
    hmm_mirror_stats st = MakeStats(flags);
    EXPECT_EQ(Errno(EINVAL), dev_.Call(HMM_MIRROR_IOC_STATS, &st)) << flags;
  }
}

}  // namespace
}  // namespace hmm_conformance
