//! The mirror handle.

use std::ffi::{c_int, CStr, CString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr::{self, NonNull};
use std::time::Duration;

use hmm_mirror_sys as sys;

use crate::devmem::{DeviceMemory, Direction, MigrateOptions, MigrateOutcome, MigrateReport};
use crate::error::{check, check_copied};
use crate::events::{timeout_ms, Event, Events};
use crate::exclusive::{AtomicOp, ExclusiveReport};
use crate::flags::{Access, Commands, Features, PageRun, PageState, Reasons};
use crate::runs::Runs;
use crate::stats::Stats;

/// What the module answered to the handshake ([`Mirror::info`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Info {
    /// The ABI version the module speaks.
    pub abi_version: u32,
    /// The ABI version libhmm_mirror speaks.
    pub lib_abi_version: u32,
    /// log2 of the page size ranges are measured in.
    pub page_shift: u32,
    /// Every feature the module supports.
    pub features: Features,
    /// Every command the module has.
    pub commands: Commands,
    /// The end (exclusive) of the addresses the device page table can map,
    /// `1 << 48`: a range reaching past it is `EINVAL`, even where the
    /// process maps memory (5-level paging).  `None` when the module does
    /// not say ([`Features::ADDR_LIMIT`] missing: ABI 2 and older).
    pub addr_limit: Option<u64>,
}

/// The result of [`Mirror::fault`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Faulted {
    /// 4K pages the device maps in the range afterwards.
    pub pages_mapped: u64,
    /// How often the kernel walk restarted because an invalidation raced
    /// with it.
    pub retries: u64,
}

/// The result of [`Mirror::read`] and [`Mirror::write`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Copied {
    /// Bytes copied: the whole buffer (the call failed otherwise, and
    /// [`ErrorExt::bytes_copied`](crate::ErrorExt::bytes_copied) of the
    /// error says how far it got).
    pub bytes: u64,
    /// Device faults taken to map missing pages.
    pub device_faults: u64,
}

