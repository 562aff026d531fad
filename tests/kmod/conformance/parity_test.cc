// SPDX-License-Identifier: MIT
//
// parity_test.cc - one test per scenario of the kernel's own HMM selftests
// (tools/testing/selftests/mm/hmm-tests.c, Linux 7.3; selftests/vm in
// 6.1), written anew against this ABI: those that need no device memory,
// then the device-private ones, against the module's device memory (ABI
// 4).  Each test names the selftest it corresponds to; PARITY.md has the
// full map, including what differs and the scenarios not mapped.
//
// The selftest's device faults a whole buffer at once (faults == 1).  This
// device cuts runs of missing pages at 2 MiB copy chunks (abi/README.md,
// READ / WRITE), so the buffers here sit inside one 2 MiB-aligned block
// (the start of a ChunkArea) and are at most 2 MiB; then a first access is
// exactly one device fault, as in the selftest.

#include <fcntl.h>
#include <linux/if_packet.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "process_util.h"

// The kernel's test_hmm uapi (lib/test_hmm_uapi.h of a kernel source tree
// the project keeps; conformance.mk puts its directory on the include
// path when there is one): Parity.SnapshotOtherDevicePage.
#if __has_include(<test_hmm_uapi.h>)
#include <test_hmm_uapi.h>
#define HMM_HAVE_TEST_HMM_UAPI 1
#else
#define HMM_HAVE_TEST_HMM_UAPI 0
#endif

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif

namespace hmm_conformance {
namespace {

constexpr uint32_t kValid = HMM_MIRROR_PAGE_VALID;
constexpr uint32_t kWrite = HMM_MIRROR_PAGE_WRITE;
constexpr uint32_t kZero = HMM_MIRROR_PAGE_ZERO;
constexpr uint32_t kError = HMM_MIRROR_PAGE_ERROR;
constexpr uint32_t kDevice = HMM_MIRROR_PAGE_DEVICE;
constexpr uint32_t kOrder9 = kHugeOrder << HMM_MIRROR_PAGE_ORDER_SHIFT;

// The selftest's buffer is 1024 pages; 256 keep TCG fast and fit a block.
constexpr uint64_t kPages = 256;

class Parity : public MirrorTest {
 protected:
  // mmap(prot, flags, fd) of `length` bytes at the 2 MiB-aligned start of
  // a 1 GiB chunk of our own.
  uint8_t* MapAligned(uint64_t length, int prot, int flags, int fd = -1) {
    area_.reset(new ChunkArea(1));
    void* p = mmap(area_->at(0, 0), length, prot, flags | MAP_FIXED, fd, 0);
    EXPECT_NE(p, MAP_FAILED) << std::strerror(errno);
    if (p == MAP_FAILED) return nullptr;
    if (!(flags & MAP_HUGETLB)) madvise(p, length, MADV_NOHUGEPAGE);
    return static_cast<uint8_t*>(p);
  }

  // A 2 MiB-aligned 2 MiB private anonymous mapping with MADV_HUGEPAGE:
  // the selftest's THP buffer.
  uint8_t* MapAlignedForHuge(int prot) {
    uint8_t* p = MapAligned(kHugeSize, prot, MAP_PRIVATE | MAP_ANONYMOUS);
    if (p != nullptr) {
      EXPECT_EQ(0, madvise(p, kHugeSize, MADV_HUGEPAGE)) << std::strerror(errno);
    }
    return p;
  }

