// SPDX-License-Identifier: GPL-2.0
/* Tiny module used by tests/vm/selftest.sh to check run-vm.sh --module. */
#include <linux/module.h>
#include <linux/moduleparam.h>

static int value;
module_param(value, int, 0444);
MODULE_PARM_DESC(value, "exported read-only in /sys/module/vm_selftest/parameters/value");

static int __init vm_selftest_init(void)
{
	pr_info("vm_selftest: loaded, value=%d\n", value);
	return 0;
}

static void __exit vm_selftest_exit(void)
{
}

module_init(vm_selftest_init);
module_exit(vm_selftest_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("run-vm.sh selftest module");
