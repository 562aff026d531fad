// SPDX-License-Identifier: MIT
//
// bad_input_table_test.cc - every command against every class of bad
// input, measured into one table (rows: input classes; columns: commands,
// from command_table.h, which follows the ABI header), and that table
// compared cell by cell with the one abi/README.md publishes between the
// "bad-input-table" markers.  The documented table cannot drift from what
// the module does: a mismatch fails and prints the measured table.
//
// The input classes follow the ABI's rules (abi/README.md, "Compatibility
// rules", "Ranges", each command's errors): where the argument struct is,
// its size, its flags and reserved fields, its range, and the user
// pointers inside it.

#include <sys/mman.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "command_table.h"

namespace hmm_conformance {
namespace {

// Offset of the reserved field of each command's struct, or -1.
int ReservedOffset(Cmd id) {
  switch (id) {
    case Cmd::kHandshake: return offsetof(hmm_mirror_handshake, reserved);
    case Cmd::kAttach: return offsetof(hmm_mirror_attach, reserved);
    case Cmd::kAtomic: return offsetof(hmm_mirror_atomic, reserved);
    default: return -1;
  }
}

// Offset of the user pointer inside each command's struct, or -1.
int PointerOffset(Cmd id) {
  switch (id) {
    case Cmd::kSnapshot:
    case Cmd::kQuery: return offsetof(hmm_mirror_pages, states);
    case Cmd::kRead:
    case Cmd::kWrite: return offsetof(hmm_mirror_rw, buf);
    case Cmd::kMigrate: return offsetof(hmm_mirror_migrate, results);
    case Cmd::kExclusive: return offsetof(hmm_mirror_exclusive, results);
    default: return -1;
  }
}

// One input class: issues the command with that input, or says it does
// not apply (nullopt-like: false).
struct Row {
  const char* name;
  // Returns false when the class does not apply to the command.
  std::function<bool(const Command&, const ArgFactory&, const Mirror&,
                     Errno*)> run;
};

// A struct of the command's full size, valid, in a buffer with room.
constexpr size_t kArgBytes = 8192;

std::vector<uint8_t> Valid(const Command& c, const ArgFactory& f) {
  std::vector<uint8_t> v(kArgBytes, 0);
  f.BuildValid(c, v.data());
  return v;
}

void SetU32(std::vector<uint8_t>* v, size_t off, uint32_t x) {
  std::memcpy(v->data() + off, &x, sizeof(x));
}
void SetU64(std::vector<uint8_t>* v, size_t off, uint64_t x) {
  std::memcpy(v->data() + off, &x, sizeof(x));
}

std::vector<Row> Rows(uint64_t page) {
  auto call = [](const Command& c, const Mirror& m, const void* arg) {
    return m.Call(c.ioc, arg);
  };
  auto with_range = [call](uint64_t addr, uint64_t len) {
    return [call, addr, len](const Command& c, const ArgFactory& f,
                             const Mirror& m, Errno* rc) {
      if (!c.takes_range) return false;
      std::vector<uint8_t> v(kArgBytes, 0);
      f.Build(c, v.data(), addr == 1 ? f.target_addr() + 1 : addr, len);
      *rc = call(c, m, v.data());
      return true;
    };
  };
  auto with_pointer = [call](uint64_t ptr) {
    return [call, ptr](const Command& c, const ArgFactory& f, const Mirror& m,
                       Errno* rc) {
      const int off = PointerOffset(c.id);
      if (off < 0) return false;
      std::vector<uint8_t> v = Valid(c, f);
      SetU64(&v, off, ptr);
      *rc = call(c, m, v.data());
      return true;
    };
  };
  return {
      {"valid",
       [call](const Command& c, const ArgFactory& f, const Mirror& m, Errno* rc) {
         *rc = call(c, m, Valid(c, f).data());
         return true;
       }},
      {"struct at an odd address",
       [call](const Command& c, const ArgFactory& f, const Mirror& m, Errno* rc) {
         std::vector<uint8_t> v = Valid(c, f);
         std::vector<uint8_t> odd(kArgBytes + 1);
         std::memcpy(odd.data() + 1, v.data(), kArgBytes);
         *rc = call(c, m, odd.data() + 1);
         return true;
       }},
      {"struct pointer NULL",
       [call](const Command& c, const ArgFactory&, const Mirror& m, Errno* rc) {
         *rc = call(c, m, nullptr);
         return true;
       }},
      {"struct pointer to a kernel address",
       [call](const Command& c, const ArgFactory&, const Mirror& m, Errno* rc) {
         *rc = call(c, m, reinterpret_cast<void*>(kKernelAddr));
         return true;
       }},
      {"struct pointer to unmapped memory",
       [call, page](const Command& c, const ArgFactory&, const Mirror& m, Errno* rc) {
         Mapping none(page, PROT_NONE);
         *rc = call(c, m, none.data());
         return true;
       }},
      {"struct straddling into unmapped memory",
       [call, page](const Command& c, const ArgFactory& f, const Mirror& m, Errno* rc) {
         // The size field is readable, the rest of the struct is not.
         Mapping two(2 * page);
         two.Protect(page, page, PROT_NONE);
         std::vector<uint8_t> v = Valid(c, f);
         uint8_t* at = two.at(page - 8);
         std::memcpy(at, v.data(), 8);
         *rc = call(c, m, at);
         return true;
       }},
      {"size 0",
       [call](const Command& c, const ArgFactory& f, const Mirror& m, Errno* rc) {
         std::vector<uint8_t> v = Valid(c, f);
         SetU32(&v, 0, 0);
         *rc = call(c, m, v.data());
         return true;
       }},
      {"size below the version-1 size",
       [call](const Command& c, const ArgFactory& f, const Mirror& m, Errno* rc) {
         std::vector<uint8_t> v = Valid(c, f);
         SetU32(&v, 0, c.ver1_size - 4);
         *rc = call(c, m, v.data());
         return true;
       }},
      {"size larger, zero tail",
       [call](const Command& c, const ArgFactory& f, const Mirror& m, Errno* rc) {
         std::vector<uint8_t> v = Valid(c, f);
         SetU32(&v, 0, c.size + 8);
         *rc = call(c, m, v.data());
         return true;
       }},
      {"size larger, non-zero tail",
       [call](const Command& c, const ArgFactory& f, const Mirror& m, Errno* rc) {
         std::vector<uint8_t> v = Valid(c, f);
         SetU32(&v, 0, c.size + 8);
         v[c.size + 3] = 1;
         *rc = call(c, m, v.data());
         return true;
       }},
      {"size 4097",
       [call](const Command& c, const ArgFactory& f, const Mirror& m, Errno* rc) {
         std::vector<uint8_t> v = Valid(c, f);
         SetU32(&v, 0, 4097);
         *rc = call(c, m, v.data());
         return true;
       }},
      {"unknown flag (bit 31)",
       [call](const Command& c, const ArgFactory& f, const Mirror& m, Errno* rc) {
         std::vector<uint8_t> v = Valid(c, f);
         SetU32(&v, 4, 0x80000000U);
         *rc = call(c, m, v.data());
         return true;
       }},
      {"reserved field non-zero",
       [call](const Command& c, const ArgFactory& f, const Mirror& m, Errno* rc) {
         const int off = ReservedOffset(c.id);
         if (off < 0) return false;
         std::vector<uint8_t> v = Valid(c, f);
         SetU32(&v, off, 1);
         *rc = call(c, m, v.data());
         return true;
       }},
      {"addr not page aligned", with_range(1, 2 * page)},
      {"length 0", with_range(uint64_t{1} << 30, 0)},
      {"range wrapping around", with_range(~uint64_t{0} - page + 1, 2 * page)},
      {"range at a kernel address", with_range(kKernelAddr, page)},
      {"range beyond the user address space",
       with_range(uint64_t{1} << 56, page)},
      {"range reaching past addr_limit (HANDSHAKE)",
       with_range(HMM_MIRROR_ADDR_LIMIT - page, 2 * page)},
      {"unmapped range", with_range(uint64_t{1} << 46, page)},
      {"user pointer NULL", with_pointer(0)},
      {"user pointer to a kernel address", with_pointer(kKernelAddr)},
  };
}

// "EINVAL", "success" or "-" (does not apply).
std::string Cell(bool applies, Errno rc) {
  if (!applies) return "-";
  if (rc == kSuccess) return "0";
  std::ostringstream os;
  os << rc;
  return os.str();
}

// The table as abi/README.md prints it.
std::string Markdown(const std::vector<Command>& cmds,
                     const std::vector<std::string>& rows,
                     const std::map<std::string, std::vector<std::string>>& cells) {
  std::ostringstream os;
  os << "| input |";
  for (const Command& c : cmds) os << " " << c.name << " |";
  os << "\n|---|";
  for (size_t i = 0; i < cmds.size(); ++i) os << "---|";
  os << "\n";
  for (const std::string& r : rows) {
    os << "| " << r << " |";
    for (const std::string& cell : cells.at(r)) os << " " << cell << " |";
    os << "\n";
  }
  return os.str();
}

// @table (Markdown) without the columns of the commands in @drop.
std::string WithoutColumns(const std::string& table,
                           const std::vector<std::string>& drop) {
  std::istringstream in(table);
  std::ostringstream out;
  std::string line;
  std::vector<bool> keep;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    size_t a = line.find('|');
    while (a != std::string::npos) {
      size_t b = line.find('|', a + 1);
      if (b == std::string::npos) break;
      cells.push_back(line.substr(a + 1, b - a - 1));
      a = b;
    }
    if (keep.empty())
      for (const std::string& c : cells)
        keep.push_back(std::find(drop.begin(), drop.end(),
                                 c.size() > 2 ? c.substr(1, c.size() - 2)
                                              : c) == drop.end());
    out << "|";
    for (size_t i = 0; i < cells.size(); ++i)
      if (i >= keep.size() || keep[i]) out << cells[i] << "|";
    out << "\n";
  }
  return out.str();
}

// The table between the markers of abi/README.md, or "" if not found.
std::string PublishedTable() {
  for (const char* path : {"abi/README.md", "../abi/README.md",
                           "../../abi/README.md"}) {
    std::ifstream f(path);
    if (!f) continue;
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string s = ss.str();
    const std::string begin = "<!-- bad-input-table:begin -->\n";
    const std::string end = "<!-- bad-input-table:end -->";
    const size_t a = s.find(begin), b = s.find(end);
    if (a == std::string::npos || b == std::string::npos) return "";
    return s.substr(a + begin.size(), b - a - begin.size());
  }
  return "";
}

using BadInputTableTest = MirrorTest;

TEST_F(BadInputTableTest, MatchesTheAbiDocumentation) {
  ArgFactory f(page_);
  std::vector<Command> cmds;
  std::vector<std::string> missing;
  for (const Command& c : AllCommands()) {
    if (dev_.Has(c.feature))
      cmds.push_back(c);
    else
      missing.push_back(c.name);
  }
  // Only device memory (HMM_MIRROR_FEAT_DEVICE_MEMORY) and exclusive access
  // (HMM_MIRROR_FEAT_EXCLUSIVE) depend on the kernel: without them the
  // table is compared without MIGRATE's, EXCLUSIVE's and ATOMIC's columns.
  ASSERT_EQ(cmds.size() + (dev_.Has(HMM_MIRROR_FEAT_DEVICE_MEMORY) ? 0 : 1) +
                (dev_.Has(HMM_MIRROR_FEAT_EXCLUSIVE) ? 0 : 2),
            AllCommands().size())
      << "a feature is missing";
  std::vector<std::string> names;
  std::map<std::string, std::vector<std::string>> cells;
  for (const Row& r : Rows(page_)) {
    names.push_back(r.name);
    for (const Command& c : cmds) {
      // A fresh mirror per call, so that no call depends on another.
      Mirror m;
      ASSERT_EQ("", m.Open());
      Errno rc;
      const bool applies = r.run(c, f, m, &rc);
      cells[r.name].push_back(Cell(applies, rc));
    }
  }
  const std::string measured = Markdown(cmds, names, cells);
  RecordProperty("table", measured);
  const std::string published = WithoutColumns(PublishedTable(), missing);
  ASSERT_FALSE(published.empty())
      << "abi/README.md has no bad-input table between the markers; the "
         "measured one is:\n" << measured;
  EXPECT_EQ(published, measured)
      << "abi/README.md's bad-input table differs from what the module "
         "answers; the measured table is:\n" << measured;
}

}  // namespace
}  // namespace hmm_conformance
