// SPDX-License-Identifier: MIT
//
// hmm_mirror_test.h - shared helpers for the /dev/hmm_mirror conformance
// suite.  Every test talks to the real module through raw ioctls; nothing
// here hides an error: the helpers return the errno the module answered.
//
// Contents:
//   Errno         an errno value that gtest prints by name ("EINVAL")
//   Mirror        one open, handshaken /dev/hmm_mirror with one helper per
//                 command
//   MirrorTest    the fixture every device test derives from
//   Mapping       an anonymous mmap() that remembers which pages it still
//                 owns, so tests can munmap() parts of it safely
//   Child         a forked child process that waits for Go()
//   patterns, page-state formatting and assertions
//   features      HMM_REQUIRE_FEATURES: skip a test the module cannot run
//   events        reading struct hmm_mirror_event records from the fd
//   ChunkArea     1 GiB-aligned chunks of address space the test owns
#ifndef HMM_MIRROR_CONFORMANCE_TEST_H
#define HMM_MIRROR_CONFORMANCE_TEST_H

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
                                    HMM_MIRROR_PAGE_ZERO;

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

// ---------------------------------------------------------------------------
// Argument structs

inline hmm_mirror_handshake MakeHandshake() {
  hmm_mirror_handshake hs;
  std::memset(&hs, 0, sizeof(hs));
  hs.size = sizeof(hs);
  hs.abi_version = HMM_MIRROR_ABI_VERSION;
  hs.features_wanted = kRequiredFeatures | HMM_MIRROR_FEAT_HUGE_ENTRIES;
  return hs;
}

inline hmm_mirror_fault MakeFault(uint64_t addr, uint64_t length,
                                  uint32_t flags = 0) {
  hmm_mirror_fault f;
  std::memset(&f, 0, sizeof(f));
  f.size = sizeof(f);
  f.flags = flags;
  f.addr = addr;
  f.length = length;
  return f;
}

inline hmm_mirror_pages MakePages(uint64_t addr, uint64_t length,
                                  const uint32_t* states,
                                  uint64_t states_len) {
  hmm_mirror_pages p;
  std::memset(&p, 0, sizeof(p));
  p.size = sizeof(p);
  p.addr = addr;
  p.length = length;
  p.states = U64(states);
  p.states_len = states_len;
  return p;
}

inline hmm_mirror_rw MakeRw(uint64_t addr, uint64_t length, const void* buf) {
  hmm_mirror_rw rw;
  std::memset(&rw, 0, sizeof(rw));
  rw.size = sizeof(rw);
  rw.addr = addr;
  rw.length = length;
  rw.buf = U64(buf);
  return rw;
}

inline hmm_mirror_attach MakeAttach(int pidfd) {
  hmm_mirror_attach a;
  std::memset(&a, 0, sizeof(a));
  a.size = sizeof(a);
  a.pidfd = static_cast<uint32_t>(pidfd);
  return a;
}

inline hmm_mirror_events MakeEvents(uint32_t reasons, uint32_t queue_len = 0) {
  hmm_mirror_events e;
  std::memset(&e, 0, sizeof(e));
  e.size = sizeof(e);
  e.reasons = reasons;
  e.queue_len = queue_len;
  return e;
}

inline hmm_mirror_stats MakeStats(uint32_t flags = 0) {
  hmm_mirror_stats st;
  std::memset(&st, 0, sizeof(st));
  st.size = sizeof(st);
  st.flags = flags;
  return st;
}

