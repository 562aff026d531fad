// SPDX-License-Identifier: MIT
//
// cli_unit_test.cc - host tests of the hmm-mirror tool's helpers: number
// parsing, sizes and page-state text, the JSON writer, /proc/PID/smaps
// parsing, SNAPSHOT in pieces (against the library's fake device), JSON
// errors, event lines and the module-availability message.

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fake_device.h"

extern "C" {
#include "commands.h"
#include "common.h"
#include "format.h"
#include "json.h"
#include "procmaps.h"
#include "runs.h"
#include "sysinfo.h"
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

TEST(ParseTest, SizesInEitherCase) {
  struct {
    const char* text;
    uint64_t bytes;
  } ok[] = {
      {"4k", 4096},         {"4K", 4096},         {"4kib", 4096},
      {"4KiB", 4096},       {"4kb", 4096},        {"4KB", 4096},
      {"2m", 2ULL << 20},   {"1g", 1ULL << 30},   {"3t", 3ULL << 40},
      {"0x10k", 16 << 10},  {"4096b", 4096},      {"4096B", 4096},
  };
  for (const auto& c : ok) {
    uint64_t v = 0;
    EXPECT_TRUE(parse_size(c.text, &v)) << c.text;
    EXPECT_EQ(v, c.bytes) << c.text;
  }
  uint64_t v;
  for (const char* bad : {"k", "4kk", "4ki", "4q", "4 k", "4kB2", "-4k", "4p"})
    EXPECT_FALSE(parse_size(bad, &v)) << bad;
  // The usage message lists what is accepted.
  EXPECT_NE(std::string(SIZE_SYNTAX).find("K, M, G or T in either case"), std::string::npos);
  EXPECT_NE(std::string(SIZE_SYNTAX).find("4k"), std::string::npos);
}

TEST(ParseTest, FractionalSeconds) {
  const uint64_t year = 86400 * 365;
  struct {
    const char* text;
    int64_t ms;
  } ok[] = {
      {"1", 1000},   {"0.5", 500},   {"1.25", 1250},    {"2.", 2000},
      {"0.001", 1},  {"0.0001", 1},  {"0.0010", 1},     {"1.0005", 1001},
      {"31536000", int64_t{31536000} * 1000},
  };
  for (const auto& c : ok) {
    int64_t ms = -1;
    EXPECT_TRUE(parse_seconds(c.text, year, &ms)) << c.text;
    EXPECT_EQ(ms, c.ms) << c.text;
  }
  int64_t ms;
  for (const char* bad : {"0", "0.0", "", ".5", "-1", "1e3", "1.5s", "abc",
                          "31536000.1", "31536001", "99999999999999999999"})
    EXPECT_FALSE(parse_seconds(bad, year, &ms)) << bad;
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

TEST(FormatTest, Plurals) {
  EXPECT_STREQ(plural(0, "page", "pages"), "pages");
  EXPECT_STREQ(plural(1, "page", "pages"), "page");
  EXPECT_STREQ(plural(2, "page", "pages"), "pages");
}

TEST(FormatTest, Times) {
  const char* old_tz = getenv("TZ");
  std::string saved = old_tz ? old_tz : "";
  setenv("TZ", "UTC", 1);
  tzset();
  struct timespec ts = {1767225600 + 3723, 45678912};  // 2026-01-01 01:02:03
  char buf[TIME_STR_MAX];
  EXPECT_STREQ(clock_time(&ts, buf), "01:02:03.045678");
  EXPECT_STREQ(iso_time(&ts, buf), "2026-01-01T01:02:03.045678Z");
  if (old_tz)
    setenv("TZ", saved.c_str(), 1);
  else
    unsetenv("TZ");
  tzset();
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
  EXPECT_STREQ(describe_state(HMM_MIRROR_PAGE_VALID | HMM_MIRROR_PAGE_WRITE |
                                  HMM_MIRROR_PAGE_DEVICE,
                              buf, sizeof(buf)),
               "present writable in device memory");
  const char* names[STATE_FLAGS_MAX];
  int n = 0;
  state_flag_names(HMM_MIRROR_PAGE_VALID | HMM_MIRROR_PAGE_WRITE | HMM_MIRROR_PAGE_ERROR |
                       HMM_MIRROR_PAGE_ZERO | HMM_MIRROR_PAGE_DEVICE |
                       HMM_MIRROR_PAGE_EXCLUSIVE,
                   names, &n);
  ASSERT_EQ(n, STATE_FLAGS_MAX);
  EXPECT_STREQ(names[4], "device");
  EXPECT_STREQ(names[5], "exclusive");
  EXPECT_STREQ(describe_state(HMM_MIRROR_PAGE_VALID | HMM_MIRROR_PAGE_WRITE |
                                  HMM_MIRROR_PAGE_EXCLUSIVE,
                              buf, sizeof(buf)),
               "present writable held exclusively");
}

// `migrate`'s command line, as migrate_parse() sees it.
struct MigrateArgv {
  std::vector<std::string> words;
  std::vector<char*> argv;
  explicit MigrateArgv(std::vector<std::string> w) : words(std::move(w)) {
    words.insert(words.begin(), "migrate");
    for (auto& x : words) argv.push_back(x.data());
    argv.push_back(nullptr);
  }
  int Parse(struct migrate_args* a) {
    return migrate_parse(static_cast<int>(words.size()), argv.data(), a);
  }
};

TEST(MigrateParseTest, AddressLengthAndDirection) {
  struct migrate_args a;
  ASSERT_EQ(MigrateArgv({"--pid", "42", "0x7f0000000000", "64M"}).Parse(&a), 0);
  EXPECT_EQ(a.pid, 42);
  EXPECT_EQ(a.addr, 0x7f0000000000u);
  EXPECT_TRUE(a.have_length);
  EXPECT_EQ(a.length, 64u << 20);
  EXPECT_FALSE(a.to_system);
  EXPECT_FALSE(a.json);

  // Options after the arguments; LENGTH may be left out.
  ASSERT_EQ(MigrateArgv({"0x1000", "--to-system", "-p", "7", "--json"}).Parse(&a), 0);
  EXPECT_EQ(a.pid, 7);
  EXPECT_EQ(a.addr, 0x1000u);
  EXPECT_FALSE(a.have_length);
  EXPECT_TRUE(a.to_system);
  EXPECT_TRUE(a.json);
  ASSERT_EQ(MigrateArgv({"-s", "-p", "7", "4096", "4k"}).Parse(&a), 0);
  EXPECT_TRUE(a.to_system);
  EXPECT_FALSE(a.evict);
  EXPECT_EQ(a.length, 4096u);
  // ABI 5: --evict, -e.
  ASSERT_EQ(MigrateArgv({"--evict", "-p", "7", "4096"}).Parse(&a), 0);
  EXPECT_TRUE(a.evict);
  EXPECT_FALSE(a.to_system);
  ASSERT_EQ(MigrateArgv({"-e", "-p", "7", "4096"}).Parse(&a), 0);
  EXPECT_TRUE(a.evict);
}

TEST(MigrateParseTest, UsageErrors) {
  struct migrate_args a;
  prog = "hmm-mirror migrate";
  testing::internal::CaptureStderr();
  EXPECT_EQ(MigrateArgv({"0x1000"}).Parse(&a), EXIT_USAGE);  // no --pid
  EXPECT_EQ(MigrateArgv({"--pid", "1"}).Parse(&a), EXIT_USAGE);  // no ADDR
  EXPECT_EQ(MigrateArgv({"--pid", "1", "1", "2", "3"}).Parse(&a), EXIT_USAGE);
  EXPECT_EQ(MigrateArgv({"--pid", "x", "0x1000"}).Parse(&a), EXIT_USAGE);
  EXPECT_EQ(MigrateArgv({"--pid", "1", "0xzz"}).Parse(&a), EXIT_USAGE);
  EXPECT_EQ(MigrateArgv({"--pid", "1", "0x1000", "4Q"}).Parse(&a), EXIT_USAGE);
  EXPECT_EQ(MigrateArgv({"--pid", "1", "0x1000", "0"}).Parse(&a), EXIT_USAGE);
  EXPECT_EQ(MigrateArgv({"--pid", "1", "--to-device", "0x1000"}).Parse(&a), EXIT_USAGE);
  EXPECT_EQ(MigrateArgv({"--pid", "1", "--evict", "-s", "0x1000"}).Parse(&a), EXIT_USAGE);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("--evict makes room in device memory: not with --to-system"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("--pid PID is required"), std::string::npos) << err;
  EXPECT_NE(err.find("expected ADDR [LENGTH]"), std::string::npos) << err;
  EXPECT_NE(err.find("bad length '4Q'"), std::string::npos) << err;
  testing::internal::CaptureStdout();
  EXPECT_EQ(MigrateArgv({"--help"}).Parse(&a), -1);
  std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("usage: hmm-mirror migrate --pid PID [--to-system | --evict]"),
            std::string::npos);
  EXPECT_NE(out.find("-e, --evict"), std::string::npos) << out;
  prog = "hmm-mirror";
}

TEST(MigrateParseTest, ResultNames) {
  EXPECT_STREQ(migrate_result_label(HMM_MIRROR_MIGRATE_MOVED), "moved");
  EXPECT_STREQ(migrate_result_label(HMM_MIRROR_MIGRATE_ALREADY), "already");
  EXPECT_STREQ(migrate_result_label(HMM_MIRROR_MIGRATE_NOT_MOVABLE), "not_movable");
  EXPECT_STREQ(migrate_result_label(HMM_MIRROR_MIGRATE_NO_MEMORY), "no_memory");
  EXPECT_STREQ(migrate_result_label(99), "unknown");
}

struct MigRun {
  uint64_t start, end;
  uint32_t result;
};

int CollectMigRun(void* ctx, uint64_t start, uint64_t end, uint32_t result) {
  static_cast<std::vector<MigRun>*>(ctx)->push_back({start, end, result});
  return 0;
}

// migrate_range() over 3 GiB on the fake module: pieces, one run, counts.
TEST(MigrateRangeTest, PiecesJoinIntoOneRunAndCount) {
  ASSERT_EQ(fake_device_create(), 0);
  fake.features |= HMM_MIRROR_FEAT_DEVICE_MEMORY;
  struct hmm_mirror* m = nullptr;
  ASSERT_EQ(hmm_mirror_open_path(fake.path, &m), 0) << hmm_mirror_last_error();
  std::vector<MigRun> runs;
  struct migrate_tally t;
  const uint64_t start = 1ULL << 40, len = 3ULL << 30, pages = len >> 12;
  ASSERT_EQ(migrate_range(m, start, len, 0, CollectMigRun, &runs, &t), 0);
  EXPECT_GT(fake.calls[HMM_MIRROR_NR_MIGRATE], 1u);  // in pieces
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].start, start);
  EXPECT_EQ(runs[0].end, start + len);
  EXPECT_EQ(runs[0].result, uint32_t{HMM_MIRROR_MIGRATE_MOVED});
  EXPECT_EQ(t.pages, pages);
  EXPECT_EQ(t.counts[HMM_MIRROR_MIGRATE_MOVED], pages);
  EXPECT_EQ(t.pages_moved, pages);
  EXPECT_EQ(t.pages_not_moved, 0u);

  // --to-system reaches the module as the flag.
  runs.clear();
  ASSERT_EQ(migrate_range(m, start, 4096, HMM_MIRROR_MIGRATE_TO_SYSTEM, CollectMigRun, &runs, &t),
            0);
  struct hmm_mirror_migrate last;
  memcpy(&last, fake.last_arg[HMM_MIRROR_NR_MIGRATE], sizeof(last));
  EXPECT_EQ(last.flags, uint32_t{HMM_MIRROR_MIGRATE_TO_SYSTEM});
  EXPECT_EQ(t.pages, 1u);
  hmm_mirror_close(m);

  // --evict reaches it as its flag (the module advertising eviction).
  fake.features |= HMM_MIRROR_FEAT_DEVICE_EVICT;
  ASSERT_EQ(hmm_mirror_open_path(fake.path, &m), 0) << hmm_mirror_last_error();
  runs.clear();
  ASSERT_EQ(migrate_range(m, start, 4096, HMM_MIRROR_MIGRATE_EVICT, CollectMigRun, &runs, &t), 0);
  memcpy(&last, fake.last_arg[HMM_MIRROR_NR_MIGRATE], sizeof(last));
  EXPECT_EQ(last.flags, uint32_t{HMM_MIRROR_MIGRATE_EVICT});

  // A failing MIGRATE: the library's error, no run.
  fake.fail_errno[HMM_MIRROR_NR_MIGRATE] = EOPNOTSUPP;
  runs.clear();
  EXPECT_EQ(migrate_range(m, start, 4096, 0, CollectMigRun, &runs, &t), -EOPNOTSUPP);
  EXPECT_TRUE(runs.empty());
  hmm_mirror_close(m);
  fake_device_destroy();
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
  // An ABI 1 module: per-page states in the library's 256 MiB-aligned
  // pieces (hmm_mirror_runs_*()), collapsed into one run across them.
  ExpectOneRunThenTheError((1ULL << 12) - 1, 12);
}

