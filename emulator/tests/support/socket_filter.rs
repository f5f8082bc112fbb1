//! Records a data-driven verifier case (`tests/data/verifier/*.s`) on the running kernel.
//! Kernels under lockdown refuse every `BPF_PROG_TYPE_TRACING` load before the verifier
//! runs, so an iterator cannot be loaded there; a socket filter can, and the verifier rules
//! that do not depend on the program type (control flow, stack, registers, ALU, map values,
//! generic helpers, bpf-to-bpf calls) give the same first error for both. So the case is
//! assembled with our assembler, its `iter/bpf_map_elem` section renamed `socket` (data
//! sections and `.map` definitions are kept), and loaded with
//! `bpftool -d prog load OBJ /sys/fs/bpf/iterscope-vcase-<pid> type socket`; the verdict,
//! the error line and the errno come from bpftool's output. The pin is always removed.
//!
//! Not here: iterator-specific rules (context types, `bpf_seq_*` helpers, the `[0, 1]`
//! return range, the attach check). Whether a case is generic is the case author's call,
//! made by giving it a `; recorded:` header.

use std::path::{Path, PathBuf};
use std::process::Command;

use iterscope_emulator::asm::parse::{AsmReloc, RelocKind, RelocRef, Section, SectionKind, Symbol};
use iterscope_emulator::asm::{assemble, write_object, AsmOutput};

/// The section the assembler puts code in when a case names none.
const ITER_SECTION: &str = "iter/bpf_map_elem";

/// What the kernel said about one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelVerdict {
    /// Whether `BPF_PROG_LOAD` succeeded.
    pub accepted: bool,
    /// The verifier's error line (empty when accepted).
    pub error: String,
    /// `strerror` of the load's errno (`None` when accepted).
    pub errno: Option<String>,
    /// The whole verifier log.
    pub log: String,
}

fn ok(cmd: &mut Command) -> Result<Vec<u8>, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!("{cmd:?}: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// Why socket filters cannot be loaded here, if they cannot: not root, no bpftool, no bpffs,
/// or a trivial `r0 = 0; exit` socket filter is refused.
pub fn unavailable() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"));
    if !root {
        return Some("not running as root".into());
    }
    if ok(Command::new("bpftool").arg("version")).is_err() {
        return Some("bpftool is not installed".into());
    }
    let mounted = std::fs::read_to_string("/proc/mounts")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some("/sys/fs/bpf"));
    if !mounted && ok(Command::new("mount").args(["-t", "bpf", "bpf", "/sys/fs/bpf"])).is_err() {
        return Some("cannot mount bpffs at /sys/fs/bpf".into());
    }
    match record("    r0 = 0\n    exit\n") {
        Ok(v) if v.accepted => None,
        Ok(v) => Some(format!(
            "the kernel refuses a trivial socket filter: {} {:?}",
            v.error, v.errno
        )),
        Err(e) => Some(format!("cannot load a trivial socket filter: {e}")),
    }
}

/// The case's object with its iterator section renamed `socket`. libbpf wants the targets of
/// bpf-to-bpf calls in `.text`, so when the program calls into its own section the code from
/// the first call target on moves to a `.text` function and the calls into it get
/// `R_BPF_64_32` relocations; libbpf appends `.text` right after the program, so every
/// instruction keeps its index and the kernel's messages name the same instructions.
pub fn socket_object(case: &str) -> Result<Vec<u8>, String> {
    let mut out: AsmOutput = assemble(case).map_err(|e| format!("assemble: {e}"))?;
    let Some(si) = out.sections.iter().position(|s| s.name == ITER_SECTION) else {
        return Err(format!(
            "no `{ITER_SECTION}` section to load as a socket filter"
        ));
    };
    let sec = &mut out.sections[si];
    sec.name = "socket".into();
    // Our loader takes a label-less section as one program; libbpf wants a symbol.
    if !sec.symbols.iter().any(|y| y.func && y.offset == 0) {
        sec.symbols.insert(
            0,
            Symbol {
                name: "prog".into(),
                offset: 0,
                size: sec.data.len() as u64,
                func: true,
            },
        );
    }
    let n = sec.data.len() / 8;
    let insn = |d: &[u8], i: usize| -> [u8; 8] { d[i * 8..i * 8 + 8].try_into().unwrap() };
    let relocated = |sec: &Section, i: usize| sec.relocs.iter().any(|r| r.offset == i as u64 * 8);
    // Local calls: (index, target).
    let calls: Vec<(usize, usize)> = (0..n)
        .filter_map(|i| {
            let b = insn(&sec.data, i);
            let imm = i64::from(i32::from_le_bytes([b[4], b[5], b[6], b[7]]));
            (b[0] == 0x85 && b[1] >> 4 == 1 && !relocated(sec, i))
                .then(|| (i, usize::try_from(i as i64 + imm + 1).unwrap_or(usize::MAX)))
        })
        .collect();
    let Some(k) = calls.iter().map(|c| c.1).filter(|&t| t > 0 && t < n).min() else {
        return Ok(write_object(&out));
    };
    let text_idx = out.sections.len();
    let sec = &mut out.sections[si];
    let tail = sec.data.split_off(k * 8);
    let tail_lines = sec.lines.split_off(k.min(sec.lines.len()));
    for y in &mut sec.symbols {
        y.size = y.size.min(k as u64 * 8 - y.offset.min(k as u64 * 8));
    }
    let (moved, kept): (Vec<AsmReloc>, Vec<AsmReloc>) = std::mem::take(&mut sec.relocs)
        .into_iter()
        .partition(|r| r.offset >= k as u64 * 8);
    sec.relocs = kept;
    for &(i, t) in calls.iter().filter(|c| c.0 < k && c.1 >= k) {
        let imm = (t - k) as i32 - 1;
        sec.data[i * 8 + 4..i * 8 + 8].copy_from_slice(&imm.to_le_bytes());
        sec.relocs.push(AsmReloc {
            offset: i as u64 * 8,
            kind: RelocKind::Call,
            target: RelocRef::Symbol {
                section: text_idx,
                symbol: 0,
            },
        });
    }
    let text = Section {
        name: ".text".into(),
        kind: SectionKind::of(".text"),
        symbols: vec![Symbol {
            name: "sub".into(),
            offset: 0,
            size: tail.len() as u64,
            func: true,
        }],
        relocs: moved
            .into_iter()
            .map(|r| AsmReloc {
                offset: r.offset - k as u64 * 8,
                ..r
            })
            .collect(),
        data: tail,
        lines: tail_lines,
    };
    out.sections.push(text);
    Ok(write_object(&out))
}

