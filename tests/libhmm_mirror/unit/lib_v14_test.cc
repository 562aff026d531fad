// SPDX-License-Identifier: MIT
//
// lib_v14_test.cc - what libhmm_mirror 1.4 added, on the fake device:
// hmm_mirror_migrate() (arguments checked before the device, results
// passed through; the EVICT flag of ABI 5), hmm_mirror_device_memory()
// (the pool from STATS) and hmm_mirror_migrate_result_name().

#include <vector>

#include "unit_test.h"

namespace {

constexpr uint64_t kAddr = 0x7f0000000000ULL;

class DeviceMemoryTest : public FakeDeviceTest {
 protected:
  // FakeDeviceTest::SetUp() with the feature on before the handshake.
  void SetUp() override {
    ASSERT_EQ(fake_device_create(), 0) << "cannot make the fake device node";
    fake.features |= HMM_MIRROR_FEAT_DEVICE_MEMORY;
    fake.ioctls |= 1ULL << HMM_MIRROR_NR_MIGRATE;
    ASSERT_EQ(hmm_mirror_open_path(fake.path, &m_), 0) << LastError();
    std::memset(fake.calls, 0, sizeof(fake.calls));
    page_ = hmm_mirror_page_size(m_);
  }
};

TEST_F(DeviceMemoryTest, MigratePassesTheRangeAndTheResults) {
  std::vector<uint32_t> r(4, 0);
  uint64_t moved = 0, not_moved = 7;
  ASSERT_EQ(hmm_mirror_migrate(m_, kAddr, 4 * 4096, 0, r.data(), r.size(),
                               &moved, &not_moved),
            0)
      << LastError();
  auto mg = LastArg<struct hmm_mirror_migrate>(HMM_MIRROR_NR_MIGRATE);
  EXPECT_EQ(mg.size, sizeof(struct hmm_mirror_migrate));
  EXPECT_EQ(mg.addr, kAddr);
  EXPECT_EQ(mg.length, 4 * 4096u);
  EXPECT_EQ(mg.results_len, 4u);
  EXPECT_EQ(moved, 4u);
  EXPECT_EQ(not_moved, 0u);
  for (uint32_t x : r) EXPECT_EQ(x, uint32_t{HMM_MIRROR_MIGRATE_MOVED});
}

TEST_F(DeviceMemoryTest, MigrateChecksItsArgumentsFirst) {
  std::vector<uint32_t> r(1);
  EXPECT_EQ(hmm_mirror_migrate(m_, kAddr, 4096, 4, r.data(), 1, nullptr,
                               nullptr),
            -EINVAL);
  EXPECT_EQ(hmm_mirror_migrate(m_, kAddr, 4096, 0, nullptr, 1, nullptr,
                               nullptr),
            -EINVAL);
  EXPECT_EQ(fake.calls[HMM_MIRROR_NR_MIGRATE], 0u);
}

// ABI 5: EVICT passes through, needs its feature, and not with TO_SYSTEM.
TEST_F(DeviceMemoryTest, EvictWithoutItsFeatureIsEopnotsupp) {
  EXPECT_EQ(hmm_mirror_migrate(m_, kAddr, 4096, HMM_MIRROR_MIGRATE_EVICT,
                               nullptr, 0, nullptr, nullptr),
            -EOPNOTSUPP);
  EXPECT_NE(std::string(LastError()).find("HMM_MIRROR_FEAT_DEVICE_EVICT (bit 17)"),
            std::string::npos)
      << LastError();
  EXPECT_EQ(fake.calls[HMM_MIRROR_NR_MIGRATE], 0u);
}

class DeviceEvictTest : public DeviceMemoryTest {
 protected:
  void SetUp() override {
    ASSERT_EQ(fake_device_create(), 0) << "cannot make the fake device node";
    fake.features |= HMM_MIRROR_FEAT_DEVICE_MEMORY | HMM_MIRROR_FEAT_DEVICE_EVICT;
    fake.ioctls |= 1ULL << HMM_MIRROR_NR_MIGRATE;
    ASSERT_EQ(hmm_mirror_open_path(fake.path, &m_), 0) << LastError();
    std::memset(fake.calls, 0, sizeof(fake.calls));
    page_ = hmm_mirror_page_size(m_);
  }
};

TEST_F(DeviceEvictTest, EvictPassesThrough) {
  uint64_t moved = 0;
  ASSERT_EQ(hmm_mirror_migrate(m_, kAddr, 2 * 4096, HMM_MIRROR_MIGRATE_EVICT,
                               nullptr, 0, &moved, nullptr),
            0)
      << LastError();
  auto mg = LastArg<struct hmm_mirror_migrate>(HMM_MIRROR_NR_MIGRATE);
  EXPECT_EQ(mg.flags, uint32_t{HMM_MIRROR_MIGRATE_EVICT});
  EXPECT_EQ(moved, 2u);
}

TEST_F(DeviceEvictTest, EvictToSystemAndUnknownFlagsAreEinval) {
  EXPECT_EQ(hmm_mirror_migrate(m_, kAddr, 4096,
                               HMM_MIRROR_MIGRATE_EVICT |
                                   HMM_MIRROR_MIGRATE_TO_SYSTEM,
                               nullptr, 0, nullptr, nullptr),
            -EINVAL);
  EXPECT_EQ(hmm_mirror_migrate(m_, kAddr, 4096, 1U << 2, nullptr, 0, nullptr,
                               nullptr),
            -EINVAL);
  EXPECT_EQ(fake.calls[HMM_MIRROR_NR_MIGRATE], 0u);
}

TEST(NamesTest, DeviceEvictFeature) {
  EXPECT_STREQ(hmm_mirror_feature_name(HMM_MIRROR_FEAT_DEVICE_EVICT), "device_evict");
  EXPECT_STREQ(hmm_mirror_feature_name(HMM_MIRROR_FEAT_EXCLUSIVE), "exclusive");
  EXPECT_EQ(hmm_mirror_feature_name(1ULL << 18), nullptr);
}

TEST_F(DeviceMemoryTest, DeviceMemoryComesFromStats) {
  fake.stats.device_memory_pages = 256;
  fake.stats.device_pages = 3;
  fake.stats.pages_faulted_back = 2;
  struct hmm_mirror_device_memory dm;
  hmm_mirror_device_memory_init(&dm);
  ASSERT_EQ(hmm_mirror_device_memory(m_, &dm), 0) << LastError();
  EXPECT_EQ(dm.total_bytes, 256u * 4096);
  EXPECT_EQ(dm.used_bytes, 3u * 4096);
  EXPECT_EQ(dm.mirror_pages, 3u);
  EXPECT_EQ(dm.pages_faulted_back, 2u);
}

TEST_F(FakeDeviceTest, MigrateWithoutDeviceMemoryIsEopnotsupp) {
  EXPECT_EQ(hmm_mirror_migrate(m_, kAddr, 4096, 0, nullptr, 0, nullptr,
                               nullptr),
            -EOPNOTSUPP);
  EXPECT_EQ(fake.calls[HMM_MIRROR_NR_MIGRATE], 0u);
}

TEST(NamesTest, MigrateResults) {
  EXPECT_STREQ(hmm_mirror_migrate_result_name(HMM_MIRROR_MIGRATE_MOVED),
               "moved");
  EXPECT_STREQ(hmm_mirror_migrate_result_name(HMM_MIRROR_MIGRATE_NO_MEMORY),
               "no_memory");
  EXPECT_EQ(hmm_mirror_migrate_result_name(0), nullptr);
  EXPECT_EQ(hmm_mirror_migrate_result_name(5), nullptr);
}

}  // namespace
