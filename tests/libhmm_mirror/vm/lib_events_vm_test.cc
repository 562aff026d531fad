// SPDX-License-Identifier: MIT
//
// lib_events_vm_test.cc - hmm_mirror_events_config(), hmm_mirror_event_next() and
// polling hmm_mirror_fd(): records for munmap, mprotect and madvise,
// timeouts, overflow (LOST), and the end of the stream when the mirrored
// process exits.

#include <poll.h>
#include <time.h>

#include "vm_test.h"

namespace libhmm_vm {
namespace {

int64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

class EventsTest : public LibTest {
 protected:
  void SetUp() override {
    LibTest::SetUp();
    if (HasFatalFailure()) return;
    REQUIRE_FEATURE(m_, HMM_MIRROR_FEAT_EVENTS);
    hmm_mirror_event_record_init(&rec_);
  }

  // The next record, waiting up to 5 s.
  ::testing::AssertionResult Next() {
    int ret = hmm_mirror_event_next(m_, &rec_, 5000);
    if (ret != 0) return ::testing::AssertionFailure() << LastError();
    return ::testing::AssertionSuccess();
  }

  struct hmm_mirror_event_record rec_;
};

TEST_F(EventsTest, NotConfiguredIsExplained) {
  EXPECT_EQ(hmm_mirror_event_next(m_, &rec_, 0), -EINVAL);
  EXPECT_NE(LastError().find("hmm_mirror_events_config() first"), std::string::npos)
      << LastError();
}

TEST_F(EventsTest, MunmapGivesAnUnmapRecord) {
  ASSERT_EQ(hmm_mirror_events_config(m_, HMM_MIRROR_EVENT_ALL_REASONS, 0), 0) << LastError();
  Region r(8);
  ASSERT_EQ(hmm_mirror_fault(m_, r.addr(), r.size(), 0, nullptr, nullptr), 0) << LastError();
  ASSERT_EQ(munmap(r.data() + 4 * page_, 4 * page_), 0);
  ASSERT_TRUE(Next());
  EXPECT_STREQ(hmm_mirror_event_reason_name(rec_.reason), "unmap");
  EXPECT_EQ(rec_.start, r.addr(4 * page_));
  EXPECT_EQ(rec_.end, r.addr(8 * page_));
  EXPECT_EQ(rec_.pages, 4u);
  EXPECT_EQ(rec_.flags, 0u);
  EXPECT_EQ(hmm_mirror_event_next(m_, &rec_, 0), -EAGAIN);
  munmap(r.data(), 4 * page_);
}

TEST_F(EventsTest, ProtectionAndClearReasons) {
  ASSERT_EQ(hmm_mirror_events_config(m_, HMM_MIRROR_EVENT_ALL_REASONS, 0), 0);
  Region r(4);
  ASSERT_EQ(hmm_mirror_fault(m_, r.addr(), r.size(), HMM_MIRROR_FAULT_WRITE, nullptr,
                             nullptr), 0);
  ASSERT_EQ(mprotect(r.data(), 2 * page_, PROT_READ), 0);
  ASSERT_TRUE(Next());
  EXPECT_EQ(rec_.reason, static_cast<uint32_t>(HMM_MIRROR_EVENT_PROTECTION));
  ASSERT_EQ(madvise(r.data() + 2 * page_, 2 * page_, MADV_DONTNEED), 0);
  ASSERT_TRUE(Next());
  EXPECT_EQ(rec_.reason, static_cast<uint32_t>(HMM_MIRROR_EVENT_CLEAR));
  EXPECT_EQ(rec_.start, r.addr(2 * page_));
}

TEST_F(EventsTest, OnlyChosenReasonsAreQueued) {
  ASSERT_EQ(hmm_mirror_events_config(m_, 1u << HMM_MIRROR_EVENT_UNMAP, 0), 0);
  Region r(4);
  ASSERT_EQ(hmm_mirror_fault(m_, r.addr(), r.size(), HMM_MIRROR_FAULT_WRITE, nullptr,
                             nullptr), 0);
  ASSERT_EQ(mprotect(r.data(), r.size(), PROT_READ), 0);
  EXPECT_EQ(hmm_mirror_event_next(m_, &rec_, 0), -EAGAIN);
}

TEST_F(EventsTest, TimeoutIsHonoured) {
  ASSERT_EQ(hmm_mirror_events_config(m_, HMM_MIRROR_EVENT_ALL_REASONS, 0), 0);
  int64_t start = NowMs();
  EXPECT_EQ(hmm_mirror_event_next(m_, &rec_, 200), -EAGAIN);
  EXPECT_GE(NowMs() - start, 199);
}

TEST_F(EventsTest, FdIsReadableExactlyWhileRecordsAreQueued) {
  ASSERT_EQ(hmm_mirror_events_config(m_, HMM_MIRROR_EVENT_ALL_REASONS, 0), 0);
  struct pollfd pfd = {hmm_mirror_fd(m_), POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 0), 0);
  Region r(2);
  ASSERT_EQ(hmm_mirror_fault(m_, r.addr(), r.size(), 0, nullptr, nullptr), 0);
  r.Unmap();
  ASSERT_EQ(poll(&pfd, 1, 5000), 1);
  EXPECT_TRUE(pfd.revents & POLLIN);
  ASSERT_EQ(hmm_mirror_event_next(m_, &rec_, 0), 0) << LastError();
  EXPECT_EQ(poll(&pfd, 1, 0), 0);
}

TEST_F(EventsTest, OverflowGivesALostRecord) {
  ASSERT_EQ(hmm_mirror_events_config(m_, HMM_MIRROR_EVENT_ALL_REASONS, 1), 0) << LastError();
  Region r(8);
  ASSERT_EQ(hmm_mirror_fault(m_, r.addr(), r.size(), 0, nullptr, nullptr), 0);
  for (int i = 0; i < 4; i++)  // four separate invalidations
    ASSERT_EQ(madvise(r.data() + 2 * i * page_, page_, MADV_DONTNEED), 0);
  ASSERT_TRUE(Next());
  EXPECT_EQ(rec_.reason, static_cast<uint32_t>(HMM_MIRROR_EVENT_CLEAR));
  uint64_t first = rec_.seq;
  ASSERT_TRUE(Next());
  EXPECT_STREQ(hmm_mirror_event_reason_name(rec_.reason), "lost");
  EXPECT_EQ(rec_.seq, first + 1);
  EXPECT_EQ(rec_.pages, 3u);
}

TEST_F(EventsTest, ChangingTheLengthWithRecordsQueuedIsEbusy) {
  ASSERT_EQ(hmm_mirror_events_config(m_, HMM_MIRROR_EVENT_ALL_REASONS, 16), 0);
  Region r(2);
  ASSERT_EQ(hmm_mirror_fault(m_, r.addr(), r.size(), 0, nullptr, nullptr), 0);
  r.Unmap();
  EXPECT_EQ(hmm_mirror_events_config(m_, HMM_MIRROR_EVENT_ALL_REASONS, 32), -EBUSY);
  EXPECT_NE(LastError().find("records are queued"), std::string::npos) << LastError();
  // Changing only the reasons keeps the queue.
  EXPECT_EQ(hmm_mirror_events_config(m_, 1u << HMM_MIRROR_EVENT_UNMAP, 16), 0) << LastError();
  EXPECT_TRUE(Next());
}

TEST_F(EventsTest, QueueLengthAboveTheMaximumIsEinval) {
  EXPECT_EQ(hmm_mirror_events_config(m_, 1, 65537), -EINVAL);
  EXPECT_NE(LastError().find("65536"), std::string::npos) << LastError();
}

TEST_F(EventsTest, ExitEndsTheStream) {
  REQUIRE_FEATURE(m_, HMM_MIRROR_FEAT_ATTACH);
  REQUIRE_FEATURE(m_, HMM_MIRROR_FEAT_EXIT);
  Target t(4, 1);
  ASSERT_EQ(hmm_mirror_attach_pid(m_, t.pid()), 0) << LastError();
  ASSERT_EQ(hmm_mirror_events_config(m_, HMM_MIRROR_EVENT_ALL_REASONS, 0), 0);
  ASSERT_EQ(hmm_mirror_fault(m_, t.addr(), t.size(), 0, nullptr, nullptr), 0) << LastError();
  t.Stop();
  // Records until RELEASE, then the end of the stream.
  bool released = false;
  for (int i = 0; i < 16 && !released; i++) {
    ASSERT_TRUE(Next());
    released = rec_.reason == HMM_MIRROR_EVENT_RELEASE;
  }
  EXPECT_TRUE(released);
  EXPECT_EQ(hmm_mirror_event_next(m_, &rec_, 1000), -ESRCH);
  EXPECT_NE(LastError().find("end of the event stream"), std::string::npos) << LastError();
  struct pollfd pfd = {hmm_mirror_fd(m_), POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 0), 1);
  EXPECT_TRUE(pfd.revents & POLLHUP);
  EXPECT_EQ(hmm_mirror_fault(m_, t.addr(), t.size(), 0, nullptr, nullptr), -ESRCH);
  EXPECT_NE(LastError().find("process exited"), std::string::npos) << LastError();
}

}  // namespace
}  // namespace libhmm_vm