// What print_event() writes to stdout (text) or into a JSON Lines record.
std::string EventText(const struct hmm_mirror_event& r, bool json) {
  struct timespec ts = {1767225600 + 3723, 45678912};
  const char* old_tz = getenv("TZ");
  std::string saved = old_tz ? old_tz : "";
  setenv("TZ", "UTC", 1);
  tzset();
  testing::internal::CaptureStdout();
  struct json j;
  json_init(&j, stdout, false);
  print_event(&r, 4096, &ts, json ? &j : nullptr);
  fflush(stdout);
  std::string out = testing::internal::GetCapturedStdout();
  if (old_tz)
    setenv("TZ", saved.c_str(), 1);
  else
    unsetenv("TZ");
  tzset();
  return out;
}

struct hmm_mirror_event Record(uint32_t reason, uint64_t start, uint64_t end,
                                      uint64_t seq, uint64_t pages) {
  struct hmm_mirror_event r;
  hmm_mirror_event_record_init(&r);
  r.reason = reason;
  r.start = start;
  r.end = end;
  r.seq = seq;
  r.pages = pages;
  return r;
}

TEST(WatchTest, ReleaseShowsTheBytesRemovedNotTheSpan) {
  // The exit's RELEASE spans from the lowest to the highest page the
  // device lost: 42.6 TiB here, for 607 pages.
  auto r = Record(HMM_MIRROR_EVENT_RELEASE, 0x55d0c0000000ULL, 0x7ffe5a7c2000ULL, 7, 607);
  EXPECT_EQ(EventText(r, false),
            "01:02:03.045678 seq 7        release     0x55d0c0000000-0x7ffe5a7c2000"
            "     2.4 MiB  607 pages\n");
  EXPECT_EQ(EventText(r, true),
            "{\"time\":\"2026-01-01T01:02:03.045678Z\",\"seq\":7,\"reason\":\"release\","
            "\"start\":\"0x55d0c0000000\",\"end\":\"0x7ffe5a7c2000\",\"bytes\":" +
                std::to_string(0x7ffe5a7c2000ULL - 0x55d0c0000000ULL) +
                ",\"pages\":607,\"bytes_removed\":2486272}\n");
}

