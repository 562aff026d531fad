// SPDX-License-Identifier: GPL-2.0 OR MIT
//
// dpt_test.cc - unit tests of the device page table (core/dpt.c).
#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include "dpt_model.h"
#include "test_env.h"

extern "C" {
#include "dpt.h"
}

static_assert(std::is_same<u64, uint64_t>::value, "u64 must be uint64_t");

namespace {

using namespace dpt_model;  // NOLINT: the model is this file's vocabulary

class DptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test_alloc::Reset();
    dpt_init(&t_);
  }

  void TearDown() override {
    dpt_destroy(&t_);
    EXPECT_EQ(t_.nr_tables, 0u);
    EXPECT_EQ(t_.nr_pages, 0u);
    EXPECT_EQ(t_.root, 0u);
    EXPECT_EQ(test_alloc::Live(), 0u) << "tables leaked";
    EXPECT_EQ(test_alloc::BadFrees(), 0u);
  }

  void Map(u64 va, u64 pfn, unsigned int order, unsigned int flags = 0) {
    ASSERT_EQ(dpt_map(&t_, va, pfn, order, flags), 0)
        << std::hex << "va 0x" << va << " pfn 0x" << pfn << std::dec
        << " order " << order;
  }

  bool Lookup(u64 va, dpt_entry *e) { return dpt_lookup(&t_, va, e); }

  bool Mapped(u64 va) {
    dpt_entry e;
    return dpt_lookup(&t_, va, &e);
  }

  // nr_tables must always be what the allocator sees live.
  void ExpectAccounting(u64 tables, u64 pages) {
    EXPECT_EQ(t_.nr_tables, tables);
    EXPECT_EQ(t_.nr_pages, pages);
    EXPECT_EQ(test_alloc::Live(), t_.nr_tables);
  }

  dpt t_;
};

// ---------------------------------------------------------------- basics

TEST_F(DptTest, EmptyTableMapsNothing) {
  dpt_entry e{0x1234, 7, 3};
  for (u64 va : {u64{0}, u64{1}, kPage, k2M, k1G, k512G, kLimit - kPage,
                 kLimit - 1, kLimit, ~u64{0}})
    EXPECT_FALSE(Lookup(va, &e)) << std::hex << va;
  // A failed lookup leaves the entry alone.
  EXPECT_EQ(e.pfn, 0x1234u);
  EXPECT_EQ(e.flags, 7u);
  EXPECT_EQ(e.order, 3u);
  EXPECT_EQ(dpt_unmap(&t_, 0, kLimit), 0u);
  EXPECT_EQ(dpt_unmap(&t_, 0, ~u64{0}), 0u);
  ExpectAccounting(0, 0);
  EXPECT_EQ(t_.root, 0u);
  EXPECT_EQ(test_alloc::Allocs(), 0u);
}

TEST_F(DptTest, InitClearsEverything) {
  dpt t;
  t.root = 1;
  t.nr_tables = 2;
  t.nr_pages = 3;
  dpt_init(&t);
  EXPECT_EQ(t.root, 0u);
  EXPECT_EQ(t.nr_tables, 0u);
  EXPECT_EQ(t.nr_pages, 0u);
}

TEST_F(DptTest, Map4KAndLookup) {
  const u64 va = 0x7f12'3456'7000;
  Map(va, 0xabcde, DPT_ORDER_4K, DPT_WRITE);
  ExpectAccounting(4, 1);

  dpt_entry e{};
  ASSERT_TRUE(Lookup(va, &e));
  EXPECT_EQ(e.pfn, 0xabcdeu);
  EXPECT_EQ(e.flags, unsigned{DPT_WRITE});
  EXPECT_EQ(e.order, unsigned{DPT_ORDER_4K});
  // Any byte of the page finds it.
  ASSERT_TRUE(Lookup(va + kPage - 1, &e));
  EXPECT_EQ(e.pfn, 0xabcdeu);
  ASSERT_TRUE(Lookup(va + 0x123, &e));
  EXPECT_EQ(e.pfn, 0xabcdeu);
  // Neighbours, and the same index in other tables, are unmapped.
  EXPECT_FALSE(Mapped(va - kPage));
  EXPECT_FALSE(Mapped(va + kPage));
  EXPECT_FALSE(Mapped(va ^ k2M));
  EXPECT_FALSE(Mapped(va ^ k1G));
  EXPECT_FALSE(Mapped(va ^ k512G));
}

TEST_F(DptTest, FlagsRoundTrip) {
  const unsigned int all[] = {0,
                              DPT_WRITE,
                              DPT_ZERO,
                              DPT_WRITE | DPT_ZERO,
                              DPT_ATOMIC,
                              DPT_WRITE | DPT_ATOMIC,
                              DPT_WRITE | DPT_ZERO | DPT_ATOMIC};
  const unsigned int n = sizeof(all) / sizeof(all[0]);
  for (unsigned int i = 0; i < n; i++) {
    Map(i * kPage, 100 + i, DPT_ORDER_4K, all[i]);
    Map(k2M * (i + 1), 512 * (i + 1), DPT_ORDER_2M, all[i]);
    Map(k1G * (i + 1), kPagesPer1G * (i + 1), DPT_ORDER_1G, all[i]);
  }
  // dpt_map_pages() carries the same flags.
  std::vector<u64> pages;
  for (unsigned int i = 0; i < n; i++) pages.push_back(dpt_page(200 + i, all[i]));
  ASSERT_EQ(dpt_map_pages(&t_, 64 * kPage, pages.data(), n), 0);
  for (unsigned int i = 0; i < n; i++) {
    dpt_entry e{};
    ASSERT_TRUE(Lookup((64 + i) * kPage, &e));
    EXPECT_EQ(e.flags, all[i]);
    EXPECT_EQ(e.pfn, 200 + i);
  }
  for (unsigned int i = 0; i < n; i++) {
    dpt_entry e{};
    ASSERT_TRUE(Lookup(i * kPage, &e));
    EXPECT_EQ(e.flags, all[i]);
    EXPECT_EQ(e.pfn, 100 + i);
    ASSERT_TRUE(Lookup(k2M * (i + 1) + 5 * kPage, &e));
    EXPECT_EQ(e.flags, all[i]);
    EXPECT_EQ(e.pfn, 512 * (i + 1) + 5);
    ASSERT_TRUE(Lookup(k1G * (i + 1) + 7 * kPage, &e));
    EXPECT_EQ(e.flags, all[i]);
    EXPECT_EQ(e.pfn, kPagesPer1G * (i + 1) + 7);
  }
}

TEST_F(DptTest, LargestPfnFits) {
  Map(0, kMaxPfn, DPT_ORDER_4K, DPT_WRITE | DPT_ZERO);
  Map(k2M, kMaxPfn & ~(kPagesPer2M - 1), DPT_ORDER_2M);
  Map(k1G, kMaxPfn & ~(kPagesPer1G - 1), DPT_ORDER_1G, DPT_WRITE);
  dpt_entry e{};
  ASSERT_TRUE(Lookup(0, &e));
  EXPECT_EQ(e.pfn, kMaxPfn);
  EXPECT_EQ(e.flags, unsigned{DPT_WRITE | DPT_ZERO});
  ASSERT_TRUE(Lookup(2 * k2M - kPage, &e));
  EXPECT_EQ(e.pfn, kMaxPfn);
  EXPECT_EQ(e.order, unsigned{DPT_ORDER_2M});
  ASSERT_TRUE(Lookup(2 * k1G - kPage, &e));
  EXPECT_EQ(e.pfn, kMaxPfn);
  EXPECT_EQ(e.flags, unsigned{DPT_WRITE});
}

