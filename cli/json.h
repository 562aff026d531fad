/* SPDX-License-Identifier: MIT */
/*
 * json.h - a small streaming JSON writer for --json output.  Addresses are
 * written as "0x..." strings (they do not all fit a double), sizes and
 * counts as numbers.
 */
#ifndef HMM_CLI_JSON_H
#define HMM_CLI_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	bool pretty;		/* indented, else one line */
	int depth;
	bool first[JSON_MAX_DEPTH];
};

void json_init(struct json *j, FILE *f, bool pretty);
/* @key is the member name inside an object, NULL in an array or on top. */
void json_object_begin(struct json *j, const char *key);
void json_object_end(struct json *j);
void json_array_begin(struct json *j, const char *key);
void json_array_end(struct json *j);
void json_string(struct json *j, const char *key, const char *value);
void json_u64(struct json *j, const char *key, uint64_t value);
void json_i64(struct json *j, const char *key, int64_t value);
void json_bool(struct json *j, const char *key, bool value);
void json_null(struct json *j, const char *key);
void json_hex(struct json *j, const char *key, uint64_t value);
/* Ends the document with a newline and flushes. */
void json_finish(struct json *j);

#endif /* HMM_CLI_JSON_H */