  std::unique_ptr<ChunkArea> area_;
};

// hmm-tests.c: open_close
TEST_F(Parity, OpenClose) {
  Mirror m;
  ASSERT_EQ("", m.Open());
  const int fd = dup(m.fd());
  m.Close();
  EXPECT_EQ(0, close(fd));
}

// hmm-tests.c: anon_read
TEST_F(Parity, AnonRead) {
  const uint64_t len = kPages * page_;
  uint8_t* p = MapAligned(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  ASSERT_NE(p, nullptr);
  // Page 0 never touched (pte_none), page 1 read (zero page), the rest
  // written; then read-only.
  FillPattern(p + 2 * page_, len - 2 * page_, 1);
  ASSERT_EQ(0, mprotect(p, len, PROT_READ));
  ASSERT_EQ(0, *reinterpret_cast<volatile uint8_t*>(p + page_));
  Mapping buf(len);
  std::memset(buf.data(), kCanaryByte, len);
  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Read(U64(p), len, buf.data(), &faults));
  EXPECT_EQ(faults, 1u);
  EXPECT_TRUE(IsFilledWith(buf.data(), 2 * page_, 0));
  EXPECT_TRUE(HasPatternAs(buf.at(2 * page_), len - 2 * page_, 1, U64(p) + 2 * page_));
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(U64(p), len, &q));
  EXPECT_TRUE(PagesAre(q, 0, 2, kValid | kZero));
  EXPECT_TRUE(PagesAre(q, 2, kPages, kValid));
}

// hmm-tests.c: anon_read_prot
TEST_F(Parity, AnonReadProt) {
  const uint64_t len = kPages * page_;
  uint8_t* p = MapAligned(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  ASSERT_NE(p, nullptr);
  FillPattern(p, len, 2);
  ASSERT_EQ(0, mprotect(p, len, PROT_NONE));
  Mapping buf(len);
  std::memset(buf.data(), kCanaryByte, len);
  EXPECT_EQ(Errno(EFAULT), dev_.Read(U64(p), len, buf.data()));
  EXPECT_TRUE(IsFilledWith(buf.data(), len, kCanaryByte)) << "the device read";
  ASSERT_EQ(0, mprotect(p, len, PROT_READ));
  EXPECT_TRUE(HasPattern(p, len, 2));
}

// hmm-tests.c: anon_write
TEST_F(Parity, AnonWrite) {
  const uint64_t len = kPages * page_;
  uint8_t* p = MapAligned(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  ASSERT_NE(p, nullptr);
  Mapping buf(len);
  FillPatternAs(buf.data(), len, 3, U64(p));
  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Write(U64(p), len, buf.data(), &faults));
  EXPECT_EQ(faults, 1u);
  EXPECT_TRUE(HasPattern(p, len, 3));
}

// hmm-tests.c: anon_write_prot
TEST_F(Parity, AnonWriteProt) {
  const uint64_t len = kPages * page_;
  uint8_t* p = MapAligned(len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
  ASSERT_NE(p, nullptr);
  Mapping buf(len);
  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Read(U64(p), page_, buf.data(), &faults));
  EXPECT_EQ(faults, 1u);
  EXPECT_TRUE(IsFilledWith(buf.data(), page_, 0));
  FillPatternAs(buf.data(), len, 4, U64(p));
  EXPECT_EQ(Errno(EPERM), dev_.Write(U64(p), len, buf.data()));
  EXPECT_TRUE(IsFilledWith(p, len, 0)) << "the refused WRITE changed memory";
  ASSERT_EQ(0, mprotect(p, len, PROT_READ | PROT_WRITE));
  ASSERT_EQ(kSuccess, dev_.Write(U64(p), len, buf.data(), &faults));
  EXPECT_EQ(faults, 1u);
  EXPECT_TRUE(HasPattern(p, len, 4));
}

// A child that opens a mirror of its own and WRITEs pattern 6 over
// [data, data + len), which it first checks holds pattern 5.  Exit codes:
// 0 ok, 2 data not as expected before, 3 open, 4 WRITE, 5 faults != 1,
// 6 the child's memory does not hold the written data.
int WriteThroughOwnMirror(uint8_t* data, uint64_t len) {
  if (!HasPattern(data, len, 5)) return 2;
  Mirror mine;
  if (!mine.Open().empty()) return 3;
  std::vector<uint8_t> buf(len);
  FillPatternAs(buf.data(), len, 6, U64(data));
  uint64_t faults = 0;
  if (mine.Write(U64(data), len, buf.data(), &faults) != kSuccess) return 4;
  if (faults != 1) return 5;
  if (!HasPattern(data, len, 6)) return 6;
  return 0;
}

// hmm-tests.c: anon_write_child
TEST_F(Parity, AnonWriteChild) {
  const uint64_t len = kPages * page_;
  uint8_t* p = MapAligned(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  ASSERT_NE(p, nullptr);
  FillPattern(p, len, 5);
  Child child([p, len] { return WriteThroughOwnMirror(p, len); });
  EXPECT_EQ(child.Wait(), 0) << "see WriteThroughOwnMirror's exit codes";
  EXPECT_TRUE(HasPattern(p, len, 5)) << "the child's private copy is its own";
}

// hmm-tests.c: anon_write_child_shared
TEST_F(Parity, AnonWriteChildShared) {
  const uint64_t len = kPages * page_;
  uint8_t* p = MapAligned(len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
  ASSERT_NE(p, nullptr);
  FillPattern(p, len, 5);
  Child child([p, len] { return WriteThroughOwnMirror(p, len); });
  EXPECT_EQ(child.Wait(), 0) << "see WriteThroughOwnMirror's exit codes";
  EXPECT_TRUE(HasPattern(p, len, 6)) << "shared memory: the parent sees it";
}

// hmm-tests.c: anon_write_huge
TEST_F(Parity, AnonWriteHuge) {
  uint8_t* p = MapAligned(kHugeSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(0, madvise(p, kHugeSize, MADV_HUGEPAGE));
  Mapping buf(kHugeSize);
  FillPatternAs(buf.data(), kHugeSize, 7, U64(p));
  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Write(U64(p), kHugeSize, buf.data(), &faults));
  EXPECT_EQ(faults, 1u);
  EXPECT_TRUE(HasPattern(p, kHugeSize, 7));
}

// hmm-tests.c: anon_write_hugetlbfs
TEST_F(Parity, AnonWriteHugetlbfs) {
  void* p = mmap(nullptr, kHugeSize, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB, -1, 0);
  if (p == MAP_FAILED)
    GTEST_SKIP() << "no 2 MiB hugetlb page: " << std::strerror(errno);
  Mapping buf(kHugeSize);
  FillPatternAs(buf.data(), kHugeSize, 8, U64(p));
  uint64_t faults;
  EXPECT_EQ(kSuccess, dev_.Write(U64(p), kHugeSize, buf.data(), &faults));
  EXPECT_EQ(faults, 1u);
  EXPECT_TRUE(HasPattern(p, kHugeSize, 8));
  munmap(p, kHugeSize);
}

// An unnamed file in /tmp (tmpfs in the VM), as the selftest makes it.
int TmpFile(uint64_t length) {
  int fd = open("/tmp", O_TMPFILE | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0 && ftruncate(fd, static_cast<off_t>(length)) != 0) {
    close(fd);
    fd = -1;
  }
  return fd;
}

// hmm-tests.c: file_read
TEST_F(Parity, FileRead) {
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_FILE_BACKED);
  const uint64_t len = kPages * page_;
  const int fd = TmpFile(len);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  Mapping buf(len);
  FillPatternAs(buf.data(), len, 9, 0);
  ASSERT_EQ(static_cast<ssize_t>(len), pwrite(fd, buf.data(), len, 0));
  uint8_t* p = MapAligned(len, PROT_READ, MAP_SHARED, fd);
  close(fd);
  ASSERT_NE(p, nullptr);
  std::memset(buf.data(), 0, len);
  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Read(U64(p), len, buf.data(), &faults));
  EXPECT_EQ(faults, 1u);
  EXPECT_TRUE(HasPatternAs(buf.data(), len, 9, 0));
}

// hmm-tests.c: file_write
TEST_F(Parity, FileWrite) {
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_FILE_BACKED);
  const uint64_t len = kPages * page_;
  const int fd = TmpFile(len);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  uint8_t* p = MapAligned(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
  ASSERT_NE(p, nullptr);
  Mapping buf(len);
  FillPatternAs(buf.data(), len, 10, 0);
  uint64_t faults;
  EXPECT_EQ(kSuccess, dev_.Write(U64(p), len, buf.data(), &faults));
  EXPECT_EQ(faults, 1u);
  EXPECT_TRUE(HasPatternAs(p, len, 10, 0)) << "the mapping";
  std::memset(buf.data(), 0, len);
  EXPECT_EQ(static_cast<ssize_t>(len), pread(fd, buf.data(), len, 0));
  EXPECT_TRUE(HasPatternAs(buf.data(), len, 10, 0)) << "the file";
  close(fd);
}

// hmm-tests.c: anon_read_multiple
TEST_F(Parity, AnonReadMultiple) {
  const uint64_t len = 64 * page_;
  ChunkArea area(1);
  Mapping buf(len);
  for (uint64_t c = 0; c < 10; ++c) {
    SCOPED_TRACE(c);
    uint8_t* p = area.Map(0, 0, len);
    FillPattern(p, len, 20 + c);
    uint64_t faults;
    ASSERT_EQ(kSuccess, dev_.Read(U64(p), len, buf.data(), &faults));
    EXPECT_EQ(faults, 1u);
    EXPECT_TRUE(HasPatternAs(buf.data(), len, 20 + c, U64(p)));
    area.Unmap(0, 0, len);
  }
}

// hmm-tests.c: anon_teardown
TEST_F(Parity, AnonTeardown) {
  // A thread takes the second half away while the device reads.  Instead
  // of a plain munmap() the half is replaced by a PROT_NONE mapping
  // (MAP_FIXED: an munmap and a new mapping in one step), so nothing else
  // can appear there and be read.  The READ either succeeds with the right
  // data in one fault or fails with EFAULT.
  const uint64_t len = kPages * page_;
  ChunkArea area(1);
  Mapping buf(len);
  int ok = 0, efault = 0;
  for (uint64_t c = 0; c < 10; ++c) {
    SCOPED_TRACE(c);
    uint8_t* p = area.Map(0, 0, len);
    FillPattern(p, len, 30 + c);
    std::thread unmapper([p, len, c] {
      usleep(static_cast<useconds_t>((c * 7919) % 32));
      mmap(p + len / 2, len / 2, PROT_NONE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
    });
    uint64_t faults = 0;
    const Errno rc = dev_.Read(U64(p), len, buf.data(), &faults);
    unmapper.join();
    if (rc == kSuccess) {
      ++ok;
      EXPECT_EQ(faults, 1u);
      EXPECT_TRUE(HasPatternAs(buf.data(), len, 30 + c, U64(p)));
    } else {
      ++efault;
      EXPECT_EQ(Errno(EFAULT), rc);
    }
    // The half that went away is not mapped by the device.
    std::vector<uint32_t> q;
    ASSERT_EQ(kSuccess, dev_.Query(U64(p) + len / 2, len / 2, &q));
    EXPECT_TRUE(PagesAre(q, 0, kPages / 2, 0));
    area.Unmap(0, 0, len);
  }
  RecordProperty("reads_ok", ok);
  RecordProperty("reads_efault", efault);
}

// The VmFlags line of /proc/self/smaps for the VMA holding addr ("" if
// none).
std::string VmFlagsOf(uint64_t addr) {
  const std::string line = SmapsLine(addr, "VmFlags:");
  return line.empty() ? "" : line.substr(8) + " ";
}

// hmm-tests.c: mixedmap.  The selftest mmap()s its device, whose mmap
// inserts pages with vm_insert_page() (a VM_MIXEDMAP mapping of pages
// with a struct page), MAP_PRIVATE and read-write, and checks that a
// SNAPSHOT of it reports the page present and read-only (it is
// copy-on-write).  The VM_MIXEDMAP mapping user space can make is an
// AF_PACKET ring: packet_mmap() inserts the ring's pages the same way.  A
// socket of protocol 0 that is never bound receives nothing, so the ring
// stays as the kernel allocated it (zeros).  smaps calls VM_MIXEDMAP "mm".
TEST_F(Parity, Mixedmap) {
  const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0)
    GTEST_SKIP() << "no AF_PACKET socket (needs CAP_NET_RAW): "
                 << std::strerror(errno);
  struct tpacket_req req = {};
  req.tp_block_size = static_cast<unsigned>(page_);
  req.tp_block_nr = 1;
  req.tp_frame_size = TPACKET_ALIGN(TPACKET_HDRLEN) * 2;
  req.tp_frame_nr = req.tp_block_size / req.tp_frame_size;
  ASSERT_EQ(0, setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)))
      << std::strerror(errno);
  void* ring = mmap(nullptr, page_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  ASSERT_NE(ring, MAP_FAILED) << std::strerror(errno);
  const uint64_t addr = U64(ring);
  EXPECT_NE(VmFlagsOf(addr).find(" mm "), std::string::npos)
      << "the ring is not VM_MIXEDMAP: VmFlags:" << VmFlagsOf(addr);

  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(addr, page_, &s));
  EXPECT_TRUE(PagesAre(s, 0, 1, kValid)) << "present and read-only";
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(addr, page_, &q));
  EXPECT_TRUE(PagesAre(q, 0, 1, 0)) << "SNAPSHOT mapped nothing";

  // And a device reads what the CPU sees there.
  std::vector<uint8_t> buf(page_, kCanaryByte);
  ASSERT_EQ(kSuccess, dev_.Read(addr, page_, buf.data()));
  EXPECT_EQ(0, std::memcmp(buf.data(), ring, page_));
  munmap(ring, page_);
  close(fd);
}

