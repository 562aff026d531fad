// SPDX-License-Identifier: MIT
//
// page_states.h - page-state names and assertions over SNAPSHOT/QUERY arrays.
// Part of the conformance suite's helpers (../hmm_mirror_test.h).
#ifndef HMM_CONFORMANCE_PAGE_STATES_H
#define HMM_CONFORMANCE_PAGE_STATES_H

#include "errno_ioctl.h"

namespace hmm_conformance {

inline std::string StateName(uint32_t s) {
  if (s == 0) return "0";
  if (s == kStateCanary) return "<not written by the module>";
  std::ostringstream os;
  const char* sep = "";
  const struct {
    uint32_t bit;
    const char* name;
  } names[] = {{HMM_MIRROR_PAGE_VALID, "VALID"},
               {HMM_MIRROR_PAGE_WRITE, "WRITE"},
               {HMM_MIRROR_PAGE_ERROR, "ERROR"},
               {HMM_MIRROR_PAGE_ZERO, "ZERO"},
               {HMM_MIRROR_PAGE_DEVICE, "DEVICE"}};
  for (const auto& n : names) {
    if (s & n.bit) {
      os << sep << n.name;
      sep = "|";
    }
  }
  uint32_t unknown = s & ~(kAllStateFlags | (0xffU << HMM_MIRROR_PAGE_ORDER_SHIFT));
  if (unknown) os << sep << "0x" << std::hex << unknown << std::dec;
  os << " order " << HMM_MIRROR_PAGE_ORDER(s);
  return os.str();
}

namespace detail {
template <typename Pred>
::testing::AssertionResult CheckPages(const std::vector<uint32_t>& states,
                                      size_t first, size_t end, Pred ok,
                                      const std::string& expected) {
  if (end > states.size()) {
    return ::testing::AssertionFailure()
           << "asked about pages [" << first << ", " << end << ") of "
           << states.size();
  }
  std::ostringstream bad;
  size_t nbad = 0;
  for (size_t i = first; i < end; ++i) {
    if (ok(states[i])) continue;
    if (nbad < 8) bad << "\n  page " << i << ": " << StateName(states[i]);
    ++nbad;
  }
  if (nbad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << nbad << " of pages [" << first << ", " << end << ") are not "
         << expected << ":" << bad.str() << (nbad > 8 ? "\n  ..." : "");
}
}  // namespace detail

// Every state in [first, end) equals want exactly (flags and order).
inline ::testing::AssertionResult PagesAre(const std::vector<uint32_t>& states,
                                           size_t first, size_t end,
                                           uint32_t want) {
  return detail::CheckPages(
      states, first, end, [want](uint32_t s) { return s == want; },
      StateName(want));
}

// Every state in [first, end) has all bits of set and none of clear.
inline ::testing::AssertionResult PagesHave(const std::vector<uint32_t>& states,
                                            size_t first, size_t end,
                                            uint32_t set, uint32_t clear) {
  std::string what = "with " + StateName(set);
  if (clear) what += " and without " + StateName(clear);
  return detail::CheckPages(
      states, first, end,
      [set, clear](uint32_t s) {
        return s != kStateCanary && (s & set) == set && (s & clear) == 0;
      },
      what);
}

// Every state in [first, end) reports the given order.
inline ::testing::AssertionResult PagesOfOrder(
    const std::vector<uint32_t>& states, size_t first, size_t end,
    unsigned order) {
  return detail::CheckPages(
      states, first, end,
      [order](uint32_t s) {
        return s != kStateCanary && HMM_MIRROR_PAGE_ORDER(s) == order;
      },
      "of order " + std::to_string(order));
}

// Every per-page result (MIGRATE, EXCLUSIVE) in [first, end) is want.
inline ::testing::AssertionResult ResultsAre(const std::vector<uint32_t>& r,
                                             size_t first, size_t end,
                                             uint32_t want) {
  for (size_t i = first; i < end; ++i)
    if (i >= r.size() || r[i] != want)
      return ::testing::AssertionFailure()
             << "page " << i << ": result " << (i < r.size() ? r[i] : 0)
             << ", expected " << want;
  return ::testing::AssertionSuccess();
}

}  // namespace hmm_conformance

#endif  // HMM_CONFORMANCE_PAGE_STATES_H
