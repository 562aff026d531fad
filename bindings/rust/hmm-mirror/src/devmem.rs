//! Device memory (ABI 4): MIGRATE into the module's device-private
//! memory and back, and the pool's use.

use std::fmt;

use hmm_mirror_sys as sys;

use crate::error::lib_name;

/// Which way pages move ([`Mirror::migrate`](crate::Mirror::migrate)), or
/// moved (a MIGRATE [`Event`](crate::Event)'s
/// [`direction`](crate::Event::direction)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// Into the module's device memory.
    ToDevice,
    /// Out of it, back to system memory.
    ToSystem,
}

impl Direction {
    /// `hmm_mirror_migrate()`'s flags for this direction.
    pub(crate) const fn migrate_flags(self) -> u32 {
        match self {
            Direction::ToDevice => 0,
            Direction::ToSystem => sys::HMM_MIRROR_MIGRATE_TO_SYSTEM,
        }
    }

    /// The direction of an event's `flags`
    /// (`HMM_MIRROR_EVENT_FLAG_TO_DEVICE` / `_TO_SYSTEM`), `None` for
    /// neither.
    pub const fn from_event_flags(flags: u32) -> Option<Direction> {
        if flags & sys::HMM_MIRROR_EVENT_FLAG_TO_DEVICE != 0 {
            Some(Direction::ToDevice)
        } else if flags & sys::HMM_MIRROR_EVENT_FLAG_TO_SYSTEM != 0 {
            Some(Direction::ToSystem)
        } else {
            None
        }
    }
}

/// `to-device` or `to-system`.
impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::ToDevice => "to-device",
            Direction::ToSystem => "to-system",
        })
    }
}

/// How [`Mirror::migrate_with`](crate::Mirror::migrate_with) moves pages,
/// beyond the direction; the default is what
/// [`Mirror::migrate`](crate::Mirror::migrate) does.
///
/// ```
/// use hmm_mirror::MigrateOptions;
///
/// let opts = MigrateOptions::new().evict(true);
/// assert!(opts.evicts());
/// assert!(!MigrateOptions::default().evicts());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct MigrateOptions {
    evict: bool,
}

impl MigrateOptions {
    /// No options: a full pool moves what fits.
    pub const fn new() -> MigrateOptions {
        MigrateOptions { evict: false }
    }

    /// With `true`, a move to the device that finds the pool full first
    /// evicts the pool's oldest pages (of any mirror) back to system
    /// memory, data intact (`HMM_MIRROR_MIGRATE_EVICT`, ABI 5; needs
    /// [`Features::DEVICE_EVICT`](crate::Features::DEVICE_EVICT), else
    /// `EOPNOTSUPP`).  Not with [`Direction::ToSystem`]: `EINVAL`.
    pub const fn evict(self, evict: bool) -> MigrateOptions {
        MigrateOptions { evict }
    }

    /// Whether [`evict`](Self::evict) is set.
    pub const fn evicts(self) -> bool {
        self.evict
    }

    /// `hmm_mirror_migrate()`'s flags for these options.
    pub(crate) const fn migrate_flags(self) -> u32 {
        if self.evict {
            sys::HMM_MIRROR_MIGRATE_EVICT
        } else {
            0
        }
    }
}

/// What MIGRATE did with one page (`HMM_MIRROR_MIGRATE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MigrateOutcome {
    /// Moved by this call.
    Moved,
    /// Already where it was asked to go.
    Already,
    /// Cannot move: a file page, a pinned page, a hole, ...
    NotMovable,
    /// No free page at the target (the device pool is full).
    NoMemory,
    /// A value from a newer module.
    Unknown(u32),
}

impl MigrateOutcome {
    /// The four outcomes this version knows, in ABI order.
    pub const ALL: [MigrateOutcome; 4] = [
        MigrateOutcome::Moved,
        MigrateOutcome::Already,
        MigrateOutcome::NotMovable,
        MigrateOutcome::NoMemory,
    ];