// pidfd_open(2) without a libc wrapper: the fd, or -1 with errno set.
inline int PidfdOpen(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

// ---------------------------------------------------------------------------
// Mirror: one open /dev/hmm_mirror

class Mirror {
 public:
  Mirror() = default;
  Mirror(const Mirror&) = delete;
  Mirror& operator=(const Mirror&) = delete;
  ~Mirror() { Close(); }

  // Opens the device and does the handshake.  Returns "" on success, else
  // an explanation meant for a test failure message.
  std::string Open() {
    Close();
    fd_ = open(kDevicePath, O_RDWR | O_CLOEXEC);
    if (fd_ < 0) {
      int e = errno;
      std::ostringstream msg;
      msg << "cannot open " << kDevicePath << ": " << std::strerror(e)
          << ".  This suite exercises the real hmm_mirror.ko: it must run "
             "as root with the module loaded (tests/vm/run-vm.sh loads it "
             "inside the test VM).";
      return msg.str();
    }
    info_ = MakeHandshake();
    Errno rc = Handshake(&info_);
    if (rc != kSuccess) {
      std::ostringstream msg;
      msg << "HMM_MIRROR_IOC_HANDSHAKE with a version-1 struct failed: " << rc;
      return msg.str();
    }
    if (info_.page_shift < 12 || info_.page_shift > 16 ||
        (uint64_t{1} << info_.page_shift) != OsPageSize()) {
      std::ostringstream msg;
      msg << "handshake page_shift " << info_.page_shift
          << " does not match the CPU page size " << OsPageSize();
      return msg.str();
    }
    return "";
  }

  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  int fd() const { return fd_; }
  const hmm_mirror_handshake& info() const { return info_; }
  uint64_t page_size() const { return uint64_t{1} << info_.page_shift; }

  Errno Call(unsigned long cmd, const void* arg) const {
    return RawIoctl(fd_, cmd, arg);
  }

  Errno Handshake(hmm_mirror_handshake* hs) const {
    return Call(HMM_MIRROR_IOC_HANDSHAKE, hs);
  }

  Errno Fault(uint64_t addr, uint64_t length, uint32_t flags = 0,
              hmm_mirror_fault* out = nullptr) const {
    hmm_mirror_fault f = MakeFault(addr, length, flags);
    Errno rc = Call(HMM_MIRROR_IOC_FAULT, &f);
    if (out != nullptr) *out = f;
    return rc;
  }

  // SNAPSHOT / QUERY into *states, resized to one entry per page and
  // prefilled with kStateCanary.  Keeps the vector's storage when it is
  // large enough, so no memory is allocated when the caller reserved it.
  Errno Snapshot(uint64_t addr, uint64_t length,
                 std::vector<uint32_t>* states) const {
    return Pages(HMM_MIRROR_IOC_SNAPSHOT, addr, length, states);
  }

  Errno Query(uint64_t addr, uint64_t length,
              std::vector<uint32_t>* states) const {
    return Pages(HMM_MIRROR_IOC_QUERY, addr, length, states);
  }

  Errno Read(uint64_t addr, uint64_t length, void* buf,
             uint64_t* device_faults = nullptr) const {
    return Rw(HMM_MIRROR_IOC_READ, addr, length, buf, device_faults);
  }

  Errno Write(uint64_t addr, uint64_t length, const void* buf,
              uint64_t* device_faults = nullptr) const {
    return Rw(HMM_MIRROR_IOC_WRITE, addr, length, buf, device_faults);
  }

  // Does the module advertise every one of these HMM_MIRROR_FEAT_* bits?
  bool Has(uint64_t features) const {
    return (info_.features_supported & features) == features;
  }

  Errno Attach(int pidfd) const {
    hmm_mirror_attach a = MakeAttach(pidfd);
    return Call(HMM_MIRROR_IOC_ATTACH, &a);
  }

  Errno SetEvents(uint32_t reasons, uint32_t queue_len = 0) const {
    hmm_mirror_events e = MakeEvents(reasons, queue_len);
    return Call(HMM_MIRROR_IOC_EVENTS, &e);
  }

  Errno Stats(hmm_mirror_stats* out, uint32_t flags = 0) const {
    *out = MakeStats(flags);
    return Call(HMM_MIRROR_IOC_STATS, out);
  }

 private:
  Errno Pages(unsigned long cmd, uint64_t addr, uint64_t length,
              std::vector<uint32_t>* states) const {
    uint64_t n = length / page_size();
    states->assign(n == 0 ? 1 : n, kStateCanary);
    hmm_mirror_pages p = MakePages(addr, length, states->data(), n);
    states->resize(n);
    return Call(cmd, &p);
  }

  Errno Rw(unsigned long cmd, uint64_t addr, uint64_t length, const void* buf,
           uint64_t* device_faults) const {
    hmm_mirror_rw rw = MakeRw(addr, length, buf);
    rw.device_faults = ~uint64_t{0};
    Errno rc = Call(cmd, &rw);
    if (device_faults != nullptr) *device_faults = rw.device_faults;
    return rc;
  }

  int fd_ = -1;
  hmm_mirror_handshake info_ = {};
};

// ---------------------------------------------------------------------------
// Mapping: an anonymous private mmap

class Mapping {
 public:
  // advice: a madvise() advice applied to the whole mapping, or -1.  The
  // default MADV_NOHUGEPAGE keeps small test mappings out of THP (and out
  // of VMA merges with neighbours that could make them THP eligible), so
  // that page states and orders are deterministic.
  explicit Mapping(uint64_t length, int prot = PROT_READ | PROT_WRITE,
                   int advice = MADV_NOHUGEPAGE)
      : length_(length), owned_(length / OsPageSize(), true) {
    void* p = mmap(nullptr, length, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      throw std::runtime_error(std::string("mmap failed: ") +
                               std::strerror(errno));
    base_ = static_cast<uint8_t*>(p);
    if (advice >= 0) Advise(0, length, advice);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  ~Mapping() {
    const uint64_t ps = OsPageSize();
    size_t i = 0;
    while (i < owned_.size()) {
      if (!owned_[i]) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < owned_.size() && owned_[j]) ++j;
      munmap(base_ + i * ps, (j - i) * ps);
      i = j;
    }
  }

  uint8_t* data() const { return base_; }
  uint8_t* at(uint64_t offset) const { return base_ + offset; }
  uint64_t addr() const { return U64(base_); }
  uint64_t addr(uint64_t offset) const { return U64(base_) + offset; }
  uint64_t size() const { return length_; }

  void Protect(uint64_t offset, uint64_t length, int prot) const {
    if (mprotect(base_ + offset, length, prot) != 0)
      throw std::runtime_error(std::string("mprotect failed: ") +
                               std::strerror(errno));
  }

  void Advise(uint64_t offset, uint64_t length, int advice) const {
    if (madvise(base_ + offset, length, advice) != 0)
      throw std::runtime_error(std::string("madvise failed: ") +
                               std::strerror(errno));
  }

  // munmap() part of the mapping; the destructor leaves it alone (the
  // hole may be reused by someone else's mapping by then).
  void Unmap(uint64_t offset, uint64_t length) {
    if (munmap(base_ + offset, length) != 0)
      throw std::runtime_error(std::string("munmap failed: ") +
                               std::strerror(errno));
    const uint64_t ps = OsPageSize();
    for (uint64_t off = offset; off < offset + length; off += ps)
      owned_[off / ps] = false;
  }

  // Touches every page by reading it from the CPU: untouched private
  // anonymous pages get the shared zero page.
  void TouchRead(uint64_t offset, uint64_t length) const {
    uint8_t sum = 0;
    for (uint64_t off = offset; off < offset + length; off += OsPageSize())
      sum = static_cast<uint8_t>(sum + *reinterpret_cast<volatile uint8_t*>(base_ + off));
    sink_ = sum;
  }

 private:
  uint8_t* base_ = nullptr;
  uint64_t length_ = 0;
  std::vector<bool> owned_;
  mutable volatile uint8_t sink_ = 0;
};

// ---------------------------------------------------------------------------
// Data patterns

// The word a pattern puts at address addr.  Depends on the address, so a
// buffer can be checked against any part of a range.
inline uint64_t PatternWord(uint64_t seed, uint64_t addr) {
  uint64_t x = (seed + 1) * 0x9E3779B97F4A7C15ULL ^ addr;
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 29;
  return x | 1;  // never zero: zero-filled memory never matches
}

// Fills [p, p + length) with the pattern for where it lives.
inline void FillPattern(void* p, uint64_t length, uint64_t seed) {
  auto* w = static_cast<uint64_t*>(p);
  for (uint64_t i = 0; i < length / 8; ++i)
    w[i] = PatternWord(seed, U64(p) + 8 * i);
}

// Fills a buffer with the pattern as if it lived at as_addr.
inline void FillPatternAs(void* p, uint64_t length, uint64_t seed,
                          uint64_t as_addr) {
  auto* w = static_cast<uint64_t*>(p);
  for (uint64_t i = 0; i < length / 8; ++i)
    w[i] = PatternWord(seed, as_addr + 8 * i);
}

// Does [p, p + length) hold the pattern of the memory at as_addr?
inline ::testing::AssertionResult HasPatternAs(const void* p, uint64_t length,
                                               uint64_t seed,
                                               uint64_t as_addr) {
  const auto* w = static_cast<const uint64_t*>(p);
  for (uint64_t i = 0; i < length / 8; ++i) {
    uint64_t want = PatternWord(seed, as_addr + 8 * i);
    if (w[i] != want) {
      return ::testing::AssertionFailure()
             << "byte offset " << 8 * i << " (page " << (8 * i) / OsPageSize()
             << ") holds 0x" << std::hex << w[i] << ", expected 0x" << want
             << " (pattern " << std::dec << seed << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult HasPattern(const void* p, uint64_t length,
                                             uint64_t seed) {
  return HasPatternAs(p, length, seed, U64(p));
}

inline ::testing::AssertionResult IsFilledWith(const void* p, uint64_t length,
                                               uint8_t byte) {
  const auto* b = static_cast<const uint8_t*>(p);
  for (uint64_t i = 0; i < length; ++i) {
    if (b[i] != byte) {
      return ::testing::AssertionFailure()
             << "byte offset " << i << " (page " << i / OsPageSize()
             << ") is 0x" << std::hex << unsigned{b[i]} << ", expected 0x"
             << unsigned{byte};
    }
  }
  return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------------------
// Page states

inline std::string StateName(uint32_t s) {
  if (s == 0) return "0";
  if (s == kStateCanary) return "<not written by the module>";
  std::ostringstream os;
  const char* sep = "";
  const struct {
    uint32_t bit;
    const char* name;
  } names[] = {{HMM_MIRROR_PAGE_VALID, "VALID"},
               {HMM_MIRROR_PAGE_WRITE, "WRITE"},
               {HMM_MIRROR_PAGE_ERROR, "ERROR"},
               {HMM_MIRROR_PAGE_ZERO, "ZERO"}};
  for (const auto& n : names) {
    if (s & n.bit) {
      os << sep << n.name;
      sep = "|";
    }
  }
  uint32_t unknown = s & ~(kAllStateFlags | (0xffU << HMM_MIRROR_PAGE_ORDER_SHIFT));
  if (unknown) os << sep << "0x" << std::hex << unknown << std::dec;
  os << " order " << HMM_MIRROR_PAGE_ORDER(s);
  return os.str();
}

namespace detail {
template <typename Pred>
::testing::AssertionResult CheckPages(const std::vector<uint32_t>& states,
                                      size_t first, size_t end, Pred ok,
                                      const std::string& expected) {
  if (end > states.size()) {
    return ::testing::AssertionFailure()
           << "asked about pages [" << first << ", " << end << ") of "
           << states.size();
  }
  std::ostringstream bad;
  size_t nbad = 0;
  for (size_t i = first; i < end; ++i) {
    if (ok(states[i])) continue;
    if (nbad < 8) bad << "\n  page " << i << ": " << StateName(states[i]);
    ++nbad;
  }
  if (nbad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << nbad << " of pages [" << first << ", " << end << ") are not "
         << expected << ":" << bad.str() << (nbad > 8 ? "\n  ..." : "");
}
}  // namespace detail

// Every state in [first, end) equals want exactly (flags and order).
inline ::testing::AssertionResult PagesAre(const std::vector<uint32_t>& states,
                                           size_t first, size_t end,
                                           uint32_t want) {
  return detail::CheckPages(
      states, first, end, [want](uint32_t s) { return s == want; },
      StateName(want));
}

// Every state in [first, end) has all bits of set and none of clear.
inline ::testing::AssertionResult PagesHave(const std::vector<uint32_t>& states,
                                            size_t first, size_t end,
                                            uint32_t set, uint32_t clear) {
  std::string what = "with " + StateName(set);
  if (clear) what += " and without " + StateName(clear);
  return detail::CheckPages(
      states, first, end,
      [set, clear](uint32_t s) {
        return s != kStateCanary && (s & set) == set && (s & clear) == 0;
      },
      what);
}

// Every state in [first, end) reports the given order.
inline ::testing::AssertionResult PagesOfOrder(
    const std::vector<uint32_t>& states, size_t first, size_t end,
    unsigned order) {
  return detail::CheckPages(
      states, first, end,
      [order](uint32_t s) {
        return s != kStateCanary && HMM_MIRROR_PAGE_ORDER(s) == order;
      },
      "of order " + std::to_string(order));
}

// ---------------------------------------------------------------------------
// Fixture

class MirrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err = dev_.Open();
    ASSERT_TRUE(err.empty()) << err;
    page_ = dev_.page_size();
  }

  Mirror dev_;
  uint64_t page_ = 4096;
};

// Waits for child @pid: its exit code, 128 + signal number, or -1.
inline int WaitExitCode(pid_t pid) {
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid, &status, 0);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// ---------------------------------------------------------------------------
// Child: a forked child that runs body after the parent calls Go()

class Child {
 public:
  // The child blocks until Go() (or until the parent closes the pipe by
  // destroying this object), then exits with body()'s return value.  body
  // must not use gtest assertions.
  explicit Child(const std::function<int()>& body) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
      throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
    pid_ = fork();
    if (pid_ < 0) {
      close(p[0]);
      close(p[1]);
      throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    }
    if (pid_ == 0) {
      close(p[1]);
      char c;
      ssize_t n;
      do {
        n = read(p[0], &c, 1);
      } while (n < 0 && errno == EINTR);
      if (n != 1) _exit(100);  // the parent gave up
      _exit(body());
    }
    close(p[0]);
    go_fd_ = p[1];
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (go_fd_ >= 0) close(go_fd_);
    if (pid_ > 0) {
      int status;
      while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }

  void Go() {
    if (go_fd_ < 0) return;
    char c = 'g';
    if (write(go_fd_, &c, 1) != 1)
      throw std::runtime_error(std::string("write: ") + std::strerror(errno));
    close(go_fd_);
    go_fd_ = -1;
  }

  pid_t pid() const { return pid_; }

  // Waits for the child: its exit code, or 128 + signal number.
  int Wait() {
    Go();
    const int code = WaitExitCode(pid_);
    pid_ = -1;
    return code;
  }

 private:
  pid_t pid_ = -1;
  int go_fd_ = -1;
};

// ---------------------------------------------------------------------------
// Features: a test of a feature the module does not advertise is skipped,
// with a message naming the missing bit(s).

inline std::string FeatureNames(uint64_t features) {
  static const struct {
    uint64_t bit;
    const char* name;
  } kNames[] = {
      {HMM_MIRROR_FEAT_FAULT, "HMM_MIRROR_FEAT_FAULT"},
      {HMM_MIRROR_FEAT_SNAPSHOT, "HMM_MIRROR_FEAT_SNAPSHOT"},
      {HMM_MIRROR_FEAT_DEVICE_RW, "HMM_MIRROR_FEAT_DEVICE_RW"},
      {HMM_MIRROR_FEAT_QUERY, "HMM_MIRROR_FEAT_QUERY"},
      {HMM_MIRROR_FEAT_HUGE_ENTRIES, "HMM_MIRROR_FEAT_HUGE_ENTRIES"},
      {HMM_MIRROR_FEAT_ATTACH, "HMM_MIRROR_FEAT_ATTACH"},
      {HMM_MIRROR_FEAT_EVENTS, "HMM_MIRROR_FEAT_EVENTS"},
      {HMM_MIRROR_FEAT_LAZY_NOTIFIERS, "HMM_MIRROR_FEAT_LAZY_NOTIFIERS"},
      {HMM_MIRROR_FEAT_FILE_BACKED, "HMM_MIRROR_FEAT_FILE_BACKED"},
      {HMM_MIRROR_FEAT_FORK, "HMM_MIRROR_FEAT_FORK"},
      {HMM_MIRROR_FEAT_EXIT, "HMM_MIRROR_FEAT_EXIT"},
      {HMM_MIRROR_FEAT_STATS, "HMM_MIRROR_FEAT_STATS"},
      {HMM_MIRROR_FEAT_SNAPSHOT_RUNS, "HMM_MIRROR_FEAT_SNAPSHOT_RUNS"},
      {HMM_MIRROR_FEAT_RW_COPIED, "HMM_MIRROR_FEAT_RW_COPIED"},
      {HMM_MIRROR_FEAT_ADDR_LIMIT, "HMM_MIRROR_FEAT_ADDR_LIMIT"},
  };
  std::ostringstream os;
  const char* sep = "";
  for (unsigned bit = 0; bit < 64; ++bit) {
    const uint64_t f = uint64_t{1} << bit;
    if (!(features & f)) continue;
    const char* name = nullptr;
    for (const auto& n : kNames)
      if (n.bit == f) name = n.name;
    os << sep << (name ? name : "feature") << " (bit " << bit << ")";
    sep = ", ";
  }
  return os.str();
}

// Skips the test unless `mirror` (a Mirror) advertises every bit of
// `features`.  Usable in a test body or a fixture's SetUp().
#define HMM_REQUIRE_FEATURES(mirror, features)                             \
  do {                                                                     \
    const uint64_t hmm_missing_ =                                          \
        (features) & ~(mirror).info().features_supported;                  \
    if (hmm_missing_ != 0)                                                 \
      GTEST_SKIP() << "the module does not advertise "                     \
                   << ::hmm_conformance::FeatureNames(hmm_missing_);       \
  } while (0)

// A MirrorTest that runs only when the module advertises kFeatures.  A
// derived SetUp() calls this one first and returns when IsSkipped().
template <uint64_t kFeatures>
class FeatureTest : public MirrorTest {
 protected:
  void SetUp() override {
    MirrorTest::SetUp();
    if (HasFatalFailure()) return;
    HMM_REQUIRE_FEATURES(dev_, kFeatures);
  }
};

// Polls cond() every 10 ms until it holds or timeout_ms passed; returns its
// last value.  For the things the ABI promises "shortly after".
inline bool WaitFor(const std::function<bool()>& cond, int timeout_ms = 5000) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return cond();
    usleep(10000);
  }
}

// ---------------------------------------------------------------------------
// Events

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

// A record is well formed: its size, no flags, nothing reserved, and for
// an invalidation a non-empty page-aligned range.
inline ::testing::AssertionResult WellFormed(const hmm_mirror_event& e) {
  if (e.size != sizeof(hmm_mirror_event) || e.flags != 0 || e.reserved != 0)
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

// ---------------------------------------------------------------------------
// Stats

inline uint64_t TotalInvalidations(const hmm_mirror_stats& s) {
  uint64_t sum = 0;
  for (uint64_t n : s.invalidations) sum += n;
  return sum;
}

inline std::string StatsString(const hmm_mirror_stats& s) {
  std::ostringstream os;
  os << "device_faults " << s.device_faults << ", fault_calls "
     << s.fault_calls << ", pages_faulted " << s.pages_faulted
     << ", fault_retries " << s.fault_retries << ", invalidations [";
  for (unsigned i = 0; i < HMM_MIRROR_EVENT_NR_REASONS; ++i)
    os << (i ? " " : "") << s.invalidations[i];
  os << "], pages_invalidated " << s.pages_invalidated
     << ", events_delivered " << s.events_delivered << ", events_lost "
     << s.events_lost << ", notifiers " << s.notifiers << ", dpt_tables "
     << s.dpt_tables << ", dpt_pages " << s.dpt_pages << ", mirrors "
     << s.mirrors;
  return os.str();
}

// ---------------------------------------------------------------------------
// THP

// The line of /proc/self/smaps that starts with @key ("VmFlags:", ...) for
// the VMA holding addr, or "" if there is none.
inline std::string SmapsLine(uint64_t addr, const std::string& key) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool in_vma = false;
  while (std::getline(smaps, line)) {
    uint64_t start, end;
    char dash;
    std::istringstream head(line);
    if (head >> std::hex >> start >> dash >> end && dash == '-') {
      in_vma = start <= addr && addr < end;
      continue;
    }
    if (in_vma && line.rfind(key, 0) == 0) return line;
  }
  return "";
}

// AnonHugePages (kB) of the VMA holding addr, or -1.
inline long AnonHugeKb(uint64_t addr) {
  long kb;
  return std::sscanf(SmapsLine(addr, "AnonHugePages:").c_str(),
                     "AnonHugePages: %ld kB", &kb) == 1
             ? kb
             : -1;
}

// ---------------------------------------------------------------------------
// ChunkArea: naturally aligned 1 GiB chunks of address space (the unit of
// the lazy notifiers) that nothing else in the process maps.  The chunks
// are reserved PROT_NONE; tests open read-write windows in them.

constexpr uint64_t kChunkSize = uint64_t{1} << 30;

class ChunkArea {
 public:
  explicit ChunkArea(unsigned nchunks) : n_(nchunks) {
    const uint64_t len = (uint64_t{nchunks} + 1) * kChunkSize;
    void* p = mmap(nullptr, len, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
      throw std::runtime_error(std::string("reserving chunks: ") +
                               std::strerror(errno));
    const uint64_t raw = U64(p);
    base_ = (raw + kChunkSize - 1) & ~(kChunkSize - 1);
    if (base_ > raw) munmap(p, base_ - raw);
    const uint64_t end = base_ + nchunks * kChunkSize;
    if (raw + len > end) munmap(reinterpret_cast<void*>(end), raw + len - end);
  }
  ChunkArea(const ChunkArea&) = delete;
  ChunkArea& operator=(const ChunkArea&) = delete;
  ~ChunkArea() { munmap(reinterpret_cast<void*>(base_), n_ * kChunkSize); }

  uint64_t chunk(unsigned i) const { return base_ + i * kChunkSize; }
  uint8_t* at(unsigned i, uint64_t offset) const {
    return reinterpret_cast<uint8_t*>(chunk(i) + offset);
  }

  // Private anonymous read-write memory at chunk i + offset (MAP_FIXED over
  // the reservation, so nothing else can be there), out of THP.
  uint8_t* Map(unsigned i, uint64_t offset, uint64_t length,
               int advice = MADV_NOHUGEPAGE) const {
    void* p = mmap(at(i, offset), length, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED)
      throw std::runtime_error(std::string("mmap in chunk: ") +
                               std::strerror(errno));
    if (advice >= 0) madvise(p, length, advice);
    return static_cast<uint8_t*>(p);
  }

  // munmap() of a window, then the reservation is put back (the address
  // range stays ours).
  void Unmap(unsigned i, uint64_t offset, uint64_t length) const {
    if (munmap(at(i, offset), length) != 0)
      throw std::runtime_error(std::string("munmap in chunk: ") +
                               std::strerror(errno));
    void* p = mmap(at(i, offset), length, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
                       MAP_FIXED_NOREPLACE,
                   -1, 0);
    if (p == MAP_FAILED)
      throw std::runtime_error(std::string("re-reserving: ") +
                               std::strerror(errno));
  }

 private:
  unsigned n_;
  uint64_t base_ = 0;
};

}  // namespace hmm_conformance

#endif  // HMM_MIRROR_CONFORMANCE_TEST_H
