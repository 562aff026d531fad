// SPDX-License-Identifier: MIT
//
// lib_commands_test.cc - what each call sends to the device and what it
// reports back, against the fake device: struct sizes, fields, flags,
// results, and the explanation of each errno the module can answer.

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include "unit_test.h"

namespace {

constexpr uint64_t kAddr = 0x7f0000000000ULL;

class CommandsTest : public FakeDeviceTest {};

TEST_F(CommandsTest, FaultSendsTheRangeAndReportsResults) {
  uint64_t mapped = 0, retries = 0;
  ASSERT_EQ(hmm_mirror_fault(m_, kAddr, 8 * page_, HMM_MIRROR_FAULT_WRITE, &mapped,
                             &retries), 0) << LastError();
  auto f = LastArg<struct hmm_mirror_fault>(HMM_MIRROR_NR_FAULT);
  EXPECT_EQ(f.size, sizeof(struct hmm_mirror_fault));
  EXPECT_EQ(f.flags, HMM_MIRROR_FAULT_WRITE);
  EXPECT_EQ(f.addr, kAddr);
  EXPECT_EQ(f.length, 8 * page_);
  EXPECT_EQ(mapped, 8u);
  EXPECT_EQ(retries, 3u);
  // The outputs are optional.
  EXPECT_EQ(hmm_mirror_fault(m_, kAddr, page_, 0, nullptr, nullptr), 0);
  EXPECT_EQ(LastArg<struct hmm_mirror_fault>(HMM_MIRROR_NR_FAULT).flags, 0u);
}

TEST_F(CommandsTest, SnapshotAndQueryFillStates) {
  std::vector<uint32_t> states(8, 0xdeadbeef);
  fake.fill_state = HMM_MIRROR_PAGE_VALID | HMM_MIRROR_PAGE_WRITE;
  ASSERT_EQ(hmm_mirror_snapshot(m_, kAddr, 8 * page_, states.data(), states.size()), 0);
  auto p = LastArg<hmm_mirror_pages>(HMM_MIRROR_NR_SNAPSHOT);
  EXPECT_EQ(p.size, sizeof(hmm_mirror_pages));
  EXPECT_EQ(p.flags, 0u);
  EXPECT_EQ(p.states, reinterpret_cast<uintptr_t>(states.data()));
  EXPECT_EQ(p.states_len, 8u);
  for (uint32_t s : states) EXPECT_EQ(s, HMM_MIRROR_PAGE_VALID | HMM_MIRROR_PAGE_WRITE);
  fake.fill_state = HMM_MIRROR_PAGE_VALID;
  ASSERT_EQ(hmm_mirror_query(m_, kAddr, 8 * page_, states.data(), states.size()), 0);
  EXPECT_EQ(fake.calls[HMM_MIRROR_NR_QUERY], 1u);
  EXPECT_EQ(states[7], HMM_MIRROR_PAGE_VALID);
}

TEST_F(CommandsTest, SnapshotRunsAsksForRunsAndReportsTheirCount) {
  std::vector<hmm_mirror_page_run> runs(4);
  size_t n = 0;
  fake.fill_state = HMM_MIRROR_PAGE_VALID;
  ASSERT_EQ(hmm_mirror_snapshot_runs(m_, kAddr, 8 * page_, runs.data(), runs.size(), &n), 0)
      << LastError();
  auto p = LastArg<hmm_mirror_pages>(HMM_MIRROR_NR_SNAPSHOT);
  EXPECT_EQ(p.size, sizeof(hmm_mirror_pages));
  EXPECT_EQ(p.flags, HMM_MIRROR_PAGES_RUNS);
  EXPECT_EQ(p.states, reinterpret_cast<uintptr_t>(runs.data()));
  EXPECT_EQ(p.states_len, 4u);
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(runs[0].addr, kAddr);
  EXPECT_EQ(runs[0].length, 8 * page_);
  EXPECT_EQ(runs[0].state, HMM_MIRROR_PAGE_VALID);
}

TEST_F(CommandsTest, ReadAndWrite) {
  std::vector<uint8_t> buf(2 * page_, 0);
  uint64_t faults = 99;
  fake.fill_byte = 0x5a;
  ASSERT_EQ(hmm_mirror_read(m_, kAddr, buf.data(), buf.size(), &faults), 0);
  EXPECT_EQ(buf[0], 0x5a);
  EXPECT_EQ(buf.back(), 0x5a);
  EXPECT_EQ(faults, 1u);
  auto rw = LastArg<hmm_mirror_rw>(HMM_MIRROR_NR_READ);
  EXPECT_EQ(rw.size, sizeof(hmm_mirror_rw));
  EXPECT_EQ(rw.addr, kAddr);
  EXPECT_EQ(rw.length, 2 * page_);
  EXPECT_EQ(rw.buf, reinterpret_cast<uintptr_t>(buf.data()));
  ASSERT_EQ(hmm_mirror_write(m_, kAddr, buf.data(), page_, nullptr), 0);
  EXPECT_EQ(fake.calls[HMM_MIRROR_NR_WRITE], 1u);
}

TEST_F(CommandsTest, AttachPidOpensAPidfd) {
  ASSERT_EQ(hmm_mirror_attach_pid(m_, getpid()), 0) << LastError();
  auto a = LastArg<hmm_mirror_attach>(HMM_MIRROR_NR_ATTACH);
  EXPECT_EQ(a.size, sizeof(hmm_mirror_attach));
  EXPECT_EQ(a.flags, 0u);
  EXPECT_EQ(a.reserved, 0u);
  // The pidfd was closed again afterwards.
  EXPECT_EQ(fcntl(static_cast<int>(a.pidfd), F_GETFD), -1);
  // Errors now name the attached pid.
  fake.fail_errno[HMM_MIRROR_NR_FAULT] = EFAULT;
  EXPECT_EQ(hmm_mirror_fault(m_, kAddr, page_, 0, nullptr, nullptr), -EFAULT);
  EXPECT_NE(LastError().find("on pid " + std::to_string(getpid())), std::string::npos)
      << LastError();
}

TEST_F(CommandsTest, AttachToNoSuchProcess) {
  // pid_max is at most 4194304: this pid cannot exist.
  EXPECT_EQ(hmm_mirror_attach_pid(m_, 4194304 + 1), -ESRCH);
  EXPECT_NE(LastError().find("no such process"), std::string::npos) << LastError();
  EXPECT_EQ(fake.calls[HMM_MIRROR_NR_ATTACH], 0u);
}

TEST_F(CommandsTest, EventsConfig) {
  ASSERT_EQ(hmm_mirror_events_config(m_, HMM_MIRROR_EVENT_ALL_REASONS, 64), 0);
  auto e = LastArg<hmm_mirror_events>(HMM_MIRROR_NR_EVENTS);
  EXPECT_EQ(e.size, sizeof(hmm_mirror_events));
  EXPECT_EQ(e.reasons, HMM_MIRROR_EVENT_ALL_REASONS);
  EXPECT_EQ(e.queue_len, 64u);
  fake.fail_errno[HMM_MIRROR_NR_EVENTS] = EBUSY;
  EXPECT_EQ(hmm_mirror_events_config(m_, 1, 128), -EBUSY);
  EXPECT_NE(LastError().find("cannot change while records are queued"), std::string::npos)
      << LastError();
}

TEST_F(CommandsTest, StatsCopiesEveryCounter) {
  fake.stats.device_faults = 1;
  fake.stats.fault_calls = 2;
  fake.stats.pages_faulted = 3;
  fake.stats.fault_retries = 4;
  for (int i = 0; i < HMM_MIRROR_EVENT_NR_REASONS; i++)
    fake.stats.invalidations[i] = 10 + i;
  fake.stats.pages_invalidated = 20;
  fake.stats.events_delivered = 21;
  fake.stats.events_lost = 22;
  fake.stats.notifiers = 23;
  fake.stats.dpt_tables = 24;
  fake.stats.dpt_pages = 25;
  fake.stats.mirrors = 26;
  struct hmm_mirror_counters c;
  hmm_mirror_counters_init(&c);
  ASSERT_EQ(hmm_mirror_stats(m_, &c), 0) << LastError();
  EXPECT_EQ(LastArg<struct hmm_mirror_stats>(HMM_MIRROR_NR_STATS).flags, 0u);
  EXPECT_EQ(LastArg<struct hmm_mirror_stats>(HMM_MIRROR_NR_STATS).size, sizeof(struct hmm_mirror_stats));
  EXPECT_EQ(c.size, sizeof(c));
  EXPECT_EQ(c.flags, 0u);
  EXPECT_EQ(c.device_faults, 1u);
  EXPECT_EQ(c.fault_calls, 2u);
  EXPECT_EQ(c.pages_faulted, 3u);
  EXPECT_EQ(c.fault_retries, 4u);
  for (int i = 0; i < HMM_MIRROR_EVENT_NR_REASONS; i++)
    EXPECT_EQ(c.invalidations[i], 10u + i);
  EXPECT_EQ(c.pages_invalidated, 20u);
  EXPECT_EQ(c.events_delivered, 21u);
  EXPECT_EQ(c.events_lost, 22u);
  EXPECT_EQ(c.notifiers, 23u);
  EXPECT_EQ(c.dpt_tables, 24u);
  EXPECT_EQ(c.dpt_pages, 25u);
  EXPECT_EQ(c.mirrors, 26u);

  ASSERT_EQ(hmm_mirror_stats_global(m_, &c), 0);
  EXPECT_EQ(LastArg<struct hmm_mirror_stats>(HMM_MIRROR_NR_STATS).flags,
            static_cast<uint32_t>(HMM_MIRROR_STATS_GLOBAL));
  EXPECT_EQ(c.flags, HMM_MIRROR_STATS_GLOBAL);
}

TEST_F(CommandsTest, OlderCallerStructsAreFilledOnlyUpToTheirSize) {
  // A caller built when the struct was shorter: nothing past its size is
  // written.
  struct {
    struct hmm_mirror_counters c;
    uint64_t canary;
  } s;
  std::memset(&s, 0xab, sizeof(s));
  s.c.size = HMM_MIRROR_COUNTERS_SIZE_VER1;
  fake.stats.mirrors = 5;
  ASSERT_EQ(hmm_mirror_stats(m_, &s.c), 0);
  EXPECT_EQ(s.c.mirrors, 5u);
  EXPECT_EQ(s.canary, 0xababababababababULL);
}

struct ErrnoCase {
  unsigned nr;
  int err;
  const char* expect;
};

TEST_F(CommandsTest, ModuleErrorsAreExplainedPerCommand) {
  std::vector<uint32_t> states(1);
  char buf[4096];
  const ErrnoCase cases[] = {
      {HMM_MIRROR_NR_FAULT, EFAULT, "not mapped, or not readable (PROT_NONE)"},
      {HMM_MIRROR_NR_FAULT, EPERM, "without write permission"},
      {HMM_MIRROR_NR_FAULT, EBUSY, "retry bound"},
      {HMM_MIRROR_NR_FAULT, ESRCH, "the process exited"},
      {HMM_MIRROR_NR_FAULT, EINVAL, "user address space"},
      {HMM_MIRROR_NR_SNAPSHOT, EFAULT, "states array cannot be written"},
      {HMM_MIRROR_NR_QUERY, ENOTTY, "does not know this command"},
      {HMM_MIRROR_NR_READ, EFAULT, "not mapped or not readable"},
      {HMM_MIRROR_NR_WRITE, EPERM, "no write permission"},
      {HMM_MIRROR_NR_ATTACH, EPERM, "may not ptrace"},
      {HMM_MIRROR_NR_ATTACH, EBUSY, "already maps pages"},
      {HMM_MIRROR_NR_ATTACH, ESRCH, "pid namespace"},
      {HMM_MIRROR_NR_STATS, ENOMEM, "out of memory"},
  };
  for (const ErrnoCase& tc : cases) {
    SCOPED_TRACE(std::string(hmm_mirror_command_name(tc.nr)) + " " +
                 hmm_mirror_errno_name(tc.err));
    std::memset(fake.fail_errno, 0, sizeof(fake.fail_errno));
    fake.fail_errno[tc.nr] = tc.err;
    int ret = 0;
    struct hmm_mirror_counters c;
    hmm_mirror_counters_init(&c);
    switch (tc.nr) {
      case HMM_MIRROR_NR_FAULT:
        ret = hmm_mirror_fault(m_, kAddr, page_, 0, nullptr, nullptr);
        break;
      case HMM_MIRROR_NR_SNAPSHOT:
        ret = hmm_mirror_snapshot(m_, kAddr, page_, states.data(), 1);
        break;
      case HMM_MIRROR_NR_QUERY:
        ret = hmm_mirror_query(m_, kAddr, page_, states.data(), 1);
        break;
      case HMM_MIRROR_NR_READ:
        ret = hmm_mirror_read(m_, kAddr, buf, page_, nullptr);
        break;
      case HMM_MIRROR_NR_WRITE:
        ret = hmm_mirror_write(m_, kAddr, buf, page_, nullptr);
        break;
      case HMM_MIRROR_NR_ATTACH:
        ret = hmm_mirror_attach_pid(m_, getpid());
        break;
      case HMM_MIRROR_NR_STATS:
        ret = hmm_mirror_stats(m_, &c);
        break;
    }
    EXPECT_EQ(ret, -tc.err);
    EXPECT_NE(LastError().find(hmm_mirror_errno_name(tc.err)), std::string::npos)
        << LastError();
    EXPECT_NE(LastError().find(tc.expect), std::string::npos) << LastError();
  }
}

}  // namespace