    /// The outcome of the ABI's value.
    pub const fn from_raw(raw: u32) -> MigrateOutcome {
        match raw {
            sys::HMM_MIRROR_MIGRATE_MOVED => MigrateOutcome::Moved,
            sys::HMM_MIRROR_MIGRATE_ALREADY => MigrateOutcome::Already,
            sys::HMM_MIRROR_MIGRATE_NOT_MOVABLE => MigrateOutcome::NotMovable,
            sys::HMM_MIRROR_MIGRATE_NO_MEMORY => MigrateOutcome::NoMemory,
            n => MigrateOutcome::Unknown(n),
        }
    }

    /// The ABI's value.
    pub const fn raw(self) -> u32 {
        match self {
            MigrateOutcome::Moved => sys::HMM_MIRROR_MIGRATE_MOVED,
            MigrateOutcome::Already => sys::HMM_MIRROR_MIGRATE_ALREADY,
            MigrateOutcome::NotMovable => sys::HMM_MIRROR_MIGRATE_NOT_MOVABLE,
            MigrateOutcome::NoMemory => sys::HMM_MIRROR_MIGRATE_NO_MEMORY,
            MigrateOutcome::Unknown(n) => n,
        }
    }

    /// The library's name: `"moved"`, `"already"`, `"not_movable"`,
    /// `"no_memory"` (`"unknown"` for an unknown value).
    pub fn name(self) -> &'static str {
        lib_name!(hmm_mirror_migrate_result_name(self.raw())).unwrap_or("unknown")
    }
}

/// The library's name, or `result N` for an unknown value.
impl fmt::Display for MigrateOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MigrateOutcome::Unknown(n) => write!(f, "result {n}"),
            _ => f.write_str(self.name()),
        }
    }
}

/// The result of [`Mirror::migrate`](crate::Mirror::migrate): one
/// [`MigrateOutcome`] per page, and the module's counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct MigrateReport {
    /// Where the pages were asked to go.
    pub direction: Direction,
    /// Whether the call could evict pages to make room
    /// ([`MigrateOptions::evict`]).
    pub evict: bool,
    /// Start of the range.
    pub addr: u64,
    /// Bytes in the range.
    pub length: u64,
    /// One outcome per page of the range.
    pub results: Vec<MigrateOutcome>,
    /// Pages the call moved (the module's count).
    pub pages_moved: u64,
    /// Pages it could not move (`NotMovable` and `NoMemory`).
    pub pages_not_moved: u64,
}

impl MigrateReport {
    /// Pages with `outcome`.
    pub fn count(&self, outcome: MigrateOutcome) -> u64 {
        self.results.iter().filter(|&&r| r == outcome).count() as u64
    }

    /// Pages moved by this call.
    pub fn moved(&self) -> u64 {
        self.count(MigrateOutcome::Moved)
    }

    /// Pages already where they were asked to go.
    pub fn already(&self) -> u64 {
        self.count(MigrateOutcome::Already)
    }

    /// Pages that cannot move.
    pub fn not_movable(&self) -> u64 {
        self.count(MigrateOutcome::NotMovable)
    }

    /// Pages left for lack of memory at the target.
    pub fn no_memory(&self) -> u64 {
        self.count(MigrateOutcome::NoMemory)
    }
}

/// `migrate to-device 0x1000-0x3000: 2 moved, 0 already, 0 not_movable,
/// 0 no_memory`.
impl fmt::Display for MigrateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "migrate {} {:#x}-{:#x}:",
            self.direction,
            self.addr,
            self.addr.wrapping_add(self.length)
        )?;
        for (i, o) in MigrateOutcome::ALL.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(f, "{sep}{} {}", self.count(*o), o.name())?;
        }
        Ok(())
    }
}

/// The module's device memory and one mirror's use of it
/// ([`Mirror::device_memory`](crate::Mirror::device_memory)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct DeviceMemory {
    /// Bytes of device memory the module has, shared by every mirror.
    pub total_bytes: u64,
    /// Bytes of it holding pages now (every mirror).
    pub used_bytes: u64,
    /// Pages this mirror moved there that are there now.
    pub mirror_pages: u64,
    /// Pages this mirror's MIGRATE moved to device memory.
    pub pages_to_device: u64,
    /// Pages its MIGRATE moved back.
    pub pages_to_system: u64,
    /// Of the pages it moved there, those a CPU access moved back.
    pub pages_faulted_back: u64,
    /// Pages its MIGRATE left for lack of memory.
    pub pages_no_memory: u64,
}

