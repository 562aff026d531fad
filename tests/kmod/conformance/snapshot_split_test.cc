// SPDX-License-Identifier: MIT
//
// snapshot_split_test.cc - a long SNAPSHOT walk is shared between the
// caller, going up from the start, and a helper on another CPU, going down
// from the end a segment at a time; they meet wherever they meet
// (abi/README.md, "SNAPSHOT"; module parameters snapshot_split and
// snapshot_split_us, set here to give every walk a helper after its first
// piece).  Wherever they meet, the answer must be the one a single walk
// gives: per page, as runs merged across the parts, when the helper's run
// buffer fills, when the user's array fills in either part, when the
// states array fails in either part or is fresh or is zapped under the
// helper, and while protections change under the walk.  The meeting point
// depends on timing, so the comparisons are made several times and every
// kind of page is spread over the whole range.

#include <sys/mman.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "snapshot_runs.h"

namespace hmm_conformance {
namespace {

constexpr char kParams[] = "/sys/module/hmm_mirror/parameters/";
constexpr uint64_t kMiB = uint64_t{1} << 20;
// Large enough for a helper whatever the mapping's alignment: the module
// gives one to a walk with 32 MiB or more left after its first 4 MiB piece;
// the helper claims 8 MiB segments from the top.
constexpr uint64_t kLength = 96 * kMiB;
// From here, more runs than a helper keeps (4096) before it gives its
// segment back to the caller.
constexpr uint64_t kAlternatingFrom = 53 * kMiB;
constexpr uint64_t kAlternatingPages = 9000;
// Walks compared with the one-walker answer: each meets somewhere else.
constexpr int kRounds = 6;

std::string ReadParam(const std::string& name) {
  std::ifstream f(kParams + name);
  std::string v;
  f >> v;
  return v;
}

bool WriteParam(const std::string& name, const std::string& v) {
  std::ofstream f(kParams + name);
  f << v << '\n';
  f.flush();
  return static_cast<bool>(f);
}

bool WriteParam(const std::string& v) { return WriteParam("snapshot_split", v); }

class SnapshotSplitTest : public SnapshotRunsFixture {
 protected:
  void SetUp() override {
    SnapshotRunsFixture::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    saved_ = ReadParam("snapshot_split");
    saved_us_ = ReadParam("snapshot_split_us");
    if (saved_.empty() || saved_us_.empty())
      GTEST_SKIP() << "no snapshot_split parameters in " << kParams;
    // Split every walk after its first piece, however fast it is.
    ASSERT_TRUE(WriteParam("snapshot_split_us", "0"));
    ASSERT_TRUE(WriteParam("Y"));
    ASSERT_EQ(ReadParam("snapshot_split"), "Y");
  }

  void TearDown() override {
    if (!saved_.empty()) WriteParam(saved_);
    if (!saved_us_.empty()) WriteParam("snapshot_split_us", saved_us_);
  }

