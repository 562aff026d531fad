// SPDX-License-Identifier: MIT
//
// snapshot_split_test.cc - a SNAPSHOT of 32 MiB or more is walked by the
// caller and a helper on another CPU at once (abi/README.md, "SNAPSHOT";
// module parameter snapshot_split).  Whatever the split, the answer must be
// the one a single walk gives: per page, as runs merged across the halves,
// when the helper's run buffer fills, when the user's array fills in either
// half, when the states array fails in either half, and while protections
// change under the walk.

#include <sys/mman.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "snapshot_runs.h"

namespace hmm_conformance {
namespace {

constexpr char kSplitParam[] = "/sys/module/hmm_mirror/parameters/snapshot_split";
constexpr uint64_t kMiB = uint64_t{1} << 20;
// Large enough to be split whatever the mapping's alignment (the module
// splits at the middle, aligned down to 4 MiB).
constexpr uint64_t kLength = 96 * kMiB;
// More runs than a helper keeps (4096) before it hands back to the caller.
constexpr uint64_t kAlternatingPages = 9000;

std::string ReadParam() {
  std::ifstream f(kSplitParam);
  std::string v;
  f >> v;
  return v;
}

bool WriteParam(const std::string& v) {
  std::ofstream f(kSplitParam);
  f << v << '\n';
  f.flush();
  return static_cast<bool>(f);
}

class SnapshotSplitTest : public SnapshotRunsFixture {
 protected:
  void SetUp() override {
    SnapshotRunsFixture::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    saved_ = ReadParam();
    if (saved_.empty()) GTEST_SKIP() << "no " << kSplitParam;
    ASSERT_TRUE(WriteParam("Y"));
    ASSERT_EQ(ReadParam(), "Y");
  }

  void TearDown() override {
    if (!saved_.empty()) WriteParam(saved_);
  }

  // kLength of written memory with every kind of page around the middle,
  // where the module splits, and kAlternatingPages alternating written and
  // untouched pages in the second half.  expect_ gets the states.
  void BuildLayout(Mapping* m) {
    const uint64_t pages = kLength / page_;
    FillPattern(m->data(), kLength, 7);
    expect_.assign(pages, kValid | kWrite);
    // Every kind of page, cycling, from 27 to 33 MiB: the split point lies
    // between 28 and 32 MiB from the start of the range.
    const uint32_t kinds[] = {0, kValid | kZero, kValid, HMM_MIRROR_PAGE_ERROR,
                              kValid | kWrite, 0 /* hole */};
    for (uint64_t i = 27 * kMiB / page_, k = 0; i < 33 * kMiB / page_; i += 7, ++k) {
      const uint64_t kind = k % 6, off = i * page_;
      if (kind == 0) m->Advise(off, page_, MADV_DONTNEED);
      if (kind == 1) {
        m->Advise(off, page_, MADV_DONTNEED);
        m->TouchRead(off, page_);
      }
      if (kind == 2) m->Protect(off, page_, PROT_READ);
      if (kind == 3) m->Protect(off, page_, PROT_NONE);
      if (kind == 5) m->Unmap(off, page_);
      expect_[i] = kinds[kind];
    }
    const uint64_t first = 50 * kMiB / page_;
    for (uint64_t i = first; i < first + kAlternatingPages; i += 2) {
      m->Advise(i * page_, page_, MADV_DONTNEED);
      expect_[i] = 0;
    }
  }

  // The runs of the whole range asked for @cap at a time.
  void RunsInSteps(uint64_t addr, uint64_t cap, std::vector<hmm_mirror_run>* all) {
    all->clear();
    uint64_t at = addr;
    std::vector<hmm_mirror_run> runs;
    while (at < addr + kLength) {
      ASSERT_EQ(kSuccess, Runs(at, addr + kLength - at, cap, &runs)) << "at 0x" << std::hex << at;
      ASSERT_FALSE(runs.empty());
      // A run never continues one of the previous call.
      if (!all->empty()) {
        ASSERT_NE(all->back().state, runs.front().state);
      }
      all->insert(all->end(), runs.begin(), runs.end());
      at = runs.back().addr + runs.back().length;
    }
  }

  std::string saved_;
  std::vector<uint32_t> expect_;
};

TEST_F(SnapshotSplitTest, OneWalkOrTwoGiveTheSamePages) {
  Mapping m(kLength);
  BuildLayout(&m);
  for (const char* split : {"N", "Y"}) {
    SCOPED_TRACE(std::string("snapshot_split=") + split);
    ASSERT_TRUE(WriteParam(split));
    std::vector<uint32_t> pages;
    ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), kLength, &pages));
    ASSERT_EQ(pages.size(), expect_.size());
    for (size_t i = 0; i < pages.size(); ++i)
      ASSERT_EQ(pages[i], expect_[i]) << "page " << i << ": " << StateName(pages[i])
                                      << ", expected " << StateName(expect_[i]);
  }
}

