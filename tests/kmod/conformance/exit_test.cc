// SPDX-License-Identifier: MIT
//
// exit_test.cc - HMM_MIRROR_FEAT_EXIT (abi/README.md, "Exit"): when the
// mirrored address space goes away while the fd is open, the device page
// table is emptied and a RELEASE event is queued (if enabled), generated
// once; every command except HANDSHAKE, EVENTS and STATS then fails with
// ESRCH; read() returns the queued records and then 0; poll() reports
// POLLHUP.
//
// The mirrored process is a child that opens its own mirror and passes the
// fd to the test (or, with ATTACH, a child the test's mirror attached to).

#include <signal.h>

#include <atomic>
#include <thread>
#include <vector>

#include "process_util.h"

namespace hmm_conformance {
namespace {

constexpr uint32_t kValid = HMM_MIRROR_PAGE_VALID;
constexpr uint32_t kReleaseBit = ReasonBit(HMM_MIRROR_EVENT_RELEASE);
constexpr uint32_t kUnmapBit = ReasonBit(HMM_MIRROR_EVENT_UNMAP);
constexpr size_t kRec = sizeof(hmm_mirror_event);

// A child with a mirror of its own: it maps `pages` pages (in two 1 GiB
// chunks when two_chunks), writes them, faults them through its mirror and
// passes the fd and the address to the test.  Then it serves {kUnmap, off,
// len} -> 0 / errno and {kExit}.
class MirroredChild {
 public:
  enum : uint64_t { kUnmap = 1, kExit = 2 };

  MirroredChild(uint64_t pages, bool two_chunks = false)
      : remote_([pages, two_chunks](int sock) {
          return Serve(sock, pages, two_chunks);
        }) {
    uint64_t a = 0;
    fd_ = TakeFd(remote_.sock(), &a);
    addr_ = a;
  }
  ~MirroredChild() {
    if (fd_ >= 0) close(fd_);
  }

  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  uint64_t addr(uint64_t offset = 0) const { return addr_ + offset; }
  uint64_t Unmap(uint64_t off, uint64_t len) {
    return remote_.Ask({kUnmap, off, len});
  }
  // Makes the child exit and reaps it: its exit status.
  int Exit() {
    remote_.Send({kExit});
    return remote_.Reap();
  }
  Remote& remote() { return remote_; }

  Errno Call(unsigned long cmd, const void* arg) const {
    return RawIoctl(fd_, cmd, arg);
  }
  Errno SetEvents(uint32_t reasons) const {
    hmm_mirror_events e = MakeEvents(reasons);
    return Call(HMM_MIRROR_IOC_EVENTS, &e);
  }

 private:
  static int Serve(int sock, uint64_t pages, bool two_chunks) {
    const uint64_t ps = OsPageSize();
    Mirror mine;
    if (!mine.Open().empty()) return 2;
    uint8_t* base;
    std::unique_ptr<ChunkArea> area;
    if (two_chunks) {
      // pages/2 at the end of chunk 0, pages/2 at the start of chunk 1.
      area.reset(new ChunkArea(2));
      base = area->Map(0, kChunkSize - pages / 2 * ps, pages * ps);
    } else {
      void* p = mmap(nullptr, pages * ps, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) return 3;
      base = static_cast<uint8_t*>(p);
      madvise(p, pages * ps, MADV_NOHUGEPAGE);
    }
    FillPattern(base, pages * ps, 1);
    if (mine.Fault(U64(base), pages * ps, HMM_MIRROR_FAULT_WRITE) != kSuccess)
      return 4;
    if (!PassFd(sock, mine.fd(), U64(base))) return 5;
    // Exits with _exit(): no destructor may unmap anything first (the
    // ChunkArea would), the exit itself must take the memory away.
    for (;;) {
      uint64_t w[3];
      if (RecvWords(sock, w, 3) <= 0) _exit(0);
      if (w[0] == kExit) _exit(0);
      if (w[0] == kUnmap) {
        const uint64_t rc = munmap(base + w[1], w[2]) == 0 ? 0 : errno;
        if (!SendWords(sock, {rc})) return 0;
      }
    }
  }

