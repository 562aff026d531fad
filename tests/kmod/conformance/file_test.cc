// SPDX-License-Identifier: MIT
//
// file_test.cc - HMM_MIRROR_FEAT_FILE_BACKED (abi/README.md, "File-backed
// memory"): "Shared and private file mappings mirror like anonymous
// memory. A read-only file can be faulted for read only (EPERM for write).
// Truncate and hole punch clear the device entries."  Every test runs on a
// tmpfs file, a memfd and a file on a disk file system (ext4 on a loop
// device inside the VM; see file_util.h).

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>

#include <vector>

#include "file_util.h"

namespace hmm_conformance {
namespace {

constexpr uint32_t kValid = HMM_MIRROR_PAGE_VALID;
constexpr uint32_t kWrite = HMM_MIRROR_PAGE_WRITE;
constexpr uint64_t kFileBase = TestFile::kFileBase;

const ::testing::Environment* const kDiskFsEnv =
    ::testing::AddGlobalTestEnvironment(new DiskFsEnvironment);

class FileTest : public MirrorTest, public ::testing::WithParamInterface<Backing> {
 protected:
  void SetUp() override {
    MirrorTest::SetUp();
    if (HasFatalFailure()) return;
    HMM_REQUIRE_FEATURES(dev_, HMM_MIRROR_FEAT_FILE_BACKED);
    file_.reset(new TestFile(GetParam(), kPages * page_, 1));
    if (file_->fd() < 0) GTEST_SKIP() << file_->why();
    if (GetParam() == Backing::kDisk)
      RecordProperty("file_system", DiskFs::Get().fs_name());
  }

  void TearDown() override {
    if (map_ != nullptr) munmap(map_, kPages * page_);
  }

  // Maps the whole file (or fd) once; the fixture unmaps it.
  uint8_t* Map(int prot, int flags, int fd = -1) {
    map_ = file_->Map(prot, flags, fd);
    EXPECT_NE(map_, nullptr) << std::strerror(errno);
    return map_;
  }

  uint64_t addr(uint64_t page = 0) const { return U64(map_) + page * page_; }
  uint64_t size() const { return kPages * page_; }
  bool events() const { return dev_.Has(HMM_MIRROR_FEAT_EVENTS); }

  static constexpr uint64_t kPages = 8;
  std::unique_ptr<TestFile> file_;
  uint8_t* map_ = nullptr;
};

TEST_P(FileTest, SharedMappingIsReadThroughTheDevice) {
  ASSERT_NE(nullptr, Map(PROT_READ | PROT_WRITE, MAP_SHARED));
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(addr(), size(), &s));
  EXPECT_TRUE(PagesAre(s, 0, kPages, 0)) << "no CPU access yet";
  Mapping buf(size());
  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Read(addr(), size(), buf.data(), &faults));
  EXPECT_GE(faults, 1u);
  EXPECT_LE(faults, 2u) << "one run of missing pages (two if it crosses 2 MiB)";
  EXPECT_TRUE(HasPatternAs(buf.data(), size(), 1, kFileBase));
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(addr(), size(), &q));
  EXPECT_TRUE(PagesHave(q, 0, kPages, kValid, HMM_MIRROR_PAGE_ZERO));
  ASSERT_EQ(kSuccess, dev_.Snapshot(addr(), size(), &s));
  EXPECT_TRUE(PagesHave(s, 0, kPages, kValid, 0)) << "the device fault "
                                                     "populated the CPU table";
}

TEST_P(FileTest, DeviceWriteToASharedMappingReachesTheFile) {
  ASSERT_NE(nullptr, Map(PROT_READ | PROT_WRITE, MAP_SHARED));
  Mapping buf(size());
  FillPatternAs(buf.data(), size(), 2, kFileBase);
  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Write(addr(), size(), buf.data(), &faults));
  EXPECT_GE(faults, 1u);
  EXPECT_LE(faults, 2u) << "one run of missing pages (two if it crosses 2 MiB)";
  EXPECT_TRUE(file_->Holds(2, 0, size())) << "pread() of the file";
  EXPECT_TRUE(HasPatternAs(map_, size(), 2, kFileBase)) << "the mapping";
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(addr(), size(), &q));
  EXPECT_TRUE(PagesAre(q, 0, kPages, kValid | kWrite));
}

