// SPDX-License-Identifier: MIT
//
// fork_test.cc - HMM_MIRROR_FEAT_FORK (abi/README.md, "fork"): fork()
// write-protects the parent's private pages, clearing its writable device
// entries (reason PROTECTION); copy-on-write keeps the device coherent;
// MAP_SHARED memory stays mapped and coherent between parent, child and
// device; an inherited fd is the same mirror, bound to the parent's address
// space, whose events go to whichever process reads them first.

#include <sys/mman.h>

#include <vector>

#include "process_util.h"

namespace hmm_conformance {
namespace {

constexpr uint32_t kValid = HMM_MIRROR_PAGE_VALID;
constexpr uint32_t kWrite = HMM_MIRROR_PAGE_WRITE;

class ForkTest : public FeatureTest<HMM_MIRROR_FEAT_FORK> {
 protected:
  bool events() const { return dev_.Has(HMM_MIRROR_FEAT_EVENTS); }
};

// A child that shares memory at addr with the test and, on request, checks
// or rewrites it: {1, seed} -> 1 if it holds pattern seed; {2, seed} ->
// fills it, 1.
std::function<int(int)> PatternKeeperBody(uint8_t* data, uint64_t len) {
  return [data, len](int sock) {
    for (;;) {
      uint64_t w[2];
      if (RecvWords(sock, w, 2) != 2) return 0;
      uint64_t reply = 0;
      if (w[0] == 1) reply = HasPattern(data, len, w[1]) ? 1 : 0;
      if (w[0] == 2) {
        FillPattern(data, len, w[1]);
        reply = 1;
      }
      if (!SendWords(sock, {reply})) return 0;
    }
  };
}

TEST_F(ForkTest, ForkClearsTheParentsWritableEntries) {
  Mapping m(8 * page_);
  FillPattern(m.data(), m.size(), 1);
  if (events()) {
    ASSERT_EQ(kSuccess, dev_.SetEvents(HMM_MIRROR_EVENT_ALL_REASONS));
  }
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size(), HMM_MIRROR_FAULT_WRITE));
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  ASSERT_TRUE(PagesAre(q, 0, 8, kValid | kWrite));

  Remote child(PatternKeeperBody(m.data(), m.size()));
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesHave(q, 0, 8, 0, kWrite)) << "writable entries survived fork";
  if (events()) {
    std::vector<hmm_mirror_event> ev = DrainEvents(dev_.fd());
    ASSERT_EQ(ev.size(), 1u) << EventsString(ev);
    EXPECT_TRUE(WellFormed(ev[0]));
    EXPECT_EQ(ev[0].reason, uint32_t{HMM_MIRROR_EVENT_PROTECTION}) << EventString(ev[0]);
    EXPECT_EQ(ev[0].start, m.addr()) << EventString(ev[0]);
    EXPECT_EQ(ev[0].end, m.addr(8 * page_)) << EventString(ev[0]);
    EXPECT_EQ(ev[0].pages, 8u) << "the writable entries are cleared";
  }
  // The device writes again through a new fault, into the parent only.
  Mapping buf(m.size());
  FillPatternAs(buf.data(), buf.size(), 2, m.addr());
  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Write(m.addr(), m.size(), buf.data(), &faults));
  EXPECT_GE(faults, 1u);
  EXPECT_TRUE(HasPattern(m.data(), m.size(), 2));
  EXPECT_EQ(child.Ask({1, 1}), 1u) << "the device WRITE reached the child's copy";
}

