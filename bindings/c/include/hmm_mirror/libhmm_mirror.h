/* SPDX-License-Identifier: MIT */
/*
 * libhmm_mirror.h - the C library for /dev/hmm_mirror
 *
 * libhmm_mirror is the one user-space implementation of the hmm_mirror ABI
 * (abi/hmm_mirror.h, documented in abi/README.md).  Programs and language
 * bindings use this header only (it includes the ABI header for the
 * constants and the three structs they share); no ioctl is issued outside
 * the library.
 *
 * Conventions (bindings/c/README.md has the long version):
 *
 * - A mirror is an opaque handle, struct hmm_mirror *, from hmm_mirror_open()
 *   and released by hmm_mirror_close().  One handle may be used from several
 *   threads at once; the kernel serialises what needs it.
 * - Every function that can fail returns 0 on success or a negative errno
 *   (-EINVAL, -EFAULT, ...).  The library checks its arguments before it
 *   makes any system call: a NULL handle or pointer, a zero, unaligned or
 *   wrapping range, a short page-state array or an unknown flag fail with
 *   -EINVAL and nothing reaches the kernel.
 * - After a failure, hmm_mirror_last_error() returns a readable message for
 *   the calling thread: which call failed, with which arguments, the errno
 *   name and what it means for that call.  hmm_mirror_strerror() gives the
 *   generic text of an errno.
 * - Results the kernel may grow in later ABI versions are library-owned
 *   structs that start with "uint32_t size": initialise them with the
 *   matching *_init() function (which sets size to the size this header
 *   declares) before passing them in.  The library fills at most size bytes,
 *   so a program built against this header keeps working with a newer
 *   library.
 * - Page states are plain uint32_t values with the HMM_MIRROR_PAGE_* bits
 *   of the kernel ABI header.
 *
 * All addresses and lengths are bytes in the mirrored address space;
 * ranges must be multiples of the page size (hmm_mirror_page_size()).
 */
#ifndef LIBHMM_MIRROR_H
#define LIBHMM_MIRROR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * The kernel ABI, installed beside this header as <hmm_mirror/hmm_mirror.h>
 * (abi/hmm_mirror.h in the source tree): every constant and struct the
 * library shares with the module is declared there, once.  The ones this
 * header uses: the HMM_MIRROR_FEAT_* bits, HMM_MIRROR_FAULT_WRITE, the
 * HMM_MIRROR_PAGE_* page states, the HMM_MIRROR_EVENT_* reasons and the
 * HMM_MIRROR_EVENTS_*_LEN queue limits, struct hmm_mirror_run, struct
 * hmm_mirror_event and struct hmm_mirror_stats.
 */
#include "hmm_mirror.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library's own version (not the kernel ABI version). */
#define HMM_MIRROR_LIB_VERSION_MAJOR	1
#define HMM_MIRROR_LIB_VERSION_MINOR	5
#define HMM_MIRROR_LIB_VERSION_PATCH	0

/* Where hmm_mirror_open() finds the device. */
#define HMM_MIRROR_DEVICE_PATH		"/dev/hmm_mirror"

/*
 * The library's 1.0-1.2 names of three ABI structs, which it no longer
 * declares again: use the ABI's.
 */
#define hmm_mirror_page_run		hmm_mirror_run
#define hmm_mirror_event_record		hmm_mirror_event
#define hmm_mirror_counters		hmm_mirror_stats
#define HMM_MIRROR_EVENT_RECORD_SIZE_VER1 HMM_MIRROR_EVENT_SIZE_VER1
#define HMM_MIRROR_COUNTERS_SIZE_VER1	HMM_MIRROR_STATS_SIZE_VER1

/* One mirror: an open /dev/hmm_mirror.  Opaque. */
struct hmm_mirror;

/* ------------------------------------------------------------------------
 * Opening and closing
 */

/**
 * hmm_mirror_open() - open /dev/hmm_mirror and do the handshake
 * @out: receives the handle; set to NULL on failure
 *
 * The new mirror is bound to the caller's own address space (see
 * hmm_mirror_attach_pid() to mirror another process).  The handshake
 * result is kept: hmm_mirror_features() and hmm_mirror_page_size() answer
 * from it.
 *
 * Return: 0, or -ENOENT (no device node: the module is not loaded),
 * -EACCES (no permission on the node), -EPROTO (the module speaks an ABI
 * this library does not know, or its page size is not the CPU's), or
 * another negative errno from open(2) or the handshake.
 */
int hmm_mirror_open(struct hmm_mirror **out);

/**
 * hmm_mirror_open_path() - hmm_mirror_open() with another device node path
 * @path: the device node, for example in a container's own /dev
 * @out: receives the handle; set to NULL on failure
 */
int hmm_mirror_open_path(const char *path, struct hmm_mirror **out);