TEST_P(FileTest, FileWritesAreSeenThroughTheDevice) {
  ASSERT_NE(nullptr, Map(PROT_READ | PROT_WRITE, MAP_SHARED));
  ASSERT_EQ(kSuccess, dev_.Fault(addr(), size()));
  // pwrite() goes to the same page cache pages the device maps.
  ASSERT_TRUE(file_->Fill(3));
  Mapping buf(size());
  ASSERT_EQ(kSuccess, dev_.Read(addr(), size(), buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), size(), 3, kFileBase));
}

TEST_P(FileTest, PrivateMappingWritesStayPrivate) {
  ASSERT_NE(nullptr, Map(PROT_READ | PROT_WRITE, MAP_PRIVATE));
  Mapping buf(size());
  // The device first maps the file's pages read-only ...
  ASSERT_EQ(kSuccess, dev_.Read(addr(), size(), buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), size(), 1, kFileBase));
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(addr(), size(), &q));
  EXPECT_TRUE(PagesHave(q, 0, kPages, kValid, kWrite))
      << "a private file page is copied on the first write";
  // ... then writes: copy-on-write into private pages.
  FillPatternAs(buf.data(), size(), 4, kFileBase);
  uint64_t faults;
  ASSERT_EQ(kSuccess, dev_.Write(addr(), size(), buf.data(), &faults));
  EXPECT_GE(faults, 1u);
  EXPECT_TRUE(HasPatternAs(map_, size(), 4, kFileBase)) << "the mapping";
  EXPECT_TRUE(file_->Holds(1, 0, size())) << "the file must not change";
  ASSERT_EQ(kSuccess, dev_.Query(addr(), size(), &q));
  EXPECT_TRUE(PagesAre(q, 0, kPages, kValid | kWrite));
  // The device reads the private copies, not the file.
  ASSERT_TRUE(file_->Fill(5));
  ASSERT_EQ(kSuccess, dev_.Read(addr(), size(), buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), size(), 4, kFileBase));
}

TEST_P(FileTest, ReadOnlyFileCanBeFaultedForReadOnly) {
  const int ro = file_->OpenReadOnly();
  ASSERT_GE(ro, 0) << std::strerror(errno);
  uint8_t* p = Map(PROT_READ, MAP_SHARED, ro);
  close(ro);
  ASSERT_NE(nullptr, p);
  hmm_mirror_fault f;
  ASSERT_EQ(kSuccess, dev_.Fault(addr(), size(), 0, &f));
  EXPECT_EQ(f.pages_mapped, kPages);
  EXPECT_EQ(Errno(EPERM), dev_.Fault(addr(), size(), HMM_MIRROR_FAULT_WRITE));
  Mapping buf(size());
  FillPatternAs(buf.data(), size(), 6, kFileBase);
  EXPECT_EQ(Errno(EPERM), dev_.Write(addr(), size(), buf.data()));
  EXPECT_TRUE(file_->Holds(1, 0, size())) << "the read-only file changed";
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(addr(), size(), &q));
  EXPECT_TRUE(PagesHave(q, 0, kPages, kValid, kWrite));
  std::vector<uint32_t> s;
  ASSERT_EQ(kSuccess, dev_.Snapshot(addr(), size(), &s));
  EXPECT_TRUE(PagesHave(s, 0, kPages, kValid, kWrite));
  ASSERT_EQ(kSuccess, dev_.Read(addr(), size(), buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), size(), 1, kFileBase));
}

TEST_P(FileTest, PrivateMappingOfAReadOnlyFileIsWrittenPrivately) {
  const int ro = file_->OpenReadOnly();
  ASSERT_GE(ro, 0) << std::strerror(errno);
  uint8_t* p = Map(PROT_READ | PROT_WRITE, MAP_PRIVATE, ro);
  close(ro);
  ASSERT_NE(nullptr, p);
  Mapping buf(size());
  FillPatternAs(buf.data(), size(), 7, kFileBase);
  ASSERT_EQ(kSuccess, dev_.Write(addr(), size(), buf.data()));
  EXPECT_TRUE(HasPatternAs(map_, size(), 7, kFileBase));
  EXPECT_TRUE(file_->Holds(1, 0, size()));
}