TEST_F(DptTest, Map2MEverySubPage) {
  const u64 va = 5 * k1G + 17 * k2M;
  const u64 pfn = 0x40000;
  Map(va, pfn, DPT_ORDER_2M, DPT_WRITE);
  ExpectAccounting(3, kPagesPer2M);
  for (u64 i = 0; i < kPagesPer2M; i++) {
    dpt_entry e{};
    ASSERT_TRUE(Lookup(va + i * kPage, &e)) << i;
    ASSERT_EQ(e.pfn, pfn + i);
    ASSERT_EQ(e.order, unsigned{DPT_ORDER_2M});
    ASSERT_EQ(e.flags, unsigned{DPT_WRITE});
  }
  EXPECT_FALSE(Mapped(va - kPage));
  EXPECT_FALSE(Mapped(va + k2M));
}

TEST_F(DptTest, Map1GEverySubPage) {
  const u64 va = 3 * k512G + 7 * k1G;
  const u64 pfn = 5 * kPagesPer1G;
  Map(va, pfn, DPT_ORDER_1G, DPT_ZERO);
  ExpectAccounting(2, kPagesPer1G);
  for (u64 i = 0; i < kPagesPer1G; i++) {
    dpt_entry e{};
    ASSERT_TRUE(Lookup(va + i * kPage, &e)) << i;
    ASSERT_EQ(e.pfn, pfn + i);
    ASSERT_EQ(e.order, unsigned{DPT_ORDER_1G});
    ASSERT_EQ(e.flags, unsigned{DPT_ZERO});
  }
  EXPECT_FALSE(Mapped(va - kPage));
  EXPECT_FALSE(Mapped(va + k1G));
}

TEST_F(DptTest, RemapSameEntryReplacesIt) {
  Map(k2M, 1, DPT_ORDER_4K, DPT_WRITE);
  Map(k2M, 2, DPT_ORDER_4K, DPT_ZERO);
  Map(k1G, 512, DPT_ORDER_2M);
  Map(k1G, 1024, DPT_ORDER_2M, DPT_WRITE);
  Map(k512G, kPagesPer1G, DPT_ORDER_1G);
  Map(k512G, 2 * kPagesPer1G, DPT_ORDER_1G, DPT_WRITE);
  // root, level 2, level 1 x2, leaf; level 2 for 512G
  ExpectAccounting(6, 1 + kPagesPer2M + kPagesPer1G);
  dpt_entry e{};
  ASSERT_TRUE(Lookup(k2M, &e));
  EXPECT_EQ(e.pfn, 2u);
  EXPECT_EQ(e.flags, unsigned{DPT_ZERO});
  ASSERT_TRUE(Lookup(k1G + kPage, &e));
  EXPECT_EQ(e.pfn, 1025u);
  EXPECT_EQ(e.flags, unsigned{DPT_WRITE});
  ASSERT_TRUE(Lookup(k512G + kPage, &e));
  EXPECT_EQ(e.pfn, 2 * kPagesPer1G + 1);
  EXPECT_EQ(e.flags, unsigned{DPT_WRITE});
}

// ---------------------------------------------------------- replacement

TEST_F(DptTest, HugeOver4KTableFreesIt) {
  const u64 base = 4 * k1G + 6 * k2M;
  for (u64 i = 0; i < 10; i++)
    Map(base + i * 37 * kPage, 1000 + i, DPT_ORDER_4K);
  Map(base + k2M, 9, DPT_ORDER_4K);  // next 2M: a second leaf table
  ExpectAccounting(5, 11);

  Map(base, 0x200, DPT_ORDER_2M, DPT_WRITE);
  ExpectAccounting(4, kPagesPer2M + 1);
  for (u64 i = 0; i < kPagesPer2M; i++) {
    dpt_entry e{};
    ASSERT_TRUE(Lookup(base + i * kPage, &e));
    ASSERT_EQ(e.pfn, 0x200 + i);
    ASSERT_EQ(e.order, unsigned{DPT_ORDER_2M});
  }
  dpt_entry e{};
  ASSERT_TRUE(Lookup(base + k2M, &e));
  EXPECT_EQ(e.pfn, 9u);
}

TEST_F(DptTest, HugeOverDirectoryFreesSubtree) {
  const u64 base = 9 * k1G;
  Map(base, 1, DPT_ORDER_4K);
  Map(base + 3 * k2M + 5 * kPage, 2, DPT_ORDER_4K);
  Map(base + 8 * k2M, 512, DPT_ORDER_2M);
  Map(base + k1G - kPage, 3, DPT_ORDER_4K);
  Map(base + k1G, 4, DPT_ORDER_4K);  // next 1G, stays
  // root, L2, L1 x2, L0 x4 (three under base's L1, one under the next)
  ExpectAccounting(8, 3 + kPagesPer2M + 1);

  Map(base, 2 * kPagesPer1G, DPT_ORDER_1G);
  ExpectAccounting(4, kPagesPer1G + 1);
  dpt_entry e{};
  ASSERT_TRUE(Lookup(base + 3 * k2M + 5 * kPage, &e));
  EXPECT_EQ(e.pfn, 2 * kPagesPer1G + 3 * 512 + 5);
  EXPECT_EQ(e.order, unsigned{DPT_ORDER_1G});
  ASSERT_TRUE(Lookup(base + k1G, &e));
  EXPECT_EQ(e.pfn, 4u);
  EXPECT_EQ(e.order, unsigned{DPT_ORDER_4K});
}

TEST_F(DptTest, SmallInsideHugeRemovesHugeWhole) {
  const u64 base = 2 * k1G;
  Map(base, 0x1000, DPT_ORDER_2M, DPT_WRITE);
  ExpectAccounting(3, kPagesPer2M);
  Map(base + 100 * kPage, 7, DPT_ORDER_4K);
  ExpectAccounting(4, 1);
  dpt_entry e{};
  ASSERT_TRUE(Lookup(base + 100 * kPage, &e));
  EXPECT_EQ(e.pfn, 7u);
  EXPECT_EQ(e.order, unsigned{DPT_ORDER_4K});
  EXPECT_FALSE(Mapped(base));
  EXPECT_FALSE(Mapped(base + 99 * kPage));
  EXPECT_FALSE(Mapped(base + 101 * kPage));
  EXPECT_FALSE(Mapped(base + k2M - kPage));
}

TEST_F(DptTest, SmallInside1GRemoves1GWhole) {
  const u64 base = k512G + 3 * k1G;
  Map(base, kPagesPer1G, DPT_ORDER_1G);
  Map(base + 5 * k2M + 3 * kPage, 7, DPT_ORDER_4K);
  ExpectAccounting(4, 1);
  EXPECT_FALSE(Mapped(base));
  EXPECT_FALSE(Mapped(base + 5 * k2M));
  EXPECT_TRUE(Mapped(base + 5 * k2M + 3 * kPage));

  Map(base + k1G, 2 * kPagesPer1G, DPT_ORDER_1G);
  Map(base + k1G + 9 * k2M, 512, DPT_ORDER_2M);
  ExpectAccounting(4 + 1, 1 + kPagesPer2M);
  dpt_entry e{};
  ASSERT_TRUE(Lookup(base + k1G + 9 * k2M + kPage, &e));
  EXPECT_EQ(e.pfn, 513u);
  EXPECT_EQ(e.order, unsigned{DPT_ORDER_2M});
  EXPECT_FALSE(Mapped(base + k1G));
}

