//! A prototype device in ~200 lines: it keeps its own page table (a
//! `BTreeMap` of page address → state) in sync with the process's
//! address space from invalidation events alone, and after each of a
//! series of munmap / mprotect / madvise / fork / mremap operations on
//! its own memory checks that table against what the module's device page
//! table holds (QUERY).
//!
//! When the module has device memory (ABI 4), it then moves a hot buffer
//! into the device's memory (MIGRATE), reads it there through the device,
//! lets the CPU write two of its pages and shows those pages come back to
//! system memory (MIGRATE events, to-system) with the data intact.  Without
//! the feature that part is skipped, with a message.
//!
//! It prints one line per step and exits 1 when the tables disagree (or
//! an event's page count does not match the entries it removed, or the
//! device-memory steps find the data or the page states wrong), 2 on an
//! error.  `--ignore-events` makes it a broken device that drops every
//! event, to show (and test) that the check catches it.
//!
//! Needs /dev/hmm_mirror: `make rust-example` runs it in the VM.
//!
//! The model: the device programs its table when it faults pages in (a
//! write fault gives writable 4K entries; for a read fault it records the
//! CPU's page states, which are what `hmm_range_fault()` reported), and
//! forgets every entry in the range of an invalidation event.  A `Lost`
//! record means events were dropped: the device would have to resync
//! from scratch, so it does that by QUERY and says so.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use hmm_mirror::{
    Access, Direction, Event, Features, MigrateReport, Mirror, PageFlags, PageState, Reasons,
};

const PAGES: u64 = 64;
/// The hot buffer the device moves into its own memory.
const HOT_PAGES: u64 = 8;

struct ToyDevice {
    mirror: Mirror,
    page: u64,
    /// The device's own page table: page address → state.
    table: BTreeMap<u64, PageState>,
    /// Where to compare: the memory this program mirrors (start, length).
    regions: Vec<(u64, u64)>,
    events: u64,
    /// Events applied inside a step's operation, shown with the step.
    shown: String,
    /// Lines printed under the step's line.
    notes: Vec<String>,
    problems: Vec<String>,
    /// A broken device, for the negative test: drops every event.
    ignore_events: bool,
}

impl ToyDevice {
    fn new(region: (u64, u64)) -> std::io::Result<ToyDevice> {
        let mirror = Mirror::open()?;
        mirror.configure_events(Reasons::all(), 0)?;
        let page = mirror.page_size();
        Ok(ToyDevice {
            mirror,
            page,
            table: BTreeMap::new(),
            regions: vec![region],
            events: 0,
            shown: String::new(),
            notes: Vec::new(),
            problems: Vec::new(),
            ignore_events: false,
        })
    }

    /// Fault `[addr, addr + len)` into the device and program the table.
    fn fault(&mut self, addr: u64, len: u64, access: Access) -> std::io::Result<()> {
        self.mirror.fault(addr, len, access)?;
        self.program(addr, len, access)
    }

    /// Write through the device (it faults missing pages for write).
    fn device_write(&mut self, addr: u64, data: &[u8]) -> std::io::Result<()> {
        self.mirror.write(addr, data)?;
        self.program(addr, data.len() as u64, Access::Write)
    }

    fn program(&mut self, addr: u64, len: u64, access: Access) -> std::io::Result<()> {
        // A fault may itself invalidate (e.g. breaking copy-on-write):
        // apply those events first, then program the new entries.
        self.apply_events_now()?;
        let states = match access {
            Access::Write => vec![
                PageState::new(PageFlags::VALID | PageFlags::WRITE, 0);
                (len / self.page) as usize
            ],
            Access::Read => self.mirror.snapshot(addr, len)?,
        };
        for (i, s) in states.into_iter().enumerate() {
            self.table.insert(addr + i as u64 * self.page, s);
        }
        Ok(())
    }

    /// Move `[addr, addr + len)` into the device's memory and program
    /// the entries for what is there: the move's own invalidations (of
    /// the entries the device had) are applied first.
    fn migrate(&mut self, addr: u64, len: u64) -> std::io::Result<MigrateReport> {
        let report = self.mirror.migrate(addr, len, Direction::ToDevice)?;
        self.apply_events_now()?;
        for (i, s) in self.mirror.query(addr, len)?.into_iter().enumerate() {
            if !s.is_empty() {
                self.table.insert(addr + i as u64 * self.page, s);
            }
        }
        Ok(report)
    }

