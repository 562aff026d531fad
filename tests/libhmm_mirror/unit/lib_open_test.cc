// SPDX-License-Identifier: MIT
//
// lib_open_test.cc - opening, the handshake and closing, without a device.

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit_test.h"

namespace {

TEST(OpenTest, MissingNodeSaysTheModuleIsNotLoaded) {
  struct hmm_mirror* m = reinterpret_cast<struct hmm_mirror*>(1);
  EXPECT_EQ(hmm_mirror_open_path("/nonexistent/hmm_mirror", &m), -ENOENT);
  EXPECT_EQ(m, nullptr);
  std::string msg = hmm_mirror_last_error();
  EXPECT_NE(msg.find("hmm_mirror_open(\"/nonexistent/hmm_mirror\")"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ENOENT"), std::string::npos) << msg;
  EXPECT_NE(msg.find("hmm_mirror.ko"), std::string::npos) << msg;
}

TEST(OpenTest, NullArguments) {
  struct hmm_mirror* m = nullptr;
  EXPECT_EQ(hmm_mirror_open(nullptr), -EINVAL);
  EXPECT_EQ(hmm_mirror_open_path(nullptr, &m), -EINVAL);
  EXPECT_NE(std::string(hmm_mirror_last_error()).find("path is NULL"), std::string::npos);
  EXPECT_EQ(hmm_mirror_open_path("/dev/null", nullptr), -EINVAL);
}

TEST(OpenTest, NotAnHmmMirrorDevice) {
  // /dev/null exists but answers ENOTTY to the handshake.
  struct hmm_mirror* m = nullptr;
  EXPECT_EQ(hmm_mirror_open_path("/dev/null", &m), -ENOTTY);
  EXPECT_EQ(m, nullptr);
  EXPECT_NE(std::string(hmm_mirror_last_error()).find("not an hmm_mirror device"),
            std::string::npos) << hmm_mirror_last_error();
}

TEST(OpenTest, PermissionDeniedExplainsTheGroup) {
  // A node the caller may not open; root gives up its privileges in a child
  // (as user nobody) so the test means the same for everyone.
  char path[] = "/tmp/hmm_mirror_perm.XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  ASSERT_EQ(chmod(path, 0), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (geteuid() == 0 && (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 ||
                           setresuid(65534, 65534, 65534) != 0))
      _exit(2);
    struct hmm_mirror* m = nullptr;
    if (hmm_mirror_open_path(path, &m) != -EACCES) _exit(3);
    if (std::string(hmm_mirror_last_error()).find("group hmm_mirror") == std::string::npos)
      _exit(4);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  unlink(path);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "2: cannot become nobody, 3: not EACCES, 4: message does not name the group";
}

class HandshakeTest : public FakeDeviceTest {};

TEST_F(HandshakeTest, OpenKeepsTheAnswer) {
  EXPECT_EQ(hmm_mirror_features(m_), (1ULL << 15) - 1);
  EXPECT_EQ(hmm_mirror_page_size(m_), 4096u);
  EXPECT_GE(hmm_mirror_fd(m_), 0);
  int flags = fcntl(hmm_mirror_fd(m_), F_GETFL);
  EXPECT_TRUE(flags & O_NONBLOCK);
  EXPECT_TRUE(fcntl(hmm_mirror_fd(m_), F_GETFD) & FD_CLOEXEC);
}

TEST_F(HandshakeTest, OpenSendsTheHeadersVersion) {
  struct hmm_mirror* m = nullptr;
  ASSERT_EQ(hmm_mirror_open_path(fake.path, &m), 0);
  auto hs = LastArg<struct hmm_mirror_handshake>(HMM_MIRROR_NR_HANDSHAKE);
  EXPECT_EQ(hs.size, sizeof(struct hmm_mirror_handshake));
  EXPECT_EQ(hs.abi_version, 5u);
  EXPECT_EQ(hs.flags, 0u);
  EXPECT_EQ(hs.reserved, 0u);
  hmm_mirror_close(m);
}

TEST_F(HandshakeTest, HandshakeFillsInfo) {
  struct hmm_mirror_info info;
  hmm_mirror_info_init(&info);
  ASSERT_EQ(hmm_mirror_handshake(m_, &info), 0) << LastError();
  EXPECT_EQ(info.size, sizeof(info));
  EXPECT_EQ(info.abi_version, 5u);
  EXPECT_EQ(info.lib_abi_version, 5u);
  EXPECT_EQ(info.page_shift, 12u);
  EXPECT_EQ(info.features, (1ULL << 15) - 1);
  EXPECT_EQ(info.ioctls, (1ULL << HMM_MIRROR_NR_COMMANDS) - 1);
  EXPECT_EQ(fake.calls[HMM_MIRROR_NR_HANDSHAKE], 1u);
}

TEST_F(HandshakeTest, SmallInfoIsRejectedBeforeTheDevice) {
  struct hmm_mirror_info info;
  hmm_mirror_info_init(&info);
  info.size = HMM_MIRROR_INFO_SIZE_VER1 - 8;
  EXPECT_REJECTED(hmm_mirror_handshake(m_, &info), EINVAL,
                  "hmm_mirror_handshake", "hmm_mirror_info_init");
  EXPECT_REJECTED(hmm_mirror_handshake(m_, nullptr), EINVAL,
                  "hmm_mirror_handshake", "info is NULL");
}

TEST_F(HandshakeTest, ALargerInfoKeepsItsTail) {
  // A program built against a newer header passes a bigger struct: the
  // library fills what it knows and leaves the rest alone.
  struct {
    struct hmm_mirror_info info;
    uint64_t newer_field;
  } big;
  std::memset(&big, 0, sizeof(big));
  big.info.size = sizeof(big);
  big.newer_field = 0x1234;
  ASSERT_EQ(hmm_mirror_handshake(m_, &big.info), 0) << LastError();
  EXPECT_EQ(big.info.size, sizeof(big));
  EXPECT_EQ(big.info.page_shift, 12u);
  EXPECT_EQ(big.newer_field, 0x1234u);
}

TEST_F(HandshakeTest, PageSizeMismatchIsEproto) {
  fake.page_shift = 16;
  struct hmm_mirror* m = nullptr;
  EXPECT_EQ(hmm_mirror_open_path(fake.path, &m), -EPROTO);
  EXPECT_EQ(m, nullptr);
  EXPECT_NE(LastError().find("page_shift 16"), std::string::npos) << LastError();
}

TEST_F(HandshakeTest, HandshakeErrorIsReported) {
  fake.fail_errno[HMM_MIRROR_NR_HANDSHAKE] = EINVAL;
  struct hmm_mirror* m = nullptr;
  EXPECT_EQ(hmm_mirror_open_path(fake.path, &m), -EINVAL);
  EXPECT_EQ(m, nullptr);
  EXPECT_NE(LastError().find("rejected a version-1 handshake"), std::string::npos)
      << LastError();
}

TEST(CloseTest, NullIsIgnored) {
  hmm_mirror_close(nullptr);
  EXPECT_EQ(hmm_mirror_fd(nullptr), -EINVAL);
  EXPECT_EQ(hmm_mirror_features(nullptr), 0u);
  EXPECT_EQ(hmm_mirror_page_size(nullptr), 0u);
}

TEST_F(HandshakeTest, CloseClosesTheDescriptor) {
  struct hmm_mirror* m = nullptr;
  ASSERT_EQ(hmm_mirror_open_path(fake.path, &m), 0);
  int fd = hmm_mirror_fd(m);
  hmm_mirror_close(m);
  EXPECT_EQ(fcntl(fd, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
