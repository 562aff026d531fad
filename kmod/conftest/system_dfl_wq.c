// SPDX-License-Identifier: GPL-2.0
/* system_dfl_wq: the unbound system workqueue's new name (6.17, backported). */
#include <linux/workqueue.h>

struct workqueue_struct *hmm_conftest(void);
struct workqueue_struct *hmm_conftest(void)
{
	return system_dfl_wq;
}
