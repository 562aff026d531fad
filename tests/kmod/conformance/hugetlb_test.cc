// SPDX-License-Identifier: MIT
//
// hugetlb_test.cc - hugetlbfs 2 MiB pages (abi/README.md, SNAPSHOT's
// order and HMM_MIRROR_FEAT_HUGE_ENTRIES: "2M (THP, hugetlbfs) and 1G CPU
// mappings become single device entries, reported with their order").
// SNAPSHOT reports order 9 for every 4K page of a huge page; with
// HUGE_ENTRIES the device maps it as one order-9 entry; READ and WRITE
// move the data; munmap and mprotect of a huge page reach the device.
// THP is in thp_test.cc.
//
// Skipped when the kernel has no 2 MiB huge page to give (the VM reserves
// VM_HUGEPAGES of them).

#include <sys/mman.h>

#include <vector>

#include "hmm_mirror_test.h"

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif
#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB (21U << 26)  // linux/memfd.h: MFD_HUGE_SHIFT 26
#endif

namespace hmm_conformance {
namespace {

constexpr uint32_t kValid = HMM_MIRROR_PAGE_VALID;
constexpr uint32_t kWrite = HMM_MIRROR_PAGE_WRITE;
constexpr uint32_t kOrder9 = kHugeOrder << HMM_MIRROR_PAGE_ORDER_SHIFT;
constexpr uint64_t kPages = kHugeSize / 4096;  // 4K pages per huge page

// Two private anonymous 2 MiB hugetlb pages.
class HugetlbTest : public MirrorTest {
 protected:
  void SetUp() override {
    MirrorTest::SetUp();
    if (HasFatalFailure()) return;
    void* p = mmap(nullptr, 2 * kHugeSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB,
                   -1, 0);
    if (p == MAP_FAILED)
      GTEST_SKIP() << "no 2 MiB hugetlb pages: mmap(MAP_HUGETLB) failed: "
                   << std::strerror(errno);
    base_ = static_cast<uint8_t*>(p);
    mapped_[0] = mapped_[1] = true;
    ASSERT_EQ(U64(base_) % kHugeSize, 0u);
    FillPattern(base_, 2 * kHugeSize, 1);
    huge_entries_ = dev_.Has(HMM_MIRROR_FEAT_HUGE_ENTRIES);
  }

  void TearDown() override {
    for (int i = 0; i < 2; ++i)
      if (mapped_[i]) munmap(base_ + i * kHugeSize, kHugeSize);
  }

  void UnmapHuge(int i) {
    ASSERT_EQ(0, munmap(base_ + i * kHugeSize, kHugeSize));
    mapped_[i] = false;
  }

  uint64_t addr(uint64_t page = 0) const { return U64(base_) + page * page_; }
  uint32_t DeviceOrder() const {
    return huge_entries_ ? kOrder9 : 0;
  }

  uint8_t* base_ = nullptr;
  bool mapped_[2] = {false, false};
  bool huge_entries_ = false;
};

TEST_F(HugetlbTest, SnapshotReportsOrderNine) {
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(addr(), 2 * kHugeSize, &s));
  EXPECT_TRUE(PagesAre(s, 0, 2 * kPages, kValid | kWrite | kOrder9));
  // SNAPSHOT of a part reports the order of the mapping that holds it.
  ASSERT_EQ(kSuccess, dev_.Snapshot(addr(100), 3 * page_, &s));
  EXPECT_TRUE(PagesAre(s, 0, 3, kValid | kWrite | kOrder9));
}

TEST_F(HugetlbTest, FaultMapsEachHugePageAsOneEntry) {
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_HUGE_ENTRIES);
  hmm_mirror_fault f;
  ASSERT_EQ(kSuccess, dev_.Fault(addr(), 2 * kHugeSize, 0, &f));
  EXPECT_EQ(f.pages_mapped, 2 * kPages);
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(addr(), 2 * kHugeSize, &q));
  EXPECT_TRUE(PagesHave(q, 0, 2 * kPages, kValid, HMM_MIRROR_PAGE_ZERO));
  EXPECT_TRUE(PagesOfOrder(q, 0, 2 * kPages, kHugeOrder));
  if (dev_.Has(HMM_MIRROR_FEAT_STATS)) {
    hmm_mirror_stats st;
    ASSERT_EQ(kSuccess, dev_.Stats(&st));
    EXPECT_EQ(st.dpt_pages, 2 * kPages) << "dpt_pages counts 4K pages";
  }
  // Faulting a part of a huge page maps that part; QUERY still reports the
  // order of the entry.
  Mirror other;
  ASSERT_EQ("", other.Open());
  ASSERT_EQ(kSuccess, other.Fault(addr(kPages + 10), 4 * page_, 0, &f));
  EXPECT_EQ(f.pages_mapped, 4u);
  ASSERT_EQ(kSuccess, other.Query(addr(kPages + 10), 4 * page_, &q));
  EXPECT_TRUE(PagesHave(q, 0, 4, kValid, 0));
}

