// SPDX-License-Identifier: MIT
//
// lib_attach_vm_test.cc - hmm_mirror_attach_pid() and hmm_mirror_attach_pidfd():
// mirroring another process, and every documented refusal.

#include <fcntl.h>
#include <grp.h>
#include <sys/syscall.h>

#include "vm_test.h"

namespace libhmm_vm {
namespace {

class AttachTest : public LibTest {
 protected:
  void SetUp() override {
    LibTest::SetUp();
    if (HasFatalFailure()) return;
    REQUIRE_FEATURE(m_, HMM_MIRROR_FEAT_ATTACH);
  }
};

TEST_F(AttachTest, ByPidMirrorsTheTarget) {
  Target t(4, 0x5c);
  ASSERT_EQ(hmm_mirror_attach_pid(m_, t.pid()), 0) << LastError();
  std::vector<uint32_t> states(4);
  ASSERT_EQ(hmm_mirror_snapshot(m_, t.addr(), t.size(), states.data(), 4), 0) << LastError();
  for (uint32_t s : states) EXPECT_TRUE(s & HMM_MIRROR_PAGE_VALID);
  std::vector<uint8_t> buf(t.size());
  ASSERT_EQ(hmm_mirror_read(m_, t.addr(), buf.data(), buf.size(), nullptr), 0) << LastError();
  EXPECT_EQ(buf[0], 0x5c);
  EXPECT_EQ(buf.back(), 0x5c);
  // Writes land in the target: read them back through the device.
  std::memset(buf.data(), 0x7e, page_);
  ASSERT_EQ(hmm_mirror_write(m_, t.addr(), buf.data(), page_, nullptr), 0) << LastError();
  std::vector<uint8_t> back(page_);
  ASSERT_EQ(hmm_mirror_read(m_, t.addr(), back.data(), page_, nullptr), 0);
  EXPECT_EQ(back[100], 0x7e);
}

TEST_F(AttachTest, ByPidfd) {
  Target t(2, 0x33);
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, t.pid(), 0));
  ASSERT_GE(pidfd, 0);
  ASSERT_EQ(hmm_mirror_attach_pidfd(m_, pidfd), 0) << LastError();
  // The library leaves the caller's pidfd open.
  EXPECT_NE(fcntl(pidfd, F_GETFD), -1);
  close(pidfd);
  uint8_t byte[4096];
  ASSERT_EQ(hmm_mirror_read(m_, t.addr(), byte, page_, nullptr), 0) << LastError();
  EXPECT_EQ(byte[0], 0x33);
}

TEST_F(AttachTest, ErrorsNameTheAttachedPid) {
  Target t(1, 0);
  ASSERT_EQ(hmm_mirror_attach_pid(m_, t.pid()), 0) << LastError();
  EXPECT_EQ(hmm_mirror_fault(m_, page_ * 16, page_, 0, nullptr, nullptr), -EFAULT);
  EXPECT_NE(LastError().find("on pid " + std::to_string(t.pid())), std::string::npos)
      << LastError();
}

TEST_F(AttachTest, GoneProcessIsEsrch) {
  int pid;
  {
    Target t(1, 0);
    pid = t.pid();
  }  // reaped
  EXPECT_EQ(hmm_mirror_attach_pid(m_, pid), -ESRCH);
  EXPECT_NE(LastError().find("ESRCH"), std::string::npos) << LastError();
}

TEST_F(AttachTest, NotAPidfdIsEbadf) {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(hmm_mirror_attach_pidfd(m_, fd), -EBADF);
  EXPECT_NE(LastError().find("not an open pidfd"), std::string::npos) << LastError();
  close(fd);
}

TEST_F(AttachTest, WhileMappingPagesIsEbusy) {
  // The target first: its fork write-protects this process's pages, which
  // would clear the device entries.
  Target t(1, 0);
  Region r(2);
  ASSERT_EQ(hmm_mirror_fault(m_, r.addr(), r.size(), 0, nullptr, nullptr), 0);
  EXPECT_EQ(hmm_mirror_attach_pid(m_, t.pid()), -EBUSY);
  EXPECT_NE(LastError().find("already maps pages"), std::string::npos) << LastError();
}

TEST_F(AttachTest, WithoutPtraceRightsIsEperm) {
  // A child keeps the open handle but becomes nobody, then tries to attach
  // to this (root's) process.
  pid_t parent = getpid();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (setgroups(0, nullptr) || setresgid(65534, 65534, 65534) ||
        setresuid(65534, 65534, 65534))
      _exit(2);
    if (hmm_mirror_attach_pid(m_, parent) != -EPERM) _exit(3);
    if (std::string(hmm_mirror_last_error()).find("may not ptrace") == std::string::npos)
      _exit(4);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "2: cannot become nobody, 3: not EPERM, 4: message does not explain ptrace";
}

}  // namespace
}  // namespace libhmm_vm