/// Where a handle comes from; both end with the library's handshake.
enum Source<'a> {
    Path(&'a CStr),
    Fd(BorrowedFd<'a>),
}

/// One mirror: an open `/dev/hmm_mirror`, a software device with its own
/// page table that mirrors one address space (the opener's, or another
/// process's after [`attach_pid`](Self::attach_pid)).
///
/// The handle owns its file descriptor (opened `O_CLOEXEC | O_NONBLOCK`
/// by libhmm_mirror) and closes it on drop.  The device page table lives
/// until the last reference to the file is closed: a child that inherited
/// the descriptor across `fork()` keeps it alive.
///
/// All addresses and lengths are bytes in the mirrored address space and
/// must be multiples of [`page_size`](Self::page_size); libhmm_mirror
/// checks them before any system call.
///
/// # Threads
///
/// `Mirror` is [`Send`] and [`Sync`]: share it by reference (or in an
/// `Arc`) and call it from several threads at once.  This is sound
/// because:
///
/// * libhmm_mirror documents that one handle may be used from several
///   threads at once; the kernel serialises the mirror's state with its
///   own locks, and each event record goes to exactly one reader.
/// * The handle's fields (fd, handshake results) are written only while it
///   is opened.  The one exception is the attached pid, which
///   `hmm_mirror_attach_pid()`/`_pidfd()` write and the error formatting of
///   every other call reads; attaching therefore takes `&mut self`, so the
///   borrow checker rules out an attach concurrent with any other call.
/// * Error messages are thread-local in the library and are copied into
///   the returned error by the calling thread right after the failing call.
/// * Nothing ties the handle to the thread that opened it, so it can be
///   sent to (and dropped on) another thread.
///
/// # Memory safety
///
/// [`write`](Self::write) changes memory of the mirrored address space
/// behind the compiler's back, as a device's DMA or a write to
/// `/proc/self/mem` would.  Like those, it is outside what Rust's type
/// system can see; when you mirror your own process, write only to memory
/// that no Rust reference points to (for example a mapping you address by
/// raw pointer only), and treat memory the device writes as volatile.
#[derive(Debug)]
pub struct Mirror {
    raw: NonNull<sys::hmm_mirror>,
    fd: RawFd,
    features: Features,
    page_size: u64,
}

// SAFETY: see "Threads" above: the library handle may be used from any
// thread and from several at once; the only call that writes the handle
// after it is opened (attach) takes `&mut self`.
unsafe impl Send for Mirror {}
// SAFETY: as for Send.
unsafe impl Sync for Mirror {}

impl Mirror {
    /// Opens `/dev/hmm_mirror` and does the handshake.  The mirror is
    /// bound to the calling process.
    ///
    /// Errors: `ENOENT` (module not loaded), `EACCES` (no permission on
    /// the node), `EPROTO` (the module speaks an ABI the library does not
    /// know), or another errno of `open(2)` or the handshake.
    ///
    /// ```no_run
    /// let mirror = hmm_mirror::Mirror::open()?;
    /// println!("features: {}", mirror.features());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn open() -> io::Result<Mirror> {
        Self::open_path(Path::new(
            sys::HMM_MIRROR_DEVICE_PATH
                .to_str()
                .expect("ASCII device path"),
        ))
    }

    /// [`open`](Self::open) with another device node, for example in a
    /// container's own `/dev`.
    ///
    /// ```
    /// use std::io::ErrorKind;
    ///
    /// let err = hmm_mirror::Mirror::open_path("/nonexistent").unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::NotFound);
    /// assert!(err.to_string().contains("is hmm_mirror.ko loaded?"), "{err}");
    /// ```
    pub fn open_path(path: impl AsRef<Path>) -> io::Result<Mirror> {
        let path = CString::new(path.as_ref().as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
        Self::open_source(Source::Path(&path))
    }

    /// A mirror for a descriptor of `/dev/hmm_mirror` opened elsewhere,
    /// for example received over a unix socket (`SCM_RIGHTS`) from the
    /// process that opened the device.  The mirror is the one behind the
    /// descriptor, bound to the address space it was bound to: the
    /// opener's, or the one it was attached to.
    ///
    /// The handshake checks that `fd` is the device: anything else fails
    /// with `ENOTTY` and a message naming what it is.  On success the
    /// `Mirror` owns the descriptor (and sets close-on-exec on it, and
    /// `O_NONBLOCK` on its open file description, which every descriptor
    /// of that description shares); on failure it is closed with `fd`.
    ///
    /// ```
    /// use std::fs::File;
    /// use hmm_mirror::{ErrorExt, Mirror};
    ///
    /// let err = Mirror::from_fd(File::open("/dev/null")?.into()).unwrap_err();
    /// assert_eq!(err.errno(), Some(libc::ENOTTY));
    /// assert!(err.to_string().contains("not an hmm_mirror device"), "{err}");
    /// assert!(err.to_string().contains("/dev/null"), "{err}");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_fd(fd: OwnedFd) -> io::Result<Mirror> {
        let m = Self::open_source(Source::Fd(fd.as_fd()))?;
        // The handle owns the descriptor now: give up ours without closing.
        let _ = fd.into_raw_fd();
        Ok(m)
    }

    fn open_source(source: Source<'_>) -> io::Result<Mirror> {
        let mut raw = ptr::null_mut();
        // SAFETY: a path is NUL-terminated and a descriptor is open, both
        // for the whole call (borrowed); `raw` is a valid out pointer.
        // hmm_mirror_from_fd() takes the descriptor only on success, and
        // from_fd() then gives up its ownership.
        check(unsafe {
            match source {
                Source::Path(path) => sys::hmm_mirror_open_path(path.as_ptr(), &mut raw),
                Source::Fd(fd) => sys::hmm_mirror_from_fd(fd.as_raw_fd(), &mut raw),
            }
        })?;
        let raw = NonNull::new(raw).expect("the library returned 0 and no handle");
        // SAFETY: `raw` is the valid handle just opened.
        let (fd, features, page_size) = unsafe {
            (
                sys::hmm_mirror_fd(raw.as_ptr()),
                sys::hmm_mirror_features(raw.as_ptr()),
                sys::hmm_mirror_page_size(raw.as_ptr()),
            )
        };
        Ok(Mirror {
            raw,
            fd,
            features: Features::from_bits_retain(features),
            page_size,
        })
    }

    /// Opens a mirror of process `pid` ([`open`](Self::open), then
    /// [`attach_pid`](Self::attach_pid)).
    ///
    /// ```no_run
    /// let child = std::process::Command::new("sleep").arg("10").spawn()?;
    /// let mirror = hmm_mirror::Mirror::attach(child.id())?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn attach(pid: u32) -> io::Result<Mirror> {
        let mut m = Self::open()?;
        m.attach_pid(pid)?;
        Ok(m)
    }

    /// Mirrors process `pid` instead of the current address space.
    ///
    /// Allowed when the caller may ptrace the target, and only while the
    /// device maps nothing.  Errors: `ESRCH` (no such process, or no
    /// address space), `EPERM` (may not ptrace it), `EBUSY` (the device
    /// maps pages), `EOPNOTSUPP` (no ATTACH), `EINVAL` (`pid` is 0 or not
    /// a valid pid).
    pub fn attach_pid(&mut self, pid: u32) -> io::Result<()> {
        // An out-of-range pid becomes -1, which the library rejects.
        let pid = c_int::try_from(pid).unwrap_or(-1);
        // SAFETY: `self.raw` is valid; `&mut self` excludes concurrent calls.
        check(unsafe { sys::hmm_mirror_attach_pid(self.raw.as_ptr(), pid) })
    }

    /// Mirrors the process a pidfd (`pidfd_open(2)`) refers to: race free
    /// against pid reuse.  The descriptor stays the caller's.  Errors as
    /// [`attach_pid`](Self::attach_pid), and `EBADF` when it is not a
    /// pidfd.
    pub fn attach_pidfd(&mut self, pidfd: impl AsFd) -> io::Result<()> {
        let fd = pidfd.as_fd().as_raw_fd();
        // SAFETY: `self.raw` is valid; `&mut self` excludes concurrent
        // calls; `fd` is open for the duration of the call (borrowed).
        check(unsafe { sys::hmm_mirror_attach_pidfd(self.raw.as_ptr(), fd) })
    }

    /// Asks the module again (the handshake has no side effects).
    pub fn info(&self) -> io::Result<Info> {
        let mut info = sys::hmm_mirror_info::new();
        // SAFETY: `self.raw` is valid; `info` is a valid, size-initialised
        // struct the library fills.
        check(unsafe { sys::hmm_mirror_handshake(self.raw.as_ptr(), &mut info) })?;
        Ok(Info {
            abi_version: info.abi_version,
            lib_abi_version: info.lib_abi_version,
            page_shift: info.page_shift,
            features: Features::from_bits_retain(info.features),
            commands: Commands::from_bits_retain(info.ioctls),
            addr_limit: (info.addr_limit != 0).then_some(info.addr_limit),
        })
    }

    /// The module's features, from the handshake of [`open`](Self::open).
    pub fn features(&self) -> Features {
        self.features
    }

    /// `Ok` when the module has every feature in `features`; otherwise
    /// `EOPNOTSUPP` with a message that names the missing ones.
    pub fn require(&self, features: Features) -> io::Result<()> {
        // SAFETY: `self.raw` is valid; any mask is accepted.
        check(unsafe { sys::hmm_mirror_require(self.raw.as_ptr(), features.bits()) })
    }

    /// The page size ranges are measured in, in bytes.
    pub fn page_size(&self) -> u64 {
        self.page_size
    }

    /// Pages in `length` bytes (rounded up).
    fn pages_in(&self, length: u64) -> usize {
        usize::try_from(length.div_ceil(self.page_size)).unwrap_or(usize::MAX)
    }

    /// The libhmm_mirror handle, for calling `hmm_mirror_sys` functions
    /// this crate does not wrap.  It stays owned by `self`: do not close
    /// it, and do not attach through it (that needs `&mut self`).
    pub fn as_ptr(&self) -> *mut sys::hmm_mirror {
        self.raw.as_ptr()
    }

    /// Faults `[addr, addr + length)` into the device page table, for read
    /// or write.
    ///
    /// Errors: `EINVAL` (bad range), `EFAULT` (part of the range is not
    /// mapped, or not readable), `EPERM` (write fault on memory without
    /// write permission), `EBUSY` (invalidations kept racing), `ESRCH`
    /// (the mirrored process exited).
    ///
    /// ```no_run
    /// use hmm_mirror::{Access, Mirror};
    ///
    /// let mirror = Mirror::open()?;
    /// let buf = vec![1u8; 1 << 20];
    /// let page = mirror.page_size();
    /// let start = (buf.as_ptr() as u64).next_multiple_of(page);
    /// let done = mirror.fault(start, 16 * page, Access::Read)?;
    /// assert_eq!(done.pages_mapped, 16);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn fault(&self, addr: u64, length: u64, access: Access) -> io::Result<Faulted> {
        let mut out = Faulted::default();
        // SAFETY: `self.raw` is valid; the out pointers point to live u64s.
        check(unsafe {
            sys::hmm_mirror_fault(
                self.raw.as_ptr(),
                addr,
                length,
                access.flags(),
                &mut out.pages_mapped,
                &mut out.retries,
            )
        })?;
        Ok(out)
    }

    /// What the CPU page table holds for each page of the range, without
    /// faulting: one [`PageState`] per page.
    ///
    /// ```no_run
    /// let mirror = hmm_mirror::Mirror::open()?;
    /// # let addr = 0;
    /// for (i, state) in mirror.snapshot(addr, 4 * mirror.page_size())?.iter().enumerate() {
    ///     println!("page {i}: {state}");
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn snapshot(&self, addr: u64, length: u64) -> io::Result<Vec<PageState>> {
        let mut states = vec![PageState::EMPTY; self.pages_in(length)];
        self.snapshot_into(addr, length, &mut states)?;
        Ok(states)
    }

    /// [`snapshot`](Self::snapshot) into a caller's slice, which must hold
    /// at least one entry per page (else `EINVAL`).
    pub fn snapshot_into(
        &self,
        addr: u64,
        length: u64,
        states: &mut [PageState],
    ) -> io::Result<()> {
        // SAFETY: `self.raw` is valid; `states` is a writable array of
        // `states.len()` PageStates, which are repr(transparent) u32s.
        check(unsafe {
            sys::hmm_mirror_snapshot(
                self.raw.as_ptr(),
                addr,
                length,
                states.as_mut_ptr().cast::<u32>(),
                states.len(),
            )
        })
    }

    /// [`snapshot`](Self::snapshot) as runs, collected: each [`PageRun`]
    /// is the longest stretch of pages with one state, in address order
    /// and without gaps, so uniform memory is one run whatever its size.
    /// [`runs`](Self::runs) yields them one at a time.
    ///
    /// ```no_run
    /// let mirror = hmm_mirror::Mirror::open()?;
    /// # let addr = 0;
    /// for run in mirror.snapshot_runs(addr, 1 << 30)? {
    ///     println!("{:#x}..{:#x}: {}", run.addr, run.end(), run.state);
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn snapshot_runs(&self, addr: u64, length: u64) -> io::Result<Vec<PageRun>> {
        self.runs(addr, length)?.collect()
    }

    /// The runs of a range of any size, as an iterator, in bounded memory
    /// (libhmm_mirror's `hmm_mirror_runs_open()`).  The module computes
    /// them when it has [`Features::SNAPSHOT_RUNS`] (ABI 2), a batch at a
    /// time; an ABI 1 module is asked for per-page states in pieces, which
    /// the library collapses into the same runs.
    ///
    /// Errors: `EINVAL` (bad range) here; those of
    /// [`snapshot`](Self::snapshot) from the iterator.
    ///
    /// ```no_run
    /// let mirror = hmm_mirror::Mirror::open()?;
    /// # let addr = 0;
    /// let present: u64 = mirror
    ///     .runs(addr, 1 << 40)?
    ///     .filter_map(Result::ok)
    ///     .filter(|run| run.state.is_valid())
    ///     .map(|run| run.length)
    ///     .sum();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn runs(&self, addr: u64, length: u64) -> io::Result<Runs<'_>> {
        Runs::new(self, addr, length)
    }

    /// What the device page table maps now, one [`PageState`] per page
    /// (never [`PageFlags::ERROR`](crate::PageFlags::ERROR)).
    pub fn query(&self, addr: u64, length: u64) -> io::Result<Vec<PageState>> {
        let mut states = vec![PageState::EMPTY; self.pages_in(length)];
        self.query_into(addr, length, &mut states)?;
        Ok(states)
    }

    /// [`query`](Self::query) into a caller's slice, which must hold at
    /// least one entry per page (else `EINVAL`).
    pub fn query_into(&self, addr: u64, length: u64, states: &mut [PageState]) -> io::Result<()> {
        // SAFETY: as in snapshot_into.
        check(unsafe {
            sys::hmm_mirror_query(
                self.raw.as_ptr(),
                addr,
                length,
                states.as_mut_ptr().cast::<u32>(),
                states.len(),
            )
        })
    }

    /// Copies `buf.len()` bytes at `addr` of the mirrored address space
    /// into `buf`, through the device page table (faulting missing pages
    /// the way a device would).  Returns the bytes copied (all of them)
    /// and the device faults taken.
    ///
    /// `buf.len()` must be a multiple of the page size.  Errors: `EINVAL`
    /// (also for a range past [`Info::addr_limit`]), `EFAULT` (not mapped
    /// or not readable), `EBUSY`, `ESRCH`.  The copy goes in address
    /// order, and on error [`ErrorExt::bytes_copied`](crate::ErrorExt::bytes_copied)
    /// says how far it got: `buf[..n]` holds the data, nothing after it
    /// was written.
    ///
    /// ```no_run
    /// use hmm_mirror::{ErrorExt, Mirror};
    ///
    /// let mirror = Mirror::open()?;
    /// # let addr = 0;
    /// let mut buf = vec![0u8; 16 * mirror.page_size() as usize];
    /// match mirror.read(addr, &mut buf) {
    ///     Ok(done) => assert_eq!(done.bytes, buf.len() as u64),
    ///     Err(e) => println!("{e}; the first {:?} bytes arrived", e.bytes_copied()),
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> io::Result<Copied> {
        let mut res = sys::hmm_mirror_rw_result::new();
        // SAFETY: `self.raw` is valid; `buf` is writable for `buf.len()`
        // bytes and exclusively borrowed, so the kernel may fill it; `res`
        // is a valid, size-initialised struct the library fills.
        let ret = unsafe {
            sys::hmm_mirror_read_ex(
                self.raw.as_ptr(),
                addr,
                buf.as_mut_ptr().cast(),
                buf.len() as u64,
                &mut res,
            )
        };
        self.copied(ret, &res)
    }

    /// Copies `buf` to `addr` of the mirrored address space through the
    /// device page table.  Returns the bytes copied (all of them) and the
    /// device faults taken.  See "Memory safety" above for writing to your
    /// own address space.
    ///
    /// Errors as [`read`](Self::read), and `EPERM` for memory without
    /// write permission; on error the memory from `addr +`
    /// [`bytes_copied`](crate::ErrorExt::bytes_copied) on is unchanged.
    pub fn write(&self, addr: u64, buf: &[u8]) -> io::Result<Copied> {
        let mut res = sys::hmm_mirror_rw_result::new();
        // SAFETY: `self.raw` is valid; `buf` is readable for `buf.len()`
        // bytes and the kernel only reads it; `res` is a valid,
        // size-initialised struct the library fills.
        let ret = unsafe {
            sys::hmm_mirror_write_ex(
                self.raw.as_ptr(),
                addr,
                buf.as_ptr().cast(),
                buf.len() as u64,
                &mut res,
            )
        };
        self.copied(ret, &res)
    }

    /// The result of a READ or WRITE; a failure carries the bytes copied
    /// when the module says them.
    fn copied(&self, ret: c_int, res: &sys::hmm_mirror_rw_result) -> io::Result<Copied> {
        let known = self.features.contains(Features::RW_COPIED);
        check_copied(ret, known.then_some(res.bytes_copied))?;
        Ok(Copied {
            bytes: res.bytes_copied,
            device_faults: res.device_faults,
        })
    }

    /// Moves the anonymous private pages of `addr..addr + length` into
    /// the module's device memory ([`Direction::ToDevice`]) or back to
    /// system memory ([`Direction::ToSystem`]).  Returns one
    /// [`MigrateOutcome`] per page and the counts.
    ///
    /// Pages that cannot move (file pages, pinned pages, holes, a full
    /// pool) are reported, not failed.  The device reads and writes pages
    /// in its memory in place; a CPU access moves a page back by itself
    /// (a `Migrate` event with [`Direction::ToSystem`]).
    ///
    /// Errors: `EOPNOTSUPP` without [`Features::DEVICE_MEMORY`] (a kernel
    /// without `CONFIG_DEVICE_PRIVATE`, or `device_memory_mb=0`), `EINVAL`
    /// (bad range), `ESRCH` (the process exited), `EFAULT`.
    ///
    /// ```no_run
    /// use hmm_mirror::{Direction, Mirror};
    ///
    /// let mirror = Mirror::open()?;
    /// # let addr = 0;
    /// let report = mirror.migrate(addr, 16 * mirror.page_size(), Direction::ToDevice)?;
    /// println!("{report}"); // migrate to-device 0x...: 16 moved, 0 already, ...
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn migrate(
        &self,
        addr: u64,
        length: u64,
        direction: Direction,
    ) -> io::Result<MigrateReport> {
        self.migrate_with(addr, length, direction, MigrateOptions::new())
    }

    /// [`migrate`](Self::migrate) with options: with
    /// [`MigrateOptions::evict`], a move to the device into a full pool
    /// first evicts the pool's oldest pages (of any mirror) back to system
    /// memory, data intact, instead of leaving pages
    /// [`MigrateOutcome::NoMemory`] (ABI 5).  The mirrors that mapped the
    /// evicted pages get a `Migrate` event with [`Direction::ToSystem`];
    /// [`Stats`](crate::Stats) counts them as `pages_evicted`.
    ///
    /// Errors: those of `migrate`; `EOPNOTSUPP` for `evict` without
    /// [`Features::DEVICE_EVICT`], `EINVAL` for `evict` with
    /// [`Direction::ToSystem`].
    ///
    /// ```no_run
    /// use hmm_mirror::{Direction, MigrateOptions, Mirror};
    ///
    /// let mirror = Mirror::open()?;
    /// # let addr = 0;
    /// let evict = MigrateOptions::new().evict(true);
    /// let report = mirror.migrate_with(addr, 16 * mirror.page_size(), Direction::ToDevice, evict)?;
    /// assert_eq!(report.no_memory(), 0); // unless pages were busy
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn migrate_with(
        &self,
        addr: u64,
        length: u64,
        direction: Direction,
        options: MigrateOptions,
    ) -> io::Result<MigrateReport> {
        let mut results = vec![0u32; self.pages_in(length).max(1)];
        let (mut moved, mut not_moved) = (0u64, 0u64);
        // SAFETY: `self.raw` is valid; `results` is a writable array of
        // `results.len()` u32s, exclusively borrowed, which the library
        // fills (at most that many); the out pointers point to live u64s.
        check(unsafe {
            sys::hmm_mirror_migrate(
                self.raw.as_ptr(),
                addr,
                length,
                direction.migrate_flags() | options.migrate_flags(),
                results.as_mut_ptr(),
                results.len() as u64,
                &mut moved,
                &mut not_moved,
            )
        })?;
        results.truncate(self.pages_in(length));
        Ok(MigrateReport {
            direction,
            evict: options.evicts(),
            addr,
            length,
            results: results.into_iter().map(MigrateOutcome::from_raw).collect(),
            pages_moved: moved,
            pages_not_moved: not_moved,
        })
    }

    /// Gives the device exclusive access to the pages of a range, for
    /// atomics: the CPU loses access to them until it touches one, which
    /// takes that page back (an `Exclusive` event).  A page the kernel
    /// refuses is reported with the errno of the refusal (`EFAULT`: not
    /// mapped or not writable; `EOPNOTSUPP`: not anonymous memory; `EBUSY`
    /// on kernels before 6.15 for any refusal, a THP's pages included).
    ///
    /// Errors: `EOPNOTSUPP` without [`Features::EXCLUSIVE`] (a kernel
    /// without `CONFIG_DEVICE_PRIVATE`), `EINVAL` (bad range), `ESRCH`.
    pub fn exclusive(&self, addr: u64, length: u64) -> io::Result<ExclusiveReport> {
        let mut results = vec![0u32; self.pages_in(length).max(1)];
        let (mut granted, mut refused) = (0u64, 0u64);
        // SAFETY: `self.raw` is valid; `results` is a writable array of
        // `results.len()` u32s, exclusively borrowed, which the library
        // fills (at most that many); the out pointers point to live u64s.
        check(unsafe {
            sys::hmm_mirror_exclusive(
                self.raw.as_ptr(),
                addr,
                length,
                results.as_mut_ptr(),
                results.len() as u64,
                &mut granted,
                &mut refused,
            )
        })?;
        results.truncate(self.pages_in(length));
        Ok(ExclusiveReport {
            addr,
            length,
            refusals: results
                .into_iter()
                .map(|r| (r != 0).then(|| i32::try_from(r).unwrap_or(i32::MAX)))
                .collect(),
            pages_granted: granted,
            pages_refused: refused,
        })
    }

    /// A device atomic operation on the 64-bit word at `addr` (8-byte
    /// aligned); returns the word's old value.  The device takes exclusive
    /// access to the page first if it lacks it, unless `grant` is false,
    /// which makes that `EAGAIN` instead.
    ///
    /// Errors: `EINVAL` (alignment), `EAGAIN`, `EOPNOTSUPP` (no
    /// [`Features::EXCLUSIVE`], or a page the kernel refuses), `EFAULT`,
    /// `EBUSY` (see [`Mirror::exclusive`]), `ESRCH`.
    ///
    /// ```no_run
    /// use hmm_mirror::{AtomicOp, Mirror};
    ///
    /// let mirror = Mirror::open()?;
    /// let counter = Box::new(0u64);
    /// let addr = &*counter as *const u64 as u64;
    /// assert_eq!(mirror.atomic(addr, AtomicOp::Add(1), true)?, 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn atomic(&self, addr: u64, op: AtomicOp, grant: bool) -> io::Result<u64> {
        let (raw_op, operand, compare) = op.raw();
        let flags = if grant { 0 } else { sys::HMM_MIRROR_ATOMIC_NO_GRANT };
        let mut old = 0u64;
        // SAFETY: `self.raw` is valid; `old` is a live u64 the library
        // writes.  The word at `addr` is changed by the kernel through the
        // device's mapping of the page, not through a Rust reference.
        check(unsafe {
            sys::hmm_mirror_atomic(
                self.raw.as_ptr(),
                addr,
                raw_op,
                operand,
                compare,
                flags,
                &mut old,
            )
        })?;
        Ok(old)
    }

    /// The module's device memory (pool size and use, shared by every
    /// mirror) and this mirror's moves.  `EOPNOTSUPP` without
    /// [`Features::DEVICE_MEMORY`].
    pub fn device_memory(&self) -> io::Result<DeviceMemory> {
        let mut dm = sys::hmm_mirror_device_memory {
            size: std::mem::size_of::<sys::hmm_mirror_device_memory>() as u32,
            ..Default::default()
        };
        // SAFETY: `self.raw` is valid; `dm` is a valid, size-initialised
        // struct the library fills.
        check(unsafe { sys::hmm_mirror_device_memory(self.raw.as_ptr(), &mut dm) })?;
        Ok(DeviceMemory::from(&dm))
    }

    /// Chooses the invalidation reasons reported as events (empty: stop)
    /// and the kernel queue's length in records (0: the default, 1024; at
    /// most 65536).
    ///
    /// Errors: `EINVAL` (queue too long), `EBUSY` (changing the length
    /// while records are queued), `EOPNOTSUPP`.
    pub fn configure_events(&self, reasons: Reasons, queue_len: u32) -> io::Result<()> {
        // SAFETY: `self.raw` is valid.
        check(unsafe {
            sys::hmm_mirror_events_config(self.raw.as_ptr(), reasons.bits(), queue_len)
        })
    }

    /// Takes the oldest event record, waiting up to `timeout` (`None`:
    /// forever, `Some(Duration::ZERO)`: not at all).
    ///
    /// Returns `Ok(None)` when none arrived in time.  At the end of the
    /// stream (the mirrored process exited and every record, its
    /// `Release` included, has been read) it fails with `ESRCH`.  Other
    /// errors: `EINTR` (a signal interrupted the wait), `EINVAL` (events
    /// were never configured).
    pub fn next_event(&self, timeout: Option<Duration>) -> io::Result<Option<Event>> {
        let mut rec = sys::hmm_mirror_event::new();
        // SAFETY: `self.raw` is valid; `rec` is a valid, size-initialised
        // record the library fills.
        let ret =
            unsafe { sys::hmm_mirror_event_next(self.raw.as_ptr(), &mut rec, timeout_ms(timeout)) };
        if ret == -libc::EAGAIN {
            return Ok(None);
        }
        check(ret)?;
        Ok(Some(Event::from_raw(&rec)))
    }

    /// The event records as an iterator: each `next()` waits up to
    /// `timeout` for a record.  It ends when none arrives in time or at the
    /// end of the stream ([`Events::end_of_stream`] tells which), and
    /// yields the other errors.
    ///
    /// The descriptor ([`AsFd`]) is readable exactly while records are
    /// queued, so `events(Some(Duration::ZERO))` drains them after a
    /// `poll()` or an async runtime said so.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use hmm_mirror::{Mirror, Reasons};
    ///
    /// let mirror = Mirror::open()?;
    /// mirror.configure_events(Reasons::all(), 0)?;
    /// // ... fault memory, then munmap / mprotect some of it ...
    /// for event in mirror.events(Some(Duration::from_millis(100))) {
    ///     let event = event?;
    ///     println!("{event}");
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn events(&self, timeout: Option<Duration>) -> Events<'_> {
        Events {
            mirror: self,
            timeout,
            end_of_stream: false,
            done: false,
        }
    }

    /// This mirror's counters.
    pub fn stats(&self) -> io::Result<Stats> {
        let mut c = sys::hmm_mirror_stats::new();
        // SAFETY: `self.raw` is valid; `c` is a valid, size-initialised
        // struct the library fills.
        check(unsafe { sys::hmm_mirror_stats(self.raw.as_ptr(), &mut c) })?;
        Ok(Stats::from(&c))
    }

    /// The module's counters since it was loaded (`notifiers`, `dpt_*` and
    /// `mirrors` are totals over the open mirrors).
    pub fn global_stats(&self) -> io::Result<Stats> {
        let mut c = sys::hmm_mirror_stats::new();
        // SAFETY: as in stats.
        check(unsafe { sys::hmm_mirror_stats_global(self.raw.as_ptr(), &mut c) })?;
        Ok(Stats::from(&c))
    }
}

