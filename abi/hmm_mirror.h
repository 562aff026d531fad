/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR MIT) */
/*
 * hmm_mirror.h - user-space ABI of /dev/hmm_mirror
 *
 * The one contract shared by the kernel module, libhmm_mirror and the
 * language bindings.  abi/README.md documents every ioctl, its errors and
 * the compatibility rules; the rules in short:
 *
 * - Every argument struct starts with "__u32 size", set by the caller to
 *   the size of the struct it was compiled with.  Structs only grow at the
 *   end.  A caller with a smaller struct gets the missing fields as zero; a
 *   caller with a larger struct must leave the fields the module does not
 *   know as zero (else E2BIG).  The module writes back at most "size" bytes.
 * - Unknown flags and non-zero reserved fields are rejected with EINVAL.
 * - Unknown ioctl commands return ENOTTY.
 * - Commands are _IO() numbers; the struct size travels in the struct, not
 *   in the command, so a grown struct keeps its command number.
 * - Addresses and lengths are bytes; ranges must be page aligned.
 */
#ifndef _UAPI_LINUX_HMM_MIRROR_H
#define _UAPI_LINUX_HMM_MIRROR_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define HMM_MIRROR_ABI_VERSION		5

/* Not given out by Documentation/userspace-api/ioctl/ioctl-number.rst. */
#define HMM_MIRROR_IOC_MAGIC		0xB2

/* Feature bits, answered by HMM_MIRROR_IOC_HANDSHAKE. */
#define HMM_MIRROR_FEAT_FAULT		(1ULL << 0)
#define HMM_MIRROR_FEAT_SNAPSHOT	(1ULL << 1)
#define HMM_MIRROR_FEAT_DEVICE_RW	(1ULL << 2)
#define HMM_MIRROR_FEAT_QUERY		(1ULL << 3)
#define HMM_MIRROR_FEAT_HUGE_ENTRIES	(1ULL << 4)
#define HMM_MIRROR_FEAT_ATTACH		(1ULL << 5)
#define HMM_MIRROR_FEAT_EVENTS		(1ULL << 6)
#define HMM_MIRROR_FEAT_LAZY_NOTIFIERS	(1ULL << 7)
#define HMM_MIRROR_FEAT_FILE_BACKED	(1ULL << 8)
#define HMM_MIRROR_FEAT_FORK		(1ULL << 9)
#define HMM_MIRROR_FEAT_EXIT		(1ULL << 10)
#define HMM_MIRROR_FEAT_STATS		(1ULL << 11)
/* Since ABI version 2. */
#define HMM_MIRROR_FEAT_SNAPSHOT_RUNS	(1ULL << 12)
/* Since ABI version 3. */
#define HMM_MIRROR_FEAT_RW_COPIED	(1ULL << 13)
#define HMM_MIRROR_FEAT_ADDR_LIMIT	(1ULL << 14)
/*
 * Since ABI version 4: device-private memory and HMM_MIRROR_IOC_MIGRATE.
 * Only where the kernel has device-private memory (CONFIG_DEVICE_PRIVATE)
 * and the module has a pool (device_memory_mb > 0); else MIGRATE fails
 * with EOPNOTSUPP.
 */
#define HMM_MIRROR_FEAT_DEVICE_MEMORY	(1ULL << 15)
/*
 * Since ABI version 5: exclusive device access for atomic operations,
 * HMM_MIRROR_IOC_EXCLUSIVE and HMM_MIRROR_IOC_ATOMIC.  Only where the
 * kernel has device-exclusive entries (CONFIG_DEVICE_PRIVATE); else both
 * fail with EOPNOTSUPP.  The module's device memory is not needed.
 */
#define HMM_MIRROR_FEAT_EXCLUSIVE	(1ULL << 16)
/*
 * Since ABI version 5: MIGRATE takes HMM_MIRROR_MIGRATE_EVICT, which makes
 * room in a full pool by moving its oldest pages back to system memory.
 * Advertised with HMM_MIRROR_FEAT_DEVICE_MEMORY only.
 */
