// SPDX-License-Identifier: MIT
//
// snapshot_runs_test.cc - SNAPSHOT with HMM_MIRROR_PAGES_RUNS (ABI 2,
// HMM_MIRROR_FEAT_SNAPSHOT_RUNS; abi/README.md, "SNAPSHOT runs"): one
// record per run of pages with the same state instead of one state per
// page.  The runs must say exactly what the per-page SNAPSHOT says.

#include <sys/mman.h>

#include <cinttypes>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <utility>
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

// The VMAs of this process, from /proc/self/maps: [start, end) pairs.
std::vector<std::pair<uint64_t, uint64_t>> Vmas() {
  std::vector<std::pair<uint64_t, uint64_t>> v;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    uint64_t a, b;
    if (std::sscanf(line.c_str(), "%" SCNx64 "-%" SCNx64, &a, &b) == 2)
      v.emplace_back(a, b);
  }
  return v;
}

TEST_F(SnapshotRunsTest, HolesAreOneRunAndTheirPerPageStatesZero) {
  // Unmapped stretches (no VMA at all) around two mapped pages: the
  // per-page answer is 0 there (the canary is overwritten) and runs agree.
  ChunkArea area(1);
  munmap(reinterpret_cast<void*>(area.chunk(0)), kChunkSize);
  uint8_t* a = reinterpret_cast<uint8_t*>(
      mmap(area.at(0, 100 * page_), page_, PROT_READ | PROT_WRITE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0));
  uint8_t* b = reinterpret_cast<uint8_t*>(
      mmap(area.at(0, (uint64_t{9} << 20) + 3 * page_), page_,
           PROT_READ | PROT_WRITE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0));
  ASSERT_EQ(a, area.at(0, 100 * page_));
  ASSERT_EQ(b, area.at(0, (uint64_t{9} << 20) + 3 * page_));
  a[0] = b[0] = 1;
  const uint64_t len = uint64_t{16} << 20;
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(area.chunk(0), len, &s));
  const size_t ia = 100, ib = ((uint64_t{9} << 20) >> 12) + 3;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == ia || i == ib)
      EXPECT_EQ(s[i] & kValid, kValid) << i;
    else
      ASSERT_EQ(s[i], 0u) << "page " << i << " of a hole";
  }
  ExpectSameAsPages(area.chunk(0), len, 5);
  munmap(a, page_);
  munmap(b, page_);
  // The ChunkArea unmaps its range again: harmless.
}

TEST_F(SnapshotRunsTest, TheWholeAddressSpaceIsWalkedByVma) {
  // [64 KiB, 128 TiB - 4 GiB) is mostly holes.  Walked page table by page
  // table it took hours under TCG; holes go by VMA now.  Every page of a
  // run that is not a hole lies in a VMA of this process (as /proc/self/maps
  // lists them before or after the walk).
  const uint64_t start = uint64_t{1} << 16;
  const uint64_t end = (uint64_t{1} << 47) - (uint64_t{4} << 30);
  auto vmas = Vmas();
  // Mapped ranges are still walked page table by page table (about 4 MiB
  // a step): under ASan the shadow maps terabytes, which would measure
  // that walk, not the holes.
  uint64_t mapped = 0;
  for (const auto& v : vmas)
    if (v.first < end && start < v.second)
      mapped += std::min(v.second, end) - std::max(v.first, start);
  if (mapped > (uint64_t{64} << 30))
    GTEST_SKIP() << "this process maps " << (mapped >> 30)
                 << " GiB (ASan shadow?): not a test of holes";
  std::vector<std::pair<uint64_t, uint64_t>> nonzero;
  std::vector<hmm_mirror_run> runs;
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t at = start, calls = 0;
  while (at < end) {
    ASSERT_EQ(kSuccess, Runs(at, end - at, 4096, &runs)) << std::hex << at;
    ASSERT_FALSE(runs.empty());
    for (const hmm_mirror_run& r : runs) {
      ASSERT_EQ(r.addr, at) << "runs are contiguous";
      if (r.state != 0) nonzero.emplace_back(r.addr, r.addr + r.length);
      at += r.length;
    }
    ++calls;
  }
  const double secs = std::chrono::duration<double>(
      std::chrono::steady_clock::now() - t0).count();
  RecordProperty("calls", static_cast<int>(calls));
  RecordProperty("milliseconds", static_cast<int>(secs * 1000));
  EXPECT_EQ(at, end);
  EXPECT_LT(secs, 60.0) << "holes are not skipped";
  const auto later = Vmas();
  vmas.insert(vmas.end(), later.begin(), later.end());
  std::sort(vmas.begin(), vmas.end());
  for (const auto& r : nonzero) {
    // Is [r.first, r.second) covered by the union of the VMAs?
    uint64_t covered = r.first;
    for (const auto& v : vmas)
      if (v.first <= covered && covered < v.second) covered = v.second;
    EXPECT_GE(covered, r.second)
        << "a run of mapped pages at 0x" << std::hex << r.first << "-0x"
        << r.second << " reaches 0x" << covered << ", where no VMA is";
  }
}

}  // namespace
}  // namespace hmm_conformance
