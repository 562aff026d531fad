//! Exclusive device access (ABI 5): EXCLUSIVE and ATOMIC.

use std::fmt;

use hmm_mirror_sys as sys;

use crate::error::lib_name;

/// A device atomic operation ([`Mirror::atomic`](crate::Mirror::atomic)):
/// the word's old value is returned and the new one stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AtomicOp {
    /// `old + operand` (wrapping).
    Add(u64),
    /// `operand`.
    Exchange(u64),
    /// `new` if `old == expected`, else `old`.
    CompareExchange {
        /// The value the word must hold.
        expected: u64,
        /// What it becomes then.
        new: u64,
    },
    /// `old | operand`.
    Or(u64),
    /// `old & operand`.
    And(u64),
}

impl AtomicOp {
    /// The ABI's `(op, operand, compare)`.
    pub(crate) const fn raw(self) -> (u32, u64, u64) {
        match self {
            AtomicOp::Add(v) => (sys::HMM_MIRROR_ATOMIC_ADD, v, 0),
            AtomicOp::Exchange(v) => (sys::HMM_MIRROR_ATOMIC_XCHG, v, 0),
            AtomicOp::CompareExchange { expected, new } => {
                (sys::HMM_MIRROR_ATOMIC_CMPXCHG, new, expected)
            }
            AtomicOp::Or(v) => (sys::HMM_MIRROR_ATOMIC_OR, v, 0),
            AtomicOp::And(v) => (sys::HMM_MIRROR_ATOMIC_AND, v, 0),
        }
    }

    /// The library's name: `"add"`, `"xchg"`, `"cmpxchg"`, `"or"`, `"and"`.
    pub fn name(self) -> &'static str {
        lib_name!(hmm_mirror_atomic_op_name(self.raw().0)).unwrap_or("unknown")
    }
}

impl fmt::Display for AtomicOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            AtomicOp::CompareExchange { expected, new } => {
                write!(f, "cmpxchg {expected:#x} -> {new:#x}")
            }
            op => write!(f, "{} {:#x}", op.name(), op.raw().1),
        }
    }
}

/// The result of [`Mirror::exclusive`](crate::Mirror::exclusive): per page
/// `None` if the device now holds it, or the errno of the kernel's refusal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ExclusiveReport {
    /// Start of the range.
    pub addr: u64,
    /// Bytes in the range.
    pub length: u64,
    /// One entry per page: `None` granted, `Some(errno)` refused.
    pub refusals: Vec<Option<i32>>,
    /// Pages the device holds after the call (the module's count).
    pub pages_granted: u64,
    /// Pages the kernel refused.
    pub pages_refused: u64,
}

impl ExclusiveReport {
    /// Whether every page of the range was granted.
    pub fn all_granted(&self) -> bool {
        self.refusals.iter().all(Option::is_none)
    }
}

/// `exclusive 0x1000-0x3000: 1 granted, 1 refused (EFAULT at 0x2000)`.
impl fmt::Display for ExclusiveReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exclusive {:#x}-{:#x}: {} granted, {} refused",
            self.addr,
            self.addr.wrapping_add(self.length),
            self.pages_granted,
            self.pages_refused
        )?;
        let page = if self.refusals.is_empty() {
            0
        } else {
            self.length / self.refusals.len() as u64
        };
        if let Some((i, Some(e))) = self
            .refusals
            .iter()
            .enumerate()
            .find(|(_, r)| r.is_some())
        {
            write!(
                f,
                " (first: {} at {:#x})",
                crate::errno_name(*e).unwrap_or("errno"),
                self.addr + i as u64 * page
            )?;
        }
        Ok(())
    }
}
