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
#ifndef HMM_MIRROR_CONFORMANCE_TEST_H
#define HMM_MIRROR_CONFORMANCE_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
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

  // Waits for the child: its exit code, or 128 + signal number.
  int Wait() {
    Go();
    int status = 0;
    pid_t r;
    do {
      r = waitpid(pid_, &status, 0);
    } while (r < 0 && errno == EINTR);
    pid_ = -1;
    if (r < 0) return -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
  }

 private:
  pid_t pid_ = -1;
  int go_fd_ = -1;
};

}  // namespace hmm_conformance

#endif  // HMM_MIRROR_CONFORMANCE_TEST_H
