// SPDX-License-Identifier: MIT
//
// parity_test.cc - one test per scenario of the kernel's own HMM selftests
// (tools/testing/selftests/vm/hmm-tests.c, Linux 6.1) that needs no
// device-private memory, written anew against this ABI.  Each test names
// the selftest it corresponds to; PARITY.md has the full map, including
// the scenarios that do not apply here and why.
//
// The selftest's device faults a whole buffer at once (faults == 1).  This
// device cuts runs of missing pages at 2 MiB copy chunks (abi/README.md,
// READ / WRITE), so the buffers here sit inside one 2 MiB-aligned block
// (the start of a ChunkArea) and are at most 2 MiB; then a first access is
// exactly one device fault, as in the selftest.

#include <linux/if_packet.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "process_util.h"

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif

namespace hmm_conformance {
namespace {

constexpr uint32_t kValid = HMM_MIRROR_PAGE_VALID;
constexpr uint32_t kWrite = HMM_MIRROR_PAGE_WRITE;
constexpr uint32_t kZero = HMM_MIRROR_PAGE_ZERO;
constexpr uint32_t kError = HMM_MIRROR_PAGE_ERROR;
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

// hmm-tests.c: snapshot (hmm2), pages 0-4; pages 5 and 6 are migrated to
// device-private memory there, which this device has not.
TEST_F(Parity, Snapshot) {
  Mirror second;
  ASSERT_EQ("", second.Open());
  Mapping m(5 * page_, PROT_NONE);
  uint8_t* p = m.data();
  std::vector<uint32_t> s0, s1;
  s0.reserve(5);
  s1.reserve(5);
  m.Unmap(page_, page_);                                   // 1: a hole
  m.Protect(2 * page_, page_, PROT_READ);                  // 2: zero page
  ASSERT_EQ(0, *reinterpret_cast<volatile uint8_t*>(p + 2 * page_));
  m.Protect(3 * page_, page_, PROT_READ | PROT_WRITE);     // 3: read-only
  p[3 * page_] = 3;
  m.Protect(3 * page_, page_, PROT_READ);
  m.Protect(4 * page_, page_, PROT_READ | PROT_WRITE);     // 4: writable
  p[4 * page_] = 3;
  // 0 stays PROT_NONE.
  ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), 5 * page_, &s0));
  ASSERT_EQ(kSuccess, second.Snapshot(m.addr(), 5 * page_, &s1));
  EXPECT_TRUE(PagesHave(s0, 0, 1, kError, kValid | kWrite | kZero));
  EXPECT_TRUE(PagesAre(s0, 1, 2, 0));
  EXPECT_TRUE(PagesAre(s0, 2, 3, kValid | kZero));
  EXPECT_TRUE(PagesAre(s0, 3, 4, kValid));
  EXPECT_TRUE(PagesAre(s0, 4, 5, kValid | kWrite));
  EXPECT_EQ(s0, s1) << "both devices see the same CPU page table";
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

}  // namespace
}  // namespace hmm_conformance
