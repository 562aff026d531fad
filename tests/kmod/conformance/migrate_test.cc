// SPDX-License-Identifier: MIT
//
// migrate_test.cc - device memory (ABI 4): MIGRATE into the device's
// private memory and back, the device copying through its own pages, CPU
// accesses faulting pages back (with a MIGRATE event), and the life of
// pages in device memory across fork, munmap, mprotect, exit and a full
// pool.  Every test but the last needs HMM_MIRROR_FEAT_DEVICE_MEMORY,
// which a kernel without CONFIG_DEVICE_PRIVATE (Debian's stock 6.1 and
// 6.12) does not give: they are skipped there, naming the bit.

#include <sys/mman.h>

#include <vector>

#include "hmm_mirror_test.h"

namespace hmm_conformance {
namespace {

constexpr uint32_t kTo = 0;
constexpr uint32_t kBack = HMM_MIRROR_MIGRATE_TO_SYSTEM;

struct MigrateOut {
  std::vector<uint32_t> results;
  uint64_t moved = ~uint64_t{0};
  uint64_t not_moved = ~uint64_t{0};
};

Errno Migrate(const Mirror& m, uint64_t addr, uint64_t length, uint32_t flags,
              MigrateOut* out) {
  const uint64_t n = length / m.page_size();
  out->results.assign(n, kStateCanary);
  hmm_mirror_migrate a =
      MakeMigrate(addr, length, flags, out->results.data(), n);
  Errno rc = m.Call(HMM_MIRROR_IOC_MIGRATE, &a);
  out->moved = a.pages_moved;
  out->not_moved = a.pages_not_moved;
  return rc;
}

uint64_t GlobalDevicePages(const Mirror& m) {
  hmm_mirror_stats s;
  if (m.Stats(&s, HMM_MIRROR_STATS_GLOBAL) != kSuccess) return ~uint64_t{0};
  return s.device_pages;
}

class MigrateTest : public FeatureTest<HMM_MIRROR_FEAT_DEVICE_MEMORY> {
 protected:
  static constexpr uint64_t kPages = 8;

  void SetUp() override {
    FeatureTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    map_.reset(new Mapping(kPages * page_));
    FillPattern(map_->data(), map_->size(), 41);
  }

  uint64_t addr() const { return map_->addr(); }
  uint64_t len() const { return map_->size(); }

  void ToDevice() {
    MigrateOut out;
    ASSERT_EQ(kSuccess, Migrate(dev_, addr(), len(), kTo, &out));
    ASSERT_TRUE(ResultsAre(out.results, 0, kPages,
                           HMM_MIRROR_MIGRATE_MOVED));
  }

