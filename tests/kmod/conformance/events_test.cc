// SPDX-License-Identifier: MIT
//
// events_test.cc - HMM_MIRROR_IOC_EVENTS, read() and poll() on the mirror
// fd (abi/README.md, "EVENTS"): one record per invalidation that removed
// device pages, with its reason, its range clipped to the chunk and to
// where the device mapped, the pages removed and a gapless seq; the reason
// filter; the queue length; overflow and the LOST record; the read() and
// poll() cases of the table.  Needs HMM_MIRROR_FEAT_EVENTS.
//
// Each reason a stock kernel produces for user-space memory operations:
//   UNMAP       munmap, mremap
//   CLEAR       madvise(MADV_DONTNEED), truncate / hole punch (file_test.cc)
//   PROTECTION  mprotect, fork (fork_test.cc)
//   MIGRATE     see MovePagesIsReported below
//   RELEASE     exit (exit_test.cc)
//   SOFT_DIRTY  writing 4 to /proc/PID/clear_refs
//   EXCLUSIVE   only make_device_exclusive_range(), which only a driver
//               calls: not reachable from user space, not tested

#include <signal.h>
#include <sys/syscall.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include "hmm_mirror_test.h"

namespace hmm_conformance {
namespace {

constexpr uint32_t kValid = HMM_MIRROR_PAGE_VALID;
constexpr uint32_t kWrite = HMM_MIRROR_PAGE_WRITE;
constexpr uint32_t kUnmapBit = ReasonBit(HMM_MIRROR_EVENT_UNMAP);
constexpr uint32_t kClearBit = ReasonBit(HMM_MIRROR_EVENT_CLEAR);
constexpr uint32_t kProtBit = ReasonBit(HMM_MIRROR_EVENT_PROTECTION);
constexpr size_t kRec = sizeof(hmm_mirror_event);

class EventsTest : public FeatureTest<HMM_MIRROR_FEAT_EVENTS> {
 protected:
  // Enables `reasons` with a queue of `queue_len` records.
  void Enable(uint32_t reasons, uint32_t queue_len = 0) {
    ASSERT_EQ(kSuccess, dev_.SetEvents(reasons, queue_len));
  }

  std::vector<hmm_mirror_event> Drain() { return DrainEvents(dev_.fd()); }

  // Exactly one record, well formed, of this reason and range.
  void ExpectOne(const std::vector<hmm_mirror_event>& ev, uint32_t reason,
                 uint64_t start, uint64_t end, uint64_t pages) {
    ASSERT_EQ(ev.size(), 1u) << EventsString(ev);
    EXPECT_TRUE(WellFormed(ev[0]));
    EXPECT_EQ(ev[0].reason, reason) << EventString(ev[0]);
    EXPECT_EQ(ev[0].start, start) << EventString(ev[0]);
    EXPECT_EQ(ev[0].end, end) << EventString(ev[0]);
    EXPECT_EQ(ev[0].pages, pages) << EventString(ev[0]);
  }

  // Has this test's mirror STATS?
  bool stats() const { return dev_.Has(HMM_MIRROR_FEAT_STATS); }
};

// --- Records, one reason at a time -----------------------------------------

TEST_F(EventsTest, MunmapIsOneUnmapRecordClippedToTheDevicePages) {
  Enable(HMM_MIRROR_EVENT_ALL_REASONS);
  Mapping m(16 * page_);
  FillPattern(m.data(), m.size(), 1);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(4 * page_), 8 * page_, HMM_MIRROR_FAULT_WRITE));
  EXPECT_TRUE(Drain().empty()) << "FAULT is not an invalidation";
  m.Unmap(0, 16 * page_);
  // The munmap covered 16 pages; the device mapped pages 4-11.
  ExpectOne(Drain(), HMM_MIRROR_EVENT_UNMAP, m.addr(4 * page_),
            m.addr(12 * page_), 8);
}

TEST_F(EventsTest, PartialMunmapReportsOnlyTheUnmappedPart) {
  Enable(kUnmapBit);
  Mapping m(16 * page_);
  FillPattern(m.data(), m.size(), 2);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
  m.Unmap(6 * page_, 3 * page_);
  ExpectOne(Drain(), HMM_MIRROR_EVENT_UNMAP, m.addr(6 * page_),
            m.addr(9 * page_), 3);
}

