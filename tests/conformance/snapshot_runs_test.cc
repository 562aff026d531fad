// SPDX-License-Identifier: MIT
//
// snapshot_runs_test.cc - SNAPSHOT with HMM_MIRROR_PAGES_RUNS (ABI 2,
// HMM_MIRROR_FEAT_SNAPSHOT_RUNS; abi/README.md, "SNAPSHOT runs"): one
// record per run of pages with the same state instead of one state per
// page.  The runs must say exactly what the per-page SNAPSHOT says.

#include <sys/mman.h>

#include <vector>

#include "snapshot_runs.h"

namespace hmm_conformance {
namespace {

class SnapshotRunsTest : public SnapshotRunsFixture {};

TEST_F(SnapshotRunsTest, HandshakeReportsAbiVersionTwo) {
  EXPECT_GE(dev_.info().module_abi_version, 2u);
}

TEST_F(SnapshotRunsTest, UniformMemoryIsOneRun) {
  Mapping m(64 * page_);
  FillPattern(m.data(), m.size(), 1);
  std::vector<hmm_mirror_run> runs;
  ASSERT_EQ(kSuccess, Runs(m.addr(), m.size(), 8, &runs));
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].addr, m.addr());
  EXPECT_EQ(runs[0].length, m.size());
  EXPECT_EQ(runs[0].state, kValid | kWrite);
}

TEST_F(SnapshotRunsTest, EveryKindOfPageGivesThePerPageStates) {
  // written x2, untouched, CPU-read (zero page) x2, read-only, PROT_NONE,
  // unmapped x2, written: 7 runs over 10 pages.
  Mapping m(10 * page_);
  FillPattern(m.at(0), 2 * page_, 2);
  m.TouchRead(3 * page_, 2 * page_);
  FillPattern(m.at(5 * page_), page_, 2);
  m.Protect(5 * page_, page_, PROT_READ);
  m.Protect(6 * page_, page_, PROT_NONE);
  FillPattern(m.at(9 * page_), page_, 2);
  m.Unmap(7 * page_, 2 * page_);
  ExpectSameAsPages(m.addr(), m.size(), 7);
  std::vector<hmm_mirror_run> runs;
  ASSERT_EQ(kSuccess, Runs(m.addr(), m.size(), 16, &runs));
  ASSERT_EQ(runs.size(), 7u);
  EXPECT_EQ(runs[2].state, kValid | kZero);
  EXPECT_EQ(runs[2].length, 2 * page_);
}

TEST_F(SnapshotRunsTest, RunsSpanTheWalkPieces) {
  // 16 MiB of written memory is one run, although the module walks it in
  // pieces; a hole in the middle of a piece splits it in three.
  const uint64_t len = 16ULL << 20;
  Mapping m(len);
  m.Advise(0, len, MADV_NOHUGEPAGE);
  FillPattern(m.data(), len, 3);
  ExpectSameAsPages(m.addr(), len, 1);
  m.Unmap(5 * (1ULL << 20), page_);
  ExpectSameAsPages(m.addr(), len, 3);
}

TEST_F(SnapshotRunsTest, AFullArrayStopsAtARunBoundary) {
  // Four runs: written, untouched, written, untouched.
  Mapping m(8 * page_);
  FillPattern(m.at(0), 2 * page_, 4);
  FillPattern(m.at(4 * page_), 2 * page_, 4);
  std::vector<hmm_mirror_run> runs;
  ASSERT_EQ(kSuccess, Runs(m.addr(), m.size(), 2, &runs));
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].addr, m.addr(2 * page_));
  EXPECT_EQ(runs[1].length, 2 * page_);
  EXPECT_EQ(runs[1].state, 0u);
  // The caller goes on from the end of the last run.
  const uint64_t next = runs[1].addr + runs[1].length;
  ASSERT_EQ(kSuccess, Runs(next, m.addr() + m.size() - next, 2, &runs));
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].state, kValid | kWrite);
  EXPECT_EQ(runs[1].addr + runs[1].length, m.addr() + m.size());
  // One slot: one run.
  ASSERT_EQ(kSuccess, Runs(m.addr(), m.size(), 1, &runs));
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].length, 2 * page_);
}