  std::unique_ptr<Mapping> map_;
};

TEST_F(MigrateTest, HandshakeReportsThePool) {
  const hmm_mirror_handshake& hs = dev_.info();
  EXPECT_GT(hs.device_memory_size, 0u);
  EXPECT_EQ(hs.device_memory_size % page_, 0u);
  EXPECT_LE(hs.device_memory_used, hs.device_memory_size);
  EXPECT_NE(hs.ioctls_supported & (1ULL << HMM_MIRROR_NR_MIGRATE), 0u);
  hmm_mirror_stats s;
  ASSERT_EQ(kSuccess, dev_.Stats(&s));
  EXPECT_EQ(s.device_memory_pages * page_, hs.device_memory_size);
}

TEST_F(MigrateTest, ToDeviceAndBack) {
  MigrateOut out;
  ASSERT_EQ(kSuccess, Migrate(dev_, addr(), len(), kTo, &out));
  EXPECT_TRUE(ResultsAre(out.results, 0, kPages, HMM_MIRROR_MIGRATE_MOVED));
  EXPECT_EQ(out.moved, kPages);
  EXPECT_EQ(out.not_moved, 0u);

  std::vector<uint32_t> st;
  ASSERT_EQ(kSuccess, dev_.Snapshot(addr(), len(), &st));
  EXPECT_TRUE(PagesAre(st, 0, kPages,
                       HMM_MIRROR_PAGE_VALID | HMM_MIRROR_PAGE_WRITE |
                           HMM_MIRROR_PAGE_DEVICE));
  // The device maps what it moved.
  ASSERT_EQ(kSuccess, dev_.Query(addr(), len(), &st));
  EXPECT_TRUE(PagesAre(st, 0, kPages,
                       HMM_MIRROR_PAGE_VALID | HMM_MIRROR_PAGE_WRITE |
                           HMM_MIRROR_PAGE_DEVICE));

  ASSERT_EQ(kSuccess, Migrate(dev_, addr(), len(), kTo, &out));
  EXPECT_TRUE(ResultsAre(out.results, 0, kPages, HMM_MIRROR_MIGRATE_ALREADY));
  EXPECT_EQ(out.moved, 0u);
  EXPECT_EQ(out.not_moved, 0u);

  ASSERT_EQ(kSuccess, Migrate(dev_, addr(), len(), kBack, &out));
  EXPECT_TRUE(ResultsAre(out.results, 0, kPages, HMM_MIRROR_MIGRATE_MOVED));
  EXPECT_EQ(out.moved, kPages);
  ASSERT_EQ(kSuccess, dev_.Snapshot(addr(), len(), &st));
  EXPECT_TRUE(PagesHave(st, 0, kPages, HMM_MIRROR_PAGE_VALID,
                        HMM_MIRROR_PAGE_DEVICE));
  ASSERT_EQ(kSuccess, dev_.Query(addr(), len(), &st));
  EXPECT_TRUE(PagesAre(st, 0, kPages, 0));
  EXPECT_TRUE(HasPattern(map_->data(), len(), 41));

  ASSERT_EQ(kSuccess, Migrate(dev_, addr(), len(), kBack, &out));
  EXPECT_TRUE(ResultsAre(out.results, 0, kPages, HMM_MIRROR_MIGRATE_ALREADY));
}

TEST_F(MigrateTest, ResultsAreOptional) {
  hmm_mirror_migrate a = MakeMigrate(addr(), len(), kTo, nullptr, 0);
  ASSERT_EQ(kSuccess, dev_.Call(HMM_MIRROR_IOC_MIGRATE, &a));
  EXPECT_EQ(a.pages_moved, kPages);
  a = MakeMigrate(addr(), len(), kBack, nullptr, 0);
  ASSERT_EQ(kSuccess, dev_.Call(HMM_MIRROR_IOC_MIGRATE, &a));
  EXPECT_EQ(a.pages_moved, kPages);
  EXPECT_TRUE(HasPattern(map_->data(), len(), 41));
}

TEST_F(MigrateTest, DeviceReadsAndWritesDevicePages) {
  ToDevice();
  if (HasFatalFailure()) return;
  std::vector<uint8_t> buf(len());
  ASSERT_EQ(kSuccess, dev_.Read(addr(), len(), buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), len(), 41, addr()));
  FillPatternAs(buf.data(), len(), 42, addr());
  ASSERT_EQ(kSuccess, dev_.Write(addr(), len(), buf.data()));
  // The device used its own pages: nothing came back.
  std::vector<uint32_t> st;
  ASSERT_EQ(kSuccess, dev_.Snapshot(addr(), len(), &st));
  EXPECT_TRUE(PagesHave(st, 0, kPages, HMM_MIRROR_PAGE_DEVICE, 0));
  hmm_mirror_stats s;
  ASSERT_EQ(kSuccess, dev_.Stats(&s));
  EXPECT_EQ(s.pages_faulted_back, 0u);

  MigrateOut out;
  ASSERT_EQ(kSuccess, Migrate(dev_, addr(), len(), kBack, &out));
  EXPECT_TRUE(HasPattern(map_->data(), len(), 42));
}

TEST_F(MigrateTest, AnotherMirrorUsesTheSamePages) {
  ToDevice();
  if (HasFatalFailure()) return;
  Mirror other;
  ASSERT_EQ("", other.Open());
  std::vector<uint8_t> buf(len());
  ASSERT_EQ(kSuccess, other.Read(addr(), len(), buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), len(), 41, addr()));
  std::vector<uint32_t> st;
  ASSERT_EQ(kSuccess, other.Query(addr(), len(), &st));
  EXPECT_TRUE(PagesHave(st, 0, kPages, HMM_MIRROR_PAGE_DEVICE, 0));
}

class MigrateFaultBackTest : public MigrateTest,
                             public ::testing::WithParamInterface<bool> {};