TEST_F(SnapshotSplitTest, RunsMergeAcrossTheHalvesAndPastAFullHelper) {
  Mapping m(kLength);
  BuildLayout(&m);
  size_t transitions = 1;
  for (size_t i = 1; i < expect_.size(); ++i) transitions += expect_[i] != expect_[i - 1];
  std::vector<hmm_mirror_run> runs;
  for (const char* split : {"N", "Y"}) {
    SCOPED_TRACE(std::string("snapshot_split=") + split);
    ASSERT_TRUE(WriteParam(split));
    ASSERT_EQ(kSuccess, Runs(m.addr(), kLength, kLength / page_, &runs));
    std::vector<uint32_t> from_runs;
    ASSERT_TRUE(Expand(runs, m.addr(), &from_runs));
    EXPECT_EQ(from_runs, expect_);
    EXPECT_EQ(runs.size(), transitions);
  }
  // Uniform memory is one run whatever the split.
  Mapping u(kLength);
  FillPattern(u.data(), kLength, 8);
  ASSERT_EQ(kSuccess, Runs(u.addr(), kLength, 4, &runs));
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].length, kLength);
}

TEST_F(SnapshotSplitTest, ASmallRunArrayFillsInEitherHalf) {
  Mapping m(kLength);
  BuildLayout(&m);
  ASSERT_TRUE(WriteParam("N"));
  std::vector<hmm_mirror_run> whole;
  ASSERT_EQ(kSuccess, Runs(m.addr(), kLength, kLength / page_, &whole));
  ASSERT_TRUE(WriteParam("Y"));
  for (uint64_t cap : {1, 5, 333, 5000}) {
    SCOPED_TRACE("cap " + std::to_string(cap));
    std::vector<hmm_mirror_run> steps;
    RunsInSteps(m.addr(), cap, &steps);
    ASSERT_EQ(steps.size(), whole.size());
    for (size_t i = 0; i < steps.size(); ++i) {
      ASSERT_EQ(steps[i].addr, whole[i].addr) << "run " << i;
      ASSERT_EQ(steps[i].length, whole[i].length) << "run " << i;
      ASSERT_EQ(steps[i].state, whole[i].state) << "run " << i;
    }
  }
}

TEST_F(SnapshotSplitTest, AStatesArrayThatFailsInEitherHalfIsEfault) {
  Mapping m(kLength);
  FillPattern(m.data(), kLength, 9);
  const uint64_t pages = kLength / page_;
  const uint64_t array_len = pages * sizeof(uint32_t);
  // The end of the array (the helper's half) is not mapped.
  Mapping tail_gone(array_len);
  tail_gone.Unmap(array_len - page_, page_);
  hmm_mirror_pages p = MakePages(m.addr(), kLength,
                                 reinterpret_cast<uint32_t*>(tail_gone.data()), pages);
  EXPECT_EQ(Errno(EFAULT), dev_.Call(HMM_MIRROR_IOC_SNAPSHOT, &p));
  // The start of the array (the caller's half) is read-only.
  Mapping head_ro(array_len);
  head_ro.Protect(0, page_, PROT_READ);
  p.states = head_ro.addr();
  EXPECT_EQ(Errno(EFAULT), dev_.Call(HMM_MIRROR_IOC_SNAPSHOT, &p));
  // A good array still works, and the helper wrote its half of it.
  std::vector<uint32_t> states;
  ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), kLength, &states));
  EXPECT_TRUE(PagesAre(states, 0, states.size(), kValid | kWrite));
}

TEST_F(SnapshotSplitTest, ProtectionChangesDuringTheWalkGiveWholeStates) {
  // A thread flips 16 pages on each side of the middle between read-only
  // and writable while both halves are walked: every snapshot succeeds,
  // and each flipped page is seen read-only or writable, never anything
  // else; the rest never changes.
  Mapping m(kLength);
  FillPattern(m.data(), kLength, 10);
  const uint64_t flip_off = 30 * kMiB, flip_len = 4 * kMiB;
  std::atomic<bool> stop{false};
  std::thread flipper([&] {
    bool ro = true;
    while (!stop.load()) {
      m.Protect(flip_off, 16 * page_, ro ? PROT_READ : PROT_READ | PROT_WRITE);
      m.Protect(flip_off + flip_len - 16 * page_, 16 * page_,
                ro ? PROT_READ : PROT_READ | PROT_WRITE);
      ro = !ro;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  std::vector<uint32_t> pages;
  std::vector<hmm_mirror_run> runs;
  for (int round = 0; round < 10 && !HasFailure(); ++round) {
    EXPECT_EQ(kSuccess, dev_.Snapshot(m.addr(), kLength, &pages));
    for (size_t i = 0; i < pages.size(); ++i) {
      const uint64_t off = i * page_;
      const bool flipped = (off >= flip_off && off < flip_off + 16 * page_) ||
                           (off >= flip_off + flip_len - 16 * page_ &&
                            off < flip_off + flip_len);
      if (flipped)
        EXPECT_TRUE(pages[i] == kValid || pages[i] == (kValid | kWrite))
            << "page " << i << ": " << StateName(pages[i]);
      else
        EXPECT_EQ(pages[i], kValid | kWrite) << "page " << i;
      if (HasFailure()) break;
    }
    EXPECT_EQ(kSuccess, Runs(m.addr(), kLength, kLength / page_, &runs));
    std::vector<uint32_t> from_runs;
    EXPECT_TRUE(Expand(runs, m.addr(), &from_runs));
    EXPECT_EQ(from_runs.size(), kLength / page_);
  }
  stop = true;
  flipper.join();
}

}  // namespace
}  // namespace hmm_conformance
