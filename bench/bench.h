/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bench.h - what the parts of hmm_bench share: the options, the case table,
 * the statistics and results (stats.c), memory regions (memory.c), the two
 * devices (devices.c), the CPUs (cpu.c) and the text output (output.c).
 * Each case is one file in cases/, registered in harness.c.
 */
#ifndef HMM_BENCH_H
#define HMM_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hmm_mirror_run;
struct hmm_mirror_stats;

#define PAGE		4096UL
#define MiB		(1UL << 20)
#define GiB		(1UL << 30)
#define MAX_REPS	64
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- options (harness.c) ------------------------------------------------ */

struct bench_opt {
	unsigned long min_mb, max_mb, scale_mb, dpt_max_mb, migrate_max_mb;
	unsigned int reps, lat_iters;
	bool mode_4k, mode_thp;
	const char *json, *txt;
};
extern struct bench_opt opt;

/* The sizes of the run: min, 4*min, 16*min, ... and max (harness.c). */
extern unsigned long sizes[16], dpt_sizes[16], migrate_sizes[16];
extern unsigned int nr_sizes, nr_dpt_sizes, nr_migrate_sizes;

/* ---- cases -------------------------------------------------------------- */

/* When the harness runs a case. */
enum case_when {
	CASE_SIZES,	/* per page mode, at every size, on CPU 0 */
	CASE_DPT_SIZES,	/* per page mode, at every page-table size, on CPU 0 */
	CASE_MIGRATE_SIZES, /* per page mode, at every migration size, on CPU 0 */
	CASE_ONCE_CPU0,	/* once, on CPU 0 */
	CASE_ONCE_ALL,	/* once, on every CPU, kept out of HLT (cpu.c) */
};

/* One run of a case. */
struct case_ctx {
	unsigned long size;	/* bytes */
	bool thp;		/* THP pages, else 4K only */
	const char *mode;	/* "4k" or "thp" */
	char sz[16];		/* the size as printed: 1M, 256M, 1G */
	unsigned int reps;	/* runs per figure at this size */
};

struct bench_case {
	const char *name;	/* the BENCH_CASES word */
	const char *description;
	enum case_when when;
	void (*run)(const struct case_ctx *ctx);
	void (*report)(void);	/* its section of the text output */
	/*
	 * Optional: at start-up, before any timing and before the size lists
	 * are made (it may lower opt's maxima).  Returns false to skip the
	 * case, after note() said why.
	 */
	bool (*check)(void);
};

extern const struct bench_case case_rw, case_snapshot, case_munmap,
	case_dpt, case_latency, case_scaling, case_migrate, case_faultback;

/* ---- utilities (harness.c) ---------------------------------------------- */

