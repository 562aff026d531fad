// SPDX-License-Identifier: MIT
//
// thp.h - transparent huge pages: /proc/self/smaps lookups.
// Part of the conformance suite's helpers (../hmm_mirror_test.h).
#ifndef HMM_CONFORMANCE_THP_H
#define HMM_CONFORMANCE_THP_H

#include "errno_ioctl.h"

namespace hmm_conformance {

// The line of /proc/self/smaps that starts with @key ("VmFlags:", ...) for
// the VMA holding addr, or "" if there is none.
inline std::string SmapsLine(uint64_t addr, const std::string& key) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool in_vma = false;
  while (std::getline(smaps, line)) {
    uint64_t start, end;
    char dash;
    std::istringstream head(line);
    if (head >> std::hex >> start >> dash >> end && dash == '-') {
      in_vma = start <= addr && addr < end;
      continue;
    }
    if (in_vma && line.rfind(key, 0) == 0) return line;
  }
  return "";
}

// AnonHugePages (kB) of the VMA holding addr, or -1.
inline long AnonHugeKb(uint64_t addr) {
  long kb;
  return std::sscanf(SmapsLine(addr, "AnonHugePages:").c_str(),
                     "AnonHugePages: %ld kB", &kb) == 1
             ? kb
             : -1;
}

}  // namespace hmm_conformance

#endif  // HMM_CONFORMANCE_THP_H
