// SPDX-License-Identifier: MIT
//
// hmm_mirror_test.h - shared helpers for the /dev/hmm_mirror conformance
// suite.  Every test talks to the real module through raw ioctls; nothing
// here hides an error: the helpers return the errno the module answered.
//
// Contents, one file each under support/:
//   errno_ioctl.h     Errno (an errno gtest prints by name), RawIoctl, constants
//   arg_structs.h     valid version-1 argument structs of every command
//   mirror_handle.h   Mirror: one open, handshaken /dev/hmm_mirror with one
//                     helper per command
//   fixture.h         MirrorTest, the fixture every device test derives from
//   mapping.h         Mapping: an anonymous mmap() that remembers which pages
//                     it still owns, so tests can munmap() parts of it safely
//   child.h           Child: a forked child process that waits for Go()
//   patterns.h        data patterns and assertions on them
//   page_states.h     page-state formatting and assertions
//   features.h        HMM_REQUIRE_FEATURES: skip a test the module cannot run
//   event_reader.h    reading struct hmm_mirror_event records from the fd
//   stats_format.h    sums and printing of struct hmm_mirror_stats
//   thp.h             /proc/self/smaps lookups for the huge-page tests
//   chunk_area.h      ChunkArea: 1 GiB-aligned chunks of address space
// A test includes this file; a helper of one concept goes into its file.
#ifndef HMM_MIRROR_CONFORMANCE_TEST_H
#define HMM_MIRROR_CONFORMANCE_TEST_H

#include "support/errno_ioctl.h"
#include "support/arg_structs.h"
#include "support/mirror_handle.h"
#include "support/mapping.h"
#include "support/patterns.h"
#include "support/page_states.h"
#include "support/fixture.h"
#include "support/child.h"
#include "support/features.h"
#include "support/event_reader.h"
#include "support/stats_format.h"
#include "support/thp.h"
#include "support/chunk_area.h"

#endif  // HMM_MIRROR_CONFORMANCE_TEST_H
