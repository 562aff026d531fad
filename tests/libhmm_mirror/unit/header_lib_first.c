// SPDX-License-Identifier: MIT
/* header_lib_first.c - the library header, then the kernel ABI's. */
#include "hmm_mirror/libhmm_mirror.h"
#include "hmm_mirror.h"
#include "header_checks.h"

int header_lib_first_ok(void);
int header_lib_first_ok(void)
{
	return HMM_MIRROR_FEAT_FAULT == 1;
}
