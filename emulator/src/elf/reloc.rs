//! Program linking: CO-RE patching per code section, `ld_imm64` map/global relocations and
//! bpf-to-bpf calls.
//!
//! Each code section is copied and patched by its CO-RE records first. Then each function
//! of a program section becomes a [`Program`]: its instructions, followed by every function
//! it calls (transitively, in the order first called), with each `call` immediate rewritten
//! for the new layout. Relocations (`R_BPF_64_64` on `ld_imm64`, `R_BPF_64_32` on calls) of
//! every placed function are resolved against the object's maps and global data.
//!
//! Out of scope: calls to kfuncs or extern functions, `ld_imm64` of function addresses
//! (callbacks) and relocations in data sections; they are rejected with an error.

use std::collections::BTreeMap;

use super::btf::{Btf, BtfExt, BtfKind};
use super::sections::{self, ElfSections, STT_FUNC, STT_SECTION};
use super::{
    core, ElfError, FuncInfo, GlobalData, LineInfo, MapSpec, Program, ProgramKind, Reloc,
    RelocTarget, BPF_PSEUDO_CALL, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE,
};

/// `R_BPF_64_64`: `ld_imm64` relocation.
const R_BPF_64_64: u32 = 1;
/// `R_BPF_64_32`: call relocation.
const R_BPF_64_32: u32 = 10;
/// `BPF_JMP | BPF_CALL`.
const CALL: u8 = 0x85;
/// `BPF_LD | BPF_IMM | BPF_DW`.
const LD_IMM64: u8 = 0x18;

/// A resolved relocation of one instruction of a code section.
#[derive(Debug, Clone, Copy)]
enum SecReloc {
    Map(usize),
    Global {
        global: usize,
        offset: u64,
    },
    /// Call to instruction `insn` of ELF section `section`.
    Call {
        section: usize,
        insn: usize,
    },
}

/// A function inside a code section.
#[derive(Debug, Clone)]
struct Func {
    name: String,
    start: usize,
    len: usize,
}

/// A code section after CO-RE patching, with its relocations and functions.
#[derive(Debug)]
struct CodeSection {
    name: String,
    insns: Vec<u8>,
    relocs: BTreeMap<usize, SecReloc>,
    funcs: Vec<Func>,
    lines: Vec<(usize, LineInfo)>,
}

impl CodeSection {
    fn count(&self) -> usize {
        self.insns.len() / 8
    }

    fn func_at(&self, insn: usize) -> Option<usize> {
        self.funcs
            .iter()
            .position(|f| insn >= f.start && insn < f.start + f.len)
    }
}

fn insn_imm(insns: &[u8], idx: usize) -> i32 {
    let at = idx * 8;
    i32::from_le_bytes([insns[at + 4], insns[at + 5], insns[at + 6], insns[at + 7]])
}

fn set_imm(insns: &mut [u8], idx: usize, imm: i32) {
    let at = idx * 8;
    insns[at + 4..at + 8].copy_from_slice(&imm.to_le_bytes());
}

fn set_src(insns: &mut [u8], idx: usize, src: u8) {
    let at = idx * 8;
    insns[at + 1] = (insns[at + 1] & 0x0f) | (src << 4);
}

