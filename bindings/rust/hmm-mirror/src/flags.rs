//! Typed flags, page states and event reasons.  The bit values are those
//! of the ABI (`hmm_mirror_sys`); names come from libhmm_mirror so that
//! every tool prints them alike.

use std::fmt;

use bitflags::bitflags;
use hmm_mirror_sys as sys;

use crate::error::lib_name;

bitflags! {
    /// What the module supports (`HMM_MIRROR_FEAT_*`), from the handshake.
    ///
    /// Bits a newer module reports and this crate does not know are kept
    /// (see [`Features::bits`]).
    ///
    /// ```
    /// use hmm_mirror::Features;
    ///
    /// let f = Features::FAULT | Features::EVENTS;
    /// assert!(f.contains(Features::EVENTS));
    /// assert_eq!(f.to_string(), "fault,events");
    /// assert_eq!(Features::ATTACH.name(), Some("attach"));
    /// ```
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub struct Features: u64 {
        /// `FAULT`
        const FAULT = sys::HMM_MIRROR_FEAT_FAULT;
        /// `SNAPSHOT`
        const SNAPSHOT = sys::HMM_MIRROR_FEAT_SNAPSHOT;
        /// `READ` and `WRITE`
        const DEVICE_RW = sys::HMM_MIRROR_FEAT_DEVICE_RW;
        /// `QUERY`
        const QUERY = sys::HMM_MIRROR_FEAT_QUERY;
        /// 2M and 1G CPU mappings become single device entries
        const HUGE_ENTRIES = sys::HMM_MIRROR_FEAT_HUGE_ENTRIES;
        /// `ATTACH` to another process
        const ATTACH = sys::HMM_MIRROR_FEAT_ATTACH;
        /// invalidation events
        const EVENTS = sys::HMM_MIRROR_FEAT_EVENTS;
        /// notifiers per 1 GiB chunk, only where the device maps
        const LAZY_NOTIFIERS = sys::HMM_MIRROR_FEAT_LAZY_NOTIFIERS;
        /// file-backed mappings
        const FILE_BACKED = sys::HMM_MIRROR_FEAT_FILE_BACKED;
        /// inherited-fd semantics across fork
        const FORK = sys::HMM_MIRROR_FEAT_FORK;
        /// `RELEASE` event and `ESRCH` after the process exits
        const EXIT = sys::HMM_MIRROR_FEAT_EXIT;
        /// `STATS`
        const STATS = sys::HMM_MIRROR_FEAT_STATS;
        /// `SNAPSHOT` as runs of pages with one state (ABI 2)
        const SNAPSHOT_RUNS = sys::HMM_MIRROR_FEAT_SNAPSHOT_RUNS;
        /// `READ` and `WRITE` report the bytes copied, also when they
        /// fail part way (ABI 3)
        const RW_COPIED = sys::HMM_MIRROR_FEAT_RW_COPIED;
        /// the handshake reports the device's address limit (ABI 3)
        const ADDR_LIMIT = sys::HMM_MIRROR_FEAT_ADDR_LIMIT;
        /// device-private memory and `MIGRATE` (ABI 4; needs a kernel
        /// with `CONFIG_DEVICE_PRIVATE` and `device_memory_mb` > 0)
        const DEVICE_MEMORY = sys::HMM_MIRROR_FEAT_DEVICE_MEMORY;
        /// exclusive device access, `EXCLUSIVE` and `ATOMIC` (ABI 5;
        /// needs a kernel with `CONFIG_DEVICE_PRIVATE`)
        const EXCLUSIVE = sys::HMM_MIRROR_FEAT_EXCLUSIVE;
        /// `migrate` can evict the pool's oldest pages to make room
        /// ([`MigrateOptions::evict`](crate::MigrateOptions::evict); ABI 5,
        /// only with `DEVICE_MEMORY`)
        const DEVICE_EVICT = sys::HMM_MIRROR_FEAT_DEVICE_EVICT;
    }
}

impl Features {
    /// The library's name of a single feature bit (`"fault"`,
    /// `"device_rw"`, ...); `None` unless exactly one known bit is set.
    pub fn name(self) -> Option<&'static str> {
        lib_name!(hmm_mirror_feature_name(self.bits()))
    }
}