uint64_t now_ns(void);
__attribute__((format(printf, 1, 2), noreturn)) void die(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void progress(const char *fmt, ...);
const char *mode_name(bool thp);
extern const char *const page_modes[2];	/* "4k", "thp": the order of the output */
void size_str(char *b, size_t n, unsigned long bytes);
/* Runs per figure at @size: more for small, noisy sizes. */
unsigned int reps_for(unsigned long size);

/* ---- statistics and results (stats.c) ----------------------------------- */

int cmp_double(const void *a, const void *b);
double median(const double *v, unsigned int n);

/* One timed figure: a case, a page mode, a contender, a size, its runs. */
struct result {
	char name[24];		/* read_cold, munmap_mirrored, ... */
	char mode[4];		/* 4k, thp */
	char impl[16];		/* hmm_mirror, dmirror, memcpy, plain, ... */
	unsigned long bytes;
	unsigned int n;
	double ns[MAX_REPS];
	double med, min;
	/* Timed on even and odd steps (munmap): med is the mean of these. */
	bool stepped;
	double step_med[2];
	unsigned int even_n;	/* ns[] holds the even steps' times first */
};
extern struct result *results;
extern unsigned int nr_results;

struct result *record(const char *name, const char *mode, const char *impl,
		      unsigned long bytes, const double *ns, unsigned int n);

/* One contender's times, kept apart by the parity of their step. */
struct stepped {
	double ns[2][MAX_REPS / 2];
	unsigned int n[2];
};
void stepped_add(struct stepped *s, unsigned int step, double ns);
const struct result *record_stepped(const char *name, const char *mode,
				    const char *impl, unsigned long bytes,
				    const struct stepped *s);
const struct result *find(const char *name, const char *mode,
			  const char *impl, unsigned long bytes);

/* Untimed figures (latency, page-table memory, ...) as key/value pairs. */
struct figure {
	char key[64];
	double value;
	bool valid;		/* false: written as null */
};
extern struct figure figures[];
extern unsigned int nr_figures;
__attribute__((format(printf, 3, 4)))
void figure(bool valid, double value, const char *fmt, ...);
const struct figure *get_figure(const char *key);

/*
 * A note of a case for the JSON ("notes": {case: text}) and the text
 * output: why it was skipped, or why its sizes stop short of what was
 * asked.  A second note of the same case is appended.
 */
__attribute__((format(printf, 2, 3)))
void note(const char *case_name, const char *fmt, ...);
struct note {
	char case_name[16];
	char text[240];
};
extern struct note notes[];
extern unsigned int nr_notes;
const char *get_note(const char *case_name);

/* ---- memory (memory.c) -------------------------------------------------- */

/* Regions live at fixed, 1 GiB aligned addresses: slot i at BASE + i*SLOT. */
#define REGION_BASE	0x200000000000UL	/* 32 TiB */
#define SLOT		(4 * GiB)
#define FAR		(64 * GiB)		/* "unrelated": another chunk */
enum { SLOT_REGION, SLOT_BUF, SLOT_A, SLOT_B, SLOT_LAT };

void *slot_addr(int slot);
char *map_region(void *addr, unsigned long size, bool thp, bool populate);
void unmap_region(void *p, unsigned long size);
double thp_fraction(void *p, unsigned long len);

/* ---- the two devices (devices.c) ---------------------------------------- */

/* hmm_mirror: /dev/hmm_mirror, through abi/hmm_mirror.h */
int hm_open(void);
void hm_fault(int fd, void *addr, unsigned long len, bool write);
void hm_rw(int fd, void *addr, unsigned long len, void *buf, bool write);
void hm_snapshot(int fd, void *addr, unsigned long len, uint32_t *st);
unsigned long hm_snapshot_runs(int fd, void *addr, unsigned long len,
			       struct hmm_mirror_run *runs, unsigned long cap);
void hm_stats(int fd, struct hmm_mirror_stats *s);
void hm_events(int fd, uint32_t reasons);
bool set_snapshot_split(bool on);

/* dmirror: the kernel's test_hmm, /dev/hmm_dmirror0 (lib/test_hmm_uapi.h) */
int dm_open(void);
void dm_read(int fd, void *addr, unsigned long len, void *buf);
void dm_write(int fd, void *addr, unsigned long len, void *buf);
/* One byte of permissions per page; dm_present() tells a mapped one. */
void dm_snapshot(int fd, void *addr, unsigned long len, uint8_t *perm);
bool dm_present(uint8_t perm);
void dm_map(int fd, void *p, unsigned long size);

/* Device memory (cases/migrate.c) */
/* hmm_mirror's device memory in bytes: 0 without HMM_MIRROR_FEAT_DEVICE_MEMORY. */
unsigned long hm_device_memory(void);
/* MIGRATE to the device (or back, @to_system): pages moved; @not_moved too. */
unsigned long hm_migrate(int fd, void *addr, unsigned long len, bool to_system,
			 unsigned long *not_moved);
/* HMM_DMIRROR_MIGRATE_TO_DEV (@buf: its copy of the range) or _TO_SYS. */
void dm_migrate(int fd, void *addr, unsigned long len, void *buf,
		bool to_system);
/* Pages of [addr, addr+len) in dmirror's device memory (its SNAPSHOT). */
unsigned long dm_device_pages(int fd, void *addr, unsigned long len);

/* ---- CPUs (cpu.c) ------------------------------------------------------- */

void set_cpus(int only);	/* only < 0: every CPU */
void spinners_start(void);
void spinners_stop(void);
void warmup(void);

/* ---- text output (output.c) --------------------------------------------- */

void output_open(const char *txt_path);
void output_close(void);
__attribute__((format(printf, 1, 2))) void out(const char *fmt, ...);
/* A case's table of hmm_mirror, dmirror and @ref at every size. */
void print_case(const char *name, const char *mode, const char *ref,
		bool throughput);

#endif
