// SPDX-License-Identifier: MIT
//
// rw_test.cc - HMM_MIRROR_IOC_READ and HMM_MIRROR_IOC_WRITE (abi/README.md,
// "READ / WRITE"): copies through the device page table, the device faults
// they take, and how they fail on memory the device may not access.

#include <sys/mman.h>

#include <cstring>
#include <vector>

#include "hmm_mirror_test.h"

namespace hmm_conformance {
namespace {

using RwTest = MirrorTest;

constexpr uint32_t kValid = HMM_MIRROR_PAGE_VALID;
constexpr uint32_t kWrite = HMM_MIRROR_PAGE_WRITE;
constexpr uint32_t kZero = HMM_MIRROR_PAGE_ZERO;

TEST_F(RwTest, ReadReturnsWhatTheCpuWrote) {
  for (uint64_t npages : {uint64_t{1}, uint64_t{16}, uint64_t{256}}) {
    SCOPED_TRACE(::testing::Message() << npages << " pages");
    Mapping m(npages * page_);
    Mapping buf(m.size());
    FillPattern(m.data(), m.size(), 1);
    ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
    uint64_t faults;
    ASSERT_EQ(kSuccess, dev_.Read(m.addr(), m.size(), buf.data(), &faults));
    EXPECT_EQ(faults, 0u) << "every page was mapped by FAULT";
    EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), 1, m.addr()));
  }
}

TEST_F(RwTest, WriteIsSeenByTheCpu) {
  for (uint64_t npages : {uint64_t{1}, uint64_t{16}, uint64_t{256}}) {
    SCOPED_TRACE(::testing::Message() << npages << " pages");
    Mapping m(npages * page_);
    Mapping buf(m.size());
    FillPattern(m.data(), m.size(), 2);
    ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size(), HMM_MIRROR_FAULT_WRITE));
    FillPatternAs(buf.data(), buf.size(), 3, m.addr());
    uint64_t faults;
    ASSERT_EQ(kSuccess, dev_.Write(m.addr(), m.size(), buf.data(), &faults));
    EXPECT_EQ(faults, 0u) << "every page was mapped writable by FAULT";
    EXPECT_TRUE(HasPattern(m.data(), m.size(), 3));
    // And the device reads back what it wrote.
    Mapping back(m.size());
    ASSERT_EQ(kSuccess, dev_.Read(m.addr(), m.size(), back.data(), &faults));
    EXPECT_EQ(faults, 0u);
    EXPECT_TRUE(HasPatternAs(back.data(), back.size(), 3, m.addr()));
  }
}

TEST_F(RwTest, ReadOfAnUnfaultedRangeTakesADeviceFaultOnce) {
  Mapping m(256 * page_);
  Mapping buf(m.size());
  FillPattern(m.data(), m.size(), 4);
  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Read(m.addr(), m.size(), buf.data(), &faults));
  EXPECT_GE(faults, 1u);
  EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), 4, m.addr()));
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesHave(q, 0, 256, kValid, 0));
  // The second READ finds everything mapped.
  std::memset(buf.data(), 0, buf.size());
  ASSERT_EQ(kSuccess, dev_.Read(m.addr(), m.size(), buf.data(), &faults));
  EXPECT_EQ(faults, 0u);
  EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), 4, m.addr()));
}

TEST_F(RwTest, OneDeviceFaultPerRunOfMissingPages) {
  // Inside one 2 MiB-aligned block, so no implementation chunking can split
  // a run: pages 0-3 and 8-11 mapped, 4-7 and 12-15 missing.
  Mapping area(2 * kHugeSize);
  const uint64_t off = ((area.addr() + kHugeSize - 1) & ~(kHugeSize - 1)) - area.addr();
  const uint64_t addr = area.addr(off);
  FillPattern(area.at(off), 16 * page_, 5);
  ASSERT_EQ(kSuccess, dev_.Fault(addr, 4 * page_));
  ASSERT_EQ(kSuccess, dev_.Fault(addr + 8 * page_, 4 * page_));
  Mapping buf(16 * page_);
  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Read(addr, 16 * page_, buf.data(), &faults));
  EXPECT_EQ(faults, 2u);
  EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), 5, addr));
  ASSERT_EQ(kSuccess, dev_.Read(addr, 16 * page_, buf.data(), &faults));
  EXPECT_EQ(faults, 0u);
}