#define HMM_MIRROR_FEAT_DEVICE_EVICT	(1ULL << 17)
/*
 * Every feature bit this header defines.  A module of this version has
 * all but HMM_MIRROR_FEAT_DEVICE_MEMORY, HMM_MIRROR_FEAT_EXCLUSIVE and
 * HMM_MIRROR_FEAT_DEVICE_EVICT, which depend on the kernel.
 */
#define HMM_MIRROR_FEAT_ALL		((HMM_MIRROR_FEAT_DEVICE_EVICT << 1) - 1)

/*
 * The end, exclusive, of the addresses the device page table maps: 48 bits,
 * whatever the CPU's paging depth.  HANDSHAKE reports it as @addr_limit.
 */
#define HMM_MIRROR_ADDR_LIMIT		(1ULL << 48)

/**
 * struct hmm_mirror_handshake - HMM_MIRROR_IOC_HANDSHAKE
 * @size: sizeof(struct hmm_mirror_handshake) as the caller knows it
 * @flags: must be 0
 * @abi_version: in: the ABI version the caller speaks (>= 1)
 * @module_abi_version: out: the ABI version the module speaks
 * @features_wanted: in: HMM_MIRROR_FEAT_* the caller intends to use
 * @features_supported: out: every HMM_MIRROR_FEAT_* the module supports
 * @ioctls_supported: out: bit n set when the command with number n exists
 * @page_shift: out: log2 of the page size all ranges are measured in
 * @reserved: must be 0
 * @addr_limit: out (ABI 3): the end, exclusive, of the addresses the device
 *	page table can map (HMM_MIRROR_ADDR_LIMIT); a range reaching beyond
 *	it is EINVAL even where the process can map memory (5-level paging).
 *	Written as 0 to a caller of an older @abi_version.
 * @device_memory_size: out (ABI 4): bytes of device-private memory the
 *	module has (shared by every mirror), 0 without
 *	HMM_MIRROR_FEAT_DEVICE_MEMORY
 * @device_memory_used: out (ABI 4): bytes of it holding pages now
 *
 * Has no side effects and may be repeated; "out" fields are ignored on input.
 * Wanting an unsupported feature is not an error: the caller compares
 * @features_wanted with @features_supported.
 */
struct hmm_mirror_handshake {
	__u32 size;
	__u32 flags;
	__u32 abi_version;
	__u32 module_abi_version;
	__u64 features_wanted;
	__u64 features_supported;
	__u64 ioctls_supported;
	__u32 page_shift;
	__u32 reserved;
	__u64 addr_limit;
	__u64 device_memory_size;
	__u64 device_memory_used;
};
#define HMM_MIRROR_HANDSHAKE_SIZE_VER1	48
#define HMM_MIRROR_HANDSHAKE_SIZE_VER3	56
#define HMM_MIRROR_HANDSHAKE_SIZE_VER4	72

/* struct hmm_mirror_fault.flags */
#define HMM_MIRROR_FAULT_WRITE		(1U << 0)

/**
 * struct hmm_mirror_fault - HMM_MIRROR_IOC_FAULT
 * @size: sizeof(struct hmm_mirror_fault)
 * @flags: HMM_MIRROR_FAULT_WRITE to fault for write
 * @addr: start of the range in the mirrored address space
 * @length: length of the range in bytes
 * @pages_mapped: out: 4K-equivalent pages the device maps in the range after
 *	the call
 * @retries: out: times hmm_range_fault() had to be restarted because an
 *	invalidation raced with it
 *
 * Faults the range in the CPU page table with hmm_range_fault() and records
 * every page in the device page table.
 */
struct hmm_mirror_fault {
	__u32 size;
	__u32 flags;
	__u64 addr;
	__u64 length;
	__u64 pages_mapped;
	__u64 retries;
};
#define HMM_MIRROR_FAULT_SIZE_VER1	40

/*
 * Page state, one __u32 per page in the array of struct hmm_mirror_pages.
 * 0 means "nothing there".  The order (0 for 4K, 9 for 2M, 18 for 1G) is
 * that of the mapping that holds the page.
 */
