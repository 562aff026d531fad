// SPDX-License-Identifier: MIT
//
// attach_test.cc - HMM_MIRROR_IOC_ATTACH (abi/README.md, "ATTACH" and
// "Sessions"): a mirror rebound through a pidfd to another process's
// address space faults, snapshots, reads and writes that process's memory;
// the ptrace rule decides who may attach; EBADF / ESRCH / EBUSY as
// documented.  Needs HMM_MIRROR_FEAT_ATTACH.

#include <signal.h>
#include <sys/prctl.h>
#include <sys/uio.h>

#include <fstream>
#include <vector>

#include "process_util.h"

namespace hmm_conformance {
namespace {

constexpr uint32_t kValid = HMM_MIRROR_PAGE_VALID;
constexpr uint32_t kWrite = HMM_MIRROR_PAGE_WRITE;

using AttachTest = FeatureTest<HMM_MIRROR_FEAT_ATTACH>;

// An fd that is closed when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

TEST_F(AttachTest, ChildMemoryIsSnapshotFaultedReadAndWritten) {
  const uint64_t len = 16 * page_;
  TargetProcess t(len, 1);
  ASSERT_TRUE(t.ok());
  {
    Fd pidfd(PidfdOpen(t.pid()));
    ASSERT_GE(pidfd.get(), 0) << std::strerror(errno);
    ASSERT_EQ(kSuccess, dev_.Attach(pidfd.get()));
  }  // The pidfd is only needed for the call.

  // SNAPSHOT shows the child's page table: every page written.
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(t.addr(), len, &s));
  EXPECT_TRUE(PagesAre(s, 0, 16, kValid | kWrite));

  hmm_mirror_fault f;
  ASSERT_EQ(kSuccess, dev_.Fault(t.addr(), len, HMM_MIRROR_FAULT_WRITE, &f));
  EXPECT_EQ(f.pages_mapped, 16u);
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(t.addr(), len, &q));
  EXPECT_TRUE(PagesAre(q, 0, 16, kValid | kWrite));

  // READ copies the child's data into this process's buffer.
  Mapping buf(len);
  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Read(t.addr(), len, buf.data(), &faults));
  EXPECT_EQ(faults, 0u);
  EXPECT_TRUE(HasPatternAs(buf.data(), len, 1, t.addr()));

  // WRITE lands in the child.
  FillPatternAs(buf.data(), len, 2, t.addr());
  ASSERT_EQ(kSuccess, dev_.Write(t.addr(), len, buf.data(), &faults));
  EXPECT_EQ(faults, 0u);
  EXPECT_TRUE(t.Check(2)) << "the child does not see the device WRITE";

  // And the child's CPU writes are seen by the device.
  ASSERT_TRUE(t.Fill(3));
  ASSERT_EQ(kSuccess, dev_.Read(t.addr(), len, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), len, 3, t.addr()));
  EXPECT_EQ(t.Exit(), 0);
}

TEST_F(AttachTest, TheCallersOwnMemoryAtTheSameAddressIsNotUsed) {
  // This process maps its own, different memory at the child's address
  // (when that address is free here): the mirror must use the child's.
  const uint64_t len = 4 * page_;
  TargetProcess t(len, 4);
  ASSERT_TRUE(t.ok());
  void* mine = mmap(reinterpret_cast<void*>(t.addr()), len,
                    PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  const bool overlaid = mine != MAP_FAILED;
  if (overlaid) FillPattern(mine, len, 5);
  RecordProperty("same_address_mapped_here", overlaid ? 1 : 0);

  Fd pidfd(PidfdOpen(t.pid()));
  ASSERT_GE(pidfd.get(), 0);
  ASSERT_EQ(kSuccess, dev_.Attach(pidfd.get()));
  Mapping buf(len);
  ASSERT_EQ(kSuccess, dev_.Read(t.addr(), len, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), len, 4, t.addr()));
  FillPatternAs(buf.data(), len, 6, t.addr());
  ASSERT_EQ(kSuccess, dev_.Write(t.addr(), len, buf.data()));
  EXPECT_TRUE(t.Check(6));
  if (overlaid) {
    EXPECT_TRUE(HasPattern(mine, len, 5)) << "the WRITE landed in the caller";
    munmap(mine, len);
  }
}

