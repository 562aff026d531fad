// SPDX-License-Identifier: MIT
//
// stats_format.h - sums and printing of struct hmm_mirror_stats.
// Part of the conformance suite's helpers (../hmm_mirror_test.h).
#ifndef HMM_CONFORMANCE_STATS_FORMAT_H
#define HMM_CONFORMANCE_STATS_FORMAT_H

#include "errno_ioctl.h"

namespace hmm_conformance {

inline uint64_t TotalInvalidations(const hmm_mirror_stats& s) {
  uint64_t sum = 0;
  for (uint64_t n : s.invalidations) sum += n;
  return sum;
}

inline std::string StatsString(const hmm_mirror_stats& s) {
  std::ostringstream os;
  os << "device_faults " << s.device_faults << ", fault_calls "
     << s.fault_calls << ", pages_faulted " << s.pages_faulted
     << ", fault_retries " << s.fault_retries << ", invalidations [";
  for (unsigned i = 0; i < HMM_MIRROR_EVENT_NR_REASONS; ++i)
    os << (i ? " " : "") << s.invalidations[i];
  os << "], pages_invalidated " << s.pages_invalidated
     << ", events_delivered " << s.events_delivered << ", events_lost "
     << s.events_lost << ", notifiers " << s.notifiers << ", dpt_tables "
     << s.dpt_tables << ", dpt_pages " << s.dpt_pages << ", mirrors "
     << s.mirrors;
  return os.str();
}

}  // namespace hmm_conformance

#endif  // HMM_CONFORMANCE_STATS_FORMAT_H
