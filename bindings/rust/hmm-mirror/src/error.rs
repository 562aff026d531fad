//! Errors: every failure is a [`std::io::Error`].
//!
//! libhmm_mirror returns a negative errno and keeps a readable message for
//! the calling thread, such as `hmm_mirror_fault(addr=0x7f12a000,
//! length=0x2000, write): EPERM: write fault on memory without write
//! permission`.  The crate turns both into an [`io::Error`] whose
//! [`kind()`](io::Error::kind) is the one of the errno, whose `Display` is
//! the library's message, and which carries an [`Error`] with the errno
//! itself ([`ErrorExt::errno`] gets it back) and, for a failed
//! [`Mirror::read`](crate::Mirror::read) or
//! [`Mirror::write`](crate::Mirror::write), the bytes it copied
//! ([`ErrorExt::bytes_copied`]).

use std::ffi::{c_int, CStr};
use std::fmt;
use std::io;

use hmm_mirror_sys as sys;

/// The library's error: its errno and its message.  It travels inside an
/// [`io::Error`]; see [`ErrorExt`] to get it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    errno: i32,
    message: String,
    bytes_copied: Option<u64>,
}

impl Error {
    /// The positive errno (`libc::EINVAL`, ...).
    pub fn errno(&self) -> i32 {
        self.errno
    }

    /// The library's explanation: which call failed, with which
    /// arguments, the errno name and what it means for that call.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// `"EINVAL"`, ...: the errno's name, if the library knows it.
    pub fn errno_name(&self) -> Option<&'static str> {
        errno_name(self.errno)
    }

    /// For a failed [`Mirror::read`](crate::Mirror::read) or
    /// [`Mirror::write`](crate::Mirror::write): the bytes copied before
    /// the failure, counted from the start of the range.  Those bytes were
    /// copied and nothing after them was; 0 when the arguments were
    /// refused.  `None` for other calls, and when the module does not say
    /// (no [`Features::RW_COPIED`](crate::Features::RW_COPIED): ABI 2).
    pub fn bytes_copied(&self) -> Option<u64> {
        self.bytes_copied
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            f.write_str(&strerror(self.errno))
        } else {
            f.write_str(&self.message)
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        io::Error::new(io::Error::from_raw_os_error(e.errno).kind(), e)
    }
}

/// The errno of an [`io::Error`] from this crate (or of any OS error).
///
/// ```
/// use hmm_mirror::{ErrorExt, Mirror};
///
/// let err = Mirror::open_path("/nonexistent/hmm_mirror").unwrap_err();
/// assert_eq!(err.errno(), Some(libc::ENOENT));
/// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// ```
pub trait ErrorExt {
    /// The positive errno: that of the library's [`Error`] inside, or
    /// [`io::Error::raw_os_error`].  `None` for other errors.
    fn errno(&self) -> Option<i32>;

    /// [`Error::bytes_copied`] of the library's [`Error`] inside: how far
    /// a failed [`Mirror::read`](crate::Mirror::read) or
    /// [`Mirror::write`](crate::Mirror::write) got.  `None` for other
    /// errors.
    fn bytes_copied(&self) -> Option<u64> {
        None
    }
}

impl ErrorExt for io::Error {
    fn errno(&self) -> Option<i32> {
        self.raw_os_error()
            .or_else(|| self.get_ref()?.downcast_ref::<Error>().map(Error::errno))
    }

    fn bytes_copied(&self) -> Option<u64> {
        self.get_ref()?
            .downcast_ref::<Error>()
            .and_then(Error::bytes_copied)
    }
}

/// `Ok(())` for a non-negative library return value; otherwise the
/// [`io::Error`] built from the negative errno and the thread's message.
/// Must be called on the thread that made the call, right after it.
pub(crate) fn check(ret: c_int) -> io::Result<()> {
    check_copied(ret, None)
}

/// [`check`] for READ and WRITE: the error carries `bytes_copied`.
pub(crate) fn check_copied(ret: c_int, bytes_copied: Option<u64>) -> io::Result<()> {
    if ret >= 0 {
        Ok(())
    } else {
        let mut e = last_error(ret.saturating_neg());
        e.bytes_copied = bytes_copied;
        Err(e.into())
    }
}

/// The library's message for the calling thread's last failure.
pub(crate) fn last_error(errno: i32) -> Error {
    // SAFETY: hmm_mirror_last_error() takes no argument and returns a
    // pointer to the calling thread's NUL-terminated message buffer, valid
    // until this thread's next failing library call; it is copied at once.
    let msg = unsafe { CStr::from_ptr(sys::hmm_mirror_last_error()) };
    Error {
        errno,
        message: msg.to_string_lossy().into_owned(),
        bytes_copied: None,
    }
}

