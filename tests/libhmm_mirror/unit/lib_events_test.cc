// SPDX-License-Identifier: MIT
//
// lib_events_test.cc - hmm_mirror_event_next() against the fake device, whose
// node is a FIFO: records written to it are read back one per call, the
// timeout is honoured, and the fd is pollable.

#include <errno.h>
#include <poll.h>
#include <time.h>

#include <thread>

#include "unit_test.h"

namespace {

int64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

class EventsTest : public FakeDeviceTest {};

TEST_F(EventsTest, RecordsComeOutOneByOneInOrder) {
  ASSERT_EQ(fake_device_push_event(HMM_MIRROR_EVENT_UNMAP, 0x1000, 0x3000, 7, 2), 0);
  ASSERT_EQ(fake_device_push_event(HMM_MIRROR_EVENT_LOST, 0, 0, 8, 5), 0);
  struct hmm_mirror_event_record rec;
  hmm_mirror_event_record_init(&rec);
  ASSERT_EQ(hmm_mirror_event_next(m_, &rec, 0), 0) << LastError();
  EXPECT_EQ(rec.size, sizeof(rec));
  EXPECT_EQ(rec.reason, static_cast<uint32_t>(HMM_MIRROR_EVENT_UNMAP));
  EXPECT_EQ(rec.start, 0x1000u);
  EXPECT_EQ(rec.end, 0x3000u);
  EXPECT_EQ(rec.seq, 7u);
  EXPECT_EQ(rec.pages, 2u);
  // Nothing is buffered in the library: the fd is still readable.
  struct pollfd pfd = {hmm_mirror_fd(m_), POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 0), 1);
  ASSERT_EQ(hmm_mirror_event_next(m_, &rec, -1), 0) << LastError();
  EXPECT_EQ(rec.reason, static_cast<uint32_t>(HMM_MIRROR_EVENT_LOST));
  EXPECT_EQ(rec.seq, 8u);
  EXPECT_EQ(rec.pages, 5u);
  EXPECT_EQ(poll(&pfd, 1, 0), 0);
}

TEST_F(EventsTest, EmptyQueueIsEagain) {
  struct hmm_mirror_event_record rec;
  hmm_mirror_event_record_init(&rec);
  EXPECT_EQ(hmm_mirror_event_next(m_, &rec, 0), -EAGAIN);
  EXPECT_NE(LastError().find("no event record arrived in time"), std::string::npos)
      << LastError();
}

TEST_F(EventsTest, TimeoutIsWaited) {
  struct hmm_mirror_event_record rec;
  hmm_mirror_event_record_init(&rec);
  int64_t start = NowMs();
  EXPECT_EQ(hmm_mirror_event_next(m_, &rec, 120), -EAGAIN);
  int64_t took = NowMs() - start;
  EXPECT_GE(took, 119);
  EXPECT_LT(took, 5000);
}

TEST_F(EventsTest, ARecordArrivingDuringTheWaitIsReturned) {
  struct hmm_mirror_event_record rec;
  hmm_mirror_event_record_init(&rec);
  std::thread producer([] {
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, nullptr);
    fake_device_push_event(HMM_MIRROR_EVENT_CLEAR, 0x4000, 0x5000, 0, 1);
  });
  EXPECT_EQ(hmm_mirror_event_next(m_, &rec, 5000), 0) << LastError();
  producer.join();
  EXPECT_EQ(rec.reason, static_cast<uint32_t>(HMM_MIRROR_EVENT_CLEAR));
}

TEST_F(EventsTest, ShortRecordStructGetsItsPrefix) {
  ASSERT_EQ(fake_device_push_event(HMM_MIRROR_EVENT_PROTECTION, 0x1000, 0x2000, 1, 1), 0);
  struct {
    struct hmm_mirror_event_record rec;
    uint32_t tail;
  } s;
  std::memset(&s, 0xcd, sizeof(s));
  s.rec.size = sizeof(s);
  ASSERT_EQ(hmm_mirror_event_next(m_, &s.rec, 0), 0);
  EXPECT_EQ(s.rec.reason, static_cast<uint32_t>(HMM_MIRROR_EVENT_PROTECTION));
  EXPECT_EQ(s.tail, 0xcdcdcdcdu);
}

}  // namespace
