// SPDX-License-Identifier: MIT
//
// file_util.h - files to map, for the file-backed tests (file_test.cc,
// parity_test.cc).
//
//   Backing   where a TestFile lives: tmpfs (/tmp), a memfd, or a disk file
//             system: an ext4 image on a loop device that the suite makes
//             and mounts once (inside the test VM only), else the VM's 9p
//             scratch dir ($VM_SCRATCH)
//   TestFile  a file of a given size with pattern contents, removed at the
//             end
#ifndef HMM_MIRROR_CONFORMANCE_FILE_UTIL_H
#define HMM_MIRROR_CONFORMANCE_FILE_UTIL_H

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "hmm_mirror_test.h"

namespace hmm_conformance {

enum class Backing { kTmpfs, kMemfd, kDisk };

inline const char* BackingName(Backing b) {
  switch (b) {
    case Backing::kTmpfs: return "Tmpfs";
    case Backing::kMemfd: return "Memfd";
    case Backing::kDisk: return "Disk";
  }
  return "?";
}

inline void PrintTo(Backing b, std::ostream* os) { *os << BackingName(b); }

// The first of the candidate paths that exists, or "".
inline std::string FindTool(std::initializer_list<const char*> paths) {
  for (const char* p : paths)
    if (access(p, X_OK) == 0) return p;
  return "";
}

// A disk file system for the whole run, made on first use.  Inside the VM
// (VM_GUEST=1) it loads the loop and ext4 modules of the guest kernel; it
// never loads modules elsewhere.
class DiskFs {
 public:
  static DiskFs& Get() {
    if (instance() == nullptr) instance() = new DiskFs();
    return *instance();
  }

  // Unmounts and forgets the file system, if one was made.
  static void Release() {
    if (instance() == nullptr) return;
    instance()->Unmount();
    delete instance();
    instance() = nullptr;
  }

  // A directory on a disk file system, or "" (then why() says why).
  const std::string& dir() const { return dir_; }
  const std::string& fs_name() const { return fs_name_; }
  const std::string& why() const { return why_; }

  DiskFs(const DiskFs&) = delete;
  DiskFs& operator=(const DiskFs&) = delete;

 private:
  static DiskFs*& instance() {
    static DiskFs* fs = nullptr;
    return fs;
  }

  void Unmount() {
    if (!mnt_.empty()) {
      Run("umount " + mnt_);
      rmdir(mnt_.c_str());
      mnt_.clear();
    }
    if (!image_.empty()) {
      unlink(image_.c_str());
      unlink((top_ + "/log").c_str());
      rmdir(top_.c_str());
      image_.clear();
    }
    dir_.clear();
  }

  DiskFs() {
    if (!TryExt4()) {
      const std::string ext4_why = why_;
      const char* scratch = std::getenv("VM_SCRATCH");
      if (scratch != nullptr && *scratch != '\0') {
        dir_ = scratch;
        fs_name_ = "9p ($VM_SCRATCH; ext4 failed: " + ext4_why + ")";
        why_.clear();
      } else {
        why_ = "no disk file system: " + ext4_why + "; no $VM_SCRATCH";
      }
    }
  }

  // Runs a shell command with its output in the log; true on success.
  bool Run(const std::string& cmd) {
    const std::string full =
        cmd + " >>" + (top_.empty() ? "/dev/null" : top_ + "/log") + " 2>&1";
    const int rc = std::system(full.c_str());
    if (rc == 0) return true;
    std::ostringstream os;
    os << "`" << cmd << "` failed (status " << rc << ")";
    std::ifstream log(top_ + "/log");
    std::string line, last;
    while (std::getline(log, line))
      if (!line.empty()) last = line;
    if (!last.empty()) os << ": " << last;
    why_ = os.str();
    return false;
  }