TEST_F(HugetlbTest, WriteFaultEntriesAreWritable) {
  hmm_mirror_fault f;
  ASSERT_EQ(kSuccess, dev_.Fault(addr(), kHugeSize, HMM_MIRROR_FAULT_WRITE, &f));
  EXPECT_EQ(f.pages_mapped, kPages);
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(addr(), kHugeSize, &q));
  EXPECT_TRUE(PagesAre(q, 0, kPages, kValid | kWrite | DeviceOrder()));
}

TEST_F(HugetlbTest, ReadAndWriteMoveTheData) {
  Mapping buf(2 * kHugeSize);
  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Read(addr(), 2 * kHugeSize, buf.data(), &faults));
  EXPECT_GE(faults, 1u);
  EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), 1, addr()));
  FillPatternAs(buf.data(), buf.size(), 2, addr());
  ASSERT_EQ(kSuccess, dev_.Write(addr(), 2 * kHugeSize, buf.data(), &faults));
  EXPECT_TRUE(HasPattern(base_, 2 * kHugeSize, 2));
  // A READ of a part that is still mapped takes no fault.
  ASSERT_EQ(kSuccess, dev_.Read(addr(300), 40 * page_, buf.data(), &faults));
  EXPECT_EQ(faults, 0u);
  EXPECT_TRUE(HasPatternAs(buf.data(), 40 * page_, 2, addr(300)));
}

TEST_F(HugetlbTest, MunmapOfAHugePageClearsIt) {
  ASSERT_EQ(kSuccess, dev_.Fault(addr(), 2 * kHugeSize, HMM_MIRROR_FAULT_WRITE));
  if (dev_.Has(HMM_MIRROR_FEAT_EVENTS)) {
    ASSERT_EQ(kSuccess, dev_.SetEvents(HMM_MIRROR_EVENT_ALL_REASONS));
  }
  std::vector<uint32_t> q;
  q.reserve(2 * kPages);
  // Mapped before the munmap: mapped after it, it could land in the hole.
  Mapping buf(kHugeSize);
  UnmapHuge(1);
  ASSERT_EQ(kSuccess, dev_.Query(addr(), 2 * kHugeSize, &q));
  EXPECT_TRUE(PagesAre(q, 0, kPages, kValid | kWrite | DeviceOrder()));
  EXPECT_TRUE(PagesAre(q, kPages, 2 * kPages, 0));
  EXPECT_EQ(Errno(EFAULT), dev_.Read(addr(kPages), kHugeSize, buf.data()));
  if (dev_.Has(HMM_MIRROR_FEAT_EVENTS)) {
    std::vector<hmm_mirror_event> ev = DrainEvents(dev_.fd());
    ASSERT_EQ(ev.size(), 1u) << EventsString(ev);
    EXPECT_EQ(ev[0].reason, uint32_t{HMM_MIRROR_EVENT_UNMAP});
    EXPECT_EQ(ev[0].start, addr(kPages));
    EXPECT_EQ(ev[0].end, addr(2 * kPages));
    EXPECT_EQ(ev[0].pages, kPages);
  }
}

