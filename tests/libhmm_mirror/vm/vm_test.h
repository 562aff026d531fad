// SPDX-License-Identifier: MIT
//
// vm_test.h - helpers of the library's tests against the real module
// (run inside the test VM, as root, with hmm_mirror.ko loaded).
//
//   LibTest          fixture: an open handle, the page size
//   REQUIRE_FEATURE  skip a test, naming the feature bit, when the module
//                    does not advertise it
//   Region           an anonymous mmap that unmaps what is left of it
//   Target           a forked child with a touched region, which waits to
//                    be told to exit
#ifndef LIBHMM_MIRROR_VM_TEST_H
#define LIBHMM_MIRROR_VM_TEST_H

#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hmm_mirror/libhmm_mirror.h"

namespace libhmm_vm {

inline std::string LastError() { return hmm_mirror_last_error(); }

inline uint64_t U64(const void* p) {
  return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p));
}

// GTEST_SKIP()s unless the handle's module advertises the feature.
#define REQUIRE_FEATURE(m, feat)                                              \
  do {                                                                        \
    if (!(hmm_mirror_features(m) & (feat)))                                   \
      GTEST_SKIP() << "the module does not advertise " #feat " (bit "        \
                   << __builtin_ctzll(feat) << ", \""                          \
                   << hmm_mirror_feature_name(feat)                           \
                   << "\"): this test runs once the module supports it";      \
  } while (0)

class LibTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(hmm_mirror_open(&m_), 0)
        << LastError()
        << "\nThese tests need hmm_mirror.ko loaded and root: run them "
           "in the test VM (make test).";
    page_ = hmm_mirror_page_size(m_);
  }
  void TearDown() override { hmm_mirror_close(m_); }

  struct hmm_mirror* m_ = nullptr;
  uint64_t page_ = 4096;
};

// An anonymous private mapping, touched for write unless told otherwise,
// kept out of THP so page orders are 0.
class Region {
 public:
  explicit Region(size_t pages, int prot = PROT_READ | PROT_WRITE,
                  bool touch = true)
      : len_(pages * static_cast<size_t>(sysconf(_SC_PAGESIZE))) {
    void* p = mmap(nullptr, len_, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap failed");
    base_ = static_cast<uint8_t*>(p);
    madvise(base_, len_, MADV_NOHUGEPAGE);
    if (touch && (prot & PROT_WRITE))
      for (size_t off = 0; off < len_; off += 4096) base_[off] = 1;
  }
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  ~Region() {
    if (base_) munmap(base_, len_);
  }
  uint8_t* data() const { return base_; }
  uint64_t addr(size_t offset = 0) const { return U64(base_ + offset); }
  size_t size() const { return len_; }
  // Unmaps the whole region now.
  void Unmap() {
    munmap(base_, len_);
    base_ = nullptr;
  }

 private:
  uint8_t* base_ = nullptr;
  size_t len_;
};

// A child process with `pages` touched pages filled with byte `fill`; it
// exits when Stop() closes its pipe (or the parent dies).
class Target {
 public:
  Target(size_t pages, uint8_t fill) {
    int to_child[2], to_parent[2];
    if (pipe(to_child) || pipe(to_parent)) throw std::runtime_error("pipe");
    size_t len = pages * static_cast<size_t>(sysconf(_SC_PAGESIZE));
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
      close(to_child[1]);
      close(to_parent[0]);
      void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) _exit(1);
      madvise(p, len, MADV_NOHUGEPAGE);
      std::memset(p, fill, len);
      uint64_t a = U64(p);
      if (write(to_parent[1], &a, sizeof(a)) != sizeof(a)) _exit(1);
      char c;
      while (read(to_child[0], &c, 1) > 0) {
      }
      _exit(0);
    }
    close(to_child[0]);
    close(to_parent[1]);
    go_ = to_child[1];
    if (read(to_parent[0], &addr_, sizeof(addr_)) != sizeof(addr_))
      throw std::runtime_error("the target process died");
    close(to_parent[0]);
    len_ = len;
  }
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;
  ~Target() { Stop(); }

  int pid() const { return pid_; }
  uint64_t addr() const { return addr_; }
  size_t size() const { return len_; }
  // Ends the child and reaps it; returns its exit status.
  int Stop() {
    if (pid_ <= 0) return -1;
    if (go_ >= 0) close(go_);
    go_ = -1;
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  int pid_ = -1;
  int go_ = -1;
  uint64_t addr_ = 0;
  size_t len_ = 0;
};

}  // namespace libhmm_vm

#endif  // LIBHMM_MIRROR_VM_TEST_H
