//! Text form of BPF instructions, in the syntax of the kernel verifier log (which is also
//! what `llvm-objdump -d` prints, modulo spacing): `r2 = *(u64 *)(r1 +24)`,
//! `if r2 == 0x0 goto pc+5`, `call bpf_seq_printf#126`, `lock *(u64 *)(r1 +0) += r2`.
//!
//! [`disasm`] decodes one instruction; [`disasm_program`] walks a whole program (joining the
//! two slots of `lddw`); [`disasm_linked`] prints a loaded program's map and global
//! references by name (`r1 = map[hist]`, `r1 = map[.rodata][0]+12`) and [`object_to_asm`]
//! prints a whole loaded [`Object`] (maps, global data, programs) as assembler source;
//! [`disasm_with_lines`] (in `source`) adds C source lines from `.BTF.ext` and function
//! labels, as the verifier log does. [`parse`] holds the assembler ([`assemble`]) and
//! [`write`] the ELF writer ([`write_object`]); `disasm` → `assemble` → `write_object` →
//! [`crate::elf::parse`] gives back the same instructions.
//!
//! Not here: BTF-typed decoding of values, and `.BTF.ext` output.

mod source;

pub use self::source::{disasm_linked_with_lines, disasm_with_lines, line_annotation};

use crate::elf::{Object, Program, RelocTarget};
use crate::helpers::ids;

pub mod parse;
pub mod write;

pub use self::parse::{assemble, AsmError, AsmErrorKind, AsmOutput};
pub use self::write::write_object;

/// One decoded instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    /// Opcode byte.
    pub op: u8,
    /// Destination register.
    pub dst: u8,
    /// Source register.
    pub src: u8,
    /// Offset.
    pub off: i16,
    /// Immediate.
    pub imm: i32,
}

impl Insn {
    /// Decodes 8 bytes (little-endian BPF).
    pub fn decode(b: &[u8; 8]) -> Insn {
        Insn {
            op: b[0],
            dst: b[1] & 0x0f,
            src: b[1] >> 4,
            off: i16::from_le_bytes([b[2], b[3]]),
            imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    /// Encodes back to 8 bytes.
    pub fn encode(&self) -> [u8; 8] {
        let o = self.off.to_le_bytes();
        let i = self.imm.to_le_bytes();
        [
            self.op,
            self.dst | (self.src << 4),
            o[0],
            o[1],
            i[0],
            i[1],
            i[2],
            i[3],
        ]
    }
}

fn size_name(op: u8) -> &'static str {
    match op & 0x18 {
        0x00 => "u32",
        0x08 => "u16",
        0x10 => "u8",
        _ => "u64",
    }
}

fn ssize_name(op: u8) -> &'static str {
    match op & 0x18 {
        0x00 => "s32",
        0x08 => "s16",
        0x10 => "s8",
        _ => "s64",
    }
}

fn alu_op(code: u8, off: i16) -> &'static str {
    match code {
        0x00 => "+=",
        0x10 => "-=",
        0x20 => "*=",
        0x30 if off == 1 => "s/=",
        0x30 => "/=",
        0x40 => "|=",
        0x50 => "&=",
        0x60 => "<<=",
        0x70 => ">>=",
        0x90 if off == 1 => "s%=",
        0x90 => "%=",
        0xa0 => "^=",
        0xb0 => "=",
        0xc0 => "s>>=",
        _ => "?=",
    }
}

fn jmp_op(code: u8) -> &'static str {
    match code {
        0x10 => "==",
        0x20 => ">",
        0x30 => ">=",
        0x40 => "&",
        0x50 => "!=",
        0x60 => "s>",
        0x70 => "s>=",
        0xa0 => "<",
        0xb0 => "<=",
        0xc0 => "s<",
        0xd0 => "s<=",
        _ => "?",
    }
}