TEST_F(EventsTest, RangeSpansTheFirstToTheLastDevicePage) {
  // Device pages 2-3 and 10-11 of a 16-page munmap: one record from the
  // first to the end of the last, 4 pages removed.
  Enable(kUnmapBit);
  Mapping m(16 * page_);
  FillPattern(m.data(), m.size(), 3);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(2 * page_), 2 * page_));
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(10 * page_), 2 * page_));
  m.Unmap(0, 16 * page_);
  ExpectOne(Drain(), HMM_MIRROR_EVENT_UNMAP, m.addr(2 * page_),
            m.addr(12 * page_), 4);
}

TEST_F(EventsTest, InvalidationThatRemovesNoDevicePageIsNoEvent) {
  Enable(HMM_MIRROR_EVENT_ALL_REASONS);
  Mapping m(16 * page_);
  FillPattern(m.data(), m.size(), 4);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), 4 * page_));
  // Same VMA, same chunk, but pages the device never mapped.
  m.Advise(8 * page_, 4 * page_, MADV_DONTNEED);
  m.Unmap(12 * page_, 4 * page_);
  m.Protect(4 * page_, 4 * page_, PROT_READ);
  std::vector<hmm_mirror_event> ev = Drain();
  EXPECT_TRUE(ev.empty()) << EventsString(ev);
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), 4 * page_, &q));
  EXPECT_TRUE(PagesHave(q, 0, 4, kValid, 0));
}

TEST_F(EventsTest, MremapIsUnmap) {
  Enable(HMM_MIRROR_EVENT_ALL_REASONS);
  Mapping m(8 * page_);
  Mapping dst(8 * page_, PROT_NONE);  // a place to move to
  FillPattern(m.data(), m.size(), 5);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
  void* p = mremap(m.data(), 8 * page_, 8 * page_, MREMAP_MAYMOVE | MREMAP_FIXED,
                   dst.data());
  ASSERT_EQ(p, static_cast<void*>(dst.data())) << std::strerror(errno);
  m.Unmap(0, 8 * page_);  // already gone: only forget it
  ExpectOne(Drain(), HMM_MIRROR_EVENT_UNMAP, m.addr(), m.addr(8 * page_), 8);
  // The data moved; the device finds it at the new address.
  Mapping buf(8 * page_);
  ASSERT_EQ(kSuccess, dev_.Read(dst.addr(), 8 * page_, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), 5, m.addr()));
}

TEST_F(EventsTest, MadviseDontneedIsClear) {
  Enable(HMM_MIRROR_EVENT_ALL_REASONS);
  Mapping m(16 * page_);
  FillPattern(m.data(), m.size(), 6);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size(), HMM_MIRROR_FAULT_WRITE));
  m.Advise(4 * page_, 4 * page_, MADV_DONTNEED);
  ExpectOne(Drain(), HMM_MIRROR_EVENT_CLEAR, m.addr(4 * page_),
            m.addr(8 * page_), 4);
}

TEST_F(EventsTest, MprotectIsProtection) {
  Enable(HMM_MIRROR_EVENT_ALL_REASONS);
  Mapping m(16 * page_);
  FillPattern(m.data(), m.size(), 7);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size(), HMM_MIRROR_FAULT_WRITE));
  m.Protect(4 * page_, 8 * page_, PROT_READ);
  std::vector<hmm_mirror_event> ev = Drain();
  ASSERT_EQ(ev.size(), 1u) << EventsString(ev);
  EXPECT_TRUE(WellFormed(ev[0]));
  EXPECT_EQ(ev[0].reason, uint32_t{HMM_MIRROR_EVENT_PROTECTION});
  EXPECT_EQ(ev[0].start, m.addr(4 * page_)) << EventString(ev[0]);
  EXPECT_EQ(ev[0].end, m.addr(12 * page_)) << EventString(ev[0]);
  // The writable entries are cleared.
  EXPECT_EQ(ev[0].pages, 8u) << EventString(ev[0]);
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesHave(q, 4, 12, 0, kWrite));
  EXPECT_TRUE(PagesAre(q, 0, 4, kValid | kWrite));
}

