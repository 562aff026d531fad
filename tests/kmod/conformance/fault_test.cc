// SPDX-License-Identifier: MIT
//
// fault_test.cc - HMM_MIRROR_IOC_FAULT (abi/README.md, "FAULT"): what it
// maps, what it reports, and how it fails on memory it may not map.  The
// device page table is observed with QUERY.

#include <vector>

#include "hmm_mirror_test.h"

namespace hmm_conformance {
namespace {

using FaultTest = MirrorTest;

constexpr uint64_t kMaxRetries = 64;  // "past the retry bound (64 restarts"

TEST_F(FaultTest, ReadFaultMapsEveryPageOfWrittenMemory) {
  for (uint64_t npages : {uint64_t{1}, uint64_t{16}, uint64_t{256}}) {
    SCOPED_TRACE(::testing::Message() << npages << " pages");
    Mapping m(npages * page_);
    FillPattern(m.data(), m.size(), 1);
    hmm_mirror_fault f;
    ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size(), 0, &f));
    EXPECT_EQ(f.pages_mapped, npages);
    EXPECT_LE(f.retries, kMaxRetries);
    std::vector<uint32_t> q;
    ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
    EXPECT_TRUE(PagesHave(q, 0, npages, HMM_MIRROR_PAGE_VALID,
                          HMM_MIRROR_PAGE_ERROR | HMM_MIRROR_PAGE_ZERO));
    EXPECT_TRUE(PagesOfOrder(q, 0, npages, 0));
  }
}

TEST_F(FaultTest, WriteFaultMapsEveryPageWritable) {
  Mapping m(16 * page_);
  FillPattern(m.data(), m.size(), 2);
  hmm_mirror_fault f;
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size(), HMM_MIRROR_FAULT_WRITE, &f));
  EXPECT_EQ(f.pages_mapped, 16u);
  EXPECT_LE(f.retries, kMaxRetries);
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesAre(q, 0, 16, HMM_MIRROR_PAGE_VALID | HMM_MIRROR_PAGE_WRITE));
  // Faulting does not change the data.
  EXPECT_TRUE(HasPattern(m.data(), m.size(), 2));
}

TEST_F(FaultTest, WriteFaultOfUntouchedMemoryAllocatesPages) {
  Mapping m(8 * page_);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size(), HMM_MIRROR_FAULT_WRITE));
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesAre(q, 0, 8, HMM_MIRROR_PAGE_VALID | HMM_MIRROR_PAGE_WRITE));
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), m.size(), &s));
  EXPECT_TRUE(PagesAre(s, 0, 8, HMM_MIRROR_PAGE_VALID | HMM_MIRROR_PAGE_WRITE));
  EXPECT_TRUE(IsFilledWith(m.data(), m.size(), 0));
}

TEST_F(FaultTest, ReadFaultOfUntouchedMemoryMapsTheZeroPage) {
  Mapping m(8 * page_);
  hmm_mirror_fault f;
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size(), 0, &f));
  EXPECT_EQ(f.pages_mapped, 8u);
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesAre(q, 0, 8, HMM_MIRROR_PAGE_VALID | HMM_MIRROR_PAGE_ZERO));
  // The CPU page table agrees.
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), m.size(), &s));
  EXPECT_TRUE(PagesAre(s, 0, 8, HMM_MIRROR_PAGE_VALID | HMM_MIRROR_PAGE_ZERO));
}

TEST_F(FaultTest, PagesMappedCountsTheWholeRangeAfterTheCall) {
  Mapping m(16 * page_);
  FillPattern(m.data(), m.size(), 3);
  hmm_mirror_fault f;
  // Pages 0-7 first ...
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), 8 * page_, 0, &f));
  EXPECT_EQ(f.pages_mapped, 8u);
  // ... then 0-15: all 16 are mapped afterwards.
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), 16 * page_, 0, &f));
  EXPECT_EQ(f.pages_mapped, 16u);
  // Only the pages in the call's range count.
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(4 * page_), 4 * page_, 0, &f));
  EXPECT_EQ(f.pages_mapped, 4u);
}