TEST(WatchTest, OnePageAndOneLostEventAreSingular) {
  auto r = Record(HMM_MIRROR_EVENT_UNMAP, 0x7f0000001000ULL, 0x7f0000002000ULL, 0, 1);
  EXPECT_EQ(EventText(r, false),
            "01:02:03.045678 seq 0        unmap       0x7f0000001000-0x7f0000002000"
            "       4 KiB  1 page\n");
  auto lost = Record(HMM_MIRROR_EVENT_LOST, 0, 0, 3, 1);
  EXPECT_EQ(EventText(lost, false),
            "01:02:03.045678 seq 3        LOST        1 event lost: the queue was full "
            "(raise --queue)\n");
  lost.pages = 3;
  EXPECT_NE(EventText(lost, false).find(" 3 events lost: "), std::string::npos);
  EXPECT_EQ(EventText(lost, true),
            "{\"time\":\"2026-01-01T01:02:03.045678Z\",\"seq\":3,\"reason\":\"lost\","
            "\"lost\":3}\n");
}

// A failure under --json: the message on stderr, one JSON line on stdout.
TEST(JsonErrorTest, FailuresPrintAJsonErrorOnStdout) {
  prog = "hmm-mirror stats";
  json_output = true;
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  EXPECT_EQ(fail_errno(EXIT_UNAVAILABLE, -ENOENT, "no \"%s\"", "dev"), EXIT_UNAVAILABLE);
  std::string out = testing::internal::GetCapturedStdout();
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "hmm-mirror stats: no \"dev\"\n");
  EXPECT_EQ(out,
            "{\"error\":{\"command\":\"hmm-mirror stats\",\"message\":\"no \\\"dev\\\"\","
            "\"errno\":\"ENOENT\",\"exit_status\":3}}\n");

  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  EXPECT_EQ(usage_error("bad pid '%s'", "x"), EXIT_USAGE);
  out = testing::internal::GetCapturedStdout();
  err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "hmm-mirror stats: bad pid 'x'\nTry 'hmm-mirror stats --help'.\n");
  EXPECT_EQ(out,
            "{\"error\":{\"command\":\"hmm-mirror stats\",\"message\":\"bad pid 'x'\","
            "\"errno\":null,\"exit_status\":2}}\n");

  // Without --json, stdout stays empty.
  json_output = false;
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  fail(EXIT_FAILED, "x");
  EXPECT_EQ(testing::internal::GetCapturedStdout(), "");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "hmm-mirror stats: x\n");
  prog = "hmm-mirror";
}