bool HaveTwoNodes() {
  return access("/sys/devices/system/node/node1", F_OK) == 0;
}

// A page moved by move_pages(2).  The header lists MIGRATE as "page
// migration", but a stock kernel tells mmu notifiers about CPU page
// migration (move_pages, NUMA balancing, compaction) as MMU_NOTIFY_CLEAR
// (try_to_migrate_one() in mm/rmap.c); MMU_NOTIFY_MIGRATE only comes from
// migrate_vma_*(), i.e. migration to and from device memory.  A module can
// only pass on what the kernel says, so both reasons are accepted here; the
// reason seen is recorded as the "reason" property.
TEST_F(EventsTest, MovePagesIsReported) {
  if (!HaveTwoNodes()) GTEST_SKIP() << "the guest has a single NUMA node";
  Enable(HMM_MIRROR_EVENT_ALL_REASONS);
  Mapping m(4 * page_);
  FillPattern(m.data(), m.size(), 8);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size(), HMM_MIRROR_FAULT_WRITE));
  void* page = m.at(2 * page_);
  int status = -1;
  ASSERT_EQ(0, syscall(SYS_move_pages, 0, 1, &page, nullptr, &status, 0));
  ASSERT_GE(status, 0);
  const int node = status == 0 ? 1 : 0;
  ASSERT_EQ(0, syscall(SYS_move_pages, 0, 1, &page, &node, &status, 0))
      << std::strerror(errno);
  ASSERT_EQ(status, node) << "the page did not move";
  std::vector<hmm_mirror_event> ev = Drain();
  ASSERT_EQ(ev.size(), 1u) << EventsString(ev);
  EXPECT_TRUE(WellFormed(ev[0]));
  EXPECT_TRUE(ev[0].reason == HMM_MIRROR_EVENT_MIGRATE ||
              ev[0].reason == HMM_MIRROR_EVENT_CLEAR)
      << EventString(ev[0]);
  RecordProperty("reason", ReasonName(ev[0].reason));
  EXPECT_EQ(ev[0].start, m.addr(2 * page_));
  EXPECT_EQ(ev[0].end, m.addr(3 * page_));
  EXPECT_EQ(ev[0].pages, 1u);
}

TEST_F(EventsTest, ClearRefsSoftDirtyIsSoftDirty) {
  Enable(HMM_MIRROR_EVENT_ALL_REASONS);
  Mapping m(8 * page_);
  FillPattern(m.data(), m.size(), 9);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size(), HMM_MIRROR_FAULT_WRITE));
  {
    std::ofstream f("/proc/self/clear_refs");
    f << "4";
    f.flush();
    if (!f) GTEST_SKIP() << "cannot write 4 to /proc/self/clear_refs (no "
                            "CONFIG_MEM_SOFT_DIRTY?)";
  }
  std::vector<hmm_mirror_event> ev = Drain();
  // clear_refs covers the whole address space; the record is clipped to
  // where the device mapped.
  ASSERT_EQ(ev.size(), 1u) << EventsString(ev);
  EXPECT_TRUE(WellFormed(ev[0]));
  EXPECT_EQ(ev[0].reason, uint32_t{HMM_MIRROR_EVENT_SOFT_DIRTY});
  EXPECT_EQ(ev[0].start, m.addr()) << EventString(ev[0]);
  EXPECT_EQ(ev[0].end, m.addr(8 * page_)) << EventString(ev[0]);
  EXPECT_GE(ev[0].pages, 1u);
  EXPECT_LE(ev[0].pages, 8u);
  // Soft-dirty tracking write-protects: no writable entry may survive.
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesHave(q, 0, 8, 0, kWrite));
  // The device can still write (a new device fault).
  Mapping buf(m.size());
  FillPatternAs(buf.data(), buf.size(), 10, m.addr());
  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Write(m.addr(), m.size(), buf.data(), &faults));
  EXPECT_GE(faults, 1u);
  EXPECT_TRUE(HasPattern(m.data(), m.size(), 10));
}

