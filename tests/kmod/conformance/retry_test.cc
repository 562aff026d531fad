// SPDX-License-Identifier: MIT
//
// retry_test.cc - the retry protocol (abi/README.md, "FAULT" and
// "SNAPSHOT"): a walk starts a 4 MiB piece again only when an invalidation
// overlaps that piece; invalidations elsewhere, even in the same 1 GiB
// chunk (whose notifier guards the walk), never make a command fail.  A
// device whose own range nobody touches must make progress however busy
// the rest of the process is.

#include <sys/mman.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "hmm_mirror_test.h"

namespace hmm_conformance {
namespace {

using RetryTest = FeatureTest<HMM_MIRROR_FEAT_STATS>;

constexpr uint64_t kPiece = uint64_t{4} << 20;

TEST_F(RetryTest, ChurnElsewhereInTheChunkNeverMakesACommandFail) {
  ChunkArea area(1);
  // Two pieces nobody touches, and, 64 MiB further in the same chunk, pages
  // a thread unmaps and touches again as fast as it can.
  uint8_t* quiet = area.Map(0, 0, 2 * kPiece);
  FillPattern(quiet, 2 * kPiece, 1);
  constexpr unsigned kNoisyPages = 64;
  uint8_t* noisy = area.Map(0, 16 * kPiece, kNoisyPages * page_);
  FillPattern(noisy, kNoisyPages * page_, 2);
  // The device maps the quiet range, so the chunk's notifier sees the churn.
  ASSERT_EQ(kSuccess, dev_.Fault(U64(quiet), 2 * kPiece));

  std::atomic<bool> stop{false};
  std::atomic<long> churns{0};
  std::thread churner([&] {
    for (unsigned i = 0; !stop.load(); ++i) {
      uint8_t* p = noisy + (i % kNoisyPages) * page_;
      madvise(p, page_, MADV_DONTNEED);
      p[0] = 1;
      ++churns;
    }
  });
  hmm_mirror_stats before;
  ASSERT_EQ(kSuccess, dev_.Stats(&before));
  int calls = 0, failures = 0;
  Errno last_failure;
  std::vector<uint32_t> s;
  s.reserve(2 * kPiece / page_);
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < end) {
    Errno rc = (calls % 2) ? dev_.Snapshot(U64(quiet), 2 * kPiece, &s)
                           : dev_.Fault(U64(quiet), 2 * kPiece);
    ++calls;
    if (rc != kSuccess) {
      ++failures;
      last_failure = rc;
    }
  }
  stop = true;
  churner.join();
  hmm_mirror_stats after;
  ASSERT_EQ(kSuccess, dev_.Stats(&after));
  const uint64_t restarts = after.fault_retries - before.fault_retries;
  RecordProperty("calls", calls);
  RecordProperty("churns", static_cast<int>(churns.load()));
  RecordProperty("restarts", static_cast<int>(restarts));
  EXPECT_EQ(failures, 0) << "of " << calls << " calls, last " << last_failure;
  EXPECT_GT(churns.load(), 100) << "the churn did not run";
  EXPECT_GT(calls, 4);
  // The quiet range is still mapped and intact.
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(U64(quiet), 2 * kPiece, &q));
  EXPECT_TRUE(PagesHave(q, 0, q.size(), HMM_MIRROR_PAGE_VALID, 0));
  Mapping buf(2 * kPiece);
  ASSERT_EQ(kSuccess, dev_.Read(U64(quiet), 2 * kPiece, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), 1, U64(quiet)));
}

TEST_F(RetryTest, ChurnOfThePieceItselfRestartsItsWalk) {
  // The other side of the rule: the device's own range is invalidated
  // under it.  READ returns what the memory held at some moment of the
  // copy (per word: the pattern or the zeros of a page between
  // MADV_DONTNEED and its refill), or EBUSY; never a stale word or
  // another error.
  ChunkArea area(1);
  uint8_t* p = area.Map(0, 0, kPiece);
  FillPattern(p, kPiece, 3);
  std::atomic<bool> stop{false};
  std::thread churner([&] {
    for (unsigned i = 0; !stop.load(); ++i) {
      uint8_t* q = p + (i % 16) * page_;
      madvise(q, page_, MADV_DONTNEED);
      FillPatternAs(q, page_, 3, U64(q));
    }
  });
  hmm_mirror_stats before;
  ASSERT_EQ(kSuccess, dev_.Stats(&before));
  int ok = 0, busy = 0, other = 0;
  Mapping buf(kPiece);
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < end) {
    Errno rc = dev_.Read(U64(p), kPiece, buf.data());
    if (rc == kSuccess) {
      ++ok;
      // A page caught between MADV_DONTNEED and its refill reads, word
      // by word, as zero or as the pattern; any other word is stale.
      const auto* w = reinterpret_cast<const uint64_t*>(buf.data());
      for (uint64_t i = 0; i < kPiece / 8; ++i)
        if (w[i] != 0 && w[i] != PatternWord(3, U64(p) + 8 * i)) {
          ADD_FAILURE() << "word at offset " << 8 * i << " is neither zero "
                        << "nor the pattern: 0x" << std::hex << w[i];
          break;
        }
    } else if (rc == Errno(EBUSY)) {
      ++busy;
    } else {
      ++other;
    }
  }
  stop = true;
  churner.join();
  hmm_mirror_stats after;
  ASSERT_EQ(kSuccess, dev_.Stats(&after));
  RecordProperty("ok", ok);
  RecordProperty("ebusy", busy);
  EXPECT_EQ(other, 0);
  EXPECT_GT(ok + busy, 0);
  RecordProperty("restarts",
                 static_cast<int>(after.fault_retries - before.fault_retries));
}

}  // namespace
}  // namespace hmm_conformance
