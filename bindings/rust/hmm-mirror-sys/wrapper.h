/* SPDX-License-Identifier: MIT */
/*
 * wrapper.h - what src/bindings.rs is generated from (tests/bindings_current_test.rs
 * regenerates it with bindgen and compares; see README.md).
 *
 * The kernel ABI first, so libhmm_mirror.h skips its copies of the shared
 * constants and every constant is declared once, with the ABI's spelling.
 */
#include "hmm_mirror.h"			/* abi/hmm_mirror.h */
#include "hmm_mirror/libhmm_mirror.h"	/* bindings/c/include/ */

/*
 * bindgen does not expand function-like macros, so _IO() would give no
 * constant.  Enumerators are evaluated by clang itself: the ioctl numbers
 * arrive in Rust as computed by the C compiler.  The generator renames
 * HMM_MIRROR_SYS_IOC_x to HMM_MIRROR_IOC_x.
 */
enum hmm_mirror_ioctl_cmd {
	HMM_MIRROR_SYS_IOC_HANDSHAKE = HMM_MIRROR_IOC_HANDSHAKE,
	HMM_MIRROR_SYS_IOC_FAULT = HMM_MIRROR_IOC_FAULT,
	HMM_MIRROR_SYS_IOC_SNAPSHOT = HMM_MIRROR_IOC_SNAPSHOT,
	HMM_MIRROR_SYS_IOC_READ = HMM_MIRROR_IOC_READ,
	HMM_MIRROR_SYS_IOC_WRITE = HMM_MIRROR_IOC_WRITE,
	HMM_MIRROR_SYS_IOC_QUERY = HMM_MIRROR_IOC_QUERY,
	HMM_MIRROR_SYS_IOC_ATTACH = HMM_MIRROR_IOC_ATTACH,
	HMM_MIRROR_SYS_IOC_EVENTS = HMM_MIRROR_IOC_EVENTS,
	HMM_MIRROR_SYS_IOC_STATS = HMM_MIRROR_IOC_STATS,
};