/// Text of one instruction; `next_imm` is the second slot's immediate for `lddw`.
pub fn disasm(i: &Insn, next_imm: Option<i32>) -> String {
    let class = i.op & 0x07;
    let (d, s) = (i.dst, i.src);
    match class {
        0x00 if i.op == 0x18 => {
            let hi = next_imm.unwrap_or(0) as u32;
            let v = (u64::from(hi) << 32) | u64::from(i.imm as u32);
            match s {
                1 => format!("r{d} = map[fd:{}]", i.imm),
                2 => format!("r{d} = map[fd:{}][0]+{}", i.imm, hi),
                _ => format!("r{d} = {v:#x}"),
            }
        }
        0x00 => format!("(bad ld {:#04x})", i.op),
        0x01 => {
            if i.op & 0xe0 == 0x80 {
                format!("r{d} = *({} *)(r{s} {:+})", ssize_name(i.op), i.off)
            } else {
                format!("r{d} = *({} *)(r{s} {:+})", size_name(i.op), i.off)
            }
        }
        0x02 => format!("*({} *)(r{d} {:+}) = {}", size_name(i.op), i.off, i.imm),
        0x03 => {
            let sz = size_name(i.op);
            if i.op & 0xe0 == 0xc0 {
                let width = if i.op & 0x18 == 0x18 { "64" } else { "" };
                let reg = if i.op & 0x18 == 0x18 { 'r' } else { 'w' };
                let fetch = i.imm & 0x01 != 0;
                let base = i.imm & !0x01;
                match (base, fetch) {
                    (0x00, false) => format!("lock *({sz} *)(r{d} {:+}) += {reg}{s}", i.off),
                    (0x40, false) => format!("lock *({sz} *)(r{d} {:+}) |= {reg}{s}", i.off),
                    (0x50, false) => format!("lock *({sz} *)(r{d} {:+}) &= {reg}{s}", i.off),
                    (0xa0, false) => format!("lock *({sz} *)(r{d} {:+}) ^= {reg}{s}", i.off),
                    (0x00, true) => format!(
                        "{reg}{s} = atomic{width}_fetch_add(({sz} *)(r{d} {:+}), {reg}{s})",
                        i.off
                    ),
                    (0x40, true) => format!(
                        "{reg}{s} = atomic{width}_fetch_or(({sz} *)(r{d} {:+}), {reg}{s})",
                        i.off
                    ),
                    (0x50, true) => format!(
                        "{reg}{s} = atomic{width}_fetch_and(({sz} *)(r{d} {:+}), {reg}{s})",
                        i.off
                    ),
                    (0xa0, true) => format!(
                        "{reg}{s} = atomic{width}_fetch_xor(({sz} *)(r{d} {:+}), {reg}{s})",
                        i.off
                    ),
                    (0xe0, true) => format!(
                        "{reg}{s} = atomic{width}_xchg(({sz} *)(r{d} {:+}), {reg}{s})",
                        i.off
                    ),
                    (0xf0, true) => format!(
                        "r0 = atomic{width}_cmpxchg(({sz} *)(r{d} {:+}), r0, {reg}{s})",
                        i.off
                    ),
                    _ => format!("(bad atomic {:#x})", i.imm),
                }
            } else {
                format!("*({sz} *)(r{d} {:+}) = r{s}", i.off)
            }
        }
        0x04 | 0x07 => {
            let r = if class == 0x07 { 'r' } else { 'w' };
            let code = i.op & 0xf0;
            let x = i.op & 0x08 != 0;
            match code {
                0x80 => format!("{r}{d} = -{r}{d}"),
                0xd0 => {
                    let name = if class == 0x07 {
                        "bswap"
                    } else if x {
                        "be"
                    } else {
                        "le"
                    };
                    format!("r{d} = {name}{} r{d}", i.imm)
                }
                0xb0 if x && i.off != 0 => format!("{r}{d} = (s{}){r}{s}", i.off),
                _ => {
                    let op = alu_op(code, i.off);
                    if x {
                        format!("{r}{d} {op} {r}{s}")
                    } else {
                        format!("{r}{d} {op} {}", i.imm)
                    }
                }
            }
        }
        0x05 | 0x06 => {
            let code = i.op & 0xf0;
            let r = if class == 0x06 { 'w' } else { 'r' };
            match code {
                0x00 if class == 0x06 => format!("gotol pc{:+}", i.imm),
                0x00 => format!("goto pc{:+}", i.off),
                0x80 => match s {
                    1 => format!("call pc{:+}", i.imm),
                    2 => format!("call kernel-function#{}", i.imm),
                    _ => match ids::helper_name(i.imm as u32) {
                        Some(name) => format!("call {name}#{}", i.imm),
                        None => format!("call unknown#{}", i.imm),
                    },
                },
                0x90 => "exit".to_string(),
                _ => {
                    let op = jmp_op(code);
                    if i.op & 0x08 != 0 {
                        format!("if {r}{d} {op} {r}{s} goto pc{:+}", i.off)
                    } else {
                        format!("if {r}{d} {op} {:#x} goto pc{:+}", i.imm as u32, i.off)
                    }
                }
            }
        }
        _ => format!("(bad {:#04x})", i.op),
    }
}

