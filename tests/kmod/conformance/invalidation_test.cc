// SPDX-License-Identifier: MIT
//
// invalidation_test.cc - the mmu interval notifier (abi/README.md,
// "Sessions"): "Any change to the CPU page table clears the affected device
// entries before the kernel finishes the change: munmap, mprotect,
// madvise(MADV_DONTNEED), copy-on-write after fork ...".  Observed with
// QUERY, and with device READ/WRITE that must never use a stale entry.

#include <sys/mman.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "hmm_mirror_test.h"

namespace hmm_conformance {
namespace {

using InvalidationTest = MirrorTest;

constexpr uint32_t kValid = HMM_MIRROR_PAGE_VALID;
constexpr uint32_t kWrite = HMM_MIRROR_PAGE_WRITE;

TEST_F(InvalidationTest, MunmapClearsExactlyTheUnmappedPages) {
  Mapping m(16 * page_);
  FillPattern(m.data(), m.size(), 1);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size(), HMM_MIRROR_FAULT_WRITE));
  std::vector<uint32_t> q;
  q.reserve(16);
  m.Unmap(4 * page_, 8 * page_);
  // QUERY may cover the hole: it reads the device page table only.
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), 16 * page_, &q));
  EXPECT_TRUE(PagesAre(q, 0, 4, kValid | kWrite));
  EXPECT_TRUE(PagesAre(q, 4, 12, 0));
  EXPECT_TRUE(PagesAre(q, 12, 16, kValid | kWrite));
}

TEST_F(InvalidationTest, ReadAfterMunmapIsEfault) {
  Mapping m(8 * page_);
  Mapping buf(m.size());
  FillPattern(m.data(), m.size(), 2);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
  std::memset(buf.data(), kCanaryByte, buf.size());
  m.Unmap(0, m.size());
  EXPECT_EQ(Errno(EFAULT), dev_.Read(m.addr(), 8 * page_, buf.data()));
  EXPECT_TRUE(IsFilledWith(buf.data(), buf.size(), kCanaryByte))
      << "READ copied from unmapped memory";
}

TEST_F(InvalidationTest, NewMemoryAtAnOldAddressIsSeen) {
  Mapping m(8 * page_);
  FillPattern(m.data(), m.size(), 3);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
  // Replace the pages with a fresh mapping at the same address.
  void* p = mmap(m.data(), m.size(), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  ASSERT_EQ(p, static_cast<void*>(m.data()));
  m.Advise(0, m.size(), MADV_NOHUGEPAGE);
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesAre(q, 0, 8, 0));
  FillPattern(m.data(), m.size(), 4);
  Mapping buf(m.size());
  ASSERT_EQ(kSuccess, dev_.Read(m.addr(), m.size(), buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), 4, m.addr()));
}

TEST_F(InvalidationTest, MprotectReadOnlyRemovesWriteAccess) {
  Mapping m(16 * page_);
  FillPattern(m.data(), m.size(), 5);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size(), HMM_MIRROR_FAULT_WRITE));
  m.Protect(4 * page_, 8 * page_, PROT_READ);
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesAre(q, 0, 4, kValid | kWrite));
  EXPECT_TRUE(PagesHave(q, 4, 12, 0, kWrite));
  EXPECT_TRUE(PagesAre(q, 12, 16, kValid | kWrite));

  // The device cannot write there any more ...
  Mapping buf(8 * page_);
  FillPatternAs(buf.data(), buf.size(), 6, m.addr(4 * page_));
  EXPECT_EQ(Errno(EPERM), dev_.Write(m.addr(4 * page_), 8 * page_, buf.data()));
  EXPECT_TRUE(HasPattern(m.data(), m.size(), 5)) << "memory changed";
  // ... until the CPU may again.
  m.Protect(4 * page_, 8 * page_, PROT_READ | PROT_WRITE);
  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Write(m.addr(4 * page_), 8 * page_, buf.data(), &faults));
  EXPECT_GE(faults, 1u);
  EXPECT_TRUE(HasPattern(m.at(4 * page_), 8 * page_, 6));
}

TEST_F(InvalidationTest, MprotectNoneClearsEntries) {
  Mapping m(16 * page_);
  FillPattern(m.data(), m.size(), 7);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
  m.Protect(0, 8 * page_, PROT_NONE);
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesAre(q, 0, 8, 0));
  EXPECT_TRUE(PagesHave(q, 8, 16, kValid, 0));
  Mapping buf(8 * page_);
  std::memset(buf.data(), kCanaryByte, buf.size());
  EXPECT_EQ(Errno(EFAULT), dev_.Read(m.addr(), 8 * page_, buf.data()));
  EXPECT_TRUE(IsFilledWith(buf.data(), buf.size(), kCanaryByte));
}

