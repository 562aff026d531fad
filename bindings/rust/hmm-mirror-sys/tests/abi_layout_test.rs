//! Every constant, struct size, alignment, field offset and field size of
//! the Rust declarations against what the C compiler says for the same
//! headers: a C program printing those values is generated from the table
//! below, compiled with `$CC` (default `cc`) and run.  A second check
//! makes sure the table covers every constant and every struct field
//! found in src/bindings.rs, so nothing the generator adds goes untested.
//!
//! Also links the library: the open of a missing node fails with ENOENT.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::mem::{align_of, offset_of, size_of};
use std::path::Path;
use std::process::Command;

use hmm_mirror_sys as sys;
use sys::*;

/// Size of a field, from a projection (no value of the struct needed).
fn field_size<T, F>(_: fn(&T) -> &F) -> usize {
    size_of::<F>()
}

struct Table {
    /// name as C spells the expression -> value in Rust
    rows: BTreeMap<String, u64>,
    consts: BTreeSet<String>,
    fields: BTreeSet<String>,
}

macro_rules! consts {
    ($t:ident: $($name:ident),* $(,)?) => {
        $(
            $t.rows.insert(stringify!($name).to_string(), u64::from($name));
            $t.consts.insert(stringify!($name).to_string());
        )*
    };
}

macro_rules! layout {
    ($t:ident: $ty:ident { $($field:ident),* $(,)? }) => {{
        let ty = stringify!($ty);
        $t.rows.insert(format!("sizeof(struct {ty})"), size_of::<$ty>() as u64);
        $t.rows.insert(format!("_Alignof(struct {ty})"), align_of::<$ty>() as u64);
        $(
            let f = stringify!($field);
            $t.rows.insert(format!("offsetof(struct {ty}, {f})"), offset_of!($ty, $field) as u64);
            $t.rows.insert(
                format!("sizeof(((struct {ty} *)0)->{f})"),
                field_size(|s: &$ty| &s.$field) as u64,
            );
            $t.fields.insert(format!("{ty}.{f}"));
        )*
    }};
}

