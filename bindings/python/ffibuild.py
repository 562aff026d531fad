"""cffi builder of hmm_mirror._hmm_mirror_cffi (API, out-of-line mode).

The extension compiles libhmm_mirror's C sources (bindings/c/src/*.c) in,
so ``pip install ./bindings/python`` needs nothing but a C compiler and the
build requirements from pyproject.toml.  Every struct layout and every
constant is taken from the C headers by the C compiler: the declarations
below name the library's *API* (functions, field names, macro names); the
``...`` tell cffi to ask the compiler for offsets, sizes and values.  No
ioctl number appears here: only libhmm_mirror does ioctls.  The three ABI
structs the library's API uses (struct hmm_mirror_run, hmm_mirror_event and
hmm_mirror_stats) are declared partially: the fields Python reads by name,
then ``...``.  STATS counters are read through the library's counter table
(hmm_mirror_counter_*()), so a new counter needs nothing here.
"""
from __future__ import annotations

import os
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent


def _sources() -> tuple[Path, Path]:
    """(library dir, ABI dir): the repository's, or the copies in an sdist."""
    candidates = [
        (HERE.parent / "c", HERE.parent.parent / "abi"),  # the source tree
        (HERE / "vendor" / "c", HERE / "vendor" / "abi"),  # an sdist
    ]
    env = os.environ.get("HMM_MIRROR_SOURCE_DIR")  # a checkout elsewhere
    if env:
        root = Path(env).resolve()
        candidates.insert(0, (root / "bindings" / "c", root / "abi"))
    for lib_dir, abi_dir in candidates:
        if (lib_dir / "include" / "hmm_mirror" / "libhmm_mirror.h").is_file() \
                and (abi_dir / "hmm_mirror.h").is_file():
            return lib_dir, abi_dir
    raise SystemExit(
        "hmm_mirror: cannot find libhmm_mirror's sources (bindings/c) and the "
        "ABI header (abi/hmm_mirror.h) next to this package; build it from the "
        "hmm-mirror source tree (pip install ./bindings/python) or set "
        "HMM_MIRROR_SOURCE_DIR to the root of a checkout")


LIB_DIR, ABI_DIR = _sources()