// ---------------------------------------------------------------- unmap

TEST_F(DptTest, CountCountsPagesInsideTheRange) {
  EXPECT_EQ(dpt_count(&t_, 0, kLimit), 0u);
  Map(k1G + 5 * kPage, 100, DPT_ORDER_4K);
  Map(k1G + 6 * kPage, 101, DPT_ORDER_4K);
  Map(k1G + k2M, 512, DPT_ORDER_2M);
  Map(4 * k1G, 0, DPT_ORDER_1G);
  EXPECT_EQ(dpt_count(&t_, 0, kLimit), 2 + 512 + kPagesPer1G);
  EXPECT_EQ(dpt_count(&t_, k1G, k1G + 6 * kPage), 1u);
  EXPECT_EQ(dpt_count(&t_, k1G + 6 * kPage, k1G + 7 * kPage), 1u);
  // Only the part of a huge entry inside the range counts.
  EXPECT_EQ(dpt_count(&t_, k1G + 6 * kPage, k1G + k2M + 3 * kPage), 1u + 3);
  EXPECT_EQ(dpt_count(&t_, 4 * k1G + k1G - kPage, 5 * k1G + k2M), 1u);
  EXPECT_EQ(dpt_count(&t_, k1G + k2M + kPage, k1G + 2 * k2M - kPage), 510u);
  // Empty and inverted ranges, and an end past the address space.
  EXPECT_EQ(dpt_count(&t_, k1G + 5 * kPage, k1G + 5 * kPage), 0u);
  EXPECT_EQ(dpt_count(&t_, k1G + 7 * kPage, k1G), 0u);
  EXPECT_EQ(dpt_count(&t_, 4 * k1G, ~u64{0}), kPagesPer1G);
}

TEST_F(DptTest, TablesEmptiedEntryByEntryAreFreedZeroed) {
  // Four pages in one leaf table: unmapping them empties it entry by entry,
  // and its three directory tables the same way.
  for (u64 i = 0; i < 4; i++)
    Map(k1G + i * kPage, i, DPT_ORDER_4K);
  EXPECT_EQ(dpt_unmap(&t_, k1G, k1G + 4 * kPage), 4u);
  EXPECT_EQ(test_alloc::Frees(), 4u);
  EXPECT_EQ(test_alloc::ZeroedFrees(), 4u);
  // A leaf table the range covers whole is dropped unread, so stale.
  for (u64 i = 0; i < 512; i++)
    Map(k1G + i * kPage, i, DPT_ORDER_4K);
  Map(k1G + k2M, 512, DPT_ORDER_4K);
  EXPECT_EQ(dpt_unmap(&t_, k1G, k1G + k2M), 512u);
  EXPECT_EQ(test_alloc::Frees(), 5u);
  EXPECT_EQ(test_alloc::ZeroedFrees(), 4u);
  EXPECT_EQ(test_alloc::BadFrees(), 0u);
}

TEST_F(DptTest, UnmapSinglePages) {
  const u64 base = 0x5555'5540'0000;
  for (u64 i = 0; i < 8; i++)
    Map(base + i * kPage, 10 + i, DPT_ORDER_4K);
  ExpectAccounting(4, 8);
  EXPECT_EQ(dpt_unmap(&t_, base + 3 * kPage, base + 4 * kPage), 1u);
  EXPECT_FALSE(Mapped(base + 3 * kPage));
  EXPECT_TRUE(Mapped(base + 2 * kPage));
  EXPECT_TRUE(Mapped(base + 4 * kPage));
  ExpectAccounting(4, 7);
  // Unmapping it again removes nothing.
  EXPECT_EQ(dpt_unmap(&t_, base + 3 * kPage, base + 4 * kPage), 0u);
  for (u64 i = 0; i < 8; i++) {
    if (i != 3) {
      EXPECT_EQ(dpt_unmap(&t_, base + i * kPage, base + (i + 1) * kPage), 1u);
    }
  }
  // The last page out frees the whole path.
  ExpectAccounting(0, 0);
  EXPECT_EQ(t_.root, 0u);
}

TEST_F(DptTest, UnmapUnalignedBounds) {
  Map(k2M, 1, DPT_ORDER_4K);
  Map(k2M + kPage, 2, DPT_ORDER_4K);
  Map(k2M + 2 * kPage, 3, DPT_ORDER_4K);
  // Any overlap counts: one byte of each end page.
  EXPECT_EQ(dpt_unmap(&t_, k2M + kPage - 1, k2M + kPage + 1), 2u);
  EXPECT_FALSE(Mapped(k2M));
  EXPECT_FALSE(Mapped(k2M + kPage));
  EXPECT_TRUE(Mapped(k2M + 2 * kPage));
  EXPECT_EQ(dpt_unmap(&t_, k2M + 2 * kPage + 4095, k2M + 2 * kPage + 4096),
            1u);
  ExpectAccounting(0, 0);
}

TEST_F(DptTest, UnmapEmptyRanges) {
  Map(k2M, 1, DPT_ORDER_4K);
  Map(k1G, 512, DPT_ORDER_2M);
  EXPECT_EQ(dpt_unmap(&t_, k2M, k2M), 0u);
  EXPECT_EQ(dpt_unmap(&t_, k1G + kPage, k1G), 0u);
  EXPECT_EQ(dpt_unmap(&t_, kLimit, ~u64{0}), 0u);
  EXPECT_EQ(dpt_unmap(&t_, ~u64{0}, 0), 0u);
  EXPECT_EQ(dpt_unmap(&t_, k2M + kPage, k1G), 0u);  // the gap
  ExpectAccounting(5, 1 + kPagesPer2M);
}

// Pages [B - 4, B + 4) around table boundary B, unmapped with both ends at
// and one or two pages off B.
TEST_F(DptTest, UnmapRangeEdgesAtTableBoundaries) {
  const u64 boundaries[] = {k2M, 7 * k2M, k1G, 5 * k1G, k512G, 3 * k512G,
                            kLimit - k512G, kLimit - k1G, kLimit - k2M};
  const long offs[] = {-2, -1, 0, 1, 2};
  for (u64 b : boundaries) {
    for (long so : offs) {
      for (long eo : offs) {
        SCOPED_TRACE(testing::Message() << std::hex << "boundary 0x" << b
                                        << std::dec << " start " << so
                                        << " end " << eo);
        dpt t;
        Model m;
        dpt_init(&t);
        for (u64 va = b - 4 * kPage; va < b + 4 * kPage; va += kPage) {
          ASSERT_EQ(dpt_map(&t, va, va >> 12, DPT_ORDER_4K, 0), 0);
          m.Map(va, va >> 12, DPT_ORDER_4K, 0);
        }
        u64 start = b + so * static_cast<long>(kPage);
        u64 end = b + eo * static_cast<long>(kPage);
        u64 want = m.Remove(start, end);
        EXPECT_EQ(want, start < end ? (end - start) / kPage : 0);
        EXPECT_EQ(dpt_unmap(&t, start, end), want);
        std::string first;
        EXPECT_EQ(SweepDiff(t, m, b - 8 * kPage, b + 8 * kPage, &first), 0u)
            << first;
        EXPECT_EQ(t.nr_pages, m.NrPages());
        EXPECT_EQ(t.nr_tables, m.NrTables());
        EXPECT_EQ(test_alloc::Live(), t.nr_tables);
        dpt_destroy(&t);
        EXPECT_EQ(test_alloc::Live(), 0u);
      }
    }
  }
}