TEST_F(EventsTest, RecordsCrossingAChunkBoundaryAreSplitAtIt) {
  // "the range clipped to the chunk": one munmap over a 1 GiB boundary.
  ChunkArea area(2);
  const uint64_t boundary_off = kChunkSize - 2 * page_;  // in chunk 0
  uint8_t* p = area.Map(0, boundary_off, 4 * page_);
  FillPattern(p, 4 * page_, 11);
  ASSERT_EQ(U64(p) + 2 * page_, area.chunk(1));
  Enable(kUnmapBit);
  ASSERT_EQ(kSuccess, dev_.Fault(U64(p), 4 * page_));
  area.Unmap(0, boundary_off, 4 * page_);
  std::vector<hmm_mirror_event> ev = Drain();
  ASSERT_EQ(ev.size(), 2u) << EventsString(ev);
  if (ev[0].start > ev[1].start) std::swap(ev[0], ev[1]);
  EXPECT_EQ(ev[0].start, U64(p));
  EXPECT_EQ(ev[0].end, area.chunk(1));
  EXPECT_EQ(ev[0].pages, 2u);
  EXPECT_EQ(ev[1].start, area.chunk(1));
  EXPECT_EQ(ev[1].end, area.chunk(1) + 2 * page_);
  EXPECT_EQ(ev[1].pages, 2u);
  EXPECT_TRUE(ev[0].seq + 1 == ev[1].seq || ev[1].seq + 1 == ev[0].seq)
      << EventsString(ev);
}

TEST_F(EventsTest, EveryMirrorGetsItsOwnRecord) {
  Mirror other;
  ASSERT_EQ("", other.Open());
  Enable(kUnmapBit);
  ASSERT_EQ(kSuccess, other.SetEvents(kUnmapBit));
  Mapping m(4 * page_);
  FillPattern(m.data(), m.size(), 12);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
  ASSERT_EQ(kSuccess, other.Fault(m.addr(), 2 * page_));
  m.Unmap(0, m.size());
  ExpectOne(Drain(), HMM_MIRROR_EVENT_UNMAP, m.addr(), m.addr(4 * page_), 4);
  ExpectOne(DrainEvents(other.fd()), HMM_MIRROR_EVENT_UNMAP, m.addr(),
            m.addr(2 * page_), 2);
}

// --- seq ----------------------------------------------------------------------

TEST_F(EventsTest, SeqIncreasesByOnePerEvent) {
  Enable(kUnmapBit | kClearBit | kProtBit);
  Mapping m(16 * page_);
  FillPattern(m.data(), m.size(), 13);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size(), HMM_MIRROR_FAULT_WRITE));
  m.Advise(0, page_, MADV_DONTNEED);
  m.Protect(2 * page_, page_, PROT_READ);
  m.Unmap(4 * page_, page_);
  m.Unmap(6 * page_, page_);
  m.Advise(8 * page_, page_, MADV_DONTNEED);
  std::vector<hmm_mirror_event> ev = Drain();
  ASSERT_EQ(ev.size(), 5u) << EventsString(ev);
  const uint32_t reasons[] = {HMM_MIRROR_EVENT_CLEAR, HMM_MIRROR_EVENT_PROTECTION,
                              HMM_MIRROR_EVENT_UNMAP, HMM_MIRROR_EVENT_UNMAP,
                              HMM_MIRROR_EVENT_CLEAR};
  const uint64_t starts[] = {0, 2, 4, 6, 8};
  for (size_t i = 0; i < ev.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_TRUE(WellFormed(ev[i]));
    EXPECT_EQ(ev[i].reason, reasons[i]) << "records come in the order the "
                                           "invalidations happened";
    EXPECT_EQ(ev[i].start, m.addr(starts[i] * page_));
    EXPECT_EQ(ev[i].end, m.addr((starts[i] + 1) * page_));
    if (i > 0) {
      EXPECT_EQ(ev[i].seq, ev[i - 1].seq + 1) << EventsString(ev);
    }
  }
}

// --- The reason filter ------------------------------------------------------

