// SPDX-License-Identifier: MIT
//
// snapshot_test.cc - HMM_MIRROR_IOC_SNAPSHOT and HMM_MIRROR_IOC_QUERY
// (abi/README.md, "SNAPSHOT", "QUERY"): the page states each reports.
// SNAPSHOT shows the CPU page table without faulting and without touching
// the device page table; QUERY shows the device page table.

#include <sys/mman.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "hmm_mirror_test.h"

namespace hmm_conformance {
namespace {

using SnapshotTest = MirrorTest;

constexpr uint32_t kValid = HMM_MIRROR_PAGE_VALID;
constexpr uint32_t kWrite = HMM_MIRROR_PAGE_WRITE;
constexpr uint32_t kError = HMM_MIRROR_PAGE_ERROR;
constexpr uint32_t kZero = HMM_MIRROR_PAGE_ZERO;

// mincore(): is each page resident?  Tells whether SNAPSHOT faulted.
std::vector<unsigned char> Residency(const Mapping& m) {
  std::vector<unsigned char> vec(m.size() / OsPageSize());
  if (mincore(m.data(), m.size(), vec.data()) != 0)
    throw std::runtime_error("mincore failed");
  return vec;
}

TEST_F(SnapshotTest, UntouchedMemoryIsEmptyAndStaysUntouched) {
  Mapping m(16 * page_);
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), m.size(), &s));
  EXPECT_TRUE(PagesAre(s, 0, 16, 0));
  // SNAPSHOT does not fault: still nothing resident, still empty.
  for (unsigned char r : Residency(m)) EXPECT_EQ(r & 1, 0);
  ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), m.size(), &s));
  EXPECT_TRUE(PagesAre(s, 0, 16, 0));
}

TEST_F(SnapshotTest, WrittenAnonymousMemoryIsValidAndWritable) {
  for (uint64_t npages : {uint64_t{16}, uint64_t{256}}) {
    SCOPED_TRACE(::testing::Message() << npages << " pages");
    Mapping m(npages * page_);
    FillPattern(m.data(), m.size(), 1);
    std::vector<uint32_t> s;
    ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), m.size(), &s));
    EXPECT_TRUE(PagesAre(s, 0, npages, kValid | kWrite));
  }
}

TEST_F(SnapshotTest, MemoryReadByTheCpuOnlyIsTheZeroPage) {
  Mapping m(16 * page_);
  m.TouchRead(0, m.size());
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), m.size(), &s));
  EXPECT_TRUE(PagesAre(s, 0, 16, kValid | kZero));
}

TEST_F(SnapshotTest, ReadOnlyMemoryIsValidWithoutWrite) {
  Mapping m(16 * page_);
  FillPattern(m.data(), m.size(), 2);
  m.Protect(0, m.size(), PROT_READ);
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), m.size(), &s));
  EXPECT_TRUE(PagesAre(s, 0, 16, kValid));
}

TEST_F(SnapshotTest, ProtNoneMemoryIsError) {
  Mapping m(8 * page_);
  FillPattern(m.data(), 4 * page_, 3);  // pages 0-3 present, 4-7 untouched
  m.Protect(0, m.size(), PROT_NONE);
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), m.size(), &s));
  EXPECT_TRUE(PagesHave(s, 0, 8, kError, kWrite | kZero));
}

// The [vvar] mapping of this process: VM_IO | VM_PFNMAP, pages without a
// struct page to a device.
// The start of a VM_PFNMAP mapping of this process (VmFlags "pf" in
// smaps, e.g. [vvar] up to 6.x; in 7.x [vvar] is VM_MIXEDMAP and
// [vvar_vclock] is the one), and its name.
bool FindPfnmap(uint64_t* start, std::string* name) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line, vma;
  uint64_t at = 0;
  while (std::getline(smaps, line)) {
    uint64_t a, b;
    char dash;
    std::istringstream head(line);
    if (head >> std::hex >> a >> dash >> b && dash == '-') {
      at = a;
      vma = line;
      continue;
    }
    if (line.rfind("VmFlags:", 0) == 0 && (line + " ").find(" pf ") !=
                                              std::string::npos) {
      *start = at;
      *name = vma.substr(vma.find_last_of(' ') + 1);
      return true;
    }
  }
  return false;
}

// A VM_PFNMAP mapping reads as ERROR and cannot be faulted (the VM_MIXEDMAP
// case, pages with a struct page, is Parity.Mixedmap).
TEST_F(SnapshotTest, PfnmapMappingIsErrorAndCannotBeFaulted) {
  uint64_t vvar = 0;
  std::string name;
  if (!FindPfnmap(&vvar, &name))
    GTEST_SKIP() << "this process has no VM_PFNMAP mapping";
  RecordProperty("mapping", name);
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(vvar, page_, &s));
  EXPECT_TRUE(PagesHave(s, 0, 1, kError, kValid | kWrite | kZero));
  EXPECT_EQ(Errno(EFAULT), dev_.Fault(vvar, page_));
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(vvar, page_, &q));
  EXPECT_TRUE(PagesAre(q, 0, 1, 0));
}

