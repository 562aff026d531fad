//! The mappings of a process, from libhmm_mirror's `/proc/PID/maps`
//! parser (the one the hmm-mirror tool uses).

use std::ffi::{CStr, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::ptr::{self, NonNull};

use hmm_mirror_sys as sys;

use crate::error::check;

/// One mapping (VMA) of a process: see [`maps`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Mapping {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// `"rw-p"`, `"r-xs"`, ...: read, write, execute, shared or private.
    pub perms: String,
    /// Offset in the file.
    pub offset: u64,
    /// Major and minor number of the file's device (0, 0 for anonymous memory).
    pub dev: (u32, u32),
    /// Inode of the file, 0 for anonymous memory.
    pub inode: u64,
    /// The file, `[heap]`, `[stack]`, ... or empty for anonymous memory.
    pub path: PathBuf,
    /// The file was deleted (the kernel's `" (deleted)"`, taken off `path`).
    pub deleted: bool,
    /// smaps `VmFlags` (`"rd wr mr mw me ac"`), when read with `smaps`.
    pub vmflags: Option<String>,
}

impl Mapping {
    /// Does the mapping hold `addr`?
    pub fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }
}

/// The mappings of process `pid` (`None`: the caller), in address order;
/// with `smaps`, from `/proc/PID/smaps` (VM flags known; slower).
///
/// Errors: `ENOENT` (no such process), `EACCES`, or `EINVAL` naming a
/// line the parser does not understand.
///
/// ```
/// let maps = hmm_mirror::maps(None, false)?;
/// assert!(maps.iter().any(|m| m.path.as_os_str() == "[stack]"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn maps(pid: Option<u32>, smaps: bool) -> io::Result<Vec<Mapping>> {
    let pid = match pid {
        None => 0,
        Some(p) => i32::try_from(p)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ESRCH))?,
    };
    let flags = if smaps { sys::HMM_MIRROR_MAPS_SMAPS } else { 0 };
    let mut raw = ptr::null_mut();
    // SAFETY: `raw` is a writable pointer the library fills.
    check(unsafe { sys::hmm_mirror_maps_open(pid, flags, &mut raw) })?;
    let walk = Walk(NonNull::new(raw).ok_or_else(|| io::Error::from_raw_os_error(libc::ENOMEM))?);
    let mut out = Vec::new();
    loop {
        let mut m = sys::hmm_mirror_mapping::new();
        // SAFETY: the walk is open; `m` is a writable mapping with `size` set.
        let ret = unsafe { sys::hmm_mirror_maps_next(walk.0.as_ptr(), &mut m) };
        if ret <= 0 {
            check(ret)?;
            return Ok(out);
        }
        // SAFETY: after a 1, `path` and `vmflags` are NUL-terminated
        // strings of the walk, valid until its next call; copied here.
        let (path, vmflags) = unsafe { (CStr::from_ptr(m.path), CStr::from_ptr(m.vmflags)) };
        let perms = m
            .perms
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8 as char);
        out.push(Mapping {
            start: m.start,
            end: m.end,
            perms: perms.collect(),
            offset: m.offset,
            dev: (m.dev_major, m.dev_minor),
            inode: m.inode,
            path: PathBuf::from(OsStr::from_bytes(path.to_bytes())),
            deleted: m.flags & sys::HMM_MIRROR_MAPPING_DELETED != 0,
            vmflags: (m.flags & sys::HMM_MIRROR_MAPPING_SMAPS != 0)
                .then(|| vmflags.to_string_lossy().into_owned()),
        });
    }
}

/// An open walk, closed on drop.
struct Walk(NonNull<sys::hmm_mirror_maps>);

impl Drop for Walk {
    fn drop(&mut self) {
        // SAFETY: the walk is open and not used after this.
        unsafe { sys::hmm_mirror_maps_close(self.0.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_mappings_with_and_without_smaps() {
        let here = own_mappings_with_and_without_smaps as fn() as usize as u64;
        for smaps in [false, true] {
            let maps = maps(None, smaps).unwrap();
            let text = maps.iter().find(|m| m.contains(here)).unwrap();
            assert!(text.perms.starts_with("r-x"), "{text:?}");
            assert!(
                text.inode != 0 && !text.path.as_os_str().is_empty(),
                "{text:?}"
            );
            assert_eq!(text.vmflags.is_some(), smaps);
            assert!(maps.windows(2).all(|w| w[0].end <= w[1].start));
        }
        let mine = maps(Some(std::process::id()), false).unwrap();
        assert!(mine.iter().any(|m| m.path.as_os_str() == "[stack]"));
    }

    #[test]
    fn a_missing_process_is_not_found() {
        let err = maps(Some(0x7fff_fff0), false).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
    }
}
