//! Export a scenario as a POSIX `sh` script of `bpftool` commands that reproduces it on a
//! real kernel.
//!
//! [`bpftool_script`] writes a script that mounts bpffs when it is not mounted, creates the
//! iterated map (`bpftool map create ... type T key K value V entries N name NAME flags F`)
//! in a fresh directory under `/sys/fs/bpf`, applies the scenario's entries and then its ops
//! in order (`bpftool map update pinned ... key hex .. value hex .. any|noexist|exist`,
//! `bpftool map delete`), pinned to the scenario's CPU with `taskset` (LRU eviction depends
//! on the updating CPU), pins the iterator program on the map
//! (`bpftool iter pin OBJECT .../iter map pinned .../map`), reads it once per read session
//! with `dd bs=READ_SIZE` (so each `read(2)` asks for the scenario's size, which `cat` does
//! not), optionally dumps the map, and removes its pins on exit. An update the kernel refuses
//! is reported and the script goes on, as the oracle records it. `sh SCRIPT map` stops after
//! the fill and prints `bpftool -j map dump` of the map, to compare with the emulator's.
//!
//! A `{"gen":"seq"}` generator of up to [`GEN_EXPAND_MAX`] entries becomes one command per
//! entry; a larger one becomes a shell loop piped into `bpftool batch file -` (one process
//! for all updates), as long as every key and value fits in 63 bits (shell arithmetic is
//! signed 64-bit); otherwise it is expanded too.
//!
//! Not reproducible with bpftool, so refused with [`ExportError::PerCpuValuesDiffer`]:
//! per-CPU values that differ from CPU to CPU. `bpftool map update` takes one value for a
//! per-CPU map and writes it to every possible CPU (checked with bpftool v7.1: a second
//! value is a syntax error). Not here either: compiling the program (the script takes the
//! compiled object's path) and the emulator-only `hash_seed` (a map created without
//! `BPF_F_ZERO_SEED` gets a random seed on the kernel, so its order differs).

use std::fmt::Write;

use crate::maps::MapKind;
use crate::scenario::{
    hex_decode, le_bytes, parse_flag, Entries, HexValue, Scenario, ScenarioError,
};
use crate::Error;

/// Generators of at most this many entries are written as one command per entry.
pub const GEN_EXPAND_MAX: u64 = 64;

/// Why a scenario cannot be exported as bpftool commands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// Per-CPU values differ between CPUs, which `bpftool map update` cannot write.
    #[error(
        "{field}: the per-CPU values differ between CPUs; bpftool writes one value to every \
         possible CPU, so this map cannot be reproduced with bpftool"
    )]
    PerCpuValuesDiffer {
        /// JSON path of the value (`map.entries[2].value`, `map.entries.cpu_add`).
        field: String,
    },
    /// `ncpus` is 0.
    #[error("ncpus must be at least 1")]
    NoCpus,
}