/// Disassembles a whole program: `(index, opcode, text)` per instruction (`lddw` once).
pub fn disasm_program(bytes: &[u8]) -> Vec<(usize, u8, String)> {
    let n = bytes.len() / 8;
    let get = |k: usize| -> Option<Insn> {
        let mut b = [0u8; 8];
        b.copy_from_slice(bytes.get(k * 8..k * 8 + 8)?);
        Some(Insn::decode(&b))
    };
    let mut out = Vec::with_capacity(n);
    let mut k = 0;
    while let Some(i) = get(k) {
        let next = if i.op == 0x18 {
            get(k + 1).map(|x| x.imm)
        } else {
            None
        };
        out.push((k, i.op, disasm(&i, next)));
        k += if i.op == 0x18 { 2 } else { 1 };
    }
    out
}

/// Disassembles a loaded program like [`disasm_program`], but prints each relocated
/// `ld_imm64` by name, in a form [`assemble`] reads back as a relocation:
/// `r1 = map[NAME]` for a map and `r1 = map[SECTION][0]+OFF` for global data. A plain
/// `ld_imm64` gets an `ll` suffix so that it re-assembles as `ld_imm64` even when its value
/// is small.
pub fn disasm_linked(prog: &Program, obj: &Object) -> Vec<(usize, u8, String)> {
    let mut out = disasm_program(&prog.insns);
    for (k, op, text) in &mut out {
        if *op != 0x18 {
            continue;
        }
        let dst = prog.insns.get(*k * 8 + 1).map_or(0, |b| b & 0x0f);
        let src = prog.insns.get(*k * 8 + 1).map_or(0, |b| b >> 4);
        match prog.relocs.iter().find(|r| r.insn == *k).map(|r| &r.target) {
            Some(RelocTarget::Map(m)) => {
                if let Some(spec) = obj.maps.get(*m) {
                    *text = format!("r{dst} = map[{}]", spec.name);
                }
            }
            Some(RelocTarget::Global { global, offset }) => {
                if let Some(g) = obj.globals.get(*global) {
                    *text = format!("r{dst} = map[{}][0]+{offset}", g.section);
                }
            }
            None if src == 0 => text.push_str(" ll"),
            None => {}
        }
    }
    out
}

/// A string literal for the assembler.
fn quote(s: &[u8]) -> String {
    let mut q = String::from("\"");
    for &b in s {
        match b {
            b'\n' => q.push_str("\\n"),
            b'\t' => q.push_str("\\t"),
            b'"' => q.push_str("\\\""),
            b'\\' => q.push_str("\\\\"),
            0x20..=0x7e => q.push(b as char),
            _ => q.push_str(&format!("\\x{b:02x}")),
        }
    }
    q.push('"');
    q
}

fn is_label(name: &str) -> bool {
    let b = name.as_bytes();
    b.first()
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
}

