// SPDX-License-Identifier: MIT
//
// fd_passing.h - hand a descriptor to another process over a unix socket
// (SCM_RIGHTS) with one word of data, as a broker gives a /dev/hmm_mirror
// fd to a worker: the library tests' (unit and VM) one copy of it.
#ifndef HMM_MIRROR_TESTS_FD_PASSING_H
#define HMM_MIRROR_TESTS_FD_PASSING_H

#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

namespace hmm_mirror_test {

// A message of one iovec with room for one descriptor in @ctl.
inline struct msghdr OneFdMsg(struct iovec* iov, char* ctl, size_t len) {
  struct msghdr msg = {};
  msg.msg_iov = iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl;
  msg.msg_controllen = len;
  return msg;
}

// Send @fd and @word on @sock; true when both went.
inline bool SendFd(int sock, int fd, uint64_t word) {
  struct iovec iov = {&word, sizeof(word)};
  alignas(struct cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg = OneFdMsg(&iov, ctl, sizeof(ctl));
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return sendmsg(sock, &msg, 0) == static_cast<ssize_t>(sizeof(word));
}

// The descriptor received on @sock (close-on-exec), its word in @word; -1
// when no descriptor came.
inline int RecvFd(int sock, uint64_t* word) {
  struct iovec iov = {word, sizeof(*word)};
  alignas(struct cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg = OneFdMsg(&iov, ctl, sizeof(ctl));
  if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != static_cast<ssize_t>(sizeof(*word)))
    return -1;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return fd;
}

}  // namespace hmm_mirror_test

#endif  // HMM_MIRROR_TESTS_FD_PASSING_H
