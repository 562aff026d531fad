/* SPDX-License-Identifier: MIT */
/*
 * common.h - what every hmm-mirror subcommand shares: exit codes, error
 * reporting, argument parsing, and opening a mirror of a process.
 */
#ifndef HMM_CLI_COMMON_H
#define HMM_CLI_COMMON_H

#include <stdbool.h>
#include <stddef.h>
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

struct json;

/*
 * --json is among the arguments (main() looks before the command parses
 * them, so even a usage error knows): every failure below also prints
 * {"error":{"command","message","errno","exit_status"}} on stdout, one
 * line, besides the message on stderr.
 */
extern bool json_output;

/* "PROG: message" on stderr (and the JSON error); returns @code. */
int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As fail(), naming @err (a negative or positive errno) in the JSON. */
int fail_errno(int code, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * As fail_errno(), but under --json the error goes into @j, the command's
 * own document, as the member "error" of its open object, so that stdout
 * holds one JSON document.
 */
int fail_in(struct json *j, int code, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A usage error: the message, then "try PROG --help"; returns EXIT_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * getopt_long() returned '?' or ':' (option strings start with "+:" and
 * opterr is 0): say which option was wrong; returns EXIT_USAGE.
 */
int option_error(char **argv, int c);
/* A failed library call (@err negative): its message; the exit code for it. */
int lib_fail(int err);
/* lib_fail() with the JSON error in @j, as fail_in(). */
int lib_fail_in(struct json *j, int err);

/*
 * Numbers: decimal or 0x hex.  Sizes may end in a binary unit K, M, G or
 * T, in either case and optionally followed by "iB" or "B" (4k, 4K, 4KiB,
 * 4kb: 4096), or in "B" alone.  SIZE_SYNTAX says so in error messages.
 */
#define SIZE_SYNTAX "a byte count, decimal or 0x hex, with an optional " \
	"binary unit K, M, G or T in either case (4k, 2M, 1GiB, 0x1000)"
bool parse_u64(const char *s, uint64_t *out);
bool parse_size(const char *s, uint64_t *out);
bool parse_pid(const char *s, int *out);
/*
 * Seconds as a decimal number with an optional fraction ("2", "0.5",
 * "1.25") into milliseconds, rounded up; false unless 0 < s <= @max_s.
 */
bool parse_seconds(const char *s, uint64_t max_s, int64_t *ms);

/*
 * The message for a failed hmm_mirror_open() (@err negative): the
 * library's, except that when the device node does not exist because the
 * running kernel cannot have the module (built without CONFIG_HMM_MIRROR,
 * or no hmm_mirror.ko installed for it) it says so instead of suggesting
 * modprobe.
 */
const char *open_error_message(int err, char *buf, size_t size);

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