TEST_F(AttachTest, AttachingToOneselfKeepsMirroringOneself) {
  Mapping m(4 * page_);
  FillPattern(m.data(), m.size(), 7);
  Fd pidfd(PidfdOpen(getpid()));
  ASSERT_GE(pidfd.get(), 0);
  ASSERT_EQ(kSuccess, dev_.Attach(pidfd.get()));
  Mapping buf(m.size());
  ASSERT_EQ(kSuccess, dev_.Read(m.addr(), m.size(), buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), 7, m.addr()));
}

TEST_F(AttachTest, TargetMunmapClearsTheEntries) {
  const uint64_t len = 16 * page_;
  TargetProcess t(len, 8);
  ASSERT_TRUE(t.ok());
  Fd pidfd(PidfdOpen(t.pid()));
  ASSERT_GE(pidfd.get(), 0);
  ASSERT_EQ(kSuccess, dev_.Attach(pidfd.get()));
  ASSERT_EQ(kSuccess, dev_.Fault(t.addr(), len, HMM_MIRROR_FAULT_WRITE));
  std::vector<uint32_t> q;
  q.reserve(16);
  ASSERT_EQ(0u, t.Unmap(4 * page_, 8 * page_));
  ASSERT_EQ(kSuccess, dev_.Query(t.addr(), len, &q));
  EXPECT_TRUE(PagesAre(q, 0, 4, kValid | kWrite));
  EXPECT_TRUE(PagesAre(q, 4, 12, 0));
  EXPECT_TRUE(PagesAre(q, 12, 16, kValid | kWrite));
  Mapping buf(len);
  EXPECT_EQ(Errno(EFAULT), dev_.Read(t.addr(4 * page_), 8 * page_, buf.data()));

  // mprotect and MADV_DONTNEED in the target reach the mirror too.
  ASSERT_EQ(0u, t.Protect(0, 4 * page_, PROT_READ));
  ASSERT_EQ(0u, t.Dontneed(12 * page_, 4 * page_));
  ASSERT_EQ(kSuccess, dev_.Query(t.addr(), len, &q));
  EXPECT_TRUE(PagesHave(q, 0, 4, 0, kWrite));
  EXPECT_TRUE(PagesAre(q, 12, 16, 0));
}

TEST_F(AttachTest, TargetMunmapIsAnEventOfTheAttachedMirror) {
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_EVENTS);
  const uint64_t len = 8 * page_;
  TargetProcess t(len, 9);
  ASSERT_TRUE(t.ok());
  Fd pidfd(PidfdOpen(t.pid()));
  ASSERT_GE(pidfd.get(), 0);
  ASSERT_EQ(kSuccess, dev_.Attach(pidfd.get()));
  ASSERT_EQ(kSuccess, dev_.SetEvents(HMM_MIRROR_EVENT_ALL_REASONS));
  ASSERT_EQ(kSuccess, dev_.Fault(t.addr(), len));
  ASSERT_EQ(0u, t.Unmap(0, len));
  std::vector<hmm_mirror_event> ev = DrainEvents(dev_.fd());
  ASSERT_EQ(ev.size(), 1u) << EventsString(ev);
  EXPECT_TRUE(WellFormed(ev[0]));
  EXPECT_EQ(ev[0].reason, uint32_t{HMM_MIRROR_EVENT_UNMAP}) << EventString(ev[0]);
  EXPECT_EQ(ev[0].start, t.addr());
  EXPECT_EQ(ev[0].end, t.addr(len));
  EXPECT_EQ(ev[0].pages, 8u);
}