  Remote remote_;
  int fd_ = -1;
  uint64_t addr_ = 0;
};

class ExitTest : public FeatureTest<HMM_MIRROR_FEAT_EXIT> {};

TEST_F(ExitTest, CommandsAfterExitAreEsrchUntilAttach) {
  MirroredChild child(4);
  ASSERT_TRUE(child.ok());
  std::vector<uint32_t> states(4, kStateCanary);
  hmm_mirror_pages p = MakePages(child.addr(), 4 * page_, states.data(), 4);
  ASSERT_EQ(kSuccess, child.Call(HMM_MIRROR_IOC_QUERY, &p));
  ASSERT_TRUE(PagesHave(states, 0, 4, kValid, 0)) << "before the exit";
  ASSERT_EQ(child.Exit(), 0);

  Mapping buf(4 * page_);
  hmm_mirror_fault f = MakeFault(child.addr(), 4 * page_);
  EXPECT_EQ(Errno(ESRCH), child.Call(HMM_MIRROR_IOC_FAULT, &f));
  p = MakePages(child.addr(), 4 * page_, states.data(), 4);
  EXPECT_EQ(Errno(ESRCH), child.Call(HMM_MIRROR_IOC_SNAPSHOT, &p));
  p = MakePages(child.addr(), 4 * page_, states.data(), 4);
  EXPECT_EQ(Errno(ESRCH), child.Call(HMM_MIRROR_IOC_QUERY, &p));
  hmm_mirror_rw rw = MakeRw(child.addr(), 4 * page_, buf.data());
  EXPECT_EQ(Errno(ESRCH), child.Call(HMM_MIRROR_IOC_READ, &rw));
  rw = MakeRw(child.addr(), 4 * page_, buf.data());
  EXPECT_EQ(Errno(ESRCH), child.Call(HMM_MIRROR_IOC_WRITE, &rw));

  hmm_mirror_handshake hs = MakeHandshake();
  EXPECT_EQ(kSuccess, child.Call(HMM_MIRROR_IOC_HANDSHAKE, &hs));
  if (dev_.Has(HMM_MIRROR_FEAT_EVENTS)) {
    EXPECT_EQ(kSuccess, child.SetEvents(HMM_MIRROR_EVENT_ALL_REASONS));
  }
  if (dev_.Has(HMM_MIRROR_FEAT_STATS)) {
    hmm_mirror_stats st = MakeStats();
    ASSERT_EQ(kSuccess, child.Call(HMM_MIRROR_IOC_STATS, &st));
    EXPECT_EQ(st.dpt_pages, 0u) << "the device page table is emptied: "
                                << StatsString(st);
    EXPECT_EQ(st.mirrors, 1u);
  }

  if (dev_.Has(HMM_MIRROR_FEAT_ATTACH)) {
    // abi/README.md: ATTACH binds the exited mirror to a live process again.
    const int self = PidfdOpen(getpid());
    ASSERT_GE(self, 0);
    hmm_mirror_attach a = MakeAttach(self);
    EXPECT_EQ(kSuccess, child.Call(HMM_MIRROR_IOC_ATTACH, &a));
    close(self);
    std::memset(buf.data(), 7, buf.size());
    f = MakeFault(buf.addr(), buf.size());
    EXPECT_EQ(kSuccess, child.Call(HMM_MIRROR_IOC_FAULT, &f))
        << "commands work again after ATTACH";
    EXPECT_EQ(4u, f.pages_mapped);
  }
}

class ExitEventsTest
    : public FeatureTest<HMM_MIRROR_FEAT_EXIT | HMM_MIRROR_FEAT_EVENTS> {};

TEST_F(ExitEventsTest, ReleaseRecordThenEndOfFile) {
  MirroredChild child(4);
  ASSERT_TRUE(child.ok());
  ASSERT_EQ(kSuccess, child.SetEvents(HMM_MIRROR_EVENT_ALL_REASONS));
  EXPECT_EQ(0, PollFd(child.fd(), POLLIN, 0)) << "nothing yet";
  ASSERT_EQ(child.Exit(), 0);

  const int rev = PollFd(child.fd(), POLLIN, kReplyTimeoutMs);
  EXPECT_TRUE(rev > 0 && (rev & POLLIN)) << "revents " << rev;
  EXPECT_TRUE(rev > 0 && (rev & POLLHUP)) << "revents " << rev;
  int end = -1;
  std::vector<hmm_mirror_event> ev = DrainEvents(child.fd(), &end);
  ASSERT_EQ(ev.size(), 1u) << "exactly one RELEASE: " << EventsString(ev);
  EXPECT_TRUE(WellFormed(ev[0]));
  EXPECT_EQ(ev[0].reason, uint32_t{HMM_MIRROR_EVENT_RELEASE}) << EventString(ev[0]);
  // "pages: device pages (4K) the invalidation removed": the exit emptied
  // the 4 pages the child had faulted.
  EXPECT_EQ(ev[0].pages, 4u) << EventString(ev[0]);
  EXPECT_EQ(end, 0) << "then end of file, not " << Errno(end);

  // Blocking read: end of file at once.
  hmm_mirror_event e;
  errno = 0;
  EXPECT_EQ(0, ReadWithin(child.fd(), &e, kRec, 5000)) << std::strerror(errno);
  EXPECT_EQ(0, ReadWithin(child.fd(), &e, kRec, 5000)) << std::strerror(errno);
  const int after = PollFd(child.fd(), POLLIN, 0);
  EXPECT_TRUE(after > 0 && (after & POLLHUP)) << "revents " << after;
  EXPECT_FALSE(after > 0 && (after & POLLIN)) << "nothing left to read";
}

TEST_F(ExitEventsTest, WithoutReleaseEnabledReadIsEndOfFile) {
  MirroredChild child(4);
  ASSERT_TRUE(child.ok());
  ASSERT_EQ(kSuccess, child.SetEvents(kUnmapBit));
  ASSERT_EQ(child.Exit(), 0);
  const int rev = PollFd(child.fd(), POLLIN, kReplyTimeoutMs);
  EXPECT_TRUE(rev > 0 && (rev & POLLHUP)) << "revents " << rev;
  int end = -1;
  std::vector<hmm_mirror_event> ev = DrainEvents(child.fd(), &end);
  EXPECT_TRUE(ev.empty()) << "RELEASE was not enabled: " << EventsString(ev);
  EXPECT_EQ(end, 0) << Errno(end);
  hmm_mirror_event e;
  EXPECT_EQ(0, ReadWithin(child.fd(), &e, kRec, 5000)) << std::strerror(errno);
}

// Has a child with 8 pages enable `reasons`, unmap its first 4 pages and
// exit; returns the records read then (*end: how the read ended).
std::vector<hmm_mirror_event> UnmapHalfThenExit(uint32_t reasons,
                                                uint64_t* addr, int* end) {
  MirroredChild child(8);
  EXPECT_TRUE(child.ok());
  if (!child.ok()) return {};
  *addr = child.addr();
  EXPECT_EQ(kSuccess, child.SetEvents(reasons));
  EXPECT_EQ(0u, child.Unmap(0, 4 * OsPageSize()));
  EXPECT_EQ(child.Exit(), 0);
  EXPECT_GT(PollFd(child.fd(), POLLIN, kReplyTimeoutMs), 0);
  return DrainEvents(child.fd(), end);
}

TEST_F(ExitEventsTest, QueuedRecordsAreReadBeforeTheRelease) {
  uint64_t a = 0;
  int end = -1;
  std::vector<hmm_mirror_event> ev =
      UnmapHalfThenExit(HMM_MIRROR_EVENT_ALL_REASONS, &a, &end);
  ASSERT_EQ(ev.size(), 2u) << EventsString(ev);
  EXPECT_EQ(ev[0].reason, uint32_t{HMM_MIRROR_EVENT_UNMAP}) << EventsString(ev);
  EXPECT_EQ(ev[0].start, a);
  EXPECT_EQ(ev[0].end, a + 4 * page_);
  EXPECT_EQ(ev[0].pages, 4u);
  EXPECT_EQ(ev[1].reason, uint32_t{HMM_MIRROR_EVENT_RELEASE}) << EventsString(ev);
  EXPECT_EQ(ev[1].seq, ev[0].seq + 1);
  EXPECT_EQ(end, 0) << Errno(end);
}

TEST_F(ExitEventsTest, ReleaseCountsOnlyWhatTheExitTook) {
  // UNMAP is not wanted, so the munmap's invalidation may still wait for
  // the next command when the exit comes (kmod/chunks.c): the RELEASE
  // must not report those pages again.
  uint64_t a = 0;
  int end = -1;
  std::vector<hmm_mirror_event> ev = UnmapHalfThenExit(kReleaseBit, &a, &end);
  ASSERT_EQ(ev.size(), 1u) << EventsString(ev);
  EXPECT_EQ(ev[0].reason, uint32_t{HMM_MIRROR_EVENT_RELEASE}) << EventString(ev[0]);
  EXPECT_EQ(ev[0].pages, 4u) << EventString(ev[0]);
  EXPECT_EQ(ev[0].start, a + 4 * page_) << EventString(ev[0]);
  EXPECT_EQ(ev[0].end, a + 8 * page_) << EventString(ev[0]);
  EXPECT_EQ(end, 0) << Errno(end);
}

TEST_F(ExitEventsTest, ReleaseIsGeneratedOnceForSeveralChunks) {
  MirroredChild child(8, /*two_chunks=*/true);
  ASSERT_TRUE(child.ok());
  ASSERT_EQ(kSuccess, child.SetEvents(HMM_MIRROR_EVENT_ALL_REASONS));
  ASSERT_EQ(child.Exit(), 0);
  ASSERT_GT(PollFd(child.fd(), POLLIN, kReplyTimeoutMs), 0);
  std::vector<hmm_mirror_event> ev = DrainEvents(child.fd());
  const std::vector<hmm_mirror_event> rel = OfReason(ev, HMM_MIRROR_EVENT_RELEASE);
  ASSERT_EQ(rel.size(), 1u) << EventsString(ev);
  EXPECT_EQ(ev.size(), 1u) << "only the RELEASE: " << EventsString(ev);
  EXPECT_EQ(rel[0].pages, 8u) << "both chunks' pages: " << EventString(rel[0]);
}

TEST_F(ExitEventsTest, BlockedReaderWakesUpAtExit) {
  MirroredChild child(4);
  ASSERT_TRUE(child.ok());
  ASSERT_EQ(kSuccess, child.SetEvents(kReleaseBit));
  std::thread exiter([&] {
    usleep(100000);
    child.Exit();
  });
  hmm_mirror_event e;
  std::memset(&e, 0, sizeof(e));
  const ssize_t n = ReadWithin(child.fd(), &e, kRec, 10000);
  const int err = errno;
  exiter.join();
  ASSERT_EQ(n, static_cast<ssize_t>(kRec)) << std::strerror(err);
  EXPECT_EQ(e.reason, uint32_t{HMM_MIRROR_EVENT_RELEASE}) << EventString(e);
  EXPECT_EQ(0, ReadWithin(child.fd(), &e, kRec, 5000)) << std::strerror(errno);
}

TEST_F(ExitEventsTest, PollWakesUpAtExit) {
  MirroredChild child(4);
  ASSERT_TRUE(child.ok());
  ASSERT_EQ(kSuccess, child.SetEvents(kUnmapBit));
  std::thread exiter([&] {
    usleep(100000);
    child.Exit();
  });
  const int rev = PollFd(child.fd(), POLLIN, kReplyTimeoutMs);
  exiter.join();
  EXPECT_TRUE(rev > 0 && (rev & POLLHUP)) << "revents " << rev;
}

// The brief's case: a mirror ATTACHed to a child that exits.
TEST_F(ExitEventsTest, ClosingOnTheReleaseWhileTheProcessStillExitsIsSafe) {
  // How a watcher uses a mirror attached to another process: it closes the
  // fd as soon as it reads RELEASE.  The exit goes on unmapping after the
  // release, and each unmap that reaches an emptied chunk may arm the
  // garbage-collection timer, so the last close races with those
  // callbacks.  A timer left armed on a freed mirror is a use-after-free
  // that the debug kernel's KASAN reports (make test-debug fails on it).
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_ATTACH);
  for (int round = 0; round < 12 && !HasFailure(); ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    TargetProcess t(64 * page_, 3);
    ASSERT_TRUE(t.ok());
    Mirror m;
    ASSERT_TRUE(m.Open().empty());
    const int pidfd = PidfdOpen(t.pid());
    ASSERT_GE(pidfd, 0);
    ASSERT_EQ(kSuccess, m.Attach(pidfd));
    close(pidfd);
    ASSERT_EQ(kSuccess, m.SetEvents(ReasonBit(HMM_MIRROR_EVENT_RELEASE)));
    ASSERT_EQ(kSuccess, m.Fault(t.addr(), 64 * page_, HMM_MIRROR_FAULT_WRITE));
    ASSERT_TRUE(t.remote().Send({TargetProcess::kExit}));
    ASSERT_GT(PollFd(m.fd(), POLLIN, kReplyTimeoutMs), 0);
    m.Close();
    EXPECT_EQ(t.remote().Reap(), 0);
  }
  // Past the grace period of every mirror closed above.
  usleep(300000);
  Mirror after;
  EXPECT_TRUE(after.Open().empty()) << "the module still works";
}

// Binds @m to process @pid's address space and asks for every event.
void AttachWithEvents(const Mirror& m, pid_t pid) {
  const int pidfd = PidfdOpen(pid);
  ASSERT_GE(pidfd, 0) << std::strerror(errno);
  ASSERT_EQ(kSuccess, m.Attach(pidfd));
  close(pidfd);
  ASSERT_EQ(kSuccess, m.SetEvents(HMM_MIRROR_EVENT_ALL_REASONS));
}

TEST_F(ExitEventsTest, AttachedChildExits) {
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_ATTACH);
  TargetProcess t(4 * page_, 2);
  ASSERT_TRUE(t.ok());
  ASSERT_NO_FATAL_FAILURE(AttachWithEvents(dev_, t.pid()));
  ASSERT_EQ(kSuccess, dev_.Fault(t.addr(), 4 * page_, HMM_MIRROR_FAULT_WRITE));
  ASSERT_EQ(t.Exit(), 0);
  ASSERT_GT(PollFd(dev_.fd(), POLLIN, kReplyTimeoutMs), 0);
  int end = -1;
  std::vector<hmm_mirror_event> ev = DrainEvents(dev_.fd(), &end);
  ASSERT_EQ(ev.size(), 1u) << EventsString(ev);
  EXPECT_EQ(ev[0].reason, uint32_t{HMM_MIRROR_EVENT_RELEASE});
  EXPECT_EQ(end, 0) << Errno(end);
  std::vector<uint32_t> q;
  EXPECT_EQ(Errno(ESRCH), dev_.Query(t.addr(), 4 * page_, &q));
  Mapping buf(4 * page_);
  EXPECT_EQ(Errno(ESRCH), dev_.Read(t.addr(), 4 * page_, buf.data()));
  // The caller's own memory is not the mirror's any more either.
  Mapping mine(page_);
  EXPECT_EQ(Errno(ESRCH), dev_.Fault(mine.addr(), page_));
}