impl DeviceMemory {
    /// Bytes free now.
    pub fn free_bytes(&self) -> u64 {
        self.total_bytes.saturating_sub(self.used_bytes)
    }
}

impl From<&sys::hmm_mirror_device_memory> for DeviceMemory {
    fn from(d: &sys::hmm_mirror_device_memory) -> Self {
        DeviceMemory {
            total_bytes: d.total_bytes,
            used_bytes: d.used_bytes,
            mirror_pages: d.mirror_pages,
            pages_to_device: d.pages_to_device,
            pages_to_system: d.pages_to_system,
            pages_faulted_back: d.pages_faulted_back,
            pages_no_memory: d.pages_no_memory,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip_with_the_library_names() {
        let names: Vec<_> = MigrateOutcome::ALL.iter().map(|o| o.name()).collect();
        assert_eq!(names, ["moved", "already", "not_movable", "no_memory"]);
        for o in MigrateOutcome::ALL {
            assert_eq!(MigrateOutcome::from_raw(o.raw()), o);
        }
        assert_eq!(MigrateOutcome::from_raw(9), MigrateOutcome::Unknown(9));
        assert_eq!(MigrateOutcome::Unknown(9).name(), "unknown");
        assert_eq!(MigrateOutcome::Unknown(9).to_string(), "result 9");
        assert_eq!(MigrateOutcome::NoMemory.to_string(), "no_memory");
    }

    #[test]
    fn directions() {
        assert_eq!(Direction::ToDevice.migrate_flags(), 0);
        assert_eq!(
            Direction::ToSystem.migrate_flags(),
            sys::HMM_MIRROR_MIGRATE_TO_SYSTEM
        );
        assert_eq!(
            Direction::from_event_flags(sys::HMM_MIRROR_EVENT_FLAG_TO_DEVICE),
            Some(Direction::ToDevice)
        );
        assert_eq!(
            Direction::from_event_flags(sys::HMM_MIRROR_EVENT_FLAG_TO_SYSTEM),
            Some(Direction::ToSystem)
        );
        assert_eq!(Direction::from_event_flags(0), None);
        assert_eq!(Direction::ToSystem.to_string(), "to-system");
    }

    #[test]
    fn options_give_the_flags() {
        assert_eq!(MigrateOptions::new(), MigrateOptions::default());
        assert_eq!(MigrateOptions::new().migrate_flags(), 0);
        let evict = MigrateOptions::new().evict(true);
        assert!(evict.evicts());
        assert_eq!(evict.migrate_flags(), sys::HMM_MIRROR_MIGRATE_EVICT);
        assert_eq!(
            evict.migrate_flags() | Direction::ToDevice.migrate_flags(),
            sys::HMM_MIRROR_MIGRATE_EVICT
        );
        assert!(!evict.evict(false).evicts());
    }

    #[test]
    fn report_counts_and_prints() {
        use MigrateOutcome::*;
        let r = MigrateReport {
            direction: Direction::ToDevice,
            evict: false,
            addr: 0x1000,
            length: 0x5000,
            results: vec![Moved, Moved, Already, NotMovable, NoMemory],
            pages_moved: 2,
            pages_not_moved: 2,
        };
        assert_eq!(
            (r.moved(), r.already(), r.not_movable(), r.no_memory()),
            (2, 1, 1, 1)
        );
        assert_eq!(
            r.to_string(),
            "migrate to-device 0x1000-0x6000: 2 moved, 1 already, 1 not_movable, 1 no_memory"
        );
    }

    #[test]
    fn device_memory_from_the_library_struct() {
        let d = sys::hmm_mirror_device_memory {
            total_bytes: 256 << 20,
            used_bytes: 64 << 20,
            mirror_pages: 3,
            ..Default::default()
        };
        let dm = DeviceMemory::from(&d);
        assert_eq!(dm.free_bytes(), 192 << 20);
        assert_eq!(dm.mirror_pages, 3);
    }
}
