// SPDX-License-Identifier: MIT
//
// lib_maps_test.cc - hmm_mirror_maps_*(): parsing maps and smaps text (long
// paths, paths with spaces, " (deleted)", [vsyscall], an empty file, bad
// lines), and the caller's own /proc/self/maps.

#include <sys/mman.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "hmm_mirror/libhmm_mirror.h"
#include <gtest/gtest.h>

namespace {

struct Map {
  struct hmm_mirror_mapping m;
  std::string path, vmflags;
};

// Every mapping of @text; the return value of the last next().
int ParseAll(const std::string& text, std::vector<Map>* out) {
  struct hmm_mirror_maps* it = nullptr;
  int ret = hmm_mirror_maps_parse(text.data(), text.size(), &it);
  if (ret)
    return ret;
  for (;;) {
    Map x;
    hmm_mirror_mapping_init(&x.m);
    ret = hmm_mirror_maps_next(it, &x.m);
    if (ret != 1)
      break;
    x.path = x.m.path;
    x.vmflags = x.m.vmflags;
    out->push_back(x);
  }
  hmm_mirror_maps_close(it);
  return ret;
}

const char kMaps[] =
    "55d0c8a00000-55d0c8a21000 r--p 00000000 08:01 1315005                    /usr/bin/python3.11\n"
    "55d0ca1f4000-55d0ca3a1000 rw-p 00000000 00:00 0                          [heap]\n"
    "7f0a1c000000-7f0a1c021000 rw-s 00000000 00:05 2054                       /dev/zero (deleted)\n"
    "7f0a1c100000-7f0a1c200000 ---p 00000000 00:00 0 \n"
    "7f0a1c200000-7f0a1c201000 r--p 00001000 103:02 42                        /tmp/dir with  spaces/f\n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";

TEST(MapsTest, MapsLines) {
  std::vector<Map> v;
  ASSERT_EQ(ParseAll(kMaps, &v), 0) << hmm_mirror_last_error();
  ASSERT_EQ(v.size(), 6u);
  EXPECT_EQ(v[0].m.start, 0x55d0c8a00000u);
  EXPECT_EQ(v[0].m.end, 0x55d0c8a21000u);
  EXPECT_STREQ(v[0].m.perms, "r--p");
  EXPECT_EQ(v[0].m.dev_major, 8u);
  EXPECT_EQ(v[0].m.dev_minor, 1u);
  EXPECT_EQ(v[0].m.inode, 1315005u);
  EXPECT_EQ(v[0].path, "/usr/bin/python3.11");
  EXPECT_EQ(v[0].m.flags, 0u) << "no smaps fields, not deleted";
  EXPECT_EQ(v[0].vmflags, "");
  EXPECT_EQ(v[1].path, "[heap]");
  EXPECT_EQ(v[2].path, "/dev/zero");
  EXPECT_EQ(v[2].m.flags, unsigned{HMM_MIRROR_MAPPING_DELETED});
  EXPECT_STREQ(v[2].m.perms, "rw-s");
  EXPECT_EQ(v[3].path, "") << "anonymous, with the kernel's trailing space";
  EXPECT_EQ(v[4].path, "/tmp/dir with  spaces/f");
  EXPECT_EQ(v[4].m.offset, 0x1000u);
  EXPECT_EQ(v[4].m.dev_major, 0x103u);
  EXPECT_EQ(v[4].m.dev_minor, 2u);
  EXPECT_EQ(v[5].path, "[vsyscall]") << "the last line needs no newline";
  EXPECT_EQ(v[5].m.start, 0xffffffffff600000u);
  EXPECT_EQ(v[5].m.end, 0xffffffffff601000u);
}

TEST(MapsTest, LongPaths) {
  const std::string dir(5000, 'd');
  const std::string path = "/" + dir + "/a file (deleted) here (deleted)";
  std::vector<Map> v;
  ASSERT_EQ(ParseAll("1000-2000 r--p 00000000 08:01 7 " + path + "\n", &v), 0);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].path, "/" + dir + "/a file (deleted) here") << "only the suffix goes";
  EXPECT_EQ(v[0].m.flags, unsigned{HMM_MIRROR_MAPPING_DELETED});
}

TEST(MapsTest, EmptyTextHasNoMappings) {
  std::vector<Map> v;
  EXPECT_EQ(ParseAll("", &v), 0);
  EXPECT_EQ(ParseAll("\n\n", &v), 0);
  EXPECT_TRUE(v.empty());
}