/**
 * hmm_mirror_from_fd() - a handle for an open /dev/hmm_mirror descriptor
 * @fd: a descriptor of /dev/hmm_mirror, for example one received over a
 *	unix socket (SCM_RIGHTS) from the process that opened the device
 * @out: receives the handle; set to NULL on failure
 *
 * Makes sure @fd is the hmm_mirror device by doing the handshake on it,
 * and keeps the answer as hmm_mirror_open() does.  The mirror is the one
 * behind the descriptor, bound to the address space it was bound to: the
 * opener's (the process that sent it), or the one it was attached to.
 * Since 1.2.
 *
 * On success the handle owns @fd: hmm_mirror_close() closes it.  The
 * library sets close-on-exec on @fd and O_NONBLOCK on its open file
 * description (hmm_mirror_event_next() needs it), which every descriptor
 * of that description shares, in other processes too.  On failure @fd is
 * left open and unchanged.
 *
 * Return: 0, -EBADF (@fd is not an open descriptor), -ENOTTY (@fd is not
 * /dev/hmm_mirror: hmm_mirror_last_error() names what it is), -EINVAL
 * (@out is NULL), -EPROTO (the module's handshake does not fit this
 * library or machine), or another negative errno of the handshake.
 */
int hmm_mirror_from_fd(int fd, struct hmm_mirror **out);

/**
 * hmm_mirror_close() - close the mirror; NULL is ignored
 *
 * The device page table goes away with the last reference to the file (a
 * forked child that inherited the descriptor keeps the mirror alive).
 */
void hmm_mirror_close(struct hmm_mirror *m);

/**
 * hmm_mirror_fd() - the file descriptor, for poll(2) loops
 *
 * The descriptor is non-blocking and close-on-exec, and stays owned by the
 * handle: do not close it or read from it yourself.  It becomes readable
 * (POLLIN) when an event record is queued, and reports POLLHUP when the
 * mirrored address space has exited; then call hmm_mirror_event_next()
 * with timeout 0 until it returns -EAGAIN.
 *
 * Return: the descriptor, or -EINVAL when @m is NULL.
 */
int hmm_mirror_fd(const struct hmm_mirror *m);

/* ------------------------------------------------------------------------
 * Handshake and features
 */

/**
 * struct hmm_mirror_info - what the module answered to the handshake
 * @size: set by the caller (hmm_mirror_info_init())
 * @abi_version: the ABI version the module speaks
 * @lib_abi_version: the ABI version this library speaks
 * @page_shift: log2 of the page size ranges are measured in
 * @features: every HMM_MIRROR_FEAT_* the module supports
 * @ioctls: bit n set when the module has command number n
 * @addr_limit: the end (exclusive) of the addresses the device page table
 *	can map, 1 << 48: a range reaching past it is -EINVAL, even where
 *	the process maps memory (5-level paging).  0 when the module does
 *	not say (ABI 2 and older, no HMM_MIRROR_FEAT_ADDR_LIMIT).  Since 1.2.
 */
struct hmm_mirror_info {
	uint32_t size;
	uint32_t abi_version;
	uint32_t lib_abi_version;
	uint32_t page_shift;
	uint64_t features;
	uint64_t ioctls;
	uint64_t addr_limit;
};
#define HMM_MIRROR_INFO_SIZE_VER1	32

static inline void hmm_mirror_info_init(struct hmm_mirror_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
}

/**
 * hmm_mirror_handshake() - ask the module again and fill @info
 *
 * Has no side effects.  hmm_mirror_features() and hmm_mirror_page_size()
 * answer from the handshake hmm_mirror_open() made, which gives the same
 * values: they cannot change while the device is open.
 *
 * Return: 0, -EINVAL (NULL argument, @info->size below
 * HMM_MIRROR_INFO_SIZE_VER1), or the module's error.
 */
int hmm_mirror_handshake(struct hmm_mirror *m, struct hmm_mirror_info *info);

/** hmm_mirror_features() - HMM_MIRROR_FEAT_* of the module; 0 for NULL */
uint64_t hmm_mirror_features(const struct hmm_mirror *m);

/** hmm_mirror_page_size() - the page size ranges use, bytes; 0 for NULL */
uint64_t hmm_mirror_page_size(const struct hmm_mirror *m);

/**
 * hmm_mirror_require() - check that the module has every feature asked for
 * @features: HMM_MIRROR_FEAT_* bits
 *
 * Return: 0, or -EOPNOTSUPP with hmm_mirror_last_error() naming the missing
 * features and their bits.
 */
int hmm_mirror_require(struct hmm_mirror *m, uint64_t features);

/**
 * hmm_mirror_feature_name() - "fault", "snapshot", ... for one feature bit
 *
 * Return: the name of the single bit @feature, or NULL if it is not exactly
 * one known bit.
 */
const char *hmm_mirror_feature_name(uint64_t feature);

