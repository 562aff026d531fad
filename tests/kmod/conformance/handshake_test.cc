// SPDX-License-Identifier: MIT
//
// handshake_test.cc - HMM_MIRROR_IOC_HANDSHAKE (abi/README.md, "HANDSHAKE").
// The size/flags rules that apply to every command are in compat_test.cc.

#include <cstring>

#include "hmm_mirror_test.h"

namespace hmm_conformance {
namespace {

using HandshakeTest = MirrorTest;

constexpr uint64_t kVersionOneIoctls =
    (1ULL << HMM_MIRROR_NR_HANDSHAKE) | (1ULL << HMM_MIRROR_NR_FAULT) |
    (1ULL << HMM_MIRROR_NR_SNAPSHOT) | (1ULL << HMM_MIRROR_NR_READ) |
    (1ULL << HMM_MIRROR_NR_WRITE) | (1ULL << HMM_MIRROR_NR_QUERY);

// The answer fields, for comparing two handshakes.
void ExpectSameAnswer(const hmm_mirror_handshake& a,
                      const hmm_mirror_handshake& b) {
  EXPECT_EQ(a.module_abi_version, b.module_abi_version);
  EXPECT_EQ(a.features_supported, b.features_supported);
  EXPECT_EQ(a.ioctls_supported, b.ioctls_supported);
  EXPECT_EQ(a.page_shift, b.page_shift);
  EXPECT_EQ(a.addr_limit, b.addr_limit);
  EXPECT_EQ(a.device_memory_size, b.device_memory_size);
}

// The feature bits ABI version 3 added, which older callers do not get.
constexpr uint64_t kVersion3Features =
    HMM_MIRROR_FEAT_RW_COPIED | HMM_MIRROR_FEAT_ADDR_LIMIT;
// And version 4 (only where the kernel has device-private memory).
constexpr uint64_t kVersion4Features = HMM_MIRROR_FEAT_DEVICE_MEMORY;
// And version 5: exclusive access (where the kernel has device-exclusive
// entries) and eviction (only with device memory).
constexpr uint64_t kVersion5Features =
    HMM_MIRROR_FEAT_EXCLUSIVE | HMM_MIRROR_FEAT_DEVICE_EVICT;

TEST_F(HandshakeTest, VersionOneStructGetsTheVersionOneAnswer) {
  hmm_mirror_handshake hs = MakeHandshake();
  ASSERT_EQ(kSuccess, dev_.Handshake(&hs));
  EXPECT_GE(hs.module_abi_version, 1u);
  EXPECT_EQ(hs.page_shift, 12u);
  EXPECT_EQ(uint64_t{1} << hs.page_shift, OsPageSize());
  EXPECT_EQ(hs.features_supported & kRequiredFeatures, kRequiredFeatures)
      << "features_supported = 0x" << std::hex << hs.features_supported;
  EXPECT_EQ(hs.ioctls_supported & kVersionOneIoctls, kVersionOneIoctls)
      << "ioctls_supported = 0x" << std::hex << hs.ioctls_supported;
  // The struct keeps the caller's input fields.
  EXPECT_EQ(hs.size, sizeof(hs));
  EXPECT_EQ(hs.flags, 0u);
  EXPECT_EQ(hs.reserved, 0u);
}

TEST_F(HandshakeTest, RepeatedHandshakesGiveIdenticalAnswers) {
  hmm_mirror_handshake first = MakeHandshake();
  ASSERT_EQ(kSuccess, dev_.Handshake(&first));
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE(i);
    hmm_mirror_handshake again = MakeHandshake();
    ASSERT_EQ(kSuccess, dev_.Handshake(&again));
    ExpectSameAnswer(first, again);
  }
  // A second, independent session gets the same answer.
  Mirror other;
  std::string err = other.Open();
  ASSERT_TRUE(err.empty()) << err;
  ExpectSameAnswer(first, other.info());
}

TEST_F(HandshakeTest, OutputFieldsAreIgnoredOnInput) {
  hmm_mirror_handshake clean = MakeHandshake();
  ASSERT_EQ(kSuccess, dev_.Handshake(&clean));

  hmm_mirror_handshake dirty = MakeHandshake();
  dirty.module_abi_version = 0xdeadbeef;
  dirty.features_supported = ~0ULL;
  dirty.ioctls_supported = 0x5555555555555555ULL;
  dirty.page_shift = 99;
  dirty.addr_limit = 0x123456789000ULL;
  ASSERT_EQ(kSuccess, dev_.Handshake(&dirty));
  ExpectSameAnswer(clean, dirty);
}

TEST_F(HandshakeTest, AbiVersionZeroIsEinval) {
  hmm_mirror_handshake hs = MakeHandshake();
  hs.abi_version = 0;
  EXPECT_EQ(Errno(EINVAL), dev_.Handshake(&hs));
}

TEST_F(HandshakeTest, NonZeroReservedIsEinval) {
  for (uint32_t reserved : {1U, 0x80000000U, 0xffffffffU}) {
    SCOPED_TRACE(reserved);
    hmm_mirror_handshake hs = MakeHandshake();
    hs.reserved = reserved;
    EXPECT_EQ(Errno(EINVAL), dev_.Handshake(&hs));
  }
}

TEST_F(HandshakeTest, WantingAnUnknownFeatureIsNotAnError) {
  hmm_mirror_handshake none = MakeHandshake();
  none.features_wanted = 0;
  ASSERT_EQ(kSuccess, dev_.Handshake(&none));

  hmm_mirror_handshake unknown = MakeHandshake();
  unknown.features_wanted = 1ULL << 63;
  ASSERT_EQ(kSuccess, dev_.Handshake(&unknown));
  EXPECT_EQ(unknown.features_supported & (1ULL << 63), 0u);

  hmm_mirror_handshake all = MakeHandshake();
  all.features_wanted = ~0ULL;
  ASSERT_EQ(kSuccess, dev_.Handshake(&all));

  // features_supported lists what the module supports, whatever was wanted.
  EXPECT_EQ(none.features_supported, unknown.features_supported);
  EXPECT_EQ(none.features_supported, all.features_supported);
}

TEST_F(HandshakeTest, ListedCommandsExistAndUnlistedOnesAreEnotty) {
  hmm_mirror_handshake hs = MakeHandshake();
  ASSERT_EQ(kSuccess, dev_.Handshake(&hs));
  // A zeroed argument: a listed command rejects it (size 0 is EINVAL),
  // which tells it apart from an unknown command.
  uint8_t zero[4096] = {};
  for (unsigned nr = 0; nr < 64; ++nr) {
    SCOPED_TRACE(nr);
    Errno rc = dev_.Call(_IO(HMM_MIRROR_IOC_MAGIC, nr), zero);
    if (hs.ioctls_supported & (1ULL << nr))
      EXPECT_NE(Errno(ENOTTY), rc);
    else
      EXPECT_EQ(Errno(ENOTTY), rc);
  }
}

TEST_F(HandshakeTest, NewerCallerWithZeroTailGetsTheSameAnswer) {
  hmm_mirror_handshake v1 = MakeHandshake();
  ASSERT_EQ(kSuccess, dev_.Handshake(&v1));

  // A caller compiled against a future header with one more __u64 it
  // leaves zero.
  struct {
    hmm_mirror_handshake hs;
    uint64_t future_field;
  } newer;
  std::memset(&newer, 0, sizeof(newer));
  newer.hs = MakeHandshake();
  newer.hs.size = sizeof(newer);
  ASSERT_EQ(sizeof(newer), sizeof(hmm_mirror_handshake) + 8);
  ASSERT_EQ(kSuccess, dev_.Handshake(&newer.hs));
  ExpectSameAnswer(v1, newer.hs);
  EXPECT_EQ(newer.future_field, 0u);
}

TEST_F(HandshakeTest, AnswerIsWrittenWithinTheCallersSize) {
  // An old binary's version-1 struct followed by its own memory: the
  // module fills in the answer and touches nothing past "size".
  struct {
    hmm_mirror_handshake hs;
    uint8_t after[64];
  } old;
  std::memset(&old, 0, sizeof(old));
  old.hs = MakeHandshake();
  old.hs.size = HMM_MIRROR_HANDSHAKE_SIZE_VER1;
  std::memset(old.after, kCanaryByte, sizeof(old.after));
  ASSERT_EQ(kSuccess, dev_.Handshake(&old.hs));
  EXPECT_EQ(old.hs.page_shift, 12u);
  EXPECT_EQ(old.hs.features_supported & kRequiredFeatures, kRequiredFeatures);
  EXPECT_TRUE(IsFilledWith(old.after, sizeof(old.after), kCanaryByte));
}

// Every feature bit this header defines.
constexpr uint64_t kKnownFeatures =
    HMM_MIRROR_FEAT_FAULT | HMM_MIRROR_FEAT_SNAPSHOT |
    HMM_MIRROR_FEAT_DEVICE_RW | HMM_MIRROR_FEAT_QUERY |
    HMM_MIRROR_FEAT_HUGE_ENTRIES | HMM_MIRROR_FEAT_ATTACH |
    HMM_MIRROR_FEAT_EVENTS | HMM_MIRROR_FEAT_LAZY_NOTIFIERS |
    HMM_MIRROR_FEAT_FILE_BACKED | HMM_MIRROR_FEAT_FORK |
    HMM_MIRROR_FEAT_EXIT | HMM_MIRROR_FEAT_STATS |
    HMM_MIRROR_FEAT_SNAPSHOT_RUNS | HMM_MIRROR_FEAT_RW_COPIED |
    HMM_MIRROR_FEAT_ADDR_LIMIT | HMM_MIRROR_FEAT_DEVICE_MEMORY |
    HMM_MIRROR_FEAT_EXCLUSIVE | HMM_MIRROR_FEAT_DEVICE_EVICT;

TEST_F(HandshakeTest, OnlyDefinedFeatureBitsAreAdvertised) {
  hmm_mirror_handshake hs = MakeHandshake();
  hs.features_wanted = ~0ULL;
  ASSERT_EQ(kSuccess, dev_.Handshake(&hs));
  EXPECT_EQ(hs.features_supported & ~kKnownFeatures, 0u)
      << "features_supported = 0x" << std::hex << hs.features_supported
      << ": bits the ABI (abi/hmm_mirror.h) does not define";
  RecordProperty("features_supported",
                 FeatureNames(hs.features_supported));
}

TEST_F(HandshakeTest, OnlyDefinedCommandsAreListed) {
  hmm_mirror_handshake hs = MakeHandshake();
  ASSERT_EQ(kSuccess, dev_.Handshake(&hs));
  const uint64_t defined = (1ULL << (HMM_MIRROR_NR_ATOMIC + 1)) - 1;
  EXPECT_EQ(hs.ioctls_supported & ~defined, 0u)
      << "ioctls_supported = 0x" << std::hex << hs.ioctls_supported;
}

// The feature table: an advertised feature's command exists.
TEST_F(HandshakeTest, EachAdvertisedFeatureHasItsCommand) {
  hmm_mirror_handshake hs = MakeHandshake();
  ASSERT_EQ(kSuccess, dev_.Handshake(&hs));
  const struct {
    uint64_t feature;
    unsigned nr;
  } table[] = {{HMM_MIRROR_FEAT_FAULT, HMM_MIRROR_NR_FAULT},
               {HMM_MIRROR_FEAT_SNAPSHOT, HMM_MIRROR_NR_SNAPSHOT},
               {HMM_MIRROR_FEAT_DEVICE_RW, HMM_MIRROR_NR_READ},
               {HMM_MIRROR_FEAT_DEVICE_RW, HMM_MIRROR_NR_WRITE},
               {HMM_MIRROR_FEAT_QUERY, HMM_MIRROR_NR_QUERY},
               {HMM_MIRROR_FEAT_ATTACH, HMM_MIRROR_NR_ATTACH},
               {HMM_MIRROR_FEAT_EVENTS, HMM_MIRROR_NR_EVENTS},
               {HMM_MIRROR_FEAT_STATS, HMM_MIRROR_NR_STATS},
               {HMM_MIRROR_FEAT_DEVICE_MEMORY, HMM_MIRROR_NR_MIGRATE},
               {HMM_MIRROR_FEAT_EXCLUSIVE, HMM_MIRROR_NR_EXCLUSIVE},
               {HMM_MIRROR_FEAT_EXCLUSIVE, HMM_MIRROR_NR_ATOMIC}};
  uint8_t zero[4096] = {};
  for (const auto& t : table) {
    if (!(hs.features_supported & t.feature)) continue;
    SCOPED_TRACE(::testing::Message() << FeatureNames(t.feature) << " -> nr "
                                      << t.nr);
    EXPECT_TRUE(hs.ioctls_supported & (1ULL << t.nr))
        << "ioctls_supported = 0x" << std::hex << hs.ioctls_supported;
    // And the command really exists (a zeroed struct is EINVAL, not
    // ENOTTY).
    EXPECT_EQ(Errno(EINVAL), dev_.Call(_IO(HMM_MIRROR_IOC_MAGIC, t.nr), zero));
  }
}

// The HMM_REQUIRE_FEATURES skip messages name the bit.
TEST(FeatureNamesTest, NamesEveryDefinedBit) {
  EXPECT_EQ(FeatureNames(HMM_MIRROR_FEAT_ATTACH), "HMM_MIRROR_FEAT_ATTACH (bit 5)");
  EXPECT_EQ(FeatureNames(HMM_MIRROR_FEAT_STATS | HMM_MIRROR_FEAT_EXIT),
            "HMM_MIRROR_FEAT_EXIT (bit 10), HMM_MIRROR_FEAT_STATS (bit 11)");
  for (unsigned bit = 0; bit < 16; ++bit)
    EXPECT_EQ(FeatureNames(1ULL << bit).find("feature ("), std::string::npos)
        << bit;
  EXPECT_EQ(FeatureNames(HMM_MIRROR_FEAT_DEVICE_EVICT),
            "HMM_MIRROR_FEAT_DEVICE_EVICT (bit 17)");
}

// ABI 5: eviction is advertised exactly when device memory is.
TEST_F(HandshakeTest, EvictionIsAdvertisedWithDeviceMemoryOnly) {
  hmm_mirror_handshake hs = MakeHandshake();
  ASSERT_EQ(kSuccess, dev_.Handshake(&hs));
  const bool dm = hs.features_supported & HMM_MIRROR_FEAT_DEVICE_MEMORY;
  const bool evict = hs.features_supported & HMM_MIRROR_FEAT_DEVICE_EVICT;
  EXPECT_EQ(evict, dm) << FeatureNames(hs.features_supported);
  EXPECT_EQ(evict, hs.device_memory_size != 0);
  RecordProperty("device_evict", evict ? "yes" : "no");
}

TEST_F(HandshakeTest, ACallerIsAnsweredAsAModuleOfItsVersionWas) {
  hmm_mirror_handshake now = MakeHandshake();
  ASSERT_EQ(kSuccess, dev_.Handshake(&now));
  hmm_mirror_handshake v1 = MakeHandshake();
  v1.abi_version = 1;
  ASSERT_EQ(kSuccess, dev_.Handshake(&v1));
  EXPECT_EQ(v1.module_abi_version, 1u);
  EXPECT_EQ(v1.features_supported & HMM_MIRROR_FEAT_SNAPSHOT_RUNS, 0u)
      << "a version-1 module had no SNAPSHOT runs";
  EXPECT_EQ(v1.features_supported,
            now.features_supported &
                ~(uint64_t{HMM_MIRROR_FEAT_SNAPSHOT_RUNS} | kVersion3Features |
                  kVersion4Features | kVersion5Features));
  EXPECT_EQ(v1.ioctls_supported, now.ioctls_supported);
  EXPECT_EQ(v1.addr_limit, 0u) << "a version-1 module had no addr_limit";
  // Version 2: SNAPSHOT runs, not what version 3 added.
  hmm_mirror_handshake v2 = MakeHandshake();
  v2.abi_version = 2;
  ASSERT_EQ(kSuccess, dev_.Handshake(&v2));
  EXPECT_EQ(v2.module_abi_version, 2u);
  EXPECT_EQ(v2.features_supported,
            now.features_supported &
                ~(kVersion3Features | kVersion4Features | kVersion5Features));
  EXPECT_EQ(v2.addr_limit, 0u) << "a version-2 module had no addr_limit";
  // Version 3: the address limit, not device memory.
  hmm_mirror_handshake v3 = MakeHandshake();
  v3.abi_version = 3;
  ASSERT_EQ(kSuccess, dev_.Handshake(&v3));
  EXPECT_EQ(v3.module_abi_version, 3u);
  EXPECT_EQ(v3.features_supported,
            now.features_supported & ~(kVersion4Features | kVersion5Features));
  EXPECT_EQ(v3.addr_limit, now.addr_limit);
  EXPECT_EQ(v3.device_memory_size, 0u) << "a version-3 module had no device memory";
  EXPECT_EQ(v3.device_memory_used, 0u);
  // Version 4: device memory, not exclusive access nor eviction.
  hmm_mirror_handshake v4 = MakeHandshake();
  v4.abi_version = 4;
  ASSERT_EQ(kSuccess, dev_.Handshake(&v4));
  EXPECT_EQ(v4.module_abi_version, 4u);
  EXPECT_EQ(v4.features_supported, now.features_supported & ~kVersion5Features);
  EXPECT_EQ(v4.device_memory_size, now.device_memory_size);
  // A caller newer than the module gets the module's version.
  hmm_mirror_handshake newer = MakeHandshake();
  newer.abi_version = 1000;
  ASSERT_EQ(kSuccess, dev_.Handshake(&newer));
  ExpectSameAnswer(newer, now);
  EXPECT_EQ(now.module_abi_version, uint32_t{HMM_MIRROR_ABI_VERSION});
}

// ABI version 3: the device's address limit.
TEST_F(HandshakeTest, AddrLimitIsTheEndOfTheDevicePageTable) {
  hmm_mirror_handshake hs = MakeHandshake();
  hs.addr_limit = 0xdeadbeef;  // an out field: ignored on input
  ASSERT_EQ(kSuccess, dev_.Handshake(&hs));
  ASSERT_GE(hs.module_abi_version, 3u);
  static_assert(HMM_MIRROR_ADDR_LIMIT == uint64_t{1} << 48, "the documented limit");
  EXPECT_EQ(hs.addr_limit, HMM_MIRROR_ADDR_LIMIT);
  EXPECT_EQ(hs.features_supported & kVersion3Features, kVersion3Features)
      << "features_supported = 0x" << std::hex << hs.features_supported;
  RecordProperty("addr_limit", std::to_string(hs.addr_limit));
}

TEST_F(HandshakeTest, VersionOneSizedCallerOfVersion3GetsNoAddrLimit) {
  // A caller that asks for version 3 with the 48-byte struct gets the
  // version-3 answer in the fields it has, and nothing past them.
  struct {
    hmm_mirror_handshake hs;
    uint8_t after[64];
  } old;
  std::memset(&old, kCanaryByte, sizeof(old));
  old.hs = MakeHandshake();
  old.hs.size = HMM_MIRROR_HANDSHAKE_SIZE_VER1;
  std::memset(&old.hs.addr_limit, kCanaryByte, sizeof(old.hs.addr_limit));
  ASSERT_EQ(kSuccess, dev_.Handshake(&old.hs));
  EXPECT_EQ(old.hs.module_abi_version, uint32_t{HMM_MIRROR_ABI_VERSION});
  EXPECT_EQ(old.hs.features_supported & kVersion3Features, kVersion3Features);
  EXPECT_TRUE(IsFilledWith(&old.hs.addr_limit, sizeof(old.hs.addr_limit),
                           kCanaryByte))
      << "addr_limit written past the caller's size";
  EXPECT_TRUE(IsFilledWith(old.after, sizeof(old.after), kCanaryByte));
}

TEST_F(HandshakeTest, VersionTwoCallerWithTheNewStructGetsAZeroAddrLimit) {
  hmm_mirror_handshake hs = MakeHandshake();
  hs.abi_version = 2;
  hs.addr_limit = ~uint64_t{0};
  ASSERT_EQ(kSuccess, dev_.Handshake(&hs));
  EXPECT_EQ(hs.module_abi_version, 2u);
  EXPECT_EQ(hs.addr_limit, 0u);
  EXPECT_EQ(hs.features_supported & kVersion3Features, 0u);
}

}  // namespace
}  // namespace hmm_conformance
