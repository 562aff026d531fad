//! examples/prototype_device.rs against the real module: runs the built
//! example and checks what it prints, the device-memory part included
//! where the module has device memory (and its skip message where not).
//! `make rust-vm-build` builds the example before this test; cargo puts
//! it in `<target>/<profile>/examples/`, beside this test's `deps/`.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::mirror;
use hmm_mirror::Features;

fn example() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let profile = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("<target>/<profile>/deps/<test>");
    let path = profile.join("examples/prototype_device");
    assert!(
        path.exists(),
        "{} is not built (cargo build --example prototype_device)",
        path.display()
    );
    path
}

/// The line of the step `name` (it starts with the name).
fn step_line<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no step {name:?} in:\n{out}"))
}

/// The indented lines printed under the step `name`.
fn notes<'a>(out: &'a str, name: &str) -> Vec<&'a str> {
    out.lines()
        .skip_while(|l| !l.starts_with(name))
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .map(str::trim)
        .collect()
}

#[test]
#[ignore = "needs /dev/hmm_mirror: make test runs it in the VM"]
fn prototype_device_output() {
    let run = Command::new(example())
        .output()
        .expect("running the example");
    let out = String::from_utf8_lossy(&run.stdout);
    let err = String::from_utf8_lossy(&run.stderr);
    println!("{out}{err}");
    assert!(run.status.success(), "exit status {}", run.status);
    assert!(!out.contains("OUT OF SYNC"));
    assert!(out.contains("prototype device: in sync after every step"));
    assert!(step_line(&out, "munmap everything").ends_with("in sync"));

    if !mirror().features().contains(Features::DEVICE_MEMORY) {
        assert!(out.contains(
            "device memory: skipped: the module has no device memory (its HANDSHAKE lacks \
             HMM_MIRROR_FEAT_DEVICE_MEMORY"
        ));
        assert!(!out.contains("move it to device memory"));
        return;
    }
    assert!(!out.contains("device memory: skipped"));
    let moved = step_line(&out, "move it to device memory");
    // One event per 2 MiB-aligned batch MIGRATE moved: two when the
    // buffer crosses a 2 MiB boundary; 8 pages in all.
    let to_device: u64 = moved
        .split("migrate to-device ")
        .skip(1)
        .filter_map(|t| t.split('p').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(to_device, 8, "{moved}");
    assert!(moved.ends_with("in sync"), "{moved}");
    let n = notes(&out, "move it to device memory");
    assert!(
        n.first()
            .is_some_and(|l| l.starts_with("migrate to-device 0x")
                && l.ends_with(": 8 moved, 0 already, 0 not_movable, 0 no_memory")),
        "{n:?}"
    );
    assert!(
        n.get(1).is_some_and(|l| l.starts_with("device memory: ")),
        "{n:?}"
    );

    let read = step_line(&out, "device reads it in its memory");
    assert!(read.ends_with("in sync"), "{read}");
    assert_eq!(
        notes(&out, "device reads it in its memory"),
        ["data intact: true; all 8 pages still in device memory: true"]
    );

    let cpu = step_line(&out, "CPU writes hot pages 0-1");
    assert_eq!(
        cpu.matches("migrate to-system 1p").count(),
        2,
        "one MIGRATE event per page that came back: {cpu}"
    );
    assert!(cpu.ends_with("in sync"), "{cpu}");
    assert_eq!(
        notes(&out, "CPU writes hot pages 0-1"),
        ["pages back in system memory: 2; data intact: true"]
    );
}
