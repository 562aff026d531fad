// SPDX-License-Identifier: MIT
//
// rw_copied_test.cc - ABI version 3 (abi/README.md, "READ / WRITE",
// "bytes_copied"): READ and WRITE report the bytes they copied, also when
// they fail part way, to a caller whose struct holds the field; a caller of
// the version-1 size (40 bytes) is answered as before, and on failure its
// struct is left as it was.  And ranges above the HANDSHAKE's addr_limit
// are EINVAL even where the process maps memory (5-level paging).

#include <sys/mman.h>

#include <cstring>
#include <vector>

#include "hmm_mirror_test.h"

namespace hmm_conformance {
namespace {

// Out fields are ignored on input: start them at a value the module never
// answers, to see that it wrote them.
constexpr uint64_t kU64Canary = 0xa5a5a5a5a5a5a5a5ULL;
constexpr uint64_t kCopyChunk = 2ULL << 20;

class RwCopiedTest : public FeatureTest<HMM_MIRROR_FEAT_DEVICE_RW |
                                        HMM_MIRROR_FEAT_RW_COPIED> {
 protected:
  // READ (or WRITE) with the version-3 struct; *out receives the struct
  // as the module left it.
  Errno Rw(unsigned long cmd, uint64_t addr, uint64_t length, const void* buf,
           hmm_mirror_rw* out, uint32_t flags = 0) const {
    hmm_mirror_rw rw = MakeRw(addr, length, buf);
    rw.flags = flags;
    rw.device_faults = kU64Canary;
    rw.bytes_copied = kU64Canary;
    Errno rc = dev_.Call(cmd, &rw);
    *out = rw;
    return rc;
  }
  Errno Read(uint64_t addr, uint64_t length, void* buf,
             hmm_mirror_rw* out) const {
    return Rw(HMM_MIRROR_IOC_READ, addr, length, buf, out);
  }
  Errno Write(uint64_t addr, uint64_t length, const void* buf,
              hmm_mirror_rw* out) const {
    return Rw(HMM_MIRROR_IOC_WRITE, addr, length, buf, out);
  }
};

TEST_F(RwCopiedTest, SuccessReportsTheWholeLength) {
  Mapping m(16 * page_);
  Mapping buf(m.size());
  FillPattern(m.data(), m.size(), 31);
  hmm_mirror_rw rw;
  ASSERT_EQ(kSuccess, Read(m.addr(), m.size(), buf.data(), &rw));
  EXPECT_EQ(rw.bytes_copied, m.size());
  EXPECT_EQ(rw.device_faults, 1u);
  EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), 31, m.addr()));
  FillPatternAs(buf.data(), buf.size(), 32, m.addr());
  ASSERT_EQ(kSuccess, Write(m.addr(), m.size(), buf.data(), &rw));
  EXPECT_EQ(rw.bytes_copied, m.size());
  EXPECT_EQ(rw.device_faults, 0u)
      << "the READ's device fault mapped the written pages writable";
  EXPECT_TRUE(HasPattern(m.data(), m.size(), 32));
  // Larger than one copy chunk, nothing mapped yet.
  Mapping big(3 * kCopyChunk);
  Mapping bigbuf(big.size());
  FillPattern(big.data(), big.size(), 33);
  ASSERT_EQ(kSuccess, Read(big.addr(), big.size(), bigbuf.data(), &rw));
  EXPECT_EQ(rw.bytes_copied, big.size());
  EXPECT_TRUE(HasPatternAs(bigbuf.data(), bigbuf.size(), 33, big.addr()));
}

TEST_F(RwCopiedTest, ReadStoppedByAnUnreadablePageReportsThePagesBefore) {
  // Pages 0-3 mapped by the device, 4-7 PROT_NONE, 8-11 readable.
  const uint64_t len = 12 * page_;
  Mapping m(len);
  FillPattern(m.data(), len, 34);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), 4 * page_));
  m.Protect(4 * page_, 4 * page_, PROT_NONE);
  Mapping buf(len);
  std::memset(buf.data(), kCanaryByte, len);
  hmm_mirror_rw rw;
  EXPECT_EQ(Errno(EFAULT), Read(m.addr(), len, buf.data(), &rw));
  EXPECT_EQ(rw.bytes_copied, 4 * page_);
  EXPECT_EQ(rw.device_faults, 1u) << "the one that failed";
  EXPECT_TRUE(HasPatternAs(buf.data(), rw.bytes_copied, 34, m.addr()))
      << "[addr, addr + bytes_copied) was copied";
  EXPECT_TRUE(IsFilledWith(buf.at(4 * page_), len - 4 * page_, kCanaryByte))
      << "nothing from addr + bytes_copied on was";
}