// hmm-tests.c: snapshot (hmm2).  Pages 5 and 6 are moved to the device
// memory of device 0 and of device 1 there; here the first mirror moves
// page 5 and the second mirror page 6 into the module's device memory,
// which every mirror shares: both report both pages as DEVICE (a page in
// another device's memory is Parity.SnapshotOtherDevicePage).  Without
// device memory, pages 5 and 6 stay untouched (nothing mapped).
TEST_F(Parity, Snapshot) {
  Mirror second;
  ASSERT_EQ("", second.Open());
  const bool devmem = dev_.Has(HMM_MIRROR_FEAT_DEVICE_MEMORY);
  Mapping m(7 * page_, PROT_NONE);
  uint8_t* p = m.data();
  std::vector<uint32_t> s0, s1, r;
  s0.reserve(7);
  s1.reserve(7);
  m.Unmap(page_, page_);                                   // 1: a hole
  m.Protect(2 * page_, page_, PROT_READ);                  // 2: zero page
  ASSERT_EQ(0, *reinterpret_cast<volatile uint8_t*>(p + 2 * page_));
  m.Protect(3 * page_, page_, PROT_READ | PROT_WRITE);     // 3: read-only
  p[3 * page_] = 3;
  m.Protect(3 * page_, page_, PROT_READ);
  m.Protect(4 * page_, 3 * page_, PROT_READ | PROT_WRITE); // 4: writable
  p[4 * page_] = 3;
  if (devmem) {                                            // 5, 6: device
    uint64_t moved = 0;
    ASSERT_EQ(kSuccess, dev_.Migrate(m.addr(5 * page_), page_, 0, &r, &moved));
    EXPECT_EQ(moved, 1u);
    ASSERT_EQ(kSuccess, second.Migrate(m.addr(6 * page_), page_, 0, &r, &moved));
    EXPECT_EQ(moved, 1u);
  }
  // 0 stays PROT_NONE.
  ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), 7 * page_, &s0));
  ASSERT_EQ(kSuccess, second.Snapshot(m.addr(), 7 * page_, &s1));
  EXPECT_TRUE(PagesHave(s0, 0, 1, kError, kValid | kWrite | kZero));
  EXPECT_TRUE(PagesAre(s0, 1, 2, 0));
  EXPECT_TRUE(PagesAre(s0, 2, 3, kValid | kZero));
  EXPECT_TRUE(PagesAre(s0, 3, 4, kValid));
  EXPECT_TRUE(PagesAre(s0, 4, 5, kValid | kWrite));
  EXPECT_TRUE(PagesAre(s0, 5, 7, devmem ? kValid | kWrite | kDevice : 0));
  EXPECT_EQ(s0, s1) << "both mirrors see the same CPU page table";
}

// hmm-tests.c: compound
TEST_F(Parity, Compound) {
  void* v = mmap(nullptr, kHugeSize, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB, -1, 0);
  if (v == MAP_FAILED)
    GTEST_SKIP() << "no 2 MiB hugetlb page: " << std::strerror(errno);
  uint8_t* p = static_cast<uint8_t*>(v);
  FillPattern(p, kHugeSize, 11);
  const uint64_t n = kHugeSize / page_;
  std::vector<uint32_t> s;
  EXPECT_EQ(kSuccess, dev_.Snapshot(U64(p), kHugeSize, &s));
  EXPECT_TRUE(PagesAre(s, 0, n, kValid | kWrite | kOrder9));
  EXPECT_EQ(0, mprotect(p, kHugeSize, PROT_READ));
  EXPECT_EQ(kSuccess, dev_.Snapshot(U64(p), kHugeSize, &s));
  EXPECT_TRUE(PagesAre(s, 0, n, kValid | kOrder9));
  munmap(p, kHugeSize);
}

bool HaveTwoNodes() {
  return access("/sys/devices/system/node/node1", F_OK) == 0;
}

// hmm-tests.c: double_map (hmm2).  The selftest then migrates the pages to
// device 1's private memory and reads them from device 0; here they are
// migrated to the other NUMA node instead (when there is one).
TEST_F(Parity, DoubleMap) {
  Mirror second;
  ASSERT_EQ("", second.Open());
  const uint64_t len = 6 * page_;
  uint8_t* p = MapAligned(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  ASSERT_NE(p, nullptr);
  FillPattern(p, len, 12);
  ASSERT_EQ(0, mprotect(p, len, PROT_READ));
  Mapping buf(len);
  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Read(U64(p), len, buf.data(), &faults));
  EXPECT_EQ(faults, 1u);
  EXPECT_TRUE(HasPatternAs(buf.data(), len, 12, U64(p)));
  std::memset(buf.data(), 0, len);
  ASSERT_EQ(kSuccess, second.Read(U64(p), len, buf.data(), &faults));
  EXPECT_EQ(faults, 1u);
  EXPECT_TRUE(HasPatternAs(buf.data(), len, 12, U64(p)));

  if (!HaveTwoNodes()) return;
  std::vector<void*> pages;
  for (uint64_t i = 0; i < 6; ++i) pages.push_back(p + i * page_);
  std::vector<int> status(6, -1), nodes(6);
  ASSERT_EQ(0, syscall(SYS_move_pages, 0, 6, pages.data(), nullptr,
                       status.data(), 0));
  for (int i = 0; i < 6; ++i) nodes[i] = status[i] == 0 ? 1 : 0;
  ASSERT_EQ(0, syscall(SYS_move_pages, 0, 6, pages.data(), nodes.data(),
                       status.data(), 0));
  for (int i = 0; i < 6; ++i) ASSERT_EQ(status[i], nodes[i]) << "page " << i;
  std::memset(buf.data(), 0, len);
  ASSERT_EQ(kSuccess, dev_.Read(U64(p), len, buf.data(), &faults));
  EXPECT_EQ(faults, 1u) << "the moved pages are faulted again";
  EXPECT_TRUE(HasPatternAs(buf.data(), len, 12, U64(p)));
}


// ---------------------------------------------------------------------
// Device memory (ABI 4).  The selftest's device is test_hmm's dmirror,
// with device-private memory of its own per device file; here it is the
// module's device memory, one pool that every mirror shares (a second
// open is a second mirror of the same device, not a second device).
// Device pages are 4K: a transparent huge page is split by the move
// (DOC: Device memory in kmod/devmem.h), so the THP scenarios check that
// the huge page's range moves, as 512 4K pages, with its data intact.
// Every test here needs HMM_MIRROR_FEAT_DEVICE_MEMORY and is skipped,
// naming the bit, without it (Debian's stock 6.1 and 6.12).

constexpr uint32_t kToSystem = HMM_MIRROR_MIGRATE_TO_SYSTEM;
constexpr uint32_t kMoved = HMM_MIRROR_MIGRATE_MOVED;
constexpr uint32_t kAlready = HMM_MIRROR_MIGRATE_ALREADY;
constexpr uint32_t kNotMovable = HMM_MIRROR_MIGRATE_NOT_MOVABLE;
constexpr uint32_t kNoMemory = HMM_MIRROR_MIGRATE_NO_MEMORY;

// How many MIGRATE results are want.
uint64_t CountOf(const std::vector<uint32_t>& r, uint32_t want) {
  return static_cast<uint64_t>(std::count(r.begin(), r.end(), want));
}