/**
 * hmm_mirror_command_name() - "HANDSHAKE", "FAULT", ... for command number
 * @nr (the bit numbers of struct hmm_mirror_info.ioctls); NULL if unknown
 */
const char *hmm_mirror_command_name(unsigned int nr);

/* ------------------------------------------------------------------------
 * Choosing the address space
 */

/**
 * hmm_mirror_attach_pid() - mirror process @pid instead of the opener
 *
 * Opens a pidfd for @pid (pidfd_open(2)) and attaches through it.  Needs
 * HMM_MIRROR_FEAT_ATTACH.  Allowed when the caller may ptrace the target;
 * only while the device maps nothing.
 *
 * Return: 0, -EINVAL (@pid <= 0), -ESRCH (no such process, or it has no
 * address space), -EPERM (the caller may not ptrace it), -EBUSY (the
 * device maps pages), -EOPNOTSUPP (the module has no ATTACH), -ENOSYS (the
 * kernel has no pidfd_open), or another negative errno.
 */
int hmm_mirror_attach_pid(struct hmm_mirror *m, int pid);

/**
 * hmm_mirror_attach_pidfd() - mirror the process @pidfd refers to
 *
 * For callers that already hold a pidfd (race free against pid reuse).
 * The library does not close @pidfd.  Errors as hmm_mirror_attach_pid(),
 * and -EBADF when @pidfd is not a pidfd.
 */
int hmm_mirror_attach_pidfd(struct hmm_mirror *m, int pidfd);

/* ------------------------------------------------------------------------
 * The device page table
 */

/**
 * hmm_mirror_fault() - fault a range into the device page table
 * @flags: 0 (read) or HMM_MIRROR_FAULT_WRITE
 * @pages_mapped: if not NULL, receives the 4K pages the device maps in the
 *	range afterwards
 * @retries: if not NULL, receives how often the kernel walk restarted
 *	because an invalidation raced with it
 *
 * Return: 0, -EINVAL (bad range or flags), -EFAULT (part of the range is
 * not mapped or not readable), -EPERM (write fault on memory without write
 * permission), -EBUSY (invalidations kept racing), -ESRCH (the mirrored
 * process exited).
 */
int hmm_mirror_fault(struct hmm_mirror *m, uint64_t addr, uint64_t length,
		     uint32_t flags, uint64_t *pages_mapped,
		     uint64_t *retries);

/**
 * hmm_mirror_snapshot() - what the CPU page table holds, without faulting
 * @states: receives one HMM_MIRROR_PAGE_* state per page of the range
 * @states_len: entries @states holds; at least length / page size
 *
 * Return: 0, -EINVAL (bad range, NULL or short @states), -ESRCH.
 */
int hmm_mirror_snapshot(struct hmm_mirror *m, uint64_t addr, uint64_t length,
			uint32_t *states, size_t states_len);

/**
 * hmm_mirror_snapshot_runs() - hmm_mirror_snapshot() as runs of pages
 * @runs: receives runs (struct hmm_mirror_run of the ABI: @length bytes
 *	from @addr whose pages all have @state) in address order from @addr
 *	on, without gaps; each is the longest stretch of pages with one
 *	state, so consecutive runs differ in state.  The module writes the
 *	array directly.
 * @runs_len: entries @runs holds (at least 1)
 * @nr_runs: receives the runs written.  When @runs_len runs do not cover
 *	the range, the call stops after the last one that fits and succeeds;
 *	go on from its end.
 *
 * Output is O(runs) instead of O(pages): a range of uniform memory is one
 * run whatever its size.  Needs HMM_MIRROR_FEAT_SNAPSHOT_RUNS (ABI 2).
 *
 * Return: 0, -EINVAL (bad range, NULL @runs or @nr_runs, @runs_len 0),
 * -EOPNOTSUPP (an ABI 1 module), -ESRCH.
 */
int hmm_mirror_snapshot_runs(struct hmm_mirror *m, uint64_t addr,
			     uint64_t length, struct hmm_mirror_run *runs,
			     size_t runs_len, size_t *nr_runs);

/* A walk over the runs of a range: hmm_mirror_runs_open().  Opaque. */
struct hmm_mirror_runs;

/**
 * hmm_mirror_runs_open() - start walking a range of any size as runs
 * @addr: first byte, page aligned
 * @length: bytes, page aligned, not 0
 * @out: receives the walk, for hmm_mirror_runs_next(); set to NULL on
 *	failure
 *
 * The loop every user of hmm_mirror_snapshot_runs() would otherwise write:
 * the walk asks the module for a batch of runs at a time and goes on from
 * the end of a full batch.  With a module of ABI 1 (no
 * HMM_MIRROR_FEAT_SNAPSHOT_RUNS) it asks hmm_mirror_snapshot() for bounded
 * pieces of the range and collapses their page states into runs itself,
 * so the caller sees the same runs from every module.  Memory is bounded
 * whatever @length is.
 *
 * Nothing is asked of the module before the first hmm_mirror_runs_next().
 * The walk uses @m: close it with hmm_mirror_runs_close() before
 * hmm_mirror_close(@m).  Since 1.3.
 *
 * Return: 0, -EINVAL (NULL argument, bad range), -EOPNOTSUPP (the module
 * has no SNAPSHOT), -ENOMEM.
 */
