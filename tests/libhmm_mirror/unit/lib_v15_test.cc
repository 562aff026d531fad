// SPDX-License-Identifier: MIT
//
// lib_v15_test.cc - what libhmm_mirror 1.5 added, on the fake device:
// hmm_mirror_exclusive() and hmm_mirror_atomic() (arguments checked before
// the device, results passed through) and hmm_mirror_atomic_op_name().

#include <vector>

#include "unit_test.h"

namespace {

constexpr uint64_t kAddr = 0x7f0000000000ULL;

class ExclusiveLibTest : public FakeDeviceTest {
 protected:
  // FakeDeviceTest::SetUp() with the feature on before the handshake.
  void SetUp() override {
    ASSERT_EQ(fake_device_create(), 0) << "cannot make the fake device node";
    fake.features |= HMM_MIRROR_FEAT_EXCLUSIVE;
    ASSERT_EQ(hmm_mirror_open_path(fake.path, &m_), 0) << LastError();
    std::memset(fake.calls, 0, sizeof(fake.calls));
    page_ = hmm_mirror_page_size(m_);
  }
};

TEST_F(ExclusiveLibTest, ExclusivePassesTheRangeAndTheResults) {
  std::vector<uint32_t> r(4, 77);
  uint64_t granted = 0, refused = 0;
  ASSERT_EQ(hmm_mirror_exclusive(m_, kAddr, 4 * 4096, r.data(), r.size(),
                                 &granted, &refused),
            0)
      << LastError();
  auto ex = LastArg<struct hmm_mirror_exclusive>(HMM_MIRROR_NR_EXCLUSIVE);
  EXPECT_EQ(ex.size, sizeof(struct hmm_mirror_exclusive));
  EXPECT_EQ(ex.flags, 0u);
  EXPECT_EQ(ex.addr, kAddr);
  EXPECT_EQ(ex.length, 4 * 4096u);
  EXPECT_EQ(ex.results_len, 4u);
  EXPECT_EQ(granted, 3u);
  EXPECT_EQ(refused, 1u);
  EXPECT_EQ(r, (std::vector<uint32_t>{0, EBUSY, 0, 0}));
  // NULL outputs are fine.
  EXPECT_EQ(hmm_mirror_exclusive(m_, kAddr, 4096, nullptr, 0, nullptr,
                                 nullptr),
            0);
}

TEST_F(ExclusiveLibTest, ExclusiveChecksItsArgumentsFirst) {
  std::vector<uint32_t> r(1);
  EXPECT_EQ(hmm_mirror_exclusive(m_, kAddr, 4096, nullptr, 1, nullptr,
                                 nullptr),
            -EINVAL);
  EXPECT_EQ(hmm_mirror_exclusive(m_, kAddr, 4096, r.data(), 0, nullptr,
                                 nullptr),
            -EINVAL);
  EXPECT_NE(std::string(hmm_mirror_last_error()).find("results"),
            std::string::npos)
      << LastError();
  EXPECT_EQ(fake.calls[HMM_MIRROR_NR_EXCLUSIVE], 0u);
}

TEST_F(ExclusiveLibTest, AtomicPassesTheOperation) {
  fake.atomic_old = 41;
  uint64_t old = 0;
  ASSERT_EQ(hmm_mirror_atomic(m_, kAddr + 8, HMM_MIRROR_ATOMIC_CMPXCHG, 5, 41,
                              HMM_MIRROR_ATOMIC_NO_GRANT, &old),
            0)
      << LastError();
  EXPECT_EQ(old, 41u);
  auto at = LastArg<struct hmm_mirror_atomic>(HMM_MIRROR_NR_ATOMIC);
  EXPECT_EQ(at.size, sizeof(struct hmm_mirror_atomic));
  EXPECT_EQ(at.addr, kAddr + 8);
  EXPECT_EQ(at.op, uint32_t{HMM_MIRROR_ATOMIC_CMPXCHG});
  EXPECT_EQ(at.operand, 5u);
  EXPECT_EQ(at.compare, 41u);
  EXPECT_EQ(at.flags, uint32_t{HMM_MIRROR_ATOMIC_NO_GRANT});
  EXPECT_EQ(at.reserved, 0u);
}

TEST_F(ExclusiveLibTest, AtomicChecksItsArgumentsFirst) {
  uint64_t old = 0;
  EXPECT_EQ(hmm_mirror_atomic(m_, kAddr + 4, HMM_MIRROR_ATOMIC_ADD, 1, 0, 0,
                              &old),
            -EINVAL);
  EXPECT_NE(std::string(hmm_mirror_last_error()).find("aligned"),
            std::string::npos)
      << LastError();
  EXPECT_EQ(hmm_mirror_atomic(m_, kAddr, HMM_MIRROR_ATOMIC_NR_OPS, 1, 0, 0,
                              &old),
            -EINVAL);
  EXPECT_EQ(hmm_mirror_atomic(m_, kAddr, HMM_MIRROR_ATOMIC_ADD, 1, 0, 2, &old),
            -EINVAL);
  EXPECT_EQ(fake.calls[HMM_MIRROR_NR_ATOMIC], 0u);
}

TEST_F(ExclusiveLibTest, AtomicErrorsAreExplained) {
  fake.fail_errno[HMM_MIRROR_NR_ATOMIC] = EAGAIN;
  EXPECT_EQ(hmm_mirror_atomic(m_, kAddr, HMM_MIRROR_ATOMIC_ADD, 1, 0,
                              HMM_MIRROR_ATOMIC_NO_GRANT, nullptr),
            -EAGAIN);
  EXPECT_NE(std::string(hmm_mirror_last_error()).find("NO_GRANT"),
            std::string::npos)
      << LastError();
  fake.fail_errno[HMM_MIRROR_NR_ATOMIC] = 0;
}

TEST_F(FakeDeviceTest, ExclusiveWithoutTheFeatureIsEopnotsupp) {
  EXPECT_EQ(hmm_mirror_exclusive(m_, kAddr, 4096, nullptr, 0, nullptr,
                                 nullptr),
            -EOPNOTSUPP);
  EXPECT_EQ(hmm_mirror_atomic(m_, kAddr, HMM_MIRROR_ATOMIC_ADD, 1, 0, 0,
                              nullptr),
            -EOPNOTSUPP);
  EXPECT_EQ(fake.calls[HMM_MIRROR_NR_EXCLUSIVE], 0u);
  EXPECT_EQ(fake.calls[HMM_MIRROR_NR_ATOMIC], 0u);
}

TEST(NamesTest, AtomicOps) {
  EXPECT_STREQ(hmm_mirror_atomic_op_name(HMM_MIRROR_ATOMIC_ADD), "add");
  EXPECT_STREQ(hmm_mirror_atomic_op_name(HMM_MIRROR_ATOMIC_CMPXCHG),
               "cmpxchg");
  EXPECT_STREQ(hmm_mirror_atomic_op_name(HMM_MIRROR_ATOMIC_AND), "and");
  EXPECT_EQ(hmm_mirror_atomic_op_name(HMM_MIRROR_ATOMIC_NR_OPS), nullptr);
  EXPECT_STREQ(hmm_mirror_command_name(HMM_MIRROR_NR_EXCLUSIVE), "EXCLUSIVE");
  EXPECT_STREQ(hmm_mirror_command_name(HMM_MIRROR_NR_ATOMIC), "ATOMIC");
  EXPECT_STREQ(hmm_mirror_feature_name(HMM_MIRROR_FEAT_EXCLUSIVE),
               "exclusive");
}

}  // namespace
