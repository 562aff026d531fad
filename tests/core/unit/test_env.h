// SPDX-License-Identifier: GPL-2.0 OR MIT
//
// test_env.h - the unit tests' own core_env.h hooks.  test_env.cc defines
// dpt_table_alloc() and dpt_table_free(), so the linker never pulls
// host_env.o out of libhmm_core.a.  The allocator counts every table,
// can be told to fail, rejects frees of tables it did not hand out, and
// in guard mode maps each table on its own page so a test can revoke
// access to it (to prove the core never reads a table it drops whole).
#ifndef HMM_TESTS_UNIT_TEST_ENV_H
#define HMM_TESTS_UNIT_TEST_ENV_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace test_alloc {

// Forget all counters and the log, stop failing, leave guard mode.
// Tables still live stay live (and counted).
void Reset();
// Let the next @n allocations succeed, then fail all; -1: never fail.
void FailAfter(long n);
// Allocate with mmap() so that Protect() works.
void SetGuardMode(bool on);
// Make a live guard-mode table inaccessible; freeing it is still fine.
void Protect(void *table);

size_t Live();            // tables allocated and not freed
uint64_t Allocs();        // successful allocations since Reset()
uint64_t Frees();         // frees since Reset()
uint64_t Failures();      // allocations refused since Reset()
uint64_t BadFrees();      // frees of unknown tables, by the wrong dpt, or
                          // called zeroed with an entry left
uint64_t ZeroedFrees();   // frees the core called zeroed
const std::vector<void *> &Log();  // successful allocations, in order

}  // namespace test_alloc

#endif  // HMM_TESTS_UNIT_TEST_ENV_H
