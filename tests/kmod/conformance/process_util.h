// SPDX-License-Identifier: MIT
//
// process_util.h - other processes for the tests of ATTACH, fork and exit.
//
//   Remote         a forked child that talks to the test over a
//                  SOCK_SEQPACKET socket, one message of __u64 words at a time
//   TargetProcess  a Remote that owns some written private memory and, on
//                  request, checks, rewrites or unmaps it, or exits
//   PassFd/TakeFd  an fd and a word over a unix socket (SCM_RIGHTS)
//
// Child code never uses gtest assertions: it answers with words or exit
// codes, and the test asserts on them.
#ifndef HMM_MIRROR_CONFORMANCE_PROCESS_UTIL_H
#define HMM_MIRROR_CONFORMANCE_PROCESS_UTIL_H

#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "hmm_mirror_test.h"

namespace hmm_conformance {

// Generous: the guest runs under TCG.
constexpr int kReplyTimeoutMs = 10000;

// One message of n words.  Child and parent side alike.
inline bool SendWords(int sock, const uint64_t* words, size_t n) {
  ssize_t r;
  do {
    r = send(sock, words, n * sizeof(uint64_t), MSG_NOSIGNAL);
  } while (r < 0 && errno == EINTR);
  return r == static_cast<ssize_t>(n * sizeof(uint64_t));
}

inline bool SendWords(int sock, std::initializer_list<uint64_t> words) {
  return SendWords(sock, words.begin(), words.size());
}

// Receives one message into words[0..max); returns the number of words, or
// -1 on error, end of file or timeout (timeout_ms < 0: wait forever).
inline int RecvWords(int sock, uint64_t* words, size_t max,
                     int timeout_ms = -1) {
  if (timeout_ms >= 0) {
    struct pollfd p = {sock, POLLIN, 0};
    int n;
    do {
      n = poll(&p, 1, timeout_ms);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return -1;
  }
  ssize_t r;
  do {
    r = recv(sock, words, max * sizeof(uint64_t), 0);
  } while (r < 0 && errno == EINTR);
  if (r <= 0 || r % sizeof(uint64_t) != 0) return -1;
  return static_cast<int>(r / sizeof(uint64_t));
}

// Sends fd and one word over a unix socket.
inline bool PassFd(int sock, int fd, uint64_t word) {
  struct iovec iov = {&word, sizeof(word)};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  std::memset(&u, 0, sizeof(u));
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof(u.buf);
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return sendmsg(sock, &msg, MSG_NOSIGNAL) ==
         static_cast<ssize_t>(sizeof(word));
}

// Receives what PassFd sent; returns the fd or -1.
inline int TakeFd(int sock, uint64_t* word, int timeout_ms = kReplyTimeoutMs) {
  struct pollfd p = {sock, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return -1;
  struct iovec iov = {word, sizeof(*word)};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof(u.buf);
  if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) !=
      static_cast<ssize_t>(sizeof(*word)))
    return -1;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (c == nullptr || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return fd;
}

// ---------------------------------------------------------------------------
// Remote

class Remote {
 public:
  // body runs in the child with the child's end of the socket; its return
  // value is the exit code (99 if it throws).  It starts at once.
  explicit Remote(const std::function<int(int sock)>& body) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
      throw std::runtime_error(std::string("socketpair: ") +
                               std::strerror(errno));
    pid_ = fork();
    if (pid_ < 0) {
      close(sv[0]);
      close(sv[1]);
      throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    }
    if (pid_ == 0) {
      close(sv[0]);
      int code = 99;
      try {
        code = body(sv[1]);
      } catch (...) {
        code = 99;
      }
      _exit(code);
    }
    close(sv[1]);
    sock_ = sv[0];
  }
  Remote(const Remote&) = delete;
  Remote& operator=(const Remote&) = delete;

  ~Remote() {
    CloseSocket();
    if (pid_ <= 0) return;
    // The child normally exits when its socket closes; give it a moment,
    // then make sure.
    int status;
    for (int i = 0; i < 500; ++i) {
      if (waitpid(pid_, &status, WNOHANG) != 0) return;
      usleep(10000);
    }
    kill(pid_, SIGKILL);
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }

  pid_t pid() const { return pid_; }
  int sock() const { return sock_; }

  bool Send(std::initializer_list<uint64_t> words) const {
    return sock_ >= 0 && SendWords(sock_, words);
  }

  // Receives exactly n words.
  bool Recv(uint64_t* words, size_t n, int timeout_ms = kReplyTimeoutMs) const {
    return sock_ >= 0 &&
           RecvWords(sock_, words, n, timeout_ms) == static_cast<int>(n);
  }

  // Send, then receive one word.  ~0 when the child does not answer.
  uint64_t Ask(std::initializer_list<uint64_t> words) const {
    uint64_t reply = ~uint64_t{0};
    if (!Send(words) || !Recv(&reply, 1)) return ~uint64_t{0};
    return reply;
  }

  void CloseSocket() {
    if (sock_ >= 0) close(sock_);
    sock_ = -1;
  }

  // Reaps the child: its exit code, 128 + signal, or -1.  Does not close
  // the socket (the child may be exiting on its own).
  int Reap() {
    if (pid_ <= 0) return -1;
    const int code = WaitExitCode(pid_);
    pid_ = -1;
    return code;
  }

 private:
  pid_t pid_ = -1;
  int sock_ = -1;
};

// ---------------------------------------------------------------------------
// Privilege: the ptrace rule that ATTACH applies

constexpr uid_t kNobody = 65534;

// Drops every privilege to nobody:nogroup (real, effective, saved, fs).
inline bool DropToNobody() {
  if (setgroups(0, nullptr) != 0) return false;
  if (setresgid(kNobody, kNobody, kNobody) != 0) return false;
  if (setresuid(kNobody, kNobody, kNobody) != 0) return false;
  return geteuid() == kNobody && getuid() == kNobody;
}

// process_vm_readv(2) of one word at addr in pid: 0 or errno.  The ABI
// says ATTACH applies the same rule.
inline int VmReadErrno(pid_t pid, uint64_t addr) {
  uint64_t word = 0;
  struct iovec local = {&word, sizeof(word)};
  struct iovec remote = {reinterpret_cast<void*>(addr), sizeof(word)};
  return process_vm_readv(pid, &local, 1, &remote, 1, 0) ==
                 static_cast<ssize_t>(sizeof(word))
             ? 0
             : errno;
}

// The Yama ptrace_scope, 0 without Yama.
inline int YamaScope() {
  std::ifstream f("/proc/sys/kernel/yama/ptrace_scope");
  int v = 0;
  if (!(f >> v)) return 0;  // no Yama
  return v;
}

// ---------------------------------------------------------------------------
// TargetProcess

class TargetProcess {
 public:
  enum : uint64_t { kCheck = 1, kFill, kUnmap, kExit, kProtect, kDontneed };

