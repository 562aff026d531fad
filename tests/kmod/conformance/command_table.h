// SPDX-License-Identifier: MIT
//
// command_table.h - the commands as data, and a factory of valid version-1
// arguments for each, for the tests that apply one rule to every command
// (compat_test.cc, bad_input_test.cc).  A command that belongs to a feature
// the module does not advertise is skipped by CommandTest.
#ifndef HMM_MIRROR_CONFORMANCE_COMMAND_TABLE_H
#define HMM_MIRROR_CONFORMANCE_COMMAND_TABLE_H

#include <cstdint>
#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "hmm_mirror_test.h"

namespace hmm_conformance {

enum class Cmd {
  kHandshake,
  kFault,
  kSnapshot,
  kRead,
  kWrite,
  kQuery,
  kAttach,
  kEvents,
  kStats,
  kMigrate,
  kExclusive,
  kAtomic
};

struct Command {
  Cmd id;
  const char* name;
  unsigned long ioc;
  uint32_t ver1_size;
  uint32_t size;         // the struct as this header defines it (>= ver1_size)
  uint32_t known_flags;  // flag bits the ABI defines for it
  bool takes_range;      // has addr/length, checked by the range rules
  bool has_output;       // has out fields, so the struct is written back
  uint64_t feature;      // the HMM_MIRROR_FEAT_* bit the command needs
};

inline void PrintTo(const Command& c, std::ostream* os) { *os << c.name; }

inline std::vector<Command> AllCommands() {
  return {
      {Cmd::kHandshake, "Handshake", HMM_MIRROR_IOC_HANDSHAKE,
       HMM_MIRROR_HANDSHAKE_SIZE_VER1,
       sizeof(hmm_mirror_handshake), 0, false, true, 0},
      {Cmd::kFault, "Fault", HMM_MIRROR_IOC_FAULT, HMM_MIRROR_FAULT_SIZE_VER1,
       sizeof(hmm_mirror_fault), HMM_MIRROR_FAULT_WRITE, true, true, HMM_MIRROR_FEAT_FAULT},
      {Cmd::kSnapshot, "Snapshot", HMM_MIRROR_IOC_SNAPSHOT,
       HMM_MIRROR_PAGES_SIZE_VER1, sizeof(hmm_mirror_pages), HMM_MIRROR_PAGES_RUNS, true, false,
       HMM_MIRROR_FEAT_SNAPSHOT},
      {Cmd::kRead, "Read", HMM_MIRROR_IOC_READ, HMM_MIRROR_RW_SIZE_VER1,
       sizeof(hmm_mirror_rw), 0,
       true, true, HMM_MIRROR_FEAT_DEVICE_RW},
      {Cmd::kWrite, "Write", HMM_MIRROR_IOC_WRITE, HMM_MIRROR_RW_SIZE_VER1,
       sizeof(hmm_mirror_rw), 0,
       true, true, HMM_MIRROR_FEAT_DEVICE_RW},
      {Cmd::kQuery, "Query", HMM_MIRROR_IOC_QUERY, HMM_MIRROR_PAGES_SIZE_VER1,
       sizeof(hmm_mirror_pages), 0, true, false, HMM_MIRROR_FEAT_QUERY},
      {Cmd::kAttach, "Attach", HMM_MIRROR_IOC_ATTACH,
       HMM_MIRROR_ATTACH_SIZE_VER1, sizeof(hmm_mirror_attach), 0, false, false, HMM_MIRROR_FEAT_ATTACH},
      {Cmd::kEvents, "Events", HMM_MIRROR_IOC_EVENTS,
       HMM_MIRROR_EVENTS_SIZE_VER1, sizeof(hmm_mirror_events), 0, false, false, HMM_MIRROR_FEAT_EVENTS},
      {Cmd::kStats, "Stats", HMM_MIRROR_IOC_STATS, HMM_MIRROR_STATS_SIZE_VER1,
       sizeof(hmm_mirror_stats), HMM_MIRROR_STATS_GLOBAL, false, true, HMM_MIRROR_FEAT_STATS},
      {Cmd::kMigrate, "Migrate", HMM_MIRROR_IOC_MIGRATE,
       HMM_MIRROR_MIGRATE_SIZE_VER4, sizeof(hmm_mirror_migrate),
       HMM_MIRROR_MIGRATE_TO_SYSTEM | HMM_MIRROR_MIGRATE_EVICT, true, true,
       HMM_MIRROR_FEAT_DEVICE_MEMORY},
      {Cmd::kExclusive, "Exclusive", HMM_MIRROR_IOC_EXCLUSIVE,
       HMM_MIRROR_EXCLUSIVE_SIZE_VER5, sizeof(hmm_mirror_exclusive), 0, true,
       true, HMM_MIRROR_FEAT_EXCLUSIVE},
      {Cmd::kAtomic, "Atomic", HMM_MIRROR_IOC_ATOMIC,
       HMM_MIRROR_ATOMIC_SIZE_VER5, sizeof(hmm_mirror_atomic),
       HMM_MIRROR_ATOMIC_NO_GRANT, false, true, HMM_MIRROR_FEAT_EXCLUSIVE},
  };
}

// The command with this id (AllCommands() order is not an interface).
inline Command CommandOf(Cmd id) {
  for (const Command& c : AllCommands())
    if (c.id == id) return c;
  throw std::logic_error("no such command");
}

inline std::vector<Command> RangeCommands() {
  std::vector<Command> out;
  for (const Command& c : AllCommands())
    if (c.takes_range) out.push_back(c);
  return out;
}

inline std::vector<Command> CommandsWithOutput() {
  std::vector<Command> out;
  for (const Command& c : AllCommands())
    if (c.has_output) out.push_back(c);
  return out;
}

inline std::string CommandName(const ::testing::TestParamInfo<Command>& info) {
  return info.param.name;
}

// Owns the memory valid arguments point at: a written target range, and a
// states array and a READ/WRITE buffer that are each followed by a
// PROT_NONE guard page, so a module that wrongly accepted a huge length
// fails with EFAULT instead of scribbling over the test's memory.  A valid
// ATTACH names a pidfd of the test process itself (allowed while the device
// maps nothing, and a no-op for the mirror).
class ArgFactory {
 public:
  explicit ArgFactory(uint64_t page)
      : page_(page),
        target_(kTargetPages * page),
        states_(2 * page),
        rwbuf_(kTargetPages * page + page) {
    FillPattern(target_.data(), target_.size(), 7);
    states_.Protect(page, page, PROT_NONE);
    rwbuf_.Protect(kTargetPages * page, page, PROT_NONE);
    FillPatternAs(rwbuf_.data(), kTargetPages * page, 8, target_.addr());
    self_pidfd_ = PidfdOpen(getpid());
  }
  ArgFactory(const ArgFactory&) = delete;
  ArgFactory& operator=(const ArgFactory&) = delete;
  ~ArgFactory() {
    if (self_pidfd_ >= 0) close(self_pidfd_);
  }

