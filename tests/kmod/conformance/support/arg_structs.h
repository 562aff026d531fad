// SPDX-License-Identifier: MIT
//
// arg_structs.h - valid version-1 argument structs of every command, to vary one field of.
// Part of the conformance suite's helpers (../hmm_mirror_test.h).
#ifndef HMM_CONFORMANCE_ARG_STRUCTS_H
#define HMM_CONFORMANCE_ARG_STRUCTS_H

#include "errno_ioctl.h"

namespace hmm_conformance {

inline hmm_mirror_handshake MakeHandshake() {
  hmm_mirror_handshake hs;
  std::memset(&hs, 0, sizeof(hs));
  hs.size = sizeof(hs);
  hs.abi_version = HMM_MIRROR_ABI_VERSION;
  hs.features_wanted = kRequiredFeatures | HMM_MIRROR_FEAT_HUGE_ENTRIES;
  return hs;
}

inline hmm_mirror_fault MakeFault(uint64_t addr, uint64_t length,
                                  uint32_t flags = 0) {
  hmm_mirror_fault f;
  std::memset(&f, 0, sizeof(f));
  f.size = sizeof(f);
  f.flags = flags;
  f.addr = addr;
  f.length = length;
  return f;
}

inline hmm_mirror_pages MakePages(uint64_t addr, uint64_t length,
                                  const uint32_t* states,
                                  uint64_t states_len) {
  hmm_mirror_pages p;
  std::memset(&p, 0, sizeof(p));
  p.size = sizeof(p);
  p.addr = addr;
  p.length = length;
  p.states = U64(states);
  p.states_len = states_len;
  return p;
}

inline hmm_mirror_rw MakeRw(uint64_t addr, uint64_t length, const void* buf) {
  hmm_mirror_rw rw;
  std::memset(&rw, 0, sizeof(rw));
  rw.size = sizeof(rw);
  rw.addr = addr;
  rw.length = length;
  rw.buf = U64(buf);
  return rw;
}

inline hmm_mirror_attach MakeAttach(int pidfd) {
  hmm_mirror_attach a;
  std::memset(&a, 0, sizeof(a));
  a.size = sizeof(a);
  a.pidfd = static_cast<uint32_t>(pidfd);
  return a;
}

inline hmm_mirror_events MakeEvents(uint32_t reasons, uint32_t queue_len = 0) {
  hmm_mirror_events e;
  std::memset(&e, 0, sizeof(e));
  e.size = sizeof(e);
  e.reasons = reasons;
  e.queue_len = queue_len;
  return e;
}

inline hmm_mirror_exclusive MakeExclusive(uint64_t addr, uint64_t length,
                                          uint32_t* results,
                                          uint64_t results_len) {
  hmm_mirror_exclusive ex;
  std::memset(&ex, 0, sizeof(ex));
  ex.size = sizeof(ex);
  ex.addr = addr;
  ex.length = length;
  ex.results = U64(results);
  ex.results_len = results_len;
  return ex;
}

inline hmm_mirror_atomic MakeAtomic(uint64_t addr, uint32_t op,
                                    uint64_t operand, uint64_t compare = 0,
                                    uint32_t flags = 0) {
  hmm_mirror_atomic at;
  std::memset(&at, 0, sizeof(at));
  at.size = sizeof(at);
  at.flags = flags;
  at.addr = addr;
  at.op = op;
  at.operand = operand;
  at.compare = compare;
  return at;
}

inline hmm_mirror_migrate MakeMigrate(uint64_t addr, uint64_t length,
                                      uint32_t flags, uint32_t* results,
                                      uint64_t results_len) {
  hmm_mirror_migrate mg;
  std::memset(&mg, 0, sizeof(mg));
  mg.size = sizeof(mg);
  mg.flags = flags;
  mg.addr = addr;
  mg.length = length;
  mg.results = U64(results);
  mg.results_len = results_len;
  return mg;
}

inline hmm_mirror_stats MakeStats(uint32_t flags = 0) {
  hmm_mirror_stats st;
  std::memset(&st, 0, sizeof(st));
  st.size = sizeof(st);
  st.flags = flags;
  return st;
}

// pidfd_open(2) without a libc wrapper: the fd, or -1 with errno set.
inline int PidfdOpen(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

}  // namespace hmm_conformance

#endif  // HMM_CONFORMANCE_ARG_STRUCTS_H