TEST_F(RwTest, WriteAfterReadFaultOfTheZeroPageFaultsAndLands) {
  Mapping m(8 * page_);
  Mapping buf(m.size());
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));  // maps the zero page
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  ASSERT_TRUE(PagesAre(q, 0, 8, kValid | kZero));

  FillPatternAs(buf.data(), buf.size(), 6, m.addr());
  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Write(m.addr(), m.size(), buf.data(), &faults));
  EXPECT_GE(faults, 1u) << "the zero page is mapped read-only";
  EXPECT_TRUE(HasPattern(m.data(), m.size(), 6));
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesAre(q, 0, 8, kValid | kWrite));
}

TEST_F(RwTest, WriteToUntouchedMemoryLands) {
  Mapping m(8 * page_);
  Mapping buf(m.size());
  FillPatternAs(buf.data(), buf.size(), 7, m.addr());
  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Write(m.addr(), m.size(), buf.data(), &faults));
  EXPECT_GE(faults, 1u);
  EXPECT_TRUE(HasPattern(m.data(), m.size(), 7));
}

TEST_F(RwTest, ZeroPageReadsAsZeros) {
  Mapping m(8 * page_);
  m.TouchRead(0, m.size());
  Mapping buf(m.size());
  std::memset(buf.data(), kCanaryByte, buf.size());
  ASSERT_EQ(kSuccess, dev_.Read(m.addr(), m.size(), buf.data()));
  EXPECT_TRUE(IsFilledWith(buf.data(), buf.size(), 0));
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesAre(q, 0, 8, kValid | kZero));
}

TEST_F(RwTest, ReadOnlyMemoryCanBeReadButNotWritten) {
  Mapping m(8 * page_);
  Mapping buf(m.size());
  FillPattern(m.data(), m.size(), 8);
  m.Protect(0, m.size(), PROT_READ);

  FillPatternAs(buf.data(), buf.size(), 9, m.addr());
  EXPECT_EQ(Errno(EPERM), dev_.Write(m.addr(), m.size(), buf.data()));
  EXPECT_TRUE(HasPattern(m.data(), m.size(), 8)) << "memory changed";

  std::memset(buf.data(), 0, buf.size());
  ASSERT_EQ(kSuccess, dev_.Read(m.addr(), m.size(), buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), 8, m.addr()));

  // With the pages now mapped read-only, WRITE is still refused.
  FillPatternAs(buf.data(), buf.size(), 9, m.addr());
  EXPECT_EQ(Errno(EPERM), dev_.Write(m.addr(), m.size(), buf.data()));
  EXPECT_TRUE(HasPattern(m.data(), m.size(), 8)) << "memory changed";
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesHave(q, 0, 8, 0, kWrite));
}

TEST_F(RwTest, ProtNoneReadIsEfaultAndCopiesNothing) {
  Mapping m(8 * page_);
  Mapping buf(m.size());
  FillPattern(m.data(), m.size(), 10);
  m.Protect(0, m.size(), PROT_NONE);
  std::memset(buf.data(), kCanaryByte, buf.size());
  EXPECT_EQ(Errno(EFAULT), dev_.Read(m.addr(), m.size(), buf.data()));
  EXPECT_TRUE(IsFilledWith(buf.data(), buf.size(), kCanaryByte));
}

TEST_F(RwTest, ProtNoneWriteIsEfaultAndChangesNothing) {
  Mapping m(8 * page_);
  Mapping buf(m.size());
  FillPattern(m.data(), m.size(), 11);
  m.Protect(0, m.size(), PROT_NONE);
  FillPatternAs(buf.data(), buf.size(), 12, m.addr());
  EXPECT_EQ(Errno(EFAULT), dev_.Write(m.addr(), m.size(), buf.data()));
  m.Protect(0, m.size(), PROT_READ);
  EXPECT_TRUE(HasPattern(m.data(), m.size(), 11)) << "memory changed";
}