  bool TryExt4() {
    char tmpl[] = "/tmp/hmm-ext4.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      why_ = std::string("mkdtemp: ") + std::strerror(errno);
      return false;
    }
    top_ = tmpl;
    image_ = top_ + "/image";
    const std::string mkfs =
        FindTool({"/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4"});
    if (mkfs.empty()) {
      why_ = "mkfs.ext4 not found (package e2fsprogs)";
      return false;
    }
    {
      const int fd = open(image_.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
      if (fd < 0 || ftruncate(fd, 32 << 20) != 0) {
        why_ = std::string("creating the image: ") + std::strerror(errno);
        if (fd >= 0) close(fd);
        return false;
      }
      close(fd);
    }
    if (!Run(mkfs + " -q -F -E nodiscard " + image_)) return false;
    const char* guest = std::getenv("VM_GUEST");
    if (guest != nullptr && std::string(guest) == "1") {
      const std::string modprobe =
          FindTool({"/usr/sbin/modprobe", "/sbin/modprobe"});
      if (!modprobe.empty()) {
        Run(modprobe + " loop");  // may be built in: mount tells
        Run(modprobe + " ext4");
      }
    }
    const std::string mnt = top_ + "/mnt";
    if (mkdir(mnt.c_str(), 0700) != 0) {
      why_ = std::string("mkdir: ") + std::strerror(errno);
      return false;
    }
    const std::string mount = FindTool({"/usr/bin/mount", "/bin/mount"});
    if (mount.empty()) {
      why_ = "mount not found";
      return false;
    }
    if (!Run(mount + " -t ext4 -o loop " + image_ + " " + mnt)) {
      rmdir(mnt.c_str());
      return false;
    }
    mnt_ = mnt;
    struct statfs sf;
    if (statfs(mnt.c_str(), &sf) != 0 || sf.f_type != 0xEF53) {
      why_ = "the mount is not ext4";
      return false;
    }
    dir_ = mnt;
    fs_name_ = "ext4 on loop";
    why_.clear();
    return true;
  }

  std::string top_, image_, mnt_, dir_, fs_name_, why_;
};

// Unmounts the disk file system (if one was made) after the last test.
class DiskFsEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { DiskFs::Release(); }
};

// The pages [lo, hi) of a mapping of npages pages at base that are backed
// by the same folios (compound pages) as its pages [first, end): a change
// to part of a large folio may reach the whole of it (ext4 uses large
// folios from Linux 6.x/7.x: a truncate or hole punch can clear a whole
// folio).  Read from /proc/self/pagemap and /proc/kpageflags (root only);
// {first, end} when they cannot be read or the pages are small.
inline std::pair<size_t, size_t> FolioSpan(uint64_t base, size_t npages,
                                           size_t first, size_t end) {
  const uint64_t ps = OsPageSize();
  const int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  const int kflags = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
  auto pfn_of = [&](size_t i) -> uint64_t {
    uint64_t e = 0;
    if (pread(pagemap, &e, 8, static_cast<off_t>((base / ps + i) * 8)) != 8 ||
        !(e >> 63))
      return 0;
    return e & ((uint64_t{1} << 55) - 1);
  };
  auto flags_of = [&](uint64_t pfn) -> uint64_t {
    uint64_t f = 0;
    if (pread(kflags, &f, 8, static_cast<off_t>(pfn * 8)) != 8) return 0;
    return f;
  };
  constexpr uint64_t kHead = uint64_t{1} << 15, kTail = uint64_t{1} << 16;
  size_t lo = first, hi = end;
  if (pagemap >= 0 && kflags >= 0) {
    for (size_t i = first; i < end; ++i) {
      const uint64_t pfn = pfn_of(i);
      if (pfn == 0 || !(flags_of(pfn) & (kHead | kTail))) continue;
      uint64_t head = pfn;
      while (head > 0 && (flags_of(head) & kTail)) --head;
      uint64_t n = 1;
      while (flags_of(head + n) & kTail) ++n;
      const uint64_t into = pfn - head;  // the folio is mapped contiguously
      const size_t flo = i >= into ? i - into : 0;
      lo = std::min(lo, flo);
      hi = std::max(hi, std::min<size_t>(npages, flo + n));
    }
  }
  if (pagemap >= 0) close(pagemap);
  if (kflags >= 0) close(kflags);
  return {lo, hi};
}

