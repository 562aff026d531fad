/* SPDX-License-Identifier: MIT */
/*
 * common.h - what every hmm-mirror subcommand shares: exit codes, error
 * reporting, argument parsing, and opening a mirror of a process.
 */
#ifndef HMM_CLI_COMMON_H
#define HMM_CLI_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "hmm_mirror/libhmm_mirror.h"

/* Exit codes (cli/README.md, and every --help). */
#define EXIT_OK		0	/* success */
#define EXIT_FAILED	1	/* the operation failed */
#define EXIT_USAGE	2	/* bad command line */
#define EXIT_UNAVAILABLE 3	/* no usable /dev/hmm_mirror, or the module
				 * lacks a feature the command needs */

#define EXIT_CODES_HELP \
	"exit status: 0 success, 1 the operation failed, 2 usage error,\n" \
	"             3 /dev/hmm_mirror unavailable (module not loaded, no\n" \
	"               permission) or the module lacks a needed feature\n"

extern const char *prog;	/* "hmm-mirror snapshot", for messages */

/* "PROG: message" on stderr; returns @code. */
int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A usage error: the message, then "try PROG --help"; returns EXIT_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * getopt_long() returned '?' or ':' (option strings start with "+:" and
 * opterr is 0): say which option was wrong; returns EXIT_USAGE.
 */
int option_error(char **argv, int c);
/* A failed library call (@err negative): its message; the exit code for it. */
int lib_fail(int err);

/* Numbers: decimal or 0x hex, sizes may end in K, M, G, T (binary). */
bool parse_u64(const char *s, uint64_t *out);
bool parse_size(const char *s, uint64_t *out);
bool parse_pid(const char *s, int *out);

/*
 * Open the device and, when @pid > 0, attach to that process; @features are
 * required (HMM_MIRROR_FEAT_*, ATTACH is added for a pid).  On failure the
 * error has been printed and the exit code is returned (*out is NULL).
 */
int open_mirror(int pid, uint64_t features, struct hmm_mirror **out);

/*
 * Round [*addr, *addr + *len) outwards to @page boundaries.  False (after
 * printing a usage error) for an empty or wrapping range.
 */
bool page_range(uint64_t *addr, uint64_t *len, uint64_t page);

#endif /* HMM_CLI_COMMON_H */