// After the attached process's address space went: exactly one RELEASE
// record, end of file, POLLHUP, and ESRCH for the commands that need an
// address space, whatever the caller passes.
void ExpectReleasedAfterExit(const Mirror& dev, uint64_t addr, uint64_t len) {
  const int rev = PollFd(dev.fd(), POLLIN, kReplyTimeoutMs);
  EXPECT_TRUE(rev > 0 && (rev & POLLHUP)) << "revents " << rev;
  int end = -1;
  std::vector<hmm_mirror_event> ev = DrainEvents(dev.fd(), &end);
  ASSERT_EQ(OfReason(ev, HMM_MIRROR_EVENT_RELEASE).size(), 1u)
      << EventsString(ev);
  EXPECT_EQ(ev.back().reason, uint32_t{HMM_MIRROR_EVENT_RELEASE})
      << "RELEASE is the last record: " << EventsString(ev);
  EXPECT_EQ(end, 0) << "then end of file, not " << Errno(end);
  std::vector<uint32_t> q;
  EXPECT_EQ(Errno(ESRCH), dev.Query(addr, len, &q));
  EXPECT_EQ(Errno(ESRCH), dev.Snapshot(addr, len, &q));
  Mapping buf(len);
  EXPECT_EQ(Errno(ESRCH), dev.Read(addr, len, buf.data()));
  EXPECT_EQ(Errno(ESRCH), dev.Write(addr, len, buf.data()));
  EXPECT_EQ(Errno(ESRCH), dev.Fault(addr, len));
}

