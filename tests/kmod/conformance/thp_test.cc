// SPDX-License-Identifier: MIT
//
// thp_test.cc - transparent huge pages: SNAPSHOT reports the order of the
// CPU mapping; with HMM_MIRROR_FEAT_HUGE_ENTRIES "2M CPU mappings become
// single device entries" (order 9 in QUERY); splitting the huge mapping
// must not leave a huge device entry behind.
//
// Skipped when the kernel has no THP or cannot give one (environment
// limits); a THP that the kernel did give but SNAPSHOT does not report is
// a failure.

#include <sys/mman.h>

#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "hmm_mirror_test.h"

namespace hmm_conformance {
namespace {

constexpr uint32_t kValid = HMM_MIRROR_PAGE_VALID;
constexpr uint32_t kWrite = HMM_MIRROR_PAGE_WRITE;
constexpr const char kThpEnabled[] = "/sys/kernel/mm/transparent_hugepage/enabled";

class ThpTest : public MirrorTest {
 protected:
  void SetUp() override {
    MirrorTest::SetUp();
    if (HasFatalFailure()) return;
    std::ifstream f(kThpEnabled);
    std::string mode;
    if (!std::getline(f, mode))
      GTEST_SKIP() << kThpEnabled << " is missing: kernel without THP";
    if (mode.find("[never]") != std::string::npos)
      GTEST_SKIP() << "THP is disabled (" << mode << ")";
    huge_entries_ = dev_.info().features_supported & HMM_MIRROR_FEAT_HUGE_ENTRIES;
    area_.reset(new Mapping(2 * kHugeSize, PROT_READ | PROT_WRITE, -1));
    const uint64_t off =
        ((area_->addr() + kHugeSize - 1) & ~(kHugeSize - 1)) - area_->addr();
    block_ = area_->at(off);
    block_off_ = off;
    area_->Advise(off, kHugeSize, MADV_HUGEPAGE);
    FillPattern(block_, kHugeSize, 1);

    const long kb = AnonHugeKb(U64(block_));
    if (kb < 2048)
      GTEST_SKIP() << "the kernel did not back the aligned 2 MiB block with a "
                      "huge page (AnonHugePages " << kb << " kB)";
    std::vector<uint32_t> s;
    ASSERT_EQ(kSuccess, dev_.Snapshot(addr(), kHugeSize, &s));
    ASSERT_TRUE(PagesAre(s, 0, kPages, kValid | kWrite | (kHugeOrder << 8)))
        << "smaps shows a THP; SNAPSHOT must report it as order 9";
  }

  uint64_t addr(uint64_t page = 0) const { return U64(block_) + page * page_; }
  uint32_t DeviceOrder() const { return huge_entries_ ? kHugeOrder : 0; }

  static constexpr uint64_t kPages = kHugeSize / 4096;
  bool huge_entries_ = false;
  std::unique_ptr<Mapping> area_;
  uint8_t* block_ = nullptr;
  uint64_t block_off_ = 0;
};

TEST_F(ThpTest, HugeMappingIsMirroredWhole) {
  hmm_mirror_fault f;
  ASSERT_EQ(kSuccess, dev_.Fault(addr(), kHugeSize, 0, &f));
  EXPECT_EQ(f.pages_mapped, kPages);
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(addr(), kHugeSize, &q));
  EXPECT_TRUE(PagesHave(q, 0, kPages, kValid, HMM_MIRROR_PAGE_ZERO));
  EXPECT_TRUE(PagesOfOrder(q, 0, kPages, DeviceOrder()))
      << "HMM_MIRROR_FEAT_HUGE_ENTRIES " << (huge_entries_ ? "on" : "off");

  Mapping buf(kHugeSize);
  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Read(addr(), kHugeSize, buf.data(), &faults));
  EXPECT_EQ(faults, 0u);
  EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), 1, addr()));

  FillPatternAs(buf.data(), buf.size(), 2, addr());
  ASSERT_EQ(kSuccess, dev_.Write(addr(), kHugeSize, buf.data()));
  EXPECT_TRUE(HasPattern(block_, kHugeSize, 2));
}

TEST_F(ThpTest, PartOfAHugePageIsMirrored) {
  // A range inside the huge mapping: pages_mapped counts only the range.
  hmm_mirror_fault f;
  ASSERT_EQ(kSuccess, dev_.Fault(addr(100), 20 * page_, 0, &f));
  EXPECT_EQ(f.pages_mapped, 20u);
  Mapping buf(20 * page_);
  ASSERT_EQ(kSuccess, dev_.Read(addr(100), 20 * page_, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), 1, addr(100)));
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(addr(100), 20 * page_, &q));
  EXPECT_TRUE(PagesHave(q, 0, 20, kValid, 0));
}