#define HMM_MIRROR_PAGE_VALID		(1U << 0)
#define HMM_MIRROR_PAGE_WRITE		(1U << 1)
#define HMM_MIRROR_PAGE_ERROR		(1U << 2)
#define HMM_MIRROR_PAGE_ZERO		(1U << 3)
/* ABI 4: the page is in this module's device-private memory. */
#define HMM_MIRROR_PAGE_DEVICE		(1U << 4)
/*
 * ABI 5, QUERY only: the device holds the page for exclusive (atomic)
 * access; the CPU page table has a device-exclusive entry instead of it.
 */
#define HMM_MIRROR_PAGE_EXCLUSIVE	(1U << 5)
#define HMM_MIRROR_PAGE_ORDER_SHIFT	8
#define HMM_MIRROR_PAGE_ORDER(state)	(((state) >> HMM_MIRROR_PAGE_ORDER_SHIFT) & 0xff)

/* struct hmm_mirror_pages.flags */
#define HMM_MIRROR_PAGES_RUNS		(1U << 0)	/* SNAPSHOT only, ABI 2 */

/**
 * struct hmm_mirror_pages - HMM_MIRROR_IOC_SNAPSHOT and HMM_MIRROR_IOC_QUERY
 * @size: sizeof(struct hmm_mirror_pages)
 * @flags: 0, or HMM_MIRROR_PAGES_RUNS (SNAPSHOT only)
 * @addr: start of the range
 * @length: length of the range in bytes
 * @states: user pointer to an array of __u32, one per page of the range;
 *	with HMM_MIRROR_PAGES_RUNS, to an array of struct hmm_mirror_run
 * @states_len: number of entries @states holds; at least length >> page_shift
 *	(with HMM_MIRROR_PAGES_RUNS: at least 1)
 * @nr_runs: out, with HMM_MIRROR_PAGES_RUNS: runs written (ABI 2)
 *
 * SNAPSHOT reports what the CPU page table holds, without faulting and
 * without changing the device page table.  QUERY reports what the device
 * page table holds now.
 *
 * With HMM_MIRROR_PAGES_RUNS, SNAPSHOT reports runs instead of pages: each
 * run is the longest stretch of consecutive pages with one state, so
 * consecutive runs differ in state.  They are written in address order
 * from @addr on without gaps.  When @states_len runs do not cover the
 * range, the call stops after the last run that fits (which ends where
 * the next page's state differs) and succeeds; the caller goes on from
 * its end.  The caller's struct must hold @nr_runs.
 */
struct hmm_mirror_pages {
	__u32 size;
	__u32 flags;
	__u64 addr;
	__u64 length;
	__u64 states;
	__u64 states_len;
	__u64 nr_runs;
};
#define HMM_MIRROR_PAGES_SIZE_VER1	40
#define HMM_MIRROR_PAGES_SIZE_VER2	48

/**
 * struct hmm_mirror_run - one run of a SNAPSHOT with HMM_MIRROR_PAGES_RUNS
 * @addr: first byte of the run (page aligned)
 * @length: bytes in the run (a multiple of the page size, never 0)
 * @state: the HMM_MIRROR_PAGE_* state of every page of the run
 * @reserved: written as 0
 *
 * The order in @state is that of the mappings holding the pages; a run of
 * order 9 is made of whole, naturally aligned 2M mappings, except where
 * the range cuts one.
 */
struct hmm_mirror_run {
	__u64 addr;
	__u64 length;
	__u32 state;
	__u32 reserved;
};
#define HMM_MIRROR_RUN_SIZE		24

/**
 * struct hmm_mirror_rw - HMM_MIRROR_IOC_READ and HMM_MIRROR_IOC_WRITE
 * @size: sizeof(struct hmm_mirror_rw)
 * @flags: must be 0
 * @addr: start of the range in the mirrored address space
 * @length: length of the range in bytes
 * @buf: user pointer to the caller's buffer of @length bytes
 * @device_faults: out: device faults taken to map missing pages
 * @bytes_copied: out (ABI 3): bytes copied, from @addr on: @length on
 *	success.  When the call fails, the module writes the struct back to
 *	a caller whose @size holds this field, with the bytes copied before
 *	the failure (0 when nothing was): [addr, addr + bytes_copied) was
 *	copied, nothing from there on was.  Only a struct that cannot be
 *	read, or whose @size is refused, is left untouched.
 *
 * Copies between @buf and the range through the device page table, the way
 * a device would: pages the device does not map (or, for WRITE, maps
 * read-only) are faulted in first.
 */