TEST_F(EventsTest, DisabledReasonsAreNotDelivered) {
  Enable(kClearBit);
  // In a chunk of its own, so that STATS counts only these invalidations.
  ChunkArea area(1);
  uint8_t* p = area.Map(0, 0, 8 * page_);
  const uint64_t a = U64(p);
  FillPattern(p, 8 * page_, 14);
  ASSERT_EQ(kSuccess, dev_.Fault(a, 8 * page_, HMM_MIRROR_FAULT_WRITE));
  area.Unmap(0, 0, page_);                                  // UNMAP: filtered
  ASSERT_EQ(0, mprotect(p + 2 * page_, page_, PROT_READ));  // PROTECTION: filtered
  ASSERT_EQ(0, madvise(p + 4 * page_, 2 * page_, MADV_DONTNEED));  // CLEAR
  ExpectOne(Drain(), HMM_MIRROR_EVENT_CLEAR, a + 4 * page_, a + 6 * page_, 2);
  // The device page table was updated for every one of them.
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(a, 8 * page_, &q));
  EXPECT_TRUE(PagesAre(q, 0, 1, 0));
  EXPECT_TRUE(PagesHave(q, 2, 3, 0, kWrite));
  EXPECT_TRUE(PagesAre(q, 4, 6, 0));
  EXPECT_TRUE(PagesAre(q, 6, 8, kValid | kWrite));
  if (stats()) {
    hmm_mirror_stats st;
    ASSERT_EQ(kSuccess, dev_.Stats(&st));
    EXPECT_EQ(st.invalidations[HMM_MIRROR_EVENT_UNMAP], 1u) << StatsString(st);
    EXPECT_GE(st.invalidations[HMM_MIRROR_EVENT_PROTECTION], 1u) << StatsString(st);
    EXPECT_EQ(st.invalidations[HMM_MIRROR_EVENT_CLEAR], 1u) << StatsString(st);
    EXPECT_EQ(st.events_delivered, 1u) << StatsString(st);
    EXPECT_EQ(st.events_lost, 0u) << "filtered events are not lost";
  }
}

TEST_F(EventsTest, ReasonsZeroStopsEvents) {
  Enable(kUnmapBit);
  Mapping m(4 * page_);
  FillPattern(m.data(), m.size(), 15);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
  Enable(0);
  m.Unmap(0, 2 * page_);
  std::vector<hmm_mirror_event> ev = Drain();
  EXPECT_TRUE(ev.empty()) << EventsString(ev);
  Enable(kUnmapBit);
  m.Unmap(2 * page_, 2 * page_);
  ev = Drain();
  ASSERT_EQ(ev.size(), 1u) << EventsString(ev);
  EXPECT_EQ(ev[0].start, m.addr(2 * page_));
}

TEST_F(EventsTest, ChangingOnlyTheReasonsKeepsTheQueue) {
  Enable(kUnmapBit, 8);
  Mapping m(4 * page_);
  FillPattern(m.data(), m.size(), 16);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
  m.Unmap(0, page_);
  ASSERT_EQ(kSuccess, dev_.SetEvents(kUnmapBit | kClearBit, 8));
  m.Advise(2 * page_, page_, MADV_DONTNEED);
  std::vector<hmm_mirror_event> ev = Drain();
  ASSERT_EQ(ev.size(), 2u) << EventsString(ev);
  EXPECT_EQ(ev[0].reason, uint32_t{HMM_MIRROR_EVENT_UNMAP});
  EXPECT_EQ(ev[1].reason, uint32_t{HMM_MIRROR_EVENT_CLEAR});
  EXPECT_EQ(ev[1].seq, ev[0].seq + 1);
}

// --- Queue length -------------------------------------------------------------

TEST_F(EventsTest, QueueLenLimits) {
  EXPECT_EQ(Errno(EINVAL), dev_.SetEvents(kUnmapBit, 65537));
  EXPECT_EQ(Errno(EINVAL), dev_.SetEvents(kUnmapBit, 1U << 20));
  EXPECT_EQ(Errno(EINVAL), dev_.SetEvents(kUnmapBit, 0xffffffffU));
  EXPECT_EQ(kSuccess, dev_.SetEvents(kUnmapBit, 65536));
  EXPECT_EQ(kSuccess, dev_.SetEvents(kUnmapBit, 1));
  EXPECT_EQ(kSuccess, dev_.SetEvents(kUnmapBit, 0));
}

