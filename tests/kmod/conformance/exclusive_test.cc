// SPDX-License-Identifier: MIT
//
// exclusive_test.cc - exclusive device access (ABI 5): EXCLUSIVE makes
// pages exclusive to the device (QUERY: HMM_MIRROR_PAGE_EXCLUSIVE; the CPU
// page table has a device-exclusive entry, so SNAPSHOT sees nothing there),
// ATOMIC does device atomics through them, and a CPU access, another
// device, mprotect, fork and munmap take them back.  Every test but the last
// needs HMM_MIRROR_FEAT_EXCLUSIVE, which only a kernel with
// CONFIG_DEVICE_PRIVATE gives (not Debian's stock 6.1 and 6.12): they are
// skipped there, naming the bit.  What the kernel refuses differs by kernel
// (KernelRefusals): those tests say which kernel does what.

#include <sys/mman.h>

#include <fstream>
#include <string>
#include <vector>

#include "hmm_mirror_test.h"

namespace hmm_conformance {
namespace {

constexpr uint32_t kHeld =
    HMM_MIRROR_PAGE_VALID | HMM_MIRROR_PAGE_WRITE | HMM_MIRROR_PAGE_EXCLUSIVE;

struct ExclusiveOut {
  std::vector<uint32_t> results;
  uint64_t granted = ~uint64_t{0};
  uint64_t refused = ~uint64_t{0};
};

Errno Exclusive(const Mirror& m, uint64_t addr, uint64_t length,
                ExclusiveOut* out) {
  const uint64_t n = length / m.page_size();
  out->results.assign(n, kStateCanary);
  hmm_mirror_exclusive a = MakeExclusive(addr, length, out->results.data(), n);
  Errno rc = m.Call(HMM_MIRROR_IOC_EXCLUSIVE, &a);
  out->granted = a.pages_granted;
  out->refused = a.pages_refused;
  return rc;
}

// One ATOMIC; *old gets the word's value before it.
Errno Atomic(const Mirror& m, uint64_t addr, uint32_t op, uint64_t operand,
             uint64_t* old, uint64_t compare = 0, uint32_t flags = 0) {
  hmm_mirror_atomic a = MakeAtomic(addr, op, operand, compare, flags);
  a.old = 0xdeadbeefdeadbeefULL;
  Errno rc = m.Call(HMM_MIRROR_IOC_ATOMIC, &a);
  if (old) *old = a.old;
  return rc;
}

// Kernels before 6.15 have make_device_exclusive_range(), which refuses
// the pages of a large folio (and says only "NULL": EBUSY here); later ones
// have make_device_exclusive(), which takes them.
bool KernelHasPerPageExclusive() { return KernelAtLeast(6, 15); }

class ExclusiveTest : public FeatureTest<HMM_MIRROR_FEAT_EXCLUSIVE> {
 protected:
  static constexpr uint64_t kPages = 8;

  void SetUp() override {
    FeatureTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    map_.reset(new Mapping(kPages * page_));
    // 4K pages: a THP is a case of its own (KernelRefusals).
    map_->Advise(0, map_->size(), MADV_NOHUGEPAGE);
    FillPattern(map_->data(), map_->size(), 61);
  }

  uint64_t addr(uint64_t page = 0) const { return map_->addr() + page * page_; }
  uint64_t len() const { return map_->size(); }
  volatile uint64_t* word(uint64_t page, uint64_t index = 0) const {
    return reinterpret_cast<volatile uint64_t*>(map_->at(page * page_)) + index;
  }

  void Grant() {
    ExclusiveOut out;
    ASSERT_EQ(kSuccess, Exclusive(dev_, addr(), len(), &out));
    ASSERT_TRUE(ResultsAre(out.results, 0, kPages, 0));
    ASSERT_EQ(out.granted, kPages);
    ASSERT_EQ(out.refused, 0u);
  }