/// Comma-separated library names; unknown bits as `bit N`.
impl fmt::Display for Features {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for bit in 0..64 {
            let one = Features::from_bits_retain(1 << bit);
            if !self.contains(one) {
                continue;
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            match one.name() {
                Some(name) => f.write_str(name)?,
                None => write!(f, "bit {bit}")?,
            }
        }
        Ok(())
    }
}

bitflags! {
    /// The commands the module has (`ioctls` of the handshake: bit *n* for
    /// command number *n*).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub struct Commands: u64 {
        /// `HANDSHAKE`
        const HANDSHAKE = 1 << sys::HMM_MIRROR_NR_HANDSHAKE;
        /// `FAULT`
        const FAULT = 1 << sys::HMM_MIRROR_NR_FAULT;
        /// `SNAPSHOT`
        const SNAPSHOT = 1 << sys::HMM_MIRROR_NR_SNAPSHOT;
        /// `READ`
        const READ = 1 << sys::HMM_MIRROR_NR_READ;
        /// `WRITE`
        const WRITE = 1 << sys::HMM_MIRROR_NR_WRITE;
        /// `QUERY`
        const QUERY = 1 << sys::HMM_MIRROR_NR_QUERY;
        /// `ATTACH`
        const ATTACH = 1 << sys::HMM_MIRROR_NR_ATTACH;
        /// `EVENTS`
        const EVENTS = 1 << sys::HMM_MIRROR_NR_EVENTS;
        /// `STATS`
        const STATS = 1 << sys::HMM_MIRROR_NR_STATS;
        /// `MIGRATE` (ABI 4; listed by every module of that version, also
        /// without [`Features::DEVICE_MEMORY`], where it is `EOPNOTSUPP`)
        const MIGRATE = 1 << sys::HMM_MIRROR_NR_MIGRATE;
        /// `EXCLUSIVE` (ABI 5; listed also without
        /// [`Features::EXCLUSIVE`], where it is `EOPNOTSUPP`)
        const EXCLUSIVE = 1 << sys::HMM_MIRROR_NR_EXCLUSIVE;
        /// `ATOMIC` (ABI 5; as `EXCLUSIVE`)
        const ATOMIC = 1 << sys::HMM_MIRROR_NR_ATOMIC;
    }
}

/// Comma-separated command names (`HANDSHAKE,FAULT,...`).
impl fmt::Display for Commands {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for nr in 0..64u32 {
            if self.bits() & (1 << nr) == 0 {
                continue;
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            match lib_name!(hmm_mirror_command_name(nr)) {
                Some(name) => f.write_str(name)?,
                None => write!(f, "command {nr}")?,
            }
        }
        Ok(())
    }
}

/// How [`Mirror::fault`](crate::Mirror::fault) maps the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Access {
    /// Fault for read: pages become readable device entries (a write
    /// fault may still come later).
    #[default]
    Read,
    /// Fault for write (`HMM_MIRROR_FAULT_WRITE`): copy-on-write is broken
    /// and the device entries are writable.
    Write,
}

impl Access {
    pub(crate) fn flags(self) -> u32 {
        match self {
            Access::Read => 0,
            Access::Write => sys::HMM_MIRROR_FAULT_WRITE,
        }
    }
}

bitflags! {
    /// The flag bits of a [`PageState`] (`HMM_MIRROR_PAGE_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub struct PageFlags: u32 {
        /// A page is present.
        const VALID = sys::HMM_MIRROR_PAGE_VALID;
        /// ... and writable without a fault.
        const WRITE = sys::HMM_MIRROR_PAGE_WRITE;
        /// Cannot be mirrored: `PROT_NONE` or a special mapping (SNAPSHOT
        /// only).
        const ERROR = sys::HMM_MIRROR_PAGE_ERROR;
        /// ... and it is the shared zero page.
        const ZERO = sys::HMM_MIRROR_PAGE_ZERO;
        /// The page is in the module's device-private memory (ABI 4,
        /// after [`Mirror::migrate`](crate::Mirror::migrate)).
        const DEVICE = sys::HMM_MIRROR_PAGE_DEVICE;
        /// The device holds the page exclusively (ABI 5, QUERY only, after
        /// [`Mirror::exclusive`](crate::Mirror::exclusive)).
        const EXCLUSIVE = sys::HMM_MIRROR_PAGE_EXCLUSIVE;
    }
}