// STATS of m (flags: HMM_MIRROR_STATS_GLOBAL for the module's).
hmm_mirror_stats StatsOf(const Mirror& m, uint32_t flags = 0) {
  hmm_mirror_stats s;
  if (m.Stats(&s, flags) != kSuccess) std::memset(&s, 0xff, sizeof(s));
  return s;
}

// Moves [addr, addr + length) to the device; every page must move.
::testing::AssertionResult AllMove(const Mirror& m, uint64_t addr,
                                   uint64_t length) {
  std::vector<uint32_t> r;
  uint64_t moved = 0, not_moved = 0;
  const Errno rc = m.Migrate(addr, length, 0, &r, &moved, &not_moved);
  if (rc != kSuccess)
    return ::testing::AssertionFailure() << "MIGRATE: " << rc;
  const uint64_t n = length / m.page_size();
  if (moved != n || not_moved != 0)
    return ::testing::AssertionFailure() << moved << " of " << n
                                         << " pages moved, " << not_moved
                                         << " not";
  return ResultsAre(r, 0, n, kMoved);
}

// hmm-tests.c: migrate
TEST_F(Parity, Migrate) {
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_DEVICE_MEMORY);
  const uint64_t len = kPages * page_;
  uint8_t* p = MapAligned(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  ASSERT_NE(p, nullptr);
  FillPattern(p, len, 40);
  ASSERT_TRUE(AllMove(dev_, U64(p), len));
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(U64(p), len, &s));
  EXPECT_TRUE(PagesAre(s, 0, kPages, kValid | kWrite | kDevice));
  Mapping buf(len);
  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Read(U64(p), len, buf.data(), &faults));
  EXPECT_EQ(faults, 0u) << "MIGRATE maps what it moved";
  EXPECT_TRUE(HasPatternAs(buf.data(), len, 40, U64(p)));
  EXPECT_EQ(StatsOf(dev_).device_pages, kPages);
}

// hmm-tests.c: migrate_file_private.  As there, the CPU writes the pages
// of a private file mapping first, so they are anonymous copies, which
// move.  Two more pages show what does not: one the CPU only read (the
// file's page-cache page) and one never touched (no page: the hole of a
// file mapping is not populated by a move).
TEST_F(Parity, MigrateFilePrivate) {
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_DEVICE_MEMORY);
  const uint64_t len = kPages * page_;
  const uint64_t copied = kPages - 2;
  const int fd = TmpFile(len);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  Mapping buf(len);
  FillPatternAs(buf.data(), len, 41, 0);
  ASSERT_EQ(static_cast<ssize_t>(len), pwrite(fd, buf.data(), len, 0));
  uint8_t* p = MapAligned(len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd);
  ASSERT_NE(p, nullptr);
  FillPattern(p, copied * page_, 42);
  EXPECT_TRUE(HasPatternAs(p + copied * page_, page_, 41, copied * page_));

  std::vector<uint32_t> r;
  uint64_t moved = 0, not_moved = 0;
  ASSERT_EQ(kSuccess, dev_.Migrate(U64(p), len, 0, &r, &moved, &not_moved));
  EXPECT_TRUE(ResultsAre(r, 0, copied, kMoved));
  EXPECT_TRUE(ResultsAre(r, copied, kPages, kNotMovable));
  EXPECT_EQ(moved, copied);
  EXPECT_EQ(not_moved, 2u);
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(U64(p), len, &s));
  EXPECT_TRUE(PagesAre(s, 0, copied, kValid | kWrite | kDevice));
  EXPECT_TRUE(PagesHave(s, copied, kPages, 0, kDevice));

  std::memset(buf.data(), 0, len);
  ASSERT_EQ(kSuccess, dev_.Read(U64(p), len, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), copied * page_, 42, U64(p)));
  EXPECT_TRUE(HasPatternAs(buf.at(copied * page_), 2 * page_, 41, copied * page_));
  // The file keeps its own data.
  ASSERT_EQ(static_cast<ssize_t>(len), pread(fd, buf.data(), len, 0));
  EXPECT_TRUE(HasPatternAs(buf.data(), len, 41, 0));
  close(fd);
}

// hmm-tests.c: migrate_fault.  The selftest's second move reports every
// page copied; here the pages still in device memory say ALREADY.
TEST_F(Parity, MigrateFault) {
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_DEVICE_MEMORY);
  const uint64_t len = kPages * page_, half = kPages / 2;
  uint8_t* p = MapAligned(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  ASSERT_NE(p, nullptr);
  FillPattern(p, len, 43);
  ASSERT_TRUE(AllMove(dev_, U64(p), len));
  Mapping buf(len);
  ASSERT_EQ(kSuccess, dev_.Read(U64(p), len, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), len, 43, U64(p)));

  // The CPU reads the first half: those pages come back.
  const uint64_t back = StatsOf(dev_).pages_faulted_back;
  EXPECT_TRUE(HasPattern(p, half * page_, 43));
  EXPECT_EQ(StatsOf(dev_).pages_faulted_back - back, half);
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(U64(p), len, &s));
  EXPECT_TRUE(PagesHave(s, 0, half, kValid, kDevice));
  EXPECT_TRUE(PagesAre(s, half, kPages, kValid | kWrite | kDevice));

  // The mix moves again: what came back moves, the rest is there.
  std::vector<uint32_t> r;
  uint64_t moved = 0, not_moved = 0;
  ASSERT_EQ(kSuccess, dev_.Migrate(U64(p), len, 0, &r, &moved, &not_moved));
  EXPECT_TRUE(ResultsAre(r, 0, half, kMoved));
  EXPECT_TRUE(ResultsAre(r, half, kPages, kAlready));
  EXPECT_EQ(moved, half);
  EXPECT_EQ(not_moved, 0u);
  std::memset(buf.data(), 0, len);
  ASSERT_EQ(kSuccess, dev_.Read(U64(p), len, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), len, 43, U64(p)));
  ASSERT_EQ(kSuccess, dev_.Snapshot(U64(p), len, &s));
  EXPECT_TRUE(PagesHave(s, 0, kPages, kValid | kDevice, 0));
}

// hmm-tests.c: migrate_release.  The selftest's HMM_DMIRROR_RELEASE
// evicts all of that device's memory; this ABI has no such command, and
// closing the mirror that moved the pages does not evict them: they stay
// in the module's device memory, readable by other mirrors, and the CPU
// gets them back, data intact, when it touches them.
TEST_F(Parity, MigrateRelease) {
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_DEVICE_MEMORY);
  const uint64_t len = kPages * page_;
  uint8_t* p = MapAligned(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  ASSERT_NE(p, nullptr);
  FillPattern(p, len, 44);
  const uint64_t base = StatsOf(dev_, HMM_MIRROR_STATS_GLOBAL).device_pages;
  {
    Mirror owner;
    ASSERT_EQ("", owner.Open());
    ASSERT_TRUE(AllMove(owner, U64(p), len));
    EXPECT_EQ(StatsOf(owner).device_pages, kPages);
  }  // closed
  EXPECT_EQ(StatsOf(dev_, HMM_MIRROR_STATS_GLOBAL).device_pages, base + kPages)
      << "closing the mirror evicted pages";
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(U64(p), len, &s));
  EXPECT_TRUE(PagesAre(s, 0, kPages, kValid | kWrite | kDevice));
  Mapping buf(len);
  ASSERT_EQ(kSuccess, dev_.Read(U64(p), len, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), len, 44, U64(p)));

  EXPECT_TRUE(HasPattern(p, len, 44)) << "the CPU's data";
  ASSERT_EQ(kSuccess, dev_.Snapshot(U64(p), len, &s));
  EXPECT_TRUE(PagesHave(s, 0, kPages, kValid, kDevice));
  EXPECT_TRUE(WaitFor([&] {
    return StatsOf(dev_, HMM_MIRROR_STATS_GLOBAL).device_pages <= base;
  }));
}

