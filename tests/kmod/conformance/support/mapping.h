// SPDX-License-Identifier: MIT
//
// mapping.h - Mapping: an anonymous mmap() that remembers which pages it still owns.
// Part of the conformance suite's helpers (../hmm_mirror_test.h).
#ifndef HMM_CONFORMANCE_MAPPING_H
#define HMM_CONFORMANCE_MAPPING_H

#include "errno_ioctl.h"

namespace hmm_conformance {

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

}  // namespace hmm_conformance

#endif  // HMM_CONFORMANCE_MAPPING_H