/// A string of the library, or `None` for NULL (or non-UTF-8).
///
/// # Safety
///
/// `p` is NULL or points to a NUL-terminated string that lives for the
/// whole program.
pub(crate) unsafe fn static_str(p: *const std::ffi::c_char) -> Option<&'static str> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-NULL, and the caller promises a static C string.
    unsafe { CStr::from_ptr(p) }.to_str().ok()
}

/// `lib_name!(hmm_mirror_feature_name(bits))`: one of libhmm_mirror's pure
/// lookups (`hmm_mirror_*_name()`, `hmm_mirror_lib_version()`) as an
/// `Option<&'static str>`.
macro_rules! lib_name {
    ($f:ident($arg:expr)) => {{
        let arg = $arg; // evaluated outside the unsafe block
                        // SAFETY: the lookups accept any value and return NULL or a
                        // pointer to a string literal of the library, valid for the whole
                        // program.
        unsafe { $crate::error::static_str($crate::sys::$f(arg)) }
    }};
    ($f:ident()) => {
        // SAFETY: as above.
        unsafe { $crate::error::static_str($crate::sys::$f()) }
    };
}
pub(crate) use lib_name;

/// `"EINVAL"` for 22 (or -22); `None` for an errno the library does not
/// name.
///
/// ```
/// assert_eq!(hmm_mirror::errno_name(libc::EBUSY), Some("EBUSY"));
/// assert_eq!(hmm_mirror::errno_name(-libc::EFAULT), Some("EFAULT"));
/// assert_eq!(hmm_mirror::errno_name(100_000), None);
/// ```
pub fn errno_name(errno: i32) -> Option<&'static str> {
    lib_name!(hmm_mirror_errno_name(errno))
}

/// `"EINVAL: Invalid argument"`: the generic text of an errno (positive or
/// negative), as the library prints it.
pub fn strerror(errno: i32) -> String {
    // SAFETY: any int is valid; the result is a NUL-terminated string in a
    // thread-local buffer (or a literal), copied before this thread calls
    // the library again.
    let s = unsafe { CStr::from_ptr(sys::hmm_mirror_strerror(errno)) };
    s.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_error_keeps_errno_kind_and_message() {
        let e: io::Error = Error {
            errno: libc::EPERM,
            message: "x: EPERM: why".into(),
            bytes_copied: None,
        }
        .into();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(e.errno(), Some(libc::EPERM));
        assert_eq!(e.to_string(), "x: EPERM: why");
        let inner = e.get_ref().unwrap().downcast_ref::<Error>().unwrap();
        assert_eq!(inner.errno_name(), Some("EPERM"));
        assert_eq!(inner.message(), "x: EPERM: why");
    }

    #[test]
    fn empty_message_falls_back_to_strerror() {
        let e = Error {
            errno: libc::EINVAL,
            message: String::new(),
            bytes_copied: None,
        };
        assert!(e.to_string().starts_with("EINVAL: "), "{e}");
    }

    #[test]
    fn os_errors_have_an_errno_too() {
        assert_eq!(
            io::Error::from_raw_os_error(libc::EIO).errno(),
            Some(libc::EIO)
        );
        assert_eq!(io::Error::other("no errno").errno(), None);
    }

    #[test]
    fn bytes_copied_travels_in_the_io_error() {
        let e = check_copied(-libc::EFAULT, Some(8192)).unwrap_err();
        assert_eq!(e.errno(), Some(libc::EFAULT));
        assert_eq!(e.bytes_copied(), Some(8192));
        let inner = e.get_ref().unwrap().downcast_ref::<Error>().unwrap();
        assert_eq!(inner.bytes_copied(), Some(8192));
        assert_eq!(check(-libc::EFAULT).unwrap_err().bytes_copied(), None);
        assert_eq!(io::Error::from_raw_os_error(libc::EIO).bytes_copied(), None);
        assert!(check_copied(0, Some(1)).is_ok());
    }

    #[test]
    fn check_maps_negative_errno() {
        assert!(check(0).is_ok());
        let e = check(-libc::EBUSY).unwrap_err();
        assert_eq!(e.errno(), Some(libc::EBUSY));
        // std's kind of EBUSY (ResourceBusy since Rust 1.83).
        assert_eq!(e.kind(), io::Error::from_raw_os_error(libc::EBUSY).kind());
    }

    #[test]
    fn names() {
        assert_eq!(errno_name(libc::ESRCH), Some("ESRCH"));
        assert_eq!(errno_name(0), None);
        assert!(strerror(-libc::ENOENT).starts_with("ENOENT: "));
    }
}