/// Links every program of the object.
pub(crate) fn link_programs(
    elf: &ElfSections<'_>,
    btf: Option<&Btf>,
    ext: Option<&BtfExt>,
    maps: &[MapSpec],
    globals: &[GlobalData],
) -> Result<Vec<Program>, ElfError> {
    let map_syms = sections::map_symbols(elf);
    let mut code: BTreeMap<usize, CodeSection> = BTreeMap::new();
    for (index, s) in elf.sections.iter().enumerate() {
        if !s.is_code() {
            continue;
        }
        if s.data.len() % 8 != 0 {
            return Err(ElfError::Section {
                section: s.name.clone(),
                reason: "code size is not a multiple of 8",
            });
        }
        let mut insns = s.data.to_vec();
        if let (Some(btf), Some(ext)) = (btf, ext) {
            for recs in ext.core_relo.iter().filter(|r| r.section == s.name) {
                core::apply_section(btf, &s.name, &mut insns, &recs.records)?;
            }
        }
        let funcs = functions(elf, index, insns.len() / 8);
        let lines = line_records(ext, &s.name, insns.len() / 8);
        code.insert(
            index,
            CodeSection {
                name: s.name.clone(),
                insns,
                relocs: BTreeMap::new(),
                funcs,
                lines,
            },
        );
    }
    // Resolve relocation tables that target code sections.
    for rel_sec in &elf.sections {
        if rel_sec.rels.is_empty() && rel_sec.sh_type != object::elf::SHT_REL {
            continue;
        }
        let target = rel_sec.info as usize;
        let Some(cs) = code.get_mut(&target) else {
            continue; // .rel.BTF, .rel.debug_*, relocations in data: not needed
        };
        for rel in &rel_sec.rels {
            let resolved = resolve(elf, cs, rel, &map_syms, maps, globals)?;
            cs.relocs.insert((rel.offset / 8) as usize, resolved);
        }
    }
    let func_names = func_info_names(btf, ext);
    let mut programs = Vec::new();
    for (&index, cs) in &code {
        if cs.name == ".text" {
            continue;
        }
        let (kind, sleepable) = ProgramKind::from_section(&cs.name);
        for (fi, f) in cs.funcs.iter().enumerate() {
            let mut p = link_one(&code, index, fi)?;
            p.name.clone_from(&f.name);
            if p.name.is_empty() {
                p.name = func_names
                    .get(&(cs.name.clone(), f.start))
                    .cloned()
                    .unwrap_or_else(|| cs.name.clone());
            }
            p.kind = kind.clone();
            p.sleepable = sleepable;
            programs.push(p);
        }
    }
    Ok(programs)
}

/// Function names from `func_info`, by (section, instruction index).
fn func_info_names(btf: Option<&Btf>, ext: Option<&BtfExt>) -> BTreeMap<(String, usize), String> {
    let mut out = BTreeMap::new();
    let (Some(btf), Some(ext)) = (btf, ext) else {
        return out;
    };
    for sec in &ext.func_info {
        for r in &sec.records {
            if let Some(t) = btf.type_by_id(r.type_id) {
                if matches!(t.kind, BtfKind::Func { .. }) {
                    out.insert(
                        (sec.section.clone(), r.insn_off as usize / 8),
                        t.name.clone(),
                    );
                }
            }
        }
    }
    out
}

/// The functions of a code section, from its `STT_FUNC` symbols (the whole section when
/// there are none, e.g. hand-written assembly).
fn functions(elf: &ElfSections<'_>, index: usize, count: usize) -> Vec<Func> {
    let mut syms: Vec<(usize, u64, String)> = elf
        .symbols
        .iter()
        .filter(|s| usize::from(s.shndx) == index && s.sym_type == STT_FUNC && s.value % 8 == 0)
        .filter(|s| ((s.value / 8) as usize) < count)
        .map(|s| ((s.value / 8) as usize, s.size, s.name.clone()))
        .collect();
    syms.sort_by_key(|s| s.0);
    syms.dedup_by_key(|s| s.0);
    if syms.is_empty() {
        return if count == 0 {
            Vec::new()
        } else {
            vec![Func {
                name: String::new(),
                start: 0,
                len: count,
            }]
        };
    }
    let mut funcs = Vec::with_capacity(syms.len());
    for (i, (start, size, name)) in syms.iter().enumerate() {
        let next = syms.get(i + 1).map_or(count, |s| s.0);
        let by_size = (*size / 8) as usize;
        let len = if by_size == 0 || start + by_size > next {
            next - start
        } else {
            by_size
        };
        funcs.push(Func {
            name: name.clone(),
            start: *start,
            len,
        });
    }
    funcs
}

/// Line records of a section as (instruction index, record).
fn line_records(ext: Option<&BtfExt>, section: &str, count: usize) -> Vec<(usize, LineInfo)> {
    let Some(ext) = ext else {
        return Vec::new();
    };
    let mut out: Vec<(usize, LineInfo)> = ext
        .line_info
        .iter()
        .filter(|s| s.section == section)
        .flat_map(|s| s.records.iter())
        .filter(|r| r.insn_off % 8 == 0 && (r.insn_off as usize / 8) < count)
        .map(|r| {
            let insn = r.insn_off as usize / 8;
            (
                insn,
                LineInfo {
                    insn,
                    file: r.file.clone(),
                    line: r.line,
                    col: r.col,
                    source: r.source.clone(),
                },
            )
        })
        .collect();
    out.sort_by_key(|l| l.0);
    out
}