  std::unique_ptr<Mapping> map_;
};

TEST_F(ExclusiveTest, HandshakeListsBothCommands) {
  const hmm_mirror_handshake& hs = dev_.info();
  EXPECT_NE(hs.ioctls_supported & (1ULL << HMM_MIRROR_NR_EXCLUSIVE), 0u);
  EXPECT_NE(hs.ioctls_supported & (1ULL << HMM_MIRROR_NR_ATOMIC), 0u);
}

TEST_F(ExclusiveTest, GrantedPagesAreTheDevicesAlone) {
  hmm_mirror_stats before;
  ASSERT_EQ(kSuccess, dev_.Stats(&before));
  Grant();
  if (HasFatalFailure()) return;
  std::vector<uint32_t> st;
  ASSERT_EQ(kSuccess, dev_.Query(addr(), len(), &st));
  EXPECT_TRUE(PagesAre(st, 0, kPages, kHeld));
  // The CPU page table has a device-exclusive entry, which a snapshot
  // (no fault) reports as nothing there.
  ASSERT_EQ(kSuccess, dev_.Snapshot(addr(), len(), &st));
  EXPECT_TRUE(PagesAre(st, 0, kPages, 0));
  hmm_mirror_stats after;
  ASSERT_EQ(kSuccess, dev_.Stats(&after));
  EXPECT_EQ(after.exclusive_granted, before.exclusive_granted + kPages);
  // The device reads and writes them without giving them up.
  std::vector<uint8_t> buf(len());
  ASSERT_EQ(kSuccess, dev_.Read(addr(), len(), buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), len(), 61, addr()));
  FillPatternAs(buf.data(), len(), 62, addr());
  ASSERT_EQ(kSuccess, dev_.Write(addr(), len(), buf.data()));
  ASSERT_EQ(kSuccess, dev_.Query(addr(), len(), &st));
  EXPECT_TRUE(PagesAre(st, 0, kPages, kHeld));
  // The CPU sees the device's writes once it takes the pages back.
  EXPECT_TRUE(HasPattern(map_->data(), len(), 62));
}

TEST_F(ExclusiveTest, GrantingTwiceIsHarmlessAndSilent) {
  ASSERT_EQ(kSuccess, dev_.SetEvents(HMM_MIRROR_EVENT_ALL_REASONS));
  Grant();
  if (HasFatalFailure()) return;
  Grant();
  if (HasFatalFailure()) return;
  // The device's own grants are not invalidations of the device.
  std::vector<hmm_mirror_event> ev = DrainEvents(dev_.fd());
  EXPECT_TRUE(ev.empty()) << EventsString(ev);
}

TEST_F(ExclusiveTest, EveryAtomicOperation) {
  Grant();
  if (HasFatalFailure()) return;
  const uint64_t a = addr(3) + 16;
  uint64_t old = 0;
  const uint64_t start = PatternWord(61, a);
  ASSERT_EQ(kSuccess, Atomic(dev_, a, HMM_MIRROR_ATOMIC_XCHG, 100, &old));
  EXPECT_EQ(old, start);
  ASSERT_EQ(kSuccess, Atomic(dev_, a, HMM_MIRROR_ATOMIC_ADD, 23, &old));
  EXPECT_EQ(old, 100u);
  ASSERT_EQ(kSuccess, Atomic(dev_, a, HMM_MIRROR_ATOMIC_CMPXCHG, 7, &old, 99));
  EXPECT_EQ(old, 123u) << "a failed compare leaves the word";
  ASSERT_EQ(kSuccess, Atomic(dev_, a, HMM_MIRROR_ATOMIC_CMPXCHG, 7, &old, 123));
  EXPECT_EQ(old, 123u);
  ASSERT_EQ(kSuccess, Atomic(dev_, a, HMM_MIRROR_ATOMIC_OR, 0xf0, &old));
  EXPECT_EQ(old, 7u);
  ASSERT_EQ(kSuccess, Atomic(dev_, a, HMM_MIRROR_ATOMIC_AND, 0x3c, &old));
  EXPECT_EQ(old, 0xf7u);
  hmm_mirror_stats s;
  ASSERT_EQ(kSuccess, dev_.Stats(&s));
  EXPECT_EQ(s.atomic_ops, 6u);
  // Still the device's until the CPU looks; then the CPU sees the result.
  std::vector<uint32_t> st;
  ASSERT_EQ(kSuccess, dev_.Query(addr(3), page_, &st));
  EXPECT_TRUE(PagesAre(st, 0, 1, kHeld));
  EXPECT_EQ(*word(3, 2), 0x34u);
  // Nothing else on the page changed.
  EXPECT_EQ(*word(3, 1), PatternWord(61, addr(3) + 8));
  EXPECT_EQ(*word(3, 3), PatternWord(61, addr(3) + 24));
}

TEST_F(ExclusiveTest, CpuAccessTakesThePageBackWithAnEvent) {
  ASSERT_EQ(kSuccess, dev_.SetEvents(ReasonBit(HMM_MIRROR_EVENT_EXCLUSIVE)));
  Grant();
  if (HasFatalFailure()) return;
  hmm_mirror_stats before;
  ASSERT_EQ(kSuccess, dev_.Stats(&before));
  EXPECT_EQ(*word(5), PatternWord(61, addr(5)));  // a CPU read of page 5

  std::vector<hmm_mirror_event> ev =
      OfReason(DrainEvents(dev_.fd()), HMM_MIRROR_EVENT_EXCLUSIVE);
  ASSERT_EQ(ev.size(), 1u) << EventsString(ev);
  EXPECT_TRUE(WellFormed(ev[0]));
  EXPECT_EQ(ev[0].start, addr(5));
  EXPECT_EQ(ev[0].end, addr(6));
  EXPECT_EQ(ev[0].pages, 1u);
  std::vector<uint32_t> st;
  ASSERT_EQ(kSuccess, dev_.Query(addr(), len(), &st));
  EXPECT_TRUE(PagesAre(st, 5, 6, 0));
  EXPECT_TRUE(PagesAre(st, 0, 5, kHeld));
  EXPECT_TRUE(PagesAre(st, 6, kPages, kHeld));
  hmm_mirror_stats after;
  ASSERT_EQ(kSuccess, dev_.Stats(&after));
  EXPECT_EQ(after.invalidations[HMM_MIRROR_EVENT_EXCLUSIVE],
            before.invalidations[HMM_MIRROR_EVENT_EXCLUSIVE] + 1);

  // Without the page, an atomic that may not take it fails; one that may
  // takes it again, as a device's atomic fault does.
  uint64_t old = 0;
  EXPECT_EQ(Errno(EAGAIN), Atomic(dev_, addr(5), HMM_MIRROR_ATOMIC_ADD, 1,
                                  &old, 0, HMM_MIRROR_ATOMIC_NO_GRANT));
  ASSERT_EQ(kSuccess, Atomic(dev_, addr(6), HMM_MIRROR_ATOMIC_ADD, 1, &old, 0,
                             HMM_MIRROR_ATOMIC_NO_GRANT));
  EXPECT_EQ(old, PatternWord(61, addr(6)));
  ASSERT_EQ(kSuccess, Atomic(dev_, addr(5), HMM_MIRROR_ATOMIC_ADD, 1, &old));
  EXPECT_EQ(old, PatternWord(61, addr(5)));
  ASSERT_EQ(kSuccess, dev_.Query(addr(5), page_, &st));
  EXPECT_TRUE(PagesAre(st, 0, 1, kHeld));
  EXPECT_EQ(*word(5), PatternWord(61, addr(5)) + 1);
  EXPECT_EQ(*word(6), PatternWord(61, addr(6)) + 1);
}

TEST_F(ExclusiveTest, AtomicTakesExclusiveAccessItself) {
  hmm_mirror_stats before;
  ASSERT_EQ(kSuccess, dev_.Stats(&before));
  uint64_t old = 0;
  ASSERT_EQ(kSuccess, Atomic(dev_, addr(2), HMM_MIRROR_ATOMIC_ADD, 5, &old));
  EXPECT_EQ(old, PatternWord(61, addr(2)));
  std::vector<uint32_t> st;
  ASSERT_EQ(kSuccess, dev_.Query(addr(), len(), &st));
  EXPECT_TRUE(PagesAre(st, 2, 3, kHeld));
  EXPECT_TRUE(PagesAre(st, 0, 2, 0));
  hmm_mirror_stats after;
  ASSERT_EQ(kSuccess, dev_.Stats(&after));
  EXPECT_EQ(after.exclusive_granted, before.exclusive_granted + 1);
  EXPECT_EQ(after.device_faults, before.device_faults + 1);
  EXPECT_EQ(after.atomic_ops, before.atomic_ops + 1);
  EXPECT_EQ(*word(2), PatternWord(61, addr(2)) + 5);
}

TEST_F(ExclusiveTest, ManyAtomicsRacingWithTheCpuLoseNothing) {
  // The device adds 1 and the CPU adds 1000 to the same word, each many
  // times: every CPU access takes the page back, every atomic takes it
  // again, and no increment may be lost.
  constexpr int kRounds = 200;
  volatile uint64_t* w = word(4);
  *w = 0;
  for (int i = 0; i < kRounds; ++i) {
    uint64_t old = 0;
    ASSERT_EQ(kSuccess, Atomic(dev_, addr(4), HMM_MIRROR_ATOMIC_ADD, 1, &old));
    EXPECT_EQ(old, static_cast<uint64_t>(i) * 1001);
    *w = *w + 1000;
  }
  EXPECT_EQ(*w, uint64_t{kRounds} * 1001);
}

TEST_F(ExclusiveTest, AnotherDeviceTakesThePageAway) {
  Mirror other;
  ASSERT_EQ(other.Open(), "");
  ASSERT_EQ(kSuccess, other.SetEvents(ReasonBit(HMM_MIRROR_EVENT_EXCLUSIVE)));
  ASSERT_EQ(kSuccess, dev_.SetEvents(ReasonBit(HMM_MIRROR_EVENT_EXCLUSIVE)));
  ASSERT_EQ(kSuccess, other.Fault(addr(), len()));
  Grant();
  if (HasFatalFailure()) return;
  // The other device's entries went with an EXCLUSIVE invalidation.
  std::vector<uint32_t> st;
  ASSERT_EQ(kSuccess, other.Query(addr(), len(), &st));
  EXPECT_TRUE(PagesAre(st, 0, kPages, 0));
  std::vector<hmm_mirror_event> ev =
      OfReason(DrainEvents(other.fd()), HMM_MIRROR_EVENT_EXCLUSIVE);
  uint64_t pages = 0;
  for (const hmm_mirror_event& e : ev) pages += e.pages;
  EXPECT_EQ(pages, kPages) << EventsString(ev);

  // Its atomic takes page 1 from this device, which is told.
  uint64_t old = 0;
  ASSERT_EQ(kSuccess, Atomic(other, addr(1), HMM_MIRROR_ATOMIC_ADD, 2, &old));
  EXPECT_EQ(old, PatternWord(61, addr(1)));
  ev = OfReason(DrainEvents(dev_.fd()), HMM_MIRROR_EVENT_EXCLUSIVE);
  ASSERT_EQ(ev.size(), 1u) << EventsString(ev);
  EXPECT_EQ(ev[0].start, addr(1));
  EXPECT_EQ(ev[0].pages, 1u);
  ASSERT_EQ(kSuccess, dev_.Query(addr(), len(), &st));
  EXPECT_TRUE(PagesAre(st, 1, 2, 0));
  EXPECT_TRUE(PagesAre(st, 2, kPages, kHeld));
  ASSERT_EQ(kSuccess, other.Query(addr(1), page_, &st));
  EXPECT_TRUE(PagesAre(st, 0, 1, kHeld));
  EXPECT_EQ(*word(1), PatternWord(61, addr(1)) + 2);
}

// hmm-tests.c: exclusive_mprotect.
TEST_F(ExclusiveTest, MprotectReadOnlyEndsItAndRefusesAtomics) {
  Grant();
  if (HasFatalFailure()) return;
  map_->Protect(0, len(), PROT_READ);
  std::vector<uint32_t> st;
  ASSERT_EQ(kSuccess, dev_.Query(addr(), len(), &st));
  EXPECT_TRUE(PagesAre(st, 0, kPages, 0));
  uint64_t old = 0;
  EXPECT_EQ(Errno(EFAULT), Atomic(dev_, addr(), HMM_MIRROR_ATOMIC_ADD, 1, &old));
  ExclusiveOut out;
  ASSERT_EQ(kSuccess, Exclusive(dev_, addr(), len(), &out));
  EXPECT_TRUE(ResultsAre(out.results, 0, kPages, EFAULT));
  EXPECT_EQ(out.refused, kPages);
  EXPECT_EQ(out.granted, 0u);
  std::vector<uint8_t> buf(len());
  ASSERT_EQ(kSuccess, dev_.Read(addr(), len(), buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), len(), 61, addr()));
  // As in the selftest: a device write to the read-only pages is EPERM.
  EXPECT_EQ(Errno(EPERM), dev_.Write(addr(), len(), buf.data()));
  EXPECT_TRUE(HasPattern(map_->data(), len(), 61));
}