struct hmm_mirror_rw {
	__u32 size;
	__u32 flags;
	__u64 addr;
	__u64 length;
	__u64 buf;
	__u64 device_faults;
	__u64 bytes_copied;
};
#define HMM_MIRROR_RW_SIZE_VER1		40
#define HMM_MIRROR_RW_SIZE_VER3		48

/**
 * struct hmm_mirror_attach - HMM_MIRROR_IOC_ATTACH
 * @size: sizeof(struct hmm_mirror_attach)
 * @flags: must be 0
 * @pidfd: a pidfd (pidfd_open(2)) of the process to mirror
 * @reserved: must be 0
 *
 * Binds the mirror to another process's address space instead of the
 * opener's.  Allowed when the caller may ptrace the target (the check of
 * /proc/PID/mem, as for process_vm_readv), and only while the device maps
 * nothing.
 */
struct hmm_mirror_attach {
	__u32 size;
	__u32 flags;
	__u32 pidfd;
	__u32 reserved;
};
#define HMM_MIRROR_ATTACH_SIZE_VER1	16

/* Invalidation reasons: struct hmm_mirror_event.reason, bit in .reasons. */
#define HMM_MIRROR_EVENT_UNMAP		0	/* munmap, mremap */
#define HMM_MIRROR_EVENT_CLEAR		1	/* madvise, truncate, zap */
#define HMM_MIRROR_EVENT_PROTECTION	2	/* mprotect, fork COW */
#define HMM_MIRROR_EVENT_MIGRATE	3	/* page migration */
#define HMM_MIRROR_EVENT_RELEASE	4	/* the address space exited */
#define HMM_MIRROR_EVENT_SOFT_DIRTY	5	/* soft-dirty clearing */
#define HMM_MIRROR_EVENT_EXCLUSIVE	6	/* exclusive device access */
#define HMM_MIRROR_EVENT_OTHER		7	/* any other kernel reason */
#define HMM_MIRROR_EVENT_NR_REASONS	8
/* Not an invalidation: @pages events were lost because the queue was full. */
#define HMM_MIRROR_EVENT_LOST		8
#define HMM_MIRROR_EVENT_ALL_REASONS	((1U << HMM_MIRROR_EVENT_NR_REASONS) - 1)

/**
 * struct hmm_mirror_event - one record returned by read(2) on the mirror fd
 * @size: sizeof(struct hmm_mirror_event); step by it to the next record
 * @reason: HMM_MIRROR_EVENT_*
 * @start: first byte of the invalidated range, clipped to where the device
 *	mapped pages
 * @end: end (exclusive) of that range
 * @seq: sequence number; one per event generated, lost ones included, so
 *	a gap before a LOST record is exactly the lost events
 * @pages: device pages (4K) the invalidation removed; for LOST: events lost
 * @flags: HMM_MIRROR_EVENT_FLAG_* (ABI 4), else 0
 * @reserved: 0
 */
struct hmm_mirror_event {
	__u32 size;
	__u32 reason;
	__u64 start;
	__u64 end;
	__u64 seq;
	__u64 pages;
	__u32 flags;
	__u32 reserved;
};
#define HMM_MIRROR_EVENT_SIZE_VER1	48

/*
 * struct hmm_mirror_event.flags (ABI 4), on HMM_MIRROR_EVENT_MIGRATE: the
 * pages moved into this module's device memory (MIGRATE), or out of it
 * (MIGRATE back, or a CPU access faulting them back).  Neither flag: the
 * kernel moved system pages (NUMA, compaction, another device).
 */
#define HMM_MIRROR_EVENT_FLAG_TO_DEVICE	(1U << 0)
#define HMM_MIRROR_EVENT_FLAG_TO_SYSTEM	(1U << 1)

/**
 * struct hmm_mirror_events - HMM_MIRROR_IOC_EVENTS: choose the events
 * @size: sizeof(struct hmm_mirror_events)
 * @flags: must be 0
 * @reasons: bit (1 << HMM_MIRROR_EVENT_*) per reason to receive; 0 stops
 *	events (the default)
 * @queue_len: records the queue holds, 0 for the default (1024); at most
 *	65536.  Changing it while records are queued is EBUSY.
 */
