// SPDX-License-Identifier: MIT
//
// lib_v12_test.cc - what libhmm_mirror 1.2 added, on the fake device:
// hmm_mirror_from_fd() (the descriptor checked by the handshake, owned by
// the handle, sent over a unix socket), hmm_mirror_read_ex() and
// hmm_mirror_write_ex() (bytes copied, also on failure and from an ABI 2
// module), and the address limit (struct hmm_mirror_info, and ranges
// refused before the device).

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "../fd_passing.h"
#include "unit_test.h"

namespace {

constexpr uint64_t kAddr = 0x7f0000000000ULL;
constexpr uint64_t kLimit = HMM_MIRROR_ADDR_LIMIT;

using FromFdTest = FakeDeviceTest;

TEST_F(FromFdTest, AHandleForTheFakeDevice) {
  int fd = open(fake.path, O_RDWR);  // blocking, no close-on-exec
  ASSERT_GE(fd, 0);
  struct hmm_mirror* m = nullptr;
  ASSERT_EQ(hmm_mirror_from_fd(fd, &m), 0) << LastError();
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(fake.calls[HMM_MIRROR_NR_HANDSHAKE], 1u) << "checked by the handshake";
  auto hs = LastArg<struct hmm_mirror_handshake>(HMM_MIRROR_NR_HANDSHAKE);
  EXPECT_EQ(hs.abi_version, unsigned{HMM_MIRROR_ABI_VERSION});
  EXPECT_EQ(hmm_mirror_fd(m), fd);
  EXPECT_EQ(hmm_mirror_features(m), fake.features);
  EXPECT_EQ(hmm_mirror_page_size(m), 4096u);
  // The event reads need O_NONBLOCK; exec must not leak the mirror.
  EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  uint64_t mapped = 0;
  ASSERT_EQ(hmm_mirror_fault(m, kAddr, 4 * page_, 0, &mapped, nullptr), 0);
  EXPECT_EQ(mapped, 4u);
  // The handle owns the descriptor.
  hmm_mirror_close(m);
  EXPECT_EQ(fcntl(fd, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(FromFdTest, DevNullIsRefusedAndLeftAlone) {
  int fd = open("/dev/null", O_RDWR);
  ASSERT_GE(fd, 0);
  const int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
  struct hmm_mirror* m = reinterpret_cast<struct hmm_mirror*>(&fd);
  EXPECT_EQ(hmm_mirror_from_fd(fd, &m), -ENOTTY);
  EXPECT_EQ(m, nullptr);
  const std::string msg = LastError();
  EXPECT_NE(msg.find("hmm_mirror_from_fd(fd=" + std::to_string(fd) + ")"),
            std::string::npos) << msg;
  EXPECT_NE(msg.find("not an hmm_mirror device"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/dev/null"), std::string::npos) << msg;
  // Still open, flags as they were.
  EXPECT_EQ(fcntl(fd, F_GETFL), fl);
  EXPECT_EQ(fcntl(fd, F_GETFD), fdfl);
  close(fd);
}

TEST_F(FromFdTest, OtherFilesAreRefusedToo) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  struct hmm_mirror* m = nullptr;
  EXPECT_EQ(hmm_mirror_from_fd(p[0], &m), -ENOTTY);
  EXPECT_NE(LastError().find("pipe:["), std::string::npos) << LastError();
  close(p[0]);
  close(p[1]);
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  EXPECT_EQ(hmm_mirror_from_fd(sv[0], &m), -ENOTTY);
  EXPECT_NE(LastError().find("socket:["), std::string::npos) << LastError();
  close(sv[0]);
  close(sv[1]);
}

TEST_F(FromFdTest, BadArguments) {
  struct hmm_mirror* m = nullptr;
  EXPECT_REJECTED(hmm_mirror_from_fd(-1, &m), EBADF, "hmm_mirror_from_fd",
                  "fd is negative");
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  close(fd);  // fd is a closed descriptor now
  EXPECT_REJECTED(hmm_mirror_from_fd(fd, &m), EBADF, "hmm_mirror_from_fd",
                  "not an open file descriptor");
  EXPECT_REJECTED(hmm_mirror_from_fd(0, nullptr), EINVAL, "hmm_mirror_from_fd",
                  "out is NULL");
}

TEST_F(FromFdTest, AFailingHandshakeLeavesTheDescriptorOpen) {
  int fd = open(fake.path, O_RDWR);
  ASSERT_GE(fd, 0);
  fake.page_shift = 16;  // not this machine's page size
  struct hmm_mirror* m = nullptr;
  EXPECT_EQ(hmm_mirror_from_fd(fd, &m), -EPROTO);
  EXPECT_EQ(m, nullptr);
  EXPECT_FALSE(fcntl(fd, F_GETFL) & O_NONBLOCK) << "flags changed on failure";
  EXPECT_EQ(fcntl(fd, F_GETFD), 0);
  close(fd);
}

// The descriptor handed over a unix socket, as a broker would: the
// receiver's handle works on what the sender opened.
TEST_F(FromFdTest, ADescriptorReceivedWithScmRights) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(sv[0]);
    int fd = open(fake.path, O_RDWR | O_CLOEXEC);
    if (fd < 0) _exit(1);
    _exit(hmm_mirror_test::SendFd(sv[1], fd, 0x6d) ? 0 : 2);
  }
  close(sv[1]);
  uint64_t word = 0;
  int fd = hmm_mirror_test::RecvFd(sv[0], &word);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  ASSERT_GE(fd, 0);
  EXPECT_EQ(word, 0x6du);
  close(sv[0]);

  struct hmm_mirror* m = nullptr;
  ASSERT_EQ(hmm_mirror_from_fd(fd, &m), 0) << LastError();
  std::vector<uint32_t> states(2, 0);
  fake.fill_state = HMM_MIRROR_PAGE_VALID;
  EXPECT_EQ(hmm_mirror_query(m, kAddr, 2 * page_, states.data(), 2), 0);
  EXPECT_EQ(states[1], HMM_MIRROR_PAGE_VALID);
  hmm_mirror_close(m);
  EXPECT_EQ(fcntl(fd, F_GETFD), -1) << "closed with the handle";
}

using RwExTest = FakeDeviceTest;

TEST_F(RwExTest, SuccessReportsTheLength) {
  std::vector<uint8_t> buf(4 * page_, 0);
  struct hmm_mirror_rw_result res;
  hmm_mirror_rw_result_init(&res);
  EXPECT_EQ(res.size, sizeof(res));
  EXPECT_EQ(res.size, unsigned{HMM_MIRROR_RW_RESULT_SIZE_VER1});
  fake.fill_byte = 0x3c;
  ASSERT_EQ(hmm_mirror_read_ex(m_, kAddr, buf.data(), buf.size(), &res), 0)
      << LastError();
  EXPECT_EQ(res.bytes_copied, buf.size());
  EXPECT_EQ(res.device_faults, 1u);
  EXPECT_EQ(res.reserved, 0u);
  EXPECT_EQ(buf.back(), 0x3c);
  auto rw = LastArg<hmm_mirror_rw>(HMM_MIRROR_NR_READ);
  EXPECT_EQ(rw.size, unsigned{HMM_MIRROR_RW_SIZE_VER3});
  hmm_mirror_rw_result_init(&res);
  ASSERT_EQ(hmm_mirror_write_ex(m_, kAddr, buf.data(), page_, &res), 0);
  EXPECT_EQ(res.bytes_copied, page_);
  // res may be NULL.
  EXPECT_EQ(hmm_mirror_read_ex(m_, kAddr, buf.data(), page_, nullptr), 0);
  EXPECT_EQ(hmm_mirror_write_ex(m_, kAddr, buf.data(), page_, nullptr), 0);
}

TEST_F(RwExTest, FailurePartWayReportsWhatWasCopied) {
  std::vector<uint8_t> buf(8 * page_, 0);
  fake.fail_errno[HMM_MIRROR_NR_READ] = EFAULT;
  fake.fail_errno[HMM_MIRROR_NR_WRITE] = EPERM;
  fake.fail_bytes_copied = 3 * page_;
  struct hmm_mirror_rw_result res;
  hmm_mirror_rw_result_init(&res);
  EXPECT_EQ(hmm_mirror_read_ex(m_, kAddr, buf.data(), buf.size(), &res), -EFAULT);
  EXPECT_EQ(res.bytes_copied, 3 * page_);
  EXPECT_EQ(res.device_faults, 1u);
  EXPECT_NE(LastError().find("hmm_mirror_read_ex("), std::string::npos) << LastError();
  hmm_mirror_rw_result_init(&res);
  EXPECT_EQ(hmm_mirror_write_ex(m_, kAddr, buf.data(), buf.size(), &res), -EPERM);
  EXPECT_EQ(res.bytes_copied, 3 * page_);
  // A module that says more than the length is not believed past it.
  fake.fail_bytes_copied = ~0ULL;
  EXPECT_EQ(hmm_mirror_read_ex(m_, kAddr, buf.data(), buf.size(), &res), -EFAULT);
  EXPECT_EQ(res.bytes_copied, buf.size());
}

TEST_F(RwExTest, AnAbi2ModuleDoesNotSayHowFarAFailedCopyGot) {
  fake.module_abi_version = 2;
  fake.features &= ~(HMM_MIRROR_FEAT_RW_COPIED | HMM_MIRROR_FEAT_ADDR_LIMIT);
  struct hmm_mirror* m = nullptr;
  ASSERT_EQ(hmm_mirror_open_path(fake.path, &m), 0);
  std::vector<uint8_t> buf(2 * page_, 0);
  struct hmm_mirror_rw_result res;
  hmm_mirror_rw_result_init(&res);
  // Success: the whole length, though the module did not say it.
  fake.fail_errno[HMM_MIRROR_NR_READ] = 0;
  ASSERT_EQ(hmm_mirror_read_ex(m, kAddr, buf.data(), buf.size(), &res), 0);
  EXPECT_EQ(res.bytes_copied, buf.size());
  // Failure: 0, whatever the struct held.
  fake.fail_errno[HMM_MIRROR_NR_READ] = EFAULT;
  fake.fail_bytes_copied = page_;
  EXPECT_EQ(hmm_mirror_read_ex(m, kAddr, buf.data(), buf.size(), &res), -EFAULT);
  EXPECT_EQ(res.bytes_copied, 0u);
  EXPECT_EQ(res.device_faults, 0u);
  hmm_mirror_close(m);
}

TEST_F(RwExTest, RefusedArgumentsReportNothingCopied) {
  std::vector<uint8_t> buf(2 * page_, 0);
  struct hmm_mirror_rw_result res;
  std::memset(&res, 0xa5, sizeof(res));
  res.size = sizeof(res);
  EXPECT_REJECTED(hmm_mirror_read_ex(m_, kAddr + 1, buf.data(), page_, &res),
                  EINVAL, "hmm_mirror_read_ex", "addr is not a multiple");
  EXPECT_EQ(res.bytes_copied, 0u);
  EXPECT_EQ(res.device_faults, 0u);
  EXPECT_EQ(res.reserved, 0u);
  std::memset(&res, 0xa5, sizeof(res));
  res.size = sizeof(res);
  EXPECT_REJECTED(hmm_mirror_write_ex(m_, kAddr, nullptr, page_, &res), EINVAL,
                  "hmm_mirror_write_ex", "buf is NULL");
  EXPECT_EQ(res.bytes_copied, 0u);
  EXPECT_REJECTED(hmm_mirror_read_ex(nullptr, kAddr, buf.data(), page_, &res),
                  EINVAL, "hmm_mirror_read_ex", "the handle is NULL");
  EXPECT_EQ(res.bytes_copied, 0u);
}

TEST_F(RwExTest, ASmallResultIsRefusedAndALargerOneKeepsItsTail) {
  std::vector<uint8_t> buf(page_, 0);
  struct hmm_mirror_rw_result res;
  hmm_mirror_rw_result_init(&res);
  res.size = HMM_MIRROR_RW_RESULT_SIZE_VER1 - 8;
  EXPECT_REJECTED(hmm_mirror_read_ex(m_, kAddr, buf.data(), page_, &res), EINVAL,
                  "hmm_mirror_read_ex", "hmm_mirror_rw_result_init");
  struct {
    struct hmm_mirror_rw_result res;
    uint64_t newer_field;
  } big;
  std::memset(&big, 0, sizeof(big));
  big.res.size = sizeof(big);
  big.newer_field = 0x1234;
  ASSERT_EQ(hmm_mirror_read_ex(m_, kAddr, buf.data(), page_, &big.res), 0);
  EXPECT_EQ(big.res.size, sizeof(big));
  EXPECT_EQ(big.res.bytes_copied, page_);
  EXPECT_EQ(big.newer_field, 0x1234u);
}

TEST_F(RwExTest, TheOldCallsKeepTheirBehaviour) {
  std::vector<uint8_t> buf(page_, 0);
  uint64_t faults = 77;
  fake.fail_errno[HMM_MIRROR_NR_READ] = EFAULT;
  fake.fail_bytes_copied = 0;
  EXPECT_EQ(hmm_mirror_read(m_, kAddr, buf.data(), page_, &faults), -EFAULT);
  EXPECT_EQ(faults, 77u) << "written on failure";
  fake.fail_errno[HMM_MIRROR_NR_READ] = 0;
  EXPECT_EQ(hmm_mirror_read(m_, kAddr, buf.data(), page_, &faults), 0);
  EXPECT_EQ(faults, 1u);
}

using AddrLimitTest = FakeDeviceTest;

TEST_F(AddrLimitTest, InfoReportsIt) {
  struct hmm_mirror_info info;
  hmm_mirror_info_init(&info);
  EXPECT_EQ(info.size, sizeof(info));
  ASSERT_EQ(hmm_mirror_handshake(m_, &info), 0);
  EXPECT_EQ(info.addr_limit, kLimit);
  // A program built against the 1.1 header (32 bytes) gets no more.
  struct {
    uint8_t info[HMM_MIRROR_INFO_SIZE_VER1];
    uint64_t after;
  } old;
  std::memset(&old, 0, sizeof(old));
  uint32_t size = HMM_MIRROR_INFO_SIZE_VER1;
  std::memcpy(old.info, &size, sizeof(size));
  old.after = 0x5555;
  ASSERT_EQ(hmm_mirror_handshake(m_, reinterpret_cast<struct hmm_mirror_info*>(&old)), 0);
  EXPECT_EQ(old.after, 0x5555u);
}

TEST_F(AddrLimitTest, AnAbi2ModuleReportsNone) {
  fake.module_abi_version = 2;
  fake.features &= ~(HMM_MIRROR_FEAT_RW_COPIED | HMM_MIRROR_FEAT_ADDR_LIMIT);
  struct hmm_mirror* m = nullptr;
  ASSERT_EQ(hmm_mirror_open_path(fake.path, &m), 0);
  struct hmm_mirror_info info;
  hmm_mirror_info_init(&info);
  ASSERT_EQ(hmm_mirror_handshake(m, &info), 0);
  EXPECT_EQ(info.addr_limit, 0u);
  // Nothing to check ranges against: the module decides.
  EXPECT_EQ(hmm_mirror_fault(m, kLimit - page_, 2 * page_, 0, nullptr, nullptr), 0);
  hmm_mirror_close(m);
}

TEST_F(AddrLimitTest, RangesPastItAreRefusedBeforeTheDevice) {
  std::vector<uint32_t> states(2);
  std::vector<uint8_t> buf(2 * page_);
  const uint64_t at = kLimit - page_;
  EXPECT_REJECTED(hmm_mirror_fault(m_, at, 2 * page_, 0, nullptr, nullptr), EINVAL,
                  "hmm_mirror_fault", "address limit 0x1000000000000");
  EXPECT_REJECTED(hmm_mirror_snapshot(m_, kLimit, page_, states.data(), 2), EINVAL,
                  "hmm_mirror_snapshot", "addr_limit of the handshake");
  EXPECT_REJECTED(hmm_mirror_query(m_, at, 2 * page_, states.data(), 2), EINVAL,
                  "hmm_mirror_query", "address limit");
  EXPECT_REJECTED(hmm_mirror_read(m_, at, buf.data(), 2 * page_, nullptr), EINVAL,
                  "hmm_mirror_read", "address limit");
  EXPECT_REJECTED(hmm_mirror_write(m_, at, buf.data(), 2 * page_, nullptr), EINVAL,
                  "hmm_mirror_write", "address limit");
  // Up to the limit is fine.
  EXPECT_EQ(hmm_mirror_fault(m_, at, page_, 0, nullptr, nullptr), 0);
}

}  // namespace
