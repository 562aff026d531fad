// SPDX-License-Identifier: MIT
//
// mirror_handle.h - Mirror: one open, handshaken /dev/hmm_mirror with one helper per command.
// Part of the conformance suite's helpers (../hmm_mirror_test.h).
#ifndef HMM_CONFORMANCE_MIRROR_HANDLE_H
#define HMM_CONFORMANCE_MIRROR_HANDLE_H

#include "errno_ioctl.h"
#include "arg_structs.h"

namespace hmm_conformance {

class Mirror {
 public:
  Mirror() = default;
  Mirror(const Mirror&) = delete;
  Mirror& operator=(const Mirror&) = delete;
  ~Mirror() { Close(); }

  // Opens the device and does the handshake.  Returns "" on success, else
  // an explanation meant for a test failure message.
  std::string Open() {
    Close();
    fd_ = open(kDevicePath, O_RDWR | O_CLOEXEC);
    if (fd_ < 0) {
      int e = errno;
      std::ostringstream msg;
      msg << "cannot open " << kDevicePath << ": " << std::strerror(e)
          << ".  This suite exercises the real hmm_mirror.ko: it must run "
             "as root with the module loaded (tests/vm/run-vm.sh loads it "
             "inside the test VM).";
      return msg.str();
    }
    info_ = MakeHandshake();
    Errno rc = Handshake(&info_);
    if (rc != kSuccess) {
      std::ostringstream msg;
      msg << "HMM_MIRROR_IOC_HANDSHAKE with a version-1 struct failed: " << rc;
      return msg.str();
    }
    if (info_.page_shift < 12 || info_.page_shift > 16 ||
        (uint64_t{1} << info_.page_shift) != OsPageSize()) {
      std::ostringstream msg;
      msg << "handshake page_shift " << info_.page_shift
          << " does not match the CPU page size " << OsPageSize();
      return msg.str();
    }
    return "";
  }

  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  int fd() const { return fd_; }
  const hmm_mirror_handshake& info() const { return info_; }
  uint64_t page_size() const { return uint64_t{1} << info_.page_shift; }

  Errno Call(unsigned long cmd, const void* arg) const {
    return RawIoctl(fd_, cmd, arg);
  }

  Errno Handshake(hmm_mirror_handshake* hs) const {
    return Call(HMM_MIRROR_IOC_HANDSHAKE, hs);
  }

  Errno Fault(uint64_t addr, uint64_t length, uint32_t flags = 0,
              hmm_mirror_fault* out = nullptr) const {
    hmm_mirror_fault f = MakeFault(addr, length, flags);
    Errno rc = Call(HMM_MIRROR_IOC_FAULT, &f);
    if (out != nullptr) *out = f;
    return rc;
  }

  // SNAPSHOT / QUERY into *states, resized to one entry per page and
  // prefilled with kStateCanary.  Keeps the vector's storage when it is
  // large enough, so no memory is allocated when the caller reserved it.
  Errno Snapshot(uint64_t addr, uint64_t length,
                 std::vector<uint32_t>* states) const {
    return Pages(HMM_MIRROR_IOC_SNAPSHOT, addr, length, states);
  }

  Errno Query(uint64_t addr, uint64_t length,
              std::vector<uint32_t>* states) const {
    return Pages(HMM_MIRROR_IOC_QUERY, addr, length, states);
  }

  Errno Read(uint64_t addr, uint64_t length, void* buf,
             uint64_t* device_faults = nullptr) const {
    return Rw(HMM_MIRROR_IOC_READ, addr, length, buf, device_faults);
  }

  Errno Write(uint64_t addr, uint64_t length, const void* buf,
              uint64_t* device_faults = nullptr) const {
    return Rw(HMM_MIRROR_IOC_WRITE, addr, length, buf, device_faults);
  }

  // Does the module advertise every one of these HMM_MIRROR_FEAT_* bits?
  bool Has(uint64_t features) const {
    return (info_.features_supported & features) == features;
  }

  Errno Attach(int pidfd) const {
    hmm_mirror_attach a = MakeAttach(pidfd);
    return Call(HMM_MIRROR_IOC_ATTACH, &a);
  }

  Errno SetEvents(uint32_t reasons, uint32_t queue_len = 0) const {
    hmm_mirror_events e = MakeEvents(reasons, queue_len);
    return Call(HMM_MIRROR_IOC_EVENTS, &e);
  }

  Errno Stats(hmm_mirror_stats* out, uint32_t flags = 0) const {
    *out = MakeStats(flags);
    return Call(HMM_MIRROR_IOC_STATS, out);
  }

  // MIGRATE with one result per page (filled with kStateCanary first);
  // pages_moved and pages_not_moved in *moved, *not_moved when given.
  Errno Migrate(uint64_t addr, uint64_t length, uint32_t flags,
                std::vector<uint32_t>* results, uint64_t* moved = nullptr,
                uint64_t* not_moved = nullptr) const {
    const uint64_t n = length / page_size();
    results->assign(n == 0 ? 1 : n, kStateCanary);
    hmm_mirror_migrate a = MakeMigrate(addr, length, flags, results->data(), n);
    a.pages_moved = a.pages_not_moved = ~uint64_t{0};
    Errno rc = Call(HMM_MIRROR_IOC_MIGRATE, &a);
    results->resize(n);
    if (moved != nullptr) *moved = a.pages_moved;
    if (not_moved != nullptr) *not_moved = a.pages_not_moved;
    return rc;
  }

 private:
  Errno Pages(unsigned long cmd, uint64_t addr, uint64_t length,
              std::vector<uint32_t>* states) const {
    uint64_t n = length / page_size();
    states->assign(n == 0 ? 1 : n, kStateCanary);
    hmm_mirror_pages p = MakePages(addr, length, states->data(), n);
    states->resize(n);
    return Call(cmd, &p);
  }

  Errno Rw(unsigned long cmd, uint64_t addr, uint64_t length, const void* buf,
           uint64_t* device_faults) const {
    hmm_mirror_rw rw = MakeRw(addr, length, buf);
    rw.device_faults = ~uint64_t{0};
    Errno rc = Call(cmd, &rw);
    if (device_faults != nullptr) *device_faults = rw.device_faults;
    return rc;
  }

  int fd_ = -1;
  hmm_mirror_handshake info_ = {};
};

}  // namespace hmm_conformance

#endif  // HMM_CONFORMANCE_MIRROR_HANDLE_H