// hmm-tests.c: migrate_shared.  Shared anonymous memory (shmem) cannot be
// moved to device-private memory; the selftest's device fails the call
// (ENOENT), this module reports every page NOT_MOVABLE, touched or not,
// and the memory stays as it was.
TEST_F(Parity, MigrateShared) {
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_DEVICE_MEMORY);
  const uint64_t len = kPages * page_, half = kPages / 2;
  uint8_t* p = MapAligned(len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
  ASSERT_NE(p, nullptr);
  FillPattern(p, half * page_, 45);
  std::vector<uint32_t> r;
  uint64_t moved = 0, not_moved = 0;
  ASSERT_EQ(kSuccess, dev_.Migrate(U64(p), len, 0, &r, &moved, &not_moved));
  EXPECT_TRUE(ResultsAre(r, 0, kPages, kNotMovable));
  EXPECT_EQ(moved, 0u);
  EXPECT_EQ(not_moved, kPages);
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(U64(p), len, &s));
  EXPECT_TRUE(PagesAre(s, 0, half, kValid | kWrite));
  EXPECT_TRUE(PagesAre(s, half, kPages, 0));
  EXPECT_TRUE(HasPattern(p, half * page_, 45));
  EXPECT_TRUE(IsFilledWith(p + half * page_, half * page_, 0));
  EXPECT_EQ(StatsOf(dev_).device_pages, 0u);
}

// hmm-tests.c: migrate_mixed (hmm2).  Where the selftest's device fails a
// whole call (EINVAL for a PROT_NONE range or a hole, ENOENT for a page on
// the other device), MIGRATE answers per page: the pages of a PROT_NONE
// range are NOT_MOVABLE (the kernel's migrate_vma would take the
// unpopulated ones, into device memory nothing could read them from), and
// so is a hole.  The selftest's device 1 is a second mirror here, which
// uses the same device memory: its page is ALREADY there for the first.
TEST_F(Parity, MigrateMixed) {
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_DEVICE_MEMORY);
  Mirror second;
  ASSERT_EQ("", second.Open());
  std::vector<uint32_t> r, s;
  uint64_t moved = 0, not_moved = 0;
  {
    Mapping none(6 * page_, PROT_NONE);
    ASSERT_EQ(kSuccess, second.Migrate(none.addr(), none.size(), 0, &r, &moved, &not_moved));
    EXPECT_TRUE(ResultsAre(r, 0, 6, kNotMovable));
    EXPECT_EQ(moved, 0u);
    EXPECT_EQ(not_moved, 6u);
    ASSERT_EQ(kSuccess, dev_.Snapshot(none.addr(), none.size(), &s));
    EXPECT_TRUE(PagesHave(s, 0, 6, kError, kValid | kDevice));
    std::vector<uint8_t> b(page_);
    EXPECT_EQ(Errno(EFAULT), second.Read(none.addr(), page_, b.data()));
  }

  Mapping m(6 * page_, PROT_NONE);
  m.Unmap(page_, page_);                                  // 1: a hole
  ASSERT_EQ(kSuccess, second.Migrate(m.addr(), 3 * page_, 0, &r, &moved, &not_moved));
  EXPECT_TRUE(ResultsAre(r, 0, 3, kNotMovable));
  EXPECT_EQ(moved, 0u);
  EXPECT_EQ(not_moved, 3u);

  uint8_t* p = m.data();
  m.Protect(2 * page_, page_, PROT_READ);                 // 2: read-only, 0
  ASSERT_EQ(0, *reinterpret_cast<volatile int*>(p + 2 * page_));
  m.Protect(3 * page_, page_, PROT_READ | PROT_WRITE);    // 3: read-only, 3
  *reinterpret_cast<int*>(p + 3 * page_) = 3;
  m.Protect(3 * page_, page_, PROT_READ);
  m.Protect(4 * page_, 2 * page_, PROT_READ | PROT_WRITE);  // 4-5: writable
  *reinterpret_cast<int*>(p + 4 * page_) = 3;
  *reinterpret_cast<int*>(p + 5 * page_) = 3;

  ASSERT_EQ(kSuccess, second.Migrate(m.addr(2 * page_), 4 * page_, 0, &r, &moved, &not_moved));
  EXPECT_TRUE(ResultsAre(r, 0, 4, kMoved));
  EXPECT_EQ(moved, 4u);
  ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(2 * page_), 4 * page_, &s));
  EXPECT_TRUE(PagesAre(s, 0, 2, kValid | kDevice));
  EXPECT_TRUE(PagesAre(s, 2, 4, kValid | kWrite | kDevice));
  ASSERT_EQ(kSuccess, dev_.Migrate(m.addr(5 * page_), page_, 0, &r, &moved, &not_moved));
  EXPECT_EQ(r[0], kAlready);
  EXPECT_EQ(moved, 0u);
  EXPECT_EQ(not_moved, 0u);

  EXPECT_EQ(*reinterpret_cast<volatile int*>(p + 2 * page_), 0);
  for (int i = 3; i < 6; ++i)
    EXPECT_EQ(*reinterpret_cast<volatile int*>(p + i * page_), 3) << "page " << i;
}

// hmm-tests.c: migrate_multiple.  The pages come back by CPU faults, as
// for the selftest's device-private variant.
TEST_F(Parity, MigrateMultiple) {
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_DEVICE_MEMORY);
  const uint64_t len = kPages * page_;
  ChunkArea area(1);
  Mapping buf(len);
  std::vector<uint32_t> s;
  for (uint64_t c = 0; c < 10; ++c) {
    SCOPED_TRACE(c);
    uint8_t* p = area.Map(0, 0, len);
    FillPattern(p, len, 50 + c);
    ASSERT_TRUE(AllMove(dev_, U64(p), len));
    ASSERT_EQ(kSuccess, dev_.Read(U64(p), len, buf.data()));
    EXPECT_TRUE(HasPatternAs(buf.data(), len, 50 + c, U64(p)));
    EXPECT_TRUE(HasPattern(p, len, 50 + c));
    ASSERT_EQ(kSuccess, dev_.Snapshot(U64(p), len, &s));
    EXPECT_TRUE(PagesHave(s, 0, kPages, kValid, kDevice));
    area.Unmap(0, 0, len);
  }
  EXPECT_EQ(StatsOf(dev_).device_pages, 0u);
}

// hmm-tests.c: hmm_gup_test.  The selftest pins the pages with the
// gup_test debugfs driver (GUP, GUP-fast, pin, long-term pin).  Here
// system calls that take user pages do it: process_vm_readv() and
// process_vm_writev() (pin_user_pages_remote()) and vmsplice()
// (get_user_pages_fast(), which falls back to a fault for a page that is
// not present).  Each brings its page back to system memory with the data
// intact; the page nobody touched stays in device memory.
TEST_F(Parity, HmmGupTest) {
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_DEVICE_MEMORY);
  const uint64_t n = 4, len = n * page_;
  uint8_t* p = MapAligned(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  ASSERT_NE(p, nullptr);
  FillPattern(p, len, 60);
  ASSERT_EQ(kSuccess, dev_.SetEvents(ReasonBit(HMM_MIRROR_EVENT_MIGRATE)));
  ASSERT_TRUE(AllMove(dev_, U64(p), len));
  DrainEvents(dev_.fd());
  const uint64_t back = StatsOf(dev_).pages_faulted_back;

  std::vector<uint8_t> got(page_), mine(page_);
  struct iovec local = {got.data(), page_};
  struct iovec remote = {p, page_};
  ASSERT_EQ(static_cast<ssize_t>(page_),
            process_vm_readv(getpid(), &local, 1, &remote, 1, 0))
      << std::strerror(errno);
  EXPECT_TRUE(HasPatternAs(got.data(), page_, 60, U64(p)));

  FillPatternAs(mine.data(), page_, 61, U64(p) + page_);
  local = {mine.data(), page_};
  remote = {p + page_, page_};
  ASSERT_EQ(static_cast<ssize_t>(page_),
            process_vm_writev(getpid(), &local, 1, &remote, 1, 0))
      << std::strerror(errno);

  int fds[2];
  ASSERT_EQ(0, pipe2(fds, O_CLOEXEC));
  struct iovec v = {p + 2 * page_, page_};
  const ssize_t spliced = vmsplice(fds[1], &v, 1, 0);
  const int splice_errno = errno;
  std::fill(got.begin(), got.end(), 0);
  const ssize_t got_back = spliced > 0 ? read(fds[0], got.data(), page_) : -1;
  close(fds[0]);
  close(fds[1]);
  ASSERT_EQ(static_cast<ssize_t>(page_), spliced) << std::strerror(splice_errno);
  ASSERT_EQ(static_cast<ssize_t>(page_), got_back);
  EXPECT_TRUE(HasPatternAs(got.data(), page_, 60, U64(p) + 2 * page_));

  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(U64(p), len, &s));
  EXPECT_TRUE(PagesHave(s, 0, 3, kValid, kDevice));
  EXPECT_TRUE(PagesHave(s, 1, 2, kValid | kWrite, kDevice));
  EXPECT_TRUE(PagesAre(s, 3, 4, kValid | kWrite | kDevice));
  EXPECT_EQ(StatsOf(dev_).pages_faulted_back - back, 3u);
  std::vector<hmm_mirror_event> ev =
      OfReason(DrainEvents(dev_.fd()), HMM_MIRROR_EVENT_MIGRATE);
  uint64_t pages = 0;
  for (const hmm_mirror_event& e : ev) {
    EXPECT_EQ(e.flags, HMM_MIRROR_EVENT_FLAG_TO_SYSTEM) << EventString(e);
    pages += e.pages;
  }
  EXPECT_EQ(pages, 3u) << EventsString(ev);

  Mapping buf(len);
  ASSERT_EQ(kSuccess, dev_.Read(U64(p), len, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), page_, 60, U64(p)));
  EXPECT_TRUE(HasPatternAs(buf.at(page_), page_, 61, U64(p) + page_));
  EXPECT_TRUE(HasPatternAs(buf.at(2 * page_), 2 * page_, 60, U64(p) + 2 * page_));
  EXPECT_TRUE(HasPattern(p + 2 * page_, 2 * page_, 60));
}