TEST_F(InvalidationTest, MadviseDontneedClearsEntries) {
  Mapping m(16 * page_);
  FillPattern(m.data(), m.size(), 8);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size(), HMM_MIRROR_FAULT_WRITE));
  m.Advise(0, 8 * page_, MADV_DONTNEED);
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesAre(q, 0, 8, 0));
  EXPECT_TRUE(PagesAre(q, 8, 16, kValid | kWrite));

  // The discarded pages read as zeros, through a new device fault.
  Mapping buf(m.size());
  std::memset(buf.data(), kCanaryByte, buf.size());
  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Read(m.addr(), m.size(), buf.data(), &faults));
  EXPECT_GE(faults, 1u);
  EXPECT_TRUE(IsFilledWith(buf.data(), 8 * page_, 0));
  EXPECT_TRUE(HasPatternAs(buf.at(8 * page_), 8 * page_, 8, m.addr(8 * page_)));
}

TEST_F(InvalidationTest, ForkWriteProtectsTheParentsEntries) {
  Mapping m(8 * page_);
  FillPattern(m.data(), m.size(), 9);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size(), HMM_MIRROR_FAULT_WRITE));
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  ASSERT_TRUE(PagesAre(q, 0, 8, kValid | kWrite));
  Mapping buf(m.size());
  FillPatternAs(buf.data(), buf.size(), 10, m.addr());

  // The child checks, after the parent's device WRITE, that its own copy
  // of the pages still holds the data from before the fork.
  const uint8_t* data = m.data();
  const uint64_t length = m.size();
  Child child([data, length] { return HasPattern(data, length, 9) ? 0 : 1; });

  // fork() write-protected the parent's pages for copy-on-write: the device
  // must not keep a writable entry to a page now shared with the child.
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesHave(q, 0, 8, 0, kWrite));

  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Write(m.addr(), m.size(), buf.data(), &faults));
  EXPECT_GE(faults, 1u);
  EXPECT_TRUE(HasPattern(m.data(), m.size(), 10)) << "the parent sees the write";
  EXPECT_EQ(child.Wait(), 0) << "the device WRITE reached the child's copy";
}

TEST_F(InvalidationTest, ChildCopyOnWriteLeavesTheParentMapped) {
  // A write by the child breaks copy-on-write in the child's address
  // space, which this mirror does not mirror: the parent's data, as the
  // device reads it, does not change.
  Mapping m(8 * page_);
  FillPattern(m.data(), m.size(), 11);
  uint8_t* data = m.data();
  const uint64_t length = m.size();
  Child child([data, length] {
    FillPattern(data, length, 12);
    return HasPattern(data, length, 12) ? 0 : 1;
  });
  ASSERT_EQ(child.Wait(), 0);
  Mapping buf(m.size());
  ASSERT_EQ(kSuccess, dev_.Read(m.addr(), m.size(), buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), 11, m.addr()));
  EXPECT_TRUE(HasPattern(m.data(), m.size(), 11));
}

// Device faults racing with MADV_DONTNEED + CPU writes: every FAULT either
// succeeds or gives up with EBUSY, and afterwards no device entry may point
// at a page that was discarded (a device READ sees exactly the CPU's data).
TEST_F(InvalidationTest, FaultsRacingWithDontneedLeaveNoStaleEntries) {
  const uint64_t npages = 64;
  Mapping m(npages * page_);
  FillPattern(m.data(), m.size(), 0);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> last_seed{0};
  std::thread cpu([&] {
    uint64_t seed = 1;
    while (!stop.load()) {
      madvise(m.data(), m.size(), MADV_DONTNEED);
      FillPattern(m.data(), m.size(), seed);
      last_seed.store(seed);
      ++seed;
    }
  });

  std::vector<Errno> unexpected;
  int ok = 0, busy = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
    Errno rc = dev_.Fault(m.addr(), m.size(), i % 2 ? HMM_MIRROR_FAULT_WRITE : 0);
    if (rc == kSuccess)
      ++ok;
    else if (rc == Errno(EBUSY))
      ++busy;
    else if (unexpected.size() < 8)
      unexpected.push_back(rc);
  }
  stop.store(true);
  cpu.join();
  RecordProperty("faults_ok", ok);
  RecordProperty("faults_ebusy", busy);
  EXPECT_TRUE(unexpected.empty()) << "first unexpected result: "
                                  << ::testing::PrintToString(unexpected[0]);

  const uint64_t seed = last_seed.load();
  ASSERT_TRUE(HasPattern(m.data(), m.size(), seed));
  Mapping buf(m.size());
  ASSERT_EQ(kSuccess, dev_.Read(m.addr(), m.size(), buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), seed, m.addr()))
      << "the device read through a stale entry";
}

