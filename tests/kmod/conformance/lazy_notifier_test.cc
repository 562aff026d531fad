// SPDX-License-Identifier: MIT
//
// lazy_notifier_test.cc - HMM_MIRROR_FEAT_LAZY_NOTIFIERS (abi/README.md,
// "Lazy notifiers"): one mmu interval notifier per naturally aligned 1 GiB
// chunk, registered when the device first maps a page there, removed
// "shortly after" its last device page goes (once the mirror hears of the
// chunk again: a command, or churn there) and all of them when the mirror
// closes; churn in chunks where the device maps nothing costs the mirror
// nothing.  Observed through STATS (notifiers, invalidations), so
// also needs HMM_MIRROR_FEAT_STATS.
//
// The chunks are ChunkArea reservations: 1 GiB-aligned address space that
// nothing but the test maps, so no other activity of the process can
// invalidate there.

#include <sys/mman.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "hmm_mirror_test.h"

namespace hmm_conformance {
namespace {

constexpr uint32_t kValid = HMM_MIRROR_PAGE_VALID;

class LazyNotifierTest
    : public FeatureTest<HMM_MIRROR_FEAT_LAZY_NOTIFIERS | HMM_MIRROR_FEAT_STATS> {
 protected:
  static hmm_mirror_stats StatsOf(const Mirror& m, uint32_t flags = 0) {
    hmm_mirror_stats st;
    Errno rc = m.Stats(&st, flags);
    EXPECT_EQ(kSuccess, rc);
    if (rc != kSuccess) std::memset(&st, 0xff, sizeof(st));
    return st;
  }
  uint64_t Notifiers(const Mirror& m) const { return StatsOf(m).notifiers; }
  uint64_t Notifiers() const { return Notifiers(dev_); }
  uint64_t GlobalNotifiers() const {
    return StatsOf(dev_, HMM_MIRROR_STATS_GLOBAL).notifiers;
  }
};

TEST_F(LazyNotifierTest, FreshMirrorHasNoNotifier) {
  // The exit notifier on page 0 is not counted.
  EXPECT_EQ(Notifiers(), 0u);
  // Commands that map nothing keep no notifier: the one a snapshot's
  // walk needs goes after the grace period, like an emptied chunk's.
  Mapping m(4 * page_);
  FillPattern(m.data(), m.size(), 1);
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), m.size(), &s));
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &s));
  EXPECT_TRUE(WaitFor([&] { return Notifiers() == 0; }))
      << "notifiers " << Notifiers();
  // A FAULT that fails maps nothing either.
  Mapping none(4 * page_, PROT_NONE);
  EXPECT_EQ(Errno(EFAULT), dev_.Fault(none.addr(), none.size()));
  EXPECT_TRUE(WaitFor([&] { return Notifiers() == 0; }))
      << "notifiers " << Notifiers();
}

TEST_F(LazyNotifierTest, OneNotifierPerChunkWithDevicePages) {
  ChunkArea area(3);
  uint8_t* a = area.Map(0, 0, 16 * page_);
  uint8_t* a2 = area.Map(0, kChunkSize / 2, 16 * page_);
  uint8_t* c = area.Map(2, kChunkSize - 16 * page_, 16 * page_);
  FillPattern(a, 16 * page_, 2);
  FillPattern(a2, 16 * page_, 2);
  FillPattern(c, 16 * page_, 2);

  ASSERT_EQ(kSuccess, dev_.Fault(U64(a), page_));
  EXPECT_EQ(Notifiers(), 1u) << "first device page in chunk 0";
  ASSERT_EQ(kSuccess, dev_.Fault(U64(a), 16 * page_));
  ASSERT_EQ(kSuccess, dev_.Fault(U64(a2), 16 * page_));
  EXPECT_EQ(Notifiers(), 1u) << "more pages in the same chunk";
  ASSERT_EQ(kSuccess, dev_.Fault(U64(c), 16 * page_));
  EXPECT_EQ(Notifiers(), 2u) << "a second chunk, 2 GiB away";
  // READ's device faults register notifiers the same way.
  uint8_t* b = area.Map(1, 0, page_);
  FillPattern(b, page_, 3);
  Mapping buf(page_);
  ASSERT_EQ(kSuccess, dev_.Read(U64(b), page_, buf.data()));
  EXPECT_EQ(Notifiers(), 3u) << "a device fault in a third chunk";
}

