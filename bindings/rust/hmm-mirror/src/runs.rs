//! The runs of a range as an iterator, on libhmm_mirror's walk.

use std::io;
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use hmm_mirror_sys as sys;

use crate::error::check;
use crate::flags::PageRun;
use crate::mirror::Mirror;

/// Iterator over the runs of a range: see [`Mirror::runs`].
///
/// It owns a libhmm_mirror walk (`hmm_mirror_runs_open()`), which asks
/// the module for a batch of runs at a time and goes on after a full
/// batch, or on an ABI 1 module collapses per-page snapshots of bounded
/// pieces; memory stays bounded whatever the range.  After an error the
/// iterator yields that error once and then ends.
#[derive(Debug)]
pub struct Runs<'a> {
    raw: NonNull<sys::hmm_mirror_runs>,
    done: bool,
    // The walk uses the mirror's handle: it must not outlive it.
    _mirror: PhantomData<&'a Mirror>,
}

impl<'a> Runs<'a> {
    pub(crate) fn new(mirror: &'a Mirror, addr: u64, length: u64) -> io::Result<Runs<'a>> {
        let mut raw = ptr::null_mut();
        // SAFETY: `mirror.as_ptr()` is a valid handle for 'a, which the
        // walk borrows; `raw` is a writable pointer the library fills.
        check(unsafe { sys::hmm_mirror_runs_open(mirror.as_ptr(), addr, length, &mut raw) })?;
        let raw = NonNull::new(raw).ok_or_else(|| io::Error::from_raw_os_error(libc::ENOMEM))?;
        Ok(Runs {
            raw,
            done: false,
            _mirror: PhantomData,
        })
    }
}

impl Iterator for Runs<'_> {
    type Item = io::Result<PageRun>;

    fn next(&mut self) -> Option<io::Result<PageRun>> {
        if self.done {
            return None;
        }
        let mut run = sys::hmm_mirror_page_run::default();
        // SAFETY: `self.raw` is the open walk (closed only on drop) and
        // `run` a writable run.
        let ret = unsafe { sys::hmm_mirror_runs_next(self.raw.as_ptr(), &mut run) };
        match ret {
            1 => Some(Ok(PageRun::from(&run))),
            0 => {
                self.done = true;
                None
            }
            _ => {
                self.done = true;
                Some(check(ret).map(|()| PageRun::from(&run)))
            }
        }
    }
}

impl std::iter::FusedIterator for Runs<'_> {}

impl Drop for Runs<'_> {
    fn drop(&mut self) {
        // SAFETY: the walk is open and not used after this.
        unsafe { sys::hmm_mirror_runs_close(self.raw.as_ptr()) }
    }
}