int hmm_mirror_runs_open(struct hmm_mirror *m, uint64_t addr, uint64_t length,
			 struct hmm_mirror_runs **out);

/**
 * hmm_mirror_runs_next() - the next run of a walk
 * @it: from hmm_mirror_runs_open()
 * @run: receives the run: the longest stretch of pages from the end of the
 *	previous run on that have one state (struct hmm_mirror_page_run)
 *
 * Runs come in address order, without gaps, and two runs in a row differ
 * in state (the module's are merged where the memory changed between two
 * batches).  A page's state is what the CPU page table held when its
 * batch or piece was asked for: a long walk is not one instant.
 *
 * Return: 1 with a run in @run; 0 after the last run; a negative errno
 * as hmm_mirror_snapshot_runs() or hmm_mirror_snapshot() returns it (the
 * walk then stops: later calls return the same error), or -EIO when the
 * module's answer does not continue the walk.
 */
int hmm_mirror_runs_next(struct hmm_mirror_runs *it,
			 struct hmm_mirror_page_run *run);

/** hmm_mirror_runs_close() - end a walk and free it; NULL is ignored */
void hmm_mirror_runs_close(struct hmm_mirror_runs *it);

/**
 * hmm_mirror_query() - what the device page table maps now
 *
 * As hmm_mirror_snapshot(); HMM_MIRROR_PAGE_ERROR is never set.
 */
int hmm_mirror_query(struct hmm_mirror *m, uint64_t addr, uint64_t length,
		     uint32_t *states, size_t states_len);

/**
 * hmm_mirror_read() - copy @length bytes at @addr into @buf, as a device
 * @device_faults: if not NULL, receives the device faults taken to map
 *	missing pages
 *
 * Return: 0, -EINVAL (bad range, NULL @buf), -EFAULT (not mapped or not
 * readable, or a part of @buf not mapped or not writable), -EBUSY,
 * -ESRCH.  On error, a prefix may have been copied:
 * hmm_mirror_read_ex() says how long.
 */
int hmm_mirror_read(struct hmm_mirror *m, uint64_t addr, void *buf,
		    uint64_t length, uint64_t *device_faults);

/**
 * hmm_mirror_write() - copy @length bytes from @buf to @addr, as a device
 *
 * As hmm_mirror_read(), and -EPERM for memory without write permission.
 */
int hmm_mirror_write(struct hmm_mirror *m, uint64_t addr, const void *buf,
		     uint64_t length, uint64_t *device_faults);

/**
 * struct hmm_mirror_rw_result - what hmm_mirror_read_ex() and
 * hmm_mirror_write_ex() copied
 * @size: set by the caller (hmm_mirror_rw_result_init())
 * @reserved: 0
 * @bytes_copied: bytes copied from @addr on: the length on success; on
 *	failure, [addr, addr + bytes_copied) was copied and nothing after it
 *	was (0 when the arguments were refused).  A module without
 *	HMM_MIRROR_FEAT_RW_COPIED (ABI 2) does not say how far a failed copy
 *	got: 0 then.
 * @device_faults: device faults taken to map missing pages
 */
struct hmm_mirror_rw_result {
	uint32_t size;
	uint32_t reserved;
	uint64_t bytes_copied;
	uint64_t device_faults;
};
#define HMM_MIRROR_RW_RESULT_SIZE_VER1	24

static inline void hmm_mirror_rw_result_init(struct hmm_mirror_rw_result *res)
{
	memset(res, 0, sizeof(*res));
	res->size = sizeof(*res);
}

/**
 * hmm_mirror_read_ex() - hmm_mirror_read() that says how much it copied
 * @res: if not NULL, receives the bytes copied and the device faults
 *	taken, on success and on failure (@res->size set by the caller)
 *
 * The copy goes in address order, so on failure @res->bytes_copied is
 * where it stopped: the data before it is in @buf.  Since 1.2.
 *
 * Return: as hmm_mirror_read(), and -EINVAL for a small @res->size.
 */
int hmm_mirror_read_ex(struct hmm_mirror *m, uint64_t addr, void *buf,
		       uint64_t length, struct hmm_mirror_rw_result *res);

/**
 * hmm_mirror_write_ex() - hmm_mirror_write() that says how much it copied
 * @res: if not NULL, receives the bytes copied and the device faults
 *	taken, on success and on failure (@res->size set by the caller)
 *
 * On failure, the memory from @addr + @res->bytes_copied on is unchanged.
 * Since 1.2.
 *
 * Return: as hmm_mirror_write(), and -EINVAL for a small @res->size.
 */