TEST_F(ForkTest, ParentCopyOnWriteClearsTheStaleEntries) {
  Mapping m(8 * page_);
  FillPattern(m.data(), m.size(), 3);
  Remote child(PatternKeeperBody(m.data(), m.size()));
  // After fork the device maps the pages the parent shares with the child.
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
  if (events()) {
    ASSERT_EQ(kSuccess, dev_.SetEvents(HMM_MIRROR_EVENT_ALL_REASONS));
  }
  // The parent's CPU writes copy pages 0-3: the device must drop its
  // entries to the old, shared pages.
  FillPattern(m.data(), 4 * page_, 4);
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesAre(q, 0, 4, 0)) << "entries to the pre-copy pages";
  EXPECT_TRUE(PagesHave(q, 4, 8, kValid, 0));
  if (events()) {
    std::vector<hmm_mirror_event> ev = DrainEvents(dev_.fd());
    uint64_t pages = 0;
    for (const hmm_mirror_event& e : ev) {
      EXPECT_TRUE(WellFormed(e));
      EXPECT_EQ(e.reason, uint32_t{HMM_MIRROR_EVENT_CLEAR}) << EventString(e);
      EXPECT_GE(e.start, m.addr());
      EXPECT_LE(e.end, m.addr(4 * page_));
      pages += e.pages;
    }
    EXPECT_EQ(pages, 4u) << EventsString(ev);
  }
  Mapping buf(m.size());
  ASSERT_EQ(kSuccess, dev_.Read(m.addr(), m.size(), buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), 4 * page_, 4, m.addr()))
      << "the device read the stale pre-copy pages";
  EXPECT_TRUE(HasPatternAs(buf.at(4 * page_), 4 * page_, 3, m.addr(4 * page_)));
  EXPECT_EQ(child.Ask({1, 3}), 1u) << "the child's copy changed";
}

TEST_F(ForkTest, ChildCopyOnWriteLeavesTheParentsEntries) {
  Mapping m(8 * page_);
  FillPattern(m.data(), m.size(), 5);
  Remote child(PatternKeeperBody(m.data(), m.size()));
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
  std::vector<uint32_t> before;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &before));
  ASSERT_TRUE(PagesHave(before, 0, 8, kValid, 0));
  // The child's write copies the pages in the child's address space, which
  // this mirror does not mirror.
  ASSERT_EQ(child.Ask({2, 6}), 1u);
  std::vector<uint32_t> after;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &after));
  EXPECT_EQ(before, after);
  Mapping buf(m.size());
  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Read(m.addr(), m.size(), buf.data(), &faults));
  EXPECT_EQ(faults, 0u);
  EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), 5, m.addr()));
  EXPECT_EQ(child.Ask({1, 6}), 1u);
}

TEST_F(ForkTest, SharedMemoryStaysMappedAndCoherent) {
  const uint64_t len = 8 * page_;
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  uint8_t* data = static_cast<uint8_t*>(p);
  FillPattern(data, len, 7);
  ASSERT_EQ(kSuccess, dev_.Fault(U64(data), len, HMM_MIRROR_FAULT_WRITE));
  {
    Remote child(PatternKeeperBody(data, len));
    std::vector<uint32_t> q;
    ASSERT_EQ(kSuccess, dev_.Query(U64(data), len, &q));
    EXPECT_TRUE(PagesAre(q, 0, 8, kValid | kWrite))
        << "MAP_SHARED memory is not write-protected by fork";
    // Device -> child.
    Mapping buf(len);
    FillPatternAs(buf.data(), len, 8, U64(data));
    uint64_t faults;
    ASSERT_EQ(kSuccess, dev_.Write(U64(data), len, buf.data(), &faults));
    EXPECT_EQ(faults, 0u);
    EXPECT_EQ(child.Ask({1, 8}), 1u) << "the child does not see the device WRITE";
    // Child -> device.
    ASSERT_EQ(child.Ask({2, 9}), 1u);
    ASSERT_EQ(kSuccess, dev_.Read(U64(data), len, buf.data(), &faults));
    EXPECT_EQ(faults, 0u);
    EXPECT_TRUE(HasPatternAs(buf.data(), len, 9, U64(data)));
    EXPECT_TRUE(HasPattern(data, len, 9));
  }
  munmap(p, len);
}

