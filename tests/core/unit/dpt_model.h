// SPDX-License-Identifier: GPL-2.0 OR MIT
//
// dpt_model.h - the reference the device page table (core/dpt.c) is checked
// against: its entries in a std::map, with dpt.h's replacement rules, and
// helpers that compare the two.  Used by the unit tests and the fuzzer.
#ifndef HMM_TESTS_UNIT_DPT_MODEL_H
#define HMM_TESTS_UNIT_DPT_MODEL_H

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

extern "C" {
#include "dpt.h"
}

namespace dpt_model {

constexpr u64 kPage = u64{1} << 12;
constexpr u64 k2M = u64{1} << 21;
constexpr u64 k1G = u64{1} << 30;
constexpr u64 k512G = u64{1} << 39;
constexpr u64 kLimit = DPT_VA_LIMIT;
constexpr u64 kPagesPer2M = 512;
constexpr u64 kPagesPer1G = 512 * 512;
constexpr u64 kMaxPfn = (u64{1} << 52) - 1;

inline u64 Bytes(unsigned int order) { return kPage << order; }
inline u64 Pages(unsigned int order) { return u64{1} << order; }

// The reference: entries by base address, with dpt.h's replacement rules.
struct ModelEntry {
  u64 pfn;
  unsigned int order;
  unsigned int flags;
};

class Model {
 public:
  // Remove every entry overlapping [start, end); returns pages removed.
  // With span, also the smallest range holding every entry removed
  // (span->start == span->end: nothing), as dpt_unmap_span() reports it.
  u64 Remove(u64 start, u64 end, dpt_span *span = nullptr) {
    u64 pages = 0;
    if (span)
      *span = dpt_span{0, 0};
    end = std::min(end, kLimit);
    if (start >= end)
      return 0;
    // No entry is larger than 1G, so none starting before this overlaps.
    u64 from = start >= k1G ? start - k1G + 1 : 0;
    for (auto it = entries_.lower_bound(from);
         it != entries_.end() && it->first < end;) {
      const u64 e_end = it->first + Bytes(it->second.order);
      if (e_end > start) {
        if (span) {
          if (span->start == span->end || it->first < span->start)
            span->start = it->first;
          span->end = std::max(span->end, e_end);
        }
        pages += Pages(it->second.order);
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
    return pages;
  }

  void Map(u64 va, u64 pfn, unsigned int order, unsigned int flags) {
    Remove(va, va + Bytes(order));
    entries_[va] = ModelEntry{pfn, order, flags};
  }

  // What dpt_map_pages() does with pages [from, to) of the run @w (words
  // made by dpt_page()) that starts at @va.
  void MapPages(u64 va, const std::vector<u64> &w, u64 from, u64 to) {
    for (u64 i = from; i < to; i++)
      Map(va + i * kPage, w[i] >> DPT_PAGE_SHIFT, DPT_ORDER_4K,
          static_cast<unsigned int>(w[i] & DPT_FLAGS_MASK));
  }

  bool Lookup(u64 va, dpt_entry *e) const {
    auto it = entries_.upper_bound(va);
    if (it == entries_.begin())
      return false;
    --it;
    if (va >= it->first + Bytes(it->second.order))
      return false;
    e->pfn = it->second.pfn + ((va - it->first) >> 12);
    e->flags = it->second.flags;
    e->order = it->second.order;
    return true;
  }

  // 4K pages of [start, end) (page aligned) that an entry maps.
  u64 Count(u64 start, u64 end) const {
    u64 pages = 0;
    end = std::min(end, kLimit);
    for (const auto &kv : entries_) {
      const u64 lo = std::max(start, kv.first);
      const u64 hi = std::min(end, kv.first + Bytes(kv.second.order));
      if (lo < hi)
        pages += (hi - lo) >> 12;
    }
    return pages;
  }

  u64 NrPages() const {
    u64 pages = 0;
    for (const auto &kv : entries_)
      pages += Pages(kv.second.order);
    return pages;
  }

  // Tables a minimal four-level table needs for these entries.
  u64 NrTables() const {
    std::set<std::pair<unsigned int, u64>> tables;
    for (const auto &kv : entries_) {
      unsigned int leaf_level = kv.second.order / 9;
      for (unsigned int level = leaf_level; level < 4; level++)
        tables.emplace(level, kv.first >> (12 + 9 * (level + 1)));
    }
    return tables.size();
  }

  const std::map<u64, ModelEntry> &entries() const { return entries_; }

 private:
  std::map<u64, ModelEntry> entries_;
};

// Random operations stay in three 2G windows: the bottom, across the first
// 512G boundary, the top.  Tables are shared, and every level's edges are
// near.
struct Window {
  u64 lo, hi;
};

const Window kWindows[] = {
    {0, 2 * k1G},
    {k512G - k1G, k512G + k1G},
    {kLimit - 2 * k1G, kLimit},
};

inline std::string Describe(u64 va, bool found, const dpt_entry &e) {
  std::ostringstream os;
  os << std::hex << "va 0x" << va << ": ";
  if (!found)
    os << "unmapped";
  else
    os << "pfn 0x" << e.pfn << std::dec << " order " << e.order
       << " flags " << e.flags;
  return os.str();
}

// Compare one page; returns "" or a description of the difference.
inline std::string Diff(const dpt &t, const Model &m, u64 va) {
  dpt_entry got{}, want{};
  bool g = dpt_lookup(&t, va, &got);
  bool w = m.Lookup(va, &want);
  if (g == w && (!g || (got.pfn == want.pfn && got.flags == want.flags &&
                        got.order == want.order)))
    return "";
  return "dpt " + Describe(va, g, got) + " / model " + Describe(va, w, want);
}

// Compare every page of [lo, hi); returns the number of differences and
// the first one in *first.
inline u64 SweepDiff(const dpt &t, const Model &m, u64 lo, u64 hi,
              std::string *first) {
  u64 bad = 0;
  for (u64 va = lo; va < hi; va += kPage) {
    std::string d = Diff(t, m, va);
    if (!d.empty() && bad++ == 0)
      *first = d;
  }
  return bad;
}

}  // namespace dpt_model

#endif  // HMM_TESTS_UNIT_DPT_MODEL_H
