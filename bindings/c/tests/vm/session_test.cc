// SPDX-License-Identifier: MIT
//
// session_test.cc - hmm_mirror_open(), the handshake, feature checks and
// hmm_mirror_close() against the real module.

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>

#include "vm_test.h"

namespace libhmm_vm {
namespace {

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
