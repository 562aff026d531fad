//! STATS: counters of one mirror or of the whole module.

use hmm_mirror_sys as sys;

use crate::error::static_str;
use crate::flags::EventReason;

/// Counters of one mirror ([`Mirror::stats`](crate::Mirror::stats)) or of
/// the whole module since it was loaded
/// ([`Mirror::global_stats`](crate::Mirror::global_stats)).
///
/// New counters may be added in later versions, so the struct cannot be
/// built outside this crate.  The named fields are the counters of this
/// version; [`Stats::counters`] lists every counter the library knows,
/// later ones included.
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
    /// The struct as the library filled it, for [`Stats::counters`].
    raw: sys::hmm_mirror_stats,
}

/// One counter of [`Stats::counters`], as libhmm_mirror's table describes
/// it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Counter {
    /// The field's name in `struct hmm_mirror_stats`: `"device_faults"`.
    pub name: &'static str,
    /// What it counts, one line.
    pub meaning: &'static str,
    /// Its value, or for an array counter (`invalidations`) one value per
    /// element with the element's name (`"unmap"`, ...).
    pub values: Vec<(Option<&'static str>, u64)>,
}

impl Counter {
    /// The sum of the values.
    pub fn total(&self) -> u64 {
        self.values.iter().map(|(_, v)| v).sum()
    }
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

    /// Every counter, in the order of the library's table (that of
    /// `struct hmm_mirror_stats`), with its name and meaning: for listing
    /// them all, those added after this crate was written included.
    ///
    /// ```
    /// # use hmm_mirror::Stats;
    /// let s = Stats::default();
    /// assert!(s.counters().any(|c| c.name == "dpt_pages" && c.total() == 0));
    /// ```
    pub fn counters(&self) -> impl Iterator<Item = Counter> + '_ {
        // SAFETY: a pure function of the library's static table.
        let n = unsafe { sys::hmm_mirror_counter_count() };
        (0..n).map(move |i| {
            // SAFETY: the table's functions return static strings or NULL,
            // and read `self.raw`, a valid struct, within its size.
            unsafe {
                let len = sys::hmm_mirror_counter_len(i);
                Counter {
                    name: static_str(sys::hmm_mirror_counter_name(i)).unwrap_or("?"),
                    meaning: static_str(sys::hmm_mirror_counter_meaning(i)).unwrap_or(""),
                    values: (0..len)
                        .map(|k| {
                            (
                                static_str(sys::hmm_mirror_counter_element_name(i, k)),
                                sys::hmm_mirror_counter_value(&self.raw, i, k),
                            )
                        })
                        .collect(),
                }
            }
        })
    }
}

impl From<&sys::hmm_mirror_stats> for Stats {
    fn from(c: &sys::hmm_mirror_stats) -> Stats {
        Stats {
            global: c.flags & sys::HMM_MIRROR_STATS_GLOBAL != 0,
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
            raw: *c,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_counters() {
        let mut c = sys::hmm_mirror_stats::new();
        c.flags = sys::HMM_MIRROR_STATS_GLOBAL;
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
        let all: Vec<Counter> = s.counters().collect();
        let inval = all.iter().find(|c| c.name == "invalidations").unwrap();
        assert_eq!(inval.total(), 36);
        assert_eq!(inval.values[0], (Some("unmap"), 1));
        let pages = all.iter().find(|c| c.name == "dpt_pages").unwrap();
        assert_eq!(pages.values, vec![(None, 99)]);
        assert!(!pages.meaning.is_empty());
    }
}
