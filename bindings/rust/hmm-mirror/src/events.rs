//! Invalidation events.

use std::fmt;
use std::io;
use std::ops::Range;
use std::time::Duration;

use hmm_mirror_sys as sys;

use crate::devmem::Direction;
use crate::error::ErrorExt;
use crate::flags::EventReason;
use crate::Mirror;

/// One event record: device pages were invalidated, or (reason
/// [`EventReason::Lost`]) events were lost because the queue was full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Event {
    /// Why.
    pub reason: EventReason,
    /// First byte of the invalidated range, clipped to one 1 GiB chunk
    /// and to where the device mapped pages (0 for `Lost`).
    pub start: u64,
    /// End of that range, exclusive (0 for `Lost`).
    pub end: u64,
    /// Sequence number.  They run without gaps, lost events included: a
    /// `Lost` record's `seq` is that of the first lost event.
    pub seq: u64,
    /// 4K device pages the invalidation removed; for `Lost`, how many
    /// events were lost.
    pub pages: u64,
    /// `HMM_MIRROR_EVENT_FLAG_*` (ABI 4): on a `Migrate` event, which way
    /// the pages moved ([`direction`](Self::direction)); else 0.
    pub flags: u32,
}

impl Event {
    /// `start..end`.
    pub fn range(&self) -> Range<u64> {
        self.start..self.end
    }

    /// Events were lost (the queue was full); [`pages`](Self::pages) is
    /// how many.
    pub fn is_lost(&self) -> bool {
        self.reason == EventReason::Lost
    }

    /// For a `Migrate` event of ABI 4: whether the pages moved into the
    /// module's device memory or out of it; `None` for other events and
    /// for moves of system pages by the kernel (NUMA, compaction).
    pub fn direction(&self) -> Option<Direction> {
        if self.reason != EventReason::Migrate {
            return None;
        }
        Direction::from_event_flags(self.flags)
    }

    /// Whether the invalidated range overlaps `range`.
    ///
    /// ```
    /// # use hmm_mirror::{Event, EventReason};
    /// # let ev = Event::from_raw(&{ let mut r = hmm_mirror_sys::hmm_mirror_event::new();
    /// #     r.start = 0x1000; r.end = 0x3000; r });
    /// assert!(ev.overlaps(0x2000..0x5000));
    /// assert!(!ev.overlaps(0x3000..0x4000));
    /// ```
    pub fn overlaps(&self, range: Range<u64>) -> bool {
        self.start < range.end && range.start < self.end
    }

    /// The event of a library record.
    pub fn from_raw(r: &sys::hmm_mirror_event) -> Event {
        Event {
            reason: EventReason::from_raw(r.reason),
            start: r.start,
            end: r.end,
            seq: r.seq,
            pages: r.pages,
            flags: r.flags,
        }
    }
}

/// `#12 unmap 0x7f0000000000-0x7f0000008000 (8 pages)`,
/// `#14 migrate to-device 0x7f0000000000-0x7f0000008000 (8 pages)`, or
/// `#13 lost 5 events`.
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_lost() {
            write!(f, "#{} lost {} events", self.seq, self.pages)
        } else if let Some(d) = self.direction() {
            write!(
                f,
                "#{} {} {} {:#x}-{:#x} ({} pages)",
                self.seq, self.reason, d, self.start, self.end, self.pages
            )
        } else {
            write!(
                f,
                "#{} {} {:#x}-{:#x} ({} pages)",
                self.seq, self.reason, self.start, self.end, self.pages
            )
        }
    }
}

/// The library's `timeout_ms`: -1 for "forever", else milliseconds rounded
/// up (so a short non-zero timeout still waits), at most `i32::MAX`.
pub(crate) fn timeout_ms(timeout: Option<Duration>) -> i32 {
    match timeout {
        None => -1,
        Some(d) => {
            let ms = d.as_nanos().div_ceil(1_000_000);
            i32::try_from(ms).unwrap_or(i32::MAX)
        }
    }
}