// hmm-tests.c: exclusive_cow.
TEST_F(ExclusiveTest, ForkEndsItAndTheCopiesStaySeparate) {
  Grant();
  if (HasFatalFailure()) return;
  volatile uint64_t* w = word(0);
  const uint64_t start = PatternWord(61, addr(0));
  const uint64_t a = addr(0);
  Child child([w, start]() {
    if (*w != start) return 1;
    *w = 77;
    return *w == 77 ? 0 : 2;
  });
  EXPECT_EQ(child.Wait(), 0);
  std::vector<uint32_t> st;
  ASSERT_EQ(kSuccess, dev_.Query(addr(), len(), &st));
  EXPECT_TRUE(PagesAre(st, 0, kPages, 0)) << "fork write-protects them";
  uint64_t old = 0;
  ASSERT_EQ(kSuccess, Atomic(dev_, a, HMM_MIRROR_ATOMIC_ADD, 3, &old));
  EXPECT_EQ(old, start);
  EXPECT_EQ(*w, start + 3);
  EXPECT_TRUE(HasPatternAs(map_->at(page_), len() - page_, 61, addr(1)));
}

TEST_F(ExclusiveTest, MunmapAndMadviseDropThePages) {
  ASSERT_EQ(kSuccess, dev_.SetEvents(HMM_MIRROR_EVENT_ALL_REASONS));
  Grant();
  if (HasFatalFailure()) return;
  map_->Advise(0, 2 * page_, MADV_DONTNEED);
  map_->Unmap(4 * page_, 4 * page_);
  std::vector<uint32_t> st;
  ASSERT_EQ(kSuccess, dev_.Query(addr(), 4 * page_, &st));
  EXPECT_TRUE(PagesAre(st, 0, 2, 0));
  EXPECT_TRUE(PagesAre(st, 2, 4, kHeld));
  std::vector<hmm_mirror_event> ev = DrainEvents(dev_.fd());
  EXPECT_EQ(OfReason(ev, HMM_MIRROR_EVENT_UNMAP).size(), 1u) << EventsString(ev);
  EXPECT_EQ(OfReason(ev, HMM_MIRROR_EVENT_CLEAR).size(), 1u) << EventsString(ev);
  // The zapped pages read as zeros again; the others kept their data.
  EXPECT_EQ(*word(0), 0u);
  EXPECT_EQ(*word(2), PatternWord(61, addr(2)));
  hmm_mirror_stats s;
  ASSERT_EQ(kSuccess, dev_.Stats(&s));
  EXPECT_EQ(s.dpt_pages, 1u) << "page 3, the only one still held";
}

