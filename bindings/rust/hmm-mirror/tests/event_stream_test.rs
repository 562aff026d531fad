//! Invalidation events through the safe API: records and their ranges,
//! the reason filter, the iterator's timeout, poll() on the descriptor,
//! overflow and the Lost record, a blocked reader on another thread.
//! Needs /dev/hmm_mirror: run in the VM by `make test`.

mod common;

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use common::{mirror, page_size, Mapping};
use hmm_mirror::{Access, ErrorExt, Event, EventReason, Mirror, Reasons};

const NOW: Option<Duration> = Some(Duration::ZERO);

/// Every queued record (none waited for) about `map`.
fn drain(m: &Mirror, map: &Mapping) -> Vec<Event> {
    m.events(NOW)
        .map(|e| e.unwrap())
        .filter(|e| e.is_lost() || e.overlaps(map.addr()..map.addr() + map.len()))
        .collect()
}

fn poll_in(m: &Mirror, timeout_ms: i32) -> i16 {
    let mut pfd = libc::pollfd {
        fd: m.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    assert!(n >= 0);
    pfd.revents
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn munmap_mprotect_and_madvise_give_their_reasons() {
    let m = mirror();
    m.configure_events(Reasons::all(), 0).unwrap();
    let page = page_size() as u64;
    let map = Mapping::anon(16);
    map.touch(0..16, 1);
    m.fault(map.page(4), 8 * page, Access::Write).unwrap();
    assert!(drain(&m, &map).is_empty(), "FAULT is not an invalidation");

    map.protect(4, 2, libc::PROT_READ);
    map.advise(6, 2, libc::MADV_DONTNEED);
    map.unmap(0, 16);
    let ev = drain(&m, &map);
    assert_eq!(ev.len(), 3, "{ev:?}");
    assert_eq!(
        (ev[0].reason, ev[0].range(), ev[0].pages),
        (EventReason::Protection, map.page(4)..map.page(6), 2)
    );
    assert_eq!(
        (ev[1].reason, ev[1].range(), ev[1].pages),
        (EventReason::Clear, map.page(6)..map.page(8), 2)
    );
    // The munmap covered 16 pages; the device still mapped 8..12 only
    // (PROTECTION and CLEAR removed 4..8): the record is clipped to those.
    assert_eq!(ev[2].reason, EventReason::Unmap, "{}", ev[2]);
    assert_eq!(ev[2].range(), map.page(8)..map.page(12), "{}", ev[2]);
    assert_eq!(ev[2].pages, 4);
    assert_eq!(ev[1].seq, ev[0].seq + 1);
    assert_eq!(ev[2].seq, ev[1].seq + 1);
    assert!(ev.iter().all(|e| e.flags == 0));
    assert_eq!(
        ev[2].to_string(),
        format!(
            "#{} unmap {:#x}-{:#x} (4 pages)",
            ev[2].seq, ev[2].start, ev[2].end
        )
    );
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn only_the_chosen_reasons_are_reported() {
    let m = mirror();
    m.configure_events(Reasons::UNMAP, 0).unwrap();
    let map = Mapping::anon(4);
    map.touch(0..4, 1);
    m.fault(map.addr(), map.len(), Access::Write).unwrap();
    map.protect(0, 2, libc::PROT_READ);
    assert!(drain(&m, &map).is_empty(), "PROTECTION was not chosen");
    map.unmap(0, 4);
    let ev = drain(&m, &map);
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0].reason, EventReason::Unmap);
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn iterator_and_next_event_wait_for_the_timeout() {
    let m = mirror();
    let err = m.next_event(NOW).unwrap_err();
    assert_eq!(err.errno(), Some(libc::EINVAL), "never configured: {err}");
    assert!(err.to_string().contains("never enabled"), "{err}");

    m.configure_events(Reasons::all(), 0).unwrap();
    assert_eq!(m.next_event(NOW).unwrap(), None);
    let t = Instant::now();
    let mut it = m.events(Some(Duration::from_millis(300)));
    assert!(it.next().is_none());
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    assert!(!it.end_of_stream(), "ended by timeout");
    assert!(it.next().is_none(), "fused");

    let err = m.configure_events(Reasons::all(), 70_000).unwrap_err();
    assert_eq!(err.errno(), Some(libc::EINVAL), "{err}");
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn the_descriptor_polls_readable_while_records_are_queued() {
    let m = mirror();
    m.configure_events(Reasons::all(), 0).unwrap();
    let map = Mapping::anon(2);
    map.touch(0..2, 1);
    m.fault(map.addr(), map.len(), Access::Read).unwrap();
    assert_eq!(poll_in(&m, 0), 0, "nothing queued");
    map.unmap(0, 2);
    assert_ne!(poll_in(&m, 1000) & libc::POLLIN, 0);
    assert_eq!(drain(&m, &map).len(), 1);
    assert_eq!(poll_in(&m, 0), 0, "drained");
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn overflow_is_reported_as_a_lost_record() {
    let m = mirror();
    m.configure_events(Reasons::all(), 2).unwrap();
    let map = Mapping::anon(6);
    map.touch(0..6, 1);
    m.fault(map.addr(), map.len(), Access::Write).unwrap();
    for i in 0..6 {
        map.unmap(i, 1); // one event each; the queue holds 2
    }
    let ev = drain(&m, &map);
    assert_eq!(ev.len(), 3, "2 records, then LOST: {ev:?}");
    assert_eq!(ev[0].range(), map.page(0)..map.page(1));
    assert_eq!(ev[1].range(), map.page(1)..map.page(2));
    assert!(ev[2].is_lost(), "{}", ev[2]);
    assert_eq!(ev[2].pages, 4, "4 events lost");
    assert_eq!(ev[2].seq, ev[1].seq + 1, "seq of the first lost event");
    assert_eq!(ev[2].to_string(), format!("#{} lost 4 events", ev[2].seq));
    let s = m.stats().unwrap();
    assert_eq!(s.events_lost, 4);
    assert_eq!(s.events_delivered, 3);
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn a_reader_blocked_on_another_thread_gets_the_event() {
    let m = mirror();
    m.configure_events(Reasons::UNMAP, 0).unwrap();
    let map = Mapping::anon(1);
    map.touch(0..1, 1);
    m.fault(map.addr(), map.len(), Access::Read).unwrap();
    let range = map.addr()..map.addr() + map.len();
    std::thread::scope(|s| {
        let reader = s.spawn(|| m.next_event(Some(Duration::from_secs(20))));
        std::thread::sleep(Duration::from_millis(100));
        map.unmap(0, 1);
        let ev = reader
            .join()
            .unwrap()
            .unwrap()
            .expect("an event within 20 s");
        assert_eq!((ev.reason, ev.range()), (EventReason::Unmap, range));
    });
}