TEST_F(RwCopiedTest, AFailedDeviceFaultCopiesNoPageOfItsRun) {
  // Nothing mapped: the device fault of pages 0-11 fails as a whole
  // (FAULT is all-or-nothing per 4 MiB piece), so nothing is copied,
  // not even pages 0-3, and bytes_copied says so.
  const uint64_t len = 12 * page_;
  Mapping m(len);
  FillPattern(m.data(), len, 35);
  m.Protect(4 * page_, 4 * page_, PROT_NONE);
  Mapping buf(len);
  std::memset(buf.data(), kCanaryByte, len);
  hmm_mirror_rw rw;
  EXPECT_EQ(Errno(EFAULT), Read(m.addr(), len, buf.data(), &rw));
  EXPECT_EQ(rw.bytes_copied, 0u);
  EXPECT_TRUE(IsFilledWith(buf.data(), len, kCanaryByte));
}

TEST_F(RwCopiedTest, WriteStoppedByAReadOnlyPageReportsThePagesBefore) {
  const uint64_t len = 8 * page_;
  Mapping m(len);
  FillPattern(m.data(), len, 36);
  ASSERT_EQ(kSuccess,
            dev_.Fault(m.addr(), 4 * page_, HMM_MIRROR_FAULT_WRITE));
  m.Protect(4 * page_, 4 * page_, PROT_READ);
  Mapping buf(len);
  FillPatternAs(buf.data(), len, 37, m.addr());
  hmm_mirror_rw rw;
  EXPECT_EQ(Errno(EPERM), Write(m.addr(), len, buf.data(), &rw));
  EXPECT_EQ(rw.bytes_copied, 4 * page_);
  EXPECT_TRUE(HasPattern(m.data(), 4 * page_, 37));
  EXPECT_TRUE(HasPattern(m.at(4 * page_), 4 * page_, 36))
      << "WRITE went on past bytes_copied";
}

TEST_F(RwCopiedTest, BufferPartsThatCannotBePinnedStopAtTheirCopyChunk) {
  const uint64_t len = 2 * kCopyChunk;
  Mapping m(len);
  FillPattern(m.data(), len, 38);
  hmm_mirror_rw rw;
  {
    Mapping buf(len);
    std::memset(buf.data(), kCanaryByte, len);
    buf.Protect(kCopyChunk, kCopyChunk, PROT_READ);
    EXPECT_EQ(Errno(EFAULT), Read(m.addr(), len, buf.data(), &rw));
    EXPECT_EQ(rw.bytes_copied, kCopyChunk);
    EXPECT_TRUE(HasPatternAs(buf.data(), kCopyChunk, 38, m.addr()));
  }
  {
    Mapping buf(len);
    FillPatternAs(buf.data(), len, 39, m.addr());
    buf.Unmap(kCopyChunk, kCopyChunk);
    EXPECT_EQ(Errno(EFAULT), Write(m.addr(), len, buf.data(), &rw));
    EXPECT_EQ(rw.bytes_copied, kCopyChunk);
    EXPECT_TRUE(HasPattern(m.data(), kCopyChunk, 39));
    EXPECT_TRUE(HasPattern(m.at(kCopyChunk), kCopyChunk, 38));
  }
}

TEST_F(RwCopiedTest, AFailureInALaterCopyChunkCountsTheChunksBefore) {
  // Unmapped by the device: the second chunk's device fault fails at its
  // fifth page, so the first chunk is all that was copied.
  const uint64_t len = 2 * kCopyChunk;
  Mapping m(len);
  FillPattern(m.data(), len, 40);
  m.Protect(kCopyChunk + 4 * page_, page_, PROT_NONE);
  Mapping buf(len);
  std::memset(buf.data(), kCanaryByte, len);
  hmm_mirror_rw rw;
  EXPECT_EQ(Errno(EFAULT), Read(m.addr(), len, buf.data(), &rw));
  EXPECT_EQ(rw.bytes_copied, kCopyChunk);
  EXPECT_EQ(rw.device_faults, 2u);
  EXPECT_TRUE(HasPatternAs(buf.data(), kCopyChunk, 40, m.addr()));
  EXPECT_TRUE(IsFilledWith(buf.at(kCopyChunk), kCopyChunk, kCanaryByte));
}

