// SPDX-License-Identifier: GPL-2.0 OR MIT
//
// dpt_fuzz.cc - libFuzzer target: the input is a program of device page
// table operations (map, map a run of pages, unmap, unmap with span, count,
// lookup, destroy, with allocation failures injected), run on core/dpt.c and
// on the reference model (tests/core/unit/dpt_model.h).  Any difference in a
// result, in the accounting or in what a page maps, aborts.
//
// Addresses fall in the model's three 2 GiB windows (kWindows), so that
// tables are shared and every level's edges are reached with few bytes of
// input.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "dpt_model.h"
#include "test_env.h"

using namespace dpt_model;  // NOLINT: the model is this file's vocabulary

namespace {

// Reads the input a field at a time; past its end every field is 0.
class Input {
 public:
  Input(const uint8_t *data, size_t size) : p_(data), end_(data + size) {}
  bool Done() const { return p_ >= end_; }
  u64 Bytes(unsigned int n) {
    u64 v = 0;
    for (unsigned int i = 0; i < n; i++)
      v = v << 8 | (p_ < end_ ? *p_++ : 0);
    return v;
  }
  u64 Byte() { return Bytes(1); }

 private:
  const uint8_t *p_;
  const uint8_t *end_;
};

[[noreturn]] void Fail(const std::string &what, int op) {
  std::fprintf(stderr, "dpt_fuzz: op %d: %s\n", op, what.c_str());
  std::abort();
}

void Check(bool ok, const std::string &what, int op) {
  if (!ok)
    Fail(what, op);
}

std::string Hex(u64 v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// An address of @win aligned to @order, from 4 input bytes.
u64 AddressIn(const Window &win, unsigned int order, Input *in) {
  const u64 slots = (win.hi - win.lo) >> (12 + order);
  return win.lo + (in->Bytes(4) % slots) * Bytes(order);
}

// Every page of [lo, hi) the same in both; the range is small.
void CheckRange(const dpt &t, const Model &m, u64 lo, u64 hi, int op) {
  std::string first;
  const u64 bad = SweepDiff(t, m, lo, std::min(hi, kLimit), &first);
  Check(bad == 0, std::to_string(bad) + " pages differ, first: " + first, op);
}

// The table count costs the model a pass over every entry: @tables asks
// for it.
void CheckAccounting(const dpt &t, const Model &m, int op, bool tables) {
  Check(t.nr_pages == m.NrPages(), "nr_pages " + std::to_string(t.nr_pages) +
        ", model " + std::to_string(m.NrPages()), op);
  Check(!tables || t.nr_tables == m.NrTables(), "nr_tables " +
        std::to_string(t.nr_tables) + ", model " +
        std::to_string(m.NrTables()), op);
  Check(test_alloc::Live() == t.nr_tables, "tables live " +
        std::to_string(test_alloc::Live()) + ", nr_tables " +
        std::to_string(t.nr_tables), op);
  Check(test_alloc::BadFrees() == 0, "a table freed wrongly", op);
}

// Let the map after this fail its allocation number @k, if @k < 4.
void MaybeInject(Input *in) {
  const u64 k = in->Byte();
  test_alloc::FailAfter(k < 4 ? static_cast<long>(k) : -1);
}

void OpMap(dpt *t, Model *m, const Window &win, Input *in, int op) {
  const u64 o = in->Byte() % 8;
  const unsigned int order = o < 5 ? DPT_ORDER_4K : o < 7 ? DPT_ORDER_2M
                                                          : DPT_ORDER_1G;
  const u64 va = AddressIn(win, order, in);
  u64 pfn = in->Bytes(5) & ~(Pages(order) - 1);
  if (pfn & (u64{1} << 39))  // now and then the largest frame
    pfn = kMaxPfn & ~(Pages(order) - 1);
  const unsigned int flags = static_cast<unsigned int>(in->Byte() % 4);
  MaybeInject(in);
  const u64 pages = t->nr_pages, tables = t->nr_tables;
  const int ret = dpt_map(t, va, pfn, order, flags);
  test_alloc::FailAfter(-1);
  if (ret == -ENOMEM) {
    Check(t->nr_pages == pages && t->nr_tables == tables,
          "a failed dpt_map() changed the accounting", op);
    CheckRange(*t, *m, va, va + std::min(Bytes(order), 4 * k2M), op);
    return;
  }
  Check(ret == 0, "dpt_map() returned " + std::to_string(ret), op);
  m->Map(va, pfn, order, flags);
  CheckRange(*t, *m, va >= kPage ? va - kPage : va,
             va + std::min(Bytes(order), k2M) + kPage, op);
}

void OpMapPages(dpt *t, Model *m, const Window &win, Input *in, int op) {
  const u64 n = 1 + in->Bytes(2) % 1100;
  const u64 va = win.lo + in->Bytes(4) % ((win.hi - win.lo) / kPage - n) * kPage;
  // The frames follow from a seed, so a run costs 3 bytes of input.
  u64 x = in->Bytes(2) * 0x9E3779B97F4A7C15ULL + 1;
  std::vector<u64> words(n);
  for (u64 i = 0; i < n; i++) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    words[i] = dpt_page((x >> 20) & kMaxPfn, static_cast<unsigned int>(x & 3));
  }
  MaybeInject(in);
  const int ret = dpt_map_pages(t, va, words.data(), n);
  test_alloc::FailAfter(-1);
  u64 done = n;
  if (ret == -ENOMEM) {
    // The pages before some 2M boundary are mapped, the rest unchanged.
    for (done = 0; done < n; done++) {
      dpt_entry e{};
      if (!dpt_lookup(t, va + done * kPage, &e) || e.order != 0 ||
          e.pfn != words[done] >> DPT_PAGE_SHIFT ||
          e.flags != (words[done] & DPT_FLAGS_MASK))
        break;
    }
    Check(done < n, "dpt_map_pages() failed but mapped everything", op);
    Check(done == 0 || (va + done * kPage) % k2M == 0,
          "dpt_map_pages() stopped at " + Hex(va + done * kPage) +
          ", not at a 2M boundary", op);
  } else {
    Check(ret == 0, "dpt_map_pages() returned " + std::to_string(ret), op);
  }
  m->MapPages(va, words, 0, done);
  CheckRange(*t, *m, va >= k2M ? va - k2M : 0, va + n * kPage + k2M, op);
}

void OpUnmap(dpt *t, Model *m, const Window &win, Input *in, int op,
             bool span) {
  u64 start = win.lo + in->Bytes(5) % (win.hi - win.lo);
  const u64 kind = in->Byte() % 4;
  u64 len = kind == 0 ? in->Bytes(2) : kind == 1 ? in->Bytes(3) << 8
                                                 : in->Bytes(4) << 2;
  if (kind == 3)  // table boundaries, a byte off or exact
    start &= ~(k2M - 1);
  u64 end = start + len;
  if (win.hi == kLimit && in->Byte() < 8)
    end = in->Byte() & 1 ? kLimit : ~u64{0};
  dpt_span got{}, want{};
  const u64 removed = span ? dpt_unmap_span(t, start, end, &got)
                           : dpt_unmap(t, start, end);
  const u64 expect = m->Remove(start, end, &want);
  Check(removed == expect, "unmap [" + Hex(start) + ", " + Hex(end) +
        ") removed " + std::to_string(removed) + ", model " +
        std::to_string(expect), op);
  if (span)
    Check(got.start == want.start && got.end == want.end,
          "span [" + Hex(got.start) + ", " + Hex(got.end) + "), model [" +
          Hex(want.start) + ", " + Hex(want.end) + ")", op);
  CheckRange(*t, *m, start & ~(kPage - 1),
             std::min(start + std::min(len, 4 * k2M), kLimit) + kPage, op);
}

void OpCount(const dpt &t, const Model &m, const Window &win, Input *in,
             int op) {
  const u64 lo = win.lo + in->Bytes(4) % ((win.hi - win.lo) / kPage) * kPage;
  const u64 len = in->Bytes(3) * kPage;
  const u64 hi = std::min(lo + len, win.hi);
  const u64 got = dpt_count(&t, lo, hi), want = m.Count(lo, hi);
  Check(got == want, "count [" + Hex(lo) + ", " + Hex(hi) + ") " +
        std::to_string(got) + ", model " + std::to_string(want), op);
}

void OpLookup(const dpt &t, const Model &m, const Window &win, Input *in,
              int op) {
  const u64 va = win.lo + in->Bytes(5) % (win.hi - win.lo);
  const std::string d = Diff(t, m, va);
  Check(d.empty(), d, op);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Input in(data, size);
  dpt t;
  Model m;
  test_alloc::Reset();
  dpt_init(&t);
  int op = 0;
  for (; !in.Done() && op < 2000; op++) {
    const u64 kind = in.Byte();
    const Window &win = kWindows[in.Byte() % 3];
    switch (kind % 16) {
      case 0: case 1: case 2: case 3: case 4:
        OpMap(&t, &m, win, &in, op);
        break;
      case 5: case 6: case 7:
        OpMapPages(&t, &m, win, &in, op);
        break;
      case 8: case 9: case 10:
        OpUnmap(&t, &m, win, &in, op, false);
        break;
      case 11: case 12:
        OpUnmap(&t, &m, win, &in, op, true);
        break;
      case 13:
        OpCount(t, m, win, &in, op);
        break;
      case 14:
        OpLookup(t, m, win, &in, op);
        break;
      default:
        if (kind & 0x80) {  // now and then, start again from nothing
          dpt_destroy(&t);
          m = Model();
          Check(t.root == 0 && t.nr_tables == 0, "destroy left tables", op);
        }
        break;
    }
    CheckAccounting(t, m, op, op % 16 == 0);
  }
  CheckAccounting(t, m, op, true);
  // Both ends of every entry, everything counted, then everything away.
  for (const auto &kv : m.entries()) {
    Check(Diff(t, m, kv.first).empty(), Diff(t, m, kv.first), op);
    const u64 last = kv.first + Bytes(kv.second.order) - 1;
    Check(Diff(t, m, last).empty(), Diff(t, m, last), op);
  }
  Check(dpt_count(&t, 0, kLimit) == m.NrPages(), "count of everything", op);
  Check(dpt_unmap(&t, 0, kLimit) == m.NrPages(), "unmap of everything", op);
  Check(t.root == 0 && t.nr_tables == 0 && t.nr_pages == 0,
        "unmap of everything left something", op);
  Check(test_alloc::Live() == 0, "tables leaked", op);
  return 0;
}
