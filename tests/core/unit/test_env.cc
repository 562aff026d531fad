// SPDX-License-Identifier: GPL-2.0 OR MIT
//
// test_env.cc - see test_env.h.
#include "test_env.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>

#include <gtest/gtest.h>

extern "C" {
#include "dpt.h"
}

namespace test_alloc {
namespace {

struct Table {
  const dpt *owner;  // the struct dpt it was allocated for
  bool mapped;       // allocated with mmap() (guard mode)
};

struct State {
  std::map<void *, Table> live;
  std::vector<void *> log;
  long fail_after = -1;
  bool guard = false;
  uint64_t allocs = 0;
  uint64_t frees = 0;
  uint64_t failures = 0;
  uint64_t bad_frees = 0;
  uint64_t zeroed_frees = 0;
};

State &S() {
  static State *s = new State;  // never destroyed: outlives every test
  return *s;
}

}  // namespace

void Reset() {
  State &s = S();
  s.log.clear();
  s.fail_after = -1;
  s.guard = false;
  s.allocs = s.frees = s.failures = s.bad_frees = s.zeroed_frees = 0;
}

void FailAfter(long n) { S().fail_after = n; }
void SetGuardMode(bool on) { S().guard = on; }

void Protect(void *table) {
  auto it = S().live.find(table);
  ASSERT_TRUE(it != S().live.end() && it->second.mapped)
      << "Protect() needs a live guard-mode table";
  ASSERT_EQ(mprotect(table, DPT_TABLE_BYTES, PROT_NONE), 0);
}

size_t Live() { return S().live.size(); }
uint64_t Allocs() { return S().allocs; }
uint64_t Frees() { return S().frees; }
uint64_t Failures() { return S().failures; }
uint64_t BadFrees() { return S().bad_frees; }
uint64_t ZeroedFrees() { return S().zeroed_frees; }
const std::vector<void *> &Log() { return S().log; }

}  // namespace test_alloc

extern "C" void *dpt_table_alloc(struct dpt *t) {
  test_alloc::State &s = test_alloc::S();
  void *p;

  if (s.fail_after == 0) {
    s.failures++;
    return nullptr;
  }
  if (s.fail_after > 0)
    s.fail_after--;
  if (s.guard) {
    if (sysconf(_SC_PAGESIZE) != DPT_TABLE_BYTES) {
      ADD_FAILURE() << "guard mode needs 4K host pages";
      return nullptr;
    }
    p = mmap(nullptr, DPT_TABLE_BYTES, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      return nullptr;
  } else {
    p = std::aligned_alloc(DPT_TABLE_BYTES, DPT_TABLE_BYTES);
    if (!p)
      return nullptr;
    std::memset(p, 0, DPT_TABLE_BYTES);
  }
  s.live.emplace(p, test_alloc::Table{t, s.guard});
  s.log.push_back(p);
  s.allocs++;
  return p;
}

extern "C" void dpt_table_free(struct dpt *t, void *table, bool zeroed) {
  test_alloc::State &s = test_alloc::S();
  auto it = s.live.find(table);

  if (it == s.live.end()) {
    s.bad_frees++;
    ADD_FAILURE() << "dpt_table_free(" << table << "): not a live table";
    return;
  }
  // A table the core calls zeroed must be: kmod/ reuses it uncleared.
  if (zeroed) {
    const uint64_t *e = static_cast<const uint64_t *>(table);
    for (size_t i = 0; i < DPT_TABLE_BYTES / sizeof(*e); i++)
      if (e[i] != 0) {
        s.bad_frees++;
        ADD_FAILURE() << "dpt_table_free(" << table << ", zeroed): entry " << i
                      << " is 0x" << std::hex << e[i];
        break;
      }
    s.zeroed_frees++;
  }
  if (it->second.owner != t) {
    s.bad_frees++;
    ADD_FAILURE() << "dpt_table_free(" << table << "): allocated for dpt "
                  << it->second.owner << ", freed by " << t;
  }
  if (it->second.mapped)
    munmap(table, DPT_TABLE_BYTES);
  else
    std::free(table);
  s.live.erase(it);
  s.frees++;
}