TEST_F(LazyNotifierTest, EmptiedChunkLosesItsNotifierShortlyAfter) {
  ChunkArea area(2);
  uint8_t* a = area.Map(0, 0, 8 * page_);
  uint8_t* b = area.Map(1, 0, 8 * page_);
  FillPattern(a, 8 * page_, 4);
  FillPattern(b, 8 * page_, 4);
  ASSERT_EQ(kSuccess, dev_.Fault(U64(a), 8 * page_));
  ASSERT_EQ(kSuccess, dev_.Fault(U64(b), 8 * page_));
  ASSERT_EQ(Notifiers(), 2u);

  // Half of chunk 0's device pages go: the notifier stays.
  area.Unmap(0, 0, 4 * page_);
  usleep(100000);
  EXPECT_EQ(Notifiers(), 2u);
  // The rest go: removed "shortly after".
  area.Unmap(0, 4 * page_, 4 * page_);
  EXPECT_TRUE(WaitFor([&] { return Notifiers() == 1; }))
      << "notifiers " << Notifiers();

  // Chunk 1 is still mirrored and coherent.
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(U64(b), 8 * page_, &q));
  EXPECT_TRUE(PagesHave(q, 0, 8, kValid, 0));
  area.Unmap(1, 0, page_);
  ASSERT_EQ(kSuccess, dev_.Query(U64(b), 8 * page_, &q));
  EXPECT_TRUE(PagesAre(q, 0, 1, 0));

  // MADV_DONTNEED of the last pages also empties a chunk.
  area.Unmap(1, page_, 3 * page_);
  madvise(b + 4 * page_, 4 * page_, MADV_DONTNEED);
  EXPECT_TRUE(WaitFor([&] { return Notifiers() == 0; }))
      << "notifiers " << Notifiers();

  // A new device page in chunk 0 registers a notifier again, and it works.
  uint8_t* again = area.Map(0, 0, 2 * page_);
  FillPattern(again, 2 * page_, 5);
  ASSERT_EQ(kSuccess, dev_.Fault(U64(again), 2 * page_));
  EXPECT_EQ(Notifiers(), 1u);
  area.Unmap(0, 0, page_);
  ASSERT_EQ(kSuccess, dev_.Query(U64(again), 2 * page_, &q));
  EXPECT_TRUE(PagesAre(q, 0, 1, 0)) << "the new notifier missed the munmap";
  EXPECT_TRUE(PagesHave(q, 1, 2, kValid, 0));
}

TEST_F(LazyNotifierTest, ChurnInAnEmptiedChunkRemovesItsNotifierWithoutACommand) {
  // The munmap that empties a chunk only marks it; the next invalidation
  // that finds the chunk empty (like the next command) starts the grace
  // period, so churn there stops reaching the mirror shortly after, even
  // if the device never issues another command.
  ChunkArea area(1);
  uint8_t* a = area.Map(0, 0, 8 * page_);
  FillPattern(a, 8 * page_, 4);
  ASSERT_EQ(kSuccess, dev_.Fault(U64(a), 8 * page_));
  ASSERT_EQ(Notifiers(), 1u);
  area.Unmap(0, 0, 8 * page_);
  uint8_t* churn = area.Map(0, kChunkSize / 2, page_);
  FillPattern(churn, page_, 5);
  area.Unmap(0, kChunkSize / 2, page_);
  // No command until well after the grace period (about 200 ms).
  usleep(1000000);
  EXPECT_EQ(Notifiers(), 0u);
}

