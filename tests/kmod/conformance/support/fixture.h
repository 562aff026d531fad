// SPDX-License-Identifier: MIT
//
// fixture.h - MirrorTest, the fixture every device test derives from.
// Part of the conformance suite's helpers (../hmm_mirror_test.h).
#ifndef HMM_CONFORMANCE_FIXTURE_H
#define HMM_CONFORMANCE_FIXTURE_H

#include "errno_ioctl.h"
#include "mirror_handle.h"

namespace hmm_conformance {

class MirrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err = dev_.Open();
    ASSERT_TRUE(err.empty()) << err;
    page_ = dev_.page_size();
  }

  Mirror dev_;
  uint64_t page_ = 4096;
};

}  // namespace hmm_conformance

#endif  // HMM_CONFORMANCE_FIXTURE_H
