// SPDX-License-Identifier: MIT
//
// features.h - HMM_REQUIRE_FEATURES and FeatureTest: skip a test the module cannot run.
// Part of the conformance suite's helpers (../hmm_mirror_test.h).
#ifndef HMM_CONFORMANCE_FEATURES_H
#define HMM_CONFORMANCE_FEATURES_H

#include <sys/utsname.h>

#include <cstdio>

#include "errno_ioctl.h"
#include "fixture.h"

namespace hmm_conformance {

inline std::string FeatureNames(uint64_t features) {
  static const struct {
    uint64_t bit;
    const char* name;
  } kNames[] = {
      {HMM_MIRROR_FEAT_FAULT, "HMM_MIRROR_FEAT_FAULT"},
      {HMM_MIRROR_FEAT_SNAPSHOT, "HMM_MIRROR_FEAT_SNAPSHOT"},
      {HMM_MIRROR_FEAT_DEVICE_RW, "HMM_MIRROR_FEAT_DEVICE_RW"},
      {HMM_MIRROR_FEAT_QUERY, "HMM_MIRROR_FEAT_QUERY"},
      {HMM_MIRROR_FEAT_HUGE_ENTRIES, "HMM_MIRROR_FEAT_HUGE_ENTRIES"},
      {HMM_MIRROR_FEAT_ATTACH, "HMM_MIRROR_FEAT_ATTACH"},
      {HMM_MIRROR_FEAT_EVENTS, "HMM_MIRROR_FEAT_EVENTS"},
      {HMM_MIRROR_FEAT_LAZY_NOTIFIERS, "HMM_MIRROR_FEAT_LAZY_NOTIFIERS"},
      {HMM_MIRROR_FEAT_FILE_BACKED, "HMM_MIRROR_FEAT_FILE_BACKED"},
      {HMM_MIRROR_FEAT_FORK, "HMM_MIRROR_FEAT_FORK"},
      {HMM_MIRROR_FEAT_EXIT, "HMM_MIRROR_FEAT_EXIT"},
      {HMM_MIRROR_FEAT_STATS, "HMM_MIRROR_FEAT_STATS"},
      {HMM_MIRROR_FEAT_SNAPSHOT_RUNS, "HMM_MIRROR_FEAT_SNAPSHOT_RUNS"},
      {HMM_MIRROR_FEAT_RW_COPIED, "HMM_MIRROR_FEAT_RW_COPIED"},
      {HMM_MIRROR_FEAT_ADDR_LIMIT, "HMM_MIRROR_FEAT_ADDR_LIMIT"},
      {HMM_MIRROR_FEAT_DEVICE_MEMORY, "HMM_MIRROR_FEAT_DEVICE_MEMORY"},
      {HMM_MIRROR_FEAT_EXCLUSIVE, "HMM_MIRROR_FEAT_EXCLUSIVE"},
      {HMM_MIRROR_FEAT_DEVICE_EVICT, "HMM_MIRROR_FEAT_DEVICE_EVICT"},
  };
  std::ostringstream os;
  const char* sep = "";
  for (unsigned bit = 0; bit < 64; ++bit) {
    const uint64_t f = uint64_t{1} << bit;
    if (!(features & f)) continue;
    const char* name = nullptr;
    for (const auto& n : kNames)
      if (n.bit == f) name = n.name;
    os << sep << (name ? name : "feature") << " (bit " << bit << ")";
    sep = ", ";
  }
  return os.str();
}

// Skips the test unless `mirror` (a Mirror) advertises every bit of
// `features`.  Usable in a test body or a fixture's SetUp().
#define HMM_REQUIRE_FEATURES(mirror, features)                             \
  do {                                                                     \
    const uint64_t hmm_missing_ =                                          \
        (features) & ~(mirror).info().features_supported;                  \
    if (hmm_missing_ != 0)                                                 \
      GTEST_SKIP() << "the module does not advertise "                     \
                   << ::hmm_conformance::FeatureNames(hmm_missing_);       \
  } while (0)

// A MirrorTest that runs only when the module advertises kFeatures.  A
// derived SetUp() calls this one first and returns when IsSkipped().
template <uint64_t kFeatures>
class FeatureTest : public MirrorTest {
 protected:
  void SetUp() override {
    MirrorTest::SetUp();
    if (HasFatalFailure()) return;
    HMM_REQUIRE_FEATURES(dev_, kFeatures);
  }
};

// Whether the running kernel is major.minor or later (uname), for a test
// that states what each kernel does where they differ.
inline bool KernelAtLeast(int major, int minor) {
  utsname u;
  int ma = 0, mi = 0;
  if (uname(&u) != 0 || std::sscanf(u.release, "%d.%d", &ma, &mi) != 2)
    return true;
  return ma > major || (ma == major && mi >= minor);
}

// Polls cond() every 10 ms until it holds or timeout_ms passed; returns its
// last value.  For the things the ABI promises "shortly after".
inline bool WaitFor(const std::function<bool()>& cond, int timeout_ms = 5000) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return cond();
    usleep(10000);
  }
}

}  // namespace hmm_conformance

#endif  // HMM_CONFORMANCE_FEATURES_H
