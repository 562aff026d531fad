// SPDX-License-Identifier: MIT
//
// bad_input_test.cc - invalid ranges and pointers, each answered with the
// errno abi/README.md documents ("Ranges", SNAPSHOT's states, READ/WRITE's
// buf).  Bad sizes, flags and argument pointers are in compat_test.cc.
// The VM runner also fails the run if the kernel logged a warning.

#include <sys/mman.h>

#include <cstring>
#include <vector>

#include "command_table.h"

namespace hmm_conformance {
namespace {

struct Range {
  uint64_t addr;
  uint64_t length;
};

std::ostream& operator<<(std::ostream& os, const Range& r) {
  return os << "addr 0x" << std::hex << r.addr << " length 0x" << r.length
            << std::dec;
}

// ---------------------------------------------------------------------------
// Ranges: every command with addr/length, every bad range -> EINVAL.

class BadRangeTest : public CommandTest {
 protected:
  void ExpectEinval(const std::vector<Range>& ranges) {
    for (const Range& r : ranges) {
      SCOPED_TRACE(::testing::Message() << r);
      alignas(8) uint8_t arg[512] = {};
      args_->Build(cmd(), arg, r.addr, r.length);
      EXPECT_EQ(Errno(EINVAL), Issue(arg));
    }
    // The target itself is untouched by the rejected WRITEs.
    EXPECT_TRUE(HasPattern(args_->target().data(), args_->target_length(), 7));
  }

  uint64_t T() const { return args_->target_addr(); }
};

TEST_P(BadRangeTest, UnalignedAddressIsEinval) {
  ExpectEinval({{T() + 1, page_},
                {T() + page_ / 2, page_},
                {T() + page_ - 8, page_},
                {T() + 8, 0x1000 * page_}});
}

TEST_P(BadRangeTest, UnalignedLengthIsEinval) {
  ExpectEinval({{T(), 1}, {T(), page_ - 1}, {T(), page_ + 1},
                {T(), 2 * page_ - 8}});
}

TEST_P(BadRangeTest, ZeroLengthIsEinval) {
  ExpectEinval({{T(), 0}, {0, 0}, {T() + page_, 0}});
}

TEST_P(BadRangeTest, WrappingRangeIsEinval) {
  ExpectEinval({{0xfffffffffffff000ULL, 0x2000},
                {T(), 0 - T()},  // ends exactly at 2^64, i.e. at 0
                {T(), 0xfffffffffffff000ULL},
                {0x8000000000000000ULL, 0x8000000000000000ULL + 0x1000}});
}

TEST_P(BadRangeTest, RangeBeyondTheDevicePageTableIsEinval) {
  // The end of the device page table, as HANDSHAKE tells it (ABI 3).
  const uint64_t top = dev_.Has(HMM_MIRROR_FEAT_ADDR_LIMIT)
                           ? dev_.info().addr_limit
                           : uint64_t{1} << 48;
  EXPECT_EQ(top, uint64_t{1} << 48);
  ExpectEinval({{top, page_},
                {top - page_, 2 * page_},
                {T(), top},
                {uint64_t{1} << 56, page_},
                {0x8000000000000000ULL, page_}});
}

TEST_P(BadRangeTest, KernelAddressesAreEinval) {
  ExpectEinval({{kKernelAddr, page_},
                {kKernelAddr, 16 * page_},
                {0xffffffffff600000ULL, page_},  // vsyscall page
                {0xffffffffffffe000ULL, page_},
                {T(), kKernelAddr - T()}});
}

TEST_P(BadRangeTest, RangeBeyondTheUserAddressSpaceIsEinval) {
  // The end of what can be mirrored: TASK_SIZE rounded up to 1 << 47 on a
  // 47-bit user space, else the 48-bit device page table.
  const uint64_t top = UserSpaceIs47Bit() ? uint64_t{1} << 47 : uint64_t{1} << 48;
  RecordProperty("user_top", std::to_string(top));
  ExpectEinval({{top, page_}, {top - page_, 2 * page_}, {top, 16 * page_},
                {T(), top}, {top + kHugeSize, kHugeSize}});
}

INSTANTIATE_TEST_SUITE_P(RangeCommands, BadRangeTest,
                         ::testing::ValuesIn(RangeCommands()), CommandName);

// ---------------------------------------------------------------------------
// SNAPSHOT / QUERY: the states array.

class StatesTest : public MirrorTest,
                   public ::testing::WithParamInterface<Command> {
 protected:
  void SetUp() override {
    MirrorTest::SetUp();
    if (HasFatalFailure()) return;
    target_.reset(new Mapping(2 * page_));
    FillPattern(target_->data(), target_->size(), 1);
    ASSERT_EQ(kSuccess, dev_.Fault(target_->addr(), target_->size()));
  }

  Errno WithStates(uint64_t states, uint64_t states_len) const {
    hmm_mirror_pages p = MakePages(target_->addr(), target_->size(), nullptr,
                                   states_len);
    p.states = states;
    return dev_.Call(GetParam().ioc, &p);
  }

  std::unique_ptr<Mapping> target_;
};

TEST_P(StatesTest, ValidStatesSucceed) {
  std::vector<uint32_t> states(2, kStateCanary);
  ASSERT_EQ(kSuccess, WithStates(U64(states.data()), 2));
  EXPECT_TRUE(PagesHave(states, 0, 2, HMM_MIRROR_PAGE_VALID, 0));
}

TEST_P(StatesTest, NullStatesIsEfault) {
  EXPECT_EQ(Errno(EFAULT), WithStates(0, 2));
}

TEST_P(StatesTest, KernelStatesIsEfault) {
  EXPECT_EQ(Errno(EFAULT), WithStates(kKernelAddr, 2));
}

TEST_P(StatesTest, UnmappedStatesIsEfault) {
  Mapping m(page_);
  const uint64_t states = m.addr();
  m.Unmap(0, page_);
  EXPECT_EQ(Errno(EFAULT), WithStates(states, 2));
}

TEST_P(StatesTest, ReadOnlyStatesIsEfault) {
  Mapping m(page_);
  std::memset(m.data(), kCanaryByte, page_);
  m.Protect(0, page_, PROT_READ);
  EXPECT_EQ(Errno(EFAULT), WithStates(m.addr(), 2));
  EXPECT_TRUE(IsFilledWith(m.data(), page_, kCanaryByte));
}

TEST_P(StatesTest, StatesRunningIntoAnUnmappedPageIsEfault) {
  // Room for one entry before the unmapped page; the range has two pages.
  Mapping m(2 * page_);
  m.Unmap(page_, page_);
  EXPECT_EQ(Errno(EFAULT), WithStates(m.addr(page_ - 4), 2));
}

TEST_P(StatesTest, StatesLenBelowThePageCountIsEinval) {
  std::vector<uint32_t> states(2, kStateCanary);
  EXPECT_EQ(Errno(EINVAL), WithStates(U64(states.data()), 1));
  EXPECT_EQ(Errno(EINVAL), WithStates(U64(states.data()), 0));
  EXPECT_EQ(states, std::vector<uint32_t>(2, kStateCanary));
}

INSTANTIATE_TEST_SUITE_P(
    PagesCommands, StatesTest,
    ::testing::Values(AllCommands()[2], AllCommands()[5]), CommandName);

// ---------------------------------------------------------------------------
// READ / WRITE: the buffer.

class BufTest : public MirrorTest,
                public ::testing::WithParamInterface<Command> {
 protected:
  void SetUp() override {
    MirrorTest::SetUp();
    if (HasFatalFailure()) return;
    target_.reset(new Mapping(2 * page_));
    FillPattern(target_->data(), target_->size(), 1);
  }

  bool is_write() const { return GetParam().id == Cmd::kWrite; }

  Errno WithBuf(uint64_t buf) const {
    hmm_mirror_rw rw = MakeRw(target_->addr(), target_->size(), nullptr);
    rw.buf = buf;
    return dev_.Call(GetParam().ioc, &rw);
  }

  // A failed WRITE must not have changed the target.
  void ExpectTargetUnchanged() const {
    EXPECT_TRUE(HasPattern(target_->data(), target_->size(), 1))
        << "the failed call changed the memory";
  }

  std::unique_ptr<Mapping> target_;
};

TEST_P(BufTest, ValidBufSucceeds) {
  Mapping buf(2 * page_);
  FillPatternAs(buf.data(), buf.size(), 1, target_->addr());
  ASSERT_EQ(kSuccess, WithBuf(buf.addr()));
  EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), 1, target_->addr()));
  ExpectTargetUnchanged();
}

