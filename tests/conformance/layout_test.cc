// SPDX-License-Identifier: MIT
//
// layout_test.cc - the ABI layout, pinned at compile time.
//
// abi/README.md: every field is __u32 or __u64, there is no implicit
// padding, structs only grow at the end, and "each layout is pinned by
// static asserts in the module and by the conformance tests".  A failure
// here is an ABI break, so it stops the build.  The runtime tests repeat the
// checks so the report shows them.

#include <linux/ioctl.h>

#include <cstddef>
#include <type_traits>

#include "hmm_mirror_test.h"

namespace hmm_conformance {
namespace {

// --- struct hmm_mirror_handshake: size flags abi_version module_abi_version
//     features_wanted features_supported ioctls_supported page_shift reserved
static_assert(sizeof(hmm_mirror_handshake) == HMM_MIRROR_HANDSHAKE_SIZE_VER1,
              "sizeof(struct hmm_mirror_handshake) != "
              "HMM_MIRROR_HANDSHAKE_SIZE_VER1: the header's constant and "
              "struct disagree (ABI bug in abi/hmm_mirror.h)");
static_assert(offsetof(hmm_mirror_handshake, size) == 0);
static_assert(offsetof(hmm_mirror_handshake, flags) == 4);
static_assert(offsetof(hmm_mirror_handshake, abi_version) == 8);
static_assert(offsetof(hmm_mirror_handshake, module_abi_version) == 12);
static_assert(offsetof(hmm_mirror_handshake, features_wanted) == 16);
static_assert(offsetof(hmm_mirror_handshake, features_supported) == 24);
static_assert(offsetof(hmm_mirror_handshake, ioctls_supported) == 32);
static_assert(offsetof(hmm_mirror_handshake, page_shift) == 40);
static_assert(offsetof(hmm_mirror_handshake, reserved) == 44);
static_assert(sizeof(hmm_mirror_handshake) == 48,
              "the nine documented fields of hmm_mirror_handshake take 48 "
              "bytes");

// --- struct hmm_mirror_fault: size flags addr length pages_mapped retries
static_assert(sizeof(hmm_mirror_fault) == HMM_MIRROR_FAULT_SIZE_VER1);
static_assert(offsetof(hmm_mirror_fault, size) == 0);
static_assert(offsetof(hmm_mirror_fault, flags) == 4);
static_assert(offsetof(hmm_mirror_fault, addr) == 8);
static_assert(offsetof(hmm_mirror_fault, length) == 16);
static_assert(offsetof(hmm_mirror_fault, pages_mapped) == 24);
static_assert(offsetof(hmm_mirror_fault, retries) == 32);
static_assert(sizeof(hmm_mirror_fault) == 40);

// --- struct hmm_mirror_pages: size flags addr length states states_len
static_assert(sizeof(hmm_mirror_pages) == HMM_MIRROR_PAGES_SIZE_VER1);
static_assert(offsetof(hmm_mirror_pages, size) == 0);
static_assert(offsetof(hmm_mirror_pages, flags) == 4);
static_assert(offsetof(hmm_mirror_pages, addr) == 8);
static_assert(offsetof(hmm_mirror_pages, length) == 16);
static_assert(offsetof(hmm_mirror_pages, states) == 24);
static_assert(offsetof(hmm_mirror_pages, states_len) == 32);
static_assert(sizeof(hmm_mirror_pages) == 40);

// --- struct hmm_mirror_rw: size flags addr length buf device_faults
static_assert(sizeof(hmm_mirror_rw) == HMM_MIRROR_RW_SIZE_VER1);
static_assert(offsetof(hmm_mirror_rw, size) == 0);
static_assert(offsetof(hmm_mirror_rw, flags) == 4);
static_assert(offsetof(hmm_mirror_rw, addr) == 8);
static_assert(offsetof(hmm_mirror_rw, length) == 16);
static_assert(offsetof(hmm_mirror_rw, buf) == 24);
static_assert(offsetof(hmm_mirror_rw, device_faults) == 32);
static_assert(sizeof(hmm_mirror_rw) == 40);

// Field widths: every field is __u32 or __u64.
static_assert(std::is_same_v<decltype(hmm_mirror_handshake::size), __u32>);
static_assert(std::is_same_v<decltype(hmm_mirror_handshake::features_wanted),
                             __u64>);
static_assert(std::is_same_v<decltype(hmm_mirror_pages::states), __u64>);
static_assert(std::is_same_v<decltype(hmm_mirror_rw::buf), __u64>);

// --- Commands: _IO(0xB2, nr), no size or direction bits.
static_assert(HMM_MIRROR_IOC_MAGIC == 0xB2);
static_assert(HMM_MIRROR_ABI_VERSION == 1);

#define HMM_PIN_COMMAND(cmd, nr)                          \
  static_assert(_IOC_TYPE(cmd) == 0xB2, #cmd " magic");   \
  static_assert(_IOC_NR(cmd) == (nr), #cmd " number");    \
  static_assert(_IOC_DIR(cmd) == _IOC_NONE, #cmd " dir"); \
  static_assert(_IOC_SIZE(cmd) == 0, #cmd " size");       \
  static_assert((cmd) == _IO(0xB2, nr), #cmd)

HMM_PIN_COMMAND(HMM_MIRROR_IOC_HANDSHAKE, 0x00);
HMM_PIN_COMMAND(HMM_MIRROR_IOC_FAULT, 0x01);
HMM_PIN_COMMAND(HMM_MIRROR_IOC_SNAPSHOT, 0x02);
HMM_PIN_COMMAND(HMM_MIRROR_IOC_READ, 0x03);
HMM_PIN_COMMAND(HMM_MIRROR_IOC_WRITE, 0x04);
HMM_PIN_COMMAND(HMM_MIRROR_IOC_QUERY, 0x05);
#undef HMM_PIN_COMMAND

// --- Flag and state bits.
static_assert(HMM_MIRROR_FEAT_FAULT == 1ULL << 0);
static_assert(HMM_MIRROR_FEAT_SNAPSHOT == 1ULL << 1);
static_assert(HMM_MIRROR_FEAT_DEVICE_RW == 1ULL << 2);
static_assert(HMM_MIRROR_FEAT_QUERY == 1ULL << 3);
static_assert(HMM_MIRROR_FEAT_HUGE_ENTRIES == 1ULL << 4);
static_assert(HMM_MIRROR_FAULT_WRITE == 1U << 0);
static_assert(HMM_MIRROR_PAGE_VALID == 1U << 0);
static_assert(HMM_MIRROR_PAGE_WRITE == 1U << 1);
static_assert(HMM_MIRROR_PAGE_ERROR == 1U << 2);
static_assert(HMM_MIRROR_PAGE_ZERO == 1U << 3);
static_assert(HMM_MIRROR_PAGE_ORDER_SHIFT == 8);
static_assert(HMM_MIRROR_PAGE_ORDER(0x0903U) == 9);
static_assert(HMM_MIRROR_PAGE_ORDER(0x120fU) == 18);

TEST(Layout, StructSizesAreTheVersionOneSizes) {
  EXPECT_EQ(sizeof(hmm_mirror_handshake), size_t{HMM_MIRROR_HANDSHAKE_SIZE_VER1});
  EXPECT_EQ(sizeof(hmm_mirror_fault), size_t{HMM_MIRROR_FAULT_SIZE_VER1});
  EXPECT_EQ(sizeof(hmm_mirror_pages), size_t{HMM_MIRROR_PAGES_SIZE_VER1});
  EXPECT_EQ(sizeof(hmm_mirror_rw), size_t{HMM_MIRROR_RW_SIZE_VER1});
}

TEST(Layout, EveryStructStartsWithSizeThenFlags) {
  EXPECT_EQ(offsetof(hmm_mirror_handshake, size), 0u);
  EXPECT_EQ(offsetof(hmm_mirror_fault, size), 0u);
  EXPECT_EQ(offsetof(hmm_mirror_pages, size), 0u);
  EXPECT_EQ(offsetof(hmm_mirror_rw, size), 0u);
  EXPECT_EQ(offsetof(hmm_mirror_handshake, flags), 4u);
  EXPECT_EQ(offsetof(hmm_mirror_fault, flags), 4u);
  EXPECT_EQ(offsetof(hmm_mirror_pages, flags), 4u);
  EXPECT_EQ(offsetof(hmm_mirror_rw, flags), 4u);
}

TEST(Layout, CommandsAreIoNumbersOfMagicB2) {
  const struct {
    unsigned long cmd;
    unsigned nr;
  } cmds[] = {{HMM_MIRROR_IOC_HANDSHAKE, 0}, {HMM_MIRROR_IOC_FAULT, 1},
              {HMM_MIRROR_IOC_SNAPSHOT, 2},  {HMM_MIRROR_IOC_READ, 3},
              {HMM_MIRROR_IOC_WRITE, 4},     {HMM_MIRROR_IOC_QUERY, 5}};
  for (const auto& c : cmds) {
    SCOPED_TRACE(c.nr);
    EXPECT_EQ(_IOC_TYPE(c.cmd), 0xB2u);
    EXPECT_EQ(_IOC_NR(c.cmd), c.nr);
    EXPECT_EQ(_IOC_DIR(c.cmd), unsigned{_IOC_NONE});
    EXPECT_EQ(_IOC_SIZE(c.cmd), 0u);
  }
}

}  // namespace
}  // namespace hmm_conformance
