//! Disassembly annotated with C source lines and function labels, for the CLI's `disasm`
//! and the web app's disassembly view.
//!
//! Before an instruction that starts a `.BTF.ext` line-info record, [`disasm_with_lines`]
//! prints the record the way the kernel verifier log does (`; <source> @ <file>:<line>`:
//! source text without leading whitespace, base name of the file), skipping a record with
//! the same file and line as the one printed just before, as the kernel does. Each function
//! placed in the program (the program itself, then its `.text` subprograms) gets a
//! `name:` label. Out of scope: column numbers and the verifier's register states.

use std::fmt::Write;

use crate::elf::{LineInfo, Program};

/// The verifier log's annotation for a line-info record: `; <source> @ <file>:<line>`.
pub fn line_annotation(l: &LineInfo) -> String {
    let file = l.file.rsplit('/').next().unwrap_or(&l.file);
    format!("; {} @ {}:{}", l.source.trim_start(), file, l.line)
}

/// Disassembles `prog` one instruction a line (`   17: (85) call bpf_seq_printf#126`),
/// with function labels and source-line annotations (see the module docs).
///
/// # Examples
///
/// ```no_run
/// let bytes = std::fs::read("prog.bpf.o").unwrap();
/// let obj = iterscope_emulator::elf::parse(&bytes, "prog").unwrap();
/// print!("{}", iterscope_emulator::asm::disasm_with_lines(&obj.programs[0]));
/// ```
pub fn disasm_with_lines(prog: &Program) -> String {
    annotate(prog, super::disasm_program(&prog.insns), true)
}

/// Like [`disasm_with_lines`], with map and global references by name (see
/// [`super::disasm_linked`]): what `iterscope disasm` prints.
pub fn disasm_linked_with_lines(prog: &Program, obj: &crate::elf::Object) -> String {
    annotate(prog, super::disasm_linked(prog, obj), false)
}

/// `entry_label`: print the program's own name at instruction 0 (the CLI prints a header
/// line naming it instead, which the assembler reads as that label).
fn annotate(prog: &Program, insns: Vec<(usize, u8, String)>, entry_label: bool) -> String {
    let mut out = String::new();
    let mut line_idx = 0;
    let mut prev: Option<(&str, u32)> = None;
    for (k, op, text) in insns {
        for f in prog
            .funcs
            .iter()
            .filter(|f| f.insn == k && (entry_label || k != 0))
        {
            let _ = writeln!(out, "{}:", f.name);
            prev = None;
        }
        // The record that applies is the last one starting at or before `k`; it is printed
        // only at the instruction it starts at (a record inside an `lddw` is skipped).
        let mut here = None;
        while let Some(l) = prog.line_info.get(line_idx).filter(|l| l.insn <= k) {
            if l.insn == k {
                here = Some(l);
            }
            line_idx += 1;
        }
        if let Some(l) = here {
            if prev != Some((l.file.as_str(), l.line)) {
                let _ = writeln!(out, "{}", line_annotation(l));
                prev = Some((l.file.as_str(), l.line));
            }
        }
        let _ = writeln!(out, "{k:>5}: ({op:02x}) {text}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::{FuncInfo, ProgramKind};

    fn line(insn: usize, line: u32, source: &str) -> LineInfo {
        LineInfo {
            insn,
            file: "/src/dir/prog.bpf.c".into(),
            line,
            col: 1,
            source: source.into(),
        }
    }

    #[test]
    fn annotates_like_the_verifier_log() {
        let mut insns = Vec::new();
        // r0 = 0; r0 = 1; exit; (subprog) r0 = 2; exit
        for (op, imm) in [(0xb7u8, 0i32), (0xb7, 1), (0x95, 0), (0xb7, 2), (0x95, 0)] {
            insns.extend_from_slice(&[op, 0, 0, 0]);
            insns.extend_from_slice(&imm.to_le_bytes());
        }
        let prog = Program {
            name: "main".into(),
            section: "iter/bpf_map_elem".into(),
            kind: ProgramKind::IterBpfMapElem,
            insns,
            relocs: Vec::new(),
            sleepable: false,
            line_info: vec![
                line(0, 10, "\tint x = 0;"),
                line(1, 10, "\tint x = 0;"),
                line(2, 11, "}"),
                line(3, 0, ""),
            ],
            funcs: vec![
                FuncInfo {
                    insn: 0,
                    name: "main".into(),
                },
                FuncInfo {
                    insn: 3,
                    name: "helper".into(),
                },
            ],
        };
        let text = disasm_with_lines(&prog);
        let want = "main:\n; int x = 0; @ prog.bpf.c:10\n    0: (b7) r0 = 0\n    1: (b7) r0 = 1\n\
                    ; } @ prog.bpf.c:11\n    2: (95) exit\nhelper:\n;  @ prog.bpf.c:0\n    3: (b7) r0 = 2\n    4: (95) exit\n";
        assert_eq!(text, want);
    }
}