/// What one page holds, in the CPU page table
/// ([`Mirror::snapshot`](crate::Mirror::snapshot)) or in the device page
/// table ([`Mirror::query`](crate::Mirror::query)): [`PageFlags`] and the
/// order of the mapping that holds the page.
///
/// It has the layout of the ABI's `__u32` (`repr(transparent)`), so the
/// module writes a `&mut [PageState]` directly.
///
/// ```
/// use hmm_mirror::{PageFlags, PageState};
///
/// let s = PageState::new(PageFlags::VALID | PageFlags::WRITE, 9);
/// assert!(s.is_valid() && s.is_writable() && !s.is_zero_page());
/// assert_eq!(s.order(), 9);
/// assert_eq!(s.pages(), 512);
/// assert_eq!(s.to_string(), "rw 2M");
/// assert_eq!(PageState::EMPTY.to_string(), "-");
/// assert_eq!(PageState::from_bits(0x0903).order(), 9);
/// ```
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PageState(u32);

impl PageState {
    /// Nothing mapped (`0`).
    pub const EMPTY: PageState = PageState(0);

    /// A state from its flags and order (0 for 4K, 9 for 2M, 18 for 1G).
    pub const fn new(flags: PageFlags, order: u8) -> PageState {
        PageState(flags.bits() | (order as u32) << sys::HMM_MIRROR_PAGE_ORDER_SHIFT)
    }

    /// The state as the ABI encodes it.
    pub const fn from_bits(bits: u32) -> PageState {
        PageState(bits)
    }

    /// The raw `__u32`.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// The known flag bits (unknown ones are dropped; see [`bits`](Self::bits)).
    pub const fn flags(self) -> PageFlags {
        PageFlags::from_bits_truncate(self.0)
    }

    /// `HMM_MIRROR_PAGE_ORDER()`: log2 of the mapping size in base pages.
    pub const fn order(self) -> u32 {
        sys::hmm_mirror_page_order(self.0)
    }

    /// Base pages in the mapping that holds this page (`1 << order`).
    pub const fn pages(self) -> u64 {
        1 << self.order()
    }

    /// Nothing is mapped.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// A page is present (`VALID`).
    pub const fn is_valid(self) -> bool {
        self.flags().contains(PageFlags::VALID)
    }

    /// Present and writable without a fault (`VALID | WRITE`).
    pub const fn is_writable(self) -> bool {
        self.flags()
            .contains(PageFlags::VALID.union(PageFlags::WRITE))
    }

    /// The shared zero page (`ZERO`).
    pub const fn is_zero_page(self) -> bool {
        self.flags().contains(PageFlags::ZERO)
    }

    /// Cannot be mirrored (`ERROR`).
    pub const fn is_error(self) -> bool {
        self.flags().contains(PageFlags::ERROR)
    }

    /// In the module's device memory (`DEVICE`, ABI 4).
    pub const fn is_device(self) -> bool {
        self.flags().contains(PageFlags::DEVICE)
    }

    /// Held exclusively by the device (`EXCLUSIVE`, ABI 5).
    pub const fn is_exclusive(self) -> bool {
        self.flags().contains(PageFlags::EXCLUSIVE)
    }
}

impl fmt::Debug for PageState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PageState")
            .field("flags", &self.flags())
            .field("order", &self.order())
            .finish()
    }
}

/// Compact: `-` (nothing), `r`, `rw`, `r zero`, `rw device`, `error`, with ` 2M`,
/// ` 1G` or ` order N` for a huge mapping.
impl fmt::Display for PageState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("-");
        }
        let mut parts: Vec<&str> = Vec::new();
        if self.is_error() {
            parts.push("error");
        }
        if self.is_writable() {
            parts.push("rw");
        } else if self.is_valid() {
            parts.push("r");
        }
        if self.is_zero_page() {
            parts.push("zero");
        }
        if self.is_device() {
            parts.push("device");
        }
        let order;
        match self.order() {
            0 => {}
            9 => parts.push("2M"),
            18 => parts.push("1G"),
            n => {
                order = format!("order {n}");
                parts.push(&order);
            }
        }
        if parts.is_empty() {
            return write!(f, "{:#x}", self.0);
        }
        f.write_str(&parts.join(" "))
    }
}

