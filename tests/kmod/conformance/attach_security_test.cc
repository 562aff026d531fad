// SPDX-License-Identifier: MIT
//
// attach_security_test.cc - ATTACH against hostile input (abi/README.md,
// "ATTACH"): files that only look like pidfds, a ptrace check redirected by
// a mount namespace, and callers in a child pid namespace.  Each was a
// kernel bug once: a use-after-free through a FIFO named "[pidfd]", an
// ATTACH granted through /proc/PID/mem planted as a symlink to
// /proc/PID/environ, and a task_struct reference leaked per ESRCH.  A
// kernel report (refcount warning, Oops, KASAN) fails the VM run even when
// the test's own assertions pass.

#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "process_util.h"

namespace hmm_conformance {
namespace {

using AttachSecurityTest = FeatureTest<HMM_MIRROR_FEAT_ATTACH>;

// pidfs' magic (linux/magic.h, 6.9+), spelled here for older headers.
constexpr long kPidFsMagic = 0x50494446;

// A directory under /tmp, removed (with what the test left in it) at the end.
class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/hmm-mirror-XXXXXX";
    if (mkdtemp(name) != nullptr) path_ = name;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    if (!path_.empty())
      (void)!system(("rm -rf '" + path_ + "'").c_str());
  }
  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const {
    return path_ + "/" + name;
  }

 private:
  std::string path_;
};

// Writes and reads back through a pipe: the pipe still works, so nothing
// corrupted it.
::testing::AssertionResult PipeStillWorks(int wfd, int rfd) {
  char out[512], in[512];
  for (int round = 0; round < 16; ++round) {
    std::memset(out, 'a' + round, sizeof(out));
    if (write(wfd, out, sizeof(out)) != static_cast<ssize_t>(sizeof(out)))
      return ::testing::AssertionFailure() << "write: " << std::strerror(errno);
    if (read(rfd, in, sizeof(in)) != static_cast<ssize_t>(sizeof(in)))
      return ::testing::AssertionFailure() << "read: " << std::strerror(errno);
    if (std::memcmp(in, out, sizeof(in)) != 0)
      return ::testing::AssertionFailure() << "data changed in round " << round;
  }
  return ::testing::AssertionSuccess();
}

TEST_F(AttachSecurityTest, AFifoNamedLikeAPidfdIsEbadfAndUntouched) {
  // The reported use-after-free: a FIFO named "[pidfd]", opened read-write
  // and non-blocking, then written to after the ATTACH.
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string path = dir / "[pidfd]";
  ASSERT_EQ(0, mkfifo(path.c_str(), 0600)) << std::strerror(errno);
  for (int round = 0; round < 8; ++round) {
    const int fd = open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    EXPECT_EQ(Errno(EBADF), dev_.Attach(fd)) << "round " << round;
    EXPECT_TRUE(PipeStillWorks(fd, fd));
    close(fd);
  }
}

TEST_F(AttachSecurityTest, OtherFilesNamedLikeAPidfdAreEbadf) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string path = dir / "[pidfd]";

  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_EQ(5, write(fd, "hello", 5));
  EXPECT_EQ(Errno(EBADF), dev_.Attach(fd)) << "a regular file";
  char back[5];
  EXPECT_EQ(5, pread(fd, back, 5, 0));
  EXPECT_EQ(0, std::memcmp(back, "hello", 5));
  close(fd);
  ASSERT_EQ(0, unlink(path.c_str()));

  ASSERT_EQ(0, mkdir(path.c_str(), 0700));
  fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(Errno(EBADF), dev_.Attach(fd)) << "a directory";
  close(fd);
  ASSERT_EQ(0, rmdir(path.c_str()));

  ASSERT_EQ(0, symlink("/dev/null", path.c_str()));
  fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(Errno(EBADF), dev_.Attach(fd)) << "a symlink to /dev/null";
  close(fd);
  ASSERT_EQ(0, unlink(path.c_str()));

  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  struct sockaddr_un sun = {};
  sun.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof(sun.sun_path));
  std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(0, bind(fd, reinterpret_cast<struct sockaddr*>(&sun), sizeof(sun)));
  EXPECT_EQ(Errno(EBADF), dev_.Attach(fd)) << "a unix socket bound there";
  close(fd);

  fd = memfd_create("[pidfd]", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(Errno(EBADF), dev_.Attach(fd)) << "a memfd named [pidfd]";
  close(fd);
}

