// SPDX-License-Identifier: MIT
/* header_abi_first.c - the kernel ABI header, then the library's. */
#include "hmm_mirror.h"
#include "hmm_mirror/libhmm_mirror.h"
#include "header_checks.h"

int header_abi_first_ok(void);
int header_abi_first_ok(void)
{
	return HMM_MIRROR_PAGE_VALID == 1;
}