TEST_F(RwCopiedTest, FailedArgumentChecksReportNothingCopied) {
  Mapping m(4 * page_);
  Mapping buf(m.size());
  Mapping gone(4 * page_);
  gone.Unmap(0, gone.size());
  const struct {
    const char* what;
    unsigned long cmd;
    uint64_t addr;
    uint64_t length;
    const void* buf;
    uint32_t flags;
    int err;
  } cases[] = {
      {"unaligned addr", HMM_MIRROR_IOC_READ, m.addr() + 1, page_, buf.data(), 0, EINVAL},
      {"length 0", HMM_MIRROR_IOC_WRITE, m.addr(), 0, buf.data(), 0, EINVAL},
      {"unknown flag", HMM_MIRROR_IOC_READ, m.addr(), page_, buf.data(), 1U << 31, EINVAL},
      {"above addr_limit", HMM_MIRROR_IOC_READ, HMM_MIRROR_ADDR_LIMIT, page_, buf.data(), 0, EINVAL},
      {"buf NULL", HMM_MIRROR_IOC_WRITE, m.addr(), page_, nullptr, 0, EFAULT},
      {"unmapped range", HMM_MIRROR_IOC_READ, gone.addr(), page_, buf.data(), 0, EFAULT},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    hmm_mirror_rw rw;
    EXPECT_EQ(Errno(c.err), Rw(c.cmd, c.addr, c.length, c.buf, &rw, c.flags));
    EXPECT_EQ(rw.bytes_copied, 0u);
    EXPECT_EQ(rw.size, sizeof(rw));
  }
}

TEST_F(RwCopiedTest, AStructTheModuleRefusesIsLeftAsItWas) {
  Mapping m(page_);
  Mapping buf(page_);
  alignas(8) uint8_t area[8192] = {};
  hmm_mirror_rw rw = MakeRw(m.addr(), page_, buf.data());
  rw.bytes_copied = kU64Canary;
  rw.device_faults = kU64Canary;
  for (uint32_t size : {4097U, uint32_t{sizeof(rw)} + 8}) {
    SCOPED_TRACE(size);
    std::memset(area, 0, sizeof(area));
    rw.size = size;
    std::memcpy(area, &rw, sizeof(rw));
    area[sizeof(rw) + 1] = 1;  // a non-zero byte the module does not know
    EXPECT_EQ(Errno(E2BIG), dev_.Call(HMM_MIRROR_IOC_READ, area));
    hmm_mirror_rw after;
    std::memcpy(&after, area, sizeof(after));
    EXPECT_EQ(after.bytes_copied, kU64Canary);
    EXPECT_EQ(after.device_faults, kU64Canary);
  }
}

// A caller of the version-1 struct (40 bytes, what versions 1 and 2 had)
// keeps working: on success the fields it has are written, nothing past
// them; on failure its struct is not written, as before version 3.
TEST_F(RwCopiedTest, VersionOneSizedCallerIsAnsweredAsBefore) {
  const uint64_t len = 8 * page_;
  Mapping m(len);
  FillPattern(m.data(), len, 41);
  Mapping buf(len);
  struct {
    hmm_mirror_rw rw;
    uint8_t after[64];
  } old;
  for (unsigned long cmd : {HMM_MIRROR_IOC_READ, HMM_MIRROR_IOC_WRITE}) {
    SCOPED_TRACE(cmd == HMM_MIRROR_IOC_READ ? "READ" : "WRITE");
    std::memset(&old, kCanaryByte, sizeof(old));
    old.rw = MakeRw(m.addr(), len, buf.data());
    old.rw.size = HMM_MIRROR_RW_SIZE_VER1;
    std::memset(&old.rw.bytes_copied, kCanaryByte, sizeof(old.rw.bytes_copied));
    ASSERT_EQ(kSuccess, dev_.Call(cmd, &old.rw));
    EXPECT_NE(old.rw.device_faults, kU64Canary) << "device_faults not written";
    EXPECT_EQ(old.rw.bytes_copied, kU64Canary) << "written past the size";
    EXPECT_TRUE(IsFilledWith(old.after, sizeof(old.after), kCanaryByte));
  }
  EXPECT_TRUE(HasPatternAs(buf.data(), len, 41, m.addr()));

  // Failing part way: nothing of the struct is written.
  m.Protect(4 * page_, 4 * page_, PROT_NONE);
  for (unsigned long cmd : {HMM_MIRROR_IOC_READ, HMM_MIRROR_IOC_WRITE}) {
    SCOPED_TRACE(cmd == HMM_MIRROR_IOC_READ ? "READ" : "WRITE");
    std::memset(&old, kCanaryByte, sizeof(old));
    old.rw = MakeRw(m.addr(), len, buf.data());
    old.rw.size = HMM_MIRROR_RW_SIZE_VER1;
    old.rw.device_faults = kU64Canary;
    std::memset(&old.rw.bytes_copied, kCanaryByte, sizeof(old.rw.bytes_copied));
    const hmm_mirror_rw before = old.rw;
    EXPECT_EQ(Errno(EFAULT), dev_.Call(cmd, &old.rw));
    EXPECT_EQ(0, std::memcmp(&before, &old.rw, sizeof(before)))
        << "a version-1 struct was written on failure";
    EXPECT_TRUE(IsFilledWith(old.after, sizeof(old.after), kCanaryByte));
  }
}