TEST_F(EventsTest, ChangingTheQueueLenWithRecordsQueuedIsEbusy) {
  Enable(kUnmapBit, 8);
  Mapping m(4 * page_);
  FillPattern(m.data(), m.size(), 17);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
  m.Unmap(0, page_);
  EXPECT_EQ(Errno(EBUSY), dev_.SetEvents(kUnmapBit, 16));
  EXPECT_EQ(Errno(EBUSY), dev_.SetEvents(kUnmapBit, 4));
  // The record survived the refusals.
  std::vector<hmm_mirror_event> ev = Drain();
  ASSERT_EQ(ev.size(), 1u) << EventsString(ev);
  EXPECT_EQ(ev[0].start, m.addr());
  // An empty queue can be resized.
  EXPECT_EQ(kSuccess, dev_.SetEvents(kUnmapBit, 16));
}

TEST_F(EventsTest, UnknownFlagsAreEinval) {
  hmm_mirror_events e = MakeEvents(kUnmapBit);
  e.flags = 1;
  EXPECT_EQ(Errno(EINVAL), dev_.Call(HMM_MIRROR_IOC_EVENTS, &e));
}

// --- Overflow ------------------------------------------------------------------

TEST_F(EventsTest, OverflowQueuesOneLostRecordAndKeepsSeqGapless) {
  constexpr uint32_t kQueue = 4;
  constexpr uint64_t kEvents = 10;
  Enable(kUnmapBit, kQueue);
  // kEvents pages to unmap one at a time, plus 2 that stay.
  Mapping m((kEvents + 2) * page_);
  FillPattern(m.data(), m.size(), 18);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size(), HMM_MIRROR_FAULT_WRITE));
  for (uint64_t i = 0; i < kEvents; ++i) m.Unmap(i * page_, page_);

  std::vector<hmm_mirror_event> ev = Drain();
  ASSERT_EQ(ev.size(), kQueue + 1u) << EventsString(ev);
  for (uint32_t i = 0; i < kQueue; ++i) {
    SCOPED_TRACE(i);
    EXPECT_TRUE(WellFormed(ev[i]));
    EXPECT_EQ(ev[i].reason, uint32_t{HMM_MIRROR_EVENT_UNMAP});
    EXPECT_EQ(ev[i].start, m.addr(i * page_)) << "the oldest events are kept";
    if (i > 0) {
      EXPECT_EQ(ev[i].seq, ev[i - 1].seq + 1);
    }
  }
  const hmm_mirror_event& lost = ev[kQueue];
  EXPECT_TRUE(WellFormed(lost));
  EXPECT_EQ(lost.reason, uint32_t{HMM_MIRROR_EVENT_LOST}) << EventString(lost);
  EXPECT_EQ(lost.seq, ev[kQueue - 1].seq + 1)
      << "LOST carries the seq of the first lost event";
  EXPECT_EQ(lost.pages, kEvents - kQueue) << "LOST counts the lost events";

  // The device page table is right whatever the queue did.
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  EXPECT_TRUE(PagesAre(q, 0, kEvents, 0));
  EXPECT_TRUE(PagesAre(q, kEvents, kEvents + 2, kValid | kWrite));

  // The next event follows the lost ones without a gap.
  m.Unmap(kEvents * page_, page_);
  std::vector<hmm_mirror_event> next = Drain();
  ASSERT_EQ(next.size(), 1u) << EventsString(next);
  EXPECT_EQ(next[0].reason, uint32_t{HMM_MIRROR_EVENT_UNMAP});
  EXPECT_EQ(next[0].seq, lost.seq + lost.pages);

  if (stats()) {
    hmm_mirror_stats st;
    ASSERT_EQ(kSuccess, dev_.Stats(&st));
    EXPECT_EQ(st.events_lost, kEvents - kQueue) << StatsString(st);
    EXPECT_EQ(st.events_delivered, kQueue + 2u)
        << "records returned by read, the LOST one included: "
        << StatsString(st);
  }
}