TEST_F(RwTest, RangeEndingInProtNoneIsEfault) {
  Mapping m(8 * page_);
  Mapping buf(m.size());
  FillPattern(m.data(), m.size(), 13);
  m.Protect(4 * page_, 4 * page_, PROT_NONE);
  EXPECT_EQ(Errno(EFAULT), dev_.Read(m.addr(), m.size(), buf.data()));
  EXPECT_EQ(Errno(EFAULT), dev_.Write(m.addr(), m.size(), buf.data()));
  m.Protect(4 * page_, 4 * page_, PROT_READ);
  EXPECT_TRUE(HasPattern(m.at(4 * page_), 4 * page_, 13)) << "memory changed";
}

TEST_F(RwTest, UnmappedRangeIsEfault) {
  Mapping m(4 * page_);
  Mapping buf(m.size());
  std::memset(buf.data(), kCanaryByte, buf.size());
  m.Unmap(0, m.size());
  EXPECT_EQ(Errno(EFAULT), dev_.Read(m.addr(), 4 * page_, buf.data()));
  EXPECT_EQ(Errno(EFAULT), dev_.Write(m.addr(), 4 * page_, buf.data()));
  EXPECT_TRUE(IsFilledWith(buf.data(), buf.size(), kCanaryByte));
}

TEST_F(RwTest, BuffersInsideTheMirroredMemory) {
  // buf may itself be mirrored memory.  READ into pages that hold the zero
  // page and are mapped by the device: the copy's own CPU fault
  // invalidates device entries while the READ runs.
  Mapping m(4 * page_);
  FillPattern(m.data(), 2 * page_, 14);
  m.TouchRead(2 * page_, 2 * page_);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Read(m.addr(), 2 * page_, m.at(2 * page_), &faults));
  EXPECT_EQ(faults, 0u);
  EXPECT_TRUE(HasPatternAs(m.at(2 * page_), 2 * page_, 14, m.addr()));
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), m.size(), &s));
  EXPECT_TRUE(PagesAre(s, 2, 4, kValid | kWrite)) << "the CPU copied into them";
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesHave(q, 2, 4, 0, kZero)) << "stale zero-page entries";

  // WRITE from mirrored memory into mirrored memory.
  FillPattern(m.data(), 2 * page_, 15);
  ASSERT_EQ(kSuccess, dev_.Write(m.addr(2 * page_), 2 * page_, m.data()));
  EXPECT_TRUE(HasPatternAs(m.at(2 * page_), 2 * page_, 15, m.addr()));
}

TEST_F(RwTest, ReadIntoTheRangeItself) {
  // READ of the zero page into the very pages being read: the copy
  // replaces the zero page under the device's feet.
  Mapping m(4 * page_);
  m.TouchRead(0, m.size());
  ASSERT_EQ(kSuccess, dev_.Read(m.addr(), m.size(), m.data()));
  EXPECT_TRUE(IsFilledWith(m.data(), m.size(), 0));
  // The device sees the CPU's new pages.
  FillPattern(m.data(), m.size(), 16);
  Mapping buf(m.size());
  ASSERT_EQ(kSuccess, dev_.Read(m.addr(), m.size(), buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), 16, m.addr()));
}

