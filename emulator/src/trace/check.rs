//! The cross-check of one call: the same call run by rbpf on one machine and by the tracing
//! interpreter on a twin machine built from the same scenario, compared on r0, the engine
//! error, the bytes written to the seq_file and trace pipe, the helper calls (arguments and
//! results), helper faults, map sizes and every byte of every guest region afterwards.
//!
//! The twins hold their regions at different host addresses, so values that are guest
//! pointers (r0, helper arguments and results, the context's pointer fields) are compared as
//! `region + offset`. Region bytes are compared raw: a program that stores a pointer into a
//! map would show up as a (false) disagreement; the verifier lets iterator programs do that,
//! but none of the examples or recorded cases does.
//!
//! Not here: the stack (rbpf frees its stack when the call returns; the tracer's is in the
//! trace) and anything before the call (both machines ran the same calls on rbpf).

use std::fmt::Write as _;

use crate::iter::{CallRecord, Machine};
use crate::mem::RBPF_STACK_SIZE;
use crate::Error;

/// One machine's view of the call.
pub(super) struct Side<'a> {
    pub(super) machine: &'a Machine,
    pub(super) result: &'a Result<(), Error>,
    pub(super) record: Option<&'a CallRecord>,
}

/// A value as the cross-check compares it: a pointer into a named region, or a number.
#[derive(Debug, PartialEq, Eq)]
enum Norm {
    Ptr(String, u64),
    Raw(u64),
}

impl std::fmt::Display for Norm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Norm::Ptr(r, o) => write!(f, "{r}+{o}"),
            Norm::Raw(v) => write!(f, "{v:#x}"),
        }
    }
}

fn norm(m: &Machine, v: u64) -> Norm {
    if let Some(base) = m.world().stack_base {
        if v >= base && v <= base + RBPF_STACK_SIZE as u64 {
            return Norm::Ptr("stack".into(), v - base);
        }
    }
    for (name, r) in m.named_regions() {
        // one past the end still names the region (a frame pointer, an end pointer)
        if v >= r.addr() && v <= r.addr() + r.len() as u64 {
            return Norm::Ptr(name, v - r.addr());
        }
    }
    Norm::Raw(v)
}

fn result_text(m: &Machine, r: &Result<(), Error>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(Error::Read(crate::iter::ReadError::Run { source, .. })) => match source {
            crate::vm::RunError::OutOfBounds {
                insn,
                access,
                addr,
                size,
            } => format!(
                "out of bounds {access} at insn {insn}: {} size {size}",
                norm(m, *addr)
            ),
            other => other.to_string(),
        },
        Err(e) => e.to_string(),
    }
}

/// `None` when the two sides agree; else what differs (`a` is rbpf, `b` the tracer).
pub(super) fn compare(a: Side<'_>, b: Side<'_>) -> Option<String> {
    let mut diffs = Vec::new();
    let (ra, rb) = (
        result_text(a.machine, a.result),
        result_text(b.machine, b.result),
    );
    if ra != rb {
        diffs.push(format!("result: rbpf {ra}, tracer {rb}"));
    }
    match (a.record, b.record) {
        (Some(x), Some(y)) => compare_records(a.machine, x, b.machine, y, &mut diffs),
        (None, None) => {}
        _ => diffs.push("only one engine completed the call".into()),
    }
    compare_worlds(a.machine, b.machine, &mut diffs);
    if diffs.is_empty() {
        None
    } else {
        Some(diffs.join("; "))
    }
}

fn compare_records(
    ma: &Machine,
    a: &CallRecord,
    mb: &Machine,
    b: &CallRecord,
    diffs: &mut Vec<String>,
) {
    let (ra, rb) = (norm(ma, a.ret), norm(mb, b.ret));
    if ra != rb {
        diffs.push(format!("r0: rbpf {ra}, tracer {rb}"));
    }
    if a.output != b.output {
        diffs.push(format!(
            "output: rbpf {:?}, tracer {:?}",
            String::from_utf8_lossy(&a.output),
            String::from_utf8_lossy(&b.output)
        ));
    }
    if a.helpers.len() != b.helpers.len() {
        diffs.push(format!(
            "helper calls: rbpf made {}, tracer {}",
            a.helpers.len(),
            b.helpers.len()
        ));
    }
    for (i, (x, y)) in a.helpers.iter().zip(&b.helpers).enumerate() {
        let mut d = String::new();
        if x.id != y.id {
            let _ = write!(d, " id {} vs {}", x.id, y.id);
        }
        for (k, (p, q)) in x.args.iter().zip(&y.args).enumerate() {
            let (p, q) = (norm(ma, *p), norm(mb, *q));
            if p != q {
                let _ = write!(d, " r{}: {p} vs {q}", k + 1);
            }
        }
        let (p, q) = (norm(ma, x.ret), norm(mb, y.ret));
        if p != q {
            let _ = write!(d, " ret {p} vs {q}");
        }
        if !d.is_empty() {
            diffs.push(format!("helper call {i} (rbpf vs tracer):{d}"));
        }
    }
    let fa = a.fault.as_ref().map(|f| f.helper);
    let fb = b.fault.as_ref().map(|f| f.helper);
    if fa != fb {
        diffs.push(format!("helper fault: rbpf {fa:?}, tracer {fb:?}"));
    }
    if (a.discarded, a.is_stop, a.seq_num) != (b.discarded, b.is_stop, b.seq_num) {
        diffs.push("call bookkeeping differs".into());
    }
}

fn compare_worlds(ma: &Machine, mb: &Machine, diffs: &mut Vec<String>) {
    let (wa, wb) = (ma.world(), mb.world());
    if wa.seq.buf != wb.seq.buf || wa.seq.overflowed != wb.seq.overflowed {
        diffs.push("seq_file buffer differs".into());
    }
    if wa.trace_pipe != wb.trace_pipe {
        diffs.push("trace_pipe differs".into());
    }
    if (wa.ktime_ns, wa.prandom) != (wb.ktime_ns, wb.prandom) {
        diffs.push("clock or prandom state differs".into());
    }
    for (x, y) in wa.maps.iter().zip(&wb.maps) {
        if x.len() != y.len() {
            diffs.push(format!(
                "map {} has {} entries after rbpf, {} after the tracer",
                x.def().name,
                x.len(),
                y.len()
            ));
        }
    }
    let (ra, rb) = (ma.named_regions(), mb.named_regions());
    if ra.len() != rb.len() {
        diffs.push("the machines' regions differ".into());
        return;
    }
    for ((name, x), (_, y)) in ra.iter().zip(&rb) {
        if name == "ctx" {
            // The context holds pointers: compare it word by word as values.
            let words = |m: &Machine, r: &crate::mem::Region| -> Vec<Norm> {
                r.bytes()
                    .chunks_exact(8)
                    .map(|c| {
                        let mut b = [0u8; 8];
                        b.copy_from_slice(c);
                        norm(m, u64::from_le_bytes(b))
                    })
                    .collect()
            };
            if words(ma, x) != words(mb, y) {
                diffs.push("context differs".into());
            }
            continue;
        }
        let (bx, by) = (x.bytes(), y.bytes());
        if bx != by {
            let at = bx
                .iter()
                .zip(by)
                .position(|(p, q)| p != q)
                .unwrap_or(bx.len().min(by.len()));
            diffs.push(format!(
                "memory {name} differs at offset {at}: rbpf {:#04x}, tracer {:#04x}",
                bx.get(at).copied().unwrap_or(0),
                by.get(at).copied().unwrap_or(0)
            ));
        }
    }
}