// A file of `length` bytes whose contents are pattern `seed` as if the
// file lived at address kFileBase (so any part can be checked).
class TestFile {
 public:
  static constexpr uint64_t kFileBase = uint64_t{1} << 40;

  // On failure fd() < 0 and why() explains (a reason to skip).
  TestFile(Backing b, uint64_t length, uint64_t seed) : length_(length) {
    std::string dir;
    switch (b) {
      case Backing::kMemfd:
        fd_ = memfd_create("hmm-mirror-test", MFD_CLOEXEC);
        if (fd_ < 0) {
          why_ = std::string("memfd_create: ") + std::strerror(errno);
          return;
        }
        path_ = "/proc/self/fd/" + std::to_string(fd_);
        break;
      case Backing::kTmpfs:
        dir = "/tmp";
        break;
      case Backing::kDisk:
        dir = DiskFs::Get().dir();
        if (dir.empty()) {
          why_ = DiskFs::Get().why();
          return;
        }
        break;
    }
    if (fd_ < 0) {
      std::string tmpl = dir + "/hmm-file.XXXXXX";
      fd_ = mkostemp(&tmpl[0], O_CLOEXEC);
      if (fd_ < 0) {
        why_ = "mkostemp in " + dir + ": " + std::strerror(errno);
        return;
      }
      path_ = tmpl;
      unlink_ = true;
    }
    if (ftruncate(fd_, static_cast<off_t>(length)) != 0) {
      why_ = std::string("ftruncate: ") + std::strerror(errno);
      Close();
      return;
    }
    if (!Fill(seed)) {
      why_ = std::string("pwrite: ") + std::strerror(errno);
      Close();
    }
  }
  TestFile(const TestFile&) = delete;
  TestFile& operator=(const TestFile&) = delete;
  ~TestFile() { Close(); }

  int fd() const { return fd_; }
  const std::string& why() const { return why_; }
  uint64_t size() const { return length_; }

  // Opens the file again, read-only (a new open file description).
  int OpenReadOnly() const { return open(path_.c_str(), O_RDONLY | O_CLOEXEC); }

  // Writes pattern `seed` over the whole file with pwrite().
  bool Fill(uint64_t seed) const {
    std::vector<uint8_t> buf(length_);
    FillPatternAs(buf.data(), length_, seed, kFileBase);
    return pwrite(fd_, buf.data(), length_, 0) ==
           static_cast<ssize_t>(length_);
  }

  // Does [offset, offset + length) of the file, read with pread(), hold
  // pattern seed?
  ::testing::AssertionResult Holds(uint64_t seed, uint64_t offset,
                                   uint64_t length) const {
    std::vector<uint8_t> buf(length);
    if (pread(fd_, buf.data(), length, static_cast<off_t>(offset)) !=
        static_cast<ssize_t>(length))
      return ::testing::AssertionFailure()
             << "pread: " << std::strerror(errno);
    return HasPatternAs(buf.data(), length, seed, kFileBase + offset);
  }

  // mmap() of the whole file; nullptr on failure.
  uint8_t* Map(int prot, int flags, int fd = -1) const {
    void* p = mmap(nullptr, length_, prot, flags, fd < 0 ? fd_ : fd, 0);
    return p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
  }

 private:
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    if (unlink_) unlink(path_.c_str());
    unlink_ = false;
  }

  uint64_t length_;
  int fd_ = -1;
  std::string path_;
  bool unlink_ = false;
  std::string why_;
};

}  // namespace hmm_conformance

#endif  // HMM_MIRROR_CONFORMANCE_FILE_UTIL_H