TEST_F(ExitEventsTest, AttachedChildKilledWhileTheDeviceMapsNothing) {
  // Only the exit notifier sees this exit: no chunk has one.
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_ATTACH);
  TargetProcess t(4 * page_, 4);
  ASSERT_TRUE(t.ok());
  ASSERT_NO_FATAL_FAILURE(AttachWithEvents(dev_, t.pid()));
  ASSERT_EQ(0, kill(t.pid(), SIGKILL));
  EXPECT_EQ(t.Reap(), 128 + SIGKILL);
  ExpectReleasedAfterExit(dev_, t.addr(), 4 * page_);
}

TEST_F(ExitEventsTest, AttachedChildExecs) {
  // exec() gives the process a new address space: the mirrored one is
  // gone, as at exit.  The mirror does not follow the process.
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_ATTACH);
  const uint64_t len = 4 * page_;
  Remote r([len](int sock) {
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 2;
    FillPattern(p, len, 5);
    if (!SendWords(sock, {U64(p)})) return 3;
    uint64_t go;
    if (RecvWords(sock, &go, 1) != 1) return 4;
    execl("/bin/sleep", "sleep", "60", static_cast<char*>(nullptr));
    return 5;
  });
  uint64_t addr = 0;
  ASSERT_TRUE(r.Recv(&addr, 1));
  const int pidfd = PidfdOpen(r.pid());
  ASSERT_GE(pidfd, 0);
  ASSERT_EQ(kSuccess, dev_.Attach(pidfd));
  ASSERT_EQ(kSuccess, dev_.SetEvents(HMM_MIRROR_EVENT_ALL_REASONS));
  ASSERT_EQ(kSuccess, dev_.Fault(addr, len, HMM_MIRROR_FAULT_WRITE));
  ASSERT_TRUE(r.Send({1}));
  ExpectReleasedAfterExit(dev_, addr, len);
  // ATTACH to the process again binds the new address space.
  EXPECT_EQ(kSuccess, dev_.Attach(pidfd));
  std::vector<uint32_t> q;
  EXPECT_EQ(kSuccess, dev_.Query(addr, len, &q)) << "bound again";
  close(pidfd);
  kill(r.pid(), SIGKILL);
  r.Reap();
}

