//! Safe Rust API for `/dev/hmm_mirror`, the HMM address-space mirror
//! device of `hmm_mirror.ko`.
//!
//! A [`Mirror`] is a software device with its own page table, kept in
//! sync with a process's CPU page table by the kernel's HMM API.  With it
//! you [`fault`](Mirror::fault) ranges into the device page table,
//! [`snapshot`](Mirror::snapshot) the CPU page table,
//! [`query`](Mirror::query) what the device maps,
//! [`read`](Mirror::read) and [`write`](Mirror::write) memory through the
//! device, [`attach`](Mirror::attach) to another process, receive
//! invalidation [`events`](Mirror::events), read [`Stats`], and move pages
//! into the module's device memory and back ([`migrate`](Mirror::migrate),
//! ABI 4).
//!
//! The crate sits on libhmm_mirror, the C library that implements the
//! ABI (through [`hmm_mirror_sys`], re-exported as [`sys`]): there is no
//! ioctl code here.  Every failure is a [`std::io::Error`] carrying the
//! library's readable message and its errno ([`ErrorExt`]).
//!
//! ```no_run
//! use std::time::Duration;
//! use hmm_mirror::{Access, Mirror, Reasons};
//!
//! let mirror = Mirror::open()?;
//! mirror.configure_events(Reasons::all(), 0)?;
//! let page = mirror.page_size();
//!
//! // Some memory of our own, page aligned.
//! let mut mem = vec![0u8; 64 * page as usize];
//! let addr = (mem.as_mut_ptr() as u64).next_multiple_of(page);
//!
//! mirror.fault(addr, 8 * page, Access::Write)?;
//! assert!(mirror.query(addr, 8 * page)?.iter().all(|s| s.is_writable()));
//!
//! let mut copy = vec![0u8; page as usize];
//! mirror.read(addr, &mut copy)?; // through the device page table
//!
//! drop(mem); // unmaps or reuses the memory: the device entries may go
//! for event in mirror.events(Some(Duration::from_millis(50))) {
//!     println!("{}", event?);
//! }
//! println!("{:?}", mirror.stats()?);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! `Mirror` is `Send + Sync` (see [its documentation](Mirror#threads) for
//! why), and implements [`AsFd`](std::os::fd::AsFd) for `poll()` loops
//! and async runtimes.
#![warn(missing_docs)]

mod devmem;
mod error;
mod events;
mod exclusive;
mod flags;
mod maps;
mod mirror;
mod runs;
mod stats;

pub use hmm_mirror_sys as sys;

pub use devmem::{DeviceMemory, Direction, MigrateOptions, MigrateOutcome, MigrateReport};
pub use error::{errno_name, strerror, Error, ErrorExt};
pub use events::{Event, Events};
pub use exclusive::{AtomicOp, ExclusiveReport};
pub use flags::{Access, Commands, EventReason, Features, PageFlags, PageRun, PageState, Reasons};
pub use maps::{maps, Mapping};
pub use mirror::{Copied, Faulted, Info, Mirror};
pub use runs::Runs;
pub use stats::{Counter, Stats};

/// libhmm_mirror's version, `"1.5.0"`.
///
/// ```
/// assert!(hmm_mirror::lib_version().starts_with("1."));
/// ```
pub fn lib_version() -> &'static str {
    error::lib_name!(hmm_mirror_lib_version()).unwrap_or("")
}

/// The ABI version this crate (and libhmm_mirror) speaks.
pub const ABI_VERSION: u32 = sys::HMM_MIRROR_ABI_VERSION;

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Mirror>();
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_device_is_not_found_with_the_library_message() {
        let err = Mirror::open_path("/nonexistent/hmm_mirror").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        assert_eq!(err.errno(), Some(libc::ENOENT));
        let msg = err.to_string();
        assert!(
            msg.starts_with("hmm_mirror_open(\"/nonexistent/hmm_mirror\"): ENOENT: "),
            "{msg}"
        );
        assert!(msg.contains("is hmm_mirror.ko loaded?"), "{msg}");
    }

    #[test]
    fn a_node_that_is_not_the_device_fails_the_handshake() {
        // /dev/null opens fine but knows no ioctl: ENOTTY from the handshake.
        let err = Mirror::open_path("/dev/null").unwrap_err();
        assert_eq!(err.errno(), Some(libc::ENOTTY), "{err}");
        assert!(
            err.to_string().contains("not an hmm_mirror device"),
            "{err}"
        );
    }

    #[test]
    fn from_fd_refuses_a_descriptor_that_is_not_the_device() {
        let null = std::fs::File::open("/dev/null").unwrap();
        let err = Mirror::from_fd(null.into()).unwrap_err();
        assert_eq!(err.errno(), Some(libc::ENOTTY), "{err}");
        let msg = err.to_string();
        assert!(msg.starts_with("hmm_mirror_from_fd(fd="), "{msg}");
        assert!(msg.contains("not an hmm_mirror device"), "{msg}");
        assert!(msg.contains("/dev/null"), "{msg}");
        assert_eq!(err.bytes_copied(), None);
    }

    #[test]
    fn a_directory_is_an_error() {
        let err = Mirror::open_path("/").unwrap_err();
        assert_eq!(err.errno(), Some(libc::EISDIR), "{err}");
    }

    #[test]
    fn a_path_with_nul_is_invalid_input() {
        let err = Mirror::open_path("/dev/\0x").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }

    #[test]
    fn versions() {
        assert_eq!(ABI_VERSION, 5);
        assert_eq!(
            lib_version(),
            format!(
                "{}.{}.{}",
                sys::HMM_MIRROR_LIB_VERSION_MAJOR,
                sys::HMM_MIRROR_LIB_VERSION_MINOR,
                sys::HMM_MIRROR_LIB_VERSION_PATCH
            )
        );
    }

    #[test]
    fn errors_from_several_threads_keep_their_own_message() {
        std::thread::scope(|s| {
            for i in 0..8 {
                s.spawn(move || {
                    let path = format!("/nonexistent/{i}");
                    for _ in 0..50 {
                        let err = Mirror::open_path(&path).unwrap_err();
                        assert!(err.to_string().contains(&path), "{err}");
                    }
                });
            }
        });
    }
}