TEST_F(FaultTest, RangeIsLimitedToTheRequest) {
  Mapping m(16 * page_);
  FillPattern(m.data(), m.size(), 4);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(4 * page_), 8 * page_));
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesAre(q, 0, 4, 0));
  EXPECT_TRUE(PagesHave(q, 4, 12, HMM_MIRROR_PAGE_VALID, 0));
  EXPECT_TRUE(PagesAre(q, 12, 16, 0));
}

TEST_F(FaultTest, ReadOnlyMemoryFaultsForReadButNotForWrite) {
  Mapping m(8 * page_);
  FillPattern(m.data(), m.size(), 5);
  m.Protect(0, m.size(), PROT_READ);

  EXPECT_EQ(Errno(EPERM), dev_.Fault(m.addr(), m.size(), HMM_MIRROR_FAULT_WRITE));

  hmm_mirror_fault f;
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size(), 0, &f));
  EXPECT_EQ(f.pages_mapped, 8u);
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesAre(q, 0, 8, HMM_MIRROR_PAGE_VALID));

  // A write fault after the read fault is still refused and leaves the
  // read-only entries alone.
  EXPECT_EQ(Errno(EPERM), dev_.Fault(m.addr(), m.size(), HMM_MIRROR_FAULT_WRITE));
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesHave(q, 0, 8, 0, HMM_MIRROR_PAGE_WRITE));
  EXPECT_TRUE(HasPattern(m.data(), m.size(), 5));
}

TEST_F(FaultTest, ProtNoneMemoryIsEfault) {
  Mapping m(4 * page_);
  FillPattern(m.data(), m.size(), 6);
  m.Protect(0, m.size(), PROT_NONE);
  EXPECT_EQ(Errno(EFAULT), dev_.Fault(m.addr(), m.size()));
  EXPECT_EQ(Errno(EFAULT), dev_.Fault(m.addr(), m.size(), HMM_MIRROR_FAULT_WRITE));
  EXPECT_EQ(Errno(EFAULT), dev_.Fault(m.addr(page_), page_));
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesHave(q, 0, 4, 0, HMM_MIRROR_PAGE_VALID));
}

TEST_F(FaultTest, NeverTouchedProtNoneMemoryIsEfault) {
  Mapping m(4 * page_, PROT_NONE);
  EXPECT_EQ(Errno(EFAULT), dev_.Fault(m.addr(), m.size()));
}

TEST_F(FaultTest, UnmappedRangeIsEfault) {
  Mapping m(4 * page_);
  FillPattern(m.data(), m.size(), 7);
  m.Unmap(0, m.size());
  EXPECT_EQ(Errno(EFAULT), dev_.Fault(m.addr(), 4 * page_));
  EXPECT_EQ(Errno(EFAULT), dev_.Fault(m.addr(), 4 * page_, HMM_MIRROR_FAULT_WRITE));
}

TEST_F(FaultTest, RangeRunningIntoAHoleIsEfault) {
  Mapping m(8 * page_);
  FillPattern(m.data(), m.size(), 8);
  m.Unmap(4 * page_, 4 * page_);
  EXPECT_EQ(Errno(EFAULT), dev_.Fault(m.addr(), 8 * page_));
  // The mapped part alone still faults.
  hmm_mirror_fault f;
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), 4 * page_, 0, &f));
  EXPECT_EQ(f.pages_mapped, 4u);
}

TEST_F(FaultTest, RangeRunningIntoProtNoneIsEfault) {
  Mapping m(8 * page_);
  FillPattern(m.data(), m.size(), 9);
  m.Protect(4 * page_, 4 * page_, PROT_NONE);
  EXPECT_EQ(Errno(EFAULT), dev_.Fault(m.addr(), 8 * page_));
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), 8 * page_, &q));
  EXPECT_TRUE(PagesHave(q, 4, 8, 0, HMM_MIRROR_PAGE_VALID));
}

TEST_F(FaultTest, RepeatedFaultIsIdempotent) {
  Mapping m(16 * page_);
  FillPattern(m.data(), m.size(), 10);
  std::vector<uint32_t> first, again;
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size(), HMM_MIRROR_FAULT_WRITE));
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &first));
  for (int i = 0; i < 3; ++i) {
    hmm_mirror_fault f;
    ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size(), HMM_MIRROR_FAULT_WRITE, &f));
    EXPECT_EQ(f.pages_mapped, 16u);
  }
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &again));
  EXPECT_EQ(first, again);
  EXPECT_TRUE(HasPattern(m.data(), m.size(), 10));
}