int hmm_mirror_write_ex(struct hmm_mirror *m, uint64_t addr, const void *buf,
			uint64_t length, struct hmm_mirror_rw_result *res);

/* ------------------------------------------------------------------------
 * Invalidation events
 */

/**
 * hmm_mirror_events_config() - choose the events to receive
 * @reasons: bit (1 << HMM_MIRROR_EVENT_*) per reason, or
 *	HMM_MIRROR_EVENT_ALL_REASONS; 0 stops events
 * @queue_len: records the kernel queue holds, 0 for the default (1024), at
 *	most 65536
 *
 * Needs HMM_MIRROR_FEAT_EVENTS.
 *
 * Return: 0, -EINVAL (unknown reason bits, @queue_len too large),
 * -EBUSY (changing the length while records are queued), -EOPNOTSUPP.
 */
int hmm_mirror_events_config(struct hmm_mirror *m, uint32_t reasons,
			     uint32_t queue_len);

/**
 * hmm_mirror_event_record_init() - zero @rec and set its size
 * @rec: an event record, the ABI's struct hmm_mirror_event
 *
 * One invalidation event is a struct hmm_mirror_event of the ABI header:
 * @size set by the caller (with this function), @reason an
 * HMM_MIRROR_EVENT_* or HMM_MIRROR_EVENT_LOST; [@start, @end) the
 * invalidated range clipped to where the device mapped pages (0 for LOST);
 * @seq the sequence number (they run without gaps, lost events included,
 * so a LOST record's seq is that of the first lost event); @pages the 4K
 * device pages removed, or for LOST how many events were lost.
 */

static inline void hmm_mirror_event_record_init(struct hmm_mirror_event *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->size = sizeof(*rec);
}

/**
 * hmm_mirror_event_next() - take the oldest queued event record
 * @rec: receives the record (@rec->size set by the caller)
 * @timeout_ms: how long to wait: -1 forever, 0 not at all
 *
 * Reads exactly one record per call and keeps nothing buffered in the
 * library, so hmm_mirror_fd() is readable exactly while records are
 * queued.
 *
 * Return: 0 with a record in @rec; -EAGAIN when none arrived in time;
 * -ESRCH at the end of the stream (the mirrored address space exited and
 * every record, its RELEASE included, has been read); -EINTR when a signal
 * interrupted the wait; -EINVAL (NULL argument, small @rec->size, or events
 * were never configured); -EOPNOTSUPP.
 */
int hmm_mirror_event_next(struct hmm_mirror *m, struct hmm_mirror_event *rec,
			  int timeout_ms);

/**
 * hmm_mirror_event_reason_name() - "unmap", "clear", "protection",
 * "migrate", "release", "soft-dirty", "exclusive", "other", "lost"; NULL
 * for an unknown value
 */
const char *hmm_mirror_event_reason_name(uint32_t reason);

/* ------------------------------------------------------------------------
 * Statistics
 */

/**
 * hmm_mirror_counters_init() - zero @c and set its size
 * @c: the counters, the ABI's struct hmm_mirror_stats
 *
 * The counters are a struct hmm_mirror_stats of the ABI header: @size set
 * by the caller (with this function), @flags HMM_MIRROR_STATS_GLOBAL
 * for the module's totals since load, 0 for one mirror, then the counters,
 * which the ABI header documents.  hmm_mirror_counter_name() and the
 * functions after it describe every counter, so a program can list them
 * all, those added after it was written too.
 */

static inline void hmm_mirror_counters_init(struct hmm_mirror_stats *c)
{
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
}

/**
 * hmm_mirror_stats() - counters of this mirror
 *
 * Needs HMM_MIRROR_FEAT_STATS.  Works after the mirrored process exited.
 *
 * Return: 0, -EINVAL (NULL argument or small @c->size), -EOPNOTSUPP.
 */
int hmm_mirror_stats(struct hmm_mirror *m, struct hmm_mirror_stats *c);

/**
 * hmm_mirror_stats_global() - the module's counters since it was loaded
 *
 * The notifiers, dpt_* and mirrors fields are totals over the mirrors open
 * now, this one included.  Errors as hmm_mirror_stats().
 */
int hmm_mirror_stats_global(struct hmm_mirror *m, struct hmm_mirror_stats *c);

/*
 * The counters described: rows 0 to hmm_mirror_counter_count() - 1, in the
 * order of struct hmm_mirror_stats, each a field of it after @size and
 * @flags.  A program that lists counters this way lists the ones added
 * after it was written too.  Since 1.3.
 */

/** hmm_mirror_counter_count() - the number of counters (rows) */
unsigned int hmm_mirror_counter_count(void);

/**
 * hmm_mirror_counter_name() - "device_faults", ...: the field's name in
 * struct hmm_mirror_stats of counter @i; NULL past the last
 */