/// Resolves one relocation entry against a code section.
fn resolve(
    elf: &ElfSections<'_>,
    cs: &CodeSection,
    rel: &sections::RelEntry,
    map_syms: &[&sections::SymbolInfo],
    maps: &[MapSpec],
    globals: &[GlobalData],
) -> Result<SecReloc, ElfError> {
    let err = |reason| ElfError::Relocation {
        section: cs.name.clone(),
        offset: rel.offset,
        reason,
    };
    if !rel.offset.is_multiple_of(8) || rel.offset / 8 >= cs.count() as u64 {
        return Err(err("offset outside the section or not on an instruction"));
    }
    let idx = (rel.offset / 8) as usize;
    let sym = elf
        .symbols
        .get(rel.sym)
        .filter(|_| rel.sym != 0)
        .ok_or_else(|| err("symbol index out of range"))?;
    let opcode = cs.insns[idx * 8];
    let sym_sec = usize::from(sym.shndx);
    match rel.r_type {
        R_BPF_64_64 => {
            if opcode != LD_IMM64 || idx + 1 >= cs.count() {
                return Err(err("R_BPF_64_64 on an instruction that is not ld_imm64"));
            }
            if let Some(pos) = map_syms
                .iter()
                .position(|s| s.name == sym.name && s.shndx == sym.shndx)
            {
                if pos >= maps.len() {
                    return Err(err("map symbol without a map definition"));
                }
                return Ok(SecReloc::Map(pos));
            }
            if sym_sec == 0 {
                return Err(err("reference to an undefined (extern) symbol"));
            }
            if let Some(global) = sections::global_index(elf, globals, sym_sec) {
                // Section symbols carry the offset in the immediate; variable symbols in
                // st_value (the immediate is then 0). libbpf adds both.
                let addend = i64::from(insn_imm(&cs.insns, idx));
                let offset = (sym.value as i64)
                    .checked_add(addend)
                    .filter(|o| *o >= 0 && (*o as usize) <= globals[global].data.len())
                    .ok_or_else(|| err("offset outside the global data section"))?;
                return Ok(SecReloc::Global {
                    global,
                    offset: offset as u64,
                });
            }
            if elf
                .sections
                .get(sym_sec)
                .is_some_and(sections::SectionInfo::is_code)
            {
                return Err(err("ld_imm64 of a function address is not supported"));
            }
            Err(err("reference to a symbol outside .maps and global data"))
        }
        R_BPF_64_32 => {
            let src = cs.insns[idx * 8 + 1] >> 4;
            if opcode != CALL || src != BPF_PSEUDO_CALL {
                return Err(err(
                    "R_BPF_64_32 on an instruction that is not a bpf-to-bpf call",
                ));
            }
            let target_sec = elf
                .sections
                .get(sym_sec)
                .filter(|s| s.is_code())
                .ok_or_else(|| err("call target is not in a code section"))?;
            // target = symbol insn + imm + 1 (imm is -1 for function symbols, the offset
            // in instructions minus one for section symbols).
            let imm = i64::from(insn_imm(&cs.insns, idx));
            let base = if sym.sym_type == STT_SECTION || sym.sym_type == STT_FUNC {
                (sym.value / 8) as i64
            } else {
                return Err(err("call relocation against a non-function symbol"));
            };
            let insn = base + imm + 1;
            let count = (target_sec.data.len() / 8) as i64;
            if insn < 0 || insn >= count {
                return Err(err("call target outside the target section"));
            }
            Ok(SecReloc::Call {
                section: sym_sec,
                insn: insn as usize,
            })
        }
        _ => Err(err("unsupported relocation type")),
    }
}