TEST_F(EventsTest, LostRecordComesBeforeNewerEvents) {
  // A full queue of 2, 3 events lost; both records are read (room frees
  // up); a newer event happens: the LOST record comes before it.
  Enable(kUnmapBit, 2);
  Mapping m(8 * page_);
  FillPattern(m.data(), m.size(), 19);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
  for (uint64_t i = 0; i < 5; ++i) m.Unmap(i * page_, page_);
  hmm_mirror_event two[2];
  ASSERT_EQ(static_cast<ssize_t>(sizeof(two)), read(dev_.fd(), two, sizeof(two)));
  EXPECT_EQ(two[0].start, m.addr());
  EXPECT_EQ(two[1].start, m.addr(page_));
  m.Unmap(6 * page_, page_);
  std::vector<hmm_mirror_event> ev = Drain();
  ASSERT_EQ(ev.size(), 2u) << EventsString(ev);
  EXPECT_EQ(ev[0].reason, uint32_t{HMM_MIRROR_EVENT_LOST}) << EventsString(ev);
  EXPECT_EQ(ev[0].seq, two[0].seq + 2);
  EXPECT_EQ(ev[0].pages, 3u);
  EXPECT_EQ(ev[1].reason, uint32_t{HMM_MIRROR_EVENT_UNMAP}) << EventsString(ev);
  EXPECT_EQ(ev[1].start, m.addr(6 * page_));
  EXPECT_EQ(ev[1].seq, two[0].seq + 5);
}

// --- read() -----------------------------------------------------------------------

TEST_F(EventsTest, ReadBeforeEventsWereEverEnabledIsEinval) {
  hmm_mirror_event e;
  // O_NONBLOCK so that a module that got this wrong cannot hang the suite.
  fcntl(dev_.fd(), F_SETFL, fcntl(dev_.fd(), F_GETFL) | O_NONBLOCK);
  errno = 0;
  EXPECT_EQ(-1, read(dev_.fd(), &e, kRec));
  EXPECT_EQ(Errno(errno), Errno(EINVAL));
}

TEST_F(EventsTest, NonblockingReadOfAnEmptyQueueIsEagain) {
  Enable(HMM_MIRROR_EVENT_ALL_REASONS);
  ASSERT_EQ(0, fcntl(dev_.fd(), F_SETFL, fcntl(dev_.fd(), F_GETFL) | O_NONBLOCK));
  hmm_mirror_event e[4];
  errno = 0;
  EXPECT_EQ(-1, read(dev_.fd(), e, sizeof(e)));
  EXPECT_EQ(Errno(errno), Errno(EAGAIN));
}

TEST_F(EventsTest, ReadSmallerThanARecordIsEinvalAndConsumesNothing) {
  Enable(kUnmapBit);
  Mapping m(2 * page_);
  FillPattern(m.data(), m.size(), 20);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
  m.Unmap(0, page_);
  uint8_t buf[2 * kRec];
  for (size_t count : {size_t{1}, size_t{8}, kRec - 1}) {
    SCOPED_TRACE(count);
    errno = 0;
    EXPECT_EQ(-1, read(dev_.fd(), buf, count));
    EXPECT_EQ(Errno(errno), Errno(EINVAL));
  }
  std::vector<hmm_mirror_event> ev = Drain();
  ASSERT_EQ(ev.size(), 1u) << "the record was consumed by a failed read";
  EXPECT_EQ(ev[0].start, m.addr());
}

TEST_F(EventsTest, ReadReturnsAsManyWholeRecordsAsFit) {
  Enable(kUnmapBit);
  Mapping m(4 * page_);
  FillPattern(m.data(), m.size(), 21);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
  for (uint64_t i = 0; i < 3; ++i) m.Unmap(i * page_, page_);
  hmm_mirror_event buf[8];
  std::memset(buf, kCanaryByte, sizeof(buf));
  // Room for 2.5 records: 2 whole ones, nothing written past them.
  ASSERT_EQ(static_cast<ssize_t>(2 * kRec), read(dev_.fd(), buf, 2 * kRec + kRec / 2));
  EXPECT_EQ(buf[0].start, m.addr());
  EXPECT_EQ(buf[1].start, m.addr(page_));
  EXPECT_TRUE(IsFilledWith(&buf[2], kRec, kCanaryByte));
  // Room for 8: the one that is left.
  ASSERT_EQ(static_cast<ssize_t>(kRec), read(dev_.fd(), buf, sizeof(buf)));
  EXPECT_EQ(buf[0].start, m.addr(2 * page_));
  EXPECT_TRUE(Drain().empty());
}