// Write faults racing with mprotect() flipping the range between read-only
// and writable: every FAULT succeeds, is refused with EPERM or gives up
// with EBUSY; once the range is left read-only, no writable device entry
// may survive.
TEST_F(InvalidationTest, WriteFaultsRacingWithMprotectLeaveNoWritableEntry) {
  const uint64_t npages = 64;
  Mapping m(npages * page_);
  FillPattern(m.data(), m.size(), 13);
  std::atomic<bool> stop{false};
  std::thread cpu([&] {
    while (!stop.load()) {
      mprotect(m.data(), m.size(), PROT_READ);
      mprotect(m.data(), m.size(), PROT_READ | PROT_WRITE);
    }
    mprotect(m.data(), m.size(), PROT_READ);
  });

  std::vector<Errno> unexpected;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  while (std::chrono::steady_clock::now() < deadline) {
    Errno rc = dev_.Fault(m.addr(), m.size(), HMM_MIRROR_FAULT_WRITE);
    if (rc != kSuccess && rc != Errno(EPERM) && rc != Errno(EBUSY) &&
        unexpected.size() < 8)
      unexpected.push_back(rc);
  }
  stop.store(true);
  cpu.join();
  EXPECT_TRUE(unexpected.empty()) << "first unexpected result: "
                                  << ::testing::PrintToString(unexpected[0]);

  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesHave(q, 0, npages, 0, kWrite));
  Mapping buf(m.size());
  FillPatternAs(buf.data(), buf.size(), 14, m.addr());
  EXPECT_EQ(Errno(EPERM), dev_.Write(m.addr(), m.size(), buf.data()));
  EXPECT_TRUE(HasPattern(m.data(), m.size(), 13)) << "memory changed";
}

// An invalidation nobody wants an event for may be applied to the device
// page table only by the next command (kmod/chunks.c): whatever comes
// between, that command must find every one of them applied.
TEST_F(InvalidationTest, UnmapsInTwoChunksBeforeTheNextCommandAreBothSeen) {
  ChunkArea area(2);
  uint8_t* p[2];
  for (int c = 0; c < 2; ++c) {
    p[c] = area.Map(c, 0, 8 * page_);
    FillPattern(p[c], 8 * page_, 20 + c);
    ASSERT_EQ(kSuccess, dev_.Fault(U64(p[c]), 8 * page_));
  }
  // Unmap both, map fresh memory at the same addresses: no command between.
  for (int c = 0; c < 2; ++c) area.Unmap(c, 0, 8 * page_);
  for (int c = 0; c < 2; ++c) {
    ASSERT_EQ(p[c], area.Map(c, 0, 8 * page_));
    FillPattern(p[c], 8 * page_, 30 + c);
  }
  Mapping buf(8 * page_);
  for (int c = 0; c < 2; ++c) {
    ASSERT_EQ(kSuccess, dev_.Read(U64(p[c]), 8 * page_, buf.data()));
    EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), 30 + c, U64(p[c])))
        << "chunk " << c << ": the device read the unmapped pages";
  }
}

TEST_F(InvalidationTest, RepeatedUnmapsInOneChunkLeaveNoStaleEntry) {
  // Each invalidation in a chunk applies the one before it there.
  ChunkArea area(1);
  Mapping buf(4 * page_);
  uint8_t* p = area.Map(0, 0, 4 * page_);
  for (int i = 0; i < 16; ++i) {
    FillPattern(p, 4 * page_, 40 + i);
    ASSERT_EQ(kSuccess, dev_.Read(U64(p), 4 * page_, buf.data()));
    ASSERT_TRUE(HasPatternAs(buf.data(), buf.size(), 40 + i, U64(p)))
        << "round " << i;
    area.Unmap(0, 0, 4 * page_);
    // Churn elsewhere in the chunk, then the same range again.
    area.Map(0, kChunkSize / 2, page_)[0] = 1;
    area.Unmap(0, kChunkSize / 2, page_);
    ASSERT_EQ(p, area.Map(0, 0, 4 * page_));
  }
}

}  // namespace
}  // namespace hmm_conformance