  // kLength of written memory with every kind of page, every 37 pages over
  // the whole range, and kAlternatingPages alternating written and
  // untouched pages from kAlternatingFrom.  expect_ gets the states.
  void BuildLayout(Mapping* m) {
    const uint64_t pages = kLength / page_;
    const uint64_t alt_first = kAlternatingFrom / page_;
    const uint64_t alt_end = alt_first + kAlternatingPages;
    FillPattern(m->data(), kLength, 7);
    expect_.assign(pages, kValid | kWrite);
    const uint32_t kinds[] = {0, kValid | kZero, kValid, HMM_MIRROR_PAGE_ERROR,
                              kValid | kWrite, 0 /* hole */};
    for (uint64_t i = 1, k = 0; i < pages; i += 37, ++k) {
      if (i >= alt_first && i < alt_end) continue;
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
    for (uint64_t i = alt_first; i < alt_end; i += 2) {
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

  std::string saved_, saved_us_;
  std::vector<uint32_t> expect_;
};

TEST_F(SnapshotSplitTest, OneWalkOrTwoGiveTheSamePages) {
  Mapping m(kLength);
  BuildLayout(&m);
  for (int round = 0; round <= kRounds; ++round) {
    const char* split = round ? "Y" : "N";
    SCOPED_TRACE(std::string("snapshot_split=") + split + ", round " + std::to_string(round));
    ASSERT_TRUE(WriteParam(split));
    std::vector<uint32_t> pages;
    ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), kLength, &pages));
    ASSERT_EQ(pages.size(), expect_.size());
    for (size_t i = 0; i < pages.size(); ++i)
      ASSERT_EQ(pages[i], expect_[i]) << "page " << i << ": " << StateName(pages[i])
                                      << ", expected " << StateName(expect_[i]);
  }
}

TEST_F(SnapshotSplitTest, RunsMergeAcrossThePartsAndPastAFullHelper) {
  Mapping m(kLength);
  BuildLayout(&m);
  size_t transitions = 1;
  for (size_t i = 1; i < expect_.size(); ++i) transitions += expect_[i] != expect_[i - 1];
  std::vector<hmm_mirror_run> runs;
  for (int round = 0; round <= kRounds; ++round) {
    const char* split = round ? "Y" : "N";
    SCOPED_TRACE(std::string("snapshot_split=") + split + ", round " + std::to_string(round));
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

TEST_F(SnapshotSplitTest, ASmallRunArrayFillsInEitherPart) {
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

TEST_F(SnapshotSplitTest, AStatesArrayThatFailsInEitherPartIsEfault) {
  Mapping m(kLength);
  FillPattern(m.data(), kLength, 9);
  const uint64_t pages = kLength / page_;
  const uint64_t array_len = pages * sizeof(uint32_t);
  // The end of the array (where the helper starts) is not mapped.
  Mapping tail_gone(array_len);
  tail_gone.Unmap(array_len - page_, page_);
  hmm_mirror_pages p = MakePages(m.addr(), kLength,
                                 reinterpret_cast<uint32_t*>(tail_gone.data()), pages);
  EXPECT_EQ(Errno(EFAULT), dev_.Call(HMM_MIRROR_IOC_SNAPSHOT, &p));
  // The start of the array (the caller's part) is read-only.
  Mapping head_ro(array_len);
  head_ro.Protect(0, page_, PROT_READ);
  p.states = head_ro.addr();
  EXPECT_EQ(Errno(EFAULT), dev_.Call(HMM_MIRROR_IOC_SNAPSHOT, &p));
  // A good array still works.
  std::vector<uint32_t> states;
  ASSERT_EQ(kSuccess, dev_.Snapshot(m.addr(), kLength, &states));
  EXPECT_TRUE(PagesAre(states, 0, states.size(), kValid | kWrite));
}

TEST_F(SnapshotSplitTest, AStatesArrayNeverTouchedBeforeIsFilledIn) {
  // The helper writes with page faults disabled; the caller faults the
  // top half of a fresh array in first, and the helper stops short of any
  // page still not there.
  Mapping m(kLength);
  FillPattern(m.data(), kLength, 11);
  const uint64_t pages = kLength / page_;
  Mapping array(pages * sizeof(uint32_t));
  auto* states = reinterpret_cast<uint32_t*>(array.data());
  hmm_mirror_pages p = MakePages(m.addr(), kLength, states, pages);
  ASSERT_EQ(kSuccess, dev_.Call(HMM_MIRROR_IOC_SNAPSHOT, &p));
  for (uint64_t i = 0; i < pages; ++i)
    ASSERT_EQ(states[i], kValid | kWrite) << "page " << i;
}

TEST_F(SnapshotSplitTest, ZappingTheStatesArrayDuringTheWalkIsNoError) {
  // A thread drops the pages of the array's second half over and over.
  // A helper whose write finds a page gone stops, and the caller writes
  // the rest itself, faulting the pages in: every call succeeds.
  Mapping m(kLength);
  FillPattern(m.data(), kLength, 12);
  const uint64_t pages = kLength / page_;
  const uint64_t array_len = pages * sizeof(uint32_t);
  Mapping array(array_len);
  std::atomic<bool> stop{false};
  std::thread zapper([&] {
    while (!stop.load()) {
      array.Advise(array_len / 2, array_len / 2, MADV_DONTNEED);
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  });
  hmm_mirror_pages p = MakePages(m.addr(), kLength,
                                 reinterpret_cast<uint32_t*>(array.data()), pages);
  for (int round = 0; round < 20; ++round)
    EXPECT_EQ(kSuccess, dev_.Call(HMM_MIRROR_IOC_SNAPSHOT, &p)) << "round " << round;
  stop = true;
  zapper.join();
}

TEST_F(SnapshotSplitTest, ProtectionChangesDuringTheWalkGiveWholeStates) {
  // A thread flips 16 pages in three places of the range (the caller's
  // part, the middle, the helper's) between read-only and writable
  // while the walks run: every snapshot succeeds, each flipped page is seen
  // read-only or writable, never anything else, and the rest never changes.
  Mapping m(kLength);
  FillPattern(m.data(), kLength, 10);
  const uint64_t flips[] = {20 * kMiB, 47 * kMiB, 70 * kMiB};
  const uint64_t flip_len = 16 * page_;
  std::atomic<bool> stop{false};
  std::thread flipper([&] {
    bool ro = true;
    while (!stop.load()) {
      for (uint64_t off : flips)
        m.Protect(off, flip_len, ro ? PROT_READ : PROT_READ | PROT_WRITE);
      ro = !ro;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  auto flipped = [&](uint64_t off) {
    for (uint64_t f : flips)
      if (off >= f && off < f + flip_len) return true;
    return false;
  };
  std::vector<uint32_t> pages;
  std::vector<hmm_mirror_run> runs;
  for (int round = 0; round < 10 && !HasFailure(); ++round) {
    EXPECT_EQ(kSuccess, dev_.Snapshot(m.addr(), kLength, &pages));
    for (size_t i = 0; i < pages.size(); ++i) {
      if (flipped(i * page_))
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