impl From<PageState> for u32 {
    fn from(s: PageState) -> u32 {
        s.0
    }
}

/// Why device pages were invalidated: the reason of an
/// [`Event`](crate::Event) (`HMM_MIRROR_EVENT_*`).
///
/// ```
/// use hmm_mirror::{EventReason, Reasons};
///
/// let r = EventReason::from_raw(2);
/// assert_eq!(r, EventReason::Protection);
/// assert_eq!(r.name(), "protection");
/// assert_eq!(Reasons::from(r), Reasons::PROTECTION);
/// assert_eq!(EventReason::from_raw(99), EventReason::Unknown(99));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventReason {
    /// `munmap`, `mremap`
    Unmap,
    /// `madvise`, truncate, zap
    Clear,
    /// `mprotect`, fork copy-on-write
    Protection,
    /// page migration
    Migrate,
    /// the mirrored address space exited
    Release,
    /// soft-dirty clearing
    SoftDirty,
    /// exclusive device access
    Exclusive,
    /// any other kernel reason
    Other,
    /// Not an invalidation: [`Event::pages`](crate::Event::pages) events
    /// were lost because the queue was full.
    Lost,
    /// A reason this crate does not know (a newer module).
    Unknown(u32),
}

impl EventReason {
    /// Every invalidation reason (not [`Lost`](Self::Lost)), in ABI order:
    /// the index is the raw value.
    pub const ALL: [EventReason; sys::HMM_MIRROR_EVENT_NR_REASONS as usize] = [
        EventReason::Unmap,
        EventReason::Clear,
        EventReason::Protection,
        EventReason::Migrate,
        EventReason::Release,
        EventReason::SoftDirty,
        EventReason::Exclusive,
        EventReason::Other,
    ];

    /// The reason of a raw `HMM_MIRROR_EVENT_*` value.
    pub const fn from_raw(raw: u32) -> EventReason {
        match raw {
            sys::HMM_MIRROR_EVENT_UNMAP => EventReason::Unmap,
            sys::HMM_MIRROR_EVENT_CLEAR => EventReason::Clear,
            sys::HMM_MIRROR_EVENT_PROTECTION => EventReason::Protection,
            sys::HMM_MIRROR_EVENT_MIGRATE => EventReason::Migrate,
            sys::HMM_MIRROR_EVENT_RELEASE => EventReason::Release,
            sys::HMM_MIRROR_EVENT_SOFT_DIRTY => EventReason::SoftDirty,
            sys::HMM_MIRROR_EVENT_EXCLUSIVE => EventReason::Exclusive,
            sys::HMM_MIRROR_EVENT_OTHER => EventReason::Other,
            sys::HMM_MIRROR_EVENT_LOST => EventReason::Lost,
            n => EventReason::Unknown(n),
        }
    }

    /// The raw `HMM_MIRROR_EVENT_*` value.
    pub const fn raw(self) -> u32 {
        match self {
            EventReason::Unmap => sys::HMM_MIRROR_EVENT_UNMAP,
            EventReason::Clear => sys::HMM_MIRROR_EVENT_CLEAR,
            EventReason::Protection => sys::HMM_MIRROR_EVENT_PROTECTION,
            EventReason::Migrate => sys::HMM_MIRROR_EVENT_MIGRATE,
            EventReason::Release => sys::HMM_MIRROR_EVENT_RELEASE,
            EventReason::SoftDirty => sys::HMM_MIRROR_EVENT_SOFT_DIRTY,
            EventReason::Exclusive => sys::HMM_MIRROR_EVENT_EXCLUSIVE,
            EventReason::Other => sys::HMM_MIRROR_EVENT_OTHER,
            EventReason::Lost => sys::HMM_MIRROR_EVENT_LOST,
            EventReason::Unknown(n) => n,
        }
    }