TEST(JsonErrorTest, AnOpenDocumentGetsTheErrorAsAMember) {
  // snapshot --json failing half-way: stdout is still one document.
  prog = "hmm-mirror snapshot";
  json_output = true;
  testing::internal::CaptureStderr();
  std::string doc = Json(false, [](struct json* j) {
    json_object_begin(j, nullptr);
    json_array_begin(j, "runs");
    json_array_end(j);
    EXPECT_EQ(fail_in(j, EXIT_FAILED, ESRCH, "gone"), EXIT_FAILED);
    json_object_end(j);
  });
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "hmm-mirror snapshot: gone\n");
  EXPECT_EQ(doc,
            "{\"runs\":[],\"error\":{\"command\":\"hmm-mirror snapshot\",\"message\":\"gone\","
            "\"errno\":\"ESRCH\",\"exit_status\":1}}\n");
  json_output = false;
  prog = "hmm-mirror";
}

// A directory tree standing in for /lib/modules.
class ModuleTree : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cli_unit_modules.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    Mkdir("/6.1.0-9-amd64");
    Mkdir("/6.1.0-9-amd64/kernel");
    Mkdir("/6.1.0-9-amd64/kernel/mm");
    Touch("/6.1.0-9-amd64/kernel/mm/other.ko.xz");
  }
  void TearDown() override { ASSERT_EQ(system(("rm -rf " + root_).c_str()), 0); }
  void Mkdir(const std::string& rel) { ASSERT_EQ(mkdir((root_ + rel).c_str(), 0755), 0); }
  void Write(const std::string& rel, const char* text) {
    FILE* f = fopen((root_ + rel).c_str(), "w");
    ASSERT_NE(f, nullptr);
    fputs(text, f);
    fclose(f);
  }
  void Touch(const std::string& rel) {
    FILE* f = fopen((root_ + rel).c_str(), "w");
    ASSERT_NE(f, nullptr);
    fclose(f);
  }
  std::string Reason(const char* config, const char* source) {
    char buf[512];
    if (!module_unavailable_reason(root_.c_str(), "6.1.0-9-amd64", config, source, buf,
                                   sizeof(buf)))
      return "";
    return buf;
  }
  std::string root_;
};