/// The descriptor, for `poll(2)` loops and async runtimes: readable
/// (`POLLIN`) while event records are queued, `POLLHUP` after the mirrored
/// process exited.  It is non-blocking and close-on-exec and stays owned by
/// the `Mirror`: do not close it, and take records with
/// [`Mirror::next_event`] rather than reading it.
///
/// ```no_run
/// use std::os::fd::AsRawFd;
/// use std::time::Duration;
///
/// let mirror = hmm_mirror::Mirror::open()?;
/// mirror.configure_events(hmm_mirror::Reasons::all(), 0)?;
/// let mut pfd = libc::pollfd { fd: mirror.as_raw_fd(), events: libc::POLLIN, revents: 0 };
/// // SAFETY: one valid pollfd.
/// if unsafe { libc::poll(&mut pfd, 1, 1000) } > 0 {
///     for event in mirror.events(Some(Duration::ZERO)) {
///         println!("{}", event?);
///     }
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
impl AsRawFd for Mirror {
    fn as_raw_fd(&self) -> RawFd {
        self.fd
    }
}

impl AsFd for Mirror {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the descriptor is open and owned by the library handle,
        // which lives (and is not closed) as long as `self`.
        unsafe { BorrowedFd::borrow_raw(self.fd) }
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        // SAFETY: `self.raw` is the valid handle from open, closed only
        // here, once.
        unsafe { sys::hmm_mirror_close(self.raw.as_ptr()) }
    }
}
