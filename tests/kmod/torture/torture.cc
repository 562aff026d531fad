// SPDX-License-Identifier: MIT
//
// torture.cc - a seeded, time-bounded chaos run against /dev/hmm_mirror,
// with a coherence checker.  Runs inside the test VM (make torture).
//
// Several worker processes each own an arena of 2 MiB slots (private
// anonymous 4K or THP, shared memfd, or "uniform" KSM-mergeable memory).
// In each worker:
//   - owner threads, one per set of slots, each the only writer of its
//     slots: CPU writes, device WRITE/READ/FAULT/SNAPSHOT/QUERY, mprotect,
//     MADV_DONTNEED/FREE/REMOVE/COLLAPSE, remapping, mremap out and back,
//     fork with a device READ from the child through the inherited fd;
//   - a chaos thread doing only what keeps contents: NUMA migration
//     (move_pages), MADV_COLD/PAGEOUT, compaction, THP advice, fork/COW
//     children, dup2() over an fd another thread uses for ioctls;
//   - a second mirror ATTACHed to the next worker, reading its memory.
// Every page carries a stamp: each 8-byte word encodes the page it belongs
// to and a generation, so a word that lands on the wrong page or a stale
// generation is named exactly.  Each owner keeps a model of its pages and
// checks every answer against it; every round ends with all threads of a
// worker paused and a full check of CPU bytes, device READ, QUERY against
// SNAPSHOT.  Anything else is a finding; the kernel log is checked by the
// VM runner.
//
// Written for this project rather than taken from a fuzzing framework: the
// checks need the model of what each page must hold, which only the
// program that changed it knows.

#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "hmm_mirror.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE (1 << 1)
#endif

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kSlotBytes = uint64_t{2} << 20;
constexpr uint64_t kSlotPages = kSlotBytes / kPage;
constexpr int kMaxWorkers = 8;
constexpr int kMaxFindingsShown = 8;

struct Options {
  uint64_t seed = 1;
  double seconds = 60;
  int workers = 2;
  int owners = 2;       // owner threads per worker
  int slots = 4;        // slots per owner
  double round_s = 2;   // seconds between full checks
  bool verbose = false;
  std::string counts;   // "passed failed skipped" written here at the end
};

// ---------------------------------------------------------------------------
// Random numbers: splitmix64, one generator per thread.

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed) {}
  uint64_t Next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return n ? Next() % n : 0; }
  bool OneIn(uint64_t n) { return Below(n) == 0; }
};

// ---------------------------------------------------------------------------
// Shared state between the coordinator and the workers (MAP_SHARED).

struct WorkerBoard {
  std::atomic<int> pid;
  std::atomic<uint64_t> arena;  // base of the slots
  std::atomic<uint64_t> ops;
  std::atomic<uint64_t> rounds;
  std::atomic<uint64_t> findings;
  std::atomic<uint64_t> ebusy;
  std::atomic<int> done;
  char first_finding[512];
};

struct Board {
  std::atomic<int> ready;
  std::atomic<int> stop;
  WorkerBoard w[kMaxWorkers];
};

Board* g_board;
int g_worker = -1;
Options g_opt;

