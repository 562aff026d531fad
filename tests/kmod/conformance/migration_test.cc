// SPDX-License-Identifier: MIT
//
// migration_test.cc - page migration invalidates device entries
// (abi/README.md, "Sessions").  move_pages(2) moves mirrored pages to the
// other NUMA node; the device must drop its entries for them (they point at
// the old frames) and then read the data from the new ones.  Needs a guest
// with two NUMA nodes: `make vm-test` boots one with --numa.

#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "hmm_mirror_test.h"

namespace hmm_conformance {
namespace {

using MigrationTest = MirrorTest;

bool HaveTwoNodes() {
  return access("/sys/devices/system/node/node1", F_OK) == 0;
}

// move_pages(2) without libnuma: nodes == nullptr only queries.
long MovePages(std::vector<void*>& pages, const int* nodes,
               std::vector<int>* status) {
  status->assign(pages.size(), -1);
  return syscall(SYS_move_pages, 0, pages.size(), pages.data(), nodes,
                 status->data(), 0);
}

TEST_F(MigrationTest, MovePagesClearsTheMovedEntries) {
  if (!HaveTwoNodes()) GTEST_SKIP() << "the guest has a single NUMA node";
  constexpr int kPages = 8;
  Mapping m(kPages * page_);
  FillPattern(m.data(), m.size(), 41);
  ASSERT_EQ(kSuccess, dev_.Fault(m.addr(), m.size(), HMM_MIRROR_FAULT_WRITE));

  std::vector<void*> pages;
  for (int i = 0; i < kPages; i += 2) pages.push_back(m.data() + i * page_);
  std::vector<int> status;
  ASSERT_EQ(0, MovePages(pages, nullptr, &status)) << std::strerror(errno);
  std::vector<int> target;
  for (int node : status) {
    ASSERT_GE(node, 0) << "page not resident before the move";
    target.push_back(node == 0 ? 1 : 0);
  }
  ASSERT_EQ(0, MovePages(pages, target.data(), &status))
      << std::strerror(errno);
  for (size_t i = 0; i < status.size(); i++)
    ASSERT_EQ(target[i], status[i]) << "page " << 2 * i << " did not move";

  std::vector<uint32_t> q;
  ASSERT_EQ(kSuccess, dev_.Query(m.addr(), m.size(), &q));
  for (int i = 0; i < kPages; i++) {
    if (i % 2 == 0)
      EXPECT_EQ(0u, q[i]) << "moved page " << i << " still mapped by the device";
    else
      EXPECT_NE(0u, q[i] & HMM_MIRROR_PAGE_VALID)
          << "page " << i << " was not moved but lost its entry";
  }

  // The device faults the moved pages again and reads the same data.
  Mapping buf(m.size());
  uint64_t faults = 0;
  ASSERT_EQ(kSuccess, dev_.Read(m.addr(), m.size(), buf.data(), &faults));
  EXPECT_EQ(4u, faults) << "one device fault per moved page (they are apart)";
  EXPECT_TRUE(HasPatternAs(buf.data(), buf.size(), 41, m.addr()));
}

}  // namespace
}  // namespace hmm_conformance
