// SPDX-License-Identifier: MIT
//
// snapshot_runs.h - the fixture of the SNAPSHOT runs tests
// (HMM_MIRROR_PAGES_RUNS): ask for runs, check them and compare them with
// the per-page SNAPSHOT.

#ifndef HMM_CONFORMANCE_SNAPSHOT_RUNS_H
#define HMM_CONFORMANCE_SNAPSHOT_RUNS_H

#include <vector>

#include "hmm_mirror_test.h"

namespace hmm_conformance {

inline constexpr uint32_t kValid = HMM_MIRROR_PAGE_VALID;
inline constexpr uint32_t kWrite = HMM_MIRROR_PAGE_WRITE;
inline constexpr uint32_t kZero = HMM_MIRROR_PAGE_ZERO;
inline constexpr uint64_t kRunCanary = 0x5a5a5a5a5a5a5a5aULL;

class SnapshotRunsFixture : public MirrorTest {
 protected:
  void SetUp() override {
    MirrorTest::SetUp();
    if (HasFatalFailure()) return;
    if (!(dev_.info().features_supported & HMM_MIRROR_FEAT_SNAPSHOT_RUNS))
      GTEST_SKIP() << "module without HMM_MIRROR_FEAT_SNAPSHOT_RUNS";
  }

  // SNAPSHOT with runs into an array of @cap records (prefilled with a
  // canary); *runs gets the records the module says it wrote.
  Errno Runs(uint64_t addr, uint64_t length, uint64_t cap,
             std::vector<hmm_mirror_run>* runs, hmm_mirror_pages* out = nullptr) {
    runs->assign(cap, hmm_mirror_run{kRunCanary, kRunCanary, 0xdeadbeefU, 0xdeadbeefU});
    hmm_mirror_pages p = MakePages(addr, length, nullptr, cap);
    p.states = U64(runs->data());
    p.flags = HMM_MIRROR_PAGES_RUNS;
    p.nr_runs = kRunCanary;
    Errno rc = dev_.Call(HMM_MIRROR_IOC_SNAPSHOT, &p);
    if (out != nullptr) *out = p;
    if (rc == kSuccess) {
      EXPECT_LE(p.nr_runs, cap);
      // Nothing is written past nr_runs.
      for (uint64_t i = p.nr_runs; i < cap; ++i)
        EXPECT_EQ((*runs)[i].addr, kRunCanary) << "record " << i;
      runs->resize(p.nr_runs);
    }
    return rc;
  }

  // The runs, page by page; checks they are contiguous from @addr, non
  // empty, page aligned, maximal and with zero reserved fields.
  ::testing::AssertionResult Expand(const std::vector<hmm_mirror_run>& runs,
                                    uint64_t addr, std::vector<uint32_t>* pages) {
    pages->clear();
    uint64_t next = addr;
    for (size_t i = 0; i < runs.size(); ++i) {
      const hmm_mirror_run& r = runs[i];
      if (r.addr != next)
        return ::testing::AssertionFailure() << "run " << i << " starts at 0x"
                                             << std::hex << r.addr << ", not 0x" << next;
      if (r.length == 0 || r.length % page_)
        return ::testing::AssertionFailure() << "run " << i << " length " << r.length;
      if (r.reserved != 0)
        return ::testing::AssertionFailure() << "run " << i << " reserved " << r.reserved;
      if (i > 0 && runs[i - 1].state == r.state)
        return ::testing::AssertionFailure() << "runs " << i - 1 << " and " << i
                                             << " have the same state";
      pages->insert(pages->end(), r.length / page_, r.state);
      next += r.length;
    }
    return ::testing::AssertionSuccess();
  }

  // Runs of the whole range must give what the per-page SNAPSHOT gives.
  void ExpectSameAsPages(uint64_t addr, uint64_t length, size_t want_runs) {
    std::vector<hmm_mirror_run> runs;
    ASSERT_EQ(kSuccess, Runs(addr, length, length / page_, &runs));
    std::vector<uint32_t> from_runs, pages;
    ASSERT_TRUE(Expand(runs, addr, &from_runs));
    ASSERT_EQ(kSuccess, dev_.Snapshot(addr, length, &pages));
    EXPECT_EQ(from_runs, pages);
    EXPECT_EQ(runs.size(), want_runs);
  }
};

}  // namespace hmm_conformance

#endif  // HMM_CONFORMANCE_SNAPSHOT_RUNS_H