TEST_P(MigrateFaultBackTest, CpuAccessBringsThePageBack) {
  const bool write = GetParam();
  ASSERT_EQ(kSuccess, dev_.SetEvents(ReasonBit(HMM_MIRROR_EVENT_MIGRATE)));
  ToDevice();
  if (HasFatalFailure()) return;
  DrainEvents(dev_.fd());
  hmm_mirror_stats before;
  ASSERT_EQ(kSuccess, dev_.Stats(&before));

  // One CPU access to page 2.
  volatile uint64_t* p = reinterpret_cast<volatile uint64_t*>(map_->at(2 * page_));
  const uint64_t want = PatternWord(41, addr() + 2 * page_);
  if (write) {
    p[1] = 0x1234;
    EXPECT_EQ(p[0], want);
  } else {
    EXPECT_EQ(p[0], want);
  }

  std::vector<uint32_t> st;
  ASSERT_EQ(kSuccess, dev_.Snapshot(addr(), len(), &st));
  EXPECT_TRUE(PagesHave(st, 2, 3, HMM_MIRROR_PAGE_VALID,
                        HMM_MIRROR_PAGE_DEVICE));
  EXPECT_TRUE(PagesHave(st, 0, 2, HMM_MIRROR_PAGE_DEVICE, 0));
  EXPECT_TRUE(PagesHave(st, 3, kPages, HMM_MIRROR_PAGE_DEVICE, 0));
  // The device let go of it.
  ASSERT_EQ(kSuccess, dev_.Query(addr(), len(), &st));
  EXPECT_TRUE(PagesAre(st, 2, 3, 0));

  std::vector<hmm_mirror_event> ev =
      OfReason(DrainEvents(dev_.fd()), HMM_MIRROR_EVENT_MIGRATE);
  ASSERT_EQ(ev.size(), 1u) << EventsString(ev);
  EXPECT_TRUE(WellFormed(ev[0]));
  EXPECT_EQ(ev[0].flags, HMM_MIRROR_EVENT_FLAG_TO_SYSTEM);
  EXPECT_EQ(ev[0].start, addr() + 2 * page_);
  EXPECT_EQ(ev[0].end, addr() + 3 * page_);
  EXPECT_EQ(ev[0].pages, 1u);

  hmm_mirror_stats after;
  ASSERT_EQ(kSuccess, dev_.Stats(&after));
  EXPECT_EQ(after.pages_faulted_back, before.pages_faulted_back + 1);
  EXPECT_EQ(after.device_pages, before.device_pages - 1);

  // The rest comes back intact; the device sees the CPU's store.
  std::vector<uint8_t> buf(len());
  ASSERT_EQ(kSuccess, dev_.Read(addr(), len(), buf.data()));
  if (write) {
    EXPECT_EQ(reinterpret_cast<uint64_t*>(buf.data() + 2 * page_)[1], 0x1234u);
    p[1] = PatternWord(41, addr() + 2 * page_ + 8);
    ASSERT_EQ(kSuccess, dev_.Read(addr(), len(), buf.data()));
  }
  EXPECT_TRUE(HasPatternAs(buf.data(), len(), 41, addr()));
  EXPECT_TRUE(HasPattern(map_->data(), len(), 41));
}

INSTANTIATE_TEST_SUITE_P(ReadWrite, MigrateFaultBackTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return std::string(i.param ? "Write" : "Read");
                         });

TEST_F(MigrateTest, EventOnTheMoveToTheDevice) {
  ASSERT_EQ(kSuccess, dev_.SetEvents(ReasonBit(HMM_MIRROR_EVENT_MIGRATE)));
  ASSERT_EQ(kSuccess, dev_.Fault(addr(), len()));
  ToDevice();
  if (HasFatalFailure()) return;
  std::vector<hmm_mirror_event> ev =
      OfReason(DrainEvents(dev_.fd()), HMM_MIRROR_EVENT_MIGRATE);
  ASSERT_GE(ev.size(), 1u);
  uint64_t pages = 0;
  for (const hmm_mirror_event& e : ev) {
    EXPECT_TRUE(WellFormed(e));
    EXPECT_EQ(e.flags, HMM_MIRROR_EVENT_FLAG_TO_DEVICE) << EventString(e);
    pages += e.pages;
  }
  EXPECT_EQ(pages, kPages);
  MigrateOut out;
  ASSERT_EQ(kSuccess, Migrate(dev_, addr(), len(), kBack, &out));
  ev = OfReason(DrainEvents(dev_.fd()), HMM_MIRROR_EVENT_MIGRATE);
  ASSERT_GE(ev.size(), 1u);
  for (const hmm_mirror_event& e : ev)
    EXPECT_EQ(e.flags, HMM_MIRROR_EVENT_FLAG_TO_SYSTEM) << EventString(e);
}