TEST_F(ExclusiveTest, ExitWithPagesHeldIsClean) {
  Child child([]() {
    Mirror m;
    if (!m.Open().empty()) return 1;
    Mapping mine(16 * 4096);
    FillPattern(mine.data(), mine.size(), 63);
    ExclusiveOut out;
    if (Exclusive(m, mine.addr(), mine.size(), &out) != kSuccess) return 2;
    if (out.granted != 16) return 3;
    _exit(0);  // with the pages held and the mirror open
  });
  EXPECT_EQ(child.Wait(), 0);
}

// What the kernel refuses: pages without a VMA or write access (EFAULT on
// every kernel), a shared file page (EOPNOTSUPP from 6.15, EBUSY before),
// and the pages of a transparent huge page (taken from 6.15; before, all
// but the first are EBUSY).
TEST_F(ExclusiveTest, KernelRefusals) {
  const bool per_page = KernelHasPerPageExclusive();
  int fd = memfd_create("hmm-exclusive", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(0, ftruncate(fd, static_cast<off_t>(page_)));
  Mapping area(4 * page_);
  area.Advise(0, area.size(), MADV_NOHUGEPAGE);
  FillPattern(area.data(), area.size(), 64);
  area.Unmap(1 * page_, page_);
  void* f = mmap(area.at(2 * page_), page_, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_FIXED, fd, 0);
  close(fd);
  ASSERT_NE(f, MAP_FAILED);
  static_cast<uint8_t*>(f)[0] = 9;
  area.Protect(3 * page_, page_, PROT_READ);

  ExclusiveOut out;
  ASSERT_EQ(kSuccess, Exclusive(dev_, area.addr(), area.size(), &out));
  EXPECT_EQ(out.results[0], 0u);
  EXPECT_EQ(out.results[1], uint32_t{EFAULT}) << "no VMA";
  EXPECT_EQ(out.results[2], static_cast<uint32_t>(per_page ? EOPNOTSUPP : EBUSY))
      << "a shared file page";
  EXPECT_EQ(out.results[3], uint32_t{EFAULT}) << "read-only";
  EXPECT_EQ(out.granted, 1u);
  EXPECT_EQ(out.refused, 3u);
  EXPECT_EQ(static_cast<uint8_t*>(f)[0], 9);
  // ATOMIC gives the refusal as its error.
  uint64_t old = 0;
  EXPECT_EQ(Errno(per_page ? EOPNOTSUPP : EBUSY),
            Atomic(dev_, area.addr(2 * page_), HMM_MIRROR_ATOMIC_ADD, 1, &old));
  EXPECT_EQ(Errno(EFAULT),
            Atomic(dev_, area.addr(1 * page_), HMM_MIRROR_ATOMIC_ADD, 1, &old));

  // A THP, where the kernel gives one.
  std::ifstream thp("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string mode;
  if (!std::getline(thp, mode) || mode.find("[never]") != std::string::npos)
    return;
  Mapping big(2 * kHugeSize, PROT_READ | PROT_WRITE, -1);
  const uint64_t base = (big.addr() + kHugeSize - 1) & ~(kHugeSize - 1);
  uint8_t* p = reinterpret_cast<uint8_t*>(base);
  madvise(p, kHugeSize, MADV_HUGEPAGE);
  FillPattern(p, kHugeSize, 65);
  if (AnonHugeKb(base) < 2048) return;  // no THP given: nothing to check
  const uint64_t n = 16;
  ASSERT_EQ(kSuccess, Exclusive(dev_, base, n * page_, &out));
  if (per_page) {
    EXPECT_TRUE(ResultsAre(out.results, 0, n, 0));
    EXPECT_EQ(out.granted, n);
  } else {
    // Measured on a 6.1 build with CONFIG_DEVICE_PRIVATE: the head page is
    // granted, every tail page refused.
    EXPECT_EQ(out.results[0], 0u);
    EXPECT_TRUE(ResultsAre(out.results, 1, n, EBUSY));
    EXPECT_EQ(out.refused, n - 1);
  }
  EXPECT_TRUE(HasPattern(p, kHugeSize, 65));
}

TEST_F(ExclusiveTest, BadInput) {
  std::vector<uint32_t> res(kPages);
  hmm_mirror_exclusive ex = MakeExclusive(addr(), len(), res.data(), kPages);
  ex.flags = 1;
  EXPECT_EQ(Errno(EINVAL), dev_.Call(HMM_MIRROR_IOC_EXCLUSIVE, &ex));
  ex = MakeExclusive(addr() + 1, len(), res.data(), kPages);
  EXPECT_EQ(Errno(EINVAL), dev_.Call(HMM_MIRROR_IOC_EXCLUSIVE, &ex));
  ex = MakeExclusive(addr(), len() - 1, res.data(), kPages);
  EXPECT_EQ(Errno(EINVAL), dev_.Call(HMM_MIRROR_IOC_EXCLUSIVE, &ex));
  ex = MakeExclusive(addr(), len(), res.data(), kPages - 1);
  EXPECT_EQ(Errno(EINVAL), dev_.Call(HMM_MIRROR_IOC_EXCLUSIVE, &ex));
  ex = MakeExclusive(addr(), len(), nullptr, kPages);
  EXPECT_EQ(Errno(EINVAL), dev_.Call(HMM_MIRROR_IOC_EXCLUSIVE, &ex));
  // A results pointer into the kernel's half fails before anything.
  ex = MakeExclusive(addr(), len(),
                     reinterpret_cast<uint32_t*>(uint64_t{1} << 63), kPages);
  EXPECT_EQ(Errno(EFAULT), dev_.Call(HMM_MIRROR_IOC_EXCLUSIVE, &ex));
  ex = MakeExclusive(~uint64_t{0} & ~(page_ - 1), page_, nullptr, 0);
  EXPECT_EQ(Errno(EINVAL), dev_.Call(HMM_MIRROR_IOC_EXCLUSIVE, &ex));
  // Nothing of that was granted.
  std::vector<uint32_t> st;
  ASSERT_EQ(kSuccess, dev_.Query(addr(), len(), &st));
  EXPECT_TRUE(PagesAre(st, 0, kPages, 0));
  // No results array is fine.
  ex = MakeExclusive(addr(), page_, nullptr, 0);
  ASSERT_EQ(kSuccess, dev_.Call(HMM_MIRROR_IOC_EXCLUSIVE, &ex));
  EXPECT_EQ(ex.pages_granted, 1u);

  uint64_t old = 0;
  EXPECT_EQ(Errno(EINVAL), Atomic(dev_, addr() + 4, HMM_MIRROR_ATOMIC_ADD, 1, &old));
  EXPECT_EQ(Errno(EINVAL), Atomic(dev_, addr(), HMM_MIRROR_ATOMIC_NR_OPS, 1, &old));
  EXPECT_EQ(Errno(EINVAL), Atomic(dev_, addr(), 0xffffffffu, 1, &old));
  EXPECT_EQ(Errno(EINVAL),
            Atomic(dev_, addr(), HMM_MIRROR_ATOMIC_ADD, 1, &old, 5))
      << "compare is for CMPXCHG only";
  EXPECT_EQ(Errno(EINVAL),
            Atomic(dev_, addr(), HMM_MIRROR_ATOMIC_ADD, 1, &old, 0, 2));
  hmm_mirror_atomic at = MakeAtomic(addr(), HMM_MIRROR_ATOMIC_ADD, 1);
  at.reserved = 1;
  EXPECT_EQ(Errno(EINVAL), dev_.Call(HMM_MIRROR_IOC_ATOMIC, &at));
  EXPECT_EQ(Errno(EINVAL), Atomic(dev_, uint64_t{HMM_MIRROR_ADDR_LIMIT},
                                  HMM_MIRROR_ATOMIC_ADD, 1, &old));
  EXPECT_EQ(*word(0), PatternWord(61, addr(0))) << "no bad call did anything";
}

TEST(ExclusiveWithoutKernelSupport, IsEopnotsupp) {
  Mirror m;
  ASSERT_EQ(m.Open(), "");
  if (m.info().features_supported & HMM_MIRROR_FEAT_EXCLUSIVE)
    GTEST_SKIP() << "the kernel has device-exclusive entries";
  Mapping map(4096);
  ExclusiveOut out;
  EXPECT_EQ(Errno(EOPNOTSUPP), Exclusive(m, map.addr(), map.size(), &out));
  uint64_t old = 0;
  EXPECT_EQ(Errno(EOPNOTSUPP),
            Atomic(m, map.addr(), HMM_MIRROR_ATOMIC_ADD, 1, &old));
  // The commands exist: argument checks come first.
  hmm_mirror_exclusive ex = MakeExclusive(map.addr(), map.size(), nullptr, 0);
  ex.flags = 1;
  EXPECT_EQ(Errno(EINVAL), m.Call(HMM_MIRROR_IOC_EXCLUSIVE, &ex));
}

}  // namespace
}  // namespace hmm_conformance
