// SPDX-License-Identifier: MIT
//
// lib_session_vm_test.cc - hmm_mirror_open(), the handshake, feature checks and
// hmm_mirror_close() against the real module.

#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "../fd_passing.h"
#include "vm_test.h"

namespace libhmm_vm {
namespace {

using hmm_mirror_test::RecvFd;
using hmm_mirror_test::SendFd;

using SessionTest = LibTest;

TEST_F(SessionTest, OpenKeepsTheHandshake) {
  EXPECT_EQ(hmm_mirror_page_size(m_), static_cast<uint64_t>(sysconf(_SC_PAGESIZE)));
  uint64_t base = HMM_MIRROR_FEAT_FAULT | HMM_MIRROR_FEAT_SNAPSHOT |
                  HMM_MIRROR_FEAT_DEVICE_RW | HMM_MIRROR_FEAT_QUERY;
  EXPECT_EQ(hmm_mirror_features(m_) & base, base);
  EXPECT_EQ(hmm_mirror_require(m_, base), 0) << LastError();
  int fd = hmm_mirror_fd(m_);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

TEST_F(SessionTest, HandshakeAgreesWithOpen) {
  struct hmm_mirror_info info;
  hmm_mirror_info_init(&info);
  ASSERT_EQ(hmm_mirror_handshake(m_, &info), 0) << LastError();
  EXPECT_GE(info.abi_version, 1u);
  EXPECT_EQ(info.lib_abi_version, static_cast<uint32_t>(HMM_MIRROR_ABI_VERSION));
  EXPECT_EQ(1ULL << info.page_shift, page_);
  EXPECT_EQ(info.features, hmm_mirror_features(m_));
  // Every advertised command feature has its command.
  const struct {
    uint64_t feature;
    unsigned nr;
  } pairs[] = {{HMM_MIRROR_FEAT_FAULT, 1},  {HMM_MIRROR_FEAT_SNAPSHOT, 2},
               {HMM_MIRROR_FEAT_DEVICE_RW, 3}, {HMM_MIRROR_FEAT_DEVICE_RW, 4},
               {HMM_MIRROR_FEAT_QUERY, 5},  {HMM_MIRROR_FEAT_ATTACH, 6},
               {HMM_MIRROR_FEAT_EVENTS, 7}, {HMM_MIRROR_FEAT_STATS, 8}};
  EXPECT_TRUE(info.ioctls & 1) << "HANDSHAKE";
  for (const auto& p : pairs) {
    if (info.features & p.feature) {
      EXPECT_TRUE(info.ioctls & (1ULL << p.nr)) << hmm_mirror_command_name(p.nr);
    }
  }
}

TEST_F(SessionTest, EveryAdvertisedFeatureHasAName) {
  for (unsigned bit = 0; bit < 64; bit++) {
    if (hmm_mirror_features(m_) & (1ULL << bit)) {
      EXPECT_NE(hmm_mirror_feature_name(1ULL << bit), nullptr)
          << "the module advertises bit " << bit
          << ", which this library does not know";
    }
  }
}

TEST_F(SessionTest, TwoHandlesAreTwoMirrors) {
  struct hmm_mirror* other = nullptr;
  ASSERT_EQ(hmm_mirror_open(&other), 0) << LastError();
  Region r(4);
  ASSERT_EQ(hmm_mirror_fault(m_, r.addr(), r.size(), 0, nullptr, nullptr), 0) << LastError();
  std::vector<uint32_t> states(4, 0xdead);
  ASSERT_EQ(hmm_mirror_query(other, r.addr(), r.size(), states.data(), 4), 0);
  for (uint32_t s : states) EXPECT_EQ(s, 0u);
  hmm_mirror_close(other);
}

// A broker opens the device and hands the descriptor to a helper over a
// unix socket: the helper's handle is the broker's mirror, bound to the
// broker's address space, and reads the broker's memory through it.
TEST(FromFdTest, ADescriptorSentOverAUnixSocketMirrorsTheSender) {
  const size_t pages = 8;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // the broker
    close(sv[0]);
    const size_t len = pages * static_cast<size_t>(sysconf(_SC_PAGESIZE));
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) _exit(1);
    std::memset(p, 0x6b, len);
    int fd = open(HMM_MIRROR_DEVICE_PATH, O_RDWR | O_CLOEXEC);
    if (fd < 0 || !SendFd(sv[1], fd, U64(p))) _exit(2);
    close(fd);
    char c;
    while (read(sv[1], &c, 1) > 0) {
    }
    _exit(0);
  }
  close(sv[1]);
  uint64_t addr = 0;
  int fd = RecvFd(sv[0], &addr);
  ASSERT_GE(fd, 0) << "nothing received";