    /// The library's name: `"unmap"`, `"clear"`, `"protection"`,
    /// `"migrate"`, `"release"`, `"soft-dirty"`, `"exclusive"`, `"other"`,
    /// `"lost"`, or `"unknown"`.
    pub fn name(self) -> &'static str {
        lib_name!(hmm_mirror_event_reason_name(self.raw())).unwrap_or("unknown")
    }
}

impl fmt::Display for EventReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventReason::Unknown(n) => write!(f, "reason {n}"),
            r => f.write_str(r.name()),
        }
    }
}

bitflags! {
    /// A set of invalidation reasons to receive as events
    /// ([`Mirror::configure_events`](crate::Mirror::configure_events)):
    /// bit `1 << HMM_MIRROR_EVENT_*` per reason.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub struct Reasons: u32 {
        /// [`EventReason::Unmap`]
        const UNMAP = 1 << sys::HMM_MIRROR_EVENT_UNMAP;
        /// [`EventReason::Clear`]
        const CLEAR = 1 << sys::HMM_MIRROR_EVENT_CLEAR;
        /// [`EventReason::Protection`]
        const PROTECTION = 1 << sys::HMM_MIRROR_EVENT_PROTECTION;
        /// [`EventReason::Migrate`]
        const MIGRATE = 1 << sys::HMM_MIRROR_EVENT_MIGRATE;
        /// [`EventReason::Release`]
        const RELEASE = 1 << sys::HMM_MIRROR_EVENT_RELEASE;
        /// [`EventReason::SoftDirty`]
        const SOFT_DIRTY = 1 << sys::HMM_MIRROR_EVENT_SOFT_DIRTY;
        /// [`EventReason::Exclusive`]
        const EXCLUSIVE = 1 << sys::HMM_MIRROR_EVENT_EXCLUSIVE;
        /// [`EventReason::Other`]
        const OTHER = 1 << sys::HMM_MIRROR_EVENT_OTHER;
    }
}

/// The bit of one reason; empty for [`EventReason::Lost`] and unknown
/// reasons (they cannot be chosen).
impl From<EventReason> for Reasons {
    fn from(r: EventReason) -> Reasons {
        match r {
            EventReason::Lost | EventReason::Unknown(_) => Reasons::empty(),
            r => Reasons::from_bits_truncate(1 << r.raw()),
        }
    }
}

/// One run of [`Mirror::runs`](crate::Mirror::runs) and
/// [`Mirror::snapshot_runs`](crate::Mirror::snapshot_runs):
/// `length` bytes from `addr` whose pages all have `state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageRun {
    /// First byte of the run (page aligned).
    pub addr: u64,
    /// Bytes in the run (whole pages, never 0).
    pub length: u64,
    /// The state of every page of the run.
    pub state: PageState,
}

impl PageRun {
    /// One past the last byte of the run.
    pub const fn end(&self) -> u64 {
        self.addr + self.length
    }
}