// hmm-tests.c: hmm_cow_in_device.  Pages in device memory when the
// process forks are shared copy-on-write; the parent writes while the
// child still holds them, then the child checks it kept the old data and
// writes its own.  As in the selftest, the parent's pages end up in
// system memory, writable.
TEST_F(Parity, HmmCowInDevice) {
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_DEVICE_MEMORY);
  const uint64_t n = 16, len = n * page_;
  uint8_t* p = MapAligned(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  ASSERT_NE(p, nullptr);
  FillPattern(p, len, 62);
  ASSERT_TRUE(AllMove(dev_, U64(p), len));
  // Exit codes: 0 ok, 2 the child did not see the data of the fork, 3 its
  // own write did not stick.
  Child child([p, len] {
    if (!HasPattern(p, len, 62)) return 2;
    FillPattern(p, len, 64);
    return HasPattern(p, len, 64) ? 0 : 3;
  });
  FillPattern(p, len, 63);
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(U64(p), len, &s));
  EXPECT_TRUE(PagesAre(s, 0, n, kValid | kWrite));
  EXPECT_EQ(child.Wait(), 0) << "see the child's exit codes";
  EXPECT_TRUE(HasPattern(p, len, 63));
  Mapping buf(len);
  ASSERT_EQ(kSuccess, dev_.Read(U64(p), len, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), len, 63, U64(p)));
  EXPECT_TRUE(WaitFor([&] { return StatsOf(dev_).device_pages == 0; }));
}

// hmm-tests.c: migrate_anon_huge_empty.  An untouched, read-only THP range
// moves as 512 zero-filled 4K device pages, read-only like the mapping.
TEST_F(Parity, MigrateAnonHugeEmpty) {
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_DEVICE_MEMORY);
  const uint64_t n = kHugeSize / page_;
  uint8_t* p = MapAlignedForHuge(PROT_READ);
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(AllMove(dev_, U64(p), kHugeSize));
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(U64(p), kHugeSize, &s));
  EXPECT_TRUE(PagesAre(s, 0, n, kValid | kDevice));
  Mapping buf(kHugeSize);
  std::memset(buf.data(), kCanaryByte, kHugeSize);
  ASSERT_EQ(kSuccess, dev_.Read(U64(p), kHugeSize, buf.data()));
  EXPECT_TRUE(IsFilledWith(buf.data(), kHugeSize, 0));
  EXPECT_TRUE(IsFilledWith(p, kHugeSize, 0));
}

// hmm-tests.c: migrate_anon_huge_zero.  A read fault maps the huge zero
// page (where THP gives it, order 9 to SNAPSHOT); it moves as 512
// zero-filled 4K device pages.
TEST_F(Parity, MigrateAnonHugeZero) {
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_DEVICE_MEMORY);
  const uint64_t n = kHugeSize / page_;
  uint8_t* p = MapAlignedForHuge(PROT_READ);
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(0, *reinterpret_cast<volatile int*>(p));
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(U64(p), kHugeSize, &s));
  RecordProperty("huge_zero_page", HMM_MIRROR_PAGE_ORDER(s[0]) == kHugeOrder ? 1 : 0);
  ASSERT_TRUE(AllMove(dev_, U64(p), kHugeSize));
  ASSERT_EQ(kSuccess, dev_.Snapshot(U64(p), kHugeSize, &s));
  EXPECT_TRUE(PagesAre(s, 0, n, kValid | kDevice));
  Mapping buf(kHugeSize);
  std::memset(buf.data(), kCanaryByte, kHugeSize);
  ASSERT_EQ(kSuccess, dev_.Read(U64(p), kHugeSize, buf.data()));
  EXPECT_TRUE(IsFilledWith(buf.data(), kHugeSize, 0));
  EXPECT_TRUE(IsFilledWith(p, kHugeSize, 0));
  ASSERT_EQ(kSuccess, dev_.Snapshot(U64(p), kHugeSize, &s));
  EXPECT_TRUE(PagesHave(s, 0, n, kValid, kDevice));
}

// hmm-tests.c: migrate_anon_huge_free.  MADV_FREE of a THP range whose
// pages are in device memory succeeds; afterwards each page holds either
// its data or zeros (what MADV_FREE allows), and munmap() frees every
// device page.
TEST_F(Parity, MigrateAnonHugeFree) {
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_DEVICE_MEMORY);
  const uint64_t n = kHugeSize / page_;
  uint8_t* p = MapAlignedForHuge(PROT_READ | PROT_WRITE);
  ASSERT_NE(p, nullptr);
  FillPattern(p, kHugeSize, 65);
  ASSERT_TRUE(AllMove(dev_, U64(p), kHugeSize));
  Mapping buf(kHugeSize);
  ASSERT_EQ(kSuccess, dev_.Read(U64(p), kHugeSize, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), kHugeSize, 65, U64(p)));
  ASSERT_EQ(0, madvise(p, kHugeSize, MADV_FREE)) << std::strerror(errno);
  uint64_t kept = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint8_t* pg = p + i * page_;
    if (HasPattern(pg, page_, 65))
      ++kept;
    else
      EXPECT_TRUE(IsFilledWith(pg, page_, 0)) << "page " << i;
  }
  RecordProperty("pages_kept", static_cast<int>(kept));
  ASSERT_EQ(0, munmap(p, kHugeSize));
  EXPECT_EQ(StatsOf(dev_).device_pages, 0u);
}

// /proc/self/pagemap bits (Documentation/admin-guide/mm/pagemap.rst).
constexpr uint64_t kPmPresent = uint64_t{1} << 63;
constexpr uint64_t kPmSwap = uint64_t{1} << 62;

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