// A range of written 4K pages, a huge page, untouched pages (the zero page
// on a read fault) and every mix of them, with both ends inside a 2 MiB
// block: every page is mapped to its own frame (a warm device read returns
// its bytes without faulting), whatever the module batches together.
TEST_F(FaultTest, MixedRangeMapsEveryPageToItsFrame) {
  constexpr uint64_t kBlocks = 4;
  const uint64_t block_pages = kHugeSize / page_;
  Mapping area((kBlocks + 1) * kHugeSize);
  const uint64_t off = ((area.addr() + kHugeSize - 1) & ~(kHugeSize - 1)) -
                       area.addr();
  const uint64_t base = area.addr(off);
  const uint64_t npages = kBlocks * block_pages;
  // Block 0 all written, block 1 may be a THP, block 2 written in runs of
  // 16 pages with gaps, block 3 every third page.
  area.Advise(off + kHugeSize, kHugeSize, MADV_HUGEPAGE);
  std::vector<bool> written(npages);
  for (uint64_t i = 0; i < npages; i++) {
    const uint64_t b = i / block_pages, j = i % block_pages;
    written[i] = b < 2 || (b == 2 && (j / 16) % 2 == 0) ||
                 (b == 3 && j % 3 == 0);
    if (written[i])
      FillPattern(area.at(off + i * page_), page_, 11);
  }
  const uint64_t first = 3, last = npages - 5;  // the FAULT covers [first, last)
  hmm_mirror_fault f;
  ASSERT_EQ(kSuccess, dev_.Fault(base + first * page_, (last - first) * page_,
                                 0, &f));
  EXPECT_EQ(f.pages_mapped, last - first);

  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(base, npages * page_, &q));
  EXPECT_TRUE(PagesAre(q, 0, first, 0));
  for (uint64_t i = first; i < last; i++) {
    const uint32_t zero = written[i] ? 0 : HMM_MIRROR_PAGE_ZERO;
    ASSERT_TRUE(PagesHave(q, i, i + 1, HMM_MIRROR_PAGE_VALID | zero,
                          HMM_MIRROR_PAGE_ERROR | (HMM_MIRROR_PAGE_ZERO & ~zero)))
        << "page " << i;
  }
  EXPECT_TRUE(PagesAre(q, last, npages, 0));

  Mapping buf((last - first) * page_);
  uint64_t faults = ~uint64_t{0};
  ASSERT_EQ(kSuccess, dev_.Read(base + first * page_, buf.size(), buf.data(),
                                &faults));
  EXPECT_EQ(faults, 0u) << "every page was mapped by the FAULT";
  for (uint64_t i = first; i < last; i++) {
    const uint8_t* got = buf.at((i - first) * page_);
    if (written[i])
      ASSERT_TRUE(HasPatternAs(got, page_, 11, base + i * page_)) << "page " << i;
    else
      ASSERT_TRUE(IsFilledWith(got, page_, 0)) << "page " << i;
  }
}

TEST_F(FaultTest, AllOrNothingPerFourMegabytePiece) {
  // "all-or-nothing for each piece: on error, the pieces before the
  // failing one are mapped and nothing from it on is".  Pieces are 4 MiB,
  // naturally aligned: [0, 4M) mapped whole, [4M, 8M) mapped in its first
  // half only.
  constexpr uint64_t kPiece = uint64_t{4} << 20;
  ChunkArea area(1);
  uint8_t* p = area.Map(0, 0, kPiece + kPiece / 2);
  FillPattern(p, kPiece + kPiece / 2, 10);
  EXPECT_EQ(Errno(EFAULT), dev_.Fault(U64(p), 2 * kPiece));
  const uint64_t pages = kPiece / page_;
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(U64(p), 2 * kPiece, &q));
  EXPECT_TRUE(PagesHave(q, 0, pages, HMM_MIRROR_PAGE_VALID, 0))
      << "the whole first piece is mapped";
  EXPECT_TRUE(PagesAre(q, pages, 2 * pages, 0))
      << "nothing of the failing piece, not even its mapped half";
}

}  // namespace
}  // namespace hmm_conformance