TEST_F(LazyNotifierTest, ChurnWhereTheDeviceMapsNothingCostsNothing) {
  ChunkArea area(2);
  uint8_t* mirrored = area.Map(0, 0, 4 * page_);
  FillPattern(mirrored, 4 * page_, 6);
  ASSERT_EQ(kSuccess, dev_.Fault(U64(mirrored), 4 * page_));
  const hmm_mirror_stats before = StatsOf(dev_);
  ASSERT_EQ(before.notifiers, 1u);

  // Churn in chunk 1, where the device maps nothing.
  for (int i = 0; i < 8; ++i) {
    uint8_t* p = area.Map(1, 0, 16 * page_);
    FillPattern(p, 16 * page_, 7);
    madvise(p, 8 * page_, MADV_DONTNEED);
    mprotect(p + 8 * page_, 4 * page_, PROT_READ);
    area.Unmap(1, 0, 16 * page_);
  }
  const hmm_mirror_stats after = StatsOf(dev_);
  EXPECT_EQ(TotalInvalidations(after), TotalInvalidations(before))
      << "before: " << StatsString(before) << "\nafter: " << StatsString(after);
  EXPECT_EQ(after.notifiers, 1u);
  EXPECT_EQ(after.pages_invalidated, before.pages_invalidated);

  // The same churn in chunk 0, next to the device's pages (which it never
  // touches), is seen by that chunk's notifier: the counter works.
  for (int i = 0; i < 2; ++i) {
    uint8_t* p = area.Map(0, kChunkSize / 2, 16 * page_);
    FillPattern(p, 16 * page_, 8);
    area.Unmap(0, kChunkSize / 2, 16 * page_);
  }
  const hmm_mirror_stats near = StatsOf(dev_);
  EXPECT_GT(TotalInvalidations(near), TotalInvalidations(after))
      << StatsString(near);
  EXPECT_EQ(near.pages_invalidated, before.pages_invalidated)
      << "the device's own pages were never touched";
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(U64(mirrored), 4 * page_, &q));
  EXPECT_TRUE(PagesHave(q, 0, 4, kValid, 0));
}

TEST_F(LazyNotifierTest, ClosingAMirrorRemovesAllItsNotifiers) {
  // The global count covers the open mirrors: let earlier tests' mirrors
  // settle, then compare.
  uint64_t base = GlobalNotifiers();
  WaitFor([&] {
    uint64_t now = GlobalNotifiers();
    bool same = now == base;
    base = now;
    return same;
  }, 1000);
  ChunkArea area(2);
  uint8_t* a = area.Map(0, 0, 4 * page_);
  uint8_t* b = area.Map(1, 0, 4 * page_);
  FillPattern(a, 4 * page_, 9);
  FillPattern(b, 4 * page_, 9);
  {
    Mirror other;
    ASSERT_EQ("", other.Open());
    ASSERT_EQ(kSuccess, other.Fault(U64(a), 4 * page_));
    ASSERT_EQ(kSuccess, other.Fault(U64(b), 4 * page_));
    EXPECT_EQ(Notifiers(other), 2u);
    EXPECT_EQ(GlobalNotifiers(), base + 2);
  }
  EXPECT_TRUE(WaitFor([&] { return GlobalNotifiers() == base; }))
      << "global notifiers " << GlobalNotifiers() << ", before " << base;
}

TEST_F(LazyNotifierTest, TwoMirrorsCountTheirOwnNotifiers) {
  Mirror other;
  ASSERT_EQ("", other.Open());
  ChunkArea area(2);
  uint8_t* a = area.Map(0, 0, 4 * page_);
  uint8_t* b = area.Map(1, 0, 4 * page_);
  FillPattern(a, 4 * page_, 10);
  FillPattern(b, 4 * page_, 10);
  ASSERT_EQ(kSuccess, dev_.Fault(U64(a), 4 * page_));
  ASSERT_EQ(kSuccess, other.Fault(U64(a), 4 * page_));
  ASSERT_EQ(kSuccess, other.Fault(U64(b), 4 * page_));
  EXPECT_EQ(Notifiers(dev_), 1u);
  EXPECT_EQ(Notifiers(other), 2u);
  // Both see an invalidation in the shared chunk.
  area.Unmap(0, 0, page_);
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(U64(a), 4 * page_, &q));
  EXPECT_TRUE(PagesAre(q, 0, 1, 0));
  ASSERT_EQ(kSuccess, other.Query(U64(a), 4 * page_, &q));
  EXPECT_TRUE(PagesAre(q, 0, 1, 0));
}