CDEF = r"""
/* ---- libhmm_mirror.h and the ABI header it includes: constants ---- */
#define HMM_MIRROR_LIB_VERSION_MAJOR ...
#define HMM_MIRROR_LIB_VERSION_MINOR ...
#define HMM_MIRROR_LIB_VERSION_PATCH ...
#define HMM_MIRROR_ABI_VERSION ...
static const char *const HMM_MIRROR_DEVICE_PATH;

#define HMM_MIRROR_FEAT_FAULT ...
#define HMM_MIRROR_FEAT_SNAPSHOT ...
#define HMM_MIRROR_FEAT_DEVICE_RW ...
#define HMM_MIRROR_FEAT_QUERY ...
#define HMM_MIRROR_FEAT_HUGE_ENTRIES ...
#define HMM_MIRROR_FEAT_ATTACH ...
#define HMM_MIRROR_FEAT_EVENTS ...
#define HMM_MIRROR_FEAT_LAZY_NOTIFIERS ...
#define HMM_MIRROR_FEAT_FILE_BACKED ...
#define HMM_MIRROR_FEAT_FORK ...
#define HMM_MIRROR_FEAT_EXIT ...
#define HMM_MIRROR_FEAT_STATS ...
#define HMM_MIRROR_FEAT_SNAPSHOT_RUNS ...
#define HMM_MIRROR_FEAT_RW_COPIED ...
#define HMM_MIRROR_FEAT_ADDR_LIMIT ...
#define HMM_MIRROR_FEAT_DEVICE_MEMORY ...
#define HMM_MIRROR_FEAT_EXCLUSIVE ...
#define HMM_MIRROR_FEAT_ALL ...
#define HMM_MIRROR_FEAT_DEVICE_EVICT ...

#define HMM_MIRROR_FAULT_WRITE ...

#define HMM_MIRROR_PAGE_VALID ...
#define HMM_MIRROR_PAGE_WRITE ...
#define HMM_MIRROR_PAGE_ERROR ...
#define HMM_MIRROR_PAGE_ZERO ...
#define HMM_MIRROR_PAGE_DEVICE ...
#define HMM_MIRROR_PAGE_EXCLUSIVE ...
#define HMM_MIRROR_PAGE_ORDER_SHIFT ...
uint32_t HMM_MIRROR_PAGE_ORDER(uint32_t state);   /* the macro */

#define HMM_MIRROR_EVENT_UNMAP ...
#define HMM_MIRROR_EVENT_CLEAR ...
#define HMM_MIRROR_EVENT_PROTECTION ...
#define HMM_MIRROR_EVENT_MIGRATE ...
#define HMM_MIRROR_EVENT_RELEASE ...
#define HMM_MIRROR_EVENT_SOFT_DIRTY ...
#define HMM_MIRROR_EVENT_EXCLUSIVE ...
#define HMM_MIRROR_EVENT_OTHER ...
#define HMM_MIRROR_EVENT_NR_REASONS ...
#define HMM_MIRROR_EVENT_LOST ...
#define HMM_MIRROR_EVENT_ALL_REASONS ...
#define HMM_MIRROR_EVENT_FLAG_TO_DEVICE ...
#define HMM_MIRROR_EVENT_FLAG_TO_SYSTEM ...
#define HMM_MIRROR_STATS_GLOBAL ...

#define HMM_MIRROR_MIGRATE_TO_SYSTEM ...
#define HMM_MIRROR_MIGRATE_EVICT ...
#define HMM_MIRROR_MIGRATE_MOVED ...
#define HMM_MIRROR_MIGRATE_ALREADY ...
#define HMM_MIRROR_MIGRATE_NOT_MOVABLE ...
#define HMM_MIRROR_MIGRATE_NO_MEMORY ...

#define HMM_MIRROR_ATOMIC_ADD ...
#define HMM_MIRROR_ATOMIC_XCHG ...
#define HMM_MIRROR_ATOMIC_CMPXCHG ...
#define HMM_MIRROR_ATOMIC_OR ...
#define HMM_MIRROR_ATOMIC_AND ...
#define HMM_MIRROR_ATOMIC_NR_OPS ...
#define HMM_MIRROR_ATOMIC_NO_GRANT ...

/* ---- libhmm_mirror.h: types (layout from the compiler) ---- */
typedef int... __u32;
typedef int... __u64;
struct hmm_mirror;

struct hmm_mirror_info {
    uint32_t size;
    uint32_t abi_version;
    uint32_t lib_abi_version;
    uint32_t page_shift;
    uint64_t features;
    uint64_t ioctls;
    uint64_t addr_limit;
    ...;
};
void hmm_mirror_info_init(struct hmm_mirror_info *info);

struct hmm_mirror_rw_result {
    uint32_t size;
    uint64_t bytes_copied;
    uint64_t device_faults;
    ...;
};
void hmm_mirror_rw_result_init(struct hmm_mirror_rw_result *res);

/* The ABI's (abi/hmm_mirror.h). */
struct hmm_mirror_event {
    __u32 size;
    __u32 reason;
    __u64 start;
    __u64 end;
    __u64 seq;
    __u64 pages;
    __u32 flags;
    ...;
};
void hmm_mirror_event_record_init(struct hmm_mirror_event *rec);

/* The ABI's; the counters by name for C-level use, Python reads them all
   through hmm_mirror_counter_value(). */
struct hmm_mirror_stats {
    __u32 size;
    __u32 flags;
    __u64 device_faults;
    __u64 fault_calls;
    __u64 pages_faulted;
    __u64 fault_retries;
    __u64 invalidations[...];
    __u64 pages_invalidated;
    __u64 events_delivered;
    __u64 events_lost;
    __u64 notifiers;
    __u64 dpt_tables;
    __u64 dpt_pages;
    __u64 mirrors;
    __u64 device_memory_pages;
    __u64 device_pages;
    __u64 pages_to_device;
    __u64 pages_to_system;
    __u64 pages_faulted_back;
    __u64 pages_no_memory;
    __u64 pages_evicted;
    ...;
};
void hmm_mirror_counters_init(struct hmm_mirror_stats *c);

/* ---- libhmm_mirror.h: functions ---- */
int hmm_mirror_open(struct hmm_mirror **out);
int hmm_mirror_open_path(const char *path, struct hmm_mirror **out);
int hmm_mirror_from_fd(int fd, struct hmm_mirror **out);
void hmm_mirror_close(struct hmm_mirror *m);
int hmm_mirror_fd(const struct hmm_mirror *m);

int hmm_mirror_handshake(struct hmm_mirror *m, struct hmm_mirror_info *info);
uint64_t hmm_mirror_features(const struct hmm_mirror *m);
uint64_t hmm_mirror_page_size(const struct hmm_mirror *m);
int hmm_mirror_require(struct hmm_mirror *m, uint64_t features);
const char *hmm_mirror_feature_name(uint64_t feature);
const char *hmm_mirror_command_name(unsigned int nr);

int hmm_mirror_attach_pid(struct hmm_mirror *m, int pid);
int hmm_mirror_attach_pidfd(struct hmm_mirror *m, int pidfd);

int hmm_mirror_fault(struct hmm_mirror *m, uint64_t addr, uint64_t length,
                     uint32_t flags, uint64_t *pages_mapped,
                     uint64_t *retries);
int hmm_mirror_snapshot(struct hmm_mirror *m, uint64_t addr, uint64_t length,
                        uint32_t *states, size_t states_len);
struct hmm_mirror_run {    /* the ABI's */
    __u64 addr;
    __u64 length;
    __u32 state;
    ...;
};
int hmm_mirror_snapshot_runs(struct hmm_mirror *m, uint64_t addr,
                             uint64_t length, struct hmm_mirror_run *runs,
                             size_t runs_len, size_t *nr_runs);
struct hmm_mirror_runs;
int hmm_mirror_runs_open(struct hmm_mirror *m, uint64_t addr, uint64_t length,
                         struct hmm_mirror_runs **out);
int hmm_mirror_runs_next(struct hmm_mirror_runs *it,
                         struct hmm_mirror_run *run);
void hmm_mirror_runs_close(struct hmm_mirror_runs *it);
int hmm_mirror_query(struct hmm_mirror *m, uint64_t addr, uint64_t length,
                     uint32_t *states, size_t states_len);
int hmm_mirror_read(struct hmm_mirror *m, uint64_t addr, void *buf,
                    uint64_t length, uint64_t *device_faults);
int hmm_mirror_write(struct hmm_mirror *m, uint64_t addr, const void *buf,
                     uint64_t length, uint64_t *device_faults);
int hmm_mirror_read_ex(struct hmm_mirror *m, uint64_t addr, void *buf,
                       uint64_t length, struct hmm_mirror_rw_result *res);
int hmm_mirror_write_ex(struct hmm_mirror *m, uint64_t addr, const void *buf,
                        uint64_t length, struct hmm_mirror_rw_result *res);

int hmm_mirror_events_config(struct hmm_mirror *m, uint32_t reasons,
                             uint32_t queue_len);
int hmm_mirror_event_next(struct hmm_mirror *m, struct hmm_mirror_event *rec,
                          int timeout_ms);
const char *hmm_mirror_event_reason_name(uint32_t reason);

int hmm_mirror_stats(struct hmm_mirror *m, struct hmm_mirror_stats *c);
int hmm_mirror_stats_global(struct hmm_mirror *m, struct hmm_mirror_stats *c);
unsigned int hmm_mirror_counter_count(void);
const char *hmm_mirror_counter_name(unsigned int i);
const char *hmm_mirror_counter_meaning(unsigned int i);
unsigned int hmm_mirror_counter_len(unsigned int i);
size_t hmm_mirror_counter_offset(unsigned int i);
const char *hmm_mirror_counter_element_name(unsigned int i, unsigned int k);
uint64_t hmm_mirror_counter_value(const struct hmm_mirror_stats *s,
                                  unsigned int i, unsigned int k);

#define HMM_MIRROR_MAPS_SMAPS ...
#define HMM_MIRROR_MAPPING_DELETED ...
#define HMM_MIRROR_MAPPING_SMAPS ...
struct hmm_mirror_maps;
struct hmm_mirror_mapping {
    uint32_t size;
    uint32_t flags;
    uint64_t start;
    uint64_t end;
    uint64_t offset;
    uint64_t inode;
    uint32_t dev_major;
    uint32_t dev_minor;
    char perms[8];
    const char *path;
    const char *vmflags;
    uint64_t rss_kb;
    uint64_t anon_huge_kb;
    uint64_t hugetlb_kb;
    uint64_t kernel_page_kb;
    ...;
};
void hmm_mirror_mapping_init(struct hmm_mirror_mapping *map);
int hmm_mirror_maps_open(int pid, uint32_t flags, struct hmm_mirror_maps **out);
int hmm_mirror_maps_parse(const char *text, size_t len,
                          struct hmm_mirror_maps **out);
int hmm_mirror_maps_next(struct hmm_mirror_maps *it,
                         struct hmm_mirror_mapping *map);
void hmm_mirror_maps_close(struct hmm_mirror_maps *it);

/* Device memory (libhmm_mirror 1.4, ABI 4) */
int hmm_mirror_migrate(struct hmm_mirror *m, uint64_t addr, uint64_t length,
                       uint32_t flags, uint32_t *results,
                       uint64_t results_len, uint64_t *pages_moved,
                       uint64_t *pages_not_moved);
struct hmm_mirror_device_memory {
    uint32_t size;
    uint64_t total_bytes;
    uint64_t used_bytes;
    uint64_t mirror_pages;
    uint64_t pages_to_device;
    uint64_t pages_to_system;
    uint64_t pages_faulted_back;
    uint64_t pages_no_memory;
    ...;
};
void hmm_mirror_device_memory_init(struct hmm_mirror_device_memory *dm);
int hmm_mirror_device_memory(struct hmm_mirror *m,
                             struct hmm_mirror_device_memory *dm);
const char *hmm_mirror_migrate_result_name(uint32_t result);

/* Exclusive access (libhmm_mirror 1.5, ABI 5) */
int hmm_mirror_exclusive(struct hmm_mirror *m, uint64_t addr,
                         uint64_t length, uint32_t *results,
                         uint64_t results_len, uint64_t *pages_granted,
                         uint64_t *pages_refused);
int hmm_mirror_atomic(struct hmm_mirror *m, uint64_t addr, uint32_t op,
                      uint64_t operand, uint64_t compare, uint32_t flags,
                      uint64_t *old);
const char *hmm_mirror_atomic_op_name(uint32_t op);

const char *hmm_mirror_last_error(void);
const char *hmm_mirror_strerror(int err);
const char *hmm_mirror_errno_name(int err);
const char *hmm_mirror_lib_version(void);

"""

SOURCE = r"""
#include "hmm_mirror/libhmm_mirror.h"
"""

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "hmm_mirror._hmm_mirror_cffi",
    SOURCE,
    sources=[str(p) for p in sorted((LIB_DIR / "src").glob("*.c"))],
    include_dirs=[str(LIB_DIR / "include"), str(LIB_DIR / "src"), str(ABI_DIR)],
    depends=[str(p) for p in [*(LIB_DIR / "include" / "hmm_mirror").glob("*.h"),
                              *(LIB_DIR / "src").glob("*.h"),
                              ABI_DIR / "hmm_mirror.h"]],
    define_macros=[("_GNU_SOURCE", None)],
    # The library's own flags (bindings/c/libhmm_mirror.mk), minus -Werror:
    # a newer compiler's new warning must not break a user's pip install.
    extra_compile_args=["-std=gnu11", "-fvisibility=hidden", "-Wall",
                        "-Wno-unused-parameter"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