TEST_F(AttachTest, RepeatedAttachMovesToAnotherProcess) {
  // "It may be repeated to move to another process" - once the device
  // maps nothing of the current one.
  const uint64_t len = 4 * page_;
  TargetProcess a(len, 10), b(len, 11);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  Fd pa(PidfdOpen(a.pid())), pb(PidfdOpen(b.pid()));
  ASSERT_GE(pa.get(), 0);
  ASSERT_GE(pb.get(), 0);
  ASSERT_EQ(kSuccess, dev_.Attach(pa.get()));
  ASSERT_EQ(kSuccess, dev_.Fault(a.addr(), len));
  EXPECT_EQ(Errno(EBUSY), dev_.Attach(pb.get()));
  // Still bound to a.
  Mapping buf(len);
  ASSERT_EQ(kSuccess, dev_.Read(a.addr(), len, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), len, 10, a.addr()));

  // a unmaps everything the device mapped: the device maps nothing now.
  ASSERT_EQ(0u, a.Unmap(0, len));
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(a.addr(), len, &q));
  ASSERT_TRUE(PagesAre(q, 0, 4, 0));
  ASSERT_EQ(kSuccess, dev_.Attach(pb.get()));
  ASSERT_EQ(kSuccess, dev_.Read(b.addr(), len, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), len, 11, b.addr()));
  // Invalidations now come from b.
  ASSERT_EQ(0u, b.Unmap(0, page_));
  ASSERT_EQ(kSuccess, dev_.Query(b.addr(), len, &q));
  EXPECT_TRUE(PagesAre(q, 0, 1, 0));
  EXPECT_TRUE(PagesHave(q, 1, 4, kValid, 0));
}

TEST_F(AttachTest, DeviceMappingPagesIsEbusy) {
  // The target first: fork() would clear this process's writable entries.
  TargetProcess t(4 * page_, 13);
  ASSERT_TRUE(t.ok());
  Mapping m(4 * page_);
  FillPattern(m.data(), m.size(), 12);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
  Fd pidfd(PidfdOpen(t.pid()));
  ASSERT_GE(pidfd.get(), 0);
  EXPECT_EQ(Errno(EBUSY), dev_.Attach(pidfd.get()));
  // Nothing changed: the mirror still maps this process's pages.
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesHave(q, 0, 4, kValid, 0));
  Mapping buf(m.size());
  ASSERT_EQ(kSuccess, dev_.Read(m.addr(), m.size(), buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), 12, m.addr()));
  // Once the device maps nothing, ATTACH works.
  m.Advise(0, m.size(), MADV_DONTNEED);
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  ASSERT_TRUE(PagesAre(q, 0, 4, 0));
  EXPECT_EQ(kSuccess, dev_.Attach(pidfd.get()));
}