  // The child maps `length` bytes of private anonymous memory (out of
  // THP), writes pattern `seed` to it and reports where; then serves the
  // requests below until told to exit or its socket closes.
  TargetProcess(uint64_t length, uint64_t seed)
      : length_(length),
        remote_([length, seed](int sock) { return Serve(sock, length, seed); }) {
    uint64_t a = 0;
    if (remote_.Recv(&a, 1)) addr_ = a;
  }

  bool ok() const { return addr_ != 0; }
  pid_t pid() const { return remote_.pid(); }
  uint64_t addr(uint64_t offset = 0) const { return addr_ + offset; }
  uint64_t size() const { return length_; }
  Remote& remote() { return remote_; }

  // Does [addr, addr + length) hold the pattern of seed?  (Pages unmapped
  // by Unmap() are skipped.)
  bool Check(uint64_t seed) { return remote_.Ask({kCheck, seed}) == 1; }
  bool Fill(uint64_t seed) { return remote_.Ask({kFill, seed}) == 1; }
  // munmap / mprotect / MADV_DONTNEED in the child: 0 or the errno (~0 when
  // the child did not answer).
  uint64_t Unmap(uint64_t offset, uint64_t length) {
    return remote_.Ask({kUnmap, offset, length});
  }
  uint64_t Protect(uint64_t offset, uint64_t length, int prot) {
    return remote_.Ask({kProtect, offset, length, static_cast<uint64_t>(prot)});
  }
  uint64_t Dontneed(uint64_t offset, uint64_t length) {
    return remote_.Ask({kDontneed, offset, length});
  }
  // Asks the child to exit with `code`, without reaping it.
  bool RequestExit(int code = 0) {
    return remote_.Send({kExit, static_cast<uint64_t>(code)});
  }
  // Asks the child to exit and reaps it: its exit status.
  int Exit(int code = 0) {
    RequestExit(code);
    return remote_.Reap();
  }
  int Reap() { return remote_.Reap(); }

 private:
  static int Serve(int sock, uint64_t length, uint64_t seed) {
    void* p = mmap(nullptr, length, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 3;
    madvise(p, length, MADV_NOHUGEPAGE);
    uint8_t* base = static_cast<uint8_t*>(p);
    FillPattern(base, length, seed);
    const uint64_t ps = OsPageSize();
    std::vector<bool> mapped(length / ps, true);
    if (!SendWords(sock, {U64(base)})) return 4;
    for (;;) {
      uint64_t w[4] = {};
      const int n = RecvWords(sock, w, 4);
      if (n <= 0) return 0;  // the test closed the socket
      uint64_t reply = 0;
      switch (w[0]) {
        case kCheck:
        case kFill: {
          bool ok = true;
          for (uint64_t i = 0; i < mapped.size(); ++i) {
            if (!mapped[i]) continue;
            if (w[0] == kFill)
              FillPattern(base + i * ps, ps, w[1]);
            else if (!HasPattern(base + i * ps, ps, w[1]))
              ok = false;
          }
          reply = ok ? 1 : 0;
          break;
        }
        case kUnmap:
          reply = munmap(base + w[1], w[2]) == 0 ? 0 : errno;
          if (reply == 0)
            for (uint64_t off = w[1]; off < w[1] + w[2]; off += ps)
              mapped[off / ps] = false;
          break;
        case kProtect:
          reply = mprotect(base + w[1], w[2], static_cast<int>(w[3])) == 0
                      ? 0
                      : errno;
          break;
        case kDontneed:
          reply = madvise(base + w[1], w[2], MADV_DONTNEED) == 0 ? 0 : errno;
          break;
        case kExit:
          return static_cast<int>(w[1]);
        default:
          return 5;
      }
      if (!SendWords(sock, {reply})) return 0;
    }
  }

  uint64_t length_;
  Remote remote_;
  uint64_t addr_ = 0;
};

}  // namespace hmm_conformance

#endif  // HMM_MIRROR_CONFORMANCE_PROCESS_UTIL_H