TEST_F(ForkTest, InheritedFdCommandsActOnTheParentsAddressSpace) {
  // The child exists before the memory: it has nothing at that address.
  // Words back: [0] the address is mapped in the child, [1] FAULT, [2]
  // SNAPSHOT, [3] the snapshot shows the parent's written pages, [4] READ,
  // [5] READ returned the parent's data, [6] WRITE.
  const Mirror& dev = dev_;
  const uint64_t len = 4 * page_;
  Remote child([&dev, len](int sock) {
    uint64_t addr;
    if (RecvWords(sock, &addr, 1) != 1) return 2;
    uint64_t w[7] = {};
    unsigned char vec[64];
    w[0] = mincore(reinterpret_cast<void*>(addr), len, vec) == 0 ? 1 : 0;
    w[1] = static_cast<uint64_t>(dev.Fault(addr, len, HMM_MIRROR_FAULT_WRITE).value());
    std::vector<uint32_t> s;
    w[2] = static_cast<uint64_t>(dev.Snapshot(addr, len, &s).value());
    w[3] = PagesAre(s, 0, len / OsPageSize(),
                    HMM_MIRROR_PAGE_VALID | HMM_MIRROR_PAGE_WRITE)
               ? 1
               : 0;
    std::vector<uint8_t> buf(len);
    w[4] = static_cast<uint64_t>(dev.Read(addr, len, buf.data()).value());
    w[5] = HasPatternAs(buf.data(), len, 10, addr) ? 1 : 0;
    FillPatternAs(buf.data(), len, 11, addr);
    w[6] = static_cast<uint64_t>(dev.Write(addr, len, buf.data()).value());
    SendWords(sock, w, 7);
    return 0;
  });
  Mapping m(len);
  FillPattern(m.data(), len, 10);
  ASSERT_TRUE(child.Send({m.addr()}));
  uint64_t w[7];
  ASSERT_TRUE(child.Recv(w, 7)) << "child exit " << child.Reap();
  EXPECT_EQ(w[0], 0u) << "test setup: the child has memory at that address";
  EXPECT_EQ(Errno(static_cast<int>(w[1])), kSuccess) << "FAULT from the child";
  EXPECT_EQ(Errno(static_cast<int>(w[2])), kSuccess) << "SNAPSHOT from the child";
  EXPECT_EQ(w[3], 1u) << "the child's SNAPSHOT did not show the parent's pages";
  EXPECT_EQ(Errno(static_cast<int>(w[4])), kSuccess) << "READ from the child";
  EXPECT_EQ(w[5], 1u) << "the child's READ did not return the parent's data";
  EXPECT_EQ(Errno(static_cast<int>(w[6])), kSuccess) << "WRITE from the child";
  EXPECT_EQ(child.Reap(), 0);
  // The child's FAULT filled the shared device page table; its WRITE
  // landed here.
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), len, &q));
  EXPECT_TRUE(PagesAre(q, 0, 4, kValid | kWrite));
  EXPECT_TRUE(HasPattern(m.data(), len, 11));
}

TEST_F(ForkTest, EventsGoToWhicheverProcessReadsFirst) {
  HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_EVENTS);
  ASSERT_EQ(kSuccess, dev_.SetEvents(ReasonBit(HMM_MIRROR_EVENT_UNMAP)));
  const int fd = dev_.fd();
  // On request the child reads every queued record from the inherited fd
  // and sends back: count, then reason, start, pages of the first.
  Remote child([fd](int sock) {
    uint64_t go;
    if (RecvWords(sock, &go, 1) != 1) return 2;
    std::vector<hmm_mirror_event> ev = DrainEvents(fd);
    uint64_t w[4] = {ev.size(), 0, 0, 0};
    if (!ev.empty()) {
      w[1] = ev[0].reason;
      w[2] = ev[0].start;
      w[3] = ev[0].pages;
    }
    SendWords(sock, w, 4);
    return 0;
  });
  Mapping m(4 * page_);
  FillPattern(m.data(), m.size(), 12);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
  m.Unmap(0, 2 * page_);
  ASSERT_TRUE(child.Send({1}));
  uint64_t w[4];
  ASSERT_TRUE(child.Recv(w, 4));
  EXPECT_EQ(w[0], 1u) << "the child read no record of the parent's munmap";
  EXPECT_EQ(w[1], uint64_t{HMM_MIRROR_EVENT_UNMAP});
  EXPECT_EQ(w[2], m.addr());
  EXPECT_EQ(w[3], 2u);
  std::vector<hmm_mirror_event> ev = DrainEvents(dev_.fd());
  EXPECT_TRUE(ev.empty()) << "the record was delivered twice: " << EventsString(ev);
  EXPECT_EQ(child.Reap(), 0);
}

}  // namespace
}  // namespace hmm_conformance