TEST_F(AttachSecurityTest, OtherAnonymousInodeFilesAreEbadf) {
  // pidfds were anonymous-inode files before pidfs: so are these, with
  // other names and other private data.
  int fd = eventfd(0, EFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(Errno(EBADF), dev_.Attach(fd)) << "an eventfd";
  close(fd);
  fd = epoll_create1(EPOLL_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(Errno(EBADF), dev_.Attach(fd)) << "an epoll fd";
  close(fd);
}

TEST_F(AttachSecurityTest, APidfdReopenedThroughProcIsNotTakenForItsPid) {
  // Opening /proc/self/fd/N of a pidfd gives a file on the same inode (and,
  // before pidfs, the same "[pidfd]" dentry) that the kernel did not make
  // as a pidfd.  Before pidfs it has no struct pid: EBADF.  On pidfs the
  // inode is the process's, so it is that process's pidfd.
  const int pidfd = PidfdOpen(getpid());
  ASSERT_GE(pidfd, 0) << std::strerror(errno);
  struct statfs sfs;
  ASSERT_EQ(0, fstatfs(pidfd, &sfs));
  const bool pidfs = sfs.f_type == kPidFsMagic;
  RecordProperty("pidfs", pidfs ? 1 : 0);
  const std::string link = "/proc/self/fd/" + std::to_string(pidfd);

  const int path_fd = open(link.c_str(), O_PATH | O_CLOEXEC);
  if (path_fd >= 0) {
    EXPECT_EQ(Errno(EBADF), dev_.Attach(path_fd)) << "an O_PATH fd";
    close(path_fd);
  }
  const int again = open(link.c_str(), O_RDONLY | O_CLOEXEC);
  if (again >= 0) {
    if (pidfs)
      EXPECT_EQ(kSuccess, dev_.Attach(again)) << "reopened on pidfs";
    else
      EXPECT_EQ(Errno(EBADF), dev_.Attach(again)) << "reopened anon inode";
    close(again);
  } else {
    RecordProperty("reopen_errno", errno);
  }
  // The real pidfd still works, and the mirror mirrors this process.
  ASSERT_EQ(kSuccess, dev_.Attach(pidfd));
  close(pidfd);
  Mapping m(page_);
  FillPattern(m.data(), page_, 3);
  Mapping buf(page_);
  ASSERT_EQ(kSuccess, dev_.Read(m.addr(), page_, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), page_, 3, m.addr()));
}

// --- The ptrace check cannot be redirected --------------------------------

// Sets Yama's ptrace_scope for the test's lifetime.
class YamaScopeSetting {
 public:
  static constexpr char kPath[] = "/proc/sys/kernel/yama/ptrace_scope";
  explicit YamaScopeSetting(int scope) {
    std::ifstream in(kPath);
    if (!(in >> old_)) return;
    ok_ = Write(scope);
  }
  YamaScopeSetting(const YamaScopeSetting&) = delete;
  YamaScopeSetting& operator=(const YamaScopeSetting&) = delete;
  ~YamaScopeSetting() {
    if (ok_) Write(old_);
  }
  bool ok() const { return ok_; }

 private:
  static bool Write(int v) {
    std::ofstream out(kPath);
    out << v << "\n";
    out.flush();
    return static_cast<bool>(out);
  }
  int old_ = -1;
  bool ok_ = false;
};

// A process running as nobody, dumpable, holding a page of pattern 21 at
// the address it reports; it exits when its socket closes.
int SecretHolder(int sock, uint64_t len) {
  if (!DropToNobody()) return 2;
  if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) return 3;
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 4;
  FillPattern(p, len, 21);
  if (!SendWords(sock, {U64(p)})) return 5;
  uint64_t w;
  RecvWords(sock, &w, 1);  // until the socket closes
  return 0;
}

