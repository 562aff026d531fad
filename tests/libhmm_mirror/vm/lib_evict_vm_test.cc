// SPDX-License-Identifier: MIT
//
// lib_evict_vm_test.cc - ABI 5 through the library: hmm_mirror_migrate()
// passes HMM_MIRROR_MIGRATE_EVICT to the module, refuses it with
// TO_SYSTEM, and the counter table names pages_evicted.  Filling the pool
// to see pages evicted is the conformance suite's (migrate_evict_test.cc).

#include <cstring>
#include <string>

#include "vm_test.h"

namespace libhmm_vm {
namespace {

TEST_F(LibTest, EvictWithRoomMovesTheRange) {
  REQUIRE_FEATURE(m_, HMM_MIRROR_FEAT_DEVICE_EVICT);
  EXPECT_TRUE(hmm_mirror_features(m_) & HMM_MIRROR_FEAT_DEVICE_MEMORY);
  Region r(4);
  std::memset(r.data(), 0x5c, r.size());
  uint32_t results[4] = {};
  uint64_t moved = 0, not_moved = 9;
  ASSERT_EQ(hmm_mirror_migrate(m_, r.addr(), r.size(), HMM_MIRROR_MIGRATE_EVICT,
                               results, 4, &moved, &not_moved),
            0)
      << LastError();
  EXPECT_EQ(moved, 4u);
  EXPECT_EQ(not_moved, 0u);
  for (uint32_t x : results) EXPECT_EQ(x, uint32_t{HMM_MIRROR_MIGRATE_MOVED});
  EXPECT_EQ(hmm_mirror_migrate(m_, r.addr(), r.size(),
                               HMM_MIRROR_MIGRATE_EVICT | HMM_MIRROR_MIGRATE_TO_SYSTEM,
                               nullptr, 0, nullptr, nullptr),
            -EINVAL);
  struct hmm_mirror_stats s;
  hmm_mirror_counters_init(&s);
  ASSERT_EQ(hmm_mirror_stats(m_, &s), 0) << LastError();
  EXPECT_EQ(s.pages_evicted, 0u);  // there was room
  EXPECT_EQ(s.pages_to_device, 4u);
  unsigned int last = hmm_mirror_counter_count() - 1;
  EXPECT_STREQ(hmm_mirror_counter_name(last), "pages_evicted");
  EXPECT_EQ(r.data()[r.size() - 1], 0x5c);  // the CPU brings it back intact
}

TEST_F(LibTest, EvictWithoutDeviceMemoryIsEopnotsupp) {
  if (hmm_mirror_features(m_) & HMM_MIRROR_FEAT_DEVICE_MEMORY)
    GTEST_SKIP() << "the module has device memory";
  EXPECT_FALSE(hmm_mirror_features(m_) & HMM_MIRROR_FEAT_DEVICE_EVICT);
  Region r(1);
  EXPECT_EQ(hmm_mirror_migrate(m_, r.addr(), r.size(), HMM_MIRROR_MIGRATE_EVICT,
                               nullptr, 0, nullptr, nullptr),
            -EOPNOTSUPP);
  EXPECT_NE(std::string(LastError()).find("HMM_MIRROR_FEAT_DEVICE_MEMORY"),
            std::string::npos)
      << LastError();
}

}  // namespace
}  // namespace libhmm_vm