/// Links function `func` of section `section` with its callees.
fn link_one(
    code: &BTreeMap<usize, CodeSection>,
    section: usize,
    func: usize,
) -> Result<Program, ElfError> {
    // (section, func index, out base)
    let mut placed: Vec<(usize, usize, usize)> = vec![(section, func, 0)];
    let mut insns = Vec::new();
    let mut relocs = Vec::new();
    let mut line_info = Vec::new();
    let mut funcs = Vec::new();
    let mut i = 0;
    while i < placed.len() {
        let (sec_idx, fi, base) = placed[i];
        i += 1;
        let cs = &code[&sec_idx];
        let f = &cs.funcs[fi];
        insns.extend_from_slice(&cs.insns[f.start * 8..(f.start + f.len) * 8]);
        funcs.push(FuncInfo {
            insn: base,
            name: f.name.clone(),
        });
        line_info.extend(
            cs.lines
                .iter()
                .filter(|(k, _)| *k >= f.start && *k < f.start + f.len)
                .map(|(k, l)| LineInfo {
                    insn: base + (k - f.start),
                    ..l.clone()
                }),
        );
        for k in 0..f.len {
            let src_idx = f.start + k;
            let out = base + k;
            let call_err = |reason| ElfError::Call {
                section: cs.name.clone(),
                insn: src_idx,
                reason,
            };
            let reloc = cs.relocs.get(&src_idx);
            if matches!(reloc, Some(SecReloc::Map(_) | SecReloc::Global { .. })) && k + 1 >= f.len {
                return Err(call_err("ld_imm64 runs past the end of its function"));
            }
            let call_target = match reloc {
                Some(SecReloc::Map(m)) => {
                    set_src(&mut insns, out, BPF_PSEUDO_MAP_FD);
                    set_imm(&mut insns, out, 0);
                    set_imm(&mut insns, out + 1, 0);
                    relocs.push(Reloc {
                        insn: out,
                        target: RelocTarget::Map(*m),
                    });
                    None
                }
                Some(SecReloc::Global { global, offset }) => {
                    set_src(&mut insns, out, BPF_PSEUDO_MAP_VALUE);
                    set_imm(&mut insns, out, 0);
                    set_imm(&mut insns, out + 1, 0);
                    relocs.push(Reloc {
                        insn: out,
                        target: RelocTarget::Global {
                            global: *global,
                            offset: *offset,
                        },
                    });
                    None
                }
                Some(SecReloc::Call { section, insn }) => Some((*section, *insn)),
                None => {
                    let at = src_idx * 8;
                    if cs.insns[at] == CALL && cs.insns[at + 1] >> 4 == BPF_PSEUDO_CALL {
                        // Call within the same section without a relocation.
                        let t = src_idx as i64 + i64::from(insn_imm(&cs.insns, src_idx)) + 1;
                        if t < 0 || t >= cs.count() as i64 {
                            return Err(call_err("call target outside the section"));
                        }
                        Some((sec_idx, t as usize))
                    } else {
                        None
                    }
                }
            };
            let Some((t_sec, t_insn)) = call_target else {
                continue;
            };
            let t_cs = code
                .get(&t_sec)
                .ok_or_else(|| call_err("call target is not in a code section"))?;
            let t_fi = t_cs
                .func_at(t_insn)
                .ok_or_else(|| call_err("call target is not inside a function"))?;
            let t_base = match placed.iter().find(|p| p.0 == t_sec && p.1 == t_fi) {
                Some(p) => p.2,
                None => {
                    let next_base = placed
                        .last()
                        .map_or(0, |&(s, f, b)| b + code[&s].funcs[f].len);
                    placed.push((t_sec, t_fi, next_base));
                    next_base
                }
            };
            let target_out = t_base + (t_insn - t_cs.funcs[t_fi].start);
            let imm = i32::try_from(target_out as i64 - out as i64 - 1)
                .map_err(|_| call_err("call displacement too large"))?;
            set_imm(&mut insns, out, imm);
            set_src(&mut insns, out, BPF_PSEUDO_CALL);
        }
    }
    Ok(Program {
        name: String::new(),
        section: code[&section].name.clone(),
        kind: ProgramKind::Other(String::new()),
        insns,
        relocs,
        sleepable: false,
        line_info,
        funcs,
    })
}