// 2M entries on both sides of a 1G boundary and 1G entries on both sides
// of a 512G boundary: a small range across the boundary takes both.
TEST_F(DptTest, UnmapAcrossBoundaryTakesBothHugeNeighbours) {
  Map(k1G - k2M, 0x200, DPT_ORDER_2M);
  Map(k1G, 0x400, DPT_ORDER_2M);
  Map(k1G + k2M, 0x600, DPT_ORDER_2M);
  EXPECT_EQ(dpt_unmap(&t_, k1G - kPage, k1G + kPage), 2 * kPagesPer2M);
  EXPECT_FALSE(Mapped(k1G - k2M));
  EXPECT_FALSE(Mapped(k1G));
  EXPECT_TRUE(Mapped(k1G + k2M));
  ExpectAccounting(3, kPagesPer2M);
  EXPECT_EQ(dpt_unmap(&t_, 0, kLimit), kPagesPer2M);

  Map(k512G - k1G, kPagesPer1G, DPT_ORDER_1G);
  Map(k512G, 2 * kPagesPer1G, DPT_ORDER_1G);
  ExpectAccounting(3, 2 * kPagesPer1G);
  EXPECT_EQ(dpt_unmap(&t_, k512G - 1, k512G + 1), 2 * kPagesPer1G);
  ExpectAccounting(0, 0);
}

TEST_F(DptTest, FirstAndLastPageOfAddressSpace) {
  Map(0, 1, DPT_ORDER_4K);
  Map(kLimit - kPage, 2, DPT_ORDER_4K, DPT_WRITE);
  ExpectAccounting(7, 2);  // shared root, separate 3-table paths
  dpt_entry e{};
  ASSERT_TRUE(Lookup(0, &e));
  EXPECT_EQ(e.pfn, 1u);
  ASSERT_TRUE(Lookup(kLimit - 1, &e));
  EXPECT_EQ(e.pfn, 2u);
  EXPECT_FALSE(Lookup(kLimit, &e));
  EXPECT_FALSE(Mapped(kPage));
  EXPECT_FALSE(Mapped(kLimit - 2 * kPage));

  EXPECT_EQ(dpt_unmap(&t_, kLimit - kPage, kLimit), 1u);
  ExpectAccounting(4, 1);
  EXPECT_EQ(dpt_unmap(&t_, 0, kPage), 1u);
  ExpectAccounting(0, 0);

  // Huge entries at the very end, unmapped with end beyond the limit.
  Map(kLimit - k1G, kPagesPer1G, DPT_ORDER_1G);
  Map(kLimit - k1G - k2M, 512, DPT_ORDER_2M);
  ASSERT_TRUE(Lookup(kLimit - kPage, &e));
  EXPECT_EQ(e.pfn, 2 * kPagesPer1G - 1);
  EXPECT_EQ(dpt_unmap(&t_, kLimit - kPage, ~u64{0}), kPagesPer1G);
  EXPECT_EQ(dpt_unmap(&t_, kLimit - k1G - kPage, kLimit + k1G),
            kPagesPer2M);
  ExpectAccounting(0, 0);

  // The whole space at once.
  Map(0, 1, DPT_ORDER_4K);
  Map(kLimit - k2M, 512, DPT_ORDER_2M);
  EXPECT_EQ(dpt_unmap(&t_, 0, kLimit), 1 + kPagesPer2M);
  ExpectAccounting(0, 0);
}

TEST_F(DptTest, PartialUnmapOfHugeRemovesItWhole) {
  Map(k1G + 4 * k2M, 0x800, DPT_ORDER_2M, DPT_WRITE);
  EXPECT_EQ(dpt_unmap(&t_, k1G + 4 * k2M + 100 * kPage,
                      k1G + 4 * k2M + 101 * kPage),
            kPagesPer2M);
  EXPECT_FALSE(Mapped(k1G + 4 * k2M));
  EXPECT_FALSE(Mapped(k1G + 5 * k2M - kPage));
  ExpectAccounting(0, 0);

  Map(7 * k1G, 3 * kPagesPer1G, DPT_ORDER_1G);
  EXPECT_EQ(dpt_unmap(&t_, 7 * k1G + k2M, 7 * k1G + k2M + kPage),
            kPagesPer1G);
  ExpectAccounting(0, 0);

  // The last page only.
  Map(7 * k1G, 3 * kPagesPer1G, DPT_ORDER_1G);
  EXPECT_EQ(dpt_unmap(&t_, 8 * k1G - kPage, 8 * k1G), kPagesPer1G);
  ExpectAccounting(0, 0);
}

// ---------------------------------------------------- table accounting

TEST_F(DptTest, FullyCoveredLeafTableIsFreed) {
  for (u64 i = 0; i < kPagesPer2M + 3; i++)
    Map(i * kPage, i, DPT_ORDER_4K);
  ExpectAccounting(5, kPagesPer2M + 3);
  EXPECT_EQ(dpt_unmap(&t_, 0, k2M), kPagesPer2M);
  ExpectAccounting(4, 3);
  EXPECT_EQ(dpt_unmap(&t_, k2M, k2M + 3 * kPage), 3u);
  ExpectAccounting(0, 0);
}

TEST_F(DptTest, DenseGigabyteCostsExactTables) {
  const u64 base = 2 * k512G + 5 * k1G;
  for (u64 i = 0; i < kPagesPer1G; i++)
    Map(base + i * kPage, 0x100000 + i, DPT_ORDER_4K, DPT_WRITE);
  // root + level 2 + level 1 + 512 leaf tables of 4K each.
  ExpectAccounting(3 + 512, kPagesPer1G);
  EXPECT_EQ(test_alloc::Allocs(), 3u + 512);
  for (u64 i = 0; i < kPagesPer1G; i += 4097) {
    dpt_entry e{};
    ASSERT_TRUE(Lookup(base + i * kPage, &e));
    EXPECT_EQ(e.pfn, 0x100000 + i);
  }
  EXPECT_EQ(dpt_unmap(&t_, base, base + k1G), kPagesPer1G);
  ExpectAccounting(0, 0);
  EXPECT_EQ(test_alloc::Frees(), 3u + 512);
}

TEST_F(DptTest, UnmapEverythingFreesEveryTable) {
  const u64 vas[] = {0, k2M + kPage, 3 * k1G, k512G + k2M, kLimit - kPage};
  for (u64 va : vas)
    Map(va, 1, DPT_ORDER_4K);
  Map(10 * k1G, 512, DPT_ORDER_2M);
  Map(20 * k1G, kPagesPer1G, DPT_ORDER_1G);
  EXPECT_GT(t_.nr_tables, 0u);
  EXPECT_EQ(test_alloc::Live(), t_.nr_tables);
  EXPECT_EQ(dpt_unmap(&t_, 0, kLimit), 5 + kPagesPer2M + kPagesPer1G);
  ExpectAccounting(0, 0);
  EXPECT_EQ(t_.root, 0u);
  for (u64 va : vas)
    EXPECT_FALSE(Mapped(va));
}

// Map a dense gigabyte with every leaf table but the first on its own
// inaccessible page: dropping them whole must not read them.
class DptGuardTest : public DptTest {
 protected:
  static constexpr u64 kBase = 3 * k512G + 4 * k1G;