    /// Apply the queued events inside an operation; the step shows them.
    fn apply_events_now(&mut self) -> std::io::Result<()> {
        let seen = self.drain_events()?;
        if seen != "-" {
            if !self.shown.is_empty() {
                self.shown.push_str(", ");
            }
            self.shown.push_str(&seen);
        }
        Ok(())
    }

    /// Apply every queued event; returns a short description.
    fn drain_events(&mut self) -> std::io::Result<String> {
        let mut seen = String::new();
        let events: Vec<Event> = self
            .mirror
            .events(Some(Duration::ZERO))
            .collect::<Result<_, _>>()?;
        for ev in events {
            self.events += 1;
            if !seen.is_empty() {
                seen.push_str(", ");
            }
            if self.ignore_events {
                let _ = write!(seen, "{} dropped", ev.reason);
                continue;
            }
            if ev.is_lost() {
                let _ = write!(seen, "{} lost (resync)", ev.pages);
                self.resync()?;
                continue;
            }
            let keys: Vec<u64> = self
                .table
                .range(ev.start..ev.end)
                .map(|(k, _)| *k)
                .collect();
            let removed: u64 = keys
                .iter()
                .map(|k| self.table.remove(k).map_or(0, |s| s.pages()))
                .sum();
            match ev.direction() {
                Some(d) => write!(seen, "{} {d} {}p", ev.reason, ev.pages),
                None => write!(seen, "{} {}p", ev.reason, ev.pages),
            }
            .expect("writing to a String");
            if removed != ev.pages {
                self.problems.push(format!(
                    "{ev}: the device table had {removed} pages in that range"
                ));
            }
        }
        Ok(if seen.is_empty() { "-".into() } else { seen })
    }

    fn resync(&mut self) -> std::io::Result<()> {
        for (start, len) in self.regions.clone() {
            self.table.retain(|k, _| !(start..start + len).contains(k));
            for (i, s) in self.mirror.query(start, len)?.into_iter().enumerate() {
                if !s.is_empty() {
                    self.table.insert(start + i as u64 * self.page, s);
                }
            }
        }
        Ok(())
    }