TEST_F(AttachTest, NotAPidfdIsEbadf) {
  int p[2];
  ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
  Fd r(p[0]), w(p[1]);
  EXPECT_EQ(Errno(EBADF), dev_.Attach(r.get())) << "a pipe";
  Fd devnull(open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_GE(devnull.get(), 0);
  EXPECT_EQ(Errno(EBADF), dev_.Attach(devnull.get())) << "/dev/null";
  EXPECT_EQ(Errno(EBADF), dev_.Attach(dev_.fd())) << "the mirror itself";
  Fd procdir(open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_GE(procdir.get(), 0);
  EXPECT_EQ(Errno(EBADF), dev_.Attach(procdir.get())) << "a /proc/PID dir";
}

TEST_F(AttachTest, ClosedOrInvalidFdIsEbadf) {
  int p[2];
  ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
  close(p[0]);
  close(p[1]);
  EXPECT_EQ(Errno(EBADF), dev_.Attach(p[0])) << "a closed fd";
  const int pidfd = PidfdOpen(getpid());
  ASSERT_GE(pidfd, 0);
  close(pidfd);
  EXPECT_EQ(Errno(EBADF), dev_.Attach(pidfd)) << "a closed pidfd";
  EXPECT_EQ(Errno(EBADF), dev_.Attach(-1)) << "0xffffffff";
  EXPECT_EQ(Errno(EBADF), dev_.Attach(1 << 30));
}

TEST_F(AttachTest, NonZeroReservedIsEinval) {
  Fd pidfd(PidfdOpen(getpid()));
  ASSERT_GE(pidfd.get(), 0);
  for (uint32_t reserved : {1U, 0x80000000U}) {
    hmm_mirror_attach a = MakeAttach(pidfd.get());
    a.reserved = reserved;
    EXPECT_EQ(Errno(EINVAL), dev_.Call(HMM_MIRROR_IOC_ATTACH, &a)) << reserved;
  }
}

TEST_F(AttachTest, ExitedProcessIsEsrch) {
  // "the process has exited": first a zombie (exited, not yet reaped), then
  // reaped.  The child waits for a byte so the pidfd is opened first.
  int go[2];
  ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    char c;
    close(go[1]);
    while (read(go[0], &c, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  close(go[0]);
  Fd pidfd(PidfdOpen(pid));
  const int open_errno = errno;
  close(go[1]);  // the child exits
  ASSERT_GE(pidfd.get(), 0) << std::strerror(open_errno);
  // A pidfd polls readable once the process has exited.
  ASSERT_GT(PollFd(pidfd.get(), POLLIN, kReplyTimeoutMs), 0);
  EXPECT_EQ(Errno(ESRCH), dev_.Attach(pidfd.get())) << "zombie";
  int status;
  ASSERT_EQ(pid, waitpid(pid, &status, 0));
  EXPECT_EQ(Errno(ESRCH), dev_.Attach(pidfd.get())) << "reaped";
  // The mirror is still bound to this process and works.
  Mapping m(page_);
  FillPattern(m.data(), m.size(), 14);
  Mapping buf(page_);
  ASSERT_EQ(kSuccess, dev_.Read(m.addr(), page_, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), page_, 14, m.addr()));
}

TEST_F(AttachTest, KernelThreadIsEsrch) {
  // kthreadd (pid 2) has no address space.
  std::ifstream comm("/proc/2/comm");
  std::string name;
  if (!std::getline(comm, name) || name != "kthreadd")
    GTEST_SKIP() << "pid 2 is not kthreadd here (" << name << ")";
  Fd pidfd(PidfdOpen(2));
  ASSERT_GE(pidfd.get(), 0) << std::strerror(errno);
  EXPECT_EQ(Errno(ESRCH), dev_.Attach(pidfd.get()));
}

// --- Permission: the ptrace rule ------------------------------------------

// The answers the unprivileged child sends back, in order.
enum PermWord {
  kPermDropped,       // 1 when the privileges were dropped
  kPermVmReadRoot,    // process_vm_readv errno, root-owned descendant
  kPermAttachRoot,    // ATTACH errno, root-owned descendant
  kPermVmReadParent,  // process_vm_readv errno, the (root) test process
  kPermAttachParent,  // ATTACH errno, the (root) test process
  kPermWords
};

TEST_F(AttachTest, UnprivilegedCallerIsRefusedForRootProcesses) {
  Mapping m(page_);
  FillPattern(m.data(), page_, 15);
  const pid_t test_pid = getpid();
  const uint64_t addr = m.addr();
  Remote r([test_pid, addr](int sock) {
    // As root: a root-owned grandchild (a descendant, so Yama's scope 1
    // would allow it: only the credentials can refuse), and the mirror.
    int hold[2];
    if (pipe(hold) != 0) return 2;
    const pid_t gc = fork();
    if (gc < 0) return 3;
    if (gc == 0) {
      char c;
      close(hold[1]);
      while (read(hold[0], &c, 1) < 0 && errno == EINTR) {
      }
      _exit(0);
    }
    close(hold[0]);
    Mirror mine;
    if (!mine.Open().empty()) return 4;
    const int pidfd_gc = PidfdOpen(gc);
    const int pidfd_test = PidfdOpen(test_pid);
    if (pidfd_gc < 0 || pidfd_test < 0) return 5;
    uint64_t w[kPermWords] = {};
    w[kPermDropped] = DropToNobody() ? 1 : 0;
    w[kPermVmReadRoot] = static_cast<uint64_t>(VmReadErrno(gc, addr));
    w[kPermAttachRoot] =
        static_cast<uint64_t>(mine.Attach(pidfd_gc).value());
    w[kPermVmReadParent] = static_cast<uint64_t>(VmReadErrno(test_pid, addr));
    w[kPermAttachParent] =
        static_cast<uint64_t>(mine.Attach(pidfd_test).value());
    SendWords(sock, w, kPermWords);
    close(hold[1]);
    waitpid(gc, nullptr, 0);
    return 0;
  });
  uint64_t w[kPermWords];
  ASSERT_TRUE(r.Recv(w, kPermWords)) << "child exit " << r.Reap();
  ASSERT_EQ(w[kPermDropped], 1u) << "could not become nobody";
  // The environment check: the kernel itself refuses these reads.
  EXPECT_EQ(w[kPermVmReadRoot], uint64_t{EPERM});
  EXPECT_EQ(w[kPermVmReadParent], uint64_t{EPERM});
  EXPECT_EQ(Errno(static_cast<int>(w[kPermAttachRoot])), Errno(EPERM))
      << "nobody attaching to a root-owned descendant";
  EXPECT_EQ(Errno(static_cast<int>(w[kPermAttachParent])), Errno(EPERM))
      << "nobody attaching to a root-owned non-descendant";
  EXPECT_EQ(r.Reap(), 0);
}


TEST_F(AttachTest, UnprivilegedCallerMayAttachToItsOwnDescendant) {
  // nobody may ptrace a dumpable nobody-owned child of its own, so it may
  // attach to it, and the mirror then works on the child's memory.
  if (YamaScope() >= 2)
    GTEST_SKIP() << "Yama ptrace_scope " << YamaScope()
                 << " refuses unprivileged ptrace altogether";
  const uint64_t len = 4 * page_;
  // Exit codes / words: see below.
  Remote r([len](int sock) {
    Mirror mine;
    if (!mine.Open().empty()) return 2;
    if (!DropToNobody()) return 3;
    // setresuid() made this process non-dumpable; the grandchild inherits
    // the flag, so restore it first.
    if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) return 4;
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 5;
    FillPattern(p, len, 16);
    int hold[2];
    if (pipe(hold) != 0) return 6;
    const pid_t gc = fork();
    if (gc < 0) return 7;
    if (gc == 0) {
      char c;
      close(hold[1]);
      while (read(hold[0], &c, 1) < 0 && errno == EINTR) {
      }
      _exit(0);
    }
    close(hold[0]);
    // The grandchild's copy of the memory differs from ours from now on.
    FillPattern(p, len, 17);
    const int pidfd = PidfdOpen(gc);
    uint64_t w[4] = {};
    w[0] = static_cast<uint64_t>(VmReadErrno(gc, U64(p)));
    w[1] = static_cast<uint64_t>(mine.Attach(pidfd).value());
    std::vector<uint8_t> buf(len);
    w[2] = static_cast<uint64_t>(mine.Read(U64(p), len, buf.data()).value());
    w[3] = HasPatternAs(buf.data(), len, 16, U64(p)) ? 1 : 0;
    SendWords(sock, w, 4);
    close(hold[1]);
    waitpid(gc, nullptr, 0);
    return 0;
  });
  uint64_t w[4];
  ASSERT_TRUE(r.Recv(w, 4)) << "child exit " << r.Reap();
  // The kernel's own rule (process_vm_readv) allows it ...
  ASSERT_EQ(w[0], 0u) << "process_vm_readv refused: " << std::strerror(w[0]);
  // ... so ATTACH must too.
  EXPECT_EQ(Errno(static_cast<int>(w[1])), kSuccess);
  EXPECT_EQ(Errno(static_cast<int>(w[2])), kSuccess) << "READ after ATTACH";
  EXPECT_EQ(w[3], 1u) << "READ did not return the grandchild's memory";
  EXPECT_EQ(r.Reap(), 0);
}

}  // namespace
}  // namespace hmm_conformance