TEST_F(ModuleTree, KernelWithoutHmmMirrorSaysSoInsteadOfModprobe) {
  std::string why = Reason("n", "/boot/config-6.1.0-9-amd64");
  EXPECT_NE(why.find("built without CONFIG_HMM_MIRROR (/boot/config-6.1.0-9-amd64)"),
            std::string::npos)
      << why;
  EXPECT_EQ(why.find("modprobe"), std::string::npos) << why;
}

TEST_F(ModuleTree, NoModuleInstalledForThisKernel) {
  Touch("/6.1.0-9-amd64/kernel/mm/hmm_mirror.kobject");  // no module
  EXPECT_FALSE(module_installed(root_.c_str(), "6.1.0-9-amd64"));
  EXPECT_FALSE(module_installed(root_.c_str(), "no-such-release"));
  for (const char* config : {"y", "unknown"}) {
    std::string why = Reason(config, nullptr);
    EXPECT_NE(why.find("no hmm_mirror.ko is installed for the running kernel 6.1.0-9-amd64"),
              std::string::npos)
        << why;
    EXPECT_EQ(why.find("modprobe"), std::string::npos) << why;
  }
}

// modules.dep, where modprobe looks, decides when it exists: a module
// depmod has not listed cannot be modprobed.
TEST_F(ModuleTree, ModulesDepDecidesWhenPresent) {
  Mkdir("/6.1.0-9-amd64/extra");
  Touch("/6.1.0-9-amd64/extra/hmm_mirror.ko");
  Write("/6.1.0-9-amd64/modules.dep",
        "kernel/lib/test_hmm.ko.xz:\nkernel/fs/hmm_mirror.kobject.ko:\n");
  EXPECT_FALSE(module_installed(root_.c_str(), "6.1.0-9-amd64"));
  Write("/6.1.0-9-amd64/modules.dep",
        "kernel/lib/test_hmm.ko.xz:\nupdates/dkms/hmm_mirror.ko.zst: kernel/x.ko\n");
  EXPECT_TRUE(module_installed(root_.c_str(), "6.1.0-9-amd64"));
  Write("/6.1.0-9-amd64/modules.dep", "extra/hmm_mirror.ko:\n");
  EXPECT_TRUE(module_installed(root_.c_str(), "6.1.0-9-amd64"));
}

TEST_F(ModuleTree, AnInstalledModuleLeavesTheLibrarysAdvice) {
  Mkdir("/6.1.0-9-amd64/updates");
  Mkdir("/6.1.0-9-amd64/updates/dkms");
  Touch("/6.1.0-9-amd64/updates/dkms/hmm_mirror.ko.xz");
  EXPECT_TRUE(module_installed(root_.c_str(), "6.1.0-9-amd64"));
  EXPECT_EQ(Reason("y", "/proc/config.gz"), "");
  // A kernel without CONFIG_HMM_MIRROR cannot load it all the same.
  EXPECT_NE(Reason("n", nullptr), "");
}

}  // namespace