/// The verifier log between libbpf's `BEGIN PROG LOAD LOG` and `END PROG LOAD LOG` markers
/// (the last one, should libbpf have retried).
fn extract_log(stderr: &str) -> String {
    let Some(start) = stderr.rfind("-- BEGIN PROG LOAD LOG --") else {
        return String::new();
    };
    let rest = &stderr[start..];
    let rest = rest.split_once('\n').map_or("", |(_, r)| r);
    rest.split("-- END PROG LOAD LOG --")
        .next()
        .unwrap_or("")
        .to_string()
}

/// The error line of a rejection log: the last non-empty line before the statistics
/// (`verification time ...`, `processed N insns ...`), except that an `infinite loop
/// detected` line, which the kernel follows with a state dump, is the error itself. This is
/// the rule the oracle's recorded `verifier_error` fields follow.
pub fn error_line(log: &str) -> String {
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    let cut = lines
        .iter()
        .position(|l| {
            l.starts_with("verification time ")
                || (l.starts_with("processed ") && l.contains(" insns "))
        })
        .unwrap_or(lines.len());
    if let Some(l) = lines[..cut]
        .iter()
        .find(|l| l.starts_with("infinite loop detected"))
    {
        return (*l).to_string();
    }
    cut.checked_sub(1)
        .map(|i| lines[i].to_string())
        .unwrap_or_default()
}

/// The errno of libbpf's `prog 'NAME': failed to load: -N` line, as `strerror` spells it.
fn load_errno(stderr: &str) -> Option<String> {
    let n: i32 = stderr
        .lines()
        .rev()
        .find_map(|l| l.split_once("failed to load: -").map(|(_, n)| n.trim()))?
        .parse()
        .ok()?;
    let text = std::io::Error::from_raw_os_error(n).to_string();
    Some(match text.split_once(" (os error") {
        Some((t, _)) => t.to_string(),
        None => text,
    })
}

fn temp_object(pid: u32) -> PathBuf {
    std::env::temp_dir().join(format!("iterscope-vcase-{pid}.o"))
}

/// Loads `case` (assembly text) as a socket filter and reports the kernel's verdict.
pub fn record(case: &str) -> Result<KernelVerdict, String> {
    let obj = socket_object(case)?;
    let pid = std::process::id();
    let obj_path = temp_object(pid);
    let pin = format!("/sys/fs/bpf/iterscope-vcase-{pid}");
    std::fs::write(&obj_path, obj).map_err(|e| format!("write {}: {e}", obj_path.display()))?;
    let _ = std::fs::remove_file(&pin);
    let out = Command::new("bpftool")
        .arg("-d")
        .args(["prog", "load"])
        .arg(&obj_path)
        .arg(&pin)
        .args(["type", "socket"])
        .output();
    let pinned = Path::new(&pin).exists();
    let _ = std::fs::remove_file(&pin);
    let _ = std::fs::remove_file(&obj_path);
    let out = out.map_err(|e| format!("bpftool: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let log = extract_log(&stderr);
    if out.status.success() && pinned {
        return Ok(KernelVerdict {
            accepted: true,
            error: String::new(),
            errno: None,
            log,
        });
    }
    let errno = load_errno(&stderr);
    if errno.is_none() {
        return Err(format!("bpftool failed without a load error: {stderr}"));
    }
    Ok(KernelVerdict {
        accepted: false,
        error: error_line(&log),
        errno,
        log,
    })
}