TEST_F(MigrateTest, UnpopulatedPagesArriveZeroed) {
  Mapping fresh(4 * page_);
  MigrateOut out;
  ASSERT_EQ(kSuccess, Migrate(dev_, fresh.addr(), fresh.size(), kTo, &out));
  EXPECT_TRUE(ResultsAre(out.results, 0, 4, HMM_MIRROR_MIGRATE_MOVED));
  std::vector<uint8_t> buf(fresh.size(), kCanaryByte);
  ASSERT_EQ(kSuccess, dev_.Read(fresh.addr(), fresh.size(), buf.data()));
  EXPECT_TRUE(IsFilledWith(buf.data(), buf.size(), 0));
  EXPECT_TRUE(IsFilledWith(fresh.data(), fresh.size(), 0));
}

TEST_F(MigrateTest, WhatCannotMoveIsReported) {
  // A file page (shared memfd) and a hole between two anonymous pages.
  int fd = memfd_create("hmm-migrate", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(0, ftruncate(fd, static_cast<off_t>(page_)));
  Mapping area(4 * page_);
  FillPattern(area.data(), area.size(), 43);
  area.Unmap(1 * page_, page_);
  void* f = mmap(area.at(2 * page_), page_, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_FIXED, fd, 0);
  close(fd);
  ASSERT_NE(f, MAP_FAILED);
  static_cast<uint8_t*>(f)[0] = 7;

  MigrateOut out;
  ASSERT_EQ(kSuccess, Migrate(dev_, area.addr(), area.size(), kTo, &out));
  EXPECT_EQ(out.results[0], uint32_t{HMM_MIRROR_MIGRATE_MOVED});
  EXPECT_EQ(out.results[1], uint32_t{HMM_MIRROR_MIGRATE_NOT_MOVABLE});
  EXPECT_EQ(out.results[2], uint32_t{HMM_MIRROR_MIGRATE_NOT_MOVABLE});
  EXPECT_EQ(out.results[3], uint32_t{HMM_MIRROR_MIGRATE_MOVED});
  EXPECT_EQ(out.moved, 2u);
  EXPECT_EQ(out.not_moved, 2u);
  EXPECT_EQ(static_cast<uint8_t*>(f)[0], 7);
  EXPECT_TRUE(HasPattern(area.at(0), page_, 43));
  EXPECT_TRUE(HasPatternAs(area.at(3 * page_), page_, 43,
                           area.addr() + 3 * page_));
}

TEST_F(MigrateTest, TransparentHugePageMovesAs4K) {
  // A 2M-aligned THP, split by the move (device pages are 4K).
  Mapping big(2 * kHugeSize, PROT_READ | PROT_WRITE, -1);
  const uint64_t base = (big.addr() + kHugeSize - 1) & ~(kHugeSize - 1);
  uint8_t* p = reinterpret_cast<uint8_t*>(base);
  madvise(p, kHugeSize, MADV_HUGEPAGE);
  FillPattern(p, kHugeSize, 44);
  const uint64_t n = kHugeSize / page_;
  MigrateOut out;
  ASSERT_EQ(kSuccess, Migrate(dev_, base, kHugeSize, kTo, &out));
  EXPECT_EQ(out.moved + out.not_moved, n);
  EXPECT_EQ(out.moved, n);
  std::vector<uint32_t> st;
  ASSERT_EQ(kSuccess, dev_.Snapshot(base, kHugeSize, &st));
  EXPECT_TRUE(PagesOfOrder(st, 0, n, 0));
  EXPECT_TRUE(PagesHave(st, 0, n, HMM_MIRROR_PAGE_DEVICE, 0));
  EXPECT_TRUE(HasPattern(p, kHugeSize, 44));
}

TEST_F(MigrateTest, ForkSharesADevicePageCopyOnWrite) {
  ToDevice();
  if (HasFatalFailure()) return;
  uint8_t* data = map_->data();
  const uint64_t length = len();
  Child child([data, length]() {
    if (!HasPattern(data, length, 41)) return 1;
    FillPattern(data, length, 45);
    return HasPattern(data, length, 45) ? 0 : 2;
  });
  EXPECT_EQ(child.Wait(), 0);
  // The parent's copy is its own.
  std::vector<uint8_t> buf(len());
  ASSERT_EQ(kSuccess, dev_.Read(addr(), len(), buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), len(), 41, addr()));
  EXPECT_TRUE(HasPattern(map_->data(), len(), 41));
  // And writable by the parent after the child is gone.
  FillPattern(map_->data(), len(), 46);
  ASSERT_EQ(kSuccess, dev_.Read(addr(), len(), buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), len(), 46, addr()));
}

