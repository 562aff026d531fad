// SPDX-License-Identifier: MIT
//
// lib_names_test.cc - feature, command and reason names, errno names and
// texts, the library version, and the header's constants against the
// kernel ABI's.

#include <errno.h>

#include <string>

#include "unit_test.h"

extern "C" int header_abi_first_ok(void);
extern "C" int header_lib_first_ok(void);

namespace {

TEST(NamesTest, EveryFeatureBitHasAName) {
  const char* want[] = {"fault", "snapshot", "device_rw", "query", "huge_entries",
                        "attach", "events", "lazy_notifiers", "file_backed",
                        "fork", "exit", "stats", "snapshot_runs",
                        "rw_copied", "addr_limit", "device_memory",
                        "exclusive", "device_evict"};
  for (unsigned bit = 0; bit < 18; bit++)
    EXPECT_STREQ(hmm_mirror_feature_name(1ULL << bit), want[bit]) << bit;
  EXPECT_EQ(hmm_mirror_feature_name(1ULL << 18), nullptr);
  EXPECT_EQ(hmm_mirror_feature_name(0), nullptr);
  EXPECT_EQ(hmm_mirror_feature_name(3), nullptr);
  EXPECT_STREQ(hmm_mirror_feature_name(HMM_MIRROR_FEAT_ATTACH), "attach");
}

TEST(NamesTest, Commands) {
  EXPECT_STREQ(hmm_mirror_command_name(HMM_MIRROR_NR_HANDSHAKE), "HANDSHAKE");
  EXPECT_STREQ(hmm_mirror_command_name(HMM_MIRROR_NR_QUERY), "QUERY");
  EXPECT_STREQ(hmm_mirror_command_name(HMM_MIRROR_NR_STATS), "STATS");
  EXPECT_STREQ(hmm_mirror_command_name(HMM_MIRROR_NR_MIGRATE), "MIGRATE");
  EXPECT_STREQ(hmm_mirror_command_name(HMM_MIRROR_NR_EXCLUSIVE), "EXCLUSIVE");
  EXPECT_STREQ(hmm_mirror_command_name(HMM_MIRROR_NR_ATOMIC), "ATOMIC");
  EXPECT_EQ(hmm_mirror_command_name(HMM_MIRROR_NR_COMMANDS), nullptr);
  EXPECT_EQ(hmm_mirror_command_name(~0u), nullptr);
}

TEST(NamesTest, Reasons) {
  EXPECT_STREQ(hmm_mirror_event_reason_name(HMM_MIRROR_EVENT_UNMAP), "unmap");
  EXPECT_STREQ(hmm_mirror_event_reason_name(HMM_MIRROR_EVENT_SOFT_DIRTY), "soft-dirty");
  EXPECT_STREQ(hmm_mirror_event_reason_name(HMM_MIRROR_EVENT_OTHER), "other");
  EXPECT_STREQ(hmm_mirror_event_reason_name(HMM_MIRROR_EVENT_LOST), "lost");
  EXPECT_EQ(hmm_mirror_event_reason_name(9), nullptr);
}

TEST(NamesTest, Errnos) {
  EXPECT_STREQ(hmm_mirror_errno_name(EINVAL), "EINVAL");
  EXPECT_STREQ(hmm_mirror_errno_name(-EOPNOTSUPP), "EOPNOTSUPP");
  EXPECT_EQ(hmm_mirror_errno_name(0), nullptr);
  EXPECT_EQ(hmm_mirror_errno_name(4000), nullptr);
  EXPECT_EQ(std::string(hmm_mirror_strerror(-EFAULT)), "EFAULT: Bad address");
  EXPECT_EQ(std::string(hmm_mirror_strerror(ENOENT)), "ENOENT: No such file or directory");
  EXPECT_EQ(std::string(hmm_mirror_strerror(0)), "success");
  EXPECT_NE(hmm_mirror_strerror(4000), nullptr);
}

TEST(NamesTest, Version) {
  std::string want = std::to_string(HMM_MIRROR_LIB_VERSION_MAJOR) + "." +
                     std::to_string(HMM_MIRROR_LIB_VERSION_MINOR) + "." +
                     std::to_string(HMM_MIRROR_LIB_VERSION_PATCH);
  EXPECT_EQ(hmm_mirror_lib_version(), want);
}

TEST(HeaderTest, LibraryAndKernelHeadersMixInEitherOrder) {
  // Both translation units compile with -Werror and static-assert that
  // every re-exported constant equals the kernel ABI's.
  EXPECT_EQ(header_abi_first_ok(), 1);
  EXPECT_EQ(header_lib_first_ok(), 1);
}

}  // namespace