/// Iterator over event records: see [`Mirror::events`].
#[derive(Debug)]
pub struct Events<'a> {
    pub(crate) mirror: &'a Mirror,
    pub(crate) timeout: Option<Duration>,
    pub(crate) end_of_stream: bool,
    pub(crate) done: bool,
}

impl Events<'_> {
    /// Whether the iterator ended because the stream ended: the mirrored
    /// address space exited and every record, its `Release` included, has
    /// been read.  `false` when it ended by timeout (or has not ended).
    pub fn end_of_stream(&self) -> bool {
        self.end_of_stream
    }
}

impl Iterator for Events<'_> {
    type Item = io::Result<Event>;

    fn next(&mut self) -> Option<io::Result<Event>> {
        if self.done {
            return None;
        }
        match self.mirror.next_event(self.timeout) {
            Ok(Some(ev)) => Some(Ok(ev)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) if e.errno() == Some(libc::ESRCH) => {
                self.done = true;
                self.end_of_stream = true;
                None
            }
            Err(e) => Some(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts() {
        assert_eq!(timeout_ms(None), -1);
        assert_eq!(timeout_ms(Some(Duration::ZERO)), 0);
        assert_eq!(timeout_ms(Some(Duration::from_nanos(1))), 1);
        assert_eq!(timeout_ms(Some(Duration::from_millis(250))), 250);
        assert_eq!(timeout_ms(Some(Duration::from_micros(1500))), 2);
        assert_eq!(timeout_ms(Some(Duration::from_secs(u64::MAX))), i32::MAX);
    }

    #[test]
    fn decode_and_print() {
        let mut r = sys::hmm_mirror_event::new();
        r.reason = sys::HMM_MIRROR_EVENT_UNMAP;
        r.start = 0x7f00_0000_0000;
        r.end = 0x7f00_0000_8000;
        r.seq = 12;
        r.pages = 8;
        let ev = Event::from_raw(&r);
        assert_eq!(ev.reason, EventReason::Unmap);
        assert_eq!(ev.range(), 0x7f00_0000_0000..0x7f00_0000_8000);
        assert!(!ev.is_lost());
        assert_eq!(
            ev.to_string(),
            "#12 unmap 0x7f0000000000-0x7f0000008000 (8 pages)"
        );
        r.reason = sys::HMM_MIRROR_EVENT_LOST;
        r.start = 0;
        r.end = 0;
        r.pages = 5;
        let lost = Event::from_raw(&r);
        assert!(lost.is_lost());
        assert_eq!(lost.to_string(), "#12 lost 5 events");
        assert!(!lost.overlaps(0..u64::MAX));
        assert_eq!(lost.direction(), None);
    }

    #[test]
    fn migrate_direction() {
        let mut r = sys::hmm_mirror_event::new();
        r.reason = sys::HMM_MIRROR_EVENT_MIGRATE;
        r.start = 0x1000;
        r.end = 0x3000;
        r.seq = 4;
        r.pages = 2;
        r.flags = sys::HMM_MIRROR_EVENT_FLAG_TO_DEVICE;
        let ev = Event::from_raw(&r);
        assert_eq!(ev.direction(), Some(Direction::ToDevice));
        assert_eq!(
            ev.to_string(),
            "#4 migrate to-device 0x1000-0x3000 (2 pages)"
        );
        r.flags = sys::HMM_MIRROR_EVENT_FLAG_TO_SYSTEM;
        assert_eq!(Event::from_raw(&r).direction(), Some(Direction::ToSystem));
        r.flags = 0;
        let ev = Event::from_raw(&r);
        assert_eq!(ev.direction(), None);
        assert_eq!(ev.to_string(), "#4 migrate 0x1000-0x3000 (2 pages)");
        r.reason = sys::HMM_MIRROR_EVENT_UNMAP;
        r.flags = sys::HMM_MIRROR_EVENT_FLAG_TO_DEVICE;
        assert_eq!(Event::from_raw(&r).direction(), None);
    }
}