TEST_F(RwTest, MemoryMovedAwayByMremapIsEfaultAtTheOldAddress) {
  // The device had the pages mapped; mremap moves them: the old range is
  // a hole (EFAULT, as for any unmapped range), the new one has the data.
  const uint64_t len = 16 * page_;
  Mapping m(len);
  // Every mapping before the move, so that none lands in the hole it
  // leaves.
  Mapping buf(len);
  FillPattern(m.data(), len, 20);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), len, HMM_MIRROR_FAULT_WRITE));
  Mapping target(len, PROT_NONE);
  void* moved = mremap(m.data(), len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
                       target.data());
  ASSERT_EQ(moved, static_cast<void*>(target.data())) << std::strerror(errno);
  EXPECT_EQ(Errno(EFAULT), dev_.Read(m.addr(), len, buf.data()));
  EXPECT_EQ(Errno(EFAULT), dev_.Write(m.addr(), len, buf.data()));
  ASSERT_EQ(kSuccess, dev_.Read(target.addr(), len, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), len, 20, m.addr()));
  // Moved back, the old address works again.  (Both Mappings unmap their
  // whole range at the end: the target's is a hole by then, which is
  // harmless.)
  ASSERT_EQ(mremap(target.data(), len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
                   m.data()),
            static_cast<void*>(m.data()));
  ASSERT_EQ(kSuccess, dev_.Read(m.addr(), len, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), len, 20, m.addr()));
}

TEST_F(RwTest, NothingFromTheFailingPageOnIsCopied) {
  // "bytes before that page may have been copied and nothing from it on
  // is": pages 4..7 are PROT_NONE, 8..11 readable again.
  const uint64_t len = 12 * page_;
  Mapping m(len);
  FillPattern(m.data(), len, 21);
  m.Protect(4 * page_, 4 * page_, PROT_NONE);
  Mapping buf(len);
  std::memset(buf.data(), kCanaryByte, len);
  EXPECT_EQ(Errno(EFAULT), dev_.Read(m.addr(), len, buf.data()));
  for (uint64_t i = 4 * page_; i < len; ++i)
    ASSERT_EQ(buf.data()[i], kCanaryByte) << "byte " << i << " was copied";
  // WRITE: the memory after the failing page keeps its contents.
  FillPatternAs(buf.data(), len, 22, m.addr());
  EXPECT_EQ(Errno(EFAULT), dev_.Write(m.addr(), len, buf.data()));
  EXPECT_TRUE(HasPattern(m.at(8 * page_), 4 * page_, 21))
      << "WRITE went on past the failing page";
}

// abi/README.md, READ / WRITE: a part of buf that cannot be pinned is
// EFAULT "checked as the copy reaches it", 2 MiB of the range at a time;
// nothing from that copy chunk on is copied.
constexpr uint64_t kCopyChunk = 2ULL << 20;

TEST_F(RwTest, ReadIntoABufferReadOnlyFrom2MiBOnStopsThere) {
  const uint64_t len = 2 * kCopyChunk;
  Mapping m(len);
  FillPattern(m.data(), len, 23);
  Mapping buf(len);
  std::memset(buf.data(), kCanaryByte, len);
  buf.Protect(kCopyChunk, kCopyChunk, PROT_READ);
  EXPECT_EQ(Errno(EFAULT), dev_.Read(m.addr(), len, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), kCopyChunk, 23, m.addr()))
      << "the first copy chunk was not copied";
  EXPECT_TRUE(IsFilledWith(buf.at(kCopyChunk), kCopyChunk, kCanaryByte))
      << "READ wrote into the read-only part of buf";
}

TEST_F(RwTest, WriteFromABufferUnmappedFrom2MiBOnStopsThere) {
  const uint64_t len = 2 * kCopyChunk;
  Mapping m(len);
  FillPattern(m.data(), len, 24);
  Mapping buf(len);
  FillPatternAs(buf.data(), len, 25, m.addr());
  buf.Unmap(kCopyChunk, kCopyChunk);
  EXPECT_EQ(Errno(EFAULT), dev_.Write(m.addr(), len, buf.data()));
  EXPECT_TRUE(HasPattern(m.data(), kCopyChunk, 25))
      << "the first copy chunk was not written";
  EXPECT_TRUE(HasPattern(m.at(kCopyChunk), kCopyChunk, 24))
      << "WRITE went on past the unmapped part of buf";
}

}  // namespace
}  // namespace hmm_conformance