impl From<&sys::hmm_mirror_run> for PageRun {
    fn from(r: &sys::hmm_mirror_run) -> Self {
        PageRun {
            addr: r.addr,
            length: r.length,
            state: PageState::from_bits(r.state),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_match_the_abi_and_the_library_names() {
        let names = [
            "fault",
            "snapshot",
            "device_rw",
            "query",
            "huge_entries",
            "attach",
            "events",
            "lazy_notifiers",
            "file_backed",
            "fork",
            "exit",
            "stats",
            "snapshot_runs",
            "rw_copied",
            "addr_limit",
            "device_memory",
            "exclusive",
            "device_evict",
        ];
        assert_eq!(Features::all().iter().count(), 18);
        for (bit, flag) in Features::all().iter().enumerate() {
            assert_eq!(flag.bits(), 1 << bit);
            assert_eq!(flag.name(), Some(names[bit]));
        }
        assert_eq!(Features::empty().name(), None);
        assert_eq!((Features::FAULT | Features::QUERY).name(), None);
        assert_eq!(Features::all().to_string(), names.join(","));
        let future = Features::from_bits_retain(1 << 40) | Features::STATS;
        assert_eq!(future.to_string(), "stats,bit 40");
        assert_eq!(future.bits(), 1 << 40 | 1 << 11);
    }

    #[test]
    fn commands() {
        assert_eq!(
            Commands::all().iter().count(),
            sys::HMM_MIRROR_NR_COMMANDS as usize
        );
        assert_eq!((Commands::HANDSHAKE | Commands::STATS).bits(), 0x101);
        assert_eq!(Commands::MIGRATE.bits(), 1 << 9);
        assert_eq!(Commands::all().bits(), 0xfff, "a bit for every command");
        assert_eq!(
            (Commands::STATS | Commands::MIGRATE).to_string(),
            "STATS,MIGRATE"
        );
        assert_eq!(
            (Commands::MIGRATE | Commands::EXCLUSIVE | Commands::ATOMIC).to_string(),
            "MIGRATE,EXCLUSIVE,ATOMIC"
        );
        assert_eq!(
            (Commands::FAULT | Commands::QUERY).to_string(),
            "FAULT,QUERY"
        );
        assert_eq!(
            Commands::from_bits_retain(1 << 20).to_string(),
            "command 20"
        );
    }

    #[test]
    fn access_flags() {
        assert_eq!(Access::Read.flags(), 0);
        assert_eq!(Access::Write.flags(), sys::HMM_MIRROR_FAULT_WRITE);
        assert_eq!(Access::default(), Access::Read);
    }

    #[test]
    fn page_state_decoding() {
        let s = PageState::from_bits(sys::HMM_MIRROR_PAGE_VALID | 18 << 8);
        assert!(s.is_valid() && !s.is_writable() && !s.is_error());
        assert_eq!((s.order(), s.pages()), (18, 1 << 18));
        assert_eq!(s.to_string(), "r 1G");
        let z = PageState::new(PageFlags::VALID | PageFlags::ZERO, 0);
        assert_eq!(z.to_string(), "r zero");
        assert_eq!(z.bits(), 9);
        assert_eq!(PageState::new(PageFlags::ERROR, 0).to_string(), "error");
        let d = PageState::new(PageFlags::VALID | PageFlags::WRITE | PageFlags::DEVICE, 0);
        assert!(d.is_device() && d.is_writable() && !z.is_device());
        assert_eq!(d.bits(), 0x13);
        assert_eq!(d.to_string(), "rw device");
        assert_eq!(PageState::new(PageFlags::VALID, 3).to_string(), "r order 3");
        // WRITE without VALID never comes from the module, but decodes.
        let w = PageState::from_bits(sys::HMM_MIRROR_PAGE_WRITE);
        assert!(!w.is_writable() && !w.is_empty());
        assert_eq!(w.to_string(), "0x2");
        // Unknown flag bits are kept in bits() and dropped by flags().
        let u = PageState::from_bits(0x1 | 0x40);
        assert_eq!(u.flags(), PageFlags::VALID);
        assert_eq!(u32::from(u), 0x41);
        assert_eq!(
            format!("{:?}", PageState::EMPTY),
            "PageState { flags: PageFlags(0x0), order: 0 }"
        );
        assert_eq!(std::mem::size_of::<PageState>(), 4);
    }

    #[test]
    fn reasons_round_trip() {
        for (i, r) in EventReason::ALL.iter().enumerate() {
            assert_eq!(r.raw() as usize, i);
            assert_eq!(EventReason::from_raw(r.raw()), *r);
            assert_eq!(Reasons::from(*r).bits(), 1 << i);
        }
        assert_eq!(Reasons::all().bits(), sys::HMM_MIRROR_EVENT_ALL_REASONS);
        assert_eq!(EventReason::from_raw(8), EventReason::Lost);
        assert_eq!(Reasons::from(EventReason::Lost), Reasons::empty());
        let names: Vec<_> = EventReason::ALL.iter().map(|r| r.name()).collect();
        assert_eq!(
            names,
            [
                "unmap",
                "clear",
                "protection",
                "migrate",
                "release",
                "soft-dirty",
                "exclusive",
                "other"
            ]
        );
        assert_eq!(EventReason::Lost.to_string(), "lost");
        assert_eq!(EventReason::Unknown(42).name(), "unknown");
        assert_eq!(EventReason::Unknown(42).to_string(), "reason 42");
    }
}
