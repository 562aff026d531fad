//! STATS: counters of one mirror or of the whole module.

use hmm_mirror_sys as sys;

use crate::flags::EventReason;

/// Counters of one mirror ([`Mirror::stats`](crate::Mirror::stats)) or of
/// the whole module since it was loaded
/// ([`Mirror::global_stats`](crate::Mirror::global_stats)).
///
/// New counters may be added in later versions, so the struct cannot be
/// built outside this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Module-wide totals (`true`) or one mirror's counters.
    pub global: bool,
    /// Device faults taken by READ and WRITE.
    pub device_faults: u64,
    /// FAULT commands plus device faults (`hmm_range_fault()` runs).
    pub fault_calls: u64,
    /// Pages entered into the device page table.
    pub pages_faulted: u64,
    /// Walk restarts after a racing invalidation.
    pub fault_retries: u64,
    /// Invalidation callbacks, indexed by the raw reason (see
    /// [`Stats::invalidations_by`]).
    pub invalidations: [u64; sys::HMM_MIRROR_EVENT_NR_REASONS as usize],
    /// Device pages removed by invalidations.
    pub pages_invalidated: u64,
    /// Event records read, LOST records included.
    pub events_delivered: u64,
    /// Events dropped because the queue was full.
    pub events_lost: u64,
    /// Interval notifiers registered now.
    pub notifiers: u64,
    /// Device page-table pages allocated now.
    pub dpt_tables: u64,
    /// 4K pages the device page table maps now.
    pub dpt_pages: u64,
    /// Open mirrors (global); 1 for one mirror.
    pub mirrors: u64,
}

impl Stats {
    /// Invalidation callbacks of one reason (0 for `Lost` and unknown
    /// reasons).
    ///
    /// ```
    /// # use hmm_mirror::{EventReason, Stats};
    /// let s = Stats::default();
    /// assert_eq!(s.invalidations_by(EventReason::Unmap), 0);
    /// ```
    pub fn invalidations_by(&self, reason: EventReason) -> u64 {
        usize::try_from(reason.raw())
            .ok()
            .and_then(|i| self.invalidations.get(i))
            .copied()
            .filter(|_| !matches!(reason, EventReason::Lost | EventReason::Unknown(_)))
            .unwrap_or(0)
    }

    /// Invalidation callbacks of every reason.
    pub fn total_invalidations(&self) -> u64 {
        self.invalidations.iter().sum()
    }
}

impl From<&sys::hmm_mirror_counters> for Stats {
    fn from(c: &sys::hmm_mirror_counters) -> Stats {
        Stats {
            global: c.global != 0,
            device_faults: c.device_faults,
            fault_calls: c.fault_calls,
            pages_faulted: c.pages_faulted,
            fault_retries: c.fault_retries,
            invalidations: c.invalidations,
            pages_invalidated: c.pages_invalidated,
            events_delivered: c.events_delivered,
            events_lost: c.events_lost,
            notifiers: c.notifiers,
            dpt_tables: c.dpt_tables,
            dpt_pages: c.dpt_pages,
            mirrors: c.mirrors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_counters() {
        let mut c = sys::hmm_mirror_counters::new();
        c.global = 1;
        c.invalidations = [1, 2, 3, 4, 5, 6, 7, 8];
        c.dpt_pages = 99;
        let s = Stats::from(&c);
        assert!(s.global);
        assert_eq!(s.dpt_pages, 99);
        assert_eq!(s.invalidations_by(EventReason::Unmap), 1);
        assert_eq!(s.invalidations_by(EventReason::Other), 8);
        assert_eq!(s.invalidations_by(EventReason::Lost), 0);
        assert_eq!(s.invalidations_by(EventReason::Unknown(3)), 0);
        assert_eq!(s.total_invalidations(), 36);
    }
}