fn table() -> Table {
    let mut t = Table {
        rows: BTreeMap::new(),
        consts: BTreeSet::new(),
        fields: BTreeSet::new(),
    };
    consts!(t:
        HMM_MIRROR_ABI_VERSION, HMM_MIRROR_IOC_MAGIC,
        HMM_MIRROR_FEAT_FAULT, HMM_MIRROR_FEAT_SNAPSHOT, HMM_MIRROR_FEAT_DEVICE_RW,
        HMM_MIRROR_FEAT_QUERY, HMM_MIRROR_FEAT_HUGE_ENTRIES, HMM_MIRROR_FEAT_ATTACH,
        HMM_MIRROR_FEAT_EVENTS, HMM_MIRROR_FEAT_LAZY_NOTIFIERS, HMM_MIRROR_FEAT_FILE_BACKED,
        HMM_MIRROR_FEAT_FORK, HMM_MIRROR_FEAT_EXIT, HMM_MIRROR_FEAT_STATS,
        HMM_MIRROR_FEAT_SNAPSHOT_RUNS, HMM_MIRROR_PAGES_RUNS, HMM_MIRROR_PAGES_SIZE_VER2,
        HMM_MIRROR_FEAT_RW_COPIED, HMM_MIRROR_FEAT_ADDR_LIMIT,
        HMM_MIRROR_HANDSHAKE_SIZE_VER3, HMM_MIRROR_RW_SIZE_VER3,
        HMM_MIRROR_RUN_SIZE,
        HMM_MIRROR_HANDSHAKE_SIZE_VER1, HMM_MIRROR_FAULT_WRITE, HMM_MIRROR_FAULT_SIZE_VER1,
        HMM_MIRROR_PAGE_VALID, HMM_MIRROR_PAGE_WRITE, HMM_MIRROR_PAGE_ERROR,
        HMM_MIRROR_PAGE_ZERO, HMM_MIRROR_PAGE_ORDER_SHIFT,
        HMM_MIRROR_PAGES_SIZE_VER1, HMM_MIRROR_RW_SIZE_VER1, HMM_MIRROR_ATTACH_SIZE_VER1,
        HMM_MIRROR_EVENT_UNMAP, HMM_MIRROR_EVENT_CLEAR, HMM_MIRROR_EVENT_PROTECTION,
        HMM_MIRROR_EVENT_MIGRATE, HMM_MIRROR_EVENT_RELEASE, HMM_MIRROR_EVENT_SOFT_DIRTY,
        HMM_MIRROR_EVENT_EXCLUSIVE, HMM_MIRROR_EVENT_OTHER, HMM_MIRROR_EVENT_NR_REASONS,
        HMM_MIRROR_EVENT_LOST, HMM_MIRROR_EVENT_ALL_REASONS,
        HMM_MIRROR_EVENT_SIZE_VER1, HMM_MIRROR_EVENTS_SIZE_VER1,
        HMM_MIRROR_STATS_GLOBAL, HMM_MIRROR_STATS_SIZE_VER1,
        HMM_MIRROR_NR_HANDSHAKE, HMM_MIRROR_NR_FAULT, HMM_MIRROR_NR_SNAPSHOT,
        HMM_MIRROR_NR_READ, HMM_MIRROR_NR_WRITE, HMM_MIRROR_NR_QUERY,
        HMM_MIRROR_NR_ATTACH, HMM_MIRROR_NR_EVENTS, HMM_MIRROR_NR_STATS,
        HMM_MIRROR_IOC_HANDSHAKE, HMM_MIRROR_IOC_FAULT, HMM_MIRROR_IOC_SNAPSHOT,
        HMM_MIRROR_IOC_READ, HMM_MIRROR_IOC_WRITE, HMM_MIRROR_IOC_QUERY,
        HMM_MIRROR_IOC_ATTACH, HMM_MIRROR_IOC_EVENTS, HMM_MIRROR_IOC_STATS,
        HMM_MIRROR_LIB_VERSION_MAJOR, HMM_MIRROR_LIB_VERSION_MINOR,
        HMM_MIRROR_LIB_VERSION_PATCH,
        HMM_MIRROR_INFO_SIZE_VER1, HMM_MIRROR_EVENT_RECORD_SIZE_VER1,
        HMM_MIRROR_COUNTERS_SIZE_VER1, HMM_MIRROR_RW_RESULT_SIZE_VER1,
        HMM_MIRROR_FEAT_ALL, HMM_MIRROR_NR_COMMANDS,
        HMM_MIRROR_EVENTS_DEFAULT_LEN, HMM_MIRROR_EVENTS_MAX_LEN, HMM_MIRROR_ADDR_LIMIT,
        HMM_MIRROR_MAPS_SMAPS, HMM_MIRROR_MAPPING_DELETED, HMM_MIRROR_MAPPING_SMAPS,
        HMM_MIRROR_FEAT_DEVICE_MEMORY, HMM_MIRROR_PAGE_DEVICE,
        HMM_MIRROR_EVENT_FLAG_TO_DEVICE, HMM_MIRROR_EVENT_FLAG_TO_SYSTEM,
        HMM_MIRROR_HANDSHAKE_SIZE_VER4, HMM_MIRROR_STATS_SIZE_VER4,
        HMM_MIRROR_MIGRATE_TO_SYSTEM, HMM_MIRROR_MIGRATE_MOVED,
        HMM_MIRROR_MIGRATE_ALREADY, HMM_MIRROR_MIGRATE_NOT_MOVABLE,
        HMM_MIRROR_MIGRATE_NO_MEMORY, HMM_MIRROR_MIGRATE_SIZE_VER4,
        HMM_MIRROR_NR_MIGRATE, HMM_MIRROR_DEVICE_MEMORY_SIZE_VER1,
        HMM_MIRROR_FEAT_EXCLUSIVE, HMM_MIRROR_PAGE_EXCLUSIVE, HMM_MIRROR_STATS_SIZE_VER5,
        HMM_MIRROR_EXCLUSIVE_SIZE_VER5, HMM_MIRROR_ATOMIC_SIZE_VER5,
        HMM_MIRROR_ATOMIC_ADD, HMM_MIRROR_ATOMIC_XCHG, HMM_MIRROR_ATOMIC_CMPXCHG,
        HMM_MIRROR_ATOMIC_OR, HMM_MIRROR_ATOMIC_AND, HMM_MIRROR_ATOMIC_NR_OPS,
        HMM_MIRROR_ATOMIC_NO_GRANT, HMM_MIRROR_NR_EXCLUSIVE, HMM_MIRROR_NR_ATOMIC,
        HMM_MIRROR_FEAT_DEVICE_EVICT, HMM_MIRROR_MIGRATE_EVICT,
    );
    layout!(t: hmm_mirror_handshake {
        size, flags, abi_version, module_abi_version, features_wanted,
        features_supported, ioctls_supported, page_shift, reserved, addr_limit,
        device_memory_size, device_memory_used });
    layout!(t: hmm_mirror_fault { size, flags, addr, length, pages_mapped, retries });
    layout!(t: hmm_mirror_pages { size, flags, addr, length, states, states_len, nr_runs });
    layout!(t: hmm_mirror_run { addr, length, state, reserved });
    layout!(t: hmm_mirror_rw { size, flags, addr, length, buf, device_faults, bytes_copied });
    layout!(t: hmm_mirror_attach { size, flags, pidfd, reserved });
    layout!(t: hmm_mirror_event { size, reason, start, end, seq, pages, flags, reserved });
    layout!(t: hmm_mirror_events { size, flags, reasons, queue_len });
    // The counters after the header: bindgen's own layout assertions in
    // src/bindings.rs and the_counter_table_covers_the_stats_struct below.
    layout!(t: hmm_mirror_stats { size, flags });
    layout!(t: hmm_mirror_migrate {
        size, flags, addr, length, results, results_len, pages_moved,
        pages_not_moved });
    layout!(t: hmm_mirror_exclusive {
        size, flags, addr, length, results, results_len, pages_granted,
        pages_refused });
    layout!(t: hmm_mirror_atomic {
        size, flags, addr, op, reserved, operand, compare, old });
    layout!(t: hmm_mirror_device_memory {
        size, reserved, total_bytes, used_bytes, mirror_pages, pages_to_device,
        pages_to_system, pages_faulted_back, pages_no_memory });
    layout!(t: hmm_mirror_info {
        size, abi_version, lib_abi_version, page_shift, features, ioctls, addr_limit });
    layout!(t: hmm_mirror_rw_result { size, reserved, bytes_copied, device_faults });
    layout!(t: hmm_mirror_mapping {
        size, flags, start, end, offset, inode, dev_major, dev_minor, perms, path,
        vmflags, rss_kb, anon_huge_kb, hugetlb_kb, kernel_page_kb });
    // The function-like macro, on a few states.
    for state in [0u32, 0x1, 0x903, 0x1201, 0xff0f, 0xffff_ffff] {
        t.rows.insert(
            format!("HMM_MIRROR_PAGE_ORDER({state:#x}U)"),
            u64::from(hmm_mirror_page_order(state)),
        );
    }
    // The *_init() helpers set size to sizeof; new() must agree.
    t.rows.insert(
        "HMM_MIRROR_INFO_INIT_SIZE".into(),
        u64::from(hmm_mirror_info::new().size),
    );
    t.rows.insert(
        "HMM_MIRROR_EVENT_RECORD_INIT_SIZE".into(),
        u64::from(hmm_mirror_event_record::new().size),
    );
    t.rows.insert(
        "HMM_MIRROR_COUNTERS_INIT_SIZE".into(),
        u64::from(hmm_mirror_counters::new().size),
    );
    t.rows.insert(
        "HMM_MIRROR_RW_RESULT_INIT_SIZE".into(),
        u64::from(hmm_mirror_rw_result::new().size),
    );
    t.rows.insert(
        "HMM_MIRROR_MAPPING_INIT_SIZE".into(),
        u64::from(hmm_mirror_mapping::new().size),
    );
    t.rows.insert(
        "HMM_MIRROR_MAPPING_SIZE_VER1".into(),
        size_of::<hmm_mirror_mapping>() as u64,
    );
    t
}