struct hmm_mirror_events {
	__u32 size;
	__u32 flags;
	__u32 reasons;
	__u32 queue_len;
};
#define HMM_MIRROR_EVENTS_SIZE_VER1	16
/* queue_len: 0 asks for the default; more than the maximum is EINVAL. */
#define HMM_MIRROR_EVENTS_DEFAULT_LEN	1024
#define HMM_MIRROR_EVENTS_MAX_LEN	65536

/* struct hmm_mirror_stats.flags */
#define HMM_MIRROR_STATS_GLOBAL		(1U << 0)	/* whole module */

/**
 * struct hmm_mirror_stats - HMM_MIRROR_IOC_STATS
 * @size: sizeof(struct hmm_mirror_stats)
 * @flags: 0 for this mirror, HMM_MIRROR_STATS_GLOBAL for the module's
 *	totals since it was loaded
 * @device_faults: device faults taken by READ and WRITE
 * @fault_calls: FAULT commands plus device faults (hmm_range_fault runs)
 * @pages_faulted: pages entered into the device page table
 * @fault_retries: hmm_range_fault() restarts after a racing invalidation
 * @invalidations: invalidation callbacks, by HMM_MIRROR_EVENT_* reason
 * @pages_invalidated: device pages removed by invalidations
 * @events_delivered: records returned by read(2), LOST records included
 * @events_lost: events dropped because the queue was full
 * @notifiers: interval notifiers registered now
 * @dpt_tables: device page-table pages allocated now
 * @dpt_pages: 4K pages the device page table maps now
 * @mirrors: open mirrors (GLOBAL only; 1 otherwise)
 * @device_memory_pages: (ABI 4) 4K pages of device memory the module has
 * @device_pages: (ABI 4) pages in device memory now: GLOBAL, all of them;
 *	otherwise those this mirror moved there
 * @pages_to_device: (ABI 4) pages MIGRATE moved to device memory
 * @pages_to_system: (ABI 4) pages MIGRATE moved back to system memory
 * @pages_faulted_back: (ABI 4) pages a CPU access moved back (for a
 *	mirror: of those it had moved there)
 * @pages_no_memory: (ABI 4) pages MIGRATE did not move for lack of memory
 * @exclusive_granted: (ABI 5) pages EXCLUSIVE (or ATOMIC taking it) made
 *	exclusive to the device; a CPU access revoking one is counted in
 *	@invalidations[HMM_MIRROR_EVENT_EXCLUSIVE]
 * @atomic_ops: (ABI 5) ATOMIC operations done
 * @pages_evicted: (ABI 5) pages MIGRATE with HMM_MIRROR_MIGRATE_EVICT moved
 *	back to system memory to make room (for a mirror: of those it had
 *	moved there, whoever evicted them)
 */
struct hmm_mirror_stats {
	__u32 size;
	__u32 flags;
	__u64 device_faults;
	__u64 fault_calls;
	__u64 pages_faulted;
	__u64 fault_retries;
	__u64 invalidations[HMM_MIRROR_EVENT_NR_REASONS];
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
	__u64 exclusive_granted;
	__u64 atomic_ops;
	__u64 pages_evicted;
};
#define HMM_MIRROR_STATS_SIZE_VER1	160
#define HMM_MIRROR_STATS_SIZE_VER4	208
/* ABI 5 (unreleased) added exclusive_granted, atomic_ops, pages_evicted. */
#define HMM_MIRROR_STATS_SIZE_VER5	232

/* struct hmm_mirror_migrate.flags */
#define HMM_MIRROR_MIGRATE_TO_SYSTEM	(1U << 0)	/* else to the device */
/* ABI 5, HMM_MIRROR_FEAT_DEVICE_EVICT: make room (to the device only) */
#define HMM_MIRROR_MIGRATE_EVICT	(1U << 1)

