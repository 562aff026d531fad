// SPDX-License-Identifier: MIT
//
// child.h - Child: a forked child process that waits for Go().
// Part of the conformance suite's helpers (../hmm_mirror_test.h).
#ifndef HMM_CONFORMANCE_CHILD_H
#define HMM_CONFORMANCE_CHILD_H

#include "errno_ioctl.h"

namespace hmm_conformance {

// Waits for child @pid: its exit code, 128 + signal number, or -1.
inline int WaitExitCode(pid_t pid) {
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid, &status, 0);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

class Child {
 public:
  // The child blocks until Go() (or until the parent closes the pipe by
  // destroying this object), then exits with body()'s return value.  body
  // must not use gtest assertions.
  explicit Child(const std::function<int()>& body) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
      throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
    pid_ = fork();
    if (pid_ < 0) {
      close(p[0]);
      close(p[1]);
      throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    }
    if (pid_ == 0) {
      close(p[1]);
      char c;
      ssize_t n;
      do {
        n = read(p[0], &c, 1);
      } while (n < 0 && errno == EINTR);
      if (n != 1) _exit(100);  // the parent gave up
      _exit(body());
    }
    close(p[0]);
    go_fd_ = p[1];
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (go_fd_ >= 0) close(go_fd_);
    if (pid_ > 0) {
      int status;
      while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }

  void Go() {
    if (go_fd_ < 0) return;
    char c = 'g';
    if (write(go_fd_, &c, 1) != 1)
      throw std::runtime_error(std::string("write: ") + std::strerror(errno));
    close(go_fd_);
    go_fd_ = -1;
  }

  pid_t pid() const { return pid_; }

  // Waits for the child: its exit code, or 128 + signal number.
  int Wait() {
    Go();
    const int code = WaitExitCode(pid_);
    pid_ = -1;
    return code;
  }

 private:
  pid_t pid_ = -1;
  int go_fd_ = -1;
};

}  // namespace hmm_conformance

#endif  // HMM_CONFORMANCE_CHILD_H