// Pages of @q in [first, end) that are 0 (not mapped by the device).
size_t Cleared(const std::vector<uint32_t>& q, size_t first, size_t end) {
  size_t n = 0;
  for (size_t i = first; i < end; ++i) n += q[i] == 0;
  return n;
}

// Pages [first, end) are each either unchanged (@kept) or cleared: the
// rest of a large folio a change reached.
::testing::AssertionResult KeptOrCleared(const std::vector<uint32_t>& q,
                                         size_t first, size_t end,
                                         uint32_t kept) {
  for (size_t i = first; i < end; ++i)
    if (q[i] != 0 && q[i] != kept)
      return ::testing::AssertionFailure()
             << "page " << i << " is 0x" << std::hex << q[i];
  return ::testing::AssertionSuccess();
}

TEST_P(FileTest, TruncateClearsTheEntriesPastTheNewEnd) {
  ASSERT_NE(nullptr, Map(PROT_READ | PROT_WRITE, MAP_SHARED));
  ASSERT_EQ(kSuccess, dev_.Fault(addr(), size(), HMM_MIRROR_FAULT_WRITE));
  if (events()) {
    ASSERT_EQ(kSuccess, dev_.SetEvents(HMM_MIRROR_EVENT_ALL_REASONS));
  }
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(addr(), size(), &q));
  ASSERT_TRUE(PagesAre(q, 0, kPages, kValid | kWrite));
  // A large folio that the new end cuts may be cleared whole.
  const size_t lo = FolioSpan(addr(), kPages, 4, kPages).first;
  RecordProperty("folio_span_from", static_cast<int>(lo));

  ASSERT_EQ(0, ftruncate(file_->fd(), static_cast<off_t>(4 * page_)));
  ASSERT_EQ(kSuccess, dev_.Query(addr(), size(), &q));
  EXPECT_TRUE(PagesAre(q, 0, lo, kValid | kWrite)) << "before the new end";
  EXPECT_TRUE(KeptOrCleared(q, lo, 4, kValid | kWrite))
      << "before the new end, in a folio it cuts";
  EXPECT_TRUE(PagesAre(q, 4, kPages, 0)) << "past the new end";
  if (events()) {
    // Truncate zaps the cut-off pages: CLEAR.  (A disk file system may
    // first write dirty pages back, which write-protects them: PROTECTION.)
    std::vector<hmm_mirror_event> ev = DrainEvents(dev_.fd());
    uint64_t pages = 0;
    for (const hmm_mirror_event& e : ev) {
      EXPECT_TRUE(WellFormed(e));
      EXPECT_TRUE(e.reason == HMM_MIRROR_EVENT_CLEAR ||
                  (GetParam() == Backing::kDisk &&
                   e.reason == HMM_MIRROR_EVENT_PROTECTION))
          << EventString(e);
      EXPECT_GE(e.start, addr(lo)) << EventString(e);
      EXPECT_LE(e.end, addr(kPages)) << EventString(e);
      pages += e.pages;
    }
    EXPECT_EQ(pages, Cleared(q, 0, kPages)) << EventsString(ev);
    if (GetParam() != Backing::kDisk) {
      ASSERT_EQ(ev.size(), 1u) << EventsString(ev);
      EXPECT_EQ(ev[0].start, addr(lo));
      EXPECT_EQ(ev[0].end, addr(kPages));
    }
  }
  // Past the end of the file there is nothing to map (SIGBUS for the CPU).
  Mapping buf(size());
  EXPECT_EQ(Errno(EFAULT), dev_.Read(addr(4), 4 * page_, buf.data()));
  ASSERT_EQ(kSuccess, dev_.Read(addr(), 4 * page_, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), 4 * page_, 1, kFileBase));
  // Growing the file again gives zero pages there.
  ASSERT_EQ(0, ftruncate(file_->fd(), static_cast<off_t>(size())));
  ASSERT_EQ(kSuccess, dev_.Read(addr(4), 4 * page_, buf.data()));
  EXPECT_TRUE(IsFilledWith(buf.data(), 4 * page_, 0));
}

