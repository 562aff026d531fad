//! Exclusive access (ABI 5) through the safe API: Mirror::exclusive,
//! Mirror::atomic, the EXCLUSIVE page state and the Exclusive event of a
//! CPU access taking a page back.  Needs /dev/hmm_mirror: run in the VM by
//! `make test`; every test skips (passes, saying why) when the handshake
//! lacks HMM_MIRROR_FEAT_EXCLUSIVE (a kernel without
//! CONFIG_DEVICE_PRIVATE), but the one checking the refusal.

mod common;

use std::time::Duration;

use common::{mirror, Mapping};
use hmm_mirror::{AtomicOp, ErrorExt, EventReason, Features, Mirror, Reasons};

fn exclusive_mirror() -> Option<Mirror> {
    let m = mirror();
    if m.features().contains(Features::EXCLUSIVE) {
        Some(m)
    } else {
        eprintln!("skipped: the handshake lacks HMM_MIRROR_FEAT_EXCLUSIVE");
        None
    }
}

/// The 64-bit word at the start of page `i` of `map`, read by the CPU.
fn word(map: &Mapping, i: usize) -> u64 {
    // SAFETY: page `i` of the mapping is mapped readable for its lifetime;
    // a volatile read through a raw pointer, no reference is made.
    unsafe { std::ptr::read_volatile(map.page(i) as *const u64) }
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn without_the_feature_exclusive_is_eopnotsupp() {
    let m = mirror();
    if m.features().contains(Features::EXCLUSIVE) {
        eprintln!("skipped: the kernel has device-exclusive entries");
        return;
    }
    let map = Mapping::anon(1);
    map.fill(1);
    let err = m.exclusive(map.addr(), map.len()).unwrap_err();
    assert_eq!(err.errno(), Some(libc::EOPNOTSUPP), "{err}");
    let err = m.atomic(map.addr(), AtomicOp::Add(1), true).unwrap_err();
    assert_eq!(err.errno(), Some(libc::EOPNOTSUPP), "{err}");
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn atomics_through_exclusive_pages_and_the_cpu_taking_one_back() {
    let Some(m) = exclusive_mirror() else {
        return;
    };
    m.configure_events(Reasons::EXCLUSIVE, 0).unwrap();
    let map = Mapping::anon(4);
    map.advise(0, 4, libc::MADV_NOHUGEPAGE);
    map.fill(3);
    let r = m.exclusive(map.addr(), map.len()).unwrap();
    assert!(r.all_granted(), "{r}");
    assert_eq!((r.pages_granted, r.pages_refused), (4, 0));
    let q = m.query(map.addr(), map.len()).unwrap();
    assert!(q.iter().all(|s| s.is_exclusive() && s.is_writable()), "{q:?}");

    let a = map.page(2);
    m.atomic(a, AtomicOp::Exchange(40), true).unwrap();
    assert_eq!(m.atomic(a, AtomicOp::Add(2), false).unwrap(), 40);
    assert_eq!(
        m.atomic(a, AtomicOp::CompareExchange { expected: 42, new: 7 }, false)
            .unwrap(),
        42
    );
    assert_eq!(m.atomic(a, AtomicOp::And(3), false).unwrap(), 7);

    // The CPU reads page 2: the device loses it, with an Exclusive event.
    assert_eq!(word(&map, 2), 3);
    let evs: Vec<_> = m
        .events(Some(Duration::ZERO))
        .collect::<Result<_, _>>()
        .unwrap();
    let ex: Vec<_> = evs
        .iter()
        .filter(|e| e.reason == EventReason::Exclusive)
        .collect();
    assert_eq!(ex.len(), 1, "{evs:?}");
    assert_eq!((ex[0].start, ex[0].pages), (a, 1));
    let err = m.atomic(a, AtomicOp::Add(1), false).unwrap_err();
    assert_eq!(err.errno(), Some(libc::EAGAIN), "{err}");
    assert_eq!(m.atomic(a, AtomicOp::Or(8), true).unwrap(), 3);
    assert!(m.query(a, 4096).unwrap()[0].is_exclusive());
    assert_eq!(word(&map, 2), 11);
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn a_read_only_page_is_refused_with_efault() {
    let Some(m) = exclusive_mirror() else {
        return;
    };
    let map = Mapping::anon(2);
    map.fill(5);
    map.protect(0, 2, libc::PROT_READ);
    let r = m.exclusive(map.addr(), map.len()).unwrap();
    assert_eq!(r.refusals, vec![Some(libc::EFAULT); 2], "{r}");
    assert!(r.to_string().contains("EFAULT"), "{r}");
    let err = m.atomic(map.addr(), AtomicOp::Add(1), true).unwrap_err();
    assert_eq!(err.errno(), Some(libc::EFAULT), "{err}");
}