// hmm-tests.c: migrate_anon_huge_fault.  A THP made by MADV_COLLAPSE
// moves; the selftest's device keeps it as one device-private THP (PMD),
// this one as 512 4K pages.  The CPU's page table holds non-present swap
// entries for them (pagemap), and CPU reads bring every page back, one
// fault each, data intact.
TEST_F(Parity, MigrateAnonHugeFault) {
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_DEVICE_MEMORY);
  const uint64_t n = kHugeSize / page_;
  uint8_t* p = MapAlignedForHuge(PROT_READ | PROT_WRITE);
  ASSERT_NE(p, nullptr);
  FillPattern(p, kHugeSize, 66);
  if (madvise(p, kHugeSize, MADV_COLLAPSE) != 0)
    GTEST_SKIP() << "MADV_COLLAPSE: " << std::strerror(errno);
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(U64(p), kHugeSize, &s));
  ASSERT_TRUE(PagesOfOrder(s, 0, n, kHugeOrder)) << "not a THP";

  ASSERT_TRUE(AllMove(dev_, U64(p), kHugeSize));
  ASSERT_EQ(kSuccess, dev_.Snapshot(U64(p), kHugeSize, &s));
  EXPECT_TRUE(PagesAre(s, 0, n, kValid | kWrite | kDevice));
  const int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(pm, 0) << std::strerror(errno);
  std::vector<uint64_t> entries(n);
  const off_t off = static_cast<off_t>(U64(p) / page_ * 8);
  EXPECT_EQ(static_cast<ssize_t>(n * 8), pread(pm, entries.data(), n * 8, off));
  close(pm);
  for (uint64_t i = 0; i < n; ++i) {
    EXPECT_NE(entries[i] & kPmSwap, 0u) << "page " << i;
    EXPECT_EQ(entries[i] & kPmPresent, 0u) << "page " << i;
  }

  const uint64_t back = StatsOf(dev_).pages_faulted_back;
  EXPECT_TRUE(HasPattern(p, kHugeSize, 66));
  EXPECT_EQ(StatsOf(dev_).pages_faulted_back - back, n);
  ASSERT_EQ(kSuccess, dev_.Snapshot(U64(p), kHugeSize, &s));
  EXPECT_TRUE(PagesHave(s, 0, n, kValid, kDevice));
}

// hmm-tests.c: migrate_partial_unmap_fault.  Without and with THP, half
// the moved range is unmapped at three offsets: its device pages are
// freed, and the rest comes back to the CPU intact.
TEST_F(Parity, MigratePartialUnmapFault) {
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_DEVICE_MEMORY);
  const uint64_t n = kHugeSize / page_, half = kHugeSize / 2;
  const uint64_t offsets[] = {0, kHugeSize / 4, kHugeSize / 2};
  ChunkArea area(1);
  Mapping buf(kHugeSize);
  uint64_t seed = 70;
  for (const bool thp : {false, true}) {
    for (const uint64_t off : offsets) {
      SCOPED_TRACE(std::string(thp ? "THP" : "4K") + ", unmap at " +
                   std::to_string(off));
      ++seed;
      uint8_t* p = area.Map(0, 0, kHugeSize, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
      FillPattern(p, kHugeSize, seed);
      ASSERT_TRUE(AllMove(dev_, U64(p), kHugeSize));
      ASSERT_EQ(kSuccess, dev_.Read(U64(p), kHugeSize, buf.data()));
      EXPECT_TRUE(HasPatternAs(buf.data(), kHugeSize, seed, U64(p)));
      ASSERT_EQ(0, munmap(p + off, half));
      EXPECT_EQ(StatsOf(dev_).device_pages, n / 2);
      EXPECT_TRUE(HasPattern(p, off, seed));
      EXPECT_TRUE(HasPattern(p + off + half, kHugeSize - off - half, seed));
      EXPECT_EQ(StatsOf(dev_).device_pages, 0u);
      area.Unmap(0, 0, kHugeSize);
    }
  }
}

// hmm-tests.c: migrate_remap_fault.  mremap() (MREMAP_FIXED, with and
// without MREMAP_DONTUNMAP, of a 4K and a THP range, to three offsets)
// before or after the move: moved after, the device pages go with the
// mapping (SNAPSHOT at the new place shows them); either way the CPU reads
// the data intact at the new place.
TEST_F(Parity, MigrateRemapFault) {
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_DEVICE_MEMORY);
  const uint64_t n = kHugeSize / page_;
  const uint64_t offsets[] = {0, kHugeSize / 4, kHugeSize / 2};
  ChunkArea area(1);
  Mapping buf(kHugeSize);
  std::vector<uint32_t> s;
  uint64_t seed = 80;
  for (const bool before : {false, true}) {
    for (const bool dontunmap : {false, true}) {
      for (const bool thp : {false, true}) {
        for (const uint64_t off : offsets) {
          SCOPED_TRACE(std::string(before ? "remap, move" : "move, remap") +
                       (dontunmap ? ", DONTUNMAP" : "") + (thp ? ", THP" : ", 4K") +
                       ", to +" + std::to_string(off));
          ++seed;
          uint8_t* p = area.Map(0, 0, kHugeSize, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
          uint8_t* to = area.at(0, kHugeSize + off);
          FillPattern(p, kHugeSize, seed);
          const int flags = MREMAP_MAYMOVE | MREMAP_FIXED | (dontunmap ? MREMAP_DONTUNMAP : 0);
          auto remap = [&] {
            return mremap(p, kHugeSize, kHugeSize, flags, to);
          };
          if (before) {
            ASSERT_EQ(remap(), to) << std::strerror(errno);
          }
          uint8_t* at = before ? to : p;
          if (thp && before && off % kHugeSize && !KernelAtLeast(7, 0)) {
            // A THP remapped off its 2M alignment is mapped by PTEs, and
            // 6.1's migrate_vma skips the pages of a PTE-mapped THP (7.x
            // splits it): NOT_MOVABLE, measured on the 6.1.192 build.
            std::vector<uint32_t> r;
            uint64_t moved = 0, not_moved = 0;
            ASSERT_EQ(kSuccess, dev_.Migrate(U64(at), kHugeSize, 0, &r, &moved, &not_moved));
            EXPECT_TRUE(ResultsAre(r, 0, n, kNotMovable));
            EXPECT_EQ(moved, 0u);
            EXPECT_TRUE(HasPatternAs(to, kHugeSize, seed, U64(p)));
            area.Unmap(0, 0, kHugeSize * 5 / 2);
            continue;
          }
          ASSERT_TRUE(AllMove(dev_, U64(at), kHugeSize));
          ASSERT_EQ(kSuccess, dev_.Read(U64(at), kHugeSize, buf.data()));
          EXPECT_TRUE(HasPatternAs(buf.data(), kHugeSize, seed, U64(p)));
          if (!before) {
            ASSERT_EQ(remap(), to) << std::strerror(errno);
            ASSERT_EQ(kSuccess, dev_.Snapshot(U64(to), kHugeSize, &s));
            EXPECT_TRUE(PagesAre(s, 0, n, kValid | kWrite | kDevice));
            if (dontunmap) {
              ASSERT_EQ(kSuccess, dev_.Snapshot(U64(p), kHugeSize, &s));
              EXPECT_TRUE(PagesAre(s, 0, n, 0)) << "the old place is empty";
            }
          }
          EXPECT_TRUE(HasPatternAs(to, kHugeSize, seed, U64(p)));
          EXPECT_EQ(StatsOf(dev_).device_pages, 0u);
          area.Unmap(0, 0, kHugeSize * 5 / 2);
        }
      }
    }
  }
}

// Moves untouched pages of a mapping of its own into the module's device
// memory until only `room` pages are free: the selftest forces an
// allocation error of its device (HMM_DMIRROR_FLAG_FAIL_ALLOC); here the
// device memory runs out for real.  Null, with the reason in *why, when
// the pool is too large to fill here or has less room already.
std::unique_ptr<Mapping> FillDeviceMemory(const Mirror& m, uint64_t room,
                                          std::string* why) {
  const hmm_mirror_stats g = StatsOf(m, HMM_MIRROR_STATS_GLOBAL);
  const uint64_t pool = g.device_memory_pages, used = g.device_pages;
  if (pool > (uint64_t{256} << 20) / 4096) {
    *why = "device memory of " + std::to_string(pool) +
           " pages is too large to fill here";
    return nullptr;
  }
  if (used + room >= pool) {
    *why = std::to_string(pool - used) + " pages of device memory free";
    return nullptr;
  }
  const uint64_t n = pool - used - room;
  std::unique_ptr<Mapping> filler(new Mapping(n * m.page_size()));
  std::vector<uint32_t> r;
  uint64_t moved = 0;
  if (m.Migrate(filler->addr(), filler->size(), 0, &r, &moved) != kSuccess ||
      moved != n) {
    *why = "filling device memory moved " + std::to_string(moved) + " of " +
           std::to_string(n) + " pages";
    return nullptr;
  }
  return filler;
}

