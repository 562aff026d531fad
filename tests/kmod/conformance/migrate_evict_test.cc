// SPDX-License-Identifier: MIT
//
// migrate_evict_test.cc - eviction (ABI 5): MIGRATE with
// HMM_MIRROR_MIGRATE_EVICT into a full pool moves the pool's oldest pages,
// of whichever mirror, back to system memory to make room, their data
// intact, counted in pages_evicted, and reported to the mirrors that
// mapped them as a MIGRATE event with the TO_SYSTEM flag.  Needs
// HMM_MIRROR_FEAT_DEVICE_EVICT, which comes with device memory only:
// skipped, naming the bit, where the kernel has no CONFIG_DEVICE_PRIVATE
// (Debian's stock 6.1 and 6.12).

#include <sys/mman.h>

#include <vector>

#include "hmm_mirror_test.h"

namespace hmm_conformance {
namespace {

constexpr uint32_t kTo = 0;
constexpr uint32_t kEvict = HMM_MIRROR_MIGRATE_EVICT;
constexpr uint32_t kBack = HMM_MIRROR_MIGRATE_TO_SYSTEM;

struct Moved {
  std::vector<uint32_t> results;
  uint64_t moved = ~uint64_t{0};
  uint64_t not_moved = ~uint64_t{0};
};

Errno MigrateRange(const Mirror& m, uint64_t addr, uint64_t length,
                   uint32_t flags, Moved* out) {
  const uint64_t n = length / m.page_size();
  out->results.assign(n, kStateCanary);
  hmm_mirror_migrate a =
      MakeMigrate(addr, length, flags, out->results.data(), n);
  Errno rc = m.Call(HMM_MIRROR_IOC_MIGRATE, &a);
  out->moved = a.pages_moved;
  out->not_moved = a.pages_not_moved;
  return rc;
}

// How many results in [first, end) are want.
uint64_t CountResults(const std::vector<uint32_t>& r, size_t first,
                      size_t end, uint32_t want) {
  uint64_t n = 0;
  for (size_t i = first; i < end && i < r.size(); ++i) n += r[i] == want;
  return n;
}

hmm_mirror_stats StatsOf(const Mirror& m, uint32_t flags = 0) {
  hmm_mirror_stats s;
  EXPECT_EQ(kSuccess, m.Stats(&s, flags));
  return s;
}

class EvictTest : public FeatureTest<HMM_MIRROR_FEAT_DEVICE_EVICT> {
 protected:
  uint64_t PoolPages() const { return dev_.info().device_memory_size / page_; }
  uint64_t UsedPages() const {
    return StatsOf(dev_, HMM_MIRROR_STATS_GLOBAL).device_pages;
  }
};

TEST_F(EvictTest, ComesWithDeviceMemory) {
  EXPECT_TRUE(dev_.Has(HMM_MIRROR_FEAT_DEVICE_MEMORY));
  EXPECT_GT(dev_.info().device_memory_size, 0u);
}

// With room in the pool the flag changes nothing.
TEST_F(EvictTest, WithRoomNothingIsEvicted) {
  constexpr uint64_t kPages = 8;
  if (PoolPages() - UsedPages() < kPages)
    GTEST_SKIP() << "the pool has fewer than " << kPages << " free pages";
  Mapping m(kPages * page_);
  FillPattern(m.data(), m.size(), 53);
  const uint64_t evicted = StatsOf(dev_, HMM_MIRROR_STATS_GLOBAL).pages_evicted;
  Moved out;
  ASSERT_EQ(kSuccess, MigrateRange(dev_, m.addr(), m.size(), kTo | kEvict, &out));
  EXPECT_EQ(out.moved, kPages);
  EXPECT_EQ(out.not_moved, 0u);
  EXPECT_EQ(CountResults(out.results, 0, kPages, HMM_MIRROR_MIGRATE_MOVED), kPages);
  EXPECT_EQ(StatsOf(dev_, HMM_MIRROR_STATS_GLOBAL).pages_evicted, evicted);
  EXPECT_EQ(StatsOf(dev_).pages_evicted, 0u);
  std::vector<uint8_t> buf(m.size());
  ASSERT_EQ(kSuccess, dev_.Read(m.addr(), m.size(), buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), 53, m.addr()));
}

// The pool full of another mirror's pages: a move with EVICT takes the
// room of the oldest ones, which that mirror is told about.
TEST_F(EvictTest, FullPoolEvictsTheOldestPagesOfAnyMirror) {
  const uint64_t pool = PoolPages();
  if (pool > (uint64_t{256} << 20) / 4096)
    GTEST_SKIP() << "device memory of " << pool << " pages is too large to fill here";
  // Earlier tests' pages go when their processes and mappings do.
  if (!WaitFor([&] { return UsedPages() == 0; }))
    GTEST_SKIP() << UsedPages() << " pages of device memory in use by others: "
                 << "the oldest would not be this test's";
  constexpr uint64_t kNew = 32;

  Mirror other;
  ASSERT_EQ("", other.Open());
  Mapping old_pages(pool * page_);
  FillPattern(old_pages.data(), old_pages.size(), 51);
  Moved out;
  ASSERT_EQ(kSuccess,
            MigrateRange(other, old_pages.addr(), old_pages.size(), kTo, &out));
  ASSERT_EQ(out.moved, pool) << "the pool is not full";
  ASSERT_EQ(UsedPages(), pool);
  ASSERT_EQ(kSuccess, other.SetEvents(ReasonBit(HMM_MIRROR_EVENT_MIGRATE) |
                                      ReasonBit(HMM_MIRROR_EVENT_CLEAR)));
  DrainEvents(other.fd());
  const hmm_mirror_stats g0 = StatsOf(dev_, HMM_MIRROR_STATS_GLOBAL);
  const hmm_mirror_stats o0 = StatsOf(other);
  EXPECT_EQ(o0.pages_evicted, 0u);

  Mapping fresh(kNew * page_);
  FillPattern(fresh.data(), fresh.size(), 52);
  // Without the flag nothing fits.
  ASSERT_EQ(kSuccess, MigrateRange(dev_, fresh.addr(), fresh.size(), kTo, &out));
  EXPECT_EQ(out.moved, 0u);
  EXPECT_EQ(CountResults(out.results, 0, kNew, HMM_MIRROR_MIGRATE_NO_MEMORY), kNew);
  EXPECT_EQ(StatsOf(dev_, HMM_MIRROR_STATS_GLOBAL).pages_evicted, g0.pages_evicted);
  // With it, everything does.
  ASSERT_EQ(kSuccess,
            MigrateRange(dev_, fresh.addr(), fresh.size(), kTo | kEvict, &out));
  EXPECT_EQ(out.moved, kNew);
  EXPECT_EQ(out.not_moved, 0u);
  EXPECT_EQ(CountResults(out.results, 0, kNew, HMM_MIRROR_MIGRATE_MOVED), kNew);

  // The counters: kNew pages evicted, all of them the other mirror's.
  const hmm_mirror_stats g1 = StatsOf(dev_, HMM_MIRROR_STATS_GLOBAL);
  const hmm_mirror_stats o1 = StatsOf(other);
  const hmm_mirror_stats d1 = StatsOf(dev_);
  EXPECT_EQ(g1.pages_evicted, g0.pages_evicted + kNew);
  EXPECT_EQ(o1.pages_evicted, kNew);
  EXPECT_EQ(d1.pages_evicted, 0u);
  EXPECT_EQ(o1.device_pages, pool - kNew);
  EXPECT_EQ(d1.device_pages, kNew);
  EXPECT_EQ(g1.device_pages, pool);
  EXPECT_EQ(o1.pages_faulted_back, o0.pages_faulted_back);

  // The oldest: the first pages the other mirror moved, and only those.
  std::vector<uint32_t> st;
  ASSERT_EQ(kSuccess, dev_.Snapshot(old_pages.addr(), old_pages.size(), &st));
  EXPECT_TRUE(PagesHave(st, 0, kNew, HMM_MIRROR_PAGE_VALID,
                        HMM_MIRROR_PAGE_DEVICE));
  EXPECT_TRUE(PagesHave(st, kNew, pool,
                        HMM_MIRROR_PAGE_VALID | HMM_MIRROR_PAGE_DEVICE, 0));
  ASSERT_EQ(kSuccess, dev_.Snapshot(fresh.addr(), fresh.size(), &st));
  EXPECT_TRUE(PagesHave(st, 0, kNew,
                        HMM_MIRROR_PAGE_VALID | HMM_MIRROR_PAGE_DEVICE, 0));
  // The other mirror's device let go of the evicted pages only.
  ASSERT_EQ(kSuccess, other.Query(old_pages.addr(), 2 * kNew * page_, &st));
  EXPECT_TRUE(PagesAre(st, 0, kNew, 0));
  EXPECT_TRUE(PagesHave(st, kNew, 2 * kNew, HMM_MIRROR_PAGE_DEVICE, 0));

  // And was told: MIGRATE events, to system memory, over those pages.
  std::vector<hmm_mirror_event> all = DrainEvents(other.fd());
  EXPECT_TRUE(OfReason(all, HMM_MIRROR_EVENT_CLEAR).empty()) << EventsString(all);
  std::vector<hmm_mirror_event> ev = OfReason(all, HMM_MIRROR_EVENT_MIGRATE);
  ASSERT_GE(ev.size(), 1u) << EventsString(all);
  uint64_t pages = 0;
  for (const hmm_mirror_event& e : ev) {
    EXPECT_TRUE(WellFormed(e));
    EXPECT_EQ(e.flags, HMM_MIRROR_EVENT_FLAG_TO_SYSTEM) << EventString(e);
    EXPECT_GE(e.start, old_pages.addr()) << EventString(e);
    EXPECT_LE(e.end, old_pages.addr() + kNew * page_) << EventString(e);
    pages += e.pages;
  }
  EXPECT_EQ(pages, kNew);

  // The evicted pages' data is intact, in system memory: the CPU reads it
  // without faulting anything back.
  EXPECT_TRUE(HasPattern(old_pages.data(), kNew * page_, 51));
  EXPECT_EQ(StatsOf(other).pages_faulted_back, o0.pages_faulted_back);
  std::vector<uint8_t> buf(fresh.size());
  ASSERT_EQ(kSuccess, dev_.Read(fresh.addr(), fresh.size(), buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), 52, fresh.addr()));
  // And the rest when it comes back.
  ASSERT_EQ(kSuccess,
            MigrateRange(other, old_pages.addr(), old_pages.size(), kBack, &out));
  EXPECT_EQ(out.moved, pool - kNew);
  EXPECT_TRUE(HasPattern(old_pages.data(), old_pages.size(), 51));
}