TEST_F(SnapshotTest, UnmappedRangeIsEmpty) {
  Mapping m(16 * page_);
  FillPattern(m.data(), m.size(), 4);
  std::vector<uint32_t> s;
  s.reserve(16);  // no allocation between munmap() and the ioctl
  m.Unmap(0, m.size());
  ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), 16 * page_, &s));
  EXPECT_TRUE(PagesAre(s, 0, 16, 0));
}

TEST_F(SnapshotTest, EveryKindOfPageInOneRange) {
  // page 0 written, 1 untouched, 2 read only by the CPU, 3 written then
  // read-only, 4 PROT_NONE, 5 unmapped, 6 written.
  Mapping m(7 * page_);
  FillPattern(m.at(0), page_, 5);
  m.TouchRead(2 * page_, page_);
  FillPattern(m.at(3 * page_), page_, 5);
  m.Protect(3 * page_, page_, PROT_READ);
  m.Protect(4 * page_, page_, PROT_NONE);
  FillPattern(m.at(6 * page_), page_, 5);
  std::vector<uint32_t> s;
  s.reserve(7);
  m.Unmap(5 * page_, page_);
  ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), 7 * page_, &s));
  EXPECT_TRUE(PagesAre(s, 0, 1, kValid | kWrite));
  EXPECT_TRUE(PagesAre(s, 1, 2, 0));
  EXPECT_TRUE(PagesAre(s, 2, 3, kValid | kZero));
  EXPECT_TRUE(PagesAre(s, 3, 4, kValid));
  EXPECT_TRUE(PagesHave(s, 4, 5, kError, kWrite | kZero));
  EXPECT_TRUE(PagesAre(s, 5, 6, 0));
  EXPECT_TRUE(PagesAre(s, 6, 7, kValid | kWrite));
}

TEST_F(SnapshotTest, SnapshotLeavesTheDeviceTableAlone) {
  Mapping m(16 * page_);
  FillPattern(m.data(), m.size(), 6);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(8 * page_), 8 * page_));
  std::vector<uint32_t> before, s, after;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &before));
  ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), m.size(), &s));
  EXPECT_TRUE(PagesAre(s, 0, 16, kValid | kWrite));
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &after));
  EXPECT_EQ(before, after);
  EXPECT_TRUE(PagesAre(after, 0, 8, 0));
  EXPECT_TRUE(PagesHave(after, 8, 16, kValid, 0));
}

TEST_F(SnapshotTest, LongerStatesArrayIsAccepted) {
  Mapping m(4 * page_);
  FillPattern(m.data(), m.size(), 7);
  std::vector<uint32_t> states(64, kStateCanary);
  hmm_mirror_pages p = MakePages(m.addr(), m.size(), states.data(), states.size());
  ASSERT_EQ(kSuccess, dev_.Call(HMM_MIRROR_IOC_SNAPSHOT, &p));
  EXPECT_TRUE(PagesAre(states, 0, 4, kValid | kWrite));
  p = MakePages(m.addr(), m.size(), states.data(), states.size());
  ASSERT_EQ(kSuccess, dev_.Call(HMM_MIRROR_IOC_QUERY, &p));
  EXPECT_TRUE(PagesAre(states, 0, 4, 0));
}

using QueryTest = MirrorTest;

TEST_F(QueryTest, NothingIsMappedBeforeTheFirstFault) {
  Mapping m(16 * page_);
  FillPattern(m.data(), m.size(), 8);
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesAre(q, 0, 16, 0));
}

TEST_F(QueryTest, AnyRangeOfTheAddressSpaceCanBeQueried) {
  // QUERY reads the device page table only: holes, PROT_NONE and never
  // mapped addresses are all fine and all empty.
  Mapping m(4 * page_, PROT_NONE);
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesAre(q, 0, 4, 0));
  ASSERT_EQ(kSuccess, dev_.Query(0, 16 * page_, &q));  // page zero
  EXPECT_TRUE(PagesAre(q, 0, 16, 0));
  ASSERT_EQ(kSuccess, dev_.Query(uint64_t{1} << 40, 16 * page_, &q));
  EXPECT_TRUE(PagesAre(q, 0, 16, 0));
}

TEST_F(QueryTest, QueryNeverReportsError) {
  Mapping m(8 * page_);
  FillPattern(m.data(), m.size(), 9);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
  m.Protect(0, 4 * page_, PROT_NONE);
  EXPECT_EQ(Errno(EFAULT), dev_.Fault(m.addr(), m.size()));
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesHave(q, 0, 8, 0, kError));
  EXPECT_TRUE(PagesAre(q, 0, 4, 0));
}

}  // namespace
}  // namespace hmm_conformance
