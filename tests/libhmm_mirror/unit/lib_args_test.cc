// SPDX-License-Identifier: MIT
//
// lib_args_test.cc - argument checks: every call rejects a NULL handle, bad
// ranges, short arrays, NULL buffers and unknown flags with -EINVAL (or
// the documented errno) before any system call, and says why.

#include <errno.h>

#include <thread>
#include <vector>

#include "unit_test.h"

namespace {

constexpr uint64_t kAddr = 0x7f0000000000ULL;

TEST(NullHandleTest, EveryCallRejectsIt) {
  uint32_t states[4];
  char buf[4096];
  struct hmm_mirror_info info;
  struct hmm_mirror_counters c;
  struct hmm_mirror_event_record rec;
  hmm_mirror_info_init(&info);
  hmm_mirror_counters_init(&c);
  hmm_mirror_event_record_init(&rec);
  const struct {
    int ret;
    const char* call;
  } cases[] = {
      {hmm_mirror_handshake(nullptr, &info), "hmm_mirror_handshake"},
      {hmm_mirror_require(nullptr, HMM_MIRROR_FEAT_FAULT), "hmm_mirror_require"},
      {hmm_mirror_attach_pid(nullptr, 1), "hmm_mirror_attach_pid"},
      {hmm_mirror_attach_pidfd(nullptr, 3), "hmm_mirror_attach_pidfd"},
      {hmm_mirror_fault(nullptr, kAddr, 4096, 0, nullptr, nullptr), "hmm_mirror_fault"},
      {hmm_mirror_snapshot(nullptr, kAddr, 4096, states, 4), "hmm_mirror_snapshot"},
      {hmm_mirror_query(nullptr, kAddr, 4096, states, 4), "hmm_mirror_query"},
      {hmm_mirror_read(nullptr, kAddr, buf, 4096, nullptr), "hmm_mirror_read"},
      {hmm_mirror_write(nullptr, kAddr, buf, 4096, nullptr), "hmm_mirror_write"},
      {hmm_mirror_events_config(nullptr, 1, 0), "hmm_mirror_events_config"},
      {hmm_mirror_event_next(nullptr, &rec, 0), "hmm_mirror_event_next"},
      {hmm_mirror_stats(nullptr, &c), "hmm_mirror_stats"},
      {hmm_mirror_stats_global(nullptr, &c), "hmm_mirror_stats_global"},
      {hmm_mirror_fd(nullptr), "hmm_mirror_fd"},
  };
  for (const auto& tc : cases) {
    EXPECT_EQ(tc.ret, -EINVAL) << tc.call;
  }
  // The message of the last one names it and the reason.
  std::string msg = hmm_mirror_last_error();
  EXPECT_NE(msg.find("hmm_mirror_fd"), std::string::npos) << msg;
  EXPECT_NE(msg.find("EINVAL"), std::string::npos) << msg;
  EXPECT_NE(msg.find("handle is NULL"), std::string::npos) << msg;
}

class ArgsTest : public FakeDeviceTest {};

TEST_F(ArgsTest, RangesAreCheckedBeforeTheDevice) {
  std::vector<uint32_t> states(16);
  std::vector<char> buf(16 * 4096);
  struct Range {
    uint64_t addr, length;
    const char* why;
  } bad[] = {
      {kAddr, 0, "length is 0"},
      {kAddr + 1, 4096, "addr is not a multiple of the page size (4096)"},
      {kAddr + 2048, 4096, "addr is not a multiple"},
      {kAddr, 100, "length is not a multiple of the page size"},
      {kAddr, 4096 + 512, "length is not a multiple"},
      {~0ULL - 4095, 8192, "wraps around"},
  };
  for (const Range& r : bad) {
    SCOPED_TRACE(r.why);
    EXPECT_REJECTED(hmm_mirror_fault(m_, r.addr, r.length, 0, nullptr, nullptr),
                    EINVAL, "hmm_mirror_fault", r.why);
    EXPECT_REJECTED(hmm_mirror_snapshot(m_, r.addr, r.length, states.data(), states.size()),
                    EINVAL, "hmm_mirror_snapshot", r.why);
    EXPECT_REJECTED(hmm_mirror_query(m_, r.addr, r.length, states.data(), states.size()),
                    EINVAL, "hmm_mirror_query", r.why);
    EXPECT_REJECTED(hmm_mirror_read(m_, r.addr, buf.data(), r.length, nullptr),
                    EINVAL, "hmm_mirror_read", r.why);
    EXPECT_REJECTED(hmm_mirror_write(m_, r.addr, buf.data(), r.length, nullptr),
                    EINVAL, "hmm_mirror_write", r.why);
  }
}

TEST_F(ArgsTest, MessagesShowTheArguments) {
  EXPECT_EQ(hmm_mirror_fault(m_, 0x7f0000001001ULL, 0x2000, HMM_MIRROR_FAULT_WRITE,
                             nullptr, nullptr), -EINVAL);
  EXPECT_NE(LastError().find("hmm_mirror_fault(addr=0x7f0000001001, length=0x2000, write)"),
            std::string::npos) << LastError();
}

TEST_F(ArgsTest, StatesArrayMustHoldEveryPage) {
  std::vector<uint32_t> states(4);
  EXPECT_REJECTED(hmm_mirror_snapshot(m_, kAddr, 5 * page_, states.data(), 4),
                  EINVAL, "hmm_mirror_snapshot", "fewer entries than the range has pages (5)");
  EXPECT_REJECTED(hmm_mirror_query(m_, kAddr, 5 * page_, states.data(), 4),
                  EINVAL, "hmm_mirror_query", "fewer entries");
  EXPECT_REJECTED(hmm_mirror_snapshot(m_, kAddr, page_, nullptr, 1),
                  EINVAL, "hmm_mirror_snapshot", "states is NULL");
  // Exactly enough is fine, and a larger array too.
  EXPECT_EQ(hmm_mirror_snapshot(m_, kAddr, 4 * page_, states.data(), 4), 0) << LastError();
  EXPECT_EQ(hmm_mirror_query(m_, kAddr, 2 * page_, states.data(), 4), 0) << LastError();
}

TEST_F(ArgsTest, SnapshotRunsNeedsAnArrayAndACount) {
  std::vector<hmm_mirror_page_run> runs(4);
  size_t n = 99;
  EXPECT_REJECTED(hmm_mirror_snapshot_runs(m_, kAddr, page_, nullptr, 4, &n), EINVAL,
                  "hmm_mirror_snapshot_runs", "runs is NULL");
  EXPECT_REJECTED(hmm_mirror_snapshot_runs(m_, kAddr, page_, runs.data(), 4, nullptr),
                  EINVAL, "hmm_mirror_snapshot_runs", "nr_runs is NULL");
  EXPECT_REJECTED(hmm_mirror_snapshot_runs(m_, kAddr, page_, runs.data(), 0, &n), EINVAL,
                  "hmm_mirror_snapshot_runs", "runs_len is 0");
  EXPECT_REJECTED(hmm_mirror_snapshot_runs(m_, kAddr + 1, page_, runs.data(), 4, &n),
                  EINVAL, "hmm_mirror_snapshot_runs", "");
  EXPECT_EQ(n, 99u) << "nothing reported on error";
}

TEST_F(ArgsTest, BuffersMustNotBeNull) {
  EXPECT_REJECTED(hmm_mirror_read(m_, kAddr, nullptr, page_, nullptr), EINVAL,
                  "hmm_mirror_read", "buf is NULL");
  EXPECT_REJECTED(hmm_mirror_write(m_, kAddr, nullptr, page_, nullptr), EINVAL,
                  "hmm_mirror_write", "buf is NULL");
}

TEST_F(ArgsTest, UnknownFlagsAndReasons) {
  EXPECT_REJECTED(hmm_mirror_fault(m_, kAddr, page_, 2, nullptr, nullptr), EINVAL,
                  "hmm_mirror_fault", "unknown flags");
  EXPECT_REJECTED(hmm_mirror_events_config(m_, 1u << 8, 0), EINVAL,
                  "hmm_mirror_events_config", "unknown reason bits");
  EXPECT_REJECTED(hmm_mirror_events_config(m_, 0x80000000u, 0), EINVAL,
                  "hmm_mirror_events_config", "reasons=0x80000000");
}

TEST_F(ArgsTest, AttachArguments) {
  EXPECT_REJECTED(hmm_mirror_attach_pid(m_, 0), EINVAL, "hmm_mirror_attach_pid",
                  "pid must be positive");
  EXPECT_REJECTED(hmm_mirror_attach_pid(m_, -5), EINVAL, "hmm_mirror_attach_pid",
                  "pid=-5");
  EXPECT_REJECTED(hmm_mirror_attach_pidfd(m_, -1), EBADF, "hmm_mirror_attach_pidfd",
                  "pidfd is negative");
}

TEST_F(ArgsTest, ResultStructsNeedTheirSize) {
  struct hmm_mirror_counters c;
  hmm_mirror_counters_init(&c);
  c.size = 8;
  EXPECT_REJECTED(hmm_mirror_stats(m_, &c), EINVAL, "hmm_mirror_stats",
                  "hmm_mirror_counters_init");
  EXPECT_REJECTED(hmm_mirror_stats_global(m_, nullptr), EINVAL,
                  "hmm_mirror_stats_global", "c is NULL");
  struct hmm_mirror_event_record rec;
  std::memset(&rec, 0, sizeof(rec));
  EXPECT_REJECTED(hmm_mirror_event_next(m_, &rec, 0), EINVAL, "hmm_mirror_event_next",
                  "hmm_mirror_event_record_init");
  EXPECT_REJECTED(hmm_mirror_event_next(m_, nullptr, 0), EINVAL,
                  "hmm_mirror_event_next", "rec is NULL");
}

TEST_F(ArgsTest, MissingFeaturesAreNamed) {
  struct hmm_mirror* m = nullptr;
  fake.features = HMM_MIRROR_FEAT_FAULT | HMM_MIRROR_FEAT_SNAPSHOT |
                  HMM_MIRROR_FEAT_DEVICE_RW | HMM_MIRROR_FEAT_QUERY;
  ASSERT_EQ(hmm_mirror_open_path(fake.path, &m), 0);
  std::memset(fake.calls, 0, sizeof(fake.calls));
  struct hmm_mirror_counters c;
  struct hmm_mirror_event_record rec;
  hmm_mirror_counters_init(&c);
  hmm_mirror_event_record_init(&rec);

  EXPECT_REJECTED(hmm_mirror_attach_pid(m, 1), EOPNOTSUPP, "hmm_mirror_attach_pid",
                  "HMM_MIRROR_FEAT_ATTACH (bit 5)");
  EXPECT_REJECTED(hmm_mirror_events_config(m, 1, 0), EOPNOTSUPP,
                  "hmm_mirror_events_config", "HMM_MIRROR_FEAT_EVENTS (bit 6)");
  EXPECT_REJECTED(hmm_mirror_event_next(m, &rec, 0), EOPNOTSUPP,
                  "hmm_mirror_event_next", "HMM_MIRROR_FEAT_EVENTS (bit 6)");
  EXPECT_REJECTED(hmm_mirror_stats(m, &c), EOPNOTSUPP, "hmm_mirror_stats",
                  "HMM_MIRROR_FEAT_STATS (bit 11)");
  // An ABI 1 module has no runs.
  hmm_mirror_page_run run;
  size_t n = 0;
  EXPECT_REJECTED(hmm_mirror_snapshot_runs(m, kAddr, page_, &run, 1, &n), EOPNOTSUPP,
                  "hmm_mirror_snapshot_runs", "HMM_MIRROR_FEAT_SNAPSHOT_RUNS (bit 12)");
  EXPECT_REJECTED(hmm_mirror_require(m, HMM_MIRROR_FEAT_ATTACH | HMM_MIRROR_FEAT_EXIT),
                  EOPNOTSUPP, "hmm_mirror_require",
                  "HMM_MIRROR_FEAT_ATTACH (bit 5), HMM_MIRROR_FEAT_EXIT (bit 10)");
  EXPECT_EQ(hmm_mirror_require(m, HMM_MIRROR_FEAT_FAULT | HMM_MIRROR_FEAT_QUERY), 0);
  hmm_mirror_close(m);
}

TEST_F(ArgsTest, ThreadsHaveTheirOwnLastError) {
  EXPECT_EQ(hmm_mirror_fault(m_, kAddr, 0, 0, nullptr, nullptr), -EINVAL);
  std::string mine = LastError();
  std::string theirs;
  std::thread t([&] {
    theirs = hmm_mirror_last_error();
    hmm_mirror_attach_pid(nullptr, 1);
  });
  t.join();
  EXPECT_EQ(theirs, "");
  EXPECT_EQ(LastError(), mine);
}

}  // namespace
