// SPDX-License-Identifier: MIT
//
// event_reader.h - reading and printing struct hmm_mirror_event records from the fd.
// Part of the conformance suite's helpers (../hmm_mirror_test.h).
#ifndef HMM_CONFORMANCE_EVENT_READER_H
#define HMM_CONFORMANCE_EVENT_READER_H

#include "errno_ioctl.h"

namespace hmm_conformance {

constexpr uint32_t ReasonBit(uint32_t reason) { return 1U << reason; }

inline const char* ReasonName(uint32_t reason) {
  switch (reason) {
    case HMM_MIRROR_EVENT_UNMAP: return "UNMAP";
    case HMM_MIRROR_EVENT_CLEAR: return "CLEAR";
    case HMM_MIRROR_EVENT_PROTECTION: return "PROTECTION";
    case HMM_MIRROR_EVENT_MIGRATE: return "MIGRATE";
    case HMM_MIRROR_EVENT_RELEASE: return "RELEASE";
    case HMM_MIRROR_EVENT_SOFT_DIRTY: return "SOFT_DIRTY";
    case HMM_MIRROR_EVENT_EXCLUSIVE: return "EXCLUSIVE";
    case HMM_MIRROR_EVENT_OTHER: return "OTHER";
    case HMM_MIRROR_EVENT_LOST: return "LOST";
    default: return "?";
  }
}

inline std::string EventString(const hmm_mirror_event& e) {
  std::ostringstream os;
  os << "{size " << e.size << ", " << ReasonName(e.reason) << " (" << e.reason
     << "), [0x" << std::hex << e.start << ", 0x" << e.end << std::dec
     << "), seq " << e.seq << ", pages " << e.pages << ", flags " << e.flags
     << ", reserved " << e.reserved << "}";
  return os.str();
}

inline std::string EventsString(const std::vector<hmm_mirror_event>& v) {
  std::ostringstream os;
  os << v.size() << " record(s)";
  for (const hmm_mirror_event& e : v) os << "\n  " << EventString(e);
  return os.str();
}

// Reads every queued record without blocking (O_NONBLOCK just for the
// reads).  *end, if given, gets what ended the reading: EAGAIN (queue
// empty), 0 (end of file) or another errno.  A read() that does not return
// whole records is a test failure.
inline std::vector<hmm_mirror_event> DrainEvents(int fd, int* end = nullptr) {
  std::vector<hmm_mirror_event> out;
  const int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  hmm_mirror_event buf[32];
  int why;
  for (int guard = 0;; ++guard) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      why = errno;
      break;
    }
    if (n == 0) {
      why = 0;
      break;
    }
    if (n % sizeof(hmm_mirror_event) != 0) {
      ADD_FAILURE() << "read() returned " << n
                    << " bytes: not a whole number of records";
      why = -1;
      break;
    }
    out.insert(out.end(), buf, buf + n / sizeof(hmm_mirror_event));
    if (guard > 100000) {
      ADD_FAILURE() << "the event queue never runs empty";
      why = -1;
      break;
    }
  }
  fcntl(fd, F_SETFL, flags);
  if (end != nullptr) *end = why;
  return out;
}

// The records of one reason.
inline std::vector<hmm_mirror_event> OfReason(
    const std::vector<hmm_mirror_event>& v, uint32_t reason) {
  std::vector<hmm_mirror_event> out;
  for (const hmm_mirror_event& e : v)
    if (e.reason == reason) out.push_back(e);
  return out;
}

// A record is well formed: its size, no flags (but one direction on a
// MIGRATE, ABI 4), nothing reserved, and for an invalidation a non-empty
// page-aligned range.
inline ::testing::AssertionResult WellFormed(const hmm_mirror_event& e) {
  const bool flags_ok =
      e.flags == 0 ||
      (e.reason == HMM_MIRROR_EVENT_MIGRATE &&
       (e.flags == HMM_MIRROR_EVENT_FLAG_TO_DEVICE ||
        e.flags == HMM_MIRROR_EVENT_FLAG_TO_SYSTEM));
  if (e.size != sizeof(hmm_mirror_event) || !flags_ok || e.reserved != 0)
    return ::testing::AssertionFailure() << EventString(e);
  if (e.reason > HMM_MIRROR_EVENT_LOST)
    return ::testing::AssertionFailure() << "unknown reason " << EventString(e);
  if (e.reason != HMM_MIRROR_EVENT_LOST && e.reason != HMM_MIRROR_EVENT_RELEASE &&
      (e.start >= e.end || e.start % OsPageSize() || e.end % OsPageSize()))
    return ::testing::AssertionFailure() << "bad range " << EventString(e);
  return ::testing::AssertionSuccess();
}

// poll() on one fd: the revents, 0 on timeout, -1 on error.
inline int PollFd(int fd, short events, int timeout_ms) {
  struct pollfd p = {fd, events, 0};
  int n;
  do {
    n = poll(&p, 1, timeout_ms);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -1;
  return n == 0 ? 0 : p.revents;
}

inline void NoopSignalHandler(int) {}

// read() that gives up after timeout_ms: a watchdog thread interrupts it
// with SIGUSR1 (no SA_RESTART), so a module that never wakes the reader
// fails the test instead of hanging the suite.  Returns read()'s result;
// errno is EINTR after a timeout.
inline ssize_t ReadWithin(int fd, void* buf, size_t count, int timeout_ms) {
  struct sigaction sa = {}, old = {};
  sa.sa_handler = NoopSignalHandler;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, &old);
  const pthread_t reader = pthread_self();
  std::atomic<bool> done{false};
  std::thread watchdog([&] {
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(timeout_ms);
    while (!done.load() && std::chrono::steady_clock::now() < deadline)
      usleep(10000);
    // Keep signalling: the first signal may land before read() blocks.
    while (!done.load()) {
      pthread_kill(reader, SIGUSR1);
      usleep(50000);
    }
  });
  const ssize_t n = read(fd, buf, count);
  const int err = errno;
  done.store(true);
  watchdog.join();
  sigaction(SIGUSR1, &old, nullptr);
  errno = err;
  return n;
}

}  // namespace hmm_conformance

#endif  // HMM_CONFORMANCE_EVENT_READER_H