  static constexpr uint64_t kTargetPages = 2;

  const Mapping& target() const { return target_; }
  uint64_t target_addr() const { return target_.addr(); }
  uint64_t target_length() const { return target_.size(); }

  // Writes a valid version-1 struct for c covering [addr, addr + length)
  // to out, which must hold at least c.ver1_size bytes.
  void Build(const Command& c, void* out, uint64_t addr,
             uint64_t length) const {
    switch (c.id) {
      case Cmd::kHandshake: {
        hmm_mirror_handshake hs = MakeHandshake();
        hs.size = HMM_MIRROR_HANDSHAKE_SIZE_VER1;
        std::memcpy(out, &hs, HMM_MIRROR_HANDSHAKE_SIZE_VER1);
        break;
      }
      case Cmd::kFault: {
        hmm_mirror_fault f = MakeFault(addr, length);
        std::memcpy(out, &f, sizeof(f));
        break;
      }
      case Cmd::kSnapshot:
      case Cmd::kQuery: {
        // Never let states_len be the reason for a failure.
        uint64_t n = (length + page_ - 1) / page_;
        hmm_mirror_pages p = MakePages(
            addr, length, reinterpret_cast<const uint32_t*>(states_.data()),
            n == 0 ? 1 : n);
        p.size = HMM_MIRROR_PAGES_SIZE_VER1;
        std::memcpy(out, &p, HMM_MIRROR_PAGES_SIZE_VER1);
        break;
      }
      case Cmd::kRead:
      case Cmd::kWrite: {
        hmm_mirror_rw rw = MakeRw(addr, length, rwbuf_.data());
        rw.size = HMM_MIRROR_RW_SIZE_VER1;
        std::memcpy(out, &rw, HMM_MIRROR_RW_SIZE_VER1);
        break;
      }
      case Cmd::kAttach: {
        hmm_mirror_attach a = MakeAttach(self_pidfd_);
        std::memcpy(out, &a, sizeof(a));
        break;
      }
      case Cmd::kEvents: {
        // Events off, default queue: valid whatever is queued.
        hmm_mirror_events e = MakeEvents(0, 0);
        std::memcpy(out, &e, sizeof(e));
        break;
      }
      case Cmd::kStats: {
        hmm_mirror_stats st = MakeStats(0);
        st.size = HMM_MIRROR_STATS_SIZE_VER1;
        std::memcpy(out, &st, HMM_MIRROR_STATS_SIZE_VER1);
        break;
      }
      case Cmd::kMigrate: {
        // Back to system memory: valid, and leaves the target where the
        // other commands expect it.
        uint64_t n = (length + page_ - 1) / page_;
        hmm_mirror_migrate mg = MakeMigrate(
            addr, length, HMM_MIRROR_MIGRATE_TO_SYSTEM,
            reinterpret_cast<uint32_t*>(states_.data()), n == 0 ? 1 : n);
        std::memcpy(out, &mg, sizeof(mg));
        break;
      }
      case Cmd::kExclusive: {
        uint64_t n = (length + page_ - 1) / page_;
        hmm_mirror_exclusive ex = MakeExclusive(
            addr, length, reinterpret_cast<uint32_t*>(states_.data()),
            n == 0 ? 1 : n);
        std::memcpy(out, &ex, sizeof(ex));
        break;
      }
      case Cmd::kAtomic: {
        // Adding 0 to the target's first word: valid, and changes nothing.
        hmm_mirror_atomic at = MakeAtomic(addr, HMM_MIRROR_ATOMIC_ADD, 0);
        std::memcpy(out, &at, sizeof(at));
        break;
      }
    }
  }

  void BuildValid(const Command& c, void* out) const {
    Build(c, out, target_.addr(), target_.size());
  }

 private:
  uint64_t page_;
  Mapping target_;
  Mapping states_;
  Mapping rwbuf_;
  int self_pidfd_ = -1;
};

// A Command-parameterized fixture with an ArgFactory.
class CommandTest : public MirrorTest,
                    public ::testing::WithParamInterface<Command> {
 protected:
  void SetUp() override {
    MirrorTest::SetUp();
    if (HasFatalFailure()) return;
    HMM_REQUIRE_FEATURES(dev_, cmd().feature);
    args_.reset(new ArgFactory(page_));
  }

  const Command& cmd() const { return GetParam(); }
  Errno Issue(const void* arg) const { return dev_.Call(cmd().ioc, arg); }

  std::unique_ptr<ArgFactory> args_;
};

}  // namespace hmm_conformance

#endif  // HMM_MIRROR_CONFORMANCE_COMMAND_TABLE_H