  void FillAndProtect() {
    if (sysconf(_SC_PAGESIZE) != 4096)
      GTEST_SKIP() << "needs 4K host pages";
    test_alloc::SetGuardMode(true);
    for (u64 chunk = 0; chunk < 512; chunk++) {
      size_t before = test_alloc::Log().size();
      for (u64 i = 0; i < kPagesPer2M; i++)
        Map(kBase + chunk * k2M + i * kPage, chunk * 512 + i, DPT_ORDER_4K);
      size_t added = test_alloc::Log().size() - before;
      if (chunk == 0) {
        ASSERT_EQ(added, 4u);
        continue;
      }
      ASSERT_EQ(added, 1u);  // this chunk's leaf table
      leaves_.push_back(test_alloc::Log().back());
    }
    ExpectAccounting(3 + 512, kPagesPer1G);
    for (void *leaf : leaves_)
      test_alloc::Protect(leaf);
  }

  std::vector<void *> leaves_;
};

TEST_F(DptGuardTest, UnmapDropsCoveredLeafTablesUnread) {
  FillAndProtect();
  if (IsSkipped() || HasFatalFailure())
    return;
  // Covers all leaf tables but the first, which it only clips.
  EXPECT_EQ(dpt_unmap(&t_, kBase + kPage, kBase + k1G), kPagesPer1G - 1);
  ExpectAccounting(4, 1);
  EXPECT_TRUE(Mapped(kBase));
  EXPECT_FALSE(Mapped(kBase + kPage));
}

TEST_F(DptGuardTest, HugeMapDropsLeafTablesUnread) {
  FillAndProtect();
  if (IsSkipped() || HasFatalFailure())
    return;
  Map(kBase, 7 * kPagesPer1G, DPT_ORDER_1G);
  ExpectAccounting(2, kPagesPer1G);
  dpt_entry e{};
  ASSERT_TRUE(Lookup(kBase + k2M, &e));
  EXPECT_EQ(e.pfn, 7 * kPagesPer1G + 512);
}

TEST_F(DptGuardTest, CountReadsNoCoveredLeafTable) {
  FillAndProtect();
  if (IsSkipped() || HasFatalFailure())
    return;
  EXPECT_EQ(dpt_count(&t_, kBase, kBase + k1G), kPagesPer1G);
  EXPECT_EQ(dpt_count(&t_, kBase + 2 * k2M, kBase + 7 * k2M), 5 * u64{512});
  EXPECT_EQ(dpt_count(&t_, 0, kLimit), kPagesPer1G);
}

TEST_F(DptGuardTest, DestroyDropsLeafTablesUnread) {
  FillAndProtect();
  if (IsSkipped() || HasFatalFailure())
    return;
  dpt_destroy(&t_);
  ExpectAccounting(0, 0);
}

// ------------------------------------------------------- invalid input

TEST_F(DptTest, InvalidArgumentsChangeNothing) {
  Map(k1G, 1, DPT_ORDER_4K);
  const u64 allocs = test_alloc::Allocs();
  struct Case {
    u64 va, pfn;
    unsigned int order, flags;
  } cases[] = {
      {1, 0, DPT_ORDER_4K, 0},                   // va not page aligned
      {k1G + 0x800, 0, DPT_ORDER_4K, 0},         // va not page aligned
      {kPage, 0, DPT_ORDER_2M, 0},               // va not 2M aligned
      {k2M - kPage, 0, DPT_ORDER_2M, 0},         // va not 2M aligned
      {k2M, 0, DPT_ORDER_1G, 0},                 // va not 1G aligned
      {k1G + k2M, 0, DPT_ORDER_1G, 0},           // va not 1G aligned
      {k2M, 1, DPT_ORDER_2M, 0},                 // pfn not 2M aligned
      {k2M, 256, DPT_ORDER_2M, 0},               // pfn not 2M aligned
      {k1G, 512, DPT_ORDER_1G, 0},               // pfn not 1G aligned
      {0, 0, 1, 0},                              // bad orders
      {0, 0, 8, 0},
      {0, 0, 10, 0},
      {0, 0, 12, 0},
      {0, 0, 27, 0},
      {0, 0, 64, 0},
      {0, 0, ~0u, 0},
      {0, 0, DPT_ORDER_4K, 0x4},                 // unknown flags
      {0, 0, DPT_ORDER_4K, 0x80000000u},
      {0, 0, DPT_ORDER_4K, ~0u},
      {kLimit, 0, DPT_ORDER_4K, 0},              // beyond the space
      {kLimit, 0, DPT_ORDER_2M, 0},
      {kLimit, 0, DPT_ORDER_1G, 0},
      {kLimit + k1G, 0, DPT_ORDER_1G, 0},
      {~u64{0} & ~(kPage - 1), 0, DPT_ORDER_4K, 0},
      {u64{1} << 63, 0, DPT_ORDER_4K, 0},
      {0, kMaxPfn + 1, DPT_ORDER_4K, 0},         // pfn too large
      {0, ~u64{0}, DPT_ORDER_4K, 0},
      {0, u64{1} << 63, DPT_ORDER_2M, 0},
  };
  for (const Case &c : cases) {
    EXPECT_EQ(dpt_map(&t_, c.va, c.pfn, c.order, c.flags), -EINVAL)
        << std::hex << "va 0x" << c.va << " pfn 0x" << c.pfn << std::dec
        << " order " << c.order << " flags " << c.flags;
  }
  EXPECT_EQ(test_alloc::Allocs(), allocs);
  ExpectAccounting(4, 1);
  dpt_entry e{};
  ASSERT_TRUE(Lookup(k1G, &e));
  EXPECT_EQ(e.pfn, 1u);
  EXPECT_FALSE(Mapped(0));
  EXPECT_FALSE(Mapped(k2M));
}

// ---------------------------------------------------------------- ENOMEM

struct OomCase {
  const char *name;
  u64 va, pfn;
  unsigned int order;
  unsigned int allocs;  // tables the map needs
};

class DptOomTest : public DptTest {
 protected:
  // Existing content: 4K pages at 0 and 5G, a 2M entry at 1G + 2M and a
  // 1G entry at 2G.
  void Populate(Model *m) {
    Map(0, 1, DPT_ORDER_4K);
    m->Map(0, 1, DPT_ORDER_4K, 0);
    Map(5 * k1G, 2, DPT_ORDER_4K, DPT_WRITE);
    m->Map(5 * k1G, 2, DPT_ORDER_4K, DPT_WRITE);
    Map(k1G + k2M, 512, DPT_ORDER_2M);
    m->Map(k1G + k2M, 512, DPT_ORDER_2M, 0);
    Map(2 * k1G, kPagesPer1G, DPT_ORDER_1G, DPT_ZERO);
    m->Map(2 * k1G, kPagesPer1G, DPT_ORDER_1G, DPT_ZERO);
  }

  void ExpectSame(const Model &m) {
    EXPECT_EQ(t_.nr_pages, m.NrPages());
    EXPECT_EQ(t_.nr_tables, m.NrTables());
    EXPECT_EQ(test_alloc::Live(), t_.nr_tables);
    // 8M around everything Populate() and the cases touch.
    for (u64 at : {u64{0}, k1G, 2 * k1G, 3 * k1G, 5 * k1G, k512G}) {
      std::string first;
      u64 lo = at >= 4 * k2M ? at - 4 * k2M : 0;
      EXPECT_EQ(SweepDiff(t_, m, lo, lo + 8 * k2M, &first), 0u) << first;
    }
  }
};

