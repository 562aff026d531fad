//! Device memory (ABI 4) through the safe API: Mirror::migrate, the
//! DEVICE page state, Mirror::device_memory and the direction of Migrate
//! events.  Needs /dev/hmm_mirror: run in the VM by `make test`; every
//! test skips (passes, saying why) when the handshake lacks
//! HMM_MIRROR_FEAT_DEVICE_MEMORY (a kernel without CONFIG_DEVICE_PRIVATE).

mod common;

use std::time::Duration;

use common::{mirror, page_size, Mapping};
use hmm_mirror::{
    Access, Direction, ErrorExt, Features, MigrateOptions, MigrateOutcome, Mirror, PageFlags,
    PageState, Reasons,
};

/// The mirror, or None (after saying why) without device memory.
fn device_memory_mirror() -> Option<Mirror> {
    let m = mirror();
    if m.features().contains(Features::DEVICE_MEMORY) {
        Some(m)
    } else {
        eprintln!("skipped: the handshake lacks HMM_MIRROR_FEAT_DEVICE_MEMORY");
        None
    }
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn without_device_memory_migrate_is_eopnotsupp() {
    let m = mirror();
    if m.features().contains(Features::DEVICE_MEMORY) {
        eprintln!("skipped: the module has device memory");
        return;
    }
    let map = Mapping::anon(1);
    map.fill(1);
    let err = m
        .migrate(map.addr(), map.len(), Direction::ToDevice)
        .unwrap_err();
    assert_eq!(err.errno(), Some(libc::EOPNOTSUPP), "{err}");
    assert_eq!(
        m.device_memory().unwrap_err().errno(),
        Some(libc::EOPNOTSUPP)
    );
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn to_device_and_back_keeps_the_data() {
    let Some(m) = device_memory_mirror() else {
        return;
    };
    let map = Mapping::anon(8);
    map.fill(41);
    let before = map.to_vec();
    let r = m
        .migrate(map.addr(), map.len(), Direction::ToDevice)
        .unwrap();
    assert_eq!(r.results, vec![MigrateOutcome::Moved; 8]);
    assert_eq!((r.moved(), r.pages_moved, r.pages_not_moved), (8, 8, 0));
    assert!(r.to_string().starts_with("migrate to-device "), "{r}");
    let dev = PageState::new(PageFlags::VALID | PageFlags::WRITE | PageFlags::DEVICE, 0);
    assert_eq!(m.snapshot(map.addr(), map.len()).unwrap(), vec![dev; 8]);
    assert_eq!(m.query(map.addr(), map.len()).unwrap(), vec![dev; 8]);
    assert_eq!(dev.to_string(), "rw device");

    let dm = m.device_memory().unwrap();
    assert!(dm.total_bytes > 0 && dm.used_bytes >= map.len(), "{dm:?}");
    assert_eq!((dm.mirror_pages, dm.pages_to_device), (8, 8));

    // The device reads its own pages: the data, and nothing comes back.
    let mut buf = vec![0u8; map.len() as usize];
    m.read(map.addr(), &mut buf).unwrap();
    assert_eq!(buf, before);
    assert!(m
        .snapshot(map.addr(), map.len())
        .unwrap()
        .iter()
        .all(|s| s.is_device()));

    let again = m
        .migrate(map.addr(), map.len(), Direction::ToDevice)
        .unwrap();
    assert_eq!(again.already(), 8);
    let back = m
        .migrate(map.addr(), map.len(), Direction::ToSystem)
        .unwrap();
    assert_eq!((back.moved(), back.direction), (8, Direction::ToSystem));
    assert!(m
        .snapshot(map.addr(), map.len())
        .unwrap()
        .iter()
        .all(|s| s.is_valid() && !s.is_device()));
    assert_eq!(map.to_vec(), before);
    assert_eq!(m.device_memory().unwrap().pages_to_system, 8);
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn events_say_the_direction_and_a_cpu_access_brings_a_page_back() {
    let Some(m) = device_memory_mirror() else {
        return;
    };
    m.configure_events(Reasons::MIGRATE, 0).unwrap();
    let map = Mapping::anon(4);
    map.fill(43);
    m.fault(map.addr(), map.len(), Access::Write).unwrap();
    m.migrate(map.addr(), map.len(), Direction::ToDevice)
        .unwrap();
    let evs: Vec<_> = m
        .events(Some(Duration::ZERO))
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        evs.iter()
            .any(|e| e.direction() == Some(Direction::ToDevice)),
        "{evs:?}"
    );

    // One CPU access to page 2.
    map.touch(2..3, 0x77);
    let evs: Vec<_> = m
        .events(Some(Duration::ZERO))
        .collect::<Result<_, _>>()
        .unwrap();
    let back: Vec<_> = evs
        .iter()
        .filter(|e| e.direction() == Some(Direction::ToSystem))
        .collect();
    assert_eq!(back.len(), 1, "{evs:?}");
    assert_eq!(back[0].range(), map.page(2)..map.page(3));
    assert!(
        back[0].to_string().contains("migrate to-system"),
        "{}",
        back[0]
    );
    let st = m.snapshot(map.addr(), map.len()).unwrap();
    for (i, s) in st.iter().enumerate() {
        assert_eq!(s.is_device(), i != 2, "page {i}: {s}");
    }
    assert_eq!(map.get(2 * page_size()), 0x77);
    assert_eq!(m.device_memory().unwrap().pages_faulted_back, 1);
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn a_hole_is_not_movable() {
    let Some(m) = device_memory_mirror() else {
        return;
    };
    let map = Mapping::anon(3);
    map.fill(44);
    map.unmap(1, 1);
    let r = m
        .migrate(map.addr(), map.len(), Direction::ToDevice)
        .unwrap();
    assert_eq!(
        r.results,
        [
            MigrateOutcome::Moved,
            MigrateOutcome::NotMovable,
            MigrateOutcome::Moved
        ]
    );
    assert_eq!((r.not_movable(), r.pages_not_moved), (1, 1));
    m.migrate(map.page(0), page_size() as u64, Direction::ToSystem)
        .unwrap();
    m.migrate(map.page(2), page_size() as u64, Direction::ToSystem)
        .unwrap();
}

/// ABI 5: the evict option passes through; with room in the pool it
/// changes nothing (the conformance suite fills the pool), and
/// `pages_evicted` is one of the counters.
#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn evict_option_moves_and_is_counted() {
    let m = mirror();
    let evict = MigrateOptions::new().evict(true);
    let map = Mapping::anon(4);
    map.fill(43);
    if !m.features().contains(Features::DEVICE_EVICT) {
        assert!(!m.features().contains(Features::DEVICE_MEMORY));
        eprintln!("skipped: the handshake lacks HMM_MIRROR_FEAT_DEVICE_EVICT");
        let err = m
            .migrate_with(map.addr(), map.len(), Direction::ToDevice, evict)
            .unwrap_err();
        assert_eq!(err.errno(), Some(libc::EOPNOTSUPP), "{err}");
        return;
    }
    assert!(m.features().contains(Features::DEVICE_MEMORY));
    let before = map.to_vec();
    let r = m
        .migrate_with(map.addr(), map.len(), Direction::ToDevice, evict)
        .unwrap();
    assert!(r.evict);
    assert_eq!(r.results, vec![MigrateOutcome::Moved; 4]);
    let evicted = |s: &hmm_mirror::Stats| {
        s.counters()
            .find(|c| c.name == "pages_evicted")
            .map(|c| c.total())
    };
    assert_eq!(evicted(&m.stats().unwrap()), Some(0));
    assert!(evicted(&m.global_stats().unwrap()).is_some());
    // Eviction makes room in device memory: not with a move back.
    let err = m
        .migrate_with(map.addr(), map.len(), Direction::ToSystem, evict)
        .unwrap_err();
    assert_eq!(err.errno(), Some(libc::EINVAL), "{err}");
    assert_eq!(map.to_vec(), before);
}
