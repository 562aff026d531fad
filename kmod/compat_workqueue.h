/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat_workqueue.h - the system's unbound workqueue, on every kernel of
 * the matrix.  It was system_unbound_wq; the workqueue rework named it
 * system_dfl_wq (and stable kernels got the new name by backport, e.g.
 * 6.12.95), and newer kernels warn once at run time when work is queued on
 * the old name.  Probed (conftest/system_dfl_wq.c), not version-compared.
 */
#ifndef HMM_MIRROR_COMPAT_WORKQUEUE_H
#define HMM_MIRROR_COMPAT_WORKQUEUE_H

#include <linux/workqueue.h>
#include "compat_probes.h"

#ifdef HMM_HAVE_SYSTEM_DFL_WQ
#define compat_unbound_wq system_dfl_wq
#else
#define compat_unbound_wq system_unbound_wq
#endif

#endif /* HMM_MIRROR_COMPAT_WORKQUEUE_H */
