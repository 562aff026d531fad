# The cffi extension ffibuild.py generates: its objects are dynamic (every
# C declaration of ffibuild.CDEF is an attribute of lib), so they are Any
# to a type checker; the modules that use them give their results types.
from typing import Any

ffi: Any
lib: Any