const char *hmm_mirror_counter_name(unsigned int i);

/**
 * hmm_mirror_counter_meaning() - what counter @i counts, one line in
 * lower case ("device faults taken by READ and WRITE"); NULL past the last
 */
const char *hmm_mirror_counter_meaning(unsigned int i);

/**
 * hmm_mirror_counter_len() - the values of counter @i: 1, or for an array
 * (invalidations) one per element; 0 past the last
 */
unsigned int hmm_mirror_counter_len(unsigned int i);

/**
 * hmm_mirror_counter_offset() - where counter @i starts in struct
 * hmm_mirror_stats, bytes (its values are uint64_t); 0 past the last
 */
size_t hmm_mirror_counter_offset(unsigned int i);

/**
 * hmm_mirror_counter_element_name() - the name of value @k of an array
 * counter @i (the HMM_MIRROR_EVENT_* reason names of
 * hmm_mirror_event_reason_name()); NULL for a single value or past the end
 */
const char *hmm_mirror_counter_element_name(unsigned int i, unsigned int k);

/**
 * hmm_mirror_counter_value() - value @k (0 for a single value) of counter
 * @i in @s
 *
 * Return: the value, or 0 when @s is NULL, @i or @k is past the end, or
 * the counter lies beyond @s->size (a struct older than the counter).
 */
uint64_t hmm_mirror_counter_value(const struct hmm_mirror_stats *s,
				  unsigned int i, unsigned int k);

/* ------------------------------------------------------------------------
 * Mappings of a process
 */

/* A walk over /proc/PID/maps or smaps: hmm_mirror_maps_open().  Opaque. */
struct hmm_mirror_maps;

/* hmm_mirror_maps_open() flags. */
#define HMM_MIRROR_MAPS_SMAPS		(1U << 0)	/* read smaps: VM flags and sizes */

/* struct hmm_mirror_mapping.flags */
#define HMM_MIRROR_MAPPING_DELETED	(1U << 0)	/* the file was deleted */
#define HMM_MIRROR_MAPPING_SMAPS	(1U << 1)	/* @vmflags and sizes are known */

/**
 * struct hmm_mirror_mapping - one mapping (VMA) of a process
 * @size: set by the caller (hmm_mirror_mapping_init())
 * @flags: HMM_MIRROR_MAPPING_DELETED: the kernel marked the path
 *	" (deleted)" (taken off @path); HMM_MIRROR_MAPPING_SMAPS: the smaps
 *	fields below were read
 * @start: first byte of the mapping
 * @end: end of the mapping, exclusive
 * @offset: offset in the file
 * @inode: inode of the file, 0 for anonymous memory
 * @dev_major: major number of the file's device (0 for anonymous memory)
 * @dev_minor: minor number of the file's device
 * @perms: "rw-p", "r-xs", ...: read, write, execute, shared or private
 * @path: the file, "[heap]", "[stack]", "[vsyscall]", ..., or "" for
 *	anonymous memory; valid until the next hmm_mirror_maps_next() or
 *	hmm_mirror_maps_close() of its walk
 * @vmflags: smaps VmFlags, two-letter flags separated by one space ("rd
 *	wr mr mw me ac"), "" when not known; valid as @path
 * @rss_kb: smaps Rss, KiB
 * @anon_huge_kb: smaps AnonHugePages, KiB
 * @hugetlb_kb: smaps Shared_Hugetlb + Private_Hugetlb, KiB
 * @kernel_page_kb: smaps KernelPageSize, KiB
 */
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
};
#define HMM_MIRROR_MAPPING_SIZE_VER1	(88 + 2 * sizeof(const char *))

static inline void hmm_mirror_mapping_init(struct hmm_mirror_mapping *map)
{
	memset(map, 0, sizeof(*map));
	map->size = sizeof(*map);
}

/**
 * hmm_mirror_maps_open() - start walking the mappings of process @pid
 * @pid: the process, or 0 for the caller
 * @flags: 0 to read /proc/PID/maps; HMM_MIRROR_MAPS_SMAPS to read
 *	/proc/PID/smaps (VM flags, resident and huge page sizes; slower),
 *	or maps when smaps cannot be opened
 * @out: receives the walk, for hmm_mirror_maps_next(); NULL on failure
 *
 * The file is read whole here, so the walk is one look at the process;
 * no mirror is needed.  A process that has exited or has no address space
 * (a kernel thread) may give an empty walk.  Since 1.3.
 *
 * Return: 0, -EINVAL (@pid negative, unknown @flags, NULL @out), -ENOENT
 * (no such process), -EACCES (the caller may not read its maps), -ENOMEM,
 * or another negative errno of open(2) or read(2).
 */
int hmm_mirror_maps_open(int pid, uint32_t flags,
			 struct hmm_mirror_maps **out);

