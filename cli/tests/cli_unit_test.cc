// SPDX-License-Identifier: MIT
//
// cli_unit_test.cc - host tests of the hmm-mirror tool's helpers: number
// parsing, sizes and page-state text, the JSON writer, /proc/PID/smaps
// parsing, and SNAPSHOT in pieces (against the library's fake device).

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fake_device.h"

extern "C" {
#include "common.h"
#include "format.h"
#include "json.h"
#include "procmaps.h"
#include "runs.h"
}

namespace {

TEST(ParseTest, Numbers) {
  uint64_t v = 0;
  EXPECT_TRUE(parse_u64("4096", &v));
  EXPECT_EQ(v, 4096u);
  EXPECT_TRUE(parse_u64("0x7f0000001000", &v));
  EXPECT_EQ(v, 0x7f0000001000u);
  EXPECT_FALSE(parse_u64("", &v));
  EXPECT_FALSE(parse_u64("-1", &v));
  EXPECT_FALSE(parse_u64("12abc", &v));
  EXPECT_FALSE(parse_u64("0x1ffffffffffffffff", &v));
}

TEST(ParseTest, Sizes) {
  uint64_t v = 0;
  EXPECT_TRUE(parse_size("4K", &v));
  EXPECT_EQ(v, 4096u);
  EXPECT_TRUE(parse_size("2MiB", &v));
  EXPECT_EQ(v, 2u << 20);
  EXPECT_TRUE(parse_size("1GB", &v));
  EXPECT_EQ(v, 1u << 30);
  EXPECT_TRUE(parse_size("0x10", &v));
  EXPECT_EQ(v, 16u);
  EXPECT_FALSE(parse_size("4Q", &v));
  EXPECT_FALSE(parse_size("4Kx", &v));
  EXPECT_FALSE(parse_size("16777216T", &v));  // overflows
}

TEST(ParseTest, Pids) {
  int pid = 0;
  EXPECT_TRUE(parse_pid("1", &pid));
  EXPECT_EQ(pid, 1);
  EXPECT_FALSE(parse_pid("0", &pid));
  EXPECT_FALSE(parse_pid("-5", &pid));
  EXPECT_FALSE(parse_pid("4194305", &pid));
  EXPECT_FALSE(parse_pid("self", &pid));
}

TEST(PageRangeTest, WidensToPages) {
  uint64_t addr = 0x1010, len = 0x10;
  EXPECT_TRUE(page_range(&addr, &len, 4096));
  EXPECT_EQ(addr, 0x1000u);
  EXPECT_EQ(len, 0x1000u);
  addr = 0x1ff0;
  len = 0x20;  // crosses a page boundary: two pages
  EXPECT_TRUE(page_range(&addr, &len, 4096));
  EXPECT_EQ(addr, 0x1000u);
  EXPECT_EQ(len, 0x2000u);
  len = 0;
  EXPECT_FALSE(page_range(&addr, &len, 4096));
  addr = ~0ULL - 10;
  len = 100;
  EXPECT_FALSE(page_range(&addr, &len, 4096));
}

TEST(FormatTest, HumanSizes) {
  char buf[SIZE_STR_MAX];
  EXPECT_STREQ(human_size(0, buf), "0 B");
  EXPECT_STREQ(human_size(1023, buf), "1023 B");
  EXPECT_STREQ(human_size(4096, buf), "4 KiB");
  EXPECT_STREQ(human_size(1536, buf), "1.5 KiB");
  EXPECT_STREQ(human_size(2ULL << 20, buf), "2 MiB");
  EXPECT_STREQ(human_size(3ULL << 40, buf), "3 TiB");
}

TEST(FormatTest, States) {
  char buf[96];
  EXPECT_STREQ(describe_state(0, buf, sizeof(buf)), "not present");
  EXPECT_STREQ(describe_state(HMM_MIRROR_PAGE_ERROR, buf, sizeof(buf)), "not mirrorable");
  EXPECT_STREQ(describe_state(HMM_MIRROR_PAGE_VALID | HMM_MIRROR_PAGE_WRITE, buf, sizeof(buf)),
               "present writable");
  EXPECT_STREQ(describe_state(HMM_MIRROR_PAGE_VALID | HMM_MIRROR_PAGE_ZERO, buf, sizeof(buf)),
               "present read-only zero-page");
  EXPECT_STREQ(describe_state(HMM_MIRROR_PAGE_VALID | (9U << HMM_MIRROR_PAGE_ORDER_SHIFT), buf,
                              sizeof(buf)),
               "present read-only huge 2 MiB");
  EXPECT_STREQ(describe_state(HMM_MIRROR_PAGE_VALID | (18U << HMM_MIRROR_PAGE_ORDER_SHIFT), buf,
                              sizeof(buf)),
               "present read-only huge 1 GiB");
}

std::string Json(bool pretty, void (*body)(struct json*)) {
  char* text = nullptr;
  size_t size = 0;
  FILE* f = open_memstream(&text, &size);
  struct json j;
  json_init(&j, f, pretty);
  body(&j);
  json_finish(&j);
  fclose(f);
  std::string s(text, size);
  free(text);
  return s;
}

void Sample(struct json* j) {
  json_object_begin(j, nullptr);
  json_string(j, "s", "a\"b\\c\n\x01");
  json_u64(j, "n", 18446744073709551615ULL);
  json_i64(j, "i", -3);
  json_hex(j, "addr", 0xffffffffff600000ULL);
  json_bool(j, "t", true);
  json_null(j, "z");
  json_string(j, "null_string", nullptr);
  json_array_begin(j, "a");
  json_u64(j, nullptr, 1);
  json_object_begin(j, nullptr);
  json_object_end(j);
  json_array_end(j);
  json_array_begin(j, "empty");
  json_array_end(j);
  json_object_end(j);
}

TEST(JsonTest, CompactAndEscaped) {
  EXPECT_EQ(Json(false, Sample),
            "{\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"n\":18446744073709551615,\"i\":-3,"
            "\"addr\":\"0xffffffffff600000\",\"t\":true,\"z\":null,\"null_string\":null,"
            "\"a\":[1,{}],\"empty\":[]}\n");
}

TEST(JsonTest, Pretty) {
  std::string s = Json(true, [](struct json* j) {
    json_object_begin(j, nullptr);
    json_u64(j, "a", 1);
    json_array_begin(j, "b");
    json_u64(j, nullptr, 2);
    json_array_end(j);
    json_object_end(j);
  });
  EXPECT_EQ(s, "{\n  \"a\": 1,\n  \"b\": [\n    2\n  ]\n}\n");
}

TEST(ProcMapsTest, FindsOwnMappingsWithFlags) {
  const size_t len = 8 * 4096;
  void* p = mmap(nullptr, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  struct mapping_list maps;
  ASSERT_EQ(read_mappings(getpid(), &maps), 0);
  EXPECT_TRUE(maps.have_smaps);
  const struct mapping* m = mapping_find(&maps, reinterpret_cast<uintptr_t>(p) + 4096);
  ASSERT_NE(m, nullptr);
  EXPECT_LE(m->start, reinterpret_cast<uintptr_t>(p));
  EXPECT_STREQ(m->perms, "r--p");
  EXPECT_TRUE(mapping_has_flag(m, "rd"));
  EXPECT_FALSE(mapping_has_flag(m, "wr"));
  EXPECT_FALSE(mapping_has_flag(m, "r"));  // whole flags only
  bool stack = false;
  for (size_t i = 0; i < maps.n; i++) stack |= std::strcmp(maps.v[i].path, "[stack]") == 0;
  EXPECT_TRUE(stack);
  EXPECT_EQ(mapping_find(&maps, 0), nullptr);
  free_mappings(&maps);
  munmap(p, len);
}

TEST(ProcMapsTest, NoSuchProcess) {
  struct mapping_list maps;
  EXPECT_LT(read_mappings(4194304 + 1, &maps), 0);
}

struct SnapRun {
  uint64_t start, end;
  uint32_t state;
};

int Collect(void* ctx, uint64_t start, uint64_t end, uint32_t state) {
  static_cast<std::vector<SnapRun>*>(ctx)->push_back({start, end, state});
  return 0;
}

// snapshot_runs() over 3 GiB of uniform memory on a fake module with
// @features: one run, @want_calls SNAPSHOT calls; then a failing SNAPSHOT
// stops it with the library's error and no run.
void ExpectOneRunThenTheError(uint64_t features, unsigned want_calls) {
  ASSERT_EQ(fake_device_create(), 0);
  fake.features = features;
  struct hmm_mirror* m = nullptr;
  ASSERT_EQ(hmm_mirror_open_path(fake.path, &m), 0) << hmm_mirror_last_error();
  fake.fill_state = HMM_MIRROR_PAGE_VALID | HMM_MIRROR_PAGE_WRITE;
  std::vector<SnapRun> runs;
  // From the middle of one GiB to the middle of the third after it.
  const uint64_t start = (1ULL << 40) + (512ULL << 20);
  const uint64_t len = 3ULL << 30;
  ASSERT_EQ(snapshot_runs(m, start, len, Collect, &runs), 0);
  EXPECT_EQ(fake.calls[HMM_MIRROR_NR_SNAPSHOT], want_calls);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].start, start);
  EXPECT_EQ(runs[0].end, start + len);
  EXPECT_EQ(runs[0].state, HMM_MIRROR_PAGE_VALID | HMM_MIRROR_PAGE_WRITE);
  fake.fail_errno[HMM_MIRROR_NR_SNAPSHOT] = ESRCH;
  runs.clear();
  EXPECT_EQ(snapshot_runs(m, start, len, Collect, &runs), -ESRCH);
  EXPECT_TRUE(runs.empty());
  hmm_mirror_close(m);
  fake_device_destroy();
}

TEST(RunsTest, TheModulesRunsAreUsedWhenItHasThem) {
  // One call, not a per-page snapshot for every GiB.
  ExpectOneRunThenTheError((1ULL << 13) - 1, 1);
}

TEST(RunsTest, LargeRangesGoInPiecesAndRunsJoinAcrossThem) {
  // An ABI 1 module: per-page states in four 1 GiB-aligned pieces,
  // collapsed by the tool into one run across them.
  ExpectOneRunThenTheError((1ULL << 12) - 1, 4);
}

}  // namespace