void Finding(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void Finding(const char* fmt, ...) {
  char msg[480];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  WorkerBoard& wb = g_board->w[g_worker];
  const uint64_t n = wb.findings.fetch_add(1);
  if (n == 0) snprintf(wb.first_finding, sizeof(wb.first_finding), "%s", msg);
  if (n < kMaxFindingsShown)
    fprintf(stderr, "torture: FINDING (worker %d, seed %llu): %s\n", g_worker,
            static_cast<unsigned long long>(g_opt.seed), msg);
}

// ---------------------------------------------------------------------------
// The device, through raw ioctls: each call returns 0 or the errno.

int Ioctl(int fd, unsigned long cmd, void* arg) {
  return ioctl(fd, cmd, arg) == 0 ? 0 : errno;
}

int OpenMirror() {
  const int fd = open("/dev/hmm_mirror", O_RDWR | O_CLOEXEC);
  if (fd < 0) return -1;
  hmm_mirror_handshake hs = {};
  hs.size = sizeof(hs);
  hs.abi_version = HMM_MIRROR_ABI_VERSION;
  if (Ioctl(fd, HMM_MIRROR_IOC_HANDSHAKE, &hs) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int DevFault(int fd, uint64_t addr, uint64_t len, bool write) {
  hmm_mirror_fault f = {};
  f.size = sizeof(f);
  f.flags = write ? HMM_MIRROR_FAULT_WRITE : 0;
  f.addr = addr;
  f.length = len;
  return Ioctl(fd, HMM_MIRROR_IOC_FAULT, &f);
}

int DevPages(int fd, unsigned long cmd, uint64_t addr, uint64_t len,
             uint32_t* states) {
  hmm_mirror_pages p = {};
  p.size = sizeof(p);
  p.addr = addr;
  p.length = len;
  p.states = reinterpret_cast<uintptr_t>(states);
  p.states_len = len / kPage;
  return Ioctl(fd, cmd, &p);
}

int DevRw(int fd, bool write, uint64_t addr, uint64_t len, void* buf) {
  hmm_mirror_rw rw = {};
  rw.size = sizeof(rw);
  rw.addr = addr;
  rw.length = len;
  rw.buf = reinterpret_cast<uintptr_t>(buf);
  return Ioctl(fd, write ? HMM_MIRROR_IOC_WRITE : HMM_MIRROR_IOC_READ, &rw);
}

// ---------------------------------------------------------------------------
// Stamps: word i of a page is ((id << 32) | gen) ^ ((i + 1) * K), so every
// word names its page and generation on its own.  Uniform pages hold one
// byte value everywhere instead (so that KSM has pages to merge).

constexpr uint64_t kMix = 0x9E3779B97F4A7C15ULL;

uint32_t PageId(int worker, unsigned slot, unsigned page) {
  return (static_cast<uint32_t>(worker) << 24) | (slot << 12) | page;
}

void StampPage(uint8_t* p, uint32_t id, uint32_t gen) {
  auto* w = reinterpret_cast<uint64_t*>(p);
  const uint64_t head = (static_cast<uint64_t>(id) << 32) | gen;
  for (uint64_t i = 0; i < kPage / 8; ++i) w[i] = head ^ ((i + 1) * kMix);
}

uint8_t UniformByte(uint32_t gen) { return static_cast<uint8_t>(gen | 1); }

bool AllZero(const uint8_t* p) {
  const auto* w = reinterpret_cast<const uint64_t*>(p);
  for (uint64_t i = 0; i < kPage / 8; ++i)
    if (w[i]) return false;
  return true;
}

// What word i of a page says it is: id and generation.
void Decode(const uint8_t* p, uint64_t i, uint32_t* id, uint32_t* gen) {
  const uint64_t v =
      reinterpret_cast<const uint64_t*>(p)[i] ^ ((i + 1) * kMix);
  *id = static_cast<uint32_t>(v >> 32);
  *gen = static_cast<uint32_t>(v);
}

// ---------------------------------------------------------------------------
// The model of one owner's pages.

enum class Kind { kAnon, kThp, kShared, kUniform };
const char* KindName(Kind k) {
  switch (k) {
    case Kind::kAnon: return "anon";
    case Kind::kThp: return "thp";
    case Kind::kShared: return "shared";
    case Kind::kUniform: return "uniform";
  }
  return "?";
}

struct PageModel {
  uint32_t gen = 0;   // the generation it holds
  uint32_t alt = 0;   // ... or this one (a WRITE that ended in EBUSY)
  bool zero = true;   // all zero (fresh, DONTNEED, REMOVE)
  bool may_zero = false;  // lazily freed: its data, or zeros
};

struct Slot {
  unsigned index;
  uint8_t* base;
  Kind kind;
  bool readonly = false;
  int memfd = -1;
  std::vector<PageModel> pages{kSlotPages};
};

// Does page p (of slot s, page i) hold what the model allows?  "" if so.
std::string CheckPage(const Slot& s, unsigned i, const uint8_t* p) {
  const PageModel& m = s.pages[i];
  const bool zero = AllZero(p);
  if (zero && (m.zero || m.may_zero)) return "";
  char msg[200];
  if (zero) {
    snprintf(msg, sizeof(msg), "reads as zeros, expected generation %u",
             m.gen);
    return msg;
  }
  if (m.zero) return "expected zeros, found data";
  if (s.kind == Kind::kUniform) {
    const uint8_t a = UniformByte(m.gen), b = UniformByte(m.alt);
    const uint8_t v = p[0];
    if (v != a && v != b) {
      snprintf(msg, sizeof(msg), "uniform byte 0x%02x, expected 0x%02x", v, a);
      return msg;
    }
    for (uint64_t j = 1; j < kPage; ++j)
      if (p[j] != v) {
        snprintf(msg, sizeof(msg), "torn uniform page at byte %llu",
                 static_cast<unsigned long long>(j));
        return msg;
      }
    return "";
  }
  const uint32_t want = PageId(g_worker, s.index, i);
  uint32_t id0, gen0;
  Decode(p, 0, &id0, &gen0);
  for (uint64_t j = 0; j < kPage / 8; ++j) {
    uint32_t id, gen;
    Decode(p, j, &id, &gen);
    if (id != want || (gen != m.gen && gen != m.alt) || gen != gen0) {
      snprintf(msg, sizeof(msg),
               "word %llu is stamped page id 0x%x generation %u; expected "
               "id 0x%x generation %u (or %u)",
               static_cast<unsigned long long>(j), id, gen, want, m.gen, m.alt);
      return msg;
    }
  }
  return "";
}

// ---------------------------------------------------------------------------
// Pausing every thread of a worker for the round's full check.

class Pause {
 public:
  explicit Pause(int parties) : parties_(parties) {}
  // Called by each party between operations: blocks while a pause is on.
  void Point() {
    std::unique_lock<std::mutex> l(mu_);
    if (!wanted_) return;
    ++arrived_;
    cv_.notify_all();
    cv_.wait(l, [&] { return !wanted_; });
  }
  // The checker: ask for a pause and wait until every party is in it.
  void Begin() {
    std::unique_lock<std::mutex> l(mu_);
    wanted_ = true;
    arrived_ = 0;
    cv_.wait(l, [&] { return arrived_ == parties_; });
  }
  void End() {
    std::lock_guard<std::mutex> l(mu_);
    wanted_ = false;
    cv_.notify_all();
  }
  // A party that is done leaves for good.
  void Leave() {
    std::lock_guard<std::mutex> l(mu_);
    --parties_;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int parties_;
  int arrived_ = 0;
  bool wanted_ = false;
};

// ---------------------------------------------------------------------------
// One worker process.

class Worker {
 public:
  Worker(int index, uint64_t seed, double seconds)
      : index_(index), seed_(seed), seconds_(seconds),
        pause_(g_opt.owners + 1) {}

  int Run();

 private:
  struct Owner {
    int index;
    std::vector<Slot> slots;
    uint8_t* spare;  // a slot-sized place to mremap to
    std::vector<uint8_t> buf;
    std::vector<uint32_t> snap, query;
  };

  uint8_t* SlotAddr(unsigned global) const {
    return arena_ + global * kSlotBytes;
  }
  bool MapSlot(Slot& s, Kind k);
  void OwnerLoop(Owner& o, Rng rng);
  void ChaosLoop(Rng rng);
  void AttachLoop(Rng rng);
  void OwnerOp(Owner& o, Rng& rng);
  void FullCheck(Owner& o);
  void CheckRange(Slot& s, unsigned first, unsigned n, const uint8_t* data,
                  const char* what);
  void CheckDeviceAgainstCpu(Slot& s, uint8_t* base, unsigned first,
                             unsigned n, Owner& o, const char* what);
  void ExpectUnmappedByDevice(uint64_t addr, uint64_t len, Owner& o,
                              const char* what);
  bool Expired() const {
    return std::chrono::steady_clock::now() >= end_ ||
           g_board->stop.load() != 0;
  }
  void Count() {
    g_board->w[index_].ops.fetch_add(1, std::memory_order_relaxed);
  }
  void Busy() { g_board->w[index_].ebusy.fetch_add(1); }

  int index_;
  uint64_t seed_;
  double seconds_;
  std::chrono::steady_clock::time_point end_;
  uint8_t* arena_ = nullptr;
  int dev_ = -1;         // this process's mirror
  int shared_fd_ = -1;   // a dup of a mirror, dup2()ed over by chaos
  Pause pause_;
  std::vector<Owner> owners_;
  int numa_nodes_ = 1;
};

bool Worker::MapSlot(Slot& s, Kind k) {
  if (s.memfd >= 0) close(s.memfd);
  s.memfd = -1;
  void* p;
  if (k == Kind::kShared) {
    s.memfd = static_cast<int>(syscall(SYS_memfd_create, "torture", 1u));
    if (s.memfd < 0 || ftruncate(s.memfd, kSlotBytes) != 0) return false;
    p = mmap(s.base, kSlotBytes, PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_FIXED, s.memfd, 0);
  } else {
    p = mmap(s.base, kSlotBytes, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  }
  if (p != s.base) return false;
  madvise(s.base, kSlotBytes, k == Kind::kThp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  if (k == Kind::kUniform) madvise(s.base, kSlotBytes, MADV_MERGEABLE);
  s.kind = k;
  s.readonly = false;
  for (PageModel& m : s.pages) m = PageModel();
  return true;
}

void Worker::CheckRange(Slot& s, unsigned first, unsigned n,
                        const uint8_t* data, const char* what) {
  for (unsigned i = 0; i < n; ++i) {
    const std::string err = CheckPage(s, first + i, data + i * kPage);
    if (!err.empty()) {
      Finding("%s: slot %u (%s) page %u at %p: %s", what, s.index,
              KindName(s.kind), first + i, s.base + (first + i) * kPage,
              err.c_str());
      return;
    }
  }
}

// The device maps nothing in [addr, addr + len): right after a change that
// took the range away.
void Worker::ExpectUnmappedByDevice(uint64_t addr, uint64_t len, Owner& o,
                                    const char* what) {
  const int rc = DevPages(dev_, HMM_MIRROR_IOC_QUERY, addr, len, o.query.data());
  if (rc) {
    Finding("%s: QUERY answered %s", what, strerror(rc));
    return;
  }
  for (uint64_t i = 0; i < len / kPage; ++i)
    if (o.query[i] & HMM_MIRROR_PAGE_VALID) {
      Finding("%s: the device still maps page %llu at 0x%llx", what,
              static_cast<unsigned long long>(i),
              static_cast<unsigned long long>(addr + i * kPage));
      return;
    }
}

// SNAPSHOT, then QUERY, then a device READ compared with the CPU's view
// and the model.  The owner is the only one who faults these pages, so a
// page the device maps at the QUERY was mapped by the CPU at the SNAPSHOT.
void Worker::CheckDeviceAgainstCpu(Slot& s, uint8_t* base, unsigned first,
                                   unsigned n, Owner& o, const char* what) {
  const uint64_t addr = reinterpret_cast<uint64_t>(base + first * kPage);
  const uint64_t len = n * kPage;
  int rc = DevPages(dev_, HMM_MIRROR_IOC_SNAPSHOT, addr, len, o.snap.data());
  if (rc == EBUSY) return Busy();
  if (rc) return Finding("%s: SNAPSHOT answered %s", what, strerror(rc));
  rc = DevPages(dev_, HMM_MIRROR_IOC_QUERY, addr, len, o.query.data());
  if (rc) return Finding("%s: QUERY answered %s", what, strerror(rc));
  for (unsigned i = 0; i < n; ++i) {
    const uint32_t q = o.query[i], sn = o.snap[i];
    if ((q & HMM_MIRROR_PAGE_VALID) && !(sn & HMM_MIRROR_PAGE_VALID))
      return Finding("%s: slot %u page %u: the device maps it, the CPU did "
                     "not (QUERY 0x%x, SNAPSHOT 0x%x)",
                     what, s.index, first + i, q, sn);
    if ((q & HMM_MIRROR_PAGE_WRITE) && !(sn & HMM_MIRROR_PAGE_WRITE))
      return Finding("%s: slot %u page %u: the device may write it, the CPU "
                     "may not (QUERY 0x%x, SNAPSHOT 0x%x)",
                     what, s.index, first + i, q, sn);
  }
  rc = DevRw(dev_, false, addr, len, o.buf.data());
  if (rc == EBUSY) return Busy();
  if (rc) return Finding("%s: READ answered %s", what, strerror(rc));
  CheckRange(s, first, n, o.buf.data(), what);
  CheckRange(s, first, n, base + first * kPage, what);
}

void Worker::FullCheck(Owner& o) {
  for (Slot& s : o.slots) {
    CheckDeviceAgainstCpu(s, s.base, 0, kSlotPages, o, "round check");
    if (s.kind != Kind::kUniform && !s.readonly) {
      // And the device's own view after faulting all of it for write.
      const int rc = DevFault(dev_, reinterpret_cast<uint64_t>(s.base),
                              kSlotBytes, true);
      if (rc && rc != EBUSY)
        Finding("round check: FAULT of slot %u answered %s", s.index,
                strerror(rc));
    }
  }
}

void Worker::OwnerOp(Owner& o, Rng& rng) {
  Slot& s = o.slots[rng.Below(o.slots.size())];
  const unsigned first = static_cast<unsigned>(rng.Below(kSlotPages));
  const unsigned n = static_cast<unsigned>(
      1 + rng.Below(std::min<uint64_t>(kSlotPages - first, 64)));
  const uint64_t addr = reinterpret_cast<uint64_t>(s.base + first * kPage);
  const uint64_t len = n * kPage;
  const uint32_t gen = static_cast<uint32_t>(rng.Next() | 1);
  auto stamp_into = [&](uint8_t* dst) {
    for (unsigned i = 0; i < n; ++i) {
      if (s.kind == Kind::kUniform)
        memset(dst + i * kPage, UniformByte(gen), kPage);
      else
        StampPage(dst + i * kPage, PageId(index_, s.index, first + i), gen);
    }
  };
  int rc;
  switch (rng.Below(16)) {
    case 0:
    case 1:  // CPU write
      if (s.readonly) break;
      stamp_into(s.base + first * kPage);
      for (unsigned i = 0; i < n; ++i) s.pages[first + i] = {gen, gen, false, false};
      break;
    case 2:
    case 3:  // device WRITE
      stamp_into(o.buf.data());
      rc = DevRw(dev_, true, addr, len, o.buf.data());
      if (s.readonly) {
        if (rc != EPERM)
          Finding("WRITE to read-only slot %u answered %s, not EPERM", s.index,
                  rc ? strerror(rc) : "success");
        break;
      }
      if (rc == 0) {
        for (unsigned i = 0; i < n; ++i) s.pages[first + i] = {gen, gen, false, false};
      } else if (rc == EBUSY) {
        Busy();
        for (unsigned i = 0; i < n; ++i) {
          PageModel& m = s.pages[first + i];
          m.alt = gen;  // old or new, page by page
          if (m.zero || m.may_zero) m.gen = gen;  // (zero stays allowed)
          m.may_zero = m.zero || m.may_zero;
          m.zero = false;
        }
      } else {
        Finding("WRITE of slot %u answered %s", s.index, strerror(rc));
      }
      CheckRange(s, first, n, s.base + first * kPage, "CPU view after WRITE");
      break;
    case 4:
    case 5:  // device READ
      rc = DevRw(dev_, false, addr, len, o.buf.data());
      if (rc == EBUSY) {
        Busy();
      } else if (rc) {
        Finding("READ of slot %u answered %s", s.index, strerror(rc));
      } else {
        CheckRange(s, first, n, o.buf.data(), "device READ");
      }
      break;
    case 6:  // FAULT
      rc = DevFault(dev_, addr, len, !s.readonly && rng.OneIn(2));
      if (rc == EBUSY) Busy();
      else if (rc) Finding("FAULT of slot %u answered %s", s.index, strerror(rc));
      break;
    case 7:  // SNAPSHOT/QUERY/READ consistency
      CheckDeviceAgainstCpu(s, s.base, first, n, o, "consistency");
      break;
    case 8:  // mprotect
      if (mprotect(s.base, kSlotBytes, s.readonly ? PROT_READ | PROT_WRITE
                                                  : PROT_READ) != 0)
        break;
      s.readonly = !s.readonly;
      if (s.readonly) {
        rc = DevPages(dev_, HMM_MIRROR_IOC_QUERY,
                      reinterpret_cast<uint64_t>(s.base), kSlotBytes,
                      o.query.data());
        for (uint64_t i = 0; rc == 0 && i < kSlotPages; ++i)
          if (o.query[i] & HMM_MIRROR_PAGE_WRITE) {
            Finding("after mprotect(PROT_READ) the device may still write "
                    "slot %u page %llu", s.index,
                    static_cast<unsigned long long>(i));
            break;
          }
      }
      break;
    case 9:  // take pages away
      if (s.kind == Kind::kShared) {
        if (madvise(s.base + first * kPage, len, MADV_REMOVE) != 0) break;
      } else if (madvise(s.base + first * kPage, len, MADV_DONTNEED) != 0) {
        break;
      }
      for (unsigned i = 0; i < n; ++i) s.pages[first + i] = PageModel();
      ExpectUnmappedByDevice(addr, len, o, "after DONTNEED/REMOVE");
      break;
    case 10:  // lazy free: then usually a device WRITE (the lost-data bug)
      if (s.kind == Kind::kShared || s.readonly) break;
      if (madvise(s.base + first * kPage, len, MADV_FREE) != 0) break;
      for (unsigned i = 0; i < n; ++i)
        if (!s.pages[first + i].zero) s.pages[first + i].may_zero = true;
      if (rng.OneIn(4)) break;
      stamp_into(o.buf.data());
      rc = DevRw(dev_, true, addr, len, o.buf.data());
      if (rc == 0) {
        for (unsigned i = 0; i < n; ++i) s.pages[first + i] = {gen, gen, false, false};
        if (rng.OneIn(2)) madvise(s.base + first * kPage, len, MADV_PAGEOUT);
        CheckRange(s, first, n, s.base + first * kPage,
                   "device WRITE after MADV_FREE, then reclaim");
      } else if (rc == EBUSY) {
        Busy();
        for (unsigned i = 0; i < n; ++i) {
          s.pages[first + i].alt = gen;
          if (s.pages[first + i].zero) s.pages[first + i].gen = gen;
          s.pages[first + i].may_zero = true;
          s.pages[first + i].zero = false;
        }
      } else {
        Finding("WRITE after MADV_FREE answered %s", strerror(rc));
      }
      break;
    case 11: {  // replace the whole slot
      static const Kind kinds[] = {Kind::kAnon, Kind::kThp, Kind::kShared,
                                   Kind::kUniform};
      if (!MapSlot(s, kinds[rng.Below(4)])) {
        Finding("remapping slot %u failed: %s", s.index, strerror(errno));
        break;
      }
      ExpectUnmappedByDevice(reinterpret_cast<uint64_t>(s.base), kSlotBytes, o,
                             "after replacing the slot");
      break;
    }
    case 12: {  // mremap out to the spare place and back
      // MREMAP_DONTUNMAP leaves the source an empty mapping instead of a
      // hole, so that no other thread's mmap() can land there meanwhile.
      constexpr int kMove = MREMAP_MAYMOVE | MREMAP_FIXED | 4;  // DONTUNMAP
      if (mremap(s.base, kSlotBytes, kSlotBytes, kMove, o.spare) != o.spare)
        break;
      ExpectUnmappedByDevice(reinterpret_cast<uint64_t>(s.base), kSlotBytes, o,
                             "after mremap away");
      // The pages keep the slot's ids: check them at the new place.
      CheckDeviceAgainstCpu(s, o.spare, first, n, o,
                            "after mremap, at the new place");
      if (mremap(o.spare, kSlotBytes, kSlotBytes, kMove, s.base) != s.base) {
        Finding("mremap back failed: %s", strerror(errno));
        break;
      }
      ExpectUnmappedByDevice(reinterpret_cast<uint64_t>(o.spare), kSlotBytes,
                             o, "after mremap back (the spare place)");
      break;
    }
    case 13:  // THP collapse
      if (s.kind == Kind::kThp) madvise(s.base, kSlotBytes, MADV_COLLAPSE);
      break;
    case 14: {  // fork: the child reads the parent through the inherited fd
      const pid_t pid = fork();
      if (pid == 0) {
        // glibc keeps malloc usable in the child of a threaded fork.
        int bad = DevRw(dev_, false, addr, len, o.buf.data()) != 0;
        for (unsigned i = 0; !bad && i < n; ++i)
          bad = !CheckPage(s, first + i, o.buf.data() + i * kPage).empty();
        if (!s.readonly && s.kind != Kind::kShared)  // a COW copy of its own
          s.base[first * kPage] ^= 1;
        _exit(bad ? 3 : 0);
      }
      if (pid < 0) break;
      int status = 0;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        Finding("a forked child's READ of slot %u through the inherited fd "
                "did not match (status 0x%x)", s.index, status);
      break;
    }
    case 15: {  // QUERY through an fd the chaos thread dup2()s over
      rc = DevPages(shared_fd_, HMM_MIRROR_IOC_QUERY, addr, len, o.query.data());
      if (rc && rc != ENOTTY && rc != EBADF)
        Finding("QUERY through a dup2()ed fd answered %s", strerror(rc));
      break;
    }
  }
}

void Worker::OwnerLoop(Owner& o, Rng rng) {
  while (!Expired()) {
    pause_.Point();
    OwnerOp(o, rng);
    Count();
  }
  pause_.Leave();
}

void Worker::ChaosLoop(Rng rng) {
  const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  auto last_compact = std::chrono::steady_clock::now();
  while (!Expired()) {
    pause_.Point();
    const Owner& o = owners_[rng.Below(owners_.size())];
    const Slot& s = o.slots[rng.Below(o.slots.size())];
    const uint64_t off = rng.Below(kSlotPages) * kPage;
    const uint64_t len = std::min<uint64_t>(kSlotBytes - off,
                                            (1 + rng.Below(128)) * kPage);
    switch (rng.Below(7)) {
      case 0:
        if (numa_nodes_ > 1) {
          void* pages[16];
          int nodes[16], status[16];
          const unsigned n = 1 + rng.Below(16);
          for (unsigned i = 0; i < n; ++i) {
            pages[i] = s.base + rng.Below(kSlotPages) * kPage;
            nodes[i] = static_cast<int>(rng.Below(numa_nodes_));
          }
          syscall(SYS_move_pages, 0, n, pages, nodes, status, MPOL_MF_MOVE);
        }
        break;
      case 1:
        madvise(s.base + off, len, rng.OneIn(2) ? MADV_COLD : MADV_PAGEOUT);
        break;
      case 2:
        if (std::chrono::steady_clock::now() - last_compact >
            std::chrono::seconds(3)) {
          const int fd = open("/proc/sys/vm/compact_memory", O_WRONLY | O_CLOEXEC);
          if (fd >= 0) {
            (void)!write(fd, "1", 1);
            close(fd);
          }
          last_compact = std::chrono::steady_clock::now();
        }
        break;
      case 3: {  // fork: private pages go copy-on-write, the child exits
        const pid_t pid = fork();
        if (pid == 0) _exit(0);
        if (pid > 0) waitpid(pid, nullptr, 0);
        break;
      }
      case 4: {  // dup2 over the fd the owners QUERY through, maybe mid-call
        const int fresh = rng.OneIn(2) ? OpenMirror() : dup(devnull);
        if (fresh >= 0) {
          dup2(fresh, shared_fd_);
          close(fresh);
        }
        break;
      }
      case 5:
        if (s.kind == Kind::kThp)
          madvise(s.base, kSlotBytes, rng.OneIn(2) ? MADV_HUGEPAGE
                                                   : MADV_NOHUGEPAGE);
        break;
      case 6:
        usleep(1000);
        break;
    }
    Count();
  }
  if (devnull >= 0) close(devnull);
  pause_.Leave();
}

// A second mirror bound to the next worker: its memory, read from here.
void Worker::AttachLoop(Rng rng) {
  const int next = (index_ + 1) % g_opt.workers;
  if (next == index_) return;
  const int pidfd = static_cast<int>(
      syscall(SYS_pidfd_open, g_board->w[next].pid.load(), 0));
  const int fd = OpenMirror();
  if (pidfd < 0 || fd < 0) {
    Finding("attach loop: pidfd_open or open failed: %s", strerror(errno));
    return;
  }
  hmm_mirror_attach a = {};
  a.size = sizeof(a);
  a.pidfd = static_cast<uint32_t>(pidfd);
  int rc = Ioctl(fd, HMM_MIRROR_IOC_ATTACH, &a);
  if (rc) {
    Finding("ATTACH to worker %d answered %s", next, strerror(rc));
    return;
  }
  const uint64_t arena = g_board->w[next].arena.load();
  const unsigned nslots = g_opt.owners * g_opt.slots;
  std::vector<uint8_t> buf(64 * kPage);
  std::vector<uint32_t> states(64);
  while (!Expired()) {
    const unsigned slot = static_cast<unsigned>(rng.Below(nslots));
    const unsigned first = static_cast<unsigned>(rng.Below(kSlotPages - 64));
    const unsigned n = 1 + static_cast<unsigned>(rng.Below(64));
    const uint64_t addr = arena + slot * kSlotBytes + first * kPage;
    if (rng.OneIn(3)) {
      rc = DevPages(fd, HMM_MIRROR_IOC_SNAPSHOT, addr, n * kPage, states.data());
      if (rc && rc != EBUSY && rc != ESRCH)
        Finding("SNAPSHOT of worker %d answered %s", next, strerror(rc));
    } else {
      rc = DevRw(fd, false, addr, n * kPage, buf.data());
      // The other worker unmaps and moves its slots: EFAULT is fine.
      if (rc && rc != EFAULT && rc != EBUSY && rc != ESRCH)
        Finding("READ of worker %d answered %s", next, strerror(rc));
      for (unsigned i = 0; rc == 0 && i < n; ++i) {
        // Its owner may write while we read, and a concurrent copy can
        // tear even a word, byte by byte (a uniform page half rewritten
        // reads 0xcdcdcd0000000000): single words prove nothing.  A page
        // delivered in the place of another one names that other page in
        // many words: that is the finding.
        const uint8_t* p = buf.data() + i * kPage;
        const uint32_t want = PageId(next, slot, first + i);
        std::map<uint32_t, unsigned> others;
        for (uint64_t j = 0; j < kPage / 8; ++j) {
          uint32_t id, gen;
          Decode(p, j, &id, &gen);
          if (id != want && (id >> 24) == static_cast<uint32_t>(next) &&
              ((id >> 12) & 0xfff) < nslots && (id & 0xfff) < kSlotPages)
            ++others[id];
        }
        for (const auto& o : others)
          if (o.second >= 16) {
            Finding("READ of worker %d slot %u page %u: %u words name page "
                    "id 0x%x, not 0x%x", next, slot, first + i, o.second,
                    o.first, want);
            break;
          }
      }
    }
    if (rc == ESRCH) break;  // the other worker is done
    Count();
  }
  close(fd);
  close(pidfd);
}

int Worker::Run() {
  end_ = std::chrono::steady_clock::now() +
         std::chrono::milliseconds(static_cast<int64_t>(seconds_ * 1000));
  Rng rng(seed_);
  dev_ = OpenMirror();
  if (dev_ < 0) {
    fprintf(stderr, "torture: cannot open /dev/hmm_mirror: %s\n", strerror(errno));
    return 2;
  }
  shared_fd_ = dup(dev_);
  if (access("/sys/devices/system/node/node1", F_OK) == 0) numa_nodes_ = 2;

  // The arena: slots, then one spare place per owner, 2 MiB aligned.
  const unsigned nslots = g_opt.owners * g_opt.slots;
  const uint64_t bytes = (nslots + g_opt.owners + 1) * kSlotBytes;
  void* r = mmap(nullptr, bytes, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (r == MAP_FAILED) return 2;
  arena_ = reinterpret_cast<uint8_t*>(
      (reinterpret_cast<uint64_t>(r) + kSlotBytes - 1) & ~(kSlotBytes - 1));
  owners_.resize(g_opt.owners);
  for (int t = 0; t < g_opt.owners; ++t) {
    Owner& o = owners_[t];
    o.index = t;
    o.spare = SlotAddr(nslots + t);
    o.buf.resize(kSlotBytes);
    o.snap.resize(kSlotPages);
    o.query.resize(kSlotPages);
    for (int i = 0; i < g_opt.slots; ++i) {
      Slot s;
      s.index = static_cast<unsigned>(t * g_opt.slots + i);
      s.base = SlotAddr(s.index);
      static const Kind kinds[] = {Kind::kAnon, Kind::kThp, Kind::kShared,
                                   Kind::kUniform};
      if (!MapSlot(s, kinds[(s.index + rng.Below(4)) % 4])) return 2;
      o.slots.push_back(std::move(s));
    }
  }
  g_board->w[index_].arena = reinterpret_cast<uint64_t>(arena_);
  g_board->w[index_].pid = getpid();
  g_board->ready.fetch_add(1);
  while (g_board->ready.load() < g_opt.workers && !Expired()) usleep(1000);

  std::vector<std::thread> threads;
  for (Owner& o : owners_)
    threads.emplace_back([this, &o, s = rng.Next()] { OwnerLoop(o, Rng(s)); });
  threads.emplace_back([this, s = rng.Next()] { ChaosLoop(Rng(s)); });
  std::thread attach([this, s = rng.Next()] { AttachLoop(Rng(s)); });

  // Rounds: pause everyone, check everything, go on.
  auto next_round = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(static_cast<int>(g_opt.round_s * 1000));
  while (!Expired()) {
    usleep(20000);
    if (std::chrono::steady_clock::now() < next_round) continue;
    pause_.Begin();
    const uint64_t before = g_board->w[index_].findings.load();
    for (Owner& o : owners_) FullCheck(o);
    pause_.End();
    if (g_board->w[index_].findings.load() == before)
      g_board->w[index_].rounds.fetch_add(1);
    next_round = std::chrono::steady_clock::now() +
                 std::chrono::milliseconds(static_cast<int>(g_opt.round_s * 1000));
  }
  for (std::thread& t : threads) t.join();
  attach.join();
  // A last check with everything still: every round ends with one.
  const uint64_t before = g_board->w[index_].findings.load();
  for (Owner& o : owners_) FullCheck(o);
  if (g_board->w[index_].findings.load() == before)
    g_board->w[index_].rounds.fetch_add(1);
  g_board->w[index_].done = 1;
  // Stay alive until every worker is done: the others' attach loops read
  // this address space.
  while (!g_board->stop.load()) {
    bool all = true;
    for (int i = 0; i < g_opt.workers; ++i) all = all && g_board->w[i].done.load();
    if (all) break;
    usleep(10000);
  }
  return g_board->w[index_].findings.load() ? 1 : 0;
}

// ---------------------------------------------------------------------------
// The coordinator.

void Usage(FILE* out) {
  fprintf(out,
          "usage: hmm-torture [--seed N] [--seconds S] [--workers N] [--owners N]\n"
          "                   [--slots N] [--round S] [--counts FILE] [--verbose]\n"
          "\n"
          "A seeded, time-bounded chaos run against /dev/hmm_mirror (run it as root\n"
          "in the test VM: make torture SEED= SECONDS=).  Worker processes own arenas\n"
          "of 2 MiB slots; owner threads change them and use the device on them,\n"
          "a chaos thread migrates, reclaims, compacts and forks, and each worker\n"
          "reads the next one through an ATTACHed mirror.  Every page is stamped\n"
          "with its id and generation and checked against a model, and each round\n"
          "ends with a full check (CPU bytes, device READ, QUERY vs SNAPSHOT).\n"
          "\n"
          "  --seed N      seed of every random choice (default 1)\n"
          "  --seconds S   how long to run (default 60)\n"
          "  --workers N   worker processes, at most %d (default 2)\n"
          "  --owners N    owner threads per worker (default 2)\n"
          "  --slots N     slots per owner thread (default 4)\n"
          "  --round S     seconds between full checks (default 2)\n"
          "  --counts FILE write \"passed failed skipped\" (rounds checked clean,\n"
          "                findings) to FILE at the end\n"
          "  --verbose     progress every 5 s\n"
          "\n"
          "Exit status: 0 no finding, 1 findings (the first ones are printed with the\n"
          "seed to replay), 2 the run could not start.\n",
          kMaxWorkers);
}

bool ParseArgs(int argc, char** argv) {
  static const option longopts[] = {
      {"seed", required_argument, nullptr, 's'},
      {"seconds", required_argument, nullptr, 't'},
      {"workers", required_argument, nullptr, 'w'},
      {"owners", required_argument, nullptr, 'o'},
      {"slots", required_argument, nullptr, 'n'},
      {"round", required_argument, nullptr, 'r'},
      {"counts", required_argument, nullptr, 'c'},
      {"verbose", no_argument, nullptr, 'v'},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", longopts, nullptr)) != -1) {
    switch (c) {
      case 's': g_opt.seed = strtoull(optarg, nullptr, 0); break;
      case 't': g_opt.seconds = atof(optarg); break;
      case 'w': g_opt.workers = atoi(optarg); break;
      case 'o': g_opt.owners = atoi(optarg); break;
      case 'n': g_opt.slots = atoi(optarg); break;
      case 'r': g_opt.round_s = atof(optarg); break;
      case 'c': g_opt.counts = optarg; break;
      case 'v': g_opt.verbose = true; break;
      case 'h': Usage(stdout); exit(0);
      default: Usage(stderr); return false;
    }
  }
  if (optind != argc || g_opt.workers < 1 || g_opt.workers > kMaxWorkers ||
      g_opt.owners < 1 || g_opt.owners > 16 || g_opt.slots < 1 ||
      g_opt.slots > 64 || g_opt.seconds <= 0 || g_opt.round_s <= 0) {
    fprintf(stderr, "hmm-torture: bad arguments (see --help)\n");
    return false;
  }
  return true;
}

// Turns KSM on for the run, restoring the old setting at the end.
class KsmOn {
 public:
  KsmOn() {
    FILE* f = fopen(kPath, "r");
    if (f == nullptr) return;
    if (fscanf(f, "%d", &old_) != 1) old_ = -1;
    fclose(f);
    Write(1);
  }
  ~KsmOn() {
    if (old_ >= 0) Write(old_);
  }

 private:
  static constexpr const char* kPath = "/sys/kernel/mm/ksm/run";
  static void Write(int v) {
    FILE* f = fopen(kPath, "w");
    if (f == nullptr) return;
    fprintf(f, "%d\n", v);
    fclose(f);
  }
  int old_ = -1;
};

}  // namespace

int main(int argc, char** argv) {
  if (!ParseArgs(argc, argv)) return 2;
  void* shared = mmap(nullptr, sizeof(Board), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) return 2;
  g_board = new (shared) Board();
  {
    const int probe = OpenMirror();
    if (probe < 0) {
      fprintf(stderr, "hmm-torture: cannot open /dev/hmm_mirror: %s (load "
              "hmm_mirror.ko; run as root)\n", strerror(errno));
      return 2;
    }
    close(probe);
  }
  KsmOn ksm;
  printf("torture: seed %llu, %.0f s, %d workers x (%d owners x %d slots), "
         "rounds of %.1f s\n",
         static_cast<unsigned long long>(g_opt.seed), g_opt.seconds,
         g_opt.workers, g_opt.owners, g_opt.slots, g_opt.round_s);
  fflush(stdout);
  std::vector<pid_t> pids;
  Rng seeds(g_opt.seed);
  for (int i = 0; i < g_opt.workers; ++i) {
    const uint64_t seed = seeds.Next();
    const pid_t pid = fork();
    if (pid == 0) {
      g_worker = i;
      Worker w(i, seed, g_opt.seconds);
      _exit(w.Run());
    }
    if (pid < 0) return 2;
    pids.push_back(pid);
  }
  // Progress, and a deadline for hung workers (TCG: be generous).
  const auto start = std::chrono::steady_clock::now();
  const auto deadline =
      start + std::chrono::milliseconds(
                  static_cast<int64_t>((g_opt.seconds * 2 + 120) * 1000));
  auto next_report = start + std::chrono::seconds(5);
  std::vector<int> status(pids.size(), -1);
  size_t left = pids.size();
  bool hung = false;
  while (left) {
    for (size_t i = 0; i < pids.size(); ++i) {
      if (status[i] != -1) continue;
      int st;
      if (waitpid(pids[i], &st, WNOHANG) == pids[i]) {
        status[i] = st;
        --left;
      }
    }
    const auto now = std::chrono::steady_clock::now();
    if (left && now > deadline) {
      fprintf(stderr, "torture: FINDING: workers still running %.0f s after the "
              "end: hung (seed %llu)\n", g_opt.seconds * 2 + 120,
              static_cast<unsigned long long>(g_opt.seed));
      hung = true;
      g_board->stop = 1;
      for (pid_t p : pids) kill(p, SIGKILL);
      for (size_t i = 0; i < pids.size(); ++i)
        if (status[i] == -1) waitpid(pids[i], &status[i], 0);
      break;
    }
    if (g_opt.verbose && now >= next_report) {
      uint64_t ops = 0, rounds = 0, findings = 0;
      for (int i = 0; i < g_opt.workers; ++i) {
        ops += g_board->w[i].ops;
        rounds += g_board->w[i].rounds;
        findings += g_board->w[i].findings;
      }
      printf("torture: %3.0f s: %llu ops, %llu rounds checked, %llu findings\n",
             std::chrono::duration<double>(now - start).count(),
             static_cast<unsigned long long>(ops),
             static_cast<unsigned long long>(rounds),
             static_cast<unsigned long long>(findings));
      fflush(stdout);
      next_report = now + std::chrono::seconds(5);
    }
    usleep(50000);
  }
  uint64_t ops = 0, rounds = 0, findings = hung ? 1 : 0, ebusy = 0;
  for (int i = 0; i < g_opt.workers; ++i) {
    const WorkerBoard& w = g_board->w[i];
    ops += w.ops;
    rounds += w.rounds;
    findings += w.findings;
    ebusy += w.ebusy;
    const int st = status[i];
    if (!hung && !(WIFEXITED(st) && WEXITSTATUS(st) <= 1)) {
      fprintf(stderr, "torture: FINDING: worker %d ended with status 0x%x\n", i, st);
      ++findings;
    }
    if (w.findings)
      fprintf(stderr, "torture: worker %d: %llu findings, first: %s\n", i,
              static_cast<unsigned long long>(w.findings.load()), w.first_finding);
  }
  printf("torture: seed %llu: %llu operations, %llu rounds checked clean, "
         "%llu EBUSY, %llu findings\n",
         static_cast<unsigned long long>(g_opt.seed),
         static_cast<unsigned long long>(ops),
         static_cast<unsigned long long>(rounds),
         static_cast<unsigned long long>(ebusy),
         static_cast<unsigned long long>(findings));
  if (findings)
    printf("torture: replay with: make torture SEED=%llu SECONDS=%.0f\n",
           static_cast<unsigned long long>(g_opt.seed), g_opt.seconds);
  if (!g_opt.counts.empty()) {
    FILE* f = fopen(g_opt.counts.c_str(), "w");
    if (f != nullptr) {
      // Nothing checked is a failure too.
      fprintf(f, "%llu %llu 0\n", static_cast<unsigned long long>(rounds),
              static_cast<unsigned long long>(findings + (rounds == 0)));
      fclose(f);
    }
  }
  return findings || rounds == 0 ? 1 : 0;
}
