// SPDX-License-Identifier: MIT
//
// session_test.cc - mirrors and address spaces (abi/README.md, "Sessions"):
// each open is its own device page table; a mirror is bound to the address
// space of the process that opened it, whoever issues the commands; once
// that address space is gone the commands return ESRCH.

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <vector>

#include "hmm_mirror_test.h"
#include "process_util.h"

namespace hmm_conformance {
namespace {

using SessionTest = MirrorTest;

constexpr uint32_t kValid = HMM_MIRROR_PAGE_VALID;
constexpr uint32_t kWrite = HMM_MIRROR_PAGE_WRITE;

TEST_F(SessionTest, EachOpenHasItsOwnDevicePageTable) {
  Mirror other;
  std::string err = other.Open();
  ASSERT_TRUE(err.empty()) << err;
  Mapping m(8 * page_);
  FillPattern(m.data(), m.size(), 1);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), 4 * page_, HMM_MIRROR_FAULT_WRITE));
  ASSERT_EQ(kSuccess, other.Fault(m.addr(4 * page_), 4 * page_));
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesAre(q, 0, 4, kValid | kWrite));
  EXPECT_TRUE(PagesAre(q, 4, 8, 0));
  ASSERT_EQ(kSuccess, other.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesAre(q, 0, 4, 0));
  EXPECT_TRUE(PagesHave(q, 4, 8, kValid, 0));
}

TEST_F(SessionTest, InvalidationReachesEveryMirror) {
  Mirror other;
  std::string err = other.Open();
  ASSERT_TRUE(err.empty()) << err;
  Mapping m(8 * page_);
  FillPattern(m.data(), m.size(), 2);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
  ASSERT_EQ(kSuccess, other.Fault(m.addr(), m.size()));
  m.Advise(0, m.size(), MADV_DONTNEED);
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesAre(q, 0, 8, 0));
  ASSERT_EQ(kSuccess, other.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesAre(q, 0, 8, 0));
}

TEST_F(SessionTest, ClosingOneMirrorLeavesTheOtherWorking) {
  Mapping m(8 * page_);
  FillPattern(m.data(), m.size(), 3);
  {
    Mirror other;
    std::string err = other.Open();
    ASSERT_TRUE(err.empty()) << err;
    ASSERT_EQ(kSuccess, other.Fault(m.addr(), m.size()));
    ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
  }
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesHave(q, 0, 8, kValid, 0));
  Mapping buf(m.size());
  ASSERT_EQ(kSuccess, dev_.Read(m.addr(), m.size(), buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), 3, m.addr()));
}

TEST_F(SessionTest, AnInheritedFdStillMirrorsTheParent) {
  Mapping m(4 * page_);
  const uint64_t len = m.size();
  FillPattern(m.data(), len, 4);
  uint8_t* data = m.data();
  const Mirror& dev = dev_;
  // Exit codes: 0 ok; 1 the child's own copy changed early; 2 READ failed;
  // 3 READ did not return the parent's data; 4 WRITE failed; 5 the WRITE
  // landed in the child's own copy.
  Child child([data, len, &dev] {
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 10;
    if (!HasPattern(data, len, 4)) return 1;
    if (dev.Read(U64(data), len, p) != kSuccess) return 2;
    if (!HasPatternAs(p, len, 5, U64(data))) return 3;
    FillPatternAs(p, len, 6, U64(data));
    if (dev.Write(U64(data), len, p) != kSuccess) return 4;
    if (!HasPattern(data, len, 4)) return 5;
    return 0;
  });
  // Breaks copy-on-write: the parent's pages now differ from the child's.
  FillPattern(m.data(), len, 5);
  ASSERT_EQ(child.Wait(), 0) << "see the exit codes in the test";
  EXPECT_TRUE(HasPattern(m.data(), len, 6)) << "the child's WRITE through the "
                                               "inherited fd is in the parent";
}

TEST_F(SessionTest, CommandsAfterTheAddressSpaceExitedAreEsrch) {
  int sv[2];
  ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv));
  const uint64_t len = 4 * page_;
  // The child opens its own mirror, maps its memory through it, sends the
  // fd and exits.  Exit codes: 0 ok; 2 open; 3 mmap; 4 FAULT; 5 send.
  Child child([sock = sv[1], len] {
    Mirror mine;
    if (!mine.Open().empty()) return 2;
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 3;
    FillPattern(p, len, 7);
    if (mine.Fault(U64(p), len, HMM_MIRROR_FAULT_WRITE) != kSuccess) return 4;
    if (!PassFd(sock, mine.fd(), U64(p))) return 5;
    return 0;
  });
  close(sv[1]);
  const int status = child.Wait();
  uint64_t addr = 0;
  const int fd = TakeFd(sv[0], &addr);
  close(sv[0]);
  ASSERT_EQ(status, 0) << "see the exit codes in the test";
  ASSERT_GE(fd, 0);

  std::vector<uint32_t> states(4, kStateCanary);
  Mapping buf(len);
  hmm_mirror_fault f = MakeFault(addr, len);
  EXPECT_EQ(Errno(ESRCH), RawIoctl(fd, HMM_MIRROR_IOC_FAULT, &f));
  hmm_mirror_pages p = MakePages(addr, len, states.data(), states.size());
  EXPECT_EQ(Errno(ESRCH), RawIoctl(fd, HMM_MIRROR_IOC_SNAPSHOT, &p));
  hmm_mirror_rw rw = MakeRw(addr, len, buf.data());
  EXPECT_EQ(Errno(ESRCH), RawIoctl(fd, HMM_MIRROR_IOC_READ, &rw));
  rw = MakeRw(addr, len, buf.data());
  EXPECT_EQ(Errno(ESRCH), RawIoctl(fd, HMM_MIRROR_IOC_WRITE, &rw));
  // QUERY needs only the device page table: either ESRCH, or it shows that
  // process exit cleared every entry.
  p = MakePages(addr, len, states.data(), states.size());
  Errno rc = RawIoctl(fd, HMM_MIRROR_IOC_QUERY, &p);
  if (rc == kSuccess)
    EXPECT_TRUE(PagesAre(states, 0, 4, 0)) << "entries survived process exit";
  else
    EXPECT_EQ(Errno(ESRCH), rc);
  close(fd);
}

}  // namespace
}  // namespace hmm_conformance