TEST_P(FileTest, HolePunchClearsThePunchedEntries) {
  ASSERT_NE(nullptr, Map(PROT_READ | PROT_WRITE, MAP_SHARED));
  ASSERT_EQ(kSuccess, dev_.Fault(addr(), size(), HMM_MIRROR_FAULT_WRITE));
  if (events()) {
    ASSERT_EQ(kSuccess, dev_.SetEvents(HMM_MIRROR_EVENT_ALL_REASONS));
  }
  // The folios of the hole's pages may be cleared whole (large folios).
  const std::pair<size_t, size_t> span = FolioSpan(addr(), kPages, 2, 5);
  RecordProperty("folio_span", std::to_string(span.first) + "-" +
                                   std::to_string(span.second));
  if (fallocate(file_->fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                static_cast<off_t>(2 * page_), static_cast<off_t>(3 * page_)) != 0)
    GTEST_SKIP() << "the file system cannot punch holes: " << std::strerror(errno);
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(addr(), size(), &q));
  EXPECT_TRUE(PagesAre(q, 0, span.first, kValid | kWrite));
  EXPECT_TRUE(KeptOrCleared(q, span.first, 2, kValid | kWrite));
  EXPECT_TRUE(PagesAre(q, 2, 5, 0)) << "the hole";
  EXPECT_TRUE(KeptOrCleared(q, 5, span.second, kValid | kWrite));
  EXPECT_TRUE(PagesAre(q, span.second, kPages, kValid | kWrite));
  if (events()) {
    // tmpfs zaps the hole (CLEAR).  A disk file system first writes the
    // dirty pages of the hole back, which write-protects them (PROTECTION,
    // page by page), then zaps.  Either way the records cover the pages
    // the device lost: the hole's three, and with large folios (ext4 on
    // 7.x) the rest of their folios.
    std::vector<hmm_mirror_event> ev = DrainEvents(dev_.fd());
    uint64_t pages = 0;
    for (const hmm_mirror_event& e : ev) {
      EXPECT_TRUE(WellFormed(e));
      EXPECT_TRUE(e.reason == HMM_MIRROR_EVENT_CLEAR ||
                  (GetParam() == Backing::kDisk &&
                   e.reason == HMM_MIRROR_EVENT_PROTECTION))
          << EventString(e);
      EXPECT_GE(e.start, addr(span.first)) << EventString(e);
      EXPECT_LE(e.end, addr(span.second)) << EventString(e);
      pages += e.pages;
    }
    EXPECT_EQ(pages, Cleared(q, 0, kPages)) << EventsString(ev);
  }
  // The hole reads as zeros, the rest as before.
  Mapping buf(size());
  ASSERT_EQ(kSuccess, dev_.Read(addr(), size(), buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), 2 * page_, 1, kFileBase));
  EXPECT_TRUE(IsFilledWith(buf.at(2 * page_), 3 * page_, 0));
  EXPECT_TRUE(HasPatternAs(buf.at(5 * page_), 3 * page_, 1, kFileBase + 5 * page_));
}

TEST_P(FileTest, MunmapAndMadviseOfAFileMappingClearEntries) {
  ASSERT_NE(nullptr, Map(PROT_READ | PROT_WRITE, MAP_SHARED));
  ASSERT_EQ(kSuccess, dev_.Fault(addr(), size(), HMM_MIRROR_FAULT_WRITE));
  ASSERT_EQ(0, madvise(map_, 2 * page_, MADV_DONTNEED));
  ASSERT_EQ(0, mprotect(map_ + 2 * page_, 2 * page_, PROT_READ));
  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(addr(), size(), &q));
  EXPECT_TRUE(PagesAre(q, 0, 2, 0));
  EXPECT_TRUE(PagesHave(q, 2, 4, 0, kWrite));
  EXPECT_TRUE(PagesAre(q, 4, kPages, kValid | kWrite));
  // DONTNEED of a shared file mapping keeps the data in the file.
  Mapping buf(2 * page_);
  ASSERT_EQ(kSuccess, dev_.Read(addr(), 2 * page_, buf.data()));
  EXPECT_TRUE(HasPatternAs(buf.data(), 2 * page_, 1, kFileBase));
}

INSTANTIATE_TEST_SUITE_P(Backings, FileTest,
                         ::testing::Values(Backing::kTmpfs, Backing::kMemfd,
                                           Backing::kDisk),
                         [](const ::testing::TestParamInfo<Backing>& info) {
                           return std::string(BackingName(info.param));
                         });

}  // namespace
}  // namespace hmm_conformance