TEST_F(DptOomTest, FailedMapLeavesTableUnchanged) {
  const OomCase cases[] = {
      {"4K in a new top-level slot", k512G, 9, DPT_ORDER_4K, 3},
      {"2M in a new top-level slot", k512G, 512, DPT_ORDER_2M, 2},
      {"1G in a new top-level slot", k512G, kPagesPer1G, DPT_ORDER_1G, 1},
      {"4K in a new 1G slot", 3 * k1G, 9, DPT_ORDER_4K, 2},
      {"4K in a new 2M slot", 8 * k2M, 9, DPT_ORDER_4K, 1},
      {"4K inside a 2M entry", k1G + k2M + kPage, 9, DPT_ORDER_4K, 1},
      {"4K inside a 1G entry", 2 * k1G + kPage, 9, DPT_ORDER_4K, 2},
      {"2M inside a 1G entry", 2 * k1G + k2M, 512, DPT_ORDER_2M, 1},
  };
  for (const OomCase &c : cases) {
    SCOPED_TRACE(c.name);
    dpt_destroy(&t_);
    Model m;
    Populate(&m);
    for (unsigned int k = 0; k < c.allocs; k++) {
      test_alloc::FailAfter(k);
      const uint64_t failures = test_alloc::Failures();
      EXPECT_EQ(dpt_map(&t_, c.va, c.pfn, c.order, DPT_WRITE), -ENOMEM)
          << "failing allocation " << k;
      EXPECT_EQ(test_alloc::Failures(), failures + 1);
      ExpectSame(m);
    }
    // With exactly enough allocations it works.
    test_alloc::FailAfter(c.allocs);
    EXPECT_EQ(dpt_map(&t_, c.va, c.pfn, c.order, DPT_WRITE), 0);
    m.Map(c.va, c.pfn, c.order, DPT_WRITE);
    test_alloc::FailAfter(-1);
    ExpectSame(m);
  }
}

TEST_F(DptOomTest, EmptyTableStaysEmpty) {
  for (unsigned int order : {0u, 9u, 18u}) {
    const unsigned int need = 4 - order / 9;
    for (unsigned int k = 0; k < need; k++) {
      test_alloc::FailAfter(k);
      EXPECT_EQ(dpt_map(&t_, 0, 0, order, 0), -ENOMEM);
      ExpectAccounting(0, 0);
      EXPECT_EQ(t_.root, 0u);
      EXPECT_EQ(test_alloc::Allocs(), test_alloc::Frees());
    }
  }
}

// Maps that need no new table, and every unmap, succeed with the
// allocator refusing everything.
TEST_F(DptOomTest, NoAllocationWhenNoneIsNeeded) {
  Model m;
  Populate(&m);
  const uint64_t allocs = test_alloc::Allocs();
  test_alloc::FailAfter(0);
  Map(kPage, 3, DPT_ORDER_4K);               // existing leaf table
  m.Map(kPage, 3, DPT_ORDER_4K, 0);
  Map(0, 4, DPT_ORDER_4K);                   // replace a 4K entry
  m.Map(0, 4, DPT_ORDER_4K, 0);
  Map(0, 512, DPT_ORDER_2M);                 // 2M over a leaf table
  m.Map(0, 512, DPT_ORDER_2M, 0);
  Map(4 * k1G, kPagesPer1G, DPT_ORDER_1G);   // new 1G slot, L2 exists
  m.Map(4 * k1G, kPagesPer1G, DPT_ORDER_1G, 0);
  Map(5 * k1G, 2 * kPagesPer1G, DPT_ORDER_1G);  // 1G over a subtree
  m.Map(5 * k1G, 2 * kPagesPer1G, DPT_ORDER_1G, 0);
  ExpectSame(m);
  EXPECT_EQ(dpt_unmap(&t_, k1G + k2M + kPage, k1G + k2M + 2 * kPage),
            m.Remove(k1G + k2M + kPage, k1G + k2M + 2 * kPage));
  EXPECT_EQ(dpt_unmap(&t_, 2 * k1G + 5, 2 * k1G + 6),
            m.Remove(2 * k1G + 5, 2 * k1G + 6));
  ExpectSame(m);
  EXPECT_EQ(dpt_unmap(&t_, 0, kLimit), m.Remove(0, kLimit));
  ExpectAccounting(0, 0);
  EXPECT_EQ(test_alloc::Allocs(), allocs);
  EXPECT_EQ(test_alloc::Failures(), 0u);
}

// ------------------------------------------------------------- destroy

TEST_F(DptTest, DestroyFreesEverythingAndAllowsReuse) {
  for (int round = 0; round < 2; round++) {
    for (u64 i = 0; i < 1000; i++)
      Map(i * 7 * k2M + (i % 512) * kPage, i, DPT_ORDER_4K);
    Map(100 * k1G, 0, DPT_ORDER_1G);
    Map(k512G * 100, 512, DPT_ORDER_2M);
    Map(kLimit - kPage, 1, DPT_ORDER_4K);
    EXPECT_EQ(test_alloc::Live(), t_.nr_tables);
    EXPECT_GT(t_.nr_tables, 1000u);
    dpt_destroy(&t_);
    ExpectAccounting(0, 0);
    EXPECT_EQ(t_.root, 0u);
    EXPECT_EQ(test_alloc::Allocs(), test_alloc::Frees());
    EXPECT_FALSE(Mapped(0));
    EXPECT_FALSE(Mapped(100 * k1G));
    EXPECT_FALSE(Mapped(kLimit - kPage));
  }
  dpt_destroy(&t_);  // on an empty table
  ExpectAccounting(0, 0);
}

// ------------------------------------------------- randomized reference

class Random {
 public:
  explicit Random(uint32_t seed) : rng_(seed) {}
  u64 Below(u64 n) { return std::uniform_int_distribution<u64>(0, n - 1)(rng_); }
  bool Chance(unsigned int percent) { return Below(100) < percent; }

 private:
  std::mt19937_64 rng_;
};

// A run of words for dpt_map_pages(): random frames and flags.
std::vector<u64> RunWords(Random *r, u64 n) {
  std::vector<u64> w(n);
  for (u64 i = 0; i < n; i++) {
    const u64 pfn = r->Chance(5) ? kMaxPfn - r->Below(8) : r->Below(u64{1} << 40);
    w[i] = dpt_page(pfn, static_cast<unsigned int>(r->Below(4)));
  }
  return w;
}