/* struct hmm_mirror_migrate results, one __u32 per page */
#define HMM_MIRROR_MIGRATE_MOVED	1	/* moved by this call */
#define HMM_MIRROR_MIGRATE_ALREADY	2	/* already where asked */
#define HMM_MIRROR_MIGRATE_NOT_MOVABLE	3	/* cannot move (see README) */
#define HMM_MIRROR_MIGRATE_NO_MEMORY	4	/* no free page at the target */

/**
 * struct hmm_mirror_migrate - HMM_MIRROR_IOC_MIGRATE (ABI 4)
 * @size: sizeof(struct hmm_mirror_migrate)
 * @flags: 0 to move the range into device memory,
 *	HMM_MIRROR_MIGRATE_TO_SYSTEM to move it back; with
 *	HMM_MIRROR_MIGRATE_EVICT (ABI 5, not with TO_SYSTEM: EINVAL), pages
 *	that find the pool full first evict its oldest pages, of any
 *	mirror, back to system memory
 * @addr: start of the range (page aligned)
 * @length: length of the range in bytes (page aligned)
 * @results: user pointer to an array of __u32, one
 *	HMM_MIRROR_MIGRATE_* per page, or 0 for none
 * @results_len: entries @results holds: at least length >> page_shift
 *	(0 with no @results)
 * @pages_moved: out: pages this call moved
 * @pages_not_moved: out: pages it could not move (NOT_MOVABLE, NO_MEMORY)
 *
 * Moves the anonymous private pages of the range, copying them through
 * the device.  A page that cannot move is reported and left where it is;
 * only a bad argument or a failure of the whole device fails the call.
 */
struct hmm_mirror_migrate {
	__u32 size;
	__u32 flags;
	__u64 addr;
	__u64 length;
	__u64 results;
	__u64 results_len;
	__u64 pages_moved;
	__u64 pages_not_moved;
};
#define HMM_MIRROR_MIGRATE_SIZE_VER4	56

/**
 * struct hmm_mirror_exclusive - HMM_MIRROR_IOC_EXCLUSIVE (ABI 5)
 * @size: sizeof(struct hmm_mirror_exclusive)
 * @flags: 0
 * @addr: start of the range (page aligned)
 * @length: length of the range in bytes (page aligned)
 * @results: user pointer to an array of __u32, one per page: 0 if the
 *	device now holds the page exclusively, else the positive errno of
 *	the kernel's refusal (see README); or 0 for no array
 * @results_len: entries @results holds: at least length >> page_shift
 *	(0 with no @results)
 * @pages_granted: out: pages the device holds exclusively after the call
 * @pages_refused: out: pages the kernel refused
 *
 * Makes each page of the range exclusive to the device: the CPU page
 * table gets a device-exclusive entry in its place (faulting the page in
 * writable first), and the device maps it for atomic operations until a
 * CPU access takes it back (an event of reason HMM_MIRROR_EVENT_EXCLUSIVE).
 * Only anonymous private pages of a writable mapping qualify.  A refused
 * page is reported, not failed; only a bad argument or a failure of the
 * whole device fails the call.
 */
struct hmm_mirror_exclusive {
	__u32 size;
	__u32 flags;
	__u64 addr;
	__u64 length;
	__u64 results;
	__u64 results_len;
	__u64 pages_granted;
	__u64 pages_refused;
};
#define HMM_MIRROR_EXCLUSIVE_SIZE_VER5	56

/* struct hmm_mirror_atomic.op: old = *addr; *addr = f(old, operand) */
#define HMM_MIRROR_ATOMIC_ADD		0	/* old + operand */
#define HMM_MIRROR_ATOMIC_XCHG		1	/* operand */
#define HMM_MIRROR_ATOMIC_CMPXCHG	2	/* old == compare ? operand : old */
#define HMM_MIRROR_ATOMIC_OR		3	/* old | operand */
#define HMM_MIRROR_ATOMIC_AND		4	/* old & operand */
#define HMM_MIRROR_ATOMIC_NR_OPS	5

/* struct hmm_mirror_atomic.flags */
#define HMM_MIRROR_ATOMIC_NO_GRANT	(1U << 0)	/* EAGAIN unless held */