TEST_F(HugetlbTest, MprotectOfAHugePageRemovesWrite) {
  ASSERT_EQ(kSuccess, dev_.Fault(addr(), 2 * kHugeSize, HMM_MIRROR_FAULT_WRITE));
  ASSERT_EQ(0, mprotect(base_, kHugeSize, PROT_READ));
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(addr(), 2 * kHugeSize, &q));
  EXPECT_TRUE(PagesHave(q, 0, kPages, 0, kWrite));
  EXPECT_TRUE(PagesAre(q, kPages, 2 * kPages, kValid | kWrite | DeviceOrder()));
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(addr(), kHugeSize, &s));
  EXPECT_TRUE(PagesAre(s, 0, kPages, kValid | kOrder9));

  Mapping buf(kHugeSize);
  FillPatternAs(buf.data(), buf.size(), 3, addr());
  EXPECT_EQ(Errno(EPERM), dev_.Write(addr(), kHugeSize, buf.data()));
  EXPECT_TRUE(HasPattern(base_, kHugeSize, 1)) << "read-only page changed";
  // Reads still work, through a read-only entry.
  ASSERT_EQ(kSuccess, dev_.Read(addr(), kHugeSize, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), kHugeSize, 1, addr()));
  ASSERT_EQ(kSuccess, dev_.Query(addr(), kHugeSize, &q));
  EXPECT_TRUE(PagesAre(q, 0, kPages, kValid | DeviceOrder()));
}

TEST_F(HugetlbTest, DontneedOfAHugePageClearsIt) {
  ASSERT_EQ(kSuccess, dev_.Fault(addr(), 2 * kHugeSize));
  if (madvise(base_, kHugeSize, MADV_DONTNEED) != 0)
    GTEST_SKIP() << "MADV_DONTNEED on hugetlb: " << std::strerror(errno);
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(addr(), 2 * kHugeSize, &q));
  EXPECT_TRUE(PagesAre(q, 0, kPages, 0));
  EXPECT_TRUE(PagesHave(q, kPages, 2 * kPages, kValid, 0));
  Mapping buf(kHugeSize);
  std::memset(buf.data(), kCanaryByte, buf.size());
  ASSERT_EQ(kSuccess, dev_.Read(addr(), kHugeSize, buf.data()));
  EXPECT_TRUE(IsFilledWith(buf.data(), buf.size(), 0));
}

// A shared hugetlbfs file (memfd_create(MFD_HUGETLB)): file-backed and huge.
TEST_F(HugetlbTest, SharedHugetlbFileIsMirroredWhole) {
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_FILE_BACKED);
  const int fd = memfd_create("hmm-hugetlb", MFD_CLOEXEC | MFD_HUGETLB | MFD_HUGE_2MB);
  if (fd < 0) GTEST_SKIP() << "memfd_create(MFD_HUGETLB): " << std::strerror(errno);
  ASSERT_EQ(0, ftruncate(fd, kHugeSize));
  void* p1 = mmap(nullptr, kHugeSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  void* p2 = mmap(nullptr, kHugeSize, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (p1 == MAP_FAILED || p2 == MAP_FAILED) {
    if (p1 != MAP_FAILED) munmap(p1, kHugeSize);
    if (p2 != MAP_FAILED) munmap(p2, kHugeSize);
    GTEST_SKIP() << "no free hugetlb page for a shared mapping";
  }
  Mapping buf(kHugeSize);
  FillPatternAs(buf.data(), kHugeSize, 4, U64(p1));
  uint64_t faults;
  EXPECT_EQ(kSuccess, dev_.Write(U64(p1), kHugeSize, buf.data(), &faults));
  EXPECT_GE(faults, 1u);
  std::vector<uint32_t> q;
  EXPECT_EQ(kSuccess, dev_.Query(U64(p1), kHugeSize, &q));
  EXPECT_TRUE(PagesAre(q, 0, kPages, kValid | kWrite | DeviceOrder()));
  // The other mapping of the file sees the data.
  EXPECT_TRUE(HasPatternAs(p2, kHugeSize, 4, U64(p1)));
  munmap(p1, kHugeSize);
  munmap(p2, kHugeSize);
}

}  // namespace
}  // namespace hmm_conformance