TEST_F(EventsTest, UnwritableBufferIsEfaultAndConsumesNothing) {
  Enable(kUnmapBit);
  Mapping m(2 * page_);
  FillPattern(m.data(), m.size(), 22);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
  m.Unmap(0, page_);
  Mapping ro(page_, PROT_READ);
  errno = 0;
  EXPECT_EQ(-1, read(dev_.fd(), ro.data(), kRec));
  EXPECT_EQ(Errno(errno), Errno(EFAULT));
  errno = 0;
  EXPECT_EQ(-1, read(dev_.fd(), reinterpret_cast<void*>(kKernelAddr), kRec));
  EXPECT_EQ(Errno(errno), Errno(EFAULT));
  std::vector<hmm_mirror_event> ev = Drain();
  ASSERT_EQ(ev.size(), 1u) << "a failed read consumed the record";
  EXPECT_EQ(ev[0].start, m.addr());
}

TEST_F(EventsTest, BlockingReadWaitsForTheNextEvent) {
  Enable(kUnmapBit);
  Mapping m(2 * page_);
  FillPattern(m.data(), m.size(), 23);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
  std::thread later([&] {
    usleep(100000);
    m.Unmap(0, page_);
  });
  hmm_mirror_event e;
  const ssize_t n = ReadWithin(dev_.fd(), &e, kRec, 10000);
  const int err = errno;
  later.join();
  ASSERT_EQ(n, static_cast<ssize_t>(kRec)) << std::strerror(err);
  EXPECT_EQ(e.reason, uint32_t{HMM_MIRROR_EVENT_UNMAP});
  EXPECT_EQ(e.start, m.addr());
}

TEST_F(EventsTest, BlockingReadIsInterruptedBySignal) {
  Enable(kUnmapBit);
  struct sigaction sa = {}, old = {};
  sa.sa_handler = NoopSignalHandler;  // no SA_RESTART
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(0, sigaction(SIGUSR1, &sa, &old));
  const pthread_t reader = pthread_self();
  std::atomic<bool> done{false};
  // Signal until the read returns (the first one may come before it
  // blocks).
  std::thread kicker([&] {
    while (!done.load()) {
      usleep(50000);
      if (!done.load()) pthread_kill(reader, SIGUSR1);
    }
  });
  hmm_mirror_event e;
  errno = 0;
  const ssize_t n = read(dev_.fd(), &e, kRec);
  const int err = errno;
  done.store(true);
  kicker.join();
  sigaction(SIGUSR1, &old, nullptr);
  EXPECT_EQ(n, -1);
  EXPECT_EQ(Errno(err), Errno(EINTR));
}

// --- poll() ---------------------------------------------------------------------

TEST_F(EventsTest, PollReportsPollinExactlyWhileRecordsAreQueued) {
  Enable(kUnmapBit);
  EXPECT_EQ(0, PollFd(dev_.fd(), POLLIN, 50)) << "nothing queued";
  Mapping m(2 * page_);
  FillPattern(m.data(), m.size(), 24);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
  m.Unmap(0, page_);
  int rev = PollFd(dev_.fd(), POLLIN, 0);
  EXPECT_TRUE(rev > 0 && (rev & POLLIN)) << "revents " << rev;
  EXPECT_FALSE(rev > 0 && (rev & POLLHUP)) << "not exited";
  ASSERT_EQ(Drain().size(), 1u);
  EXPECT_EQ(0, PollFd(dev_.fd(), POLLIN, 50)) << "drained";
}

TEST_F(EventsTest, PollWakesUpOnAnEvent) {
  Enable(kUnmapBit);
  Mapping m(2 * page_);
  FillPattern(m.data(), m.size(), 25);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size()));
  std::thread later([&] {
    usleep(100000);
    m.Unmap(0, page_);
  });
  const int rev = PollFd(dev_.fd(), POLLIN, 10000);
  later.join();
  EXPECT_TRUE(rev > 0 && (rev & POLLIN)) << "revents " << rev;
}

}  // namespace
}  // namespace hmm_conformance