    /// Compare the table with QUERY over the regions; returns (toy pages,
    /// device pages, mismatches).
    fn check(&self) -> std::io::Result<(usize, usize, Vec<String>)> {
        let (mut toy_pages, mut device_pages, mut bad) = (0, 0, Vec::new());
        for &(start, len) in &self.regions {
            let query = self.mirror.query(start, len)?;
            for (i, dev) in query.iter().enumerate() {
                let addr = start + i as u64 * self.page;
                let toy = self.table.get(&addr).copied().unwrap_or(PageState::EMPTY);
                if toy != *dev {
                    bad.push(format!("page {i} ({addr:#x}): toy {toy}, device {dev}"));
                }
            }
            toy_pages += self.table.range(start..start + len).count();
            device_pages += query.iter().filter(|s| !s.is_empty()).count();
        }
        Ok((toy_pages, device_pages, bad))
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("prototype_device: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> std::io::Result<bool> {
    let page = os::page_size();
    let base = os::mmap_anon(PAGES * page)?;
    let pg = |i: u64| base + i * page;
    for i in 0..PAGES {
        os::poke(pg(i), i as u8); // the CPU writes every page
    }

    let mut dev = ToyDevice::new((base, PAGES * page))?;
    dev.ignore_events = std::env::args().any(|a| a == "--ignore-events");
    // The hot buffer, with device memory only: HOT_PAGES pages of 0x33.
    let devmem = dev.mirror.features().contains(Features::DEVICE_MEMORY);
    let hot = if devmem {
        let hot = os::mmap_anon(HOT_PAGES * page)?;
        for i in 0..HOT_PAGES {
            for b in 0..page {
                os::poke(hot + i * page + b, 0x33);
            }
        }
        dev.regions.push((hot, HOT_PAGES * page));
        Some(hot)
    } else {
        None
    };
    println!(
        "prototype device: pid {}, page size {page}, module features {}",
        std::process::id(),
        dev.mirror.features()
    );
    println!("memory: {PAGES} pages at {base:#x}");
    println!(
        "{:<32} {:<34} {:>4} {:>6}  result",
        "step", "events", "toy", "device"
    );

    let mut steps: Vec<(&str, Step)> = vec![
        (
            "fault write pages 0-31",
            Box::new(|d| d.fault(pg(0), 32 * page, Access::Write)),
        ),
        (
            "fault read pages 32-47",
            Box::new(|d| d.fault(pg(32), 16 * page, Access::Read)),
        ),
        (
            "device write pages 48-63",
            Box::new(|d| d.device_write(pg(48), &vec![0xab; 16 * page as usize])),
        ),
        (
            "munmap pages 0-7",
            Box::new(|_| os::munmap(pg(0), 8 * page)),
        ),
        (
            "mprotect pages 8-15 read-only",
            Box::new(|_| os::mprotect(pg(8), 8 * page, libc::PROT_READ)),
        ),
        (
            "madvise DONTNEED pages 16-19",
            Box::new(|_| os::madvise(pg(16), 4 * page, libc::MADV_DONTNEED)),
        ),
        ("fork (the child exits)", Box::new(|_| os::fork_and_reap())),
        (
            "fault write pages 20-47",
            Box::new(|d| d.fault(pg(20), 28 * page, Access::Write)),
        ),
        (
            "mprotect pages 36-39 PROT_NONE",
            Box::new(|_| os::mprotect(pg(36), 4 * page, libc::PROT_NONE)),
        ),
        (
            "mremap pages 40-47 away",
            Box::new(|_| os::mremap_away(pg(40), 8 * page)),
        ),
    ];
    match hot {
        Some(hot) => steps.extend(hot_buffer_steps(hot, page)),
        None => println!(
            "device memory: skipped: the module has no device memory (its HANDSHAKE lacks \
             HMM_MIRROR_FEAT_DEVICE_MEMORY: a kernel without CONFIG_DEVICE_PRIVATE, or \
             device_memory_mb=0)"
        ),
    }
    steps.push((
        "munmap everything",
        Box::new(move |_| {
            if let Some(hot) = hot {
                os::munmap(hot, HOT_PAGES * page)?;
            }
            os::munmap(pg(0), PAGES * page)
        }),
    ));
    let mut in_sync = true;
    for (name, op) in steps {
        in_sync &= dev.step(name, op)?;
    }

    let s = dev.mirror.stats()?;
    println!(
        "stats: {} fault calls, {} pages faulted, {} invalidations ({} pages), {} events read, {} lost",
        s.fault_calls,
        s.pages_faulted,
        s.total_invalidations(),
        s.pages_invalidated,
        s.events_delivered,
        s.events_lost
    );
    if in_sync {
        println!(
            "prototype device: in sync after every step ({} events)",
            dev.events
        );
    } else {
        println!("prototype device: OUT OF SYNC");
    }
    Ok(in_sync)
}

/// One operation of the scenario.
type Step<'a> = Box<dyn FnOnce(&mut ToyDevice) -> std::io::Result<()> + 'a>;

/// The device-memory part: the device maps the hot buffer, moves it into
/// its memory, reads it there, and the CPU writes two of its pages, which
/// come back to system memory.
fn hot_buffer_steps<'a>(hot: u64, page: u64) -> Vec<(&'a str, Step<'a>)> {
    let len = HOT_PAGES * page;
    vec![
        (
            "device faults the hot buffer",
            Box::new(move |d: &mut ToyDevice| d.fault(hot, len, Access::Write)),
        ),
        (
            "move it to device memory",
            Box::new(move |d: &mut ToyDevice| {
                let report = d.migrate(hot, len)?;
                let dm = d.mirror.device_memory()?;
                d.notes.push(report.to_string());
                d.notes.push(format!(
                    "device memory: {} KiB used of {} MiB",
                    dm.used_bytes >> 10,
                    dm.total_bytes >> 20
                ));
                if report.moved() != HOT_PAGES {
                    d.problems
                        .push(format!("{} of {HOT_PAGES} pages moved", report.moved()));
                }
                Ok(())
            }),
        ),
        (
            "device reads it in its memory",
            Box::new(move |d: &mut ToyDevice| {
                let mut buf = vec![0u8; len as usize];
                d.mirror.read(hot, &mut buf)?;
                let intact = buf.iter().all(|&b| b == 0x33);
                let there = d.mirror.snapshot(hot, len)?.iter().all(|s| s.is_device());
                d.notes.push(format!(
                    "data intact: {intact}; all {HOT_PAGES} pages still in device memory: {there}"
                ));
                if !intact || !there {
                    d.problems
                        .push("the device read moved pages or data".into());
                }
                Ok(())
            }),
        ),
        (
            "CPU writes hot pages 0-1",
            Box::new(move |d: &mut ToyDevice| {
                os::poke(hot, 0x44);
                os::poke(hot + page, 0x44);
                let mut dev_page = vec![0u8; page as usize];
                d.mirror.read(hot + 2 * page, &mut dev_page)?;
                let intact = os::peek(hot) == 0x44
                    && os::peek(hot + 1) == 0x33
                    && os::peek(hot + page) == 0x44
                    && dev_page.iter().all(|&b| b == 0x33);
                let states = d.mirror.snapshot(hot, len)?;
                let back = states.iter().filter(|s| !s.is_device()).count();
                d.notes.push(format!(
                    "pages back in system memory: {back}; data intact: {intact}"
                ));
                if back != 2 || !intact {
                    d.problems
                        .push("the CPU's write did not bring back pages 0-1 intact".into());
                }
                Ok(())
            }),
        ),
    ]
}

impl ToyDevice {
    /// Runs `op`, applies the events it caused, compares with QUERY and
    /// prints the line; returns whether the tables agree.
    fn step(&mut self, name: &str, op: Step) -> std::io::Result<bool> {
        op(self)?;
        self.apply_events_now()?;
        let mut events = std::mem::take(&mut self.shown);
        if events.is_empty() {
            events.push('-');
        }
        let notes = std::mem::take(&mut self.notes);
        let (toy, device, bad) = self.check()?;
        let problems = std::mem::take(&mut self.problems);
        let ok = bad.is_empty() && problems.is_empty();
        let verdict = if ok { "in sync" } else { "OUT OF SYNC" };
        println!("{name:<32} {events:<34} {toy:>4} {device:>6}  {verdict}");
        for line in &notes {
            println!("    {line}");
        }
        for line in bad.iter().chain(&problems).take(10) {
            println!("    {line}");
        }
        Ok(ok)
    }
}

/// The system calls the scenario makes on its own memory.  The mapping is
/// only ever used through raw addresses, never through a Rust reference,
/// so the kernel and the device may change or remove it at any time.
mod os {
    use std::io::{Error, Result};