TEST_F(RwCopiedTest, TheInputValueOfBytesCopiedIsIgnored) {
  Mapping m(4 * page_);
  Mapping buf(m.size());
  for (uint64_t in : {uint64_t{0}, uint64_t{1}, ~uint64_t{0}}) {
    SCOPED_TRACE(in);
    hmm_mirror_rw rw = MakeRw(m.addr(), m.size(), buf.data());
    rw.bytes_copied = in;
    ASSERT_EQ(kSuccess, dev_.Call(HMM_MIRROR_IOC_READ, &rw));
    EXPECT_EQ(rw.bytes_copied, m.size());
  }
}

// addr_limit: on a machine with 5-level paging a process can map memory
// above it (mmap with a hint above 1 << 47); the device cannot, and every
// range command says EINVAL there.
using AddrLimitTest = FeatureTest<HMM_MIRROR_FEAT_ADDR_LIMIT>;

TEST_F(AddrLimitTest, MemoryAboveTheLimitIsEinval) {
  const uint64_t limit = dev_.info().addr_limit;
  ASSERT_EQ(limit, uint64_t{1} << 48);
  const uint64_t len = 4 * page_;
  void* hint = reinterpret_cast<void*>(uint64_t{1} << 50);
  // Populated by the kernel: the test never touches it itself (ASan has
  // no shadow for addresses above 47 bits).
  void* p = mmap(hint, len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE |
                     MAP_POPULATE,
                 -1, 0);
  if (p == MAP_FAILED)
    GTEST_SKIP() << "no memory can be mapped above the limit here ("
                 << std::strerror(errno)
                 << "): the CPU or kernel has no 5-level paging";
  const uint64_t addr = U64(p);
  ASSERT_GE(addr, limit);
  std::vector<uint32_t> states;
  std::vector<uint8_t> buf(len);
  EXPECT_EQ(Errno(EINVAL), dev_.Fault(addr, len));
  EXPECT_EQ(Errno(EINVAL), dev_.Snapshot(addr, len, &states));
  EXPECT_EQ(Errno(EINVAL), dev_.Query(addr, len, &states));
  EXPECT_EQ(Errno(EINVAL), dev_.Read(addr, len, buf.data()));
  EXPECT_EQ(Errno(EINVAL), dev_.Write(addr, len, buf.data()));
  munmap(p, len);
}

TEST_F(AddrLimitTest, ARangeEndingAtTheLimitIsNotRefusedForIt) {
  // [limit - page, limit) is refused only where user space ends below the
  // limit (4-level paging: 1 << 47); its end is never the reason.
  const uint64_t limit = dev_.info().addr_limit;
  std::vector<uint32_t> states;
  const Errno rc = dev_.Snapshot(limit - page_, page_, &states);
  if (UserSpaceIs47Bit())
    EXPECT_EQ(Errno(EINVAL), rc);
  else
    EXPECT_EQ(kSuccess, rc);
  EXPECT_EQ(Errno(EINVAL), dev_.Snapshot(limit - page_, 2 * page_, &states));
}

}  // namespace
}  // namespace hmm_conformance
