// SPDX-License-Identifier: MIT
//
// command_table.h - the six commands as data, and a factory of valid
// version-1 arguments for each, for the tests that apply one rule to every
// command (compat_test.cc, bad_input_test.cc).
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

enum class Cmd { kHandshake, kFault, kSnapshot, kRead, kWrite, kQuery };

struct Command {
  Cmd id;
  const char* name;
  unsigned long ioc;
  uint32_t ver1_size;
  uint32_t known_flags;  // flag bits version 1 defines
  bool takes_range;      // has addr/length, checked by the range rules
  bool has_output;       // has out fields, so the struct is written back
};

inline void PrintTo(const Command& c, std::ostream* os) { *os << c.name; }

inline std::vector<Command> AllCommands() {
  return {
      {Cmd::kHandshake, "Handshake", HMM_MIRROR_IOC_HANDSHAKE,
       HMM_MIRROR_HANDSHAKE_SIZE_VER1, 0, false, true},
      {Cmd::kFault, "Fault", HMM_MIRROR_IOC_FAULT, HMM_MIRROR_FAULT_SIZE_VER1,
       HMM_MIRROR_FAULT_WRITE, true, true},
      {Cmd::kSnapshot, "Snapshot", HMM_MIRROR_IOC_SNAPSHOT,
       HMM_MIRROR_PAGES_SIZE_VER1, 0, true, false},
      {Cmd::kRead, "Read", HMM_MIRROR_IOC_READ, HMM_MIRROR_RW_SIZE_VER1, 0,
       true, true},
      {Cmd::kWrite, "Write", HMM_MIRROR_IOC_WRITE, HMM_MIRROR_RW_SIZE_VER1, 0,
       true, true},
      {Cmd::kQuery, "Query", HMM_MIRROR_IOC_QUERY, HMM_MIRROR_PAGES_SIZE_VER1,
       0, true, false},
  };
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
// fails with EFAULT instead of scribbling over the test's memory.
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
        std::memcpy(out, &hs, sizeof(hs));
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
        std::memcpy(out, &p, sizeof(p));
        break;
      }
      case Cmd::kRead:
      case Cmd::kWrite: {
        hmm_mirror_rw rw = MakeRw(addr, length, rwbuf_.data());
        std::memcpy(out, &rw, sizeof(rw));
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
};

// A Command-parameterized fixture with an ArgFactory.
class CommandTest : public MirrorTest,
                    public ::testing::WithParamInterface<Command> {
 protected:
  void SetUp() override {
    MirrorTest::SetUp();
    if (HasFatalFailure()) return;
    args_.reset(new ArgFactory(page_));
  }

  const Command& cmd() const { return GetParam(); }
  Errno Issue(const void* arg) const { return dev_.Call(cmd().ioc, arg); }

  std::unique_ptr<ArgFactory> args_;
};

}  // namespace hmm_conformance

#endif  // HMM_MIRROR_CONFORMANCE_COMMAND_TABLE_H