TEST_F(MigrateTest, MunmapFreesDevicePages) {
  const uint64_t base = GlobalDevicePages(dev_);
  ToDevice();
  if (HasFatalFailure()) return;
  hmm_mirror_stats s;
  ASSERT_EQ(kSuccess, dev_.Stats(&s));
  EXPECT_EQ(s.device_pages, kPages);
  EXPECT_GE(GlobalDevicePages(dev_), base + kPages);
  map_.reset();
  ASSERT_EQ(kSuccess, dev_.Stats(&s));
  EXPECT_EQ(s.device_pages, 0u);
  EXPECT_TRUE(WaitFor([&] { return GlobalDevicePages(dev_) <= base; }));
}

TEST_F(MigrateTest, MprotectKeepsDevicePages) {
  ToDevice();
  if (HasFatalFailure()) return;
  map_->Protect(0, len(), PROT_READ);
  std::vector<uint8_t> buf(len());
  ASSERT_EQ(kSuccess, dev_.Read(addr(), len(), buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), len(), 41, addr()));
  EXPECT_EQ(Errno(EPERM), dev_.Write(addr(), len(), buf.data()));
  EXPECT_TRUE(HasPattern(map_->data(), len(), 41));  // CPU reads: back
  map_->Protect(0, len(), PROT_READ | PROT_WRITE);
  MigrateOut out;
  ASSERT_EQ(kSuccess, Migrate(dev_, addr(), len(), kTo, &out));
  EXPECT_TRUE(ResultsAre(out.results, 0, kPages, HMM_MIRROR_MIGRATE_MOVED));
  FillPatternAs(buf.data(), len(), 47, addr());
  ASSERT_EQ(kSuccess, dev_.Write(addr(), len(), buf.data()));
  EXPECT_TRUE(HasPattern(map_->data(), len(), 47));
}

TEST_F(MigrateTest, ExitFreesDevicePages) {
  const uint64_t base = GlobalDevicePages(dev_);
  Child child([this]() {
    Mirror m;
    if (!m.Open().empty()) return 1;
    Mapping mine(16 * page_);
    FillPattern(mine.data(), mine.size(), 48);
    MigrateOut out;
    if (Migrate(m, mine.addr(), mine.size(), kTo, &out) != kSuccess)
      return 2;
    if (out.moved != 16) return 3;
    if (GlobalDevicePages(m) < 16) return 4;
    _exit(0);  // with the pages in device memory and the mirror open
  });
  EXPECT_EQ(child.Wait(), 0);
  EXPECT_TRUE(WaitFor([&] { return GlobalDevicePages(dev_) <= base; }))
      << GlobalDevicePages(dev_) << " pages in device memory, " << base
      << " before";
}