  struct hmm_mirror* m = nullptr;
  ASSERT_EQ(hmm_mirror_from_fd(fd, &m), 0) << LastError();
  EXPECT_EQ(hmm_mirror_fd(m), fd);
  EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
  const uint64_t page = hmm_mirror_page_size(m);
  std::vector<uint8_t> buf(pages * page, 0);
  struct hmm_mirror_rw_result res;
  hmm_mirror_rw_result_init(&res);
  ASSERT_EQ(hmm_mirror_read_ex(m, addr, buf.data(), buf.size(), &res), 0) << LastError();
  EXPECT_EQ(res.bytes_copied, buf.size());
  EXPECT_EQ(buf.front(), 0x6b);
  EXPECT_EQ(buf.back(), 0x6b);
  // The device maps the broker's pages now: QUERY through the same fd.
  std::vector<uint32_t> states(pages, 0);
  ASSERT_EQ(hmm_mirror_query(m, addr, buf.size(), states.data(), pages), 0);
  EXPECT_TRUE(states[0] & HMM_MIRROR_PAGE_VALID);
  hmm_mirror_close(m);
  EXPECT_EQ(fcntl(fd, F_GETFD), -1) << "the handle closes the descriptor it owns";
  close(sv[0]);  // the broker exits
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(FromFdTest, DevNullIsRefused) {
  int fd = open("/dev/null", O_RDWR);
  ASSERT_GE(fd, 0);
  struct hmm_mirror* m = nullptr;
  EXPECT_EQ(hmm_mirror_from_fd(fd, &m), -ENOTTY);
  EXPECT_EQ(m, nullptr);
  EXPECT_NE(LastError().find("not an hmm_mirror device"), std::string::npos) << LastError();
  EXPECT_NE(LastError().find("/dev/null"), std::string::npos) << LastError();
  EXPECT_EQ(fcntl(fd, F_GETFD), 0) << "still open, flags unchanged";
  close(fd);
}

TEST_F(SessionTest, FromFdOfADuplicateSharesTheMirror) {
  int fd = fcntl(hmm_mirror_fd(m_), F_DUPFD_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  struct hmm_mirror* other = nullptr;
  ASSERT_EQ(hmm_mirror_from_fd(fd, &other), 0) << LastError();
  EXPECT_EQ(hmm_mirror_features(other), hmm_mirror_features(m_));
  Region r(4);
  ASSERT_EQ(hmm_mirror_fault(m_, r.addr(), r.size(), 0, nullptr, nullptr), 0) << LastError();
  std::vector<uint32_t> states(4, 0);
  ASSERT_EQ(hmm_mirror_query(other, r.addr(), r.size(), states.data(), 4), 0);
  for (uint32_t s : states) EXPECT_TRUE(s & HMM_MIRROR_PAGE_VALID);
  hmm_mirror_close(other);
  // m_'s own descriptor is still open.
  EXPECT_EQ(hmm_mirror_query(m_, r.addr(), r.size(), states.data(), 4), 0) << LastError();
}

TEST_F(SessionTest, HandshakeReportsTheAddressLimit) {
  REQUIRE_FEATURE(m_, HMM_MIRROR_FEAT_ADDR_LIMIT);
  struct hmm_mirror_info info;
  hmm_mirror_info_init(&info);
  ASSERT_EQ(hmm_mirror_handshake(m_, &info), 0) << LastError();
  EXPECT_EQ(info.abi_version, 5u);
  EXPECT_EQ(info.addr_limit, HMM_MIRROR_ADDR_LIMIT);
}

TEST(SessionPermissionTest, OpenWithoutPermissionIsExplained) {
  struct stat st;
  ASSERT_EQ(stat(HMM_MIRROR_DEVICE_PATH, &st), 0);
  if (st.st_mode & S_IROTH)
    GTEST_SKIP() << HMM_MIRROR_DEVICE_PATH << " is readable by everyone here";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (setgroups(0, nullptr) || setresgid(65534, 65534, 65534) ||
        setresuid(65534, 65534, 65534))
      _exit(2);
    struct hmm_mirror* m = nullptr;
    if (hmm_mirror_open(&m) != -EACCES) _exit(3);
    if (std::string(hmm_mirror_last_error()).find("group hmm_mirror") == std::string::npos)
      _exit(4);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "2: cannot become nobody, 3: not EACCES, 4: message does not name the group";
}

}  // namespace
}  // namespace libhmm_vm