TEST_F(LazyNotifierTest, DeviceEntriesDoNotCrossAChunk) {
  // A range across a 1 GiB boundary: both chunks get their notifier, and
  // an invalidation on either side reaches the device.
  ChunkArea area(2);
  uint8_t* p = area.Map(0, kChunkSize - 4 * page_, 8 * page_);
  FillPattern(p, 8 * page_, 11);
  ASSERT_EQ(kSuccess, dev_.Fault(U64(p), 8 * page_, HMM_MIRROR_FAULT_WRITE));
  EXPECT_EQ(Notifiers(), 2u);
  area.Unmap(0, kChunkSize - page_, 2 * page_);  // the two boundary pages
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(U64(p), 8 * page_, &q));
  EXPECT_TRUE(PagesHave(q, 0, 3, kValid, 0));
  EXPECT_TRUE(PagesAre(q, 3, 5, 0));
  EXPECT_TRUE(PagesHave(q, 5, 8, kValid, 0));
}

TEST_F(LazyNotifierTest, CommandsRacingTheCollectorLeaveNothingBehind) {
  // Chunks go idle and come back while the collector frees idle ones: one
  // thread SNAPSHOTs (a walk takes and drops a chunk that maps nothing),
  // the other FAULTs and drops pages, for 8 chunks over about 3 s, so
  // collections run while commands take and drop chunks.  A command must
  // never look at a chunk the collector may free (under KASAN on the debug
  // kernel, a use-after-free is a report that fails the run); afterwards
  // every notifier goes.
  constexpr unsigned kChunks = 8;
  ChunkArea area(kChunks);
  std::vector<uint8_t*> p(kChunks);
  for (unsigned i = 0; i < kChunks; ++i) {
    p[i] = area.Map(i, 0, 4 * page_);
    FillPattern(p[i], 4 * page_, 12);
  }
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  std::atomic<int> snapshot_errors{0};
  std::atomic<long> snapshots{0};
  std::thread walker([&] {
    std::vector<uint32_t> s;
    for (unsigned i = 0; std::chrono::steady_clock::now() < end; ++i) {
      if (dev_.Snapshot(U64(p[i % kChunks]) + page_, page_, &s) != kSuccess)
        ++snapshot_errors;
      ++snapshots;
    }
  });
  long rounds = 0;
  int fault_errors = 0;
  for (unsigned i = 0; std::chrono::steady_clock::now() < end; ++i) {
    uint8_t* q = p[(i * 3) % kChunks];
    fault_errors += dev_.Fault(U64(q), page_) != kSuccess;
    madvise(q, page_, MADV_DONTNEED);  // the chunk maps nothing again
    q[0] = 1;
    if (i % 16 == 15) usleep(50000);  // let a collection find idle chunks
    ++rounds;
  }
  walker.join();
  RecordProperty("snapshots", static_cast<int>(snapshots.load()));
  RecordProperty("fault_rounds", static_cast<int>(rounds));
  EXPECT_EQ(snapshot_errors.load(), 0);
  EXPECT_EQ(fault_errors, 0);
  EXPECT_GT(snapshots.load(), 0);
  EXPECT_GT(rounds, 0);
  std::vector<uint32_t> q;
  for (unsigned i = 0; i < kChunks; ++i) {
    ASSERT_EQ(kSuccess, dev_.Query(U64(p[i]), 4 * page_, &q));
    EXPECT_TRUE(PagesAre(q, 0, 4, 0)) << "chunk " << i;
  }
  EXPECT_TRUE(WaitFor([&] { return Notifiers() == 0; }))
      << "notifiers " << Notifiers();
}

}  // namespace
}  // namespace hmm_conformance