TEST_F(MigrateTest, FullPoolMovesWhatFitsAndLosesNothing) {
  const uint64_t pool = dev_.info().device_memory_size / page_;
  if (pool > (uint64_t{256} << 20) / 4096)
    GTEST_SKIP() << "device memory of " << pool << " pages is too large to fill here";
  const uint64_t n = pool + 64;
  hmm_mirror_stats g0;
  ASSERT_EQ(kSuccess, dev_.Stats(&g0, HMM_MIRROR_STATS_GLOBAL));
  Mapping big(n * page_);
  FillPattern(big.data(), big.size(), 49);
  MigrateOut out;
  ASSERT_EQ(kSuccess, Migrate(dev_, big.addr(), big.size(), kTo, &out));
  EXPECT_EQ(out.moved + out.not_moved, n);
  EXPECT_LE(out.moved, pool);
  EXPECT_GE(out.not_moved, 64u);
  uint64_t moved = 0, no_memory = 0;
  for (uint32_t r : out.results) {
    moved += r == HMM_MIRROR_MIGRATE_MOVED;
    no_memory += r == HMM_MIRROR_MIGRATE_NO_MEMORY;
  }
  EXPECT_EQ(moved, out.moved);
  EXPECT_EQ(no_memory, out.not_moved);
  hmm_mirror_stats s;
  ASSERT_EQ(kSuccess, dev_.Stats(&s));
  EXPECT_EQ(s.pages_no_memory, no_memory);
  // Without HMM_MIRROR_MIGRATE_EVICT nothing makes room.
  EXPECT_EQ(s.pages_evicted, 0u);
  ASSERT_EQ(kSuccess, dev_.Stats(&s, HMM_MIRROR_STATS_GLOBAL));
  EXPECT_EQ(s.pages_evicted, g0.pages_evicted);
  std::vector<uint8_t> buf(64 * page_);
  ASSERT_EQ(kSuccess, dev_.Read(big.addr(), buf.size(), buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), 49, big.addr()));
  ASSERT_EQ(kSuccess, Migrate(dev_, big.addr(), big.size(), kBack, &out));
  EXPECT_EQ(out.moved, moved);
  EXPECT_TRUE(HasPattern(big.data(), big.size(), 49));
}

TEST_F(MigrateTest, BadInput) {
  std::vector<uint32_t> r(kPages);
  // 1 << 2: the first flag bit ABI 5 does not define (EVICT is 1 << 1).
  hmm_mirror_migrate a = MakeMigrate(addr(), len(), 1U << 2, r.data(), kPages);
  EXPECT_EQ(Errno(EINVAL), dev_.Call(HMM_MIRROR_IOC_MIGRATE, &a));
  a = MakeMigrate(addr(), len(), kTo, r.data(), kPages - 1);
  EXPECT_EQ(Errno(EINVAL), dev_.Call(HMM_MIRROR_IOC_MIGRATE, &a));
  a = MakeMigrate(addr(), len(), kTo, nullptr, kPages);
  EXPECT_EQ(Errno(EINVAL), dev_.Call(HMM_MIRROR_IOC_MIGRATE, &a));
  a = MakeMigrate(addr() + 1, len(), kTo, r.data(), kPages);
  EXPECT_EQ(Errno(EINVAL), dev_.Call(HMM_MIRROR_IOC_MIGRATE, &a));
  a = MakeMigrate(addr(), 0, kTo, r.data(), kPages);
  EXPECT_EQ(Errno(EINVAL), dev_.Call(HMM_MIRROR_IOC_MIGRATE, &a));
  a = MakeMigrate(addr(), len(), kTo,
                  reinterpret_cast<uint32_t*>(kKernelAddr), kPages);
  EXPECT_EQ(Errno(EFAULT), dev_.Call(HMM_MIRROR_IOC_MIGRATE, &a));
  // Nothing moved by a rejected call.
  std::vector<uint32_t> st;
  ASSERT_EQ(kSuccess, dev_.Snapshot(addr(), len(), &st));
  EXPECT_TRUE(PagesHave(st, 0, kPages, HMM_MIRROR_PAGE_VALID,
                        HMM_MIRROR_PAGE_DEVICE));
}

// Without device memory the command exists and says so.
TEST(MigrateWithoutDeviceMemory, IsEopnotsupp) {
  Mirror dev;
  ASSERT_EQ("", dev.Open());
  if (dev.Has(HMM_MIRROR_FEAT_DEVICE_MEMORY))
    GTEST_SKIP() << "the module has device memory";
  EXPECT_EQ(dev.info().device_memory_size, 0u);
  Mapping m(OsPageSize());
  hmm_mirror_migrate a = MakeMigrate(m.addr(), m.size(), 0, nullptr, 0);
  EXPECT_EQ(Errno(EOPNOTSUPP), dev.Call(HMM_MIRROR_IOC_MIGRATE, &a));
}

}  // namespace
}  // namespace hmm_conformance
