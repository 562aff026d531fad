// SPDX-License-Identifier: GPL-2.0 OR MIT
//
// event_queue_test.cc - the bounded event queue: order, sequence numbers,
// overflow into LOST records, wrap-around, and a model comparison.

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <vector>

extern "C" {
#include "event_queue.h"
}

namespace {

class EventQueueTest : public ::testing::Test {
 protected:
  void Init(uint32_t cap) {
    ring_.assign(cap, hmm_mirror_event{});
    evq_init(&q_, ring_.data(), cap);
  }
  std::vector<hmm_mirror_event> PopAll() {
    std::vector<hmm_mirror_event> out(q_.cap + 1);
    out.resize(evq_pop(&q_, out.data(), out.size()));
    return out;
  }
  std::vector<hmm_mirror_event> ring_;
  evq q_{};
};

TEST_F(EventQueueTest, EmptyQueuePopsNothing) {
  Init(4);
  hmm_mirror_event e{};
  EXPECT_EQ(0u, evq_pop(&q_, &e, 1));
  EXPECT_EQ(0u, evq_pending(&q_));
}

TEST_F(EventQueueTest, RecordsComeOutInOrderWithFields) {
  Init(4);
  evq_push(&q_, HMM_MIRROR_EVENT_UNMAP, 0x1000, 0x3000, 2);
  evq_push(&q_, HMM_MIRROR_EVENT_CLEAR, 0x5000, 0x6000, 1);
  EXPECT_EQ(2u, evq_pending(&q_));
  auto got = PopAll();
  ASSERT_EQ(2u, got.size());
  EXPECT_EQ(sizeof(hmm_mirror_event), got[0].size);
  EXPECT_EQ(uint32_t{HMM_MIRROR_EVENT_UNMAP}, got[0].reason);
  EXPECT_EQ(0x1000u, got[0].start);
  EXPECT_EQ(0x3000u, got[0].end);
  EXPECT_EQ(2u, got[0].pages);
  EXPECT_EQ(0u, got[0].seq);
  EXPECT_EQ(uint32_t{HMM_MIRROR_EVENT_CLEAR}, got[1].reason);
  EXPECT_EQ(1u, got[1].seq);
  EXPECT_EQ(0u, got[1].flags);
  EXPECT_EQ(0u, got[1].reserved);
  EXPECT_EQ(2u, q_.delivered);
}

TEST_F(EventQueueTest, OverflowIsReportedByOneLostRecord) {
  Init(3);
  for (int i = 0; i < 10; i++)
    evq_push(&q_, HMM_MIRROR_EVENT_UNMAP, i * 0x1000, (i + 1) * 0x1000, 1);
  EXPECT_EQ(7u, q_.lost_total);
  auto got = PopAll();
  ASSERT_EQ(4u, got.size());  // 3 records, then the LOST record
  for (int i = 0; i < 3; i++) EXPECT_EQ(uint64_t(i), got[i].seq);
  EXPECT_EQ(uint32_t{HMM_MIRROR_EVENT_LOST}, got[3].reason);
  EXPECT_EQ(3u, got[3].seq);    // first lost event
  EXPECT_EQ(7u, got[3].pages);  // how many
  EXPECT_EQ(0u, evq_pending(&q_));
  evq_push(&q_, HMM_MIRROR_EVENT_CLEAR, 0, 0x1000, 1);
  got = PopAll();
  ASSERT_EQ(1u, got.size());
  EXPECT_EQ(10u, got[0].seq) << "no gap after the LOST record";
}

TEST_F(EventQueueTest, LostRecordGoesBeforeNewerEvents) {
  Init(2);
  for (int i = 0; i < 5; i++) evq_push(&q_, HMM_MIRROR_EVENT_UNMAP, 0, 0, 1);
  hmm_mirror_event e{};
  ASSERT_EQ(1u, evq_pop(&q_, &e, 1));  // room for one now
  evq_push(&q_, HMM_MIRROR_EVENT_CLEAR, 0, 0, 1);  // seq 5
  auto got = PopAll();
  // The LOST record for 2,3,4 took the free slot, so event 5 was lost
  // too; popping the ring empty flushes its LOST record after the others.
  ASSERT_EQ(3u, got.size());
  EXPECT_EQ(1u, got[0].seq);
  EXPECT_EQ(uint32_t{HMM_MIRROR_EVENT_LOST}, got[1].reason);
  EXPECT_EQ(2u, got[1].seq);
  EXPECT_EQ(3u, got[1].pages);
  EXPECT_EQ(uint32_t{HMM_MIRROR_EVENT_LOST}, got[2].reason);
  EXPECT_EQ(5u, got[2].seq);
  EXPECT_EQ(1u, got[2].pages);
  EXPECT_EQ(0u, evq_pending(&q_));
}

TEST_F(EventQueueTest, PeekDoesNotConsumeUntilDrop) {
  Init(4);
  evq_push(&q_, HMM_MIRROR_EVENT_UNMAP, 0, 0x1000, 1);
  evq_push(&q_, HMM_MIRROR_EVENT_CLEAR, 0, 0x1000, 1);
  hmm_mirror_event out[4];
  ASSERT_EQ(2u, evq_peek(&q_, out, 4));
  ASSERT_EQ(2u, evq_peek(&q_, out, 4)) << "peek consumed records";
  evq_drop(&q_, 1);
  ASSERT_EQ(1u, evq_peek(&q_, out, 4));
  EXPECT_EQ(1u, out[0].seq);
  EXPECT_EQ(1u, q_.delivered);
}

TEST_F(EventQueueTest, ResizeKeepsSequenceNumbers) {
  Init(2);
  evq_push(&q_, HMM_MIRROR_EVENT_UNMAP, 0, 0x1000, 1);
  ASSERT_EQ(1u, PopAll().size());
  std::vector<hmm_mirror_event> bigger(8);
  evq_resize(&q_, bigger.data(), bigger.size());
  for (int i = 0; i < 5; i++) evq_push(&q_, HMM_MIRROR_EVENT_CLEAR, 0, 0, 1);
  std::vector<hmm_mirror_event> out(8);
  ASSERT_EQ(5u, evq_pop(&q_, out.data(), out.size())) << "new capacity used";
  EXPECT_EQ(1u, out[0].seq);
  EXPECT_EQ(6u, q_.delivered);
}

// Every seq appears exactly once, as a record or inside a LOST record,
// in increasing order, whatever the interleaving of pushes and pops.
TEST_F(EventQueueTest, RandomInterleavingKeepsSeqComplete) {
  for (uint32_t cap : {1u, 2u, 5u, 64u}) {
    Init(cap);
    std::mt19937 rng(cap);
    uint64_t expect_seq = 0, pushed = 0;
    for (int step = 0; step < 20000; step++) {
      if (rng() % 3) {
        evq_push(&q_, rng() % HMM_MIRROR_EVENT_NR_REASONS, 0, 0, 1);
        pushed++;
      } else {
        hmm_mirror_event out[8];
        uint32_t n = evq_pop(&q_, out, 1 + rng() % 8);
        for (uint32_t i = 0; i < n; i++) {
          ASSERT_EQ(expect_seq, out[i].seq) << "cap " << cap;
          expect_seq += out[i].reason == HMM_MIRROR_EVENT_LOST ? out[i].pages : 1;
        }
      }
      ASSERT_LE(q_.count, cap);
    }
    auto rest = PopAll();
    while (!rest.empty()) {
      for (auto& e : rest) {
        ASSERT_EQ(expect_seq, e.seq);
        expect_seq += e.reason == HMM_MIRROR_EVENT_LOST ? e.pages : 1;
      }
      rest = PopAll();
    }
    EXPECT_EQ(pushed, expect_seq) << "cap " << cap;
  }
}

}  // namespace