/**
 * struct hmm_mirror_atomic - HMM_MIRROR_IOC_ATOMIC (ABI 5)
 * @size: sizeof(struct hmm_mirror_atomic)
 * @flags: 0, or HMM_MIRROR_ATOMIC_NO_GRANT: fail with EAGAIN if the
 *	device does not hold the page exclusively, instead of taking it
 * @addr: the 64-bit word, 8-byte aligned
 * @op: HMM_MIRROR_ATOMIC_*
 * @reserved: 0
 * @operand: the operand of @op
 * @compare: for HMM_MIRROR_ATOMIC_CMPXCHG, the value expected; else 0
 * @old: out: the word's value before the operation
 *
 * A device atomic operation on one word of the mirrored process, done
 * through the device's exclusive mapping of its page.  Without one, the
 * device takes exclusive access first, as a device's atomic fault would
 * (unless HMM_MIRROR_ATOMIC_NO_GRANT).
 */
struct hmm_mirror_atomic {
	__u32 size;
	__u32 flags;
	__u64 addr;
	__u32 op;
	__u32 reserved;
	__u64 operand;
	__u64 compare;
	__u64 old;
};
#define HMM_MIRROR_ATOMIC_SIZE_VER5	48

#define HMM_MIRROR_NR_HANDSHAKE		0x00
#define HMM_MIRROR_NR_FAULT		0x01
#define HMM_MIRROR_NR_SNAPSHOT		0x02
#define HMM_MIRROR_NR_READ		0x03
#define HMM_MIRROR_NR_WRITE		0x04
#define HMM_MIRROR_NR_QUERY		0x05
#define HMM_MIRROR_NR_ATTACH		0x06
#define HMM_MIRROR_NR_EVENTS		0x07
#define HMM_MIRROR_NR_STATS		0x08
#define HMM_MIRROR_NR_MIGRATE		0x09	/* ABI 4 */
#define HMM_MIRROR_NR_EXCLUSIVE		0x0a	/* ABI 5 */
#define HMM_MIRROR_NR_ATOMIC		0x0b	/* ABI 5 */
/* Commands are numbered 0 to HMM_MIRROR_NR_COMMANDS - 1. */
#define HMM_MIRROR_NR_COMMANDS		12

#define HMM_MIRROR_IOC_HANDSHAKE	_IO(HMM_MIRROR_IOC_MAGIC, HMM_MIRROR_NR_HANDSHAKE)
#define HMM_MIRROR_IOC_FAULT		_IO(HMM_MIRROR_IOC_MAGIC, HMM_MIRROR_NR_FAULT)
#define HMM_MIRROR_IOC_SNAPSHOT		_IO(HMM_MIRROR_IOC_MAGIC, HMM_MIRROR_NR_SNAPSHOT)
#define HMM_MIRROR_IOC_READ		_IO(HMM_MIRROR_IOC_MAGIC, HMM_MIRROR_NR_READ)
#define HMM_MIRROR_IOC_WRITE		_IO(HMM_MIRROR_IOC_MAGIC, HMM_MIRROR_NR_WRITE)
#define HMM_MIRROR_IOC_QUERY		_IO(HMM_MIRROR_IOC_MAGIC, HMM_MIRROR_NR_QUERY)
#define HMM_MIRROR_IOC_ATTACH		_IO(HMM_MIRROR_IOC_MAGIC, HMM_MIRROR_NR_ATTACH)
#define HMM_MIRROR_IOC_EVENTS		_IO(HMM_MIRROR_IOC_MAGIC, HMM_MIRROR_NR_EVENTS)
#define HMM_MIRROR_IOC_STATS		_IO(HMM_MIRROR_IOC_MAGIC, HMM_MIRROR_NR_STATS)
#define HMM_MIRROR_IOC_MIGRATE		_IO(HMM_MIRROR_IOC_MAGIC, HMM_MIRROR_NR_MIGRATE)
#define HMM_MIRROR_IOC_EXCLUSIVE	_IO(HMM_MIRROR_IOC_MAGIC, HMM_MIRROR_NR_EXCLUSIVE)
#define HMM_MIRROR_IOC_ATOMIC		_IO(HMM_MIRROR_IOC_MAGIC, HMM_MIRROR_NR_ATOMIC)

#endif /* _UAPI_LINUX_HMM_MIRROR_H */
