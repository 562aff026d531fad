// SPDX-License-Identifier: MIT
//
// lib_memory_vm_test.cc - hmm_mirror_fault(), _snapshot(), _query(), _read() and
// _write() on the caller's own memory, against the real module.

#include "vm_test.h"

namespace libhmm_vm {
namespace {

constexpr uint32_t kValid = HMM_MIRROR_PAGE_VALID;
constexpr uint32_t kWrite = HMM_MIRROR_PAGE_WRITE;

using MemoryTest = LibTest;

TEST_F(MemoryTest, FaultForWriteMapsEveryPageWritable) {
  Region r(16);
  uint64_t mapped = 0, retries = ~0ULL;
  ASSERT_EQ(hmm_mirror_fault(m_, r.addr(), r.size(), HMM_MIRROR_FAULT_WRITE, &mapped,
                             &retries), 0) << LastError();
  EXPECT_EQ(mapped, 16u);
  EXPECT_NE(retries, ~0ULL);
  std::vector<uint32_t> states(16);
  ASSERT_EQ(hmm_mirror_query(m_, r.addr(), r.size(), states.data(), 16), 0) << LastError();
  for (uint32_t s : states) EXPECT_EQ(s, kValid | kWrite);
}

TEST_F(MemoryTest, SnapshotDoesNotFault) {
  Region r(8, PROT_READ | PROT_WRITE, /*touch=*/false);
  r.data()[0] = 1;  // only page 0 is present
  std::vector<uint32_t> states(8, 0xdead);
  ASSERT_EQ(hmm_mirror_snapshot(m_, r.addr(), r.size(), states.data(), 8), 0) << LastError();
  EXPECT_EQ(states[0], kValid | kWrite);
  for (int i = 1; i < 8; i++) EXPECT_EQ(states[i], 0u) << i;
  ASSERT_EQ(hmm_mirror_query(m_, r.addr(), r.size(), states.data(), 8), 0);
  for (uint32_t s : states) EXPECT_EQ(s, 0u);
}

TEST_F(MemoryTest, SnapshotRunsSayWhatSnapshotSays) {
  Region r(8, PROT_READ | PROT_WRITE, /*touch=*/false);
  r.data()[0] = 1;
  r.data()[page_] = 1;
  r.data()[5 * page_] = 1;  // written, written, 3 x untouched, written, 2 x untouched
  std::vector<hmm_mirror_page_run> runs(8);
  size_t n = 0;
  ASSERT_EQ(hmm_mirror_snapshot_runs(m_, r.addr(), r.size(), runs.data(), runs.size(), &n), 0)
      << LastError();
  ASSERT_EQ(n, 4u);
  std::vector<uint32_t> states(8);
  ASSERT_EQ(hmm_mirror_snapshot(m_, r.addr(), r.size(), states.data(), 8), 0) << LastError();
  uint64_t next = r.addr();
  for (size_t i = 0; i < n; i++) {
    EXPECT_EQ(runs[i].addr, next) << i;
    for (uint64_t a = runs[i].addr; a < runs[i].addr + runs[i].length; a += page_)
      EXPECT_EQ(states[(a - r.addr()) / page_], runs[i].state) << i;
    next += runs[i].length;
  }
  EXPECT_EQ(next, r.addr() + r.size());
  EXPECT_EQ(runs[0].length, 2 * page_);
  EXPECT_EQ(runs[0].state, kValid | kWrite);
  // Two slots: the first two runs, and the caller goes on from there.
  ASSERT_EQ(hmm_mirror_snapshot_runs(m_, r.addr(), r.size(), runs.data(), 2, &n), 0);
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(runs[1].addr + runs[1].length, r.addr() + 5 * page_);
}

TEST_F(MemoryTest, SnapshotMarksProtNoneAsError) {
  Region r(2, PROT_NONE, false);
  std::vector<uint32_t> states(2);
  ASSERT_EQ(hmm_mirror_snapshot(m_, r.addr(), r.size(), states.data(), 2), 0) << LastError();
  EXPECT_TRUE(states[0] & HMM_MIRROR_PAGE_ERROR);
}

TEST_F(MemoryTest, FaultOnProtNoneIsExplained) {
  Region r(2, PROT_NONE, false);
  EXPECT_EQ(hmm_mirror_fault(m_, r.addr(), r.size(), 0, nullptr, nullptr), -EFAULT);
  EXPECT_NE(LastError().find("hmm_mirror_fault(addr=0x"), std::string::npos) << LastError();
  EXPECT_NE(LastError().find("EFAULT"), std::string::npos) << LastError();
  EXPECT_NE(LastError().find("PROT_NONE"), std::string::npos) << LastError();
}

TEST_F(MemoryTest, WriteFaultOnReadOnlyMemoryIsEperm) {
  Region r(2, PROT_READ, false);
  EXPECT_EQ(hmm_mirror_fault(m_, r.addr(), r.size(), HMM_MIRROR_FAULT_WRITE, nullptr,
                             nullptr), -EPERM);
  EXPECT_NE(LastError().find("write permission"), std::string::npos) << LastError();
  std::vector<uint8_t> buf(r.size());
  EXPECT_EQ(hmm_mirror_write(m_, r.addr(), buf.data(), buf.size(), nullptr), -EPERM);
}

TEST_F(MemoryTest, RangeBeyondUserSpaceIsRejected) {
  std::vector<uint32_t> states(1);
  // A kernel address: past the device's address limit too, which the
  // library checks itself when the module reports it (ABI 3).
  EXPECT_EQ(hmm_mirror_snapshot(m_, 0xffff800000000000ULL, page_, states.data(), 1), -EINVAL);
  EXPECT_NE(LastError().find(hmm_mirror_features(m_) & HMM_MIRROR_FEAT_ADDR_LIMIT
                                 ? "past the device's address limit"
                                 : "beyond the user address space"),
            std::string::npos)
      << LastError();
  // Below the limit but above a 47-bit user space (4-level paging): the
  // module's refusal.
  void* hint = reinterpret_cast<void*>(1ULL << 47);
  void* p = mmap(hint, page_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                 -1, 0);
  if (p != MAP_FAILED) {
    munmap(p, page_);
    if (p == hint) return;  // 5-level paging: that is user space
  }
  EXPECT_EQ(hmm_mirror_snapshot(m_, 1ULL << 47, page_, states.data(), 1), -EINVAL);
  EXPECT_NE(LastError().find("beyond the user address space"), std::string::npos)
      << LastError();
}

TEST_F(MemoryTest, ReadAndWriteThroughTheDevice) {
  Region r(4);
  std::memset(r.data(), 0x11, r.size());
  std::vector<uint8_t> buf(r.size());
  uint64_t faults = 0;
  ASSERT_EQ(hmm_mirror_read(m_, r.addr(), buf.data(), buf.size(), &faults), 0) << LastError();
  EXPECT_GE(faults, 1u);
  EXPECT_EQ(buf[0], 0x11);
  EXPECT_EQ(buf.back(), 0x11);
  // Mapped now: a second read takes no device fault.
  ASSERT_EQ(hmm_mirror_read(m_, r.addr(), buf.data(), buf.size(), &faults), 0);
  EXPECT_EQ(faults, 0u);

  std::memset(buf.data(), 0x22, buf.size());
  ASSERT_EQ(hmm_mirror_write(m_, r.addr(page_), buf.data(), 2 * page_, nullptr), 0)
      << LastError();
  EXPECT_EQ(r.data()[0], 0x11);
  EXPECT_EQ(r.data()[page_], 0x22);
  EXPECT_EQ(r.data()[3 * page_ - 1], 0x22);
  EXPECT_EQ(r.data()[3 * page_], 0x11);
}

TEST_F(MemoryTest, ReadOfUnmappedMemoryIsEfault) {
  Region r(2);
  uint64_t addr = r.addr();
  r.Unmap();
  std::vector<uint8_t> buf(2 * page_);
  EXPECT_EQ(hmm_mirror_read(m_, addr, buf.data(), buf.size(), nullptr), -EFAULT);
  EXPECT_NE(LastError().find("hmm_mirror_read"), std::string::npos) << LastError();
}

TEST_F(MemoryTest, MunmapRemovesDeviceEntries) {
  Region r(8);
  ASSERT_EQ(hmm_mirror_fault(m_, r.addr(), r.size(), 0, nullptr, nullptr), 0) << LastError();
  uint64_t addr = r.addr();
  size_t len = r.size();
  r.Unmap();
  std::vector<uint32_t> states(8, 0xdead);
  ASSERT_EQ(hmm_mirror_query(m_, addr, len, states.data(), 8), 0) << LastError();
  for (uint32_t s : states) EXPECT_EQ(s, 0u);
}

TEST_F(MemoryTest, ReadExAndWriteExSayHowMuchTheyCopied) {
  REQUIRE_FEATURE(m_, HMM_MIRROR_FEAT_RW_COPIED);
  Region r(12);
  std::memset(r.data(), 0x2d, r.size());
  std::vector<uint8_t> buf(r.size(), 0);
  struct hmm_mirror_rw_result res;
  hmm_mirror_rw_result_init(&res);
  ASSERT_EQ(hmm_mirror_write_ex(m_, r.addr(), buf.data(), 4 * page_, &res), 0) << LastError();
  EXPECT_EQ(res.bytes_copied, 4 * page_);
  // Pages 0-3 mapped by the device (the WRITE), 4-7 PROT_NONE.
  ASSERT_EQ(mprotect(r.data() + 4 * page_, 4 * page_, PROT_NONE), 0);
  std::memset(buf.data(), 0x77, buf.size());
  hmm_mirror_rw_result_init(&res);
  EXPECT_EQ(hmm_mirror_read_ex(m_, r.addr(), buf.data(), r.size(), &res), -EFAULT);
  EXPECT_EQ(res.bytes_copied, 4 * page_);
  EXPECT_EQ(buf[4 * page_ - 1], 0) << "the pages before were copied";
  EXPECT_EQ(buf[4 * page_], 0x77) << "nothing from bytes_copied on";
  EXPECT_NE(LastError().find("hmm_mirror_read_ex("), std::string::npos) << LastError();
}

TEST_F(MemoryTest, RangesPastTheAddressLimitAreRefusedWithTheReason) {
  REQUIRE_FEATURE(m_, HMM_MIRROR_FEAT_ADDR_LIMIT);
  const uint64_t limit = HMM_MIRROR_ADDR_LIMIT;
  // Memory above the limit exists on 5-level paging (the test VM has it).
  void* p = mmap(reinterpret_cast<void*>(1ULL << 50), 2 * page_, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_POPULATE, -1, 0);
  const uint64_t addr = p == MAP_FAILED ? limit : U64(p);
  EXPECT_EQ(hmm_mirror_fault(m_, addr, 2 * page_, 0, nullptr, nullptr), -EINVAL);
  EXPECT_NE(LastError().find("address limit 0x1000000000000"), std::string::npos)
      << LastError();
  if (p != MAP_FAILED) munmap(p, 2 * page_);
}

}  // namespace
}  // namespace libhmm_vm
