// SPDX-License-Identifier: MIT
//
// compat_test.cc - the compatibility rules every command follows
// (abi/README.md, "Compatibility rules" and "Errors every command can
// return"): the size field, flags, the argument pointer, unknown commands.

#include <algorithm>
#include <cstring>

#include "command_table.h"

namespace hmm_conformance {
namespace {

using CompatTest = CommandTest;

// A zeroed argument area of three pages (larger than any allowed size).
class ArgArea {
 public:
  explicit ArgArea(uint64_t page) : map_(3 * page) {}
  uint8_t* data() const { return map_.data(); }
  uint64_t size() const { return map_.size(); }
  void SetSize(uint32_t size) const { std::memcpy(data(), &size, 4); }
  void SetFlags(uint32_t flags) const { std::memcpy(data() + 4, &flags, 4); }

 private:
  Mapping map_;
};

TEST_P(CompatTest, VersionOneSizeSucceeds) {
  ArgArea arg(page_);
  args_->BuildValid(cmd(), arg.data());
  uint32_t size;
  std::memcpy(&size, arg.data(), 4);
  EXPECT_EQ(size, cmd().ver1_size);
  EXPECT_EQ(kSuccess, Issue(arg.data()));
}

TEST_P(CompatTest, NothingPastSizeIsWritten) {
  ArgArea arg(page_);
  args_->BuildValid(cmd(), arg.data());
  arg.SetSize(cmd().size);
  std::memset(arg.data() + cmd().size, kCanaryByte, 512);
  ASSERT_EQ(kSuccess, Issue(arg.data()));
  EXPECT_TRUE(IsFilledWith(arg.data() + cmd().size, 512, kCanaryByte));
}

TEST_P(CompatTest, LargerSizeWithZeroTailSucceeds) {
  for (uint32_t size : {cmd().size + 4, cmd().size + 8,
                        cmd().size + 64, 4096U}) {
    SCOPED_TRACE(size);
    ArgArea arg(page_);
    args_->BuildValid(cmd(), arg.data());
    arg.SetSize(size);
    EXPECT_EQ(kSuccess, Issue(arg.data()));
    // The tail the module does not know stays zero.
    EXPECT_TRUE(IsFilledWith(arg.data() + cmd().size,
                             size - cmd().size, 0));
  }
}

TEST_P(CompatTest, LargerSizeWithNonZeroTailIsE2big) {
  const uint32_t v1 = cmd().size;  // what the module knows
  const struct {
    uint32_t size;
    uint32_t offset;  // of the non-zero byte
    uint8_t value;
  } cases[] = {{v1 + 8, v1, 1},       {v1 + 8, v1 + 7, 0x80},
               {v1 + 4, v1 + 3, 1},   {4096, 4095, 1},
               {4096, v1 + 100, 0xff}};
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::Message() << "size " << c.size << ", byte "
                                      << c.offset << " = " << unsigned{c.value});
    ArgArea arg(page_);
    args_->BuildValid(cmd(), arg.data());
    arg.SetSize(c.size);
    arg.data()[c.offset] = c.value;
    EXPECT_EQ(Errno(E2BIG), Issue(arg.data()));
  }
}

TEST_P(CompatTest, SizeOver4096IsE2big) {
  for (uint32_t size : {4097U, 4104U, 8192U, 0x80000000U, 0xffffffffU}) {
    SCOPED_TRACE(size);
    ArgArea arg(page_);  // zero well past 8192 bytes
    args_->BuildValid(cmd(), arg.data());
    arg.SetSize(size);
    EXPECT_EQ(Errno(E2BIG), Issue(arg.data()));
  }
}

TEST_P(CompatTest, SizeBelowVersionOneIsEinval) {
  const uint32_t v1 = cmd().ver1_size;
  for (uint32_t size : {0U, 1U, 4U, 8U, v1 - 8, v1 - 4, v1 - 1}) {
    SCOPED_TRACE(size);
    ArgArea arg(page_);
    args_->BuildValid(cmd(), arg.data());
    arg.SetSize(size);
    EXPECT_EQ(Errno(EINVAL), Issue(arg.data()));
  }
}

TEST_P(CompatTest, UnknownFlagsAreEinval) {
  int tested = 0;
  for (unsigned bit = 0; bit < 32; ++bit) {
    const uint32_t flag = 1U << bit;
    if (cmd().known_flags & flag) continue;
    SCOPED_TRACE(::testing::Message() << "flags bit " << bit);
    // Alone, and with every known flag (which may be a bad combination
    // by itself: MIGRATE's TO_SYSTEM and EVICT).
    for (uint32_t with : {0U, cmd().known_flags}) {
      ArgArea arg(page_);
      args_->BuildValid(cmd(), arg.data());
      arg.SetFlags(flag | with);
      EXPECT_EQ(Errno(EINVAL), Issue(arg.data())) << "with 0x" << std::hex << with;
    }
    ++tested;
  }
  EXPECT_EQ(tested, 32 - __builtin_popcount(cmd().known_flags));
}