/// Prints a loaded object as assembler source that [`assemble`] turns back into an
/// equivalent object: a `.map` directive per map, each global data section with its bytes,
/// the license, then each program (linked: with its subprograms appended, calls
/// pc-relative) under `.section "SEC"` and its name as a `.globl` label. Source lines from
/// `.BTF.ext` become `;` comments.
pub fn object_to_asm(obj: &Object) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    for m in &obj.maps {
        let _ = writeln!(
            s,
            ".map {}, type={}, key={}, value={}, max_entries={}, flags={}",
            m.name, m.map_type, m.key_size, m.value_size, m.max_entries, m.map_flags
        );
    }
    for g in &obj.globals {
        let _ = writeln!(s, "\n.section {}", quote(g.section.as_bytes()));
        if g.data.iter().all(|&b| b == 0) {
            let _ = writeln!(s, "    .zero {}", g.data.len());
            continue;
        }
        // Read-only data made only of NUL-terminated text (format strings): `.asciz` lines.
        let texty = |b: &u8| (0x20..0x7f).contains(b) || matches!(b, b'\n' | b'\t');
        if g.data.last() == Some(&0)
            && g.data
                .split(|&b| b == 0)
                .all(|piece| piece.iter().all(texty))
            && g.data.windows(2).all(|w| w != [0, 0])
            && g.data[0] != 0
        {
            for piece in g.data[..g.data.len() - 1].split(|&b| b == 0) {
                let _ = writeln!(s, "    .asciz {}", quote(piece));
            }
            continue;
        }
        for chunk in g.data.chunks(16) {
            let bytes: Vec<String> = chunk.iter().map(|b| format!("{b:#04x}")).collect();
            let _ = writeln!(s, "    .byte {}", bytes.join(", "));
        }
    }
    if !obj.license.is_empty() {
        let _ = writeln!(s, "\n.license {}", quote(obj.license.as_bytes()));
    }
    for p in &obj.programs {
        let _ = writeln!(s, "\n.section {}", quote(p.section.as_bytes()));
        if is_label(&p.name) {
            let _ = writeln!(s, ".globl {}\n{}:", p.name, p.name);
        }
        for (k, _, text) in disasm_linked(p, obj) {
            if let Some(f) = p.funcs.iter().find(|f| f.insn == k && k != 0) {
                let _ = writeln!(s, "; subprogram {}", f.name);
            }
            for l in p.line_info.iter().filter(|l| l.insn == k) {
                let file = l.file.rsplit('/').next().unwrap_or(&l.file);
                let _ = writeln!(s, "    ; {} @ {file}:{}", l.source.trim(), l.line);
            }
            let _ = writeln!(s, "    {text}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(op: u8, dst: u8, src: u8, off: i16, imm: i32) -> String {
        disasm(
            &Insn {
                op,
                dst,
                src,
                off,
                imm,
            },
            None,
        )
    }

    #[test]
    fn verifier_log_spelling() {
        assert_eq!(t(0x79, 2, 1, 24, 0), "r2 = *(u64 *)(r1 +24)");
        assert_eq!(t(0x7b, 10, 2, -32, 0), "*(u64 *)(r10 -32) = r2");
        assert_eq!(t(0x63, 1, 2, 0, 0), "*(u32 *)(r1 +0) = r2");
        assert_eq!(t(0x15, 2, 0, 1, 0), "if r2 == 0x0 goto pc+1");
        assert_eq!(t(0x55, 3, 0, 22, 0), "if r3 != 0x0 goto pc+22");
        assert_eq!(t(0x05, 0, 0, 35, 0), "goto pc+35");
        assert_eq!(t(0xb7, 3, 0, 0, 30), "r3 = 30");
        assert_eq!(t(0x07, 4, 0, 0, -32), "r4 += -32");
        assert_eq!(t(0xbf, 2, 1, 0, 0), "r2 = r1");
        assert_eq!(t(0x0f, 0, 4, 0, 0), "r0 += r4");
        assert_eq!(t(0x85, 0, 0, 0, 126), "call bpf_seq_printf#126");
        assert_eq!(t(0x95, 0, 0, 0, 0), "exit");
        assert_eq!(t(0xc3, 1, 2, 0, 0), "lock *(u32 *)(r1 +0) += w2");
        assert_eq!(t(0xdb, 1, 2, 0, 0), "lock *(u64 *)(r1 +0) += r2");
        assert_eq!(t(0xdc, 1, 0, 0, 16), "r1 = be16 r1");
        assert_eq!(t(0xbc, 1, 2, 0, 0), "w1 = w2");
        assert_eq!(t(0x2d, 1, 2, 3, 0), "if r1 > r2 goto pc+3");
        let lddw = disasm(
            &Insn {
                op: 0x18,
                dst: 2,
                src: 0,
                off: 0,
                imm: 0x01708000,
            },
            Some(-0x3700_0000),
        );
        assert_eq!(lddw, "r2 = 0xc900000001708000");
    }
}
