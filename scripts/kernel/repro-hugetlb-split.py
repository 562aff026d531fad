#!/usr/bin/env python3
"""Reproduce Debian 6.1.192's hugetlb_split() warning without hmm_mirror.

munmap of half of a private anonymous 4 MiB hugetlb mapping.  On the debug
kernel (make kernel-debug) this prints
  WARNING: ... at include/linux/fs.h:509 hugetlb_split+0x107/0x130
from __split_vma() -> __vma_adjust(), with no module loaded:

  eval "$(scripts/kernel/build-kernel.sh --print-env debug)"; export VM_MODDIR
  VM_HUGEPAGES=4 KDIR=$KDIR KERNEL=$KERNEL tests/vm/run-vm.sh --no-module -- \
      python3 scripts/kernel/repro-hugetlb-split.py

(the runner then fails with status 99 on that warning).
"""
import ctypes, ctypes.util, sys
libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
MAP_PRIVATE, MAP_ANONYMOUS, MAP_HUGETLB = 0x02, 0x20, 0x40000
p = libc.mmap(None, 4 << 20, 3, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0)
if p in (None, ctypes.c_void_p(-1).value):
    sys.exit("mmap failed: errno %d" % ctypes.get_errno())
ctypes.memset(p, 1, 4 << 20)
print("munmap of the upper half:", libc.munmap(p + (2 << 20), 2 << 20))