TEST_P(CompatTest, NullArgumentIsEfault) {
  EXPECT_EQ(Errno(EFAULT), Issue(nullptr));
}

TEST_P(CompatTest, KernelAddressArgumentIsEfault) {
  EXPECT_EQ(Errno(EFAULT),
            dev_.Call(cmd().ioc, reinterpret_cast<const void*>(kKernelAddr)));
}

TEST_P(CompatTest, UnmappedArgumentIsEfault) {
  Mapping m(page_);
  args_->BuildValid(cmd(), m.data());
  const void* arg = m.data();
  m.Unmap(0, page_);
  EXPECT_EQ(Errno(EFAULT), Issue(arg));
}

TEST_P(CompatTest, ProtNoneArgumentIsEfault) {
  Mapping m(page_);
  args_->BuildValid(cmd(), m.data());
  m.Protect(0, page_, PROT_NONE);
  EXPECT_EQ(Errno(EFAULT), Issue(m.data()));
}

TEST_P(CompatTest, ArgumentRunningIntoAnUnmappedPageIsEfault) {
  // The first 16 bytes (size and flags among them; all but the last field
  // of a 16-byte struct) are readable, the rest of the struct lies on an
  // unmapped page.
  Mapping m(2 * page_);
  alignas(8) uint8_t full[512] = {};
  args_->BuildValid(cmd(), full);
  const uint32_t readable = std::min<uint32_t>(16, cmd().ver1_size - 4);
  uint8_t* arg = m.data() + page_ - readable;
  std::memcpy(arg, full, readable);
  m.Unmap(page_, page_);
  EXPECT_EQ(Errno(EFAULT), Issue(arg));
}

INSTANTIATE_TEST_SUITE_P(AllCommands, CompatTest,
                         ::testing::ValuesIn(AllCommands()), CommandName);

// Commands with out fields must write the struct back: a struct that can be
// read but not written is EFAULT ("the argument struct cannot be read or
// written").
using CompatOutputTest = CommandTest;

TEST_P(CompatOutputTest, ReadOnlyArgumentIsEfault) {
  Mapping m(page_);
  args_->BuildValid(cmd(), m.data());
  m.Protect(0, page_, PROT_READ);
  EXPECT_EQ(Errno(EFAULT), Issue(m.data()));
}

INSTANTIATE_TEST_SUITE_P(CommandsWithOutput, CompatOutputTest,
                         ::testing::ValuesIn(CommandsWithOutput()),
                         CommandName);

// "Commands are _IO(0xB2, nr) ... An unknown command returns ENOTTY."
using UnknownCommandTest = MirrorTest;

TEST_F(UnknownCommandTest, UnassignedNumbersAreEnotty) {
  uint8_t zero[4096] = {};
  // The first number after the last command, and some far ones.
  for (unsigned long c : {_IO(HMM_MIRROR_IOC_MAGIC, HMM_MIRROR_NR_COMMANDS), _IO(0xB2, 0x3f),
                          _IO(0xB2, 0xff), _IO(0xB2, 0x40)}) {
    SCOPED_TRACE(::testing::Message() << "cmd 0x" << std::hex << c);
    EXPECT_EQ(Errno(ENOTTY), dev_.Call(c, zero));
    EXPECT_EQ(Errno(ENOTTY), dev_.Call(c, nullptr));
  }
}

TEST_F(UnknownCommandTest, OtherMagicIsEnotty) {
  uint8_t zero[4096] = {};
  for (unsigned magic : {0xB1U, 0xB3U, 0x42U}) {
    for (unsigned nr = 0; nr < HMM_MIRROR_NR_COMMANDS; ++nr) {
      SCOPED_TRACE(::testing::Message() << "magic 0x" << std::hex << magic
                                        << " nr " << nr);
      EXPECT_EQ(Errno(ENOTTY), dev_.Call(_IO(magic, nr), zero));
    }
  }
}

TEST_F(UnknownCommandTest, SizedVariantsOfTheCommandsAreEnotty) {
  // The struct size travels in the struct, never in the command: the
  // _IOR/_IOW/_IOWR encodings of the same numbers are other commands.
  ArgFactory args(page_);
  for (const Command& c : AllCommands()) {
    alignas(8) uint8_t arg[512] = {};
    args.BuildValid(c, arg);
    const unsigned nr = _IOC_NR(c.ioc);
    for (unsigned long sized :
         {static_cast<unsigned long>(_IOWR(HMM_MIRROR_IOC_MAGIC, nr, hmm_mirror_fault)),
          static_cast<unsigned long>(_IOW(HMM_MIRROR_IOC_MAGIC, nr, hmm_mirror_fault)),
          static_cast<unsigned long>(_IOR(HMM_MIRROR_IOC_MAGIC, nr, hmm_mirror_fault))}) {
      SCOPED_TRACE(::testing::Message() << c.name << " as 0x" << std::hex
                                        << sized);
      EXPECT_EQ(Errno(ENOTTY), dev_.Call(sized, arg));
    }
  }
}

}  // namespace
}  // namespace hmm_conformance
