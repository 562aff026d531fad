// SPDX-License-Identifier: MIT
//
// dirty_test.cc - a device WRITE dirties what it writes, as a CPU store
// does (abi/README.md, "WRITE"), so reclaim and writeback keep the data.
// The case that lost data once: madvise(MADV_FREE) leaves clean, writable
// ptes, so the device maps the pages writable without a fault; a WRITE
// that did not dirty them let reclaim (MADV_PAGEOUT) discard them, and the
// CPU read zeros.  Also shared memory and files, where the data must reach
// the file through writeback.

#include <fcntl.h>
#include <sys/mman.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "file_util.h"

namespace hmm_conformance {
namespace {

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

// Pages of [p, p + len) that read as all zero.
uint64_t ZeroPages(const uint8_t* p, uint64_t len, uint64_t page) {
  uint64_t n = 0;
  for (uint64_t off = 0; off < len; off += page) {
    bool zero = true;
    for (uint64_t i = 0; i < page && zero; i += 8)
      zero = *reinterpret_cast<const uint64_t*>(p + off + i) == 0;
    n += zero;
  }
  return n;
}

class DeviceDirtyTest : public MirrorTest {
 protected:
  // Lazily frees [p, p + len) (written with pattern 1 first), lets the
  // device WRITE pattern 2 into it, then asks for reclaim.  Also reclaims a
  // control of the same shape nobody writes after MADV_FREE, which must
  // read as zeros: that shows reclaim ran.  Returns why the test cannot
  // tell anything here, or "".
  std::string WriteThenReclaim(uint8_t* p, uint8_t* control, uint64_t len) {
    FillPattern(p, len, 1);
    FillPattern(control, len, 1);
    if (madvise(p, len, MADV_FREE) != 0 ||
        madvise(control, len, MADV_FREE) != 0)
      return std::string("MADV_FREE: ") + std::strerror(errno);
    Mapping buf(len);
    FillPatternAs(buf.data(), len, 2, U64(p));
    uint64_t faults = 0;
    EXPECT_EQ(kSuccess, dev_.Write(U64(p), len, buf.data(), &faults));
    // Present, writable ptes: the device maps them without a CPU fault.
    RecordProperty("device_faults", static_cast<int>(faults));
    if (madvise(p, len, MADV_PAGEOUT) != 0 ||
        madvise(control, len, MADV_PAGEOUT) != 0)
      return std::string("MADV_PAGEOUT: ") + std::strerror(errno);
    const uint64_t reclaimed = ZeroPages(control, len, page_);
    RecordProperty("control_pages_reclaimed", static_cast<int>(reclaimed));
    if (reclaimed == 0)
      return "MADV_PAGEOUT reclaimed none of the lazily freed control "
             "pages here: the test would prove nothing";
    return "";
  }
};

TEST_F(DeviceDirtyTest, LazilyFreedPagesKeepDeviceWritesThroughReclaim) {
  constexpr uint64_t kPages = 32;
  Mapping m(kPages * page_, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);
  Mapping control(kPages * page_, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);
  const std::string skip =
      WriteThenReclaim(m.data(), control.data(), m.size());
  if (!skip.empty()) GTEST_SKIP() << skip;
  EXPECT_EQ(ZeroPages(m.data(), m.size(), page_), 0u)
      << "device-written pages read back as zero after reclaim";
  EXPECT_TRUE(HasPattern(m.data(), m.size(), 2));
}

TEST_F(DeviceDirtyTest, LazilyFreedHugePageKeepsDeviceWritesThroughReclaim) {
  // Two aligned 2 MiB blocks: the device's and the control.
  Mapping area(5 * kHugeSize, PROT_READ | PROT_WRITE, -1);
  const uint64_t off =
      ((area.addr() + kHugeSize - 1) & ~(kHugeSize - 1)) - area.addr();
  area.Advise(off, 4 * kHugeSize, MADV_HUGEPAGE);
  uint8_t* block = area.at(off);
  uint8_t* control = area.at(off + 2 * kHugeSize);
  FillPattern(block, kHugeSize, 1);
  FillPattern(control, kHugeSize, 1);
  if (AnonHugeKb(U64(block)) < 4096)
    GTEST_SKIP() << "no transparent huge pages for the two blocks";
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(U64(block), kHugeSize, &s));
  ASSERT_EQ(HMM_MIRROR_PAGE_ORDER(s[0]), kHugeOrder) << "not one huge page";
  const std::string skip = WriteThenReclaim(block, control, kHugeSize);
  if (!skip.empty()) GTEST_SKIP() << skip;
  EXPECT_EQ(ZeroPages(block, kHugeSize, page_), 0u)
      << "device-written pages read back as zero after reclaim";
  EXPECT_TRUE(HasPattern(block, kHugeSize, 2));
}

TEST_F(DeviceDirtyTest, ReadFaultedSharedMemoryKeepsDeviceWritesThroughReclaim) {
  // A read fault of a shared memfd page allocates a clean page and maps it
  // writable (tmpfs does not track writes through the page table), so the
  // device maps it writable at once.  Undirtied, reclaim would drop the
  // device's data as a clean page-cache page.
  constexpr uint64_t kPages = 16;
  const uint64_t len = kPages * page_;
  const int fd = memfd_create("hmm-mirror-dirty", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(0, ftruncate(fd, static_cast<off_t>(len)));
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(p, MAP_FAILED);
  ASSERT_EQ(kSuccess, dev_.Fault(U64(p), len));  // read: clean pages
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(U64(p), len, &q));
  RecordProperty("mapped_writable",
                 (q[0] & HMM_MIRROR_PAGE_WRITE) ? 1 : 0);
  Mapping buf(len);
  FillPatternAs(buf.data(), len, 2, U64(p));
  ASSERT_EQ(kSuccess, dev_.Write(U64(p), len, buf.data()));
  if (madvise(p, len, MADV_PAGEOUT) != 0)
    ADD_FAILURE() << "MADV_PAGEOUT: " << std::strerror(errno);
  ASSERT_EQ(0, munmap(p, len));
  std::vector<uint8_t> back(len);
  ASSERT_EQ(static_cast<ssize_t>(len), pread(fd, back.data(), len, 0));
  EXPECT_EQ(ZeroPages(back.data(), len, page_), 0u)
      << "device-written pages read back as zero after reclaim";
  EXPECT_TRUE(HasPatternAs(back.data(), len, 2, U64(p)));
  close(fd);
}

class DeviceDirtyFileTest : public MirrorTest,
                            public ::testing::WithParamInterface<Backing> {};

TEST_P(DeviceDirtyFileTest, DeviceWritesReachTheFileThroughWriteback) {
  // Written back, dropped from the page cache, read again with pread():
  // what the device wrote is in the file.  The file is written back before
  // the device writes, so only the device's WRITE can dirty it again.
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_FILE_BACKED);
  constexpr uint64_t kPages = 16;
  TestFile file(GetParam(), kPages * page_, 1);
  if (file.fd() < 0) GTEST_SKIP() << file.why();
  ASSERT_EQ(0, fsync(file.fd()));
  uint8_t* map = file.Map(PROT_READ | PROT_WRITE, MAP_SHARED);
  ASSERT_NE(map, nullptr) << std::strerror(errno);
  const uint64_t len = kPages * page_;
  // The device maps the pages writable first, then writeback cleans them.
  ASSERT_EQ(kSuccess, dev_.Fault(U64(map), len, HMM_MIRROR_FAULT_WRITE));
  ASSERT_EQ(0, msync(map, len, MS_SYNC));
  Mapping buf(len);
  FillPatternAs(buf.data(), len, 2, TestFile::kFileBase);
  ASSERT_EQ(kSuccess, dev_.Write(U64(map), len, buf.data()));
  if (madvise(map, len, MADV_PAGEOUT) != 0 && errno != EINVAL)
    ADD_FAILURE() << "MADV_PAGEOUT: " << std::strerror(errno);
  ASSERT_EQ(0, munmap(map, len));
  ASSERT_EQ(0, fsync(file.fd()));
  // Only a disk file leaves the page cache here; tmpfs pages stay.
  posix_fadvise(file.fd(), 0, static_cast<off_t>(len), POSIX_FADV_DONTNEED);
  EXPECT_TRUE(file.Holds(2, 0, len));
}

INSTANTIATE_TEST_SUITE_P(Backings, DeviceDirtyFileTest,
                         ::testing::Values(Backing::kTmpfs, Backing::kMemfd,
                                           Backing::kDisk),
                         [](const ::testing::TestParamInfo<Backing>& i) {
                           return std::string(BackingName(i.param));
                         });

}  // namespace
}  // namespace hmm_conformance