/**
 * hmm_mirror_maps_parse() - walk the mappings of a maps or smaps text
 * @text: the text of a /proc/PID/maps or smaps file (need not end in a
 *	newline or a NUL; the library keeps its own copy)
 * @len: bytes of @text
 * @out: receives the walk, for hmm_mirror_maps_next(); NULL on failure
 *
 * For a saved file, or text read by other means.  Since 1.3.
 *
 * Return: 0, -EINVAL (NULL argument), -ENOMEM.
 */
int hmm_mirror_maps_parse(const char *text, size_t len,
			  struct hmm_mirror_maps **out);

/**
 * hmm_mirror_maps_next() - the next mapping of a walk
 * @it: from hmm_mirror_maps_open() or hmm_mirror_maps_parse()
 * @map: receives the mapping (@map->size set by the caller)
 *
 * Mappings come in the order of the file (address order).  Lines of
 * smaps fields the library does not know are skipped.
 *
 * Return: 1 with a mapping in @map; 0 after the last one; -EINVAL (NULL
 * argument, small @map->size, or a line that is neither a mapping nor a
 * "Name: value" field of one: hmm_mirror_last_error() quotes it).
 */
int hmm_mirror_maps_next(struct hmm_mirror_maps *it,
			 struct hmm_mirror_mapping *map);

/** hmm_mirror_maps_close() - end a walk and free it; NULL is ignored */
void hmm_mirror_maps_close(struct hmm_mirror_maps *it);

/* ------------------------------------------------------------------------
 * Device memory (since 1.4; ABI 4, HMM_MIRROR_FEAT_DEVICE_MEMORY)
 */

/**
 * hmm_mirror_migrate() - move a range into the device's memory or back
 * @m: the handle
 * @addr: start of the range (page aligned)
 * @length: bytes (page aligned, not 0)
 * @flags: 0 to move into device memory, HMM_MIRROR_MIGRATE_TO_SYSTEM to
 *	move back to system memory; HMM_MIRROR_MIGRATE_EVICT (ABI 5, needs
 *	HMM_MIRROR_FEAT_DEVICE_EVICT, not with TO_SYSTEM) to make room in a
 *	full pool by moving its oldest pages back first
 * @results: NULL, or @results_len entries: one HMM_MIRROR_MIGRATE_* per
 *	page (MOVED, ALREADY, NOT_MOVABLE, NO_MEMORY)
 * @results_len: entries of @results, at least one per page; 0 for NULL
 * @pages_moved: NULL, or the pages this call moved
 * @pages_not_moved: NULL, or the pages it could not move
 *
 * Pages that cannot move (file pages, pinned pages, no device memory
 * left) are reported, not failed.  A CPU access to a page in device
 * memory moves it back by itself.  Since 1.4.
 *
 * Return: 0, -EINVAL (range, flags, @results_len), -EOPNOTSUPP (no
 * device memory: the kernel lacks CONFIG_DEVICE_PRIVATE or the module was
 * loaded with device_memory_mb=0; or EVICT without
 * HMM_MIRROR_FEAT_DEVICE_EVICT), -ESRCH (the process exited), -EFAULT.
 */
int hmm_mirror_migrate(struct hmm_mirror *m, uint64_t addr, uint64_t length,
		       uint32_t flags, uint32_t *results,
		       uint64_t results_len, uint64_t *pages_moved,
		       uint64_t *pages_not_moved);

/**
 * struct hmm_mirror_device_memory - the device's memory and its use
 * @size: sizeof(struct hmm_mirror_device_memory): set by
 *	hmm_mirror_device_memory_init()
 * @reserved: 0
 * @total_bytes: device memory the module has, shared by every mirror
 * @used_bytes: bytes of it holding pages now (every mirror)
 * @mirror_pages: pages this mirror moved there that are there now
 * @pages_to_device: pages this mirror's MIGRATE moved to device memory
 * @pages_to_system: pages its MIGRATE moved back
 * @pages_faulted_back: of the pages it moved there, those a CPU access
 *	moved back
 * @pages_no_memory: pages its MIGRATE left for lack of memory
 */
struct hmm_mirror_device_memory {
	uint32_t size;
	uint32_t reserved;
	uint64_t total_bytes;
	uint64_t used_bytes;
	uint64_t mirror_pages;
	uint64_t pages_to_device;
	uint64_t pages_to_system;
	uint64_t pages_faulted_back;
	uint64_t pages_no_memory;
};
#define HMM_MIRROR_DEVICE_MEMORY_SIZE_VER1	64

static inline void
hmm_mirror_device_memory_init(struct hmm_mirror_device_memory *dm)
{
	memset(dm, 0, sizeof(*dm));
	dm->size = sizeof(*dm);
}

/**
 * hmm_mirror_device_memory() - the device's memory and this mirror's use
 * @m: the handle
 * @dm: filled in; @dm->size set by hmm_mirror_device_memory_init()
 *
 * Since 1.4.
 *
 * Return: 0, -EINVAL (NULL or small @dm), -EOPNOTSUPP (no device memory).
 */