TEST_F(SnapshotRunsTest, SnapshotRunsFaultNothing) {
  Mapping m(16 * page_);
  std::vector<hmm_mirror_run> runs;
  ASSERT_EQ(kSuccess, Runs(m.addr(), m.size(), 4, &runs));
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].state, 0u);
  std::vector<unsigned char> vec(16);
  ASSERT_EQ(0, mincore(m.data(), m.size(), vec.data()));
  for (unsigned char v : vec) EXPECT_EQ(v & 1, 0);
}

TEST_F(SnapshotRunsTest, BadArgumentsAreEinval) {
  Mapping m(4 * page_);
  std::vector<hmm_mirror_run> runs(4);
  hmm_mirror_pages p = MakePages(m.addr(), m.size(), nullptr, runs.size());
  p.states = U64(runs.data());
  p.flags = HMM_MIRROR_PAGES_RUNS;
  // A version-1 struct has no room for nr_runs.
  p.size = HMM_MIRROR_PAGES_SIZE_VER1;
  EXPECT_EQ(Errno(EINVAL), dev_.Call(HMM_MIRROR_IOC_SNAPSHOT, &p));
  p.size = sizeof(p);
  // No room for a single run.
  p.states_len = 0;
  EXPECT_EQ(Errno(EINVAL), dev_.Call(HMM_MIRROR_IOC_SNAPSHOT, &p));
  p.states_len = runs.size();
  // QUERY has no runs.
  EXPECT_EQ(Errno(EINVAL), dev_.Call(HMM_MIRROR_IOC_QUERY, &p));
  // The range rules of SNAPSHOT hold.
  p.length = page_ + 1;
  EXPECT_EQ(Errno(EINVAL), dev_.Call(HMM_MIRROR_IOC_SNAPSHOT, &p));
  p.length = 0;
  EXPECT_EQ(Errno(EINVAL), dev_.Call(HMM_MIRROR_IOC_SNAPSHOT, &p));
  // Still valid after all that.
  p.length = m.size();
  EXPECT_EQ(kSuccess, dev_.Call(HMM_MIRROR_IOC_SNAPSHOT, &p));
  EXPECT_EQ(p.nr_runs, 1u);
}

TEST_F(SnapshotRunsTest, BadRunsPointerIsEfault) {
  Mapping m(4 * page_);
  FillPattern(m.data(), m.size(), 5);
  hmm_mirror_pages p = MakePages(m.addr(), m.size(), nullptr, 4);
  p.flags = HMM_MIRROR_PAGES_RUNS;
  p.states = 0;
  EXPECT_EQ(Errno(EFAULT), dev_.Call(HMM_MIRROR_IOC_SNAPSHOT, &p));
  p.states = kKernelAddr;
  EXPECT_EQ(Errno(EFAULT), dev_.Call(HMM_MIRROR_IOC_SNAPSHOT, &p));
  // A read-only array: EFAULT, nothing written.
  Mapping ro(page_, PROT_READ);
  p.states = ro.addr();
  EXPECT_EQ(Errno(EFAULT), dev_.Call(HMM_MIRROR_IOC_SNAPSHOT, &p));
}

TEST_F(SnapshotRunsTest, HugePagesAreRunsOfOrderNine) {
  // Two THP-backed 2M blocks: one run of order 9 (when the kernel gives
  // huge pages); the per-page SNAPSHOT says the same either way.
  const uint64_t huge = kHugeSize;
  Mapping area(3 * huge);
  const uint64_t off = ((area.addr() + huge - 1) & ~(huge - 1)) - area.addr();
  area.Advise(off, 2 * huge, MADV_HUGEPAGE);
  FillPattern(area.at(off), 2 * huge, 6);
  const uint64_t start = area.addr() + off;
  ExpectSameAsPages(start, 2 * huge, 1);
  std::vector<hmm_mirror_run> runs;
  ASSERT_EQ(kSuccess, Runs(start + 5 * page_, huge, 4, &runs));
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].length, huge);
  if (HMM_MIRROR_PAGE_ORDER(runs[0].state) != kHugeOrder)
    GTEST_SKIP() << "the kernel gave no huge page here";
  EXPECT_EQ(runs[0].state, kValid | kWrite | (kHugeOrder << HMM_MIRROR_PAGE_ORDER_SHIFT));
}

}  // namespace
}  // namespace hmm_conformance