/// What one scenario update becomes in the script.
enum Value {
    /// Bytes for `value hex ..`.
    Bytes(Vec<u8>),
    /// The emulator refuses the update (EINVAL) for a reason bpftool cannot express; the
    /// script reports it as failed without running it.
    Refused(&'static str),
}

/// Single-quotes `s` for sh.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `01 00 00 00`.
fn hex_words(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The value bpftool should write for `value` of field `field`, following the emulator's
/// update rules (`UpdateValue`): one value is replicated to every CPU; a per-CPU list gives
/// CPU `i` its `i`th value, zeros when missing.
fn plan_value(
    value: &HexValue,
    field: &str,
    kind: MapKind,
    value_size: usize,
    ncpus: u32,
) -> Result<Value, Error> {
    let list = match value {
        HexValue::One(h) => return Ok(Value::Bytes(hex_decode(h, &format!("{field}.value"))?)),
        HexValue::PerCpu(list) => list
            .iter()
            .enumerate()
            .map(|(c, h)| hex_decode(h, &format!("{field}.value[{c}]")))
            .collect::<Result<Vec<_>, _>>()?,
    };
    let stride = value_size.div_ceil(8) * 8;
    if !kind.is_percpu() {
        return Ok(match list.as_slice() {
            [one] if one.len() == value_size => Value::Bytes(one.clone()),
            _ => Value::Refused("a value list for a map that is not per-CPU"),
        });
    }
    if list.len() > ncpus as usize
        || list
            .iter()
            .any(|v| v.len() != value_size && v.len() != stride)
    {
        return Ok(Value::Refused(
            "more values than CPUs, or a value of the wrong size",
        ));
    }
    let per_cpu = |cpu: usize| -> Vec<u8> {
        let mut v = list.get(cpu).cloned().unwrap_or_default();
        v.resize(value_size, 0);
        v
    };
    let first = per_cpu(0);
    if (1..ncpus as usize).any(|c| per_cpu(c) != first) {
        return Err(Error::Export(ExportError::PerCpuValuesDiffer {
            field: format!("{field}.value"),
        }));
    }
    Ok(Value::Bytes(first))
}

/// Writes the `bpftool map update` (or refusal) line of one entry or op.
fn update_line(out: &mut String, field: &str, key: &[u8], value: &Value, flag: &str) {
    match value {
        Value::Bytes(v) => {
            let _ = writeln!(
                out,
                "$ON_CPU bpftool map update pinned \"$MAP\" key hex {} value hex {} {flag} || failed {}",
                hex_words(key),
                hex_words(v),
                sh_quote(field)
            );
        }
        Value::Refused(why) => {
            let _ = writeln!(
                out,
                "failed {}  # the emulator refuses it (EINVAL): {why}",
                sh_quote(field)
            );
        }
    }
}

/// A POSIX sh script of bpftool commands that reproduces `sc` on a real kernel with
/// `ncpus` possible CPUs, pinning the iterator from the compiled object at `object_name`
/// (a path, as the script should name it). See the module docs for what it does.
///
/// # Errors
///
/// [`Error::Scenario`] for a bad field (map type, hex, flag, generator), and
/// [`Error::Export`] for per-CPU values that differ (or `ncpus` 0).
///
/// # Examples
///
/// ```
/// use iterscope_emulator::export::bpftool_script;
/// use iterscope_emulator::scenario::Scenario;
///
/// let sc = Scenario::from_json(
///     r#"{"program":"p.bpf.o","map":{"type":"hash","key_size":4,"value_size":8,
///     "max_entries":4,"flags":64,"entries":[{"key":"01000000","value":"0200000000000000"}]}}"#,
/// )?;
/// let script = bpftool_script(&sc, "p.bpf.o", 2)?;
/// assert!(script.contains("bpftool map create \"$MAP\" type hash key 4 value 8 entries 4"));
/// assert!(script.contains("key hex 01 00 00 00 value hex 02 00 00 00 00 00 00 00 any"));
/// # Ok::<(), iterscope_emulator::Error>(())
/// ```
pub fn bpftool_script(sc: &Scenario, object_name: &str, ncpus: u32) -> Result<String, Error> {
    if ncpus == 0 {
        return Err(Error::Export(ExportError::NoCpus));
    }
    let ms = &sc.map;
    let kind: MapKind = ms.kind.parse().map_err(|_| {
        Error::Scenario(ScenarioError::Field {
            field: "map.type".into(),
            what: format!(
                "unknown map type {:?} (hash, array, percpu_hash, percpu_array, lru_hash, lru_percpu_hash)",
                ms.kind
            ),
        })
    })?;
    let name = ms.name.clone().unwrap_or_else(|| "orc_map".to_string());
    let ks = ms.key_size as usize;
    let vs = ms.value_size as usize;
    let cpu = sc.cpu.min(ncpus - 1);
    let dir_tag: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();

    let mut s = String::new();
    let desc = sc.description.lines().next().unwrap_or("").trim();
    let _ = writeln!(s, "#!/bin/sh");
    let _ = writeln!(
        s,
        "# Generated by `iterscope export-bpftool`: reproduces a scenario on a real kernel."
    );
    if !desc.is_empty() {
        let _ = writeln!(s, "# Scenario: {desc}");
    }
    s.push_str(
        "# Creates the iterated map, applies the entries and ops in order, pins the iterator
# program on the map, reads it once per read session and removes the pins.
#
# Usage: sh SCRIPT        run the scenario (root, bpftool, a kernel with BPF iterators)
#        sh SCRIPT map    only create and fill the map, then print `bpftool -j map dump`
# ITERSCOPE_OBJECT=PATH overrides the compiled program's path.
set -u
",
    );
    let _ = writeln!(s, "MODE=${{1:-run}}");
    let _ = writeln!(s, "OBJECT=${{ITERSCOPE_OBJECT:-{}}}", sh_quote(object_name));
    let _ = writeln!(s, "NCPUS={ncpus}");
    let _ = writeln!(s, "CPU={cpu}");
    let _ = writeln!(s, "DIR=/sys/fs/bpf/iterscope_{dir_tag}_$$");
    s.push_str(
        r#"MAP="$DIR/map"
ITER="$DIR/iter"
FAILED=0

say() { printf 'iterscope: %s\n' "$*" >&2; }
# An update or delete the kernel refuses: reported, and the script goes on (the scenario may
# expect it, as the oracle records map_update_failures).
failed() { FAILED=$((FAILED + 1)); say "$1 failed"; }
cleanup() { rm -f "$ITER" "$MAP"; rmdir "$DIR" 2>/dev/null; }
possible_cpus() {
    n=0
    for r in $(tr ',' ' ' </sys/devices/system/cpu/possible); do
        case $r in
        *-*) n=$((n + ${r#*-} - ${r%-*} + 1)) ;;
        *) n=$((n + 1)) ;;
        esac
    done
    echo "$n"
}

command -v bpftool >/dev/null 2>&1 || { say "bpftool is not installed"; exit 1; }
if ! grep -qs ' /sys/fs/bpf bpf ' /proc/mounts; then
    mount -t bpf bpf /sys/fs/bpf || { say "cannot mount bpffs on /sys/fs/bpf"; exit 1; }
fi
if [ "$(possible_cpus)" != "$NCPUS" ]; then
    say "this machine has $(possible_cpus) possible CPUs, the scenario was run with $NCPUS: per-CPU values and LRU eviction will differ"
fi
ON_CPU=""
if command -v taskset >/dev/null 2>&1; then
    ON_CPU="taskset -c $CPU"
else
    say "taskset not found: updates and reads run on any CPU"
fi
mkdir "$DIR" || { say "cannot create $DIR"; exit 1; }
trap cleanup EXIT
trap 'exit 130' INT TERM

"#,
    );
    if ms.flags & crate::maps::BPF_F_ZERO_SEED == 0 && !kind.is_array() {
        s.push_str(
            "# No BPF_F_ZERO_SEED: the kernel picks a random hash seed, so the order differs.\n",
        );
    }
    let _ = writeln!(
        s,
        "bpftool map create \"$MAP\" type {} key {} value {} entries {} name {} flags {} ||\n    {{ say \"map create failed\"; exit 1; }}",
        kind.name(),
        ms.key_size,
        ms.value_size,
        ms.max_entries,
        sh_quote(&name),
        ms.flags
    );

    s.push_str("\n# map.entries\n");
    match &ms.entries {
        Entries::List(list) => {
            for (i, e) in list.iter().enumerate() {
                let field = format!("map.entries[{i}]");
                let key = hex_decode(&e.key, &format!("{field}.key"))?;
                let flag = e.flags.as_deref().unwrap_or("any");
                parse_flag(Some(flag), &format!("{field}.flags"))?;
                let value = plan_value(&e.value, &field, kind, vs, ncpus)?;
                update_line(&mut s, &field, &key, &value, flag);
            }
        }
        Entries::Gen(g) => {
            if g.gen != "seq" {
                return Err(Error::Scenario(ScenarioError::Field {
                    field: "map.entries.gen".into(),
                    what: format!("unknown generator {:?} (only \"seq\")", g.gen),
                }));
            }
            if kind.is_percpu() && g.cpu_add != 0 && ncpus > 1 {
                return Err(Error::Export(ExportError::PerCpuValuesDiffer {
                    field: "map.entries.cpu_add".into(),
                }));
            }
            let _ = writeln!(
                s,
                "# {{\"gen\":\"seq\"}}: {} entries, key = {} + i*{}, value = key*{} + {}",
                g.count, g.start, g.step, g.mul, g.add
            );
            // The largest key and value, when no arithmetic wraps: then the shell's signed
            // 64-bit arithmetic computes them exactly.
            let fits = g.count.checked_sub(1).map_or(Some(0), |last| {
                let k = last.checked_mul(g.step)?.checked_add(g.start)?;
                let v = k.checked_mul(g.mul)?.checked_add(g.add)?;
                (k.max(v) < 1 << 63).then_some(k.max(v))
            });
            if g.count <= GEN_EXPAND_MAX || fits.is_none() {
                for i in 0..g.count {
                    let k = g.start.wrapping_add(i.wrapping_mul(g.step));
                    let v = k.wrapping_mul(g.mul).wrapping_add(g.add);
                    let field = format!("map.entries[{i}]");
                    let value = Value::Bytes(le_bytes(v, vs));
                    update_line(&mut s, &field, &le_bytes(k, ks), &value, "any");
                }
            } else {
                gen_loop(&mut s, g.count, g.start, g.step, g.mul, g.add, ks, vs);
            }
        }
    }

    if !ms.ops.is_empty() {
        s.push_str("\n# map.ops\n");
    }
    for (i, op) in ms.ops.iter().enumerate() {
        let field = format!("map.ops[{i}]");
        let key = hex_decode(&op.key, &format!("{field}.key"))?;
        match op.op.as_str() {
            "update" => {
                let flag = op.flags.as_deref().unwrap_or("any");
                parse_flag(Some(flag), &format!("{field}.flags"))?;
                let Some(v) = &op.value else {
                    return Err(Error::Scenario(ScenarioError::Field {
                        field: format!("{field}.value"),
                        what: "an update needs a value".into(),
                    }));
                };
                let value = plan_value(v, &field, kind, vs, ncpus)?;
                update_line(&mut s, &field, &key, &value, flag);
            }
            "delete" => {
                let _ = writeln!(
                    s,
                    "$ON_CPU bpftool map delete pinned \"$MAP\" key hex {} || failed {}",
                    hex_words(&key),
                    sh_quote(&field)
                );
            }
            other => {
                return Err(Error::Scenario(ScenarioError::Field {
                    field: format!("{field}.op"),
                    what: format!("unknown op {other:?} (update, delete)"),
                }))
            }
        }
    }
    s.push_str(
        r#"[ "$FAILED" -eq 0 ] || say "$FAILED update(s) or delete(s) failed"

if [ "$MODE" = map ]; then
    bpftool -j map dump pinned "$MAP"
    exit $?
fi

# Load the program and pin an iterator over the map (libbpf creates the object's own maps).
bpftool iter pin "$OBJECT" "$ITER" map pinned "$MAP" ||
    { say "iter pin failed: loading a tracing program needs root and no kernel lockdown"; exit 1; }
"#,
    );
    for (i, r) in sc.reads.iter().enumerate() {
        let _ = writeln!(
            s,
            "# Session {}: {}-byte reads.\n$ON_CPU dd if=\"$ITER\" bs={} status=none || say \"session {}: read failed\"",
            i + 1,
            r.read_size,
            r.read_size,
            i + 1
        );
    }
    if sc.dump_map_after {
        s.push_str("say \"map after the reads:\"\nbpftool -j map dump pinned \"$MAP\"\n");
    }
    Ok(s)
}

/// A shell loop piping the generator's updates into one `bpftool batch file -` (bpffs holds
/// no regular files, and one process is much faster than one per entry; bpftool stops a
/// batch at its first failure: once a hash map is full, every later new
/// key fails too, so the map ends the same).
#[expect(
    clippy::too_many_arguments,
    reason = "the generator's fields and the sizes, each named"
)]
fn gen_loop(
    s: &mut String,
    count: u64,
    start: u64,
    step: u64,
    mul: u64,
    add: u64,
    ks: usize,
    vs: usize,
) {
    let bytes = |var: &str, n: usize| -> (String, String) {
        let mut fmt = Vec::with_capacity(n);
        let mut args = Vec::new();
        for i in 0..n {
            if i < 8 {
                fmt.push("%02x");
                args.push(format!("$(( ({var} >> {}) & 255 ))", 8 * i));
            } else {
                fmt.push("00");
            }
        }
        (fmt.join(" "), args.join(" "))
    };
    let (kfmt, kargs) = bytes("k", ks);
    let (vfmt, vargs) = bytes("v", vs);
    let _ = write!(
        s,
        r#"i=0
while [ "$i" -lt {count} ]; do
    k=$(({start} + i * {step}))
    v=$((k * {mul} + {add}))
    printf 'map update pinned %s key hex {kfmt} value hex {vfmt} any\n' "$MAP" {kargs} {vargs}
    i=$((i + 1))
done | $ON_CPU bpftool batch file - >/dev/null || failed 'map.entries (batch)'
"#
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sc(map: &str) -> Scenario {
        Scenario::from_json(&format!(r#"{{"program":"p.bpf.o","map":{map}}}"#)).unwrap()
    }

    #[test]
    fn entries_and_ops_become_commands_in_order() {
        let s = bpftool_script(
            &sc(
                r#"{"type":"hash","name":"m","key_size":4,"value_size":4,"max_entries":2,
            "flags":64,"entries":[{"key":"01000000","value":"02000000","flags":"noexist"}],
            "ops":[{"op":"delete","key":"01000000"},
                   {"op":"update","key":"03000000","value":"04000000","flags":"exist"}]}"#,
            ),
            "it's.o",
            2,
        )
        .unwrap();
        let a = s
            .find("key hex 01 00 00 00 value hex 02 00 00 00 noexist || failed 'map.entries[0]'")
            .unwrap();
        let b = s
            .find("map delete pinned \"$MAP\" key hex 01 00 00 00 || failed 'map.ops[0]'")
            .unwrap();
        let c = s
            .find("value hex 04 00 00 00 exist || failed 'map.ops[1]'")
            .unwrap();
        assert!(a < b && b < c);
        assert!(s.contains(r"OBJECT=${ITERSCOPE_OBJECT:-'it'\''s.o'}"));
        assert!(s.contains("name 'm' flags 64"));
        assert!(s.contains("dd if=\"$ITER\" bs=4096"));
    }

    #[test]
    fn per_cpu_values_must_agree() {
        let same = sc(
            r#"{"type":"percpu_array","key_size":4,"value_size":4,"max_entries":2,
            "entries":[{"key":"00000000","value":["05000000","05000000"]}]}"#,
        );
        let s = bpftool_script(&same, "p.o", 2).unwrap();
        assert!(s.contains("value hex 05 00 00 00 any"));
        // With one CPU only the first value counts.
        let differ = sc(
            r#"{"type":"percpu_array","key_size":4,"value_size":4,"max_entries":2,
            "entries":[{"key":"00000000","value":["05000000","06000000"]}]}"#,
        );
        assert!(bpftool_script(&differ, "p.o", 1).is_ok());
        match bpftool_script(&differ, "p.o", 2) {
            Err(Error::Export(ExportError::PerCpuValuesDiffer { field })) => {
                assert_eq!(field, "map.entries[0].value");
            }
            other => panic!("{other:?}"),
        }
        // A missing CPU gets zeros, so a one-value list differs on two CPUs.
        let short = sc(
            r#"{"type":"percpu_hash","key_size":4,"value_size":4,"max_entries":2,
            "entries":[{"key":"00000000","value":["05000000"]}]}"#,
        );
        assert!(bpftool_script(&short, "p.o", 2).is_err());
        let gen = sc(
            r#"{"type":"lru_percpu_hash","key_size":4,"value_size":8,"max_entries":8,
            "entries":{"gen":"seq","count":4,"cpu_add":100}}"#,
        );
        assert!(matches!(
            bpftool_script(&gen, "p.o", 2),
            Err(Error::Export(ExportError::PerCpuValuesDiffer { .. }))
        ));
    }

    #[test]
    fn a_large_generator_is_a_batch_loop_and_a_small_one_expanded() {
        let small = sc(
            r#"{"type":"hash","key_size":4,"value_size":8,"max_entries":8,
            "entries":{"gen":"seq","count":3,"start":1,"mul":2,"add":5}}"#,
        );
        let s = bpftool_script(&small, "p.o", 2).unwrap();
        // key 3: value 3*2+5 = 11.
        assert!(s.contains("key hex 03 00 00 00 value hex 0b 00 00 00 00 00 00 00 any"));
        assert!(!s.contains("bpftool batch file"));
        let big = sc(
            r#"{"type":"hash","key_size":12,"value_size":4,"max_entries":1000,
            "entries":{"gen":"seq","count":1000}}"#,
        );
        let s = bpftool_script(&big, "p.o", 2).unwrap();
        assert!(s.contains("while [ \"$i\" -lt 1000 ]"));
        assert!(s.contains("key hex %02x %02x %02x %02x %02x %02x %02x %02x 00 00 00 00 value hex %02x %02x %02x %02x any"));
        assert!(s.contains("done | $ON_CPU bpftool batch file - >/dev/null"));
        // Keys past 2^63 wrap in the emulator: expanded, not looped.
        let wraps = sc(
            r#"{"type":"hash","key_size":8,"value_size":8,"max_entries":100,
            "entries":{"gen":"seq","count":100,"start":9223372036854775800}}"#,
        );
        let s = bpftool_script(&wraps, "p.o", 2).unwrap();
        assert!(!s.contains("bpftool batch file"));
        assert!(s.contains("key hex 5b 00 00 00 00 00 00 80"));
    }

    #[test]
    fn bad_fields_are_named() {
        for (map, field) in [
            (
                r#"{"type":"btree","key_size":4,"value_size":4,"max_entries":1}"#,
                "map.type",
            ),
            (
                r#"{"type":"hash","key_size":4,"value_size":4,"max_entries":1,
                "entries":[{"key":"0g","value":"00"}]}"#,
                "map.entries[0].key",
            ),
            (
                r#"{"type":"hash","key_size":4,"value_size":4,"max_entries":1,
                "ops":[{"op":"update","key":"00000000"}]}"#,
                "map.ops[0].value",
            ),
            (
                r#"{"type":"hash","key_size":4,"value_size":4,"max_entries":1,
                "entries":[{"key":"00000000","value":"00000000","flags":"maybe"}]}"#,
                "map.entries[0].flags",
            ),
        ] {
            match bpftool_script(&sc(map), "p.o", 2) {
                Err(Error::Scenario(ScenarioError::Field { field: f, .. })) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        assert!(matches!(
            bpftool_script(
                &sc(r#"{"type":"hash","key_size":4,"value_size":4,"max_entries":1}"#),
                "p.o",
                0
            ),
            Err(Error::Export(ExportError::NoCpus))
        ));
    }
}
