//! What the device tests share: opening the mirror and memory mappings
//! of their own (mmap'd, so that no Rust reference ever points into
//! memory the device reads, writes or invalidates).
//!
//! The tests in this directory need /dev/hmm_mirror, so they are
//! `#[ignore]`d: `make test` runs them inside the VM with `--ignored`
//! (tests/rust/run-vm-tests.sh); a plain `cargo test` lists them as
//! ignored.
#![allow(dead_code)]

use std::ptr;

use hmm_mirror::Mirror;

pub fn mirror() -> Mirror {
    Mirror::open().unwrap_or_else(|e| panic!("open /dev/hmm_mirror: {e}"))
}

pub fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap()
}

/// An anonymous (or other) mapping, unmapped on drop.
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain process memory, usable from any thread.
unsafe impl Send for Mapping {}
// SAFETY: as for Send: the tests touch it only through raw pointers.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// `pages` private anonymous read/write pages, not touched yet.
    pub fn anon(pages: usize) -> Mapping {
        Self::new(
            pages * page_size(),
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
        )
        .expect("mmap")
    }

    /// A mapping of `len` bytes with these protections and flags, or None
    /// when mmap fails (e.g. no huge pages reserved).
    pub fn new(len: usize, prot: i32, flags: i32) -> Option<Mapping> {
        // SAFETY: a new anonymous mapping; no existing memory is affected.
        let p = unsafe { libc::mmap(ptr::null_mut(), len, prot, flags, -1, 0) };
        (p != libc::MAP_FAILED).then_some(Mapping { ptr: p.cast(), len })
    }

    pub fn addr(&self) -> u64 {
        self.ptr as u64
    }

    /// Address of page `i`.
    pub fn page(&self, i: usize) -> u64 {
        self.addr() + (i * page_size()) as u64
    }

    pub fn len(&self) -> u64 {
        self.len as u64
    }

    /// Writes `byte` to the first byte of every page in `pages`.
    pub fn touch(&self, pages: std::ops::Range<usize>, byte: u8) {
        for i in pages {
            // SAFETY: inside the mapping, which is writable.
            unsafe { ptr::write_volatile(self.ptr.add(i * page_size()), byte) };
        }
    }

    /// Fills the whole mapping with a pattern derived from `seed`.
    pub fn fill(&self, seed: u8) {
        for i in 0..self.len {
            // SAFETY: inside the mapping, which is writable.
            unsafe { ptr::write_volatile(self.ptr.add(i), pattern(seed, i)) };
        }
    }

    /// Byte `i`.
    pub fn get(&self, i: usize) -> u8 {
        assert!(i < self.len);
        // SAFETY: inside the mapping, which is readable.
        unsafe { ptr::read_volatile(self.ptr.add(i)) }
    }

    /// Copies the mapping out (through the CPU).
    pub fn to_vec(&self) -> Vec<u8> {
        (0..self.len).map(|i| self.get(i)).collect()
    }

    /// munmap of `pages` pages from page `first`.
    pub fn unmap(&self, first: usize, pages: usize) {
        // SAFETY: inside the mapping; the tests never access unmapped pages.
        let r = unsafe {
            libc::munmap(
                self.ptr.add(first * page_size()).cast(),
                pages * page_size(),
            )
        };
        assert_eq!(r, 0, "munmap");
    }

    /// mprotect of `pages` pages from page `first`.
    pub fn protect(&self, first: usize, pages: usize, prot: i32) {
        // SAFETY: inside the mapping.
        let r = unsafe {
            libc::mprotect(
                self.ptr.add(first * page_size()).cast(),
                pages * page_size(),
                prot,
            )
        };
        assert_eq!(r, 0, "mprotect");
    }

    /// madvise of `pages` pages from page `first`.
    pub fn advise(&self, first: usize, pages: usize, advice: i32) {
        // SAFETY: inside the mapping.
        let r = unsafe {
            libc::madvise(
                self.ptr.add(first * page_size()).cast(),
                pages * page_size(),
                advice,
            )
        };
        assert_eq!(r, 0, "madvise");
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: our own mapping (munmap of already unmapped parts is fine).
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

pub fn pattern(seed: u8, i: usize) -> u8 {
    (i as u8).wrapping_mul(31).wrapping_add(seed) ^ ((i >> 12) as u8)
}
