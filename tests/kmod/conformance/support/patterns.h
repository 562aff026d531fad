// SPDX-License-Identifier: MIT
//
// patterns.h - data patterns that depend on the address, and assertions on them.
// Part of the conformance suite's helpers (../hmm_mirror_test.h).
#ifndef HMM_CONFORMANCE_PATTERNS_H
#define HMM_CONFORMANCE_PATTERNS_H

#include "errno_ioctl.h"

namespace hmm_conformance {

// The word a pattern puts at address addr.  Depends on the address, so a
// buffer can be checked against any part of a range.
inline uint64_t PatternWord(uint64_t seed, uint64_t addr) {
  uint64_t x = (seed + 1) * 0x9E3779B97F4A7C15ULL ^ addr;
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 29;
  return x | 1;  // never zero: zero-filled memory never matches
}

// Fills [p, p + length) with the pattern for where it lives.
inline void FillPattern(void* p, uint64_t length, uint64_t seed) {
  auto* w = static_cast<uint64_t*>(p);
  for (uint64_t i = 0; i < length / 8; ++i)
    w[i] = PatternWord(seed, U64(p) + 8 * i);
}

// Fills a buffer with the pattern as if it lived at as_addr.
inline void FillPatternAs(void* p, uint64_t length, uint64_t seed,
                          uint64_t as_addr) {
  auto* w = static_cast<uint64_t*>(p);
  for (uint64_t i = 0; i < length / 8; ++i)
    w[i] = PatternWord(seed, as_addr + 8 * i);
}

// Does [p, p + length) hold the pattern of the memory at as_addr?
inline ::testing::AssertionResult HasPatternAs(const void* p, uint64_t length,
                                               uint64_t seed,
                                               uint64_t as_addr) {
  const auto* w = static_cast<const uint64_t*>(p);
  for (uint64_t i = 0; i < length / 8; ++i) {
    uint64_t want = PatternWord(seed, as_addr + 8 * i);
    if (w[i] != want) {
      return ::testing::AssertionFailure()
             << "byte offset " << 8 * i << " (page " << (8 * i) / OsPageSize()
             << ") holds 0x" << std::hex << w[i] << ", expected 0x" << want
             << " (pattern " << std::dec << seed << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult HasPattern(const void* p, uint64_t length,
                                             uint64_t seed) {
  return HasPatternAs(p, length, seed, U64(p));
}

inline ::testing::AssertionResult IsFilledWith(const void* p, uint64_t length,
                                               uint8_t byte) {
  const auto* b = static_cast<const uint8_t*>(p);
  for (uint64_t i = 0; i < length; ++i) {
    if (b[i] != byte) {
      return ::testing::AssertionFailure()
             << "byte offset " << i << " (page " << i / OsPageSize()
             << ") is 0x" << std::hex << unsigned{b[i]} << ", expected 0x"
             << unsigned{byte};
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace hmm_conformance

#endif  // HMM_CONFORMANCE_PATTERNS_H