// What the redirecting caller reports.
enum RedirectWord {
  kRedirOpenErrno,  // its own open of /proc/PID/mem (the planted symlink)
  kRedirVmRead,     // process_vm_readv errno: the kernel's rule
  kRedirAttach,     // ATTACH errno
  kRedirReadOk,     // 1 if ATTACH worked and READ returned the secret
  kRedirWords
};

// In a new mount namespace, as root: a tmpfs over /proc with PID/mem a
// symlink to a real proc's PID/environ (PTRACE_MODE_READ only); then as
// nobody, ATTACH to @target.  Exit code != 0: the setup failed.
int RedirectingCaller(int sock, pid_t target, uint64_t addr,
                      const std::string& realproc) {
  Mirror mine;
  if (!mine.Open().empty()) return 10;
  const int pidfd = PidfdOpen(target);
  if (pidfd < 0) return 11;
  if (unshare(CLONE_NEWNS) != 0) return 12;
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return 13;
  if (mount("proc", realproc.c_str(), "proc", 0, nullptr) != 0) return 14;
  if (mount("tmpfs", "/proc", "tmpfs", 0, "mode=0755") != 0) return 15;
  const std::string piddir = "/proc/" + std::to_string(target);
  if (mkdir(piddir.c_str(), 0755) != 0) return 16;
  const std::string environ =
      realproc + "/" + std::to_string(target) + "/environ";
  if (symlink(environ.c_str(), (piddir + "/mem").c_str()) != 0) return 17;
  if (!DropToNobody()) return 18;

  uint64_t w[kRedirWords] = {};
  const int fd = open((piddir + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  w[kRedirOpenErrno] = fd >= 0 ? 0 : static_cast<uint64_t>(errno);
  if (fd >= 0) close(fd);
  w[kRedirVmRead] = static_cast<uint64_t>(VmReadErrno(target, addr));
  const Errno rc = mine.Attach(pidfd);
  w[kRedirAttach] = static_cast<uint64_t>(rc.value());
  if (rc == kSuccess) {
    std::vector<uint8_t> buf(4096);
    w[kRedirReadOk] = mine.Read(addr, buf.size(), buf.data()) == kSuccess &&
                      HasPatternAs(buf.data(), buf.size(), 21, addr);
  }
  return SendWords(sock, w, kRedirWords) ? 0 : 19;
}

class AttachRedirectTest : public AttachSecurityTest,
                           public ::testing::WithParamInterface<int> {};

TEST_P(AttachRedirectTest, ASymlinkedProcMemDoesNotDecideAccess) {
  // Caller and target are sibling processes of nobody: Yama's scope 1 and
  // 2 refuse PTRACE_MODE_ATTACH between them, but not the
  // PTRACE_MODE_READ that opening environ needs; scope 0 allows both.
  // ATTACH must follow the kernel's rule (process_vm_readv), whatever the
  // caller's mount namespace puts at /proc/PID/mem.
  const int scope = GetParam();
  YamaScopeSetting yama(scope);
  if (!yama.ok()) GTEST_SKIP() << "no Yama (or it cannot be set) here";
  TempDir realproc;
  ASSERT_TRUE(realproc.ok());
  const uint64_t len = page_;
  Remote holder([len](int sock) { return SecretHolder(sock, len); });
  uint64_t addr = 0;
  ASSERT_TRUE(holder.Recv(&addr, 1)) << "holder exit " << holder.Reap();
  const pid_t target = holder.pid();
  const std::string dir = realproc.path();
  Remote caller([target, addr, dir](int sock) {
    return RedirectingCaller(sock, target, addr, dir);
  });
  uint64_t w[kRedirWords];
  ASSERT_TRUE(caller.Recv(w, kRedirWords)) << "caller exit " << caller.Reap();
  // The attack is in place: the caller opens "mem" and gets environ.
  ASSERT_EQ(w[kRedirOpenErrno], 0u) << std::strerror(w[kRedirOpenErrno]);
  if (scope == 0) {
    ASSERT_EQ(w[kRedirVmRead], 0u) << std::strerror(w[kRedirVmRead]);
    EXPECT_EQ(Errno(static_cast<int>(w[kRedirAttach])), kSuccess);
    EXPECT_EQ(w[kRedirReadOk], 1u);
  } else {
    ASSERT_EQ(w[kRedirVmRead], uint64_t{EPERM});
    EXPECT_EQ(Errno(static_cast<int>(w[kRedirAttach])), Errno(EPERM))
        << "the redirected check granted ATTACH";
    EXPECT_EQ(w[kRedirReadOk], 0u) << "the secret was read";
  }
  EXPECT_EQ(caller.Reap(), 0);
}

INSTANTIATE_TEST_SUITE_P(YamaScope, AttachRedirectTest,
                         ::testing::Values(0, 1, 2),
                         [](const ::testing::TestParamInfo<int>& i) {
                           return "Scope" + std::to_string(i.param);
                         });

// --- A caller in a child pid namespace -------------------------------------

// task_struct objects in use (/proc/slabinfo), or -1.  Shrinking the
// cache first returns what KASAN's quarantine holds back (on the debug
// kernel freed objects wait there and still count as in use).
long TaskStructs() {
  {
    std::ofstream shrink("/sys/kernel/slab/task_struct/shrink");
    shrink << "1\n";
  }
  std::ifstream f("/proc/slabinfo");
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string name;
    long active;
    if (in >> name >> active && name == "task_struct") return active;
  }
  return -1;
}

TEST_F(AttachSecurityTest, AttachFromAChildPidNamespaceIsEsrchAndLeaksNoTask) {
  // Processes of this namespace have no number in a child namespace, so an
  // ATTACH from there is ESRCH, as pidfd_open() would be; it must not keep
  // a reference on the target's task_struct.  Each round's target exits,
  // so every leaked reference would be a task_struct that never goes.
  if (TaskStructs() < 0) GTEST_SKIP() << "no task_struct line in /proc/slabinfo";
  constexpr int kRounds = 200;
  Remote ns([](int sock) {
    if (unshare(CLONE_NEWPID) != 0) return 2;
    const pid_t init = fork();
    if (init < 0) return 3;
    if (init == 0) {
      Mirror mine;
      if (!mine.Open().empty()) _exit(4);
      for (;;) {
        uint64_t word;
        const int fd = TakeFd(sock, &word, -1);
        if (fd < 0) _exit(0);
        const uint64_t rc = static_cast<uint64_t>(mine.Attach(fd).value());
        close(fd);
        if (!SendWords(sock, {rc})) _exit(5);
      }
    }
    return WaitExitCode(init);
  });
  auto one_round = [&](uint64_t* rc) {
    Child t([] { return 0; });  // exits at Wait()
    const int pidfd = PidfdOpen(t.pid());
    const bool ok = pidfd >= 0 && PassFd(ns.sock(), pidfd, 0) &&
                    ns.Recv(rc, 1);
    if (pidfd >= 0) close(pidfd);
    t.Wait();
    return ok;
  };
  uint64_t rc = 0;
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(one_round(&rc));  // warm the slab
  const long before = TaskStructs();
  int esrch = 0;
  for (int i = 0; i < kRounds; ++i) {
    ASSERT_TRUE(one_round(&rc)) << "round " << i;
    esrch += rc == ESRCH;
  }
  EXPECT_EQ(esrch, kRounds) << "last answer " << Errno(static_cast<int>(rc));
  ns.CloseSocket();
  EXPECT_EQ(ns.Reap(), 0);
  // Freed task_structs go after an RCU grace period.
  long after = TaskStructs();
  EXPECT_TRUE(WaitFor([&] { return (after = TaskStructs()) < before + kRounds / 2; },
                      20000))
      << "task_struct objects: " << before << " before, " << after << " after "
      << kRounds << " ATTACHes";
}

}  // namespace
}  // namespace hmm_conformance
