// SPDX-License-Identifier: MIT
//
// errno_ioctl.h - Errno, RawIoctl and the suite's constants: what every other piece uses.
// Part of the conformance suite's helpers (../hmm_mirror_test.h).
#ifndef HMM_CONFORMANCE_ERRNO_IOCTL_H
#define HMM_CONFORMANCE_ERRNO_IOCTL_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "hmm_mirror.h"

namespace hmm_conformance {

constexpr char kDevicePath[] = "/dev/hmm_mirror";

// A kernel (direct map) address: never a valid user pointer or range.
constexpr uint64_t kKernelAddr = 0xffff888000000000ULL;

constexpr uint64_t kHugeSize = uint64_t{2} << 20;
constexpr unsigned kHugeOrder = 9;

constexpr uint64_t kRequiredFeatures =
    HMM_MIRROR_FEAT_FAULT | HMM_MIRROR_FEAT_SNAPSHOT |
    HMM_MIRROR_FEAT_DEVICE_RW | HMM_MIRROR_FEAT_QUERY;

constexpr uint32_t kAllStateFlags = HMM_MIRROR_PAGE_VALID |
                                    HMM_MIRROR_PAGE_WRITE |
                                    HMM_MIRROR_PAGE_ERROR |
                                    HMM_MIRROR_PAGE_ZERO |
                                    HMM_MIRROR_PAGE_DEVICE;

// Fill values that the module never produces, to see what it did not write.
constexpr uint8_t kCanaryByte = 0xA5;
constexpr uint32_t kStateCanary = 0xdeadbeefU;

// ---------------------------------------------------------------------------
// Errno

// The outcome of one ioctl: 0 for success, else the errno.  A positive
// return value from ioctl() (never valid for this module) is kept as a
// negative number so it cannot be mistaken for success.
class Errno {
 public:
  constexpr Errno() = default;
  constexpr explicit Errno(int value) : value_(value) {}
  constexpr int value() const { return value_; }
  friend constexpr bool operator==(Errno a, Errno b) {
    return a.value_ == b.value_;
  }
  friend constexpr bool operator!=(Errno a, Errno b) { return !(a == b); }

 private:
  int value_ = 0;
};

constexpr Errno kSuccess{0};

inline const char* ErrnoName(int e) {
  switch (e) {
    case 0: return "success";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case E2BIG: return "E2BIG";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case ENODEV: return "ENODEV";
    case EINVAL: return "EINVAL";
    case ENOTTY: return "ENOTTY";
    case ENOSPC: return "ENOSPC";
    case ERANGE: return "ERANGE";
    case ENOSYS: return "ENOSYS";
    case EOVERFLOW: return "EOVERFLOW";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: return nullptr;
  }
}

inline void PrintTo(Errno e, std::ostream* os) {
  if (e.value() < 0) {
    *os << "ioctl returned " << -e.value();
    return;
  }
  const char* name = ErrnoName(e.value());
  if (name != nullptr)
    *os << name;
  else
    *os << "errno " << e.value();
}

inline std::ostream& operator<<(std::ostream& os, Errno e) {
  PrintTo(e, &os);
  return os;
}

// ioctl(fd, cmd, arg) as an Errno.
inline Errno RawIoctl(int fd, unsigned long cmd, const void* arg) {
  errno = 0;
  int ret = ioctl(fd, cmd, arg);
  if (ret < 0) return Errno(errno);
  return Errno(-ret);
}

inline Errno RawIoctl(int fd, unsigned long cmd, uint64_t arg) {
  return RawIoctl(fd, cmd, reinterpret_cast<const void*>(arg));
}

inline uint64_t U64(const void* p) {
  return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p));
}

inline uint64_t OsPageSize() {
  return static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

// Is the user address space 47 bits (x86-64 with 4-level paging)?  Then
// 1 << 47 is beyond TASK_SIZE.  With 5-level paging it is a user address.
inline bool UserSpaceIs47Bit() {
  void* hint = reinterpret_cast<void*>(uintptr_t{1} << 47);
  void* p = mmap(hint, OsPageSize(), PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p == MAP_FAILED) return true;
  munmap(p, OsPageSize());
  return p != hint;
}

}  // namespace hmm_conformance

#endif  // HMM_CONFORMANCE_ERRNO_IOCTL_H
