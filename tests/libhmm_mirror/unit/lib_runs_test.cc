// SPDX-License-Identifier: MIT
//
// lib_runs_test.cc - hmm_mirror_runs_*() on the fake device: the same runs
// from an ABI 2 module (continued after every full batch) and from an
// ABI 1 module (per-page SNAPSHOT pieces collapsed by the library), runs
// merged across batch and piece ends, arguments and errors.

#include <vector>

#include "unit_test.h"

namespace {

constexpr uint64_t kAddr = 0x7f0000000000ULL;

struct R {  // one run, comparable
  uint64_t addr, length;
  uint32_t state;
  bool operator==(const R& o) const {
    return addr == o.addr && length == o.length && state == o.state;
  }
};

// Every run of [addr, addr + length) through the iterator.
int Walk(struct hmm_mirror* m, uint64_t addr, uint64_t length, std::vector<R>* out) {
  struct hmm_mirror_runs* it = nullptr;
  int ret = hmm_mirror_runs_open(m, addr, length, &it);
  if (ret)
    return ret;
  struct hmm_mirror_page_run r;
  while ((ret = hmm_mirror_runs_next(it, &r)) == 1)
    out->push_back({r.addr, r.length, r.state});
  hmm_mirror_runs_close(it);
  return ret;
}

// The runs the stripes of the fake device make in a range.
std::vector<R> Stripes(uint64_t addr, uint64_t length, uint64_t stripe, uint32_t state) {
  std::vector<R> v;
  for (uint64_t at = addr; at < addr + length;) {
    uint64_t stop = std::min((at / stripe + 1) * stripe, addr + length);
    v.push_back({at, stop - at, (at / stripe) % 2 ? 0u : state});
    at = stop;
  }
  return v;
}

class RunsTest : public FakeDeviceTest {
 protected:
  // A second handle on a module of ABI 1: no SNAPSHOT runs.
  struct hmm_mirror* OpenAbi1() {
    fake.module_abi_version = 1;
    fake.features &= ~(HMM_MIRROR_FEAT_SNAPSHOT_RUNS | HMM_MIRROR_FEAT_RW_COPIED |
                       HMM_MIRROR_FEAT_ADDR_LIMIT);
    struct hmm_mirror* m = nullptr;
    EXPECT_EQ(hmm_mirror_open_path(fake.path, &m), 0) << LastError();
    std::memset(fake.calls, 0, sizeof(fake.calls));
    return m;
  }
};

TEST_F(RunsTest, UniformMemoryIsOneRunInOneCall) {
  fake.fill_state = HMM_MIRROR_PAGE_VALID;
  std::vector<R> runs;
  ASSERT_EQ(Walk(m_, kAddr, 1ULL << 30, &runs), 0) << LastError();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0], (R{kAddr, 1ULL << 30, HMM_MIRROR_PAGE_VALID}));
  EXPECT_EQ(fake.calls[HMM_MIRROR_NR_SNAPSHOT], 1u);
  auto p = LastArg<hmm_mirror_pages>(HMM_MIRROR_NR_SNAPSHOT);
  EXPECT_EQ(p.flags, HMM_MIRROR_PAGES_RUNS);
}

TEST_F(RunsTest, FullBatchesAreContinued) {
  // 3000 one-page stripes: three batches of at most 1024 runs.
  fake.fill_state = HMM_MIRROR_PAGE_VALID | HMM_MIRROR_PAGE_WRITE;
  fake.stripe_pages = 1;
  std::vector<R> runs;
  ASSERT_EQ(Walk(m_, kAddr, 3000 * page_, &runs), 0) << LastError();
  EXPECT_EQ(runs, Stripes(kAddr, 3000 * page_, page_, fake.fill_state));
  EXPECT_EQ(fake.calls[HMM_MIRROR_NR_SNAPSHOT], 3u);
  auto p = LastArg<hmm_mirror_pages>(HMM_MIRROR_NR_SNAPSHOT);
  EXPECT_EQ(p.addr, kAddr + 2048 * page_) << "goes on from the end of the full batch";
  EXPECT_EQ(p.length, (3000 - 2048) * page_);
}

TEST_F(RunsTest, AnAbi1ModuleGivesTheSameRuns) {
  fake.fill_state = HMM_MIRROR_PAGE_VALID;
  fake.stripe_pages = 3;
  std::vector<R> abi2;
  ASSERT_EQ(Walk(m_, kAddr + page_, 100 * page_, &abi2), 0) << LastError();
  struct hmm_mirror* m = OpenAbi1();
  std::vector<R> abi1;
  ASSERT_EQ(Walk(m, kAddr + page_, 100 * page_, &abi1), 0) << LastError();
  hmm_mirror_close(m);
  EXPECT_EQ(abi1, abi2);
  EXPECT_EQ(abi1, Stripes(kAddr + page_, 100 * page_, 3 * page_, HMM_MIRROR_PAGE_VALID));
  auto p = LastArg<hmm_mirror_pages>(HMM_MIRROR_NR_SNAPSHOT);
  EXPECT_EQ(p.flags, 0u) << "per-page SNAPSHOT on ABI 1";
}

