//! Other processes through the safe API: attach (by pid and pidfd) to a
//! child and read its memory as a device, the errors of attach, the
//! child's exit (Release, end of stream, ESRCH, POLLHUP), and fork of a
//! mirrored process.  Needs /dev/hmm_mirror: run in the VM by `make test`.

mod common;

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{mirror, page_size, Mapping};
use hmm_mirror::{Access, ErrorExt, EventReason, Mirror, Reasons};

/// A child that sleeps until killed (killed and reaped on drop).
struct Sleeper(Child);

impl Sleeper {
    fn new() -> Sleeper {
        Sleeper(
            Command::new("sleep")
                .arg("600")
                .stdin(Stdio::null())
                .spawn()
                .expect("spawn sleep"),
        )
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }

    /// A readable private mapping of the child, [start, end) page aligned:
    /// the first r--p or r-xp line of /proc/PID/maps.
    fn readable_region(&self) -> (u64, u64) {
        // exec may still be running: wait for the sleep binary's mappings.
        for _ in 0..200 {
            let maps = fs::read_to_string(format!("/proc/{}/maps", self.pid())).unwrap();
            if maps.contains("sleep") {
                let line = maps
                    .lines()
                    .find(|l| l.contains(" r") && l.contains("p "))
                    .unwrap();
                let (a, b) = line
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .split_once('-')
                    .unwrap();
                return (
                    u64::from_str_radix(a, 16).unwrap(),
                    u64::from_str_radix(b, 16).unwrap(),
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the child never exec'd sleep");
    }

    /// `len` bytes at `addr` of the child, through /proc/PID/mem.
    fn peek(&self, addr: u64, len: usize) -> Vec<u8> {
        let mut f = fs::File::open(format!("/proc/{}/mem", self.pid())).unwrap();
        f.seek(SeekFrom::Start(addr)).unwrap();
        let mut buf = vec![0u8; len];
        f.read_exact(&mut buf).unwrap();
        buf
    }

    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        self.kill();
    }
}

fn pidfd_open(pid: u32) -> OwnedFd {
    // SAFETY: pidfd_open(2) takes a pid and flags; no memory is passed.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    assert!(fd >= 0, "pidfd_open: {}", std::io::Error::last_os_error());
    // SAFETY: a new descriptor nobody else owns.
    unsafe { OwnedFd::from_raw_fd(fd as i32) }
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn attach_reads_a_child_as_a_device() {
    let child = Sleeper::new();
    let (start, end) = child.readable_region();
    let len = (end - start).min(4 * page_size() as u64);
    let m = Mirror::attach(child.pid()).unwrap();
    let done = m.fault(start, len, Access::Read).unwrap();
    assert_eq!(done.pages_mapped, len / page_size() as u64);
    assert!(m.query(start, len).unwrap().iter().all(|s| s.is_valid()));
    let mut buf = vec![0u8; len as usize];
    m.read(start, &mut buf).unwrap();
    assert_eq!(
        buf,
        child.peek(start, len as usize),
        "device read == /proc/PID/mem"
    );
    // The child's memory is not ours: the same address here is something else.
    let err = m.write(start, &buf[..page_size()]).unwrap_err();
    assert_eq!(
        err.errno(),
        Some(libc::EPERM),
        "a read-only mapping of the child: {err}"
    );
    assert!(
        err.to_string().contains(&format!("on pid {}", child.pid())),
        "{err}"
    );
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn attach_by_pidfd_and_its_errors() {
    let child = Sleeper::new();
    let (start, _) = child.readable_region();
    let mut m = mirror();
    let pidfd = pidfd_open(child.pid());
    m.attach_pidfd(&pidfd).unwrap();
    assert!(pidfd.as_raw_fd() >= 0, "the pidfd stays ours");
    m.fault(start, page_size() as u64, Access::Read).unwrap();

    let err = m.attach_pid(child.pid()).unwrap_err();
    assert_eq!(
        err.errno(),
        Some(libc::EBUSY),
        "the device maps pages: {err}"
    );
    let mut fresh = mirror();
    assert_eq!(fresh.attach_pid(0).unwrap_err().errno(), Some(libc::EINVAL));
    assert_eq!(
        fresh.attach_pid(u32::MAX).unwrap_err().errno(),
        Some(libc::EINVAL)
    );
    let err = fresh.attach_pid(0x3fff_fff0).unwrap_err();
    assert_eq!(err.errno(), Some(libc::ESRCH), "{err}");
    let not_pidfd = fs::File::open("/dev/null").unwrap();
    let err = fresh.attach_pidfd(&not_pidfd).unwrap_err();
    assert_eq!(err.errno(), Some(libc::EBADF), "{err}");
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn the_childs_exit_ends_the_stream() {
    let mut child = Sleeper::new();
    let (start, _) = child.readable_region();
    let m = Mirror::attach(child.pid()).unwrap();
    m.configure_events(Reasons::all(), 0).unwrap();
    m.fault(start, 2 * page_size() as u64, Access::Read)
        .unwrap();
    child.kill();

    let mut events = m.events(Some(Duration::from_secs(10)));
    let all: Vec<_> = events.by_ref().map(|e| e.unwrap()).collect();
    assert!(
        events.end_of_stream(),
        "ended by the exit, not by timeout: {all:?}"
    );
    let release: Vec<_> = all
        .iter()
        .filter(|e| e.reason == EventReason::Release)
        .collect();
    assert_eq!(release.len(), 1, "{all:?}");
    assert_eq!(release[0].pages, 2);

    let err = m
        .fault(start, page_size() as u64, Access::Read)
        .unwrap_err();
    assert_eq!(err.errno(), Some(libc::ESRCH), "{err}");
    assert!(err.to_string().contains("exited"), "{err}");
    assert_eq!(m.next_event(None).unwrap_err().errno(), Some(libc::ESRCH));
    let s = m.stats().expect("STATS works after exit");
    assert_eq!(s.dpt_pages, 0);
    m.info().expect("HANDSHAKE works after exit");
    let mut pfd = libc::pollfd {
        fd: m.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    assert_eq!(unsafe { libc::poll(&mut pfd, 1, 0) }, 1);
    assert_ne!(pfd.revents & libc::POLLHUP, 0);
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn fork_clears_the_parents_writable_entries() {
    let m = mirror();
    m.configure_events(Reasons::all(), 0).unwrap();
    let map = Mapping::anon(8);
    map.touch(0..8, 1);
    m.fault(map.addr(), map.len(), Access::Write).unwrap();

    // SAFETY: the child only calls _exit, which is async-signal-safe.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // SAFETY: ends the child at once, without running any Rust code.
        unsafe { libc::_exit(0) };
    }
    let mut status = 0;
    // SAFETY: waits for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);

    let q = m.query(map.addr(), map.len()).unwrap();
    assert!(
        q.iter().all(|s| !s.is_writable()),
        "writable entries survived fork: {q:?}"
    );
    let ev: Vec<_> = m
        .events(Some(Duration::ZERO))
        .map(|e| e.unwrap())
        .filter(|e| e.overlaps(map.addr()..map.addr() + map.len()))
        .collect();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(
        (ev[0].reason, ev[0].range(), ev[0].pages),
        (
            EventReason::Protection,
            map.addr()..map.addr() + map.len(),
            8
        )
    );
    // The device writes again after a new fault.
    let done = m.write(map.addr(), &vec![7u8; map.len() as usize]).unwrap();
    assert!(done.device_faults >= 1);
    assert_eq!(map.get(0), 7);
}
