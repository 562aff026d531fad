//! The safe API against the real module: handshake, the descriptor,
//! fault / snapshot / query / read / write, errors, stats, huge pages and
//! threads.  Needs /dev/hmm_mirror: run in the VM by `make test`.

mod common;

use std::io::ErrorKind;
use std::os::fd::{AsFd, AsRawFd};

use common::{mirror, page_size, pattern, Mapping};
use hmm_mirror::{Access, Commands, ErrorExt, Features, Mirror, PageFlags, PageState};

fn hmm_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|p| p.to_str() == Some("/dev/hmm_mirror"))
        .count()
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn handshake_reports_abi_5_and_every_feature() {
    let m = mirror();
    let info = m.info().unwrap();
    assert_eq!(info.abi_version, 5);
    assert_eq!(info.addr_limit, Some(1 << 48));
    assert_eq!(info.lib_abi_version, hmm_mirror::ABI_VERSION);
    assert_eq!(1u64 << info.page_shift, page_size() as u64);
    assert_eq!(m.page_size(), page_size() as u64);
    // Every feature but DEVICE_MEMORY, EXCLUSIVE and DEVICE_EVICT, which
    // depend on the kernel (DEVICE_EVICT comes with DEVICE_MEMORY).
    let always = Features::all()
        - Features::DEVICE_MEMORY
        - Features::EXCLUSIVE
        - Features::DEVICE_EVICT;
    assert!(info.features.contains(always), "{}", info.features);
    assert_eq!(
        info.features.contains(Features::DEVICE_MEMORY),
        info.features.contains(Features::DEVICE_EVICT),
        "{}",
        info.features
    );
    assert_eq!(info.features, m.features());
    assert!(info.commands.contains(Commands::all()), "{}", info.commands);
    m.require(always).unwrap();
    let err = m.require(Features::from_bits_retain(1 << 40)).unwrap_err();
    assert_eq!(err.errno(), Some(libc::EOPNOTSUPP));
    assert!(err.to_string().contains("bit 40"), "{err}");
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn descriptor_is_cloexec_nonblocking_and_closed_on_drop() {
    let before = hmm_fds();
    let m = mirror();
    let fd = m.as_raw_fd();
    // SAFETY: fcntl on a descriptor the mirror owns; no memory involved.
    let (fdflags, flflags) = unsafe {
        (
            libc::fcntl(fd, libc::F_GETFD),
            libc::fcntl(fd, libc::F_GETFL),
        )
    };
    assert_ne!(fdflags & libc::FD_CLOEXEC, 0, "close-on-exec");
    assert_ne!(flflags & libc::O_NONBLOCK, 0, "non-blocking");
    assert_eq!(hmm_fds(), before + 1);
    drop(m);
    assert_eq!(hmm_fds(), before, "Drop closes the descriptor");
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn snapshot_sees_the_cpu_page_table_without_faulting() {
    let m = mirror();
    let map = Mapping::anon(8);
    map.touch(0..2, 1); // written: present and writable
    let _ = map.get(2 * page_size()); // read of an untouched page: zero page
    map.protect(3, 1, libc::PROT_NONE);
    let s = m.snapshot(map.addr(), map.len()).unwrap();
    assert_eq!(s.len(), 8);
    assert!(s[0].is_writable() && s[1].is_writable(), "{s:?}");
    assert!(
        s[2].is_valid() && s[2].is_zero_page() && !s[2].is_writable(),
        "{}",
        s[2]
    );
    assert!(s[3].is_error(), "{}", s[3]);
    assert!(s[4..].iter().all(|p| p.is_empty()), "{s:?}");
    // Nothing entered the device page table.
    assert!(m
        .query(map.addr(), map.len())
        .unwrap()
        .iter()
        .all(|p| p.is_empty()));
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn snapshot_runs_say_what_snapshot_says() {
    let m = mirror();
    let map = Mapping::anon(8);
    map.advise(0, 8, libc::MADV_NOHUGEPAGE);
    map.touch(0..2, 1);
    map.touch(5..6, 1);
    let runs = m.snapshot_runs(map.addr(), map.len()).unwrap();
    let pages = m.snapshot(map.addr(), map.len()).unwrap();
    assert_eq!(runs.len(), 4, "{runs:?}");
    let mut at = map.addr();
    for (i, run) in runs.iter().enumerate() {
        assert_eq!(run.addr, at, "run {i} is not contiguous: {runs:?}");
        if i > 0 {
            assert_ne!(
                runs[i - 1].state,
                run.state,
                "runs are not maximal: {runs:?}"
            );
        }
        let first = ((run.addr - map.addr()) / m.page_size()) as usize;
        let n = (run.length / m.page_size()) as usize;
        assert!(
            pages[first..first + n].iter().all(|p| *p == run.state),
            "{runs:?}"
        );
        at = run.end();
    }
    assert_eq!(at, map.addr() + map.len());
    assert!(
        runs[0].state.is_writable() && runs[1].state.is_empty(),
        "{runs:?}"
    );
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn runs_iterate_what_snapshot_runs_collects() {
    // 2500 alternating pages: the library's walk goes on after full
    // batches; the iterator stops early without asking for the rest.
    let m = mirror();
    let pages = 2500;
    let map = Mapping::anon(pages);
    map.advise(0, pages, libc::MADV_NOHUGEPAGE);
    for p in (0..pages).step_by(2) {
        map.touch(p..p + 1, 1);
    }
    let all: Vec<_> = m
        .runs(map.addr(), map.len())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(all, m.snapshot_runs(map.addr(), map.len()).unwrap());
    assert_eq!(all.len(), pages);
    let first: Vec<_> = m.runs(map.addr(), map.len()).unwrap().take(3).collect();
    assert_eq!(first.len(), 3);
    let err = m.runs(map.addr() + 1, map.len()).unwrap_err();
    assert_eq!(err.errno(), Some(libc::EINVAL), "{err}");
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn snapshot_runs_of_more_runs_than_one_batch() {
    // 3000 alternating written/untouched pages: 3000 runs, more than the
    // crate asks for in one call, returned whole and in order.
    let m = mirror();
    let pages = 3000;
    let map = Mapping::anon(pages);
    map.advise(0, pages, libc::MADV_NOHUGEPAGE);
    for p in (0..pages).step_by(2) {
        map.touch(p..p + 1, 1);
    }
    let runs = m.snapshot_runs(map.addr(), map.len()).unwrap();
    assert_eq!(runs.len(), pages);
    for (i, run) in runs.iter().enumerate() {
        assert_eq!(run.addr, map.addr() + i as u64 * m.page_size());
        assert_eq!(run.length, m.page_size());
        assert_eq!(run.state.is_writable(), i % 2 == 0, "run {i}: {run:?}");
    }
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn fault_fills_the_device_page_table() {
    let m = mirror();
    let map = Mapping::anon(16);
    map.fill(3);
    let done = m
        .fault(map.page(4), 8 * page_size() as u64, Access::Write)
        .unwrap();
    assert_eq!(done.pages_mapped, 8);
    let q = m.query(map.addr(), map.len()).unwrap();
    for (i, s) in q.iter().enumerate() {
        if (4..12).contains(&i) {
            assert_eq!(
                *s,
                PageState::new(PageFlags::VALID | PageFlags::WRITE, 0),
                "page {i}: {s}"
            );
        } else {
            assert!(s.is_empty(), "page {i}: {s}");
        }
    }
    // A read fault of untouched memory maps the zero page read-only.
    let fresh = Mapping::anon(2);
    let done = m.fault(fresh.addr(), fresh.len(), Access::Read).unwrap();
    assert_eq!(done.pages_mapped, 2);
    let q = m.query(fresh.addr(), fresh.len()).unwrap();
    assert!(q.iter().all(|s| s.is_valid() && !s.is_writable()), "{q:?}");
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn read_and_write_go_through_the_device() {
    let m = mirror();
    let map = Mapping::anon(4);
    map.fill(7);
    let mut buf = vec![0u8; map.len() as usize];
    let done = m.read(map.addr(), &mut buf).unwrap();
    assert!(
        done.device_faults >= 1,
        "the first read faults the pages in"
    );
    assert_eq!(done.bytes, map.len());
    assert_eq!(buf, map.to_vec());
    assert_eq!(
        m.read(map.addr(), &mut buf).unwrap().device_faults,
        0,
        "still mapped: no fault"
    );

    let data: Vec<u8> = (0..buf.len()).map(|i| pattern(99, i)).collect();
    assert_eq!(m.write(map.addr(), &data).unwrap().bytes, map.len());
    assert_eq!(map.to_vec(), data, "the CPU sees what the device wrote");
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn errors_carry_errno_kind_and_the_library_message() {
    let m = mirror();
    let page = page_size() as u64;
    let map = Mapping::anon(4);
    map.touch(0..4, 1);

    // Checked by the library before any system call.
    let err = m.fault(map.addr() + 1, page, Access::Read).unwrap_err();
    assert_eq!(err.errno(), Some(libc::EINVAL));
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.to_string().contains("not a multiple of the page size"),
        "{err}"
    );
    let err = m.fault(map.addr(), 0, Access::Read).unwrap_err();
    assert!(err.to_string().contains("length is 0"), "{err}");
    let mut short = [PageState::EMPTY; 2];
    let err = m.query_into(map.addr(), 4 * page, &mut short).unwrap_err();
    assert_eq!(err.errno(), Some(libc::EINVAL), "{err}");
    let mut odd = vec![0u8; 100];
    assert_eq!(
        m.read(map.addr(), &mut odd).unwrap_err().errno(),
        Some(libc::EINVAL)
    );

    // From the module.
    map.unmap(2, 2);
    let err = m.fault(map.addr(), 4 * page, Access::Read).unwrap_err();
    assert_eq!(err.errno(), Some(libc::EFAULT), "{err}");
    assert!(
        err.to_string().starts_with("hmm_mirror_fault(addr="),
        "{err}"
    );
    map.protect(0, 2, libc::PROT_READ);
    let err = m.fault(map.addr(), 2 * page, Access::Write).unwrap_err();
    assert_eq!(err.errno(), Some(libc::EPERM), "{err}");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    let err = m.write(map.addr(), &vec![0u8; page as usize]).unwrap_err();
    assert_eq!(err.errno(), Some(libc::EPERM), "{err}");
    map.protect(0, 1, libc::PROT_NONE);
    let err = m
        .read(map.addr(), &mut vec![0u8; page as usize])
        .unwrap_err();
    assert_eq!(err.errno(), Some(libc::EFAULT), "{err}");
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn stats_count_this_mirror_and_the_module() {
    let m = mirror();
    let map = Mapping::anon(8);
    map.touch(0..8, 1);
    let before = m.stats().unwrap();
    assert!(!before.global);
    assert_eq!(before.mirrors, 1);
    assert_eq!(before.dpt_pages, 0);
    m.fault(map.addr(), map.len(), Access::Write).unwrap();
    let after = m.stats().unwrap();
    assert_eq!(after.fault_calls, before.fault_calls + 1);
    assert_eq!(after.pages_faulted, before.pages_faulted + 8);
    assert_eq!(after.dpt_pages, 8);
    assert!(after.dpt_tables >= 1 && after.notifiers >= 1, "{after:?}");
    map.unmap(0, 8);
    let gone = m.stats().unwrap();
    assert_eq!(gone.dpt_pages, 0);
    assert_eq!(gone.pages_invalidated, 8);
    assert!(
        gone.invalidations_by(hmm_mirror::EventReason::Unmap) >= 1,
        "{gone:?}"
    );

    let other = mirror();
    let global = other.global_stats().unwrap();
    assert!(global.global && global.mirrors >= 2, "{global:?}");
    assert!(global.pages_faulted >= 8);
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn hugetlb_pages_are_single_huge_entries() {
    let huge = 2 << 20;
    let Some(map) = Mapping::new(
        huge,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_HUGETLB,
    ) else {
        eprintln!("skipped: no 2M huge page (VM_HUGEPAGES)");
        return;
    };
    map.touch(0..1, 5);
    let m = mirror();
    let done = m.fault(map.addr(), map.len(), Access::Write).unwrap();
    assert_eq!(done.pages_mapped, 512);
    let q = m.query(map.addr(), map.len()).unwrap();
    assert!(
        q.iter().all(|s| s.is_writable() && s.order() == 9),
        "{}",
        q[0]
    );
    assert_eq!(q[0].to_string(), "rw 2M");
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn one_mirror_shared_by_threads() {
    let m = mirror();
    let maps: Vec<Mapping> = (0..4).map(|_| Mapping::anon(32)).collect();
    std::thread::scope(|s| {
        for (t, map) in maps.iter().enumerate() {
            let m = &m;
            s.spawn(move || {
                map.fill(t as u8);
                let mut buf = vec![0u8; map.len() as usize];
                for round in 0..20 {
                    if round % 5 == 4 {
                        // Invalidate everything (CLEAR) and fault again.
                        map.advise(0, 32, libc::MADV_DONTNEED);
                        map.fill(t as u8);
                    }
                    // The kernel may invalidate the range between the fault and
                    // the checks (compaction migrating a page, say): that is an
                    // invalidation like any other, so fault again, a bounded
                    // number of times.
                    let mut tries = 0;
                    loop {
                        let done = m.fault(map.addr(), map.len(), Access::Write).unwrap();
                        let all_writable = m
                            .query(map.addr(), map.len())
                            .unwrap()
                            .iter()
                            .all(|p| p.is_writable());
                        if done.pages_mapped == 32 && all_writable {
                            break;
                        }
                        tries += 1;
                        assert!(tries < 10, "thread {t} round {round}: {done:?}");
                    }
                    m.read(map.addr(), &mut buf).unwrap();
                    assert_eq!(buf, map.to_vec(), "thread {t} round {round}");
                }
            });
        }
    });
    let s = m.stats().unwrap();
    assert!(s.pages_faulted >= 4 * 32 * 5, "{s:?}");
    assert!(s.dpt_pages <= 4 * 32, "{s:?}");
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn a_mirror_moves_to_another_thread() {
    let m = mirror();
    let map = Mapping::anon(2);
    map.touch(0..2, 1);
    let (addr, len) = (map.addr(), map.len());
    let m: Mirror = std::thread::spawn(move || {
        m.fault(addr, len, Access::Read).unwrap();
        m
    })
    .join()
    .unwrap();
    assert!(m.query(addr, len).unwrap().iter().all(|s| s.is_valid()));
    std::thread::spawn(move || drop(m)).join().unwrap();
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn a_failed_read_or_write_says_how_far_it_got() {
    let m = mirror();
    let page = page_size();
    let map = Mapping::anon(12);
    map.fill(5);
    // Pages 0-3 mapped by the device, 4-7 PROT_NONE: the READ copies 0-3.
    m.fault(map.addr(), 4 * page as u64, Access::Write).unwrap();
    map.protect(4, 4, libc::PROT_NONE);
    let mut buf = vec![0xeeu8; 12 * page];
    let err = m.read(map.addr(), &mut buf).unwrap_err();
    assert_eq!(err.errno(), Some(libc::EFAULT), "{err}");
    assert_eq!(err.bytes_copied(), Some(4 * page as u64), "{err}");
    assert!(buf[..4 * page]
        .iter()
        .enumerate()
        .all(|(i, &b)| b == pattern(5, i)));
    assert!(
        buf[4 * page..].iter().all(|&b| b == 0xee),
        "nothing after it"
    );
    let err = m.write(map.addr(), &buf).unwrap_err();
    assert_eq!(err.bytes_copied(), Some(4 * page as u64), "{err}");
    // Refused arguments: nothing copied.
    let err = m.read(map.addr() + 1, &mut buf[..page]).unwrap_err();
    assert_eq!(err.errno(), Some(libc::EINVAL));
    assert_eq!(err.bytes_copied(), Some(0));
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn ranges_past_the_address_limit_are_einval_with_the_reason() {
    let m = mirror();
    let limit = m.info().unwrap().addr_limit.expect("ABI 3 reports it");
    let page = page_size() as u64;
    let err = m.snapshot(limit - page, 2 * page).unwrap_err();
    assert_eq!(err.errno(), Some(libc::EINVAL));
    assert!(
        err.to_string().contains("address limit 0x1000000000000"),
        "{err}"
    );
    let mut buf = vec![0u8; page as usize];
    let err = m.read(limit, &mut buf).unwrap_err();
    assert_eq!(err.errno(), Some(libc::EINVAL));
    assert_eq!(err.bytes_copied(), Some(0));
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn from_fd_of_an_opened_device_and_of_a_clone() {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/hmm_mirror")
        .unwrap();
    let m = Mirror::from_fd(file.into()).unwrap();
    assert_eq!(m.info().unwrap().addr_limit, Some(1 << 48));
    let map = Mapping::anon(4);
    map.fill(3);
    let mut buf = vec![0u8; map.len() as usize];
    assert_eq!(m.read(map.addr(), &mut buf).unwrap().bytes, map.len());
    assert_eq!(buf, map.to_vec());
    // A second handle on a duplicate of the descriptor: the same mirror.
    let other = Mirror::from_fd(m.as_fd().try_clone_to_owned().unwrap()).unwrap();
    assert!(other
        .query(map.addr(), map.len())
        .unwrap()
        .iter()
        .all(|s| s.is_valid()));
    drop(other);
    assert!(m
        .query(map.addr(), map.len())
        .unwrap()
        .iter()
        .all(|s| s.is_valid()));
}