const INIT_HELPERS: &str = r#"
static unsigned long long info_init_size(void)
{ struct hmm_mirror_info x; hmm_mirror_info_init(&x); return x.size; }
static unsigned long long record_init_size(void)
{ struct hmm_mirror_event_record x; hmm_mirror_event_record_init(&x); return x.size; }
static unsigned long long counters_init_size(void)
{ struct hmm_mirror_counters x; hmm_mirror_counters_init(&x); return x.size; }
static unsigned long long rw_result_init_size(void)
{ struct hmm_mirror_rw_result x; hmm_mirror_rw_result_init(&x); return x.size; }
#define HMM_MIRROR_INFO_INIT_SIZE info_init_size()
#define HMM_MIRROR_EVENT_RECORD_INIT_SIZE record_init_size()
#define HMM_MIRROR_COUNTERS_INIT_SIZE counters_init_size()
static unsigned long long mapping_init_size(void)
{ struct hmm_mirror_mapping x; hmm_mirror_mapping_init(&x); return x.size; }
#define HMM_MIRROR_RW_RESULT_INIT_SIZE rw_result_init_size()
#define HMM_MIRROR_MAPPING_INIT_SIZE mapping_init_size()
"#;

/// Compiles and runs a C program that prints "expression=value" for
/// every row.
fn c_values(t: &Table) -> BTreeMap<String, u64> {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The C sources this crate builds (symbolic links in the repository).
    let c_dir = crate_dir.join("c");
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let src = tmp.join("hmm_mirror_sys_abi.c");
    let exe = tmp.join("hmm_mirror_sys_abi");

    let mut c = String::from("#include <stddef.h>\n#include <stdio.h>\n#include \"wrapper.h\"\n");
    c.push_str(INIT_HELPERS);
    c.push_str("int main(void)\n{\n");
    for expr in t.rows.keys() {
        writeln!(
            c,
            "\tprintf(\"%s=%llu\\n\", \"{expr}\", (unsigned long long)({expr}));"
        )
        .unwrap();
    }
    c.push_str("\tprintf(\"HMM_MIRROR_DEVICE_PATH=%s\\n\", HMM_MIRROR_DEVICE_PATH);\n");
    c.push_str("\treturn 0;\n}\n");
    std::fs::write(&src, c).unwrap();

    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Werror", "-o"])
        .arg(&exe)
        .arg(&src)
        .arg(format!("-I{}", crate_dir.display()))
        .arg(format!("-I{}", c_dir.join("abi").display()))
        .arg(format!("-I{}", c_dir.join("include").display()))
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler {cc}: {e}"));
    assert!(status.success(), "{cc} failed on {}", src.display());
    let out = Command::new(&exe).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            let v = if k == "HMM_MIRROR_DEVICE_PATH" {
                assert_eq!(HMM_MIRROR_DEVICE_PATH.to_str().unwrap(), v, "device path");
                0
            } else {
                v.parse().unwrap()
            };
            (k.to_string(), v)
        })
        .collect()
}