// EVICT makes room in device memory: moving out with it is EINVAL, as is
// a flag the ABI does not define; nothing moves.
TEST_F(EvictTest, BadFlags) {
  constexpr uint64_t kPages = 4;
  Mapping m(kPages * page_);
  FillPattern(m.data(), m.size(), 54);
  std::vector<uint32_t> r(kPages);
  for (uint32_t flags : {kBack | kEvict, 1U << 2, kEvict | (1U << 31)}) {
    SCOPED_TRACE(flags);
    hmm_mirror_migrate a = MakeMigrate(m.addr(), m.size(), flags, r.data(), kPages);
    EXPECT_EQ(Errno(EINVAL), dev_.Call(HMM_MIRROR_IOC_MIGRATE, &a));
  }
  std::vector<uint32_t> st;
  ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), m.size(), &st));
  EXPECT_TRUE(PagesHave(st, 0, kPages, HMM_MIRROR_PAGE_VALID,
                        HMM_MIRROR_PAGE_DEVICE));
  EXPECT_EQ(StatsOf(dev_).pages_to_device, 0u);
}

// Without device memory there is nothing to evict: no bit, EOPNOTSUPP.
TEST(EvictWithoutDeviceMemory, IsNotAdvertisedAndEopnotsupp) {
  Mirror dev;
  ASSERT_EQ("", dev.Open());
  if (dev.Has(HMM_MIRROR_FEAT_DEVICE_MEMORY))
    GTEST_SKIP() << "the module has device memory";
  EXPECT_FALSE(dev.Has(HMM_MIRROR_FEAT_DEVICE_EVICT));
  Mapping m(OsPageSize());
  hmm_mirror_migrate a = MakeMigrate(m.addr(), m.size(), kEvict, nullptr, 0);
  EXPECT_EQ(Errno(EOPNOTSUPP), dev.Call(HMM_MIRROR_IOC_MIGRATE, &a));
  hmm_mirror_stats s;
  ASSERT_EQ(kSuccess, dev.Stats(&s, HMM_MIRROR_STATS_GLOBAL));
  EXPECT_EQ(s.pages_evicted, 0u);
}

}  // namespace
}  // namespace hmm_conformance