void RunRandomOps(uint32_t seed, int ops) {
  Random r(seed);
  dpt t;
  Model m;
  dpt_init(&t);
  // A hot 8M area per window keeps some leaf tables dense.
  u64 hot[3];
  for (int w = 0; w < 3; w++)
    hot[w] = kWindows[w].lo +
             r.Below((kWindows[w].hi - kWindows[w].lo - 8 * k2M) / k2M) * k2M;

  int maps = 0, unmaps = 0, ooms = 0;
  size_t max_entries = 0;
  for (int op = 0; op < ops; op++) {
    const int w = static_cast<int>(r.Below(3));
    const Window &win = kWindows[w];
    const u64 span = win.hi - win.lo;
    // The first third builds up content, then maps and unmaps mix.
    const bool build = op < ops / 3;
    const bool map = r.Chance(build ? 90 : 60);
    if (map && r.Chance(15)) {  // a run of 4K pages
      const u64 n = 1 + (r.Chance(50) ? r.Below(16) : r.Below(1100));
      const u64 lo = r.Chance(50) ? hot[w] : win.lo;
      const u64 va = lo + r.Below((win.hi - lo) / kPage - n) * kPage;
      const std::vector<u64> words = RunWords(&r, n);
      ASSERT_EQ(dpt_map_pages(&t, va, words.data(), n), 0) << "op " << op;
      m.MapPages(va, words, 0, n);
      maps++;
    } else if (map) {
      const u64 p = r.Below(100);
      const unsigned int order = p < 75 ? 0 : p < 98 || build ? 9 : 18;
      u64 va;
      if (order == 0 && r.Chance(50))
        va = hot[w] + r.Below(8 * k2M / kPage) * kPage;
      else
        va = win.lo + r.Below(span >> (12 + order)) * Bytes(order);
      u64 pfn = r.Chance(5) ? kMaxPfn : r.Below(u64{1} << 40);
      pfn &= ~(Pages(order) - 1);
      const unsigned int flags = static_cast<unsigned int>(r.Below(4));
      bool inject = r.Chance(3);
      if (inject)
        test_alloc::FailAfter(static_cast<long>(r.Below(4)));
      const u64 pages = t.nr_pages, tables = t.nr_tables;
      int ret = dpt_map(&t, va, pfn, order, flags);
      test_alloc::FailAfter(-1);
      if (ret == -ENOMEM && inject) {
        ooms++;
        ASSERT_EQ(t.nr_pages, pages);
        ASSERT_EQ(t.nr_tables, tables);
        ASSERT_EQ(test_alloc::Live(), tables);
        continue;
      }
      ASSERT_EQ(ret, 0) << "op " << op;
      m.Map(va, pfn, order, flags);
      maps++;
    } else {
      u64 start, end;
      switch (r.Below(build ? 9 : 24)) {
        case 0:
        case 1:
        case 2:  // one page
          start = win.lo + r.Below(span / kPage) * kPage;
          end = start + kPage;
          break;
        case 3:
        case 4:
        case 5:  // a few pages
          start = win.lo + r.Below(span / kPage) * kPage;
          end = start + (1 + r.Below(64)) * kPage;
          break;
        case 6:
        case 7:
        case 8:  // bytes, unaligned, up to 8M
          start = win.lo + r.Below(span);
          end = start + 1 + r.Below(8 * k2M);
          break;
        case 9:  // up to the whole window, rarely
          start = win.lo + r.Below(span);
          end = start + (r.Chance(20) ? r.Below(span) : r.Below(span / 16));
          break;
        case 10:
        case 11:
        case 12: {  // table boundaries, exactly or a page off
          const u64 unit = r.Chance(50) ? k2M : k1G;
          const long offs[] = {-1, 0, 0, 1};
          start = win.lo + r.Below(span / unit) * unit +
                  offs[r.Below(4)] * static_cast<long>(kPage);
          end = start + (1 + r.Below(3)) * unit +
                offs[r.Below(4)] * static_cast<long>(kPage);
          break;
        }
        default:  // hot area, sometimes start > end
          start = hot[w] + r.Below(8 * k2M);
          end = start + (r.Chance(90) ? r.Below(64 * kPage) : -r.Below(k2M));
          break;
      }
      if (w == 2 && r.Chance(3))
        end = r.Chance(50) ? kLimit : ~u64{0};
      ASSERT_EQ(dpt_unmap(&t, start, end), m.Remove(start, end))
          << std::hex << "op " << std::dec << op << std::hex << " [0x"
          << start << ", 0x" << end << ")";
      unmaps++;
    }

    if (op == ops / 3) {  // the most content: compare every page
      for (const Window &sw : kWindows) {
        std::string first;
        ASSERT_EQ(SweepDiff(t, m, sw.lo, sw.hi, &first), 0u) << first;
      }
    }
    if (op % 250 == 0 || op == ops - 1) {
      max_entries = std::max(max_entries, m.entries().size());
      ASSERT_EQ(t.nr_pages, m.NrPages()) << "op " << op;
      ASSERT_EQ(t.nr_tables, m.NrTables()) << "op " << op;
      ASSERT_EQ(test_alloc::Live(), t.nr_tables) << "op " << op;
      for (int i = 0; i < 500; i++) {
        const Window &pw = kWindows[r.Below(3)];
        u64 va = pw.lo + r.Below(pw.hi - pw.lo);
        ASSERT_EQ(Diff(t, m, va), "") << "op " << op;
      }
      for (int i = 0; i < 50; i++) {  // dpt_count over random ranges
        const Window &cw = kWindows[r.Below(3)];
        const u64 lo = cw.lo + r.Below((cw.hi - cw.lo) / kPage) * kPage;
        const u64 len = (r.Chance(50) ? r.Below(64) : r.Below((cw.hi - lo) / kPage)) * kPage;
        ASSERT_EQ(dpt_count(&t, lo, lo + len), m.Count(lo, lo + len))
            << std::hex << "op " << std::dec << op << std::hex << " [0x" << lo
            << ", 0x" << lo + len << ")";
      }
      ASSERT_EQ(dpt_count(&t, 0, kLimit), t.nr_pages);
      for (const auto &kv : m.entries()) {  // both ends of every entry
        ASSERT_EQ(Diff(t, m, kv.first), "") << "op " << op;
        ASSERT_EQ(Diff(t, m, kv.first + Bytes(kv.second.order) - 1), "");
      }
    }
  }

  // Every page of every window, then everything away.
  for (const Window &win : kWindows) {
    std::string first;
    ASSERT_EQ(SweepDiff(t, m, win.lo, win.hi, &first), 0u) << first;
  }
  EXPECT_GT(maps, ops / 3);
  EXPECT_GT(unmaps, ops / 5);
  EXPECT_GT(ooms, 0);
  EXPECT_GT(max_entries, 800u);
  EXPECT_GT(m.entries().size(), 20u);
  EXPECT_EQ(dpt_unmap(&t, 0, kLimit), m.Remove(0, kLimit));
  EXPECT_EQ(t.nr_pages, 0u);
  EXPECT_EQ(t.nr_tables, 0u);
  EXPECT_EQ(t.root, 0u);
  EXPECT_EQ(test_alloc::Live(), 0u);
}

TEST_F(DptTest, RandomOpsMatchModel) {
  for (uint32_t seed : {1u, 2u, 20240611u}) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    RunRandomOps(seed, 6000);
    if (HasFatalFailure())
      return;
  }
}

}  // namespace

// dpt_unmap_span: the span of what was removed, not of what was asked.
namespace {

TEST_F(DptTest, UnmapSpanIsTheSpanOfRemovedEntries) {
  for (int i = 4; i < 12; i++) Map(0x100000 + i * 4096ull, i, DPT_ORDER_4K);
  dpt_span span{};
  EXPECT_EQ(8u, dpt_unmap_span(&t_, 0x100000, 0x100000 + 16 * 4096ull, &span));
  EXPECT_EQ(0x100000 + 4 * 4096ull, span.start);
  EXPECT_EQ(0x100000 + 12 * 4096ull, span.end);
  EXPECT_EQ(0u, dpt_unmap_span(&t_, 0, DPT_VA_LIMIT, &span));
  EXPECT_EQ(span.start, span.end) << "nothing removed: empty span";
}

TEST_F(DptTest, UnmapSpanOfWholeTablesAndHugeEntries) {
  // Pages 3..509 of one leaf table, dropped whole by a covering range.
  for (int i = 3; i < 510; i++) Map(0x40000000 + i * 4096ull, i, DPT_ORDER_4K);
  // A 2M entry, removed whole by a one-page range inside it.
  Map(0x80000000, 512, DPT_ORDER_2M);
  dpt_span span{};
  EXPECT_EQ(507u, dpt_unmap_span(&t_, 0x40000000, 0x40200000, &span));
  EXPECT_EQ(0x40000000 + 3 * 4096ull, span.start);
  EXPECT_EQ(0x40000000 + 510 * 4096ull, span.end);
  EXPECT_EQ(512u, dpt_unmap_span(&t_, 0x80001000, 0x80002000, &span));
  EXPECT_EQ(0x80000000u, span.start);
  EXPECT_EQ(0x80200000u, span.end);
}

}  // namespace

