// SPDX-License-Identifier: MIT
//
// chunk_area.h - ChunkArea: 1 GiB-aligned chunks of address space the test owns.
// Part of the conformance suite's helpers (../hmm_mirror_test.h).
#ifndef HMM_CONFORMANCE_CHUNK_AREA_H
#define HMM_CONFORMANCE_CHUNK_AREA_H

#include "errno_ioctl.h"

namespace hmm_conformance {

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

#endif  // HMM_CONFORMANCE_CHUNK_AREA_H