TEST_F(ExitEventsTest, AttachedChildExitsWhileCommandsAreInFlight) {
  // Commands racing the exit either finish on the whole address space (a
  // command holds it while it walks, so the exit waits for it to let go)
  // or fail with ESRCH; never EFAULT or anything else.  Then the
  // contract after exit holds.
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_ATTACH);
  for (int round = 0; round < 6 && !HasFailure(); ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const uint64_t len = 256 * page_;
    TargetProcess t(len, 6);
    ASSERT_TRUE(t.ok());
    Mirror m;
    ASSERT_TRUE(m.Open().empty());
    ASSERT_NO_FATAL_FAILURE(AttachWithEvents(m, t.pid()));
    std::atomic<bool> stop{false};
    std::atomic<int> unexpected{0}, last_unexpected{0};
    std::vector<std::thread> threads;
    for (int k = 0; k < 3; ++k) {
      threads.emplace_back([&, k] {
        Mapping buf(len);
        std::vector<uint32_t> q;
        while (!stop.load()) {
          Errno rc;
          if (k == 0)
            rc = m.Read(t.addr(), len, buf.data());
          else if (k == 1)
            rc = m.Snapshot(t.addr(), len, &q);
          else
            rc = m.Fault(t.addr(), len, HMM_MIRROR_FAULT_WRITE);
          if (rc == Errno(ESRCH)) break;
          if (rc != kSuccess) {
            ++unexpected;
            last_unexpected = rc.value();
          }
        }
      });
    }
    usleep(20000 * (round + 1));
    if (round % 2)
      kill(t.pid(), SIGKILL);
    else
      t.remote().Send({TargetProcess::kExit});
    t.Reap();
    ExpectReleasedAfterExit(m, t.addr(), len);
    stop = true;
    for (std::thread& th : threads) th.join();
    EXPECT_EQ(unexpected.load(), 0)
        << "last unexpected answer " << Errno(last_unexpected.load());
  }
}

}  // namespace
}  // namespace hmm_conformance