// dpt_map_pages: a run of 4K pages, as one dpt_map() per page would map it.
namespace {

TEST_F(DptTest, MapPagesIsOneMapPerPage) {
  Random r(7);
  Model m;
  // Existing content the runs land on: 4K pages, a 2M and a 1G entry.
  Map(k2M + 5 * kPage, 77, DPT_ORDER_4K, DPT_WRITE);
  m.Map(k2M + 5 * kPage, 77, DPT_ORDER_4K, DPT_WRITE);
  Map(3 * k2M, 1024, DPT_ORDER_2M, DPT_ZERO);
  m.Map(3 * k2M, 1024, DPT_ORDER_2M, DPT_ZERO);
  Map(k1G, kPagesPer1G, DPT_ORDER_1G);
  m.Map(k1G, kPagesPer1G, DPT_ORDER_1G, 0);
  struct Case {
    const char *name;
    u64 va, n;
  } cases[] = {
      {"one page", 0, 1},
      {"a leaf table exactly", 0, 512},
      {"over existing 4K pages, across 2M", k2M - 3 * kPage, 600},
      {"part of a 2M entry", 3 * k2M + 100 * kPage, 10},
      {"part of a 1G entry", k1G + k2M - kPage, 3},
      {"across the 1G boundary", k1G - 2 * kPage, 4},
      {"across the 512G boundary", k512G - 700 * kPage, 1500},
      {"the last pages of the space", kLimit - 513 * kPage, 513},
      {"the same pages again", 0, 512},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    const std::vector<u64> w = RunWords(&r, c.n);
    ASSERT_EQ(dpt_map_pages(&t_, c.va, w.data(), c.n), 0);
    m.MapPages(c.va, w, 0, c.n);
    EXPECT_EQ(t_.nr_pages, m.NrPages());
    EXPECT_EQ(t_.nr_tables, m.NrTables());
    EXPECT_EQ(test_alloc::Live(), t_.nr_tables);
    std::string first;
    const u64 lo = c.va >= k2M ? c.va - k2M : 0;
    const u64 hi = std::min(kLimit, c.va + c.n * kPage + k2M);
    EXPECT_EQ(SweepDiff(t_, m, lo, hi, &first), 0u) << first;
  }
  std::string first;
  EXPECT_EQ(SweepDiff(t_, m, k1G - k2M, 2 * k1G + k2M, &first), 0u) << first;
  EXPECT_EQ(dpt_count(&t_, 0, kLimit), m.NrPages());
}

TEST_F(DptTest, MapPagesOfNothingChangesNothing) {
  const u64 w = dpt_page(1, 0);
  EXPECT_EQ(dpt_map_pages(&t_, k1G, &w, 0), 0);
  ExpectAccounting(0, 0);
  EXPECT_EQ(t_.root, 0u);
  EXPECT_EQ(test_alloc::Allocs(), 0u);
}

TEST_F(DptTest, MapPagesRejectsBadArgumentsBeforeAnyChange) {
  Map(k1G, 1, DPT_ORDER_4K);
  const u64 allocs = test_alloc::Allocs();
  std::vector<u64> w(4, dpt_page(5, DPT_WRITE));
  struct Case {
    const char *name;
    u64 va, n, bad_word;
  } cases[] = {
      {"va not page aligned", k1G + 8, 4, 0},
      {"va beyond the space", kLimit, 1, 0},
      {"the run beyond the space", kLimit - 3 * kPage, 4, 0},
      {"n so large it wraps", 0, ~u64{0} >> 11, 0},
      {"unknown flag in the last page", 0, 4, 0x4},
      {"low bits in the last page", 0, 4, 0x800},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<u64> words = w;
    words[3] |= c.bad_word;
    // A run beyond the data we pass is never read: the bounds fail first.
    EXPECT_EQ(dpt_map_pages(&t_, c.va, words.data(), c.n), -EINVAL);
  }
  EXPECT_EQ(test_alloc::Allocs(), allocs);
  ExpectAccounting(4, 1);
  EXPECT_FALSE(Mapped(0));
  EXPECT_FALSE(Mapped(kLimit - kPage));
}

// -ENOMEM maps the 2M blocks before the one that could not get its table.
TEST_F(DptTest, MapPagesOutOfMemoryKeepsWholeBlocks) {
  Random r(11);
  // 3 blocks: the first shares a leaf table with an existing page, the
  // second and third need a new leaf table each.
  const u64 va = k1G - 100 * kPage;
  const u64 n = 100 + 512 + 300;
  for (long fail_after : {0L, 1L}) {
    SCOPED_TRACE(testing::Message() << "allocations allowed " << fail_after);
    dpt_destroy(&t_);
    Model m;
    Map(k1G - 200 * kPage, 9, DPT_ORDER_4K);
    m.Map(k1G - 200 * kPage, 9, DPT_ORDER_4K, 0);
    const std::vector<u64> w = RunWords(&r, n);
    // Crossing 1G needs a level-1 and a level-0 table for the second block.
    test_alloc::FailAfter(fail_after);
    EXPECT_EQ(dpt_map_pages(&t_, va, w.data(), n), -ENOMEM);
    test_alloc::FailAfter(-1);
    m.MapPages(va, w, 0, 100);
    EXPECT_EQ(t_.nr_pages, m.NrPages());
    EXPECT_EQ(t_.nr_tables, m.NrTables());
    EXPECT_EQ(test_alloc::Live(), t_.nr_tables);
    std::string first;
    EXPECT_EQ(SweepDiff(t_, m, k1G - k2M, k1G + 2 * k2M, &first), 0u) << first;
  }
  // With one more allocation the second block is mapped, the third not.
  dpt_destroy(&t_);
  Model m;
  Map(k1G - 200 * kPage, 9, DPT_ORDER_4K);
  m.Map(k1G - 200 * kPage, 9, DPT_ORDER_4K, 0);
  const std::vector<u64> w = RunWords(&r, n);
  test_alloc::FailAfter(2);
  EXPECT_EQ(dpt_map_pages(&t_, va, w.data(), n), -ENOMEM);
  test_alloc::FailAfter(-1);
  m.MapPages(va, w, 0, 612);
  EXPECT_EQ(t_.nr_pages, m.NrPages());
  EXPECT_EQ(t_.nr_tables, m.NrTables());
  std::string first;
  EXPECT_EQ(SweepDiff(t_, m, k1G - k2M, k1G + 2 * k2M, &first), 0u) << first;
  // And with enough, all of it.
  EXPECT_EQ(dpt_map_pages(&t_, va, w.data(), n), 0);
  m.MapPages(va, w, 0, n);
  EXPECT_EQ(t_.nr_pages, m.NrPages());
  EXPECT_EQ(SweepDiff(t_, m, k1G - k2M, k1G + 2 * k2M, &first), 0u) << first;
}

}  // namespace