TEST_P(BufTest, NullBufIsEfault) {
  EXPECT_EQ(Errno(EFAULT), WithBuf(0));
  ExpectTargetUnchanged();
}

TEST_P(BufTest, KernelBufIsEfault) {
  EXPECT_EQ(Errno(EFAULT), WithBuf(kKernelAddr));
  ExpectTargetUnchanged();
}

TEST_P(BufTest, BufEndingInKernelSpaceIsEfault) {
  // Starts at the last user page boundary of a 47-bit space, or near the
  // very top: either way the buffer is not all user memory.
  EXPECT_EQ(Errno(EFAULT), WithBuf(0xfffffffffffff000ULL));
  EXPECT_EQ(Errno(EFAULT), WithBuf((uint64_t{1} << 47) - page_));
  ExpectTargetUnchanged();
}

TEST_P(BufTest, UnmappedBufIsEfault) {
  Mapping m(2 * page_);
  const uint64_t buf = m.addr();
  m.Unmap(0, 2 * page_);
  EXPECT_EQ(Errno(EFAULT), WithBuf(buf));
  ExpectTargetUnchanged();
}

TEST_P(BufTest, ProtNoneBufIsEfault) {
  Mapping m(2 * page_, PROT_NONE);
  EXPECT_EQ(Errno(EFAULT), WithBuf(m.addr()));
  ExpectTargetUnchanged();
}

TEST_P(BufTest, BufRunningIntoAnUnmappedPageIsEfault) {
  // One page of buffer, then a hole; the range has two pages.
  Mapping m(3 * page_);
  FillPatternAs(m.data(), page_, 1, target_->addr());
  m.Unmap(page_, 2 * page_);
  EXPECT_EQ(Errno(EFAULT), WithBuf(m.addr()));
}

TEST_P(BufTest, ReadOnlyBufIsEfaultForRead) {
  Mapping m(2 * page_);
  FillPatternAs(m.data(), m.size(), 1, target_->addr());
  m.Protect(0, m.size(), PROT_READ);
  if (is_write()) {
    // WRITE only reads buf: a read-only buffer is fine.
    ASSERT_EQ(kSuccess, WithBuf(m.addr()));
    ExpectTargetUnchanged();
  } else {
    EXPECT_EQ(Errno(EFAULT), WithBuf(m.addr()));
  }
}

INSTANTIATE_TEST_SUITE_P(
    RwCommands, BufTest,
    ::testing::Values(AllCommands()[3], AllCommands()[4]), CommandName);

}  // namespace
}  // namespace hmm_conformance