TEST_F(RunsTest, Abi1RunsGoOnAcrossPieces) {
  // 1 GiB of one state is 4 pieces of 64Ki pages, but one run.
  fake.fill_state = HMM_MIRROR_PAGE_VALID;
  struct hmm_mirror* m = OpenAbi1();
  std::vector<R> runs;
  ASSERT_EQ(Walk(m, kAddr + 16 * page_, 1ULL << 30, &runs), 0) << LastError();
  hmm_mirror_close(m);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0], (R{kAddr + 16 * page_, 1ULL << 30, HMM_MIRROR_PAGE_VALID}));
  // Pieces are aligned: the first one ends at the next 256 MiB boundary.
  EXPECT_EQ(fake.calls[HMM_MIRROR_NR_SNAPSHOT], 5u);
}

TEST_F(RunsTest, ModuleRunsOfOneStateInTwoBatchesAreMerged) {
  // Batch ends are not state changes: one-page runs that all say 0 (as
  // a module may answer when memory changes between two batches) come
  // out as one run.
  fake.fill_state = 0;
  fake.stripe_pages = 1;
  std::vector<R> runs;
  ASSERT_EQ(Walk(m_, kAddr, 2000 * page_, &runs), 0) << LastError();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0], (R{kAddr, 2000 * page_, 0u}));
  EXPECT_EQ(fake.calls[HMM_MIRROR_NR_SNAPSHOT], 2u);
}

TEST_F(RunsTest, ArgumentsAreCheckedBeforeTheDevice) {
  struct hmm_mirror_runs* it = reinterpret_cast<struct hmm_mirror_runs*>(&page_);
  EXPECT_REJECTED(hmm_mirror_runs_open(m_, kAddr, 0, &it), EINVAL, "hmm_mirror_runs_open",
                  "length is 0");
  EXPECT_EQ(it, nullptr);
  EXPECT_REJECTED(hmm_mirror_runs_open(m_, kAddr + 1, page_, &it), EINVAL,
                  "hmm_mirror_runs_open", "not a multiple of the page size");
  EXPECT_REJECTED(hmm_mirror_runs_open(m_, kAddr, page_, nullptr), EINVAL,
                  "hmm_mirror_runs_open", "out is NULL");
  EXPECT_REJECTED(hmm_mirror_runs_open(nullptr, kAddr, page_, &it), EINVAL,
                  "hmm_mirror_runs_open", "NULL");
  // Opening asks nothing of the module.
  ASSERT_EQ(hmm_mirror_runs_open(m_, kAddr, page_, &it), 0);
  EXPECT_EQ(fake_device_total_calls(), 0u);
  EXPECT_REJECTED(hmm_mirror_runs_next(it, nullptr), EINVAL, "hmm_mirror_runs_next",
                  "run is NULL");
  hmm_mirror_runs_close(it);
  hmm_mirror_runs_close(nullptr);
}

TEST_F(RunsTest, AnErrorStopsTheWalk) {
  fake.fill_state = HMM_MIRROR_PAGE_VALID;
  fake.stripe_pages = 1;
  struct hmm_mirror_runs* it = nullptr;
  ASSERT_EQ(hmm_mirror_runs_open(m_, kAddr, 3000 * page_, &it), 0);
  struct hmm_mirror_page_run r;
  // The first batch comes through; the second call fails.
  for (int i = 0; i < 1000; i++)
    ASSERT_EQ(hmm_mirror_runs_next(it, &r), 1);
  fake.fail_errno[HMM_MIRROR_NR_SNAPSHOT] = ESRCH;
  int ret = 1;
  for (int i = 0; i < 100 && ret == 1; i++)
    ret = hmm_mirror_runs_next(it, &r);
  EXPECT_EQ(ret, -ESRCH);
  EXPECT_NE(LastError().find("hmm_mirror_snapshot_runs"), std::string::npos) << LastError();
  fake.fail_errno[HMM_MIRROR_NR_SNAPSHOT] = 0;
  EXPECT_EQ(hmm_mirror_runs_next(it, &r), -ESRCH) << "sticky";
  hmm_mirror_runs_close(it);
}

TEST_F(RunsTest, NoSnapshotIsEopnotsupp) {
  fake.features &= ~(HMM_MIRROR_FEAT_SNAPSHOT | HMM_MIRROR_FEAT_SNAPSHOT_RUNS);
  struct hmm_mirror* m = nullptr;
  ASSERT_EQ(hmm_mirror_open_path(fake.path, &m), 0);
  struct hmm_mirror_runs* it = nullptr;
  EXPECT_EQ(hmm_mirror_runs_open(m, kAddr, page_, &it), -EOPNOTSUPP);
  EXPECT_EQ(it, nullptr);
  hmm_mirror_close(m);
}

}  // namespace