    fn check(ret: i32, what: &str) -> Result<()> {
        if ret == 0 {
            return Ok(());
        }
        let e = Error::last_os_error();
        Err(Error::new(e.kind(), format!("{what}: {e}")))
    }

    pub fn page_size() -> u64 {
        // SAFETY: sysconf has no preconditions.
        unsafe { libc::sysconf(libc::_SC_PAGESIZE) as u64 }
    }

    pub fn mmap_anon(len: u64) -> Result<u64> {
        // SAFETY: a new anonymous mapping; no existing memory is affected.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Error::last_os_error());
        }
        Ok(p as u64)
    }

    pub fn poke(addr: u64, byte: u8) {
        // SAFETY: `addr` is inside the scenario's writable mapping.
        unsafe { std::ptr::write_volatile(addr as *mut u8, byte) }
    }

    pub fn peek(addr: u64) -> u8 {
        // SAFETY: `addr` is inside the scenario's readable mapping.
        unsafe { std::ptr::read_volatile(addr as *const u8) }
    }

    pub fn munmap(addr: u64, len: u64) -> Result<()> {
        // SAFETY: the range is the scenario's own memory (see above).
        check(
            unsafe { libc::munmap(addr as *mut _, len as usize) },
            "munmap",
        )
    }

    pub fn mprotect(addr: u64, len: u64, prot: i32) -> Result<()> {
        // SAFETY: as for munmap.
        check(
            unsafe { libc::mprotect(addr as *mut _, len as usize, prot) },
            "mprotect",
        )
    }

    pub fn madvise(addr: u64, len: u64, advice: i32) -> Result<()> {
        // SAFETY: as for munmap.
        check(
            unsafe { libc::madvise(addr as *mut _, len as usize, advice) },
            "madvise",
        )
    }

    /// Moves the range to a new place, then unmaps it there.
    pub fn mremap_away(addr: u64, len: u64) -> Result<()> {
        let to = mmap_anon(len)?;
        // SAFETY: both ranges are the scenario's own memory.
        let p = unsafe {
            libc::mremap(
                addr as *mut _,
                len as usize,
                len as usize,
                libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
                to as *mut libc::c_void,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Error::last_os_error());
        }
        munmap(to, len)
    }

    /// fork(); the child exits at once and the parent reaps it.
    pub fn fork_and_reap() -> Result<()> {
        // SAFETY: the program is single-threaded and the child only calls
        // _exit, which is async-signal-safe.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(Error::last_os_error());
        }
        if pid == 0 {
            // SAFETY: ends the child without running any Rust code.
            unsafe { libc::_exit(0) };
        }
        let mut status = 0;
        // SAFETY: waits for our own child; `status` is a valid out pointer.
        if unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
            return Err(Error::last_os_error());
        }
        Ok(())
    }
}