int hmm_mirror_device_memory(struct hmm_mirror *m,
			     struct hmm_mirror_device_memory *dm);

/**
 * hmm_mirror_migrate_result_name() - "moved", "already", "not_movable",
 * "no_memory" for an HMM_MIRROR_MIGRATE_* result, NULL for another value.
 * Since 1.4.
 */
const char *hmm_mirror_migrate_result_name(uint32_t result);

/* ------------------------------------------------------------------------
 * Exclusive access (since 1.5; ABI 5, HMM_MIRROR_FEAT_EXCLUSIVE)
 */

/**
 * hmm_mirror_exclusive() - make a range exclusive to the device
 * @m: the handle
 * @addr: start of the range (page aligned)
 * @length: bytes (page aligned, not 0)
 * @results: NULL, or @results_len entries: per page 0 if the device now
 *	holds it exclusively, else the errno of the kernel's refusal
 *	(EFAULT: no mapping or no write access; EOPNOTSUPP: not anonymous
 *	memory; EBUSY: busy, or on kernels before 6.15 any refusal, the
 *	tail pages of a transparent huge page included)
 * @results_len: entries of @results, at least one per page; 0 for NULL
 * @pages_granted: NULL, or the pages the device holds after the call
 * @pages_refused: NULL, or the pages the kernel refused
 *
 * The CPU loses access to the granted pages until it touches one, which
 * takes that page back (an HMM_MIRROR_EVENT_EXCLUSIVE event).  Since 1.5.
 *
 * Return: 0, -EINVAL (range, @results_len), -EOPNOTSUPP (the kernel has
 * no device-exclusive entries: no CONFIG_DEVICE_PRIVATE), -ESRCH (the
 * process exited), -EFAULT (@results).
 */
int hmm_mirror_exclusive(struct hmm_mirror *m, uint64_t addr,
			 uint64_t length, uint32_t *results,
			 uint64_t results_len, uint64_t *pages_granted,
			 uint64_t *pages_refused);

/**
 * hmm_mirror_atomic() - a device atomic operation on one 64-bit word
 * @m: the handle
 * @addr: the word (8-byte aligned) in the mirrored process
 * @op: HMM_MIRROR_ATOMIC_ADD, _XCHG, _CMPXCHG, _OR or _AND
 * @operand: the operand
 * @compare: the expected value for HMM_MIRROR_ATOMIC_CMPXCHG; else 0
 * @flags: 0, or HMM_MIRROR_ATOMIC_NO_GRANT to fail with -EAGAIN instead of
 *	taking exclusive access to the word's page
 * @old: NULL, or the word's value before the operation
 *
 * Done through the device's exclusive access to the page, which it takes
 * first if it lacks it.  Since 1.5.
 *
 * Return: 0, -EINVAL (alignment, @op, @flags, @compare), -EAGAIN
 * (NO_GRANT and not held), -EOPNOTSUPP (no device-exclusive entries), the
 * errno of the kernel's refusal of the page (see hmm_mirror_exclusive()),
 * -ESRCH.
 */
int hmm_mirror_atomic(struct hmm_mirror *m, uint64_t addr, uint32_t op,
		      uint64_t operand, uint64_t compare, uint32_t flags,
		      uint64_t *old);

/**
 * hmm_mirror_atomic_op_name() - "add", "xchg", "cmpxchg", "or", "and" for
 * an HMM_MIRROR_ATOMIC_* operation, NULL for another value.  Since 1.5.
 */
const char *hmm_mirror_atomic_op_name(uint32_t op);

/* ------------------------------------------------------------------------
 * Errors and version
 */

/**
 * hmm_mirror_last_error() - what the calling thread's last failed call was
 *
 * For example "hmm_mirror_fault(addr=0x7f12a000, length=0x2000, write):
 * EPERM: write fault on memory without write permission".  Valid until the
 * thread's next failing library call; "" if none failed yet.
 */
const char *hmm_mirror_last_error(void);

/**
 * hmm_mirror_strerror() - "EINVAL: Invalid argument" for @err (negative or
 * positive errno); never NULL.  The text is in a thread-local buffer,
 * valid until the thread calls hmm_mirror_strerror() again.
 */
const char *hmm_mirror_strerror(int err);

/**
 * hmm_mirror_errno_name() - "EINVAL" for @err (negative or positive), NULL
 * for a value the library does not name
 */
const char *hmm_mirror_errno_name(int err);

/**
 * hmm_mirror_lib_version() - "1.5.0", the library's version string
 * (HMM_MIRROR_LIB_VERSION_MAJOR.MINOR.PATCH of this header)
 */
const char *hmm_mirror_lib_version(void);

#ifdef __cplusplus
}
#endif

#endif /* LIBHMM_MIRROR_H */
