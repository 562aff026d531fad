// SPDX-License-Identifier: MIT
//
// lib_counters_test.cc - the table of STATS counters (bindings/c/src/
// counters.c): its rows cover every byte of struct hmm_mirror_stats after
// the header, once and in order, so a counter added to the ABI struct
// without a row fails here; and the values read through it are the
// struct's.

#include <cstddef>
#include <cstring>
#include <set>
#include <string>

#include "unit_test.h"

namespace {

const size_t kHeader = offsetof(struct hmm_mirror_stats, flags) + sizeof(uint32_t);

TEST(CountersTest, RowsCoverEveryByteAfterTheHeaderOnce) {
  const unsigned n = hmm_mirror_counter_count();
  ASSERT_GT(n, 0u);
  size_t end = kHeader;
  std::set<std::string> names;
  for (unsigned i = 0; i < n; i++) {
    SCOPED_TRACE(i);
    ASSERT_NE(hmm_mirror_counter_name(i), nullptr);
    EXPECT_TRUE(names.insert(hmm_mirror_counter_name(i)).second) << "a name twice";
    ASSERT_NE(hmm_mirror_counter_meaning(i), nullptr);
    EXPECT_GT(std::strlen(hmm_mirror_counter_meaning(i)), 10u);
    EXPECT_EQ(hmm_mirror_counter_offset(i), end)
        << hmm_mirror_counter_name(i) << ": a gap or an overlap before it";
    ASSERT_GE(hmm_mirror_counter_len(i), 1u);
    end = hmm_mirror_counter_offset(i) + hmm_mirror_counter_len(i) * sizeof(uint64_t);
  }
  EXPECT_EQ(end, sizeof(struct hmm_mirror_stats))
      << "struct hmm_mirror_stats has a field the counter table has no row for";
}

TEST(CountersTest, PastTheLastRow) {
  const unsigned n = hmm_mirror_counter_count();
  struct hmm_mirror_stats s;
  hmm_mirror_counters_init(&s);
  EXPECT_EQ(hmm_mirror_counter_name(n), nullptr);
  EXPECT_EQ(hmm_mirror_counter_meaning(n), nullptr);
  EXPECT_EQ(hmm_mirror_counter_len(n), 0u);
  EXPECT_EQ(hmm_mirror_counter_offset(n), 0u);
  EXPECT_EQ(hmm_mirror_counter_element_name(n, 0), nullptr);
  EXPECT_EQ(hmm_mirror_counter_value(&s, n, 0), 0u);
  EXPECT_EQ(hmm_mirror_counter_value(nullptr, 0, 0), 0u);
}

TEST(CountersTest, ValuesAreTheStructsFields) {
  struct hmm_mirror_stats s;
  hmm_mirror_counters_init(&s);
  uint64_t v = 100;
  for (size_t at = kHeader; at < sizeof(s); at += sizeof(v), v++)
    std::memcpy(reinterpret_cast<char*>(&s) + at, &v, sizeof(v));
  for (unsigned i = 0; i < hmm_mirror_counter_count(); i++) {
    const unsigned len = hmm_mirror_counter_len(i);
    for (unsigned k = 0; k < len; k++) {
      uint64_t want;
      std::memcpy(&want, reinterpret_cast<char*>(&s) + hmm_mirror_counter_offset(i) +
                             k * sizeof(want), sizeof(want));
      EXPECT_EQ(hmm_mirror_counter_value(&s, i, k), want) << hmm_mirror_counter_name(i);
    }
    EXPECT_EQ(hmm_mirror_counter_value(&s, i, len), 0u) << "past the last value";
  }
}

TEST(CountersTest, NamesAreTheFieldNames) {
  struct hmm_mirror_stats s;
  hmm_mirror_counters_init(&s);
  s.device_faults = 7;
  s.invalidations[HMM_MIRROR_EVENT_CLEAR] = 8;
  s.mirrors = 9;
  for (unsigned i = 0; i < hmm_mirror_counter_count(); i++) {
    const std::string name = hmm_mirror_counter_name(i);
    if (name == "device_faults") {
      EXPECT_EQ(hmm_mirror_counter_offset(i), offsetof(struct hmm_mirror_stats, device_faults));
      EXPECT_EQ(hmm_mirror_counter_value(&s, i, 0), 7u);
      EXPECT_EQ(hmm_mirror_counter_element_name(i, 0), nullptr);
    } else if (name == "invalidations") {
      EXPECT_EQ(hmm_mirror_counter_len(i), unsigned{HMM_MIRROR_EVENT_NR_REASONS});
      EXPECT_EQ(hmm_mirror_counter_value(&s, i, HMM_MIRROR_EVENT_CLEAR), 8u);
      EXPECT_STREQ(hmm_mirror_counter_element_name(i, HMM_MIRROR_EVENT_CLEAR), "clear");
      EXPECT_EQ(hmm_mirror_counter_element_name(i, HMM_MIRROR_EVENT_NR_REASONS), nullptr);
    } else if (name == "mirrors") {
      EXPECT_EQ(hmm_mirror_counter_value(&s, i, 0), 9u);
    }
  }
}

TEST(CountersTest, AShorterStructReadsZeroPastItsSize) {
  struct hmm_mirror_stats s;
  hmm_mirror_counters_init(&s);
  s.device_faults = 7;
  s.mirrors = 9;
  s.size = offsetof(struct hmm_mirror_stats, fault_calls);
  for (unsigned i = 0; i < hmm_mirror_counter_count(); i++) {
    const std::string name = hmm_mirror_counter_name(i);
    if (name == "device_faults") {
      EXPECT_EQ(hmm_mirror_counter_value(&s, i, 0), 7u);
    } else if (name == "mirrors") {
      EXPECT_EQ(hmm_mirror_counter_value(&s, i, 0), 0u);
    }
  }
}

}  // namespace