// hmm-tests.c: migrate_anon_huge_err.  The device memory has room for
// half the THP: the first half moves, the rest stays in system memory
// (NO_MEMORY), the data is intact either way and one 4K page faults back
// alone.  Once there is room, the same MIGRATE moves the rest, and moving
// back brings all of it home.  (The selftest also fails the allocation of
// the way back; system memory cannot be made to fail here.)
TEST_F(Parity, MigrateAnonHugeErr) {
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_DEVICE_MEMORY);
  const uint64_t n = kHugeSize / page_;
  uint8_t* p = MapAlignedForHuge(PROT_READ | PROT_WRITE);
  ASSERT_NE(p, nullptr);
  FillPattern(p, kHugeSize, 90);
  std::string why;
  std::unique_ptr<Mapping> filler = FillDeviceMemory(dev_, n / 2, &why);
  if (!filler) GTEST_SKIP() << why;

  std::vector<uint32_t> r;
  uint64_t moved = 0, not_moved = 0;
  ASSERT_EQ(kSuccess, dev_.Migrate(U64(p), kHugeSize, 0, &r, &moved, &not_moved));
  const uint64_t ok = CountOf(r, kMoved), full = CountOf(r, kNoMemory);
  EXPECT_EQ(ok + full, n) << "every result MOVED or NO_MEMORY";
  EXPECT_EQ(ok, n / 2);
  EXPECT_EQ(moved, ok);
  EXPECT_EQ(not_moved, full);
  Mapping buf(kHugeSize);
  ASSERT_EQ(kSuccess, dev_.Read(U64(p), kHugeSize, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), kHugeSize, 90, U64(p)));

  // One moved page comes back alone.
  const size_t j = static_cast<size_t>(
      std::find(r.begin(), r.end(), kMoved) - r.begin());
  ASSERT_LT(j, n);
  EXPECT_EQ(*reinterpret_cast<volatile uint64_t*>(p + j * page_),
            PatternWord(90, U64(p) + j * page_));
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(U64(p), kHugeSize, &s));
  for (size_t i = 0; i < n; ++i)
    EXPECT_EQ((s[i] & kDevice) != 0, r[i] == kMoved && i != j) << "page " << i;

  filler.reset();
  ASSERT_EQ(kSuccess, dev_.Migrate(U64(p), kHugeSize, 0, &r, &moved, &not_moved));
  EXPECT_EQ(moved, full + 1);
  EXPECT_EQ(not_moved, 0u);
  EXPECT_EQ(CountOf(r, kAlready), ok - 1);
  ASSERT_EQ(kSuccess, dev_.Migrate(U64(p), kHugeSize, kToSystem, &r, &moved));
  EXPECT_EQ(moved, n);
  EXPECT_TRUE(HasPattern(p, kHugeSize, 90));
}

// hmm-tests.c: migrate_anon_huge_zero_err.  The same with the huge zero
// page of a read-only THP range: half moves, everything reads as zeros.
TEST_F(Parity, MigrateAnonHugeZeroErr) {
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_DEVICE_MEMORY);
  const uint64_t n = kHugeSize / page_;
  uint8_t* p = MapAlignedForHuge(PROT_READ);
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(0, *reinterpret_cast<volatile int*>(p));
  std::string why;
  std::unique_ptr<Mapping> filler = FillDeviceMemory(dev_, n / 2, &why);
  if (!filler) GTEST_SKIP() << why;

  std::vector<uint32_t> r;
  uint64_t moved = 0, not_moved = 0;
  ASSERT_EQ(kSuccess, dev_.Migrate(U64(p), kHugeSize, 0, &r, &moved, &not_moved));
  EXPECT_EQ(CountOf(r, kMoved), n / 2);
  EXPECT_EQ(CountOf(r, kNoMemory), n - n / 2);
  EXPECT_EQ(moved, n / 2);
  Mapping buf(kHugeSize);
  std::memset(buf.data(), kCanaryByte, kHugeSize);
  ASSERT_EQ(kSuccess, dev_.Read(U64(p), kHugeSize, buf.data()));
  EXPECT_TRUE(IsFilledWith(buf.data(), kHugeSize, 0));
  EXPECT_EQ(*reinterpret_cast<volatile int*>(p + 2 * page_), 0);
  filler.reset();
  EXPECT_TRUE(IsFilledWith(p, kHugeSize, 0));
  EXPECT_EQ(StatsOf(dev_).device_pages, 0u);
}

// hmm-tests.c: snapshot (hmm2) page 6 and migrate_mixed's last step, for
// a device that really is another one: the kernel's own test_hmm, whose
// HMM_DMIRROR_MIGRATE_TO_DEV moves pages into ITS device-private memory
// (lib/test_hmm_uapi.h of the kernel source, included at build time).  To
// this module such a page is not present (SNAPSHOT and QUERY: 0; the
// kernel's hmm_range_fault() reports only the caller's own device-private
// pages without faulting), cannot be moved (NOT_MOVABLE; back: ALREADY),
// and FAULT, READ and a CPU access bring it back to system memory through
// test_hmm's migrate_to_ram, data intact.  (The selftest's page 6, in the
// memory of test_hmm's other device, reads HMM_DMIRROR_PROT_NONE to
// device 0 for the same reason.)  Runs only where test_hmm is
// loaded (/dev/hmm_dmirror0: the project kernels, not Debian's).
TEST_F(Parity, SnapshotOtherDevicePage) {
#if !HMM_HAVE_TEST_HMM_UAPI
  GTEST_SKIP() << "built without the kernel's lib/test_hmm_uapi.h";
#else
  // test_hmm evicts its device memory when a file of it is closed (7.3):
  // the file stays open to the end.
  struct Fd {
    int fd;
    ~Fd() {
      if (fd >= 0) close(fd);
    }
  } other{open("/dev/hmm_dmirror0", O_RDWR | O_CLOEXEC)};
  const int dm = other.fd;
  if (dm < 0)
    GTEST_SKIP() << "no /dev/hmm_dmirror0 (" << std::strerror(errno)
                 << "): the kernel's test_hmm module is not loaded";
  const uint64_t n = 8, len = n * page_;
  Mapping m(len);
  FillPattern(m.data(), len, 95);
  Mapping copy(len);
  struct hmm_dmirror_cmd cmd;
  std::memset(&cmd, 0, sizeof(cmd));
  cmd.addr = m.addr();
  cmd.ptr = copy.addr();
  cmd.npages = n;
  const int rc = ioctl(dm, HMM_DMIRROR_MIGRATE_TO_DEV, &cmd);
  const int err = errno;
  ASSERT_EQ(0, rc) << "HMM_DMIRROR_MIGRATE_TO_DEV: " << std::strerror(err);
  ASSERT_EQ(cmd.cpages, n);

  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), len, &s));
  EXPECT_TRUE(PagesAre(s, 0, n, 0)) << "another device's pages";
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), len, &s));
  EXPECT_TRUE(PagesAre(s, 0, n, 0));
  if (dev_.Has(HMM_MIRROR_FEAT_DEVICE_MEMORY)) {
    std::vector<uint32_t> r;
    uint64_t moved = 0, not_moved = 0;
    ASSERT_EQ(kSuccess, dev_.Migrate(m.addr(), 2 * page_, 0, &r, &moved, &not_moved));
    EXPECT_TRUE(ResultsAre(r, 0, 2, kNotMovable));
    EXPECT_EQ(not_moved, 2u);
    ASSERT_EQ(kSuccess, dev_.Migrate(m.addr(), 2 * page_, kToSystem, &r, &moved));
    EXPECT_TRUE(ResultsAre(r, 0, 2, kAlready));
    ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), len, &s));
    EXPECT_TRUE(PagesAre(s, 0, n, 0)) << "nothing moved";
  }

  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(2 * page_), 2 * page_));
  std::vector<uint8_t> buf(2 * page_);
  ASSERT_EQ(kSuccess, dev_.Read(m.addr(4 * page_), 2 * page_, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), 2 * page_, 95, m.addr(4 * page_)));
  ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), len, &s));
  EXPECT_TRUE(PagesAre(s, 0, 2, 0));
  EXPECT_TRUE(PagesHave(s, 2, 6, kValid, kDevice)) << "back in system memory";
  EXPECT_TRUE(PagesAre(s, 6, 8, 0));
  EXPECT_TRUE(HasPattern(m.data(), len, 95)) << "the CPU's data";
  ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), len, &s));
  EXPECT_TRUE(PagesHave(s, 0, n, kValid, kDevice));
#endif
}

}  // namespace
}  // namespace hmm_conformance
