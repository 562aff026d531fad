// SPDX-License-Identifier: MIT
//
// unit_test.h - the fixture of the library's host unit tests: a fresh fake
// device (fake_device.h) and a handle opened on it.
#ifndef LIBHMM_MIRROR_UNIT_TEST_H
#define LIBHMM_MIRROR_UNIT_TEST_H

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "fake_device.h"
#include "hmm_mirror/libhmm_mirror.h"

class FakeDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(fake_device_create(), 0) << "cannot make the fake device node";
    ASSERT_EQ(hmm_mirror_open_path(fake.path, &m_), 0) << hmm_mirror_last_error();
    std::memset(fake.calls, 0, sizeof(fake.calls));
    page_ = hmm_mirror_page_size(m_);
  }
  void TearDown() override {
    hmm_mirror_close(m_);
    fake_device_destroy();
  }

  // The last error message, as a std::string for matchers.
  static std::string LastError() { return hmm_mirror_last_error(); }

  // The last argument the fake device received for command nr.
  template <typename T>
  static T LastArg(unsigned nr) {
    T t;
    std::memcpy(&t, fake.last_arg[nr], sizeof(t));
    return t;
  }

  struct hmm_mirror* m_ = nullptr;
  uint64_t page_ = 4096;
};

// Expect a call to fail with err before any command reaches the device,
// with a message naming the call and containing what.
#define EXPECT_REJECTED(call_expr, err, call_name, what)                     \
  do {                                                                       \
    unsigned before_ = fake_device_total_calls();                            \
    EXPECT_EQ((call_expr), -(err));                                          \
    EXPECT_EQ(fake_device_total_calls(), before_)                            \
        << #call_expr " reached the device";                                 \
    EXPECT_NE(std::string(hmm_mirror_last_error()).find(call_name),          \
              std::string::npos)                                             \
        << hmm_mirror_last_error();                                          \
    EXPECT_NE(std::string(hmm_mirror_last_error()).find(what),               \
              std::string::npos)                                             \
        << hmm_mirror_last_error();                                          \
  } while (0)

#endif  // LIBHMM_MIRROR_UNIT_TEST_H