TEST(MapsTest, SmapsFields) {
  const std::string smaps =
      "7f0000000000-7f0000400000 rw-p 00000000 00:00 0 \n"
      "Size:               4096 kB\n"
      "KernelPageSize:        4 kB\n"
      "Rss:                2048 kB\n"
      "AnonHugePages:      2048 kB\n"
      "Shared_Hugetlb:        0 kB\n"
      "Private_Hugetlb:       0 kB\n"
      "THPeligible:    1\n"
      "VmFlags: rd wr mr mw me ac hg \n"
      "7f0000400000-7f0000600000 rw-s 00000000 00:10 99                         /dev/hugepages/x\n"
      "KernelPageSize:     2048 kB\n"
      "Shared_Hugetlb:     1024 kB\n"
      "Private_Hugetlb:    2048 kB\n"
      "VmFlags: rd wr sh mr mw me ms de ht\n";
  std::vector<Map> v;
  ASSERT_EQ(ParseAll(smaps, &v), 0) << hmm_mirror_last_error();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].m.flags, unsigned{HMM_MIRROR_MAPPING_SMAPS});
  EXPECT_EQ(v[0].m.rss_kb, 2048u);
  EXPECT_EQ(v[0].m.anon_huge_kb, 2048u);
  EXPECT_EQ(v[0].m.kernel_page_kb, 4u);
  EXPECT_EQ(v[0].vmflags, "rd wr mr mw me ac hg");
  EXPECT_EQ(v[1].m.hugetlb_kb, 3072u);
  EXPECT_EQ(v[1].m.kernel_page_kb, 2048u);
  EXPECT_EQ(v[1].vmflags, "rd wr sh mr mw me ms de ht");
  EXPECT_EQ(v[1].path, "/dev/hugepages/x");
}

TEST(MapsTest, BadLinesAreQuoted) {
  std::vector<Map> v;
  EXPECT_EQ(ParseAll("garbage\n", &v), -EINVAL);
  EXPECT_NE(std::string(hmm_mirror_last_error()).find("line 1: \"garbage\""), std::string::npos)
      << hmm_mirror_last_error();
  v.clear();
  EXPECT_EQ(ParseAll("1000-2000 r--p 00000000 08:01 7 /x\nnot a field\n", &v), -EINVAL);
  EXPECT_EQ(v.size(), 0u);
  EXPECT_NE(std::string(hmm_mirror_last_error()).find("line 2"), std::string::npos);
  for (const char* bad : {"1000-2000 r--p 00000000 08:01\n", "1000 r--p 0 08:01 7\n",
                          "1000-2000 r-p 00000000 08:01 7\n", "1000-2000 r--p 0 0801 7\n",
                          "1000-2000 r--p 0 08:01 x7\n"})
    EXPECT_EQ(ParseAll(bad, &v), -EINVAL) << bad;
}

TEST(MapsTest, Arguments) {
  struct hmm_mirror_maps* it = nullptr;
  EXPECT_EQ(hmm_mirror_maps_parse(nullptr, 0, &it), -EINVAL);
  EXPECT_EQ(hmm_mirror_maps_parse("", 0, nullptr), -EINVAL);
  EXPECT_EQ(hmm_mirror_maps_open(-1, 0, &it), -EINVAL);
  EXPECT_EQ(hmm_mirror_maps_open(0, 0x80, &it), -EINVAL);
  EXPECT_EQ(it, nullptr);
  ASSERT_EQ(hmm_mirror_maps_parse(kMaps, sizeof(kMaps) - 1, &it), 0);
  struct hmm_mirror_mapping map;
  hmm_mirror_mapping_init(&map);
  map.size = 8;
  EXPECT_EQ(hmm_mirror_maps_next(it, &map), -EINVAL);
  EXPECT_NE(std::string(hmm_mirror_last_error()).find("hmm_mirror_mapping_init"),
            std::string::npos);
  EXPECT_EQ(hmm_mirror_maps_next(it, nullptr), -EINVAL);
  hmm_mirror_maps_close(it);
  hmm_mirror_maps_close(nullptr);
}

TEST(MapsTest, OwnProcess) {
  const size_t len = 3 * sysconf(_SC_PAGESIZE);
  void* p = mmap(nullptr, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  const uint64_t addr = reinterpret_cast<uintptr_t>(p);
  for (int pid : {0, static_cast<int>(getpid())}) {
    for (uint32_t flags : {0u, unsigned{HMM_MIRROR_MAPS_SMAPS}}) {
      struct hmm_mirror_maps* it = nullptr;
      ASSERT_EQ(hmm_mirror_maps_open(pid, flags, &it), 0) << hmm_mirror_last_error();
      struct hmm_mirror_mapping map;
      hmm_mirror_mapping_init(&map);
      bool found = false, stack = false;
      int ret;
      while ((ret = hmm_mirror_maps_next(it, &map)) == 1) {
        if (map.start <= addr && addr + len <= map.end) {
          found = true;
          EXPECT_EQ(map.perms[0], 'r');
          EXPECT_EQ(map.perms[1], '-');
          EXPECT_EQ(!!(map.flags & HMM_MIRROR_MAPPING_SMAPS), flags != 0);
          if (flags) {
            EXPECT_NE(std::string(map.vmflags).find("rd"), std::string::npos);
          }
        }
        stack |= std::string(map.path) == "[stack]";
      }
      EXPECT_EQ(ret, 0) << hmm_mirror_last_error();
      EXPECT_TRUE(found);
      EXPECT_TRUE(stack);
      hmm_mirror_maps_close(it);
    }
  }
  munmap(p, len);
}

TEST(MapsTest, MissingProcess) {
  struct hmm_mirror_maps* it = nullptr;
  EXPECT_EQ(hmm_mirror_maps_open(0x7ffffff0, 0, &it), -ENOENT);
  EXPECT_EQ(hmm_mirror_maps_open(0x7ffffff0, HMM_MIRROR_MAPS_SMAPS, &it), -ENOENT);
  EXPECT_NE(std::string(hmm_mirror_last_error()).find("no such process"), std::string::npos)
      << hmm_mirror_last_error();
}

}  // namespace