#[test]
fn rust_declarations_match_the_c_compiler() {
    let t = table();
    let c = c_values(&t);
    let mut bad = Vec::new();
    for (expr, rust) in &t.rows {
        match c.get(expr) {
            Some(cv) if cv == rust => {}
            Some(cv) => bad.push(format!("{expr}: Rust {rust}, C {cv}")),
            None => bad.push(format!("{expr}: no C value")),
        }
    }
    assert!(bad.is_empty(), "Rust and C disagree:\n{}", bad.join("\n"));
    assert!(c.contains_key("HMM_MIRROR_DEVICE_PATH"));
}

#[test]
fn every_generated_constant_and_field_is_checked() {
    let t = table();
    let text = include_str!("../src/bindings.rs");
    let mut consts = BTreeSet::new();
    let mut fields = BTreeSet::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let l = line.trim();
        if let Some(rest) = l.strip_prefix("pub const ") {
            let name = rest.split(':').next().unwrap().trim().to_string();
            if name != "HMM_MIRROR_DEVICE_PATH" {
                consts.insert(name);
            }
        } else if let Some(rest) = l.strip_prefix("pub struct ") {
            let name = rest.split([' ', '{']).next().unwrap().to_string();
            current = (name != "hmm_mirror").then_some(name);
        } else if l == "}" {
            current = None;
        } else if let (Some(s), Some(rest)) = (&current, l.strip_prefix("pub ")) {
            let field = rest.split(':').next().unwrap();
            // The counters of STATS: the library's table describes them.
            if s == "hmm_mirror_stats" && field != "size" && field != "flags" {
                continue;
            }
            fields.insert(format!("{s}.{field}"));
        }
    }
    let missing_consts: Vec<_> = consts.difference(&t.consts).collect();
    let missing_fields: Vec<_> = fields.difference(&t.fields).collect();
    assert!(
        missing_consts.is_empty(),
        "constants not in the table: {missing_consts:?}"
    );
    assert!(
        missing_fields.is_empty(),
        "fields not in the table: {missing_fields:?}"
    );
    assert!(
        consts.len() >= 60 && fields.len() >= 40,
        "parser found too little"
    );
}

/// The library's counter table tiles struct hmm_mirror_stats after its
/// header, as Rust lays it out: every counter is there and listed.
#[test]
fn the_counter_table_covers_the_stats_struct() {
    // SAFETY: plain functions of the static table.
    let n = unsafe { hmm_mirror_counter_count() };
    let mut end = offset_of!(hmm_mirror_stats, flags) + 4;
    for i in 0..n {
        // SAFETY: as above.
        let (offset, len) = unsafe { (hmm_mirror_counter_offset(i), hmm_mirror_counter_len(i)) };
        assert_eq!(offset, end, "counter {i}");
        end = offset + len as usize * size_of::<u64>();
    }
    assert_eq!(end, size_of::<hmm_mirror_stats>());
}

#[test]
fn the_library_links_and_reports_a_missing_node() {
    let mut m: *mut hmm_mirror = std::ptr::NonNull::dangling().as_ptr();
    // SAFETY: a NUL-terminated path and a valid out pointer.
    let ret = unsafe { hmm_mirror_open_path(c"/nonexistent/hmm_mirror".as_ptr(), &mut m) };
    assert_eq!(ret, -2, "-ENOENT");
    assert!(m.is_null(), "out is set to NULL on failure");
    // SAFETY: returns the calling thread's message, a valid C string.
    let msg = unsafe { std::ffi::CStr::from_ptr(hmm_mirror_last_error()) };
    let msg = msg.to_str().unwrap();
    assert!(
        msg.contains("ENOENT") && msg.contains("hmm_mirror.ko"),
        "{msg}"
    );
}