TEST_F(ThpTest, SnapshotOfPartsOfAHugePageReportsEveryPage) {
  // A range that starts and ends inside the huge page: every page of it
  // carries the huge mapping's state.
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(addr(3), (kPages - 4) * page_, &s));
  ASSERT_EQ(s.size(), kPages - 4);
  EXPECT_TRUE(PagesAre(s, 0, kPages - 4, kValid | kWrite | (kHugeOrder << 8)));
  // From inside the huge page into the untouched 4K memory after it.
  ASSERT_EQ(kSuccess, dev_.Snapshot(addr(kPages - 5), 6 * page_, &s));
  EXPECT_TRUE(PagesAre(s, 0, 5, kValid | kWrite | (kHugeOrder << 8)));
  EXPECT_TRUE(PagesAre(s, 5, 6, 0)) << "the page after the huge page";
}

TEST_F(ThpTest, UnmappingOnePageSplitsTheHugeEntry) {
  ASSERT_EQ(kSuccess, dev_.Fault(addr(), kHugeSize, HMM_MIRROR_FAULT_WRITE));
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(addr(), kHugeSize, &q));
  ASSERT_TRUE(PagesAre(q, 0, kPages, kValid | kWrite | (DeviceOrder() << 8)));

  const uint64_t hole = 256;
  Mapping buf(kHugeSize);
  area_->Unmap(block_off_ + hole * page_, page_);

  ASSERT_EQ(kSuccess, dev_.Query(addr(), kHugeSize, &q));
  EXPECT_TRUE(PagesAre(q, hole, hole + 1, 0)) << "the unmapped page";
  EXPECT_TRUE(detail::CheckPages(
      q, 0, kPages,
      [](uint32_t s) { return HMM_MIRROR_PAGE_ORDER(s) != kHugeOrder; },
      "free of a huge entry spanning the hole"));

  // The CPU now maps the rest with 4K pages.
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(addr(), kHugeSize, &s));
  EXPECT_TRUE(PagesAre(s, 0, hole, kValid | kWrite));
  EXPECT_TRUE(PagesAre(s, hole, hole + 1, 0));
  EXPECT_TRUE(PagesAre(s, hole + 1, kPages, kValid | kWrite));

  // The device reads the right data around the hole, and cannot read it.
  ASSERT_EQ(kSuccess, dev_.Read(addr(), hole * page_, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), hole * page_, 1, addr()));
  const uint64_t rest = kPages - hole - 1;
  ASSERT_EQ(kSuccess, dev_.Read(addr(hole + 1), rest * page_, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), rest * page_, 1, addr(hole + 1)));
  EXPECT_EQ(Errno(EFAULT), dev_.Read(addr(), kHugeSize, buf.data()));
  ASSERT_EQ(kSuccess, dev_.Query(addr(), kHugeSize, &q));
  EXPECT_TRUE(PagesHave(q, 0, hole, kValid, 0));
  EXPECT_TRUE(PagesAre(q, hole, hole + 1, 0));
}

TEST_F(ThpTest, MprotectOfOnePageRemovesWriteAccessThere) {
  ASSERT_EQ(kSuccess, dev_.Fault(addr(), kHugeSize, HMM_MIRROR_FAULT_WRITE));
  area_->Protect(block_off_, page_, PROT_READ);
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(addr(), kHugeSize, &q));
  EXPECT_TRUE(PagesHave(q, 0, 1, 0, kWrite));

  Mapping buf(kHugeSize);
  FillPatternAs(buf.data(), buf.size(), 3, addr());
  EXPECT_EQ(Errno(EPERM), dev_.Write(addr(), page_, buf.data()));
  EXPECT_TRUE(HasPattern(block_, page_, 1)) << "read-only page changed";
  ASSERT_EQ(kSuccess, dev_.Write(addr(1), kHugeSize - page_, buf.at(page_)));
  EXPECT_TRUE(HasPattern(block_ + page_, kHugeSize - page_, 3));
}

TEST_F(ThpTest, DontneedOfTheHugePageClearsEveryEntry) {
  ASSERT_EQ(kSuccess, dev_.Fault(addr(), kHugeSize));
  area_->Advise(block_off_, kHugeSize, MADV_DONTNEED);
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(addr(), kHugeSize, &q));
  EXPECT_TRUE(PagesAre(q, 0, kPages, 0));
  Mapping buf(kHugeSize);
  std::memset(buf.data(), kCanaryByte, buf.size());
  ASSERT_EQ(kSuccess, dev_.Read(addr(), kHugeSize, buf.data()));
  EXPECT_TRUE(IsFilledWith(buf.data(), buf.size(), 0));
}

}  // namespace
}  // namespace hmm_conformance
