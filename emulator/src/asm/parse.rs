//! The assembler: text in the verifier-log / `llvm-objdump -d` syntax into an [`AsmOutput`]
//! (sections of instructions and data, symbols, relocations and map definitions) that
//! [`super::write::write_object`] turns into a relocatable ELF object.
//!
//! Accepted per line, in order: an optional `N: (op) ` prefix of `iterscope disasm` or
//! verifier-log lines (or the `N: <hex bytes>` prefix of `llvm-objdump -d`), an optional
//! label `name:`, then one instruction or directive. Comments start with `;`, `//`, or `#`
//! at the start of a line or after white space (so `call bpf_seq_printf#126` is not cut).
//! Verifier-log state lines (`R1=ctx() ...`, `processed N insns ...`) are skipped, so a
//! pasted log re-assembles; so does `llvm-objdump -dr` output (its `<name>:` headers become
//! labels and its `R_BPF_64_64 NAME` lines turn the `ld_imm64` above into a reference),
//! and so does `clang -target bpf -S` output once its maps are given as `.map` lines
//! (`.maps`, `.BTF*`, `.debug_*` and other metadata sections are skipped, so CO-RE
//! relocations are not applied; a `license` section's `.asciz` sets the license).
//!
//! Grammar (one statement per line; `[..]` optional, `|` alternatives, `N` a decimal or
//! `0x` number, `R` is `rN` or `wN`, `MEM` is `(u8|u16|u32|u64|s8|s16|s32 *)(rN [+|- N])`):
//!
//! ```text
//! line     := [prefix] [label ':'] [insn | directive] [comment]
//! prefix   := N ':' ['(' HEX HEX ')']            (iterscope disasm / verifier log)
//!           | N ':' {HEX HEX}                    (llvm-objdump bytes)
//! insn     := R = *MEM | *MEM = R | *MEM = N     (load, store)
//!           | R OP= R | R OP= N                  (OP: + - * / s/ % s% | & << >> s>> ^)
//!           | R = R | R = N | R = -R | R = (s8|s16|s32)R | R = (be|le|bswap)(16|32|64) R
//!           | rN = N ll | rN = NAME [+|- N] [ll] | rN = map[NAME] | rN = map[NAME][0]+N
//!           | rN = map[fd:N] | rN = map[fd:N][0]+N        (raw pseudo ld_imm64)
//!           | lock *MEM (+=|'|='|&=|^=) R
//!           | R = atomic[64]_(fetch_add|fetch_or|fetch_and|fetch_xor|xchg)(MEM, R)
//!           | r0 = atomic[64]_cmpxchg(MEM, r0, R)
//!           | if R CMP (R|N) goto TARGET          (CMP: == != > >= < <= s> s>= s< s<= &)
//!           | goto TARGET | gotol TARGET | exit
//!           | call NAME[#N] | call N | call pc[+-]N | call LABEL | call kernel-function#N
//! TARGET   := pc[+-]N | [+-]N | LABEL            (an llvm-objdump `<label>` suffix is skipped)
//! directive:= .section NAME | .section "NAME" | .text | .data | .rodata | .bss
//!           | .asciz "S" | .string "S" | .ascii "S" | .byte|.short|.long|.quad N{, N}
//!           | .zero N | .align N | .p2align N | .globl NAME | .license "S"
//!           | .map NAME, type=T, key=N, value=N, max_entries=N[, flags=N]
//! ```
//!
//! Code goes in `iter/bpf_map_elem` until a section directive says otherwise. The first label
//! of a code section, and any label named by `.globl`, is a function (`STT_FUNC`): each
//! function of a program section is a program. `call LABEL` within a section is
//! pc-relative; into another code section (`.text`) it gets an `R_BPF_64_32` relocation.
//! `NAME` in an `ld_imm64` is a map, a data label or a data section (`.rodata`), and gets
//! an `R_BPF_64_64` relocation. A `(18)` prefix makes `rN = N` an `ld_imm64` even without
//! `ll`, as does a value that does not fit 32 bits.
//!
//! Not here: macros, expressions beyond `SYMBOL + N`, `ld_imm64` of function addresses
//! (callbacks), kfunc calls by name, and `.BTF`/`.BTF.ext` for anything but map
//! definitions (no `func_info`/`line_info`).

use std::collections::{BTreeSet, HashMap};

use super::Insn;
use crate::helpers::ids;

/// Largest section (bytes), as the loader accepts for global data.
const MAX_SECTION: usize = 1 << 24;
/// Largest total of section data (bytes), so no input makes the browser tab allocate
/// without bound.
const MAX_TOTAL: usize = 1 << 26;
/// Most sections (ELF section indices are 16-bit).
const MAX_SECTIONS: usize = 4096;

/// Section the assembler starts in when the text has none.
pub const DEFAULT_SECTION: &str = "iter/bpf_map_elem";

/// Result of [`assemble`]: everything needed to write an object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AsmOutput {
    /// Code and data sections, in order of first appearance.
    pub sections: Vec<Section>,
    /// BTF-defined maps, in order of definition (placed in `.maps` in this order).
    pub maps: Vec<MapDecl>,
    /// License string (`GPL` unless `.license` says otherwise).
    pub license: String,
}

/// What a [`Section`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKind {
    /// Instructions (`SHF_ALLOC | SHF_EXECINSTR`).
    Code,
    /// `.rodata*`: read-only data.
    ReadOnly,
    /// `.data*`: initialised writable data.
    Data,
    /// `.bss*`: zeroed data (`SHT_NOBITS`).
    Bss,
}

impl SectionKind {
    /// The kind a section name implies (`.rodata*`, `.data*`, `.bss*`; anything else is code).
    pub fn of(name: &str) -> SectionKind {
        let is = |base: &str| {
            name == base || name.strip_prefix(base).is_some_and(|r| r.starts_with('.'))
        };
        if is(".rodata") {
            SectionKind::ReadOnly
        } else if is(".data") {
            SectionKind::Data
        } else if is(".bss") {
            SectionKind::Bss
        } else {
            SectionKind::Code
        }
    }
}

/// One assembled section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// ELF section name.
    pub name: String,
    /// Code or data.
    pub kind: SectionKind,
    /// Contents (instructions are 8 bytes each; `.bss` holds zeros).
    pub data: Vec<u8>,
    /// Symbols defined in this section (functions and data labels), by offset.
    pub symbols: Vec<Symbol>,
    /// Relocations of this section's instructions.
    pub relocs: Vec<AsmReloc>,
    /// For code sections: the 1-based source line of each instruction slot (both slots of an
    /// `lddw` name its line), so a verifier error at instruction N points into the editor.
    pub lines: Vec<usize>,
}

/// A symbol: a function of a code section or a label of a data section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// Name.
    pub name: String,
    /// Byte offset in the section.
    pub offset: u64,
    /// Size in bytes (up to the next symbol or the section end).
    pub size: u64,
    /// `STT_FUNC` (code) rather than `STT_OBJECT` (data).
    pub func: bool,
}

/// A relocation of one instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsmReloc {
    /// Byte offset of the instruction in its section.
    pub offset: u64,
    /// `R_BPF_64_64` (`ld_imm64`) or `R_BPF_64_32` (call).
    pub kind: RelocKind,
    /// The symbol it refers to.
    pub target: RelocRef,
}

/// Relocation type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelocKind {
    /// `R_BPF_64_64` on an `ld_imm64`.
    Ld64,
    /// `R_BPF_64_32` on a bpf-to-bpf call into another code section.
    Call,
}

/// The symbol a relocation names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelocRef {
    /// A map, index into [`AsmOutput::maps`].
    Map(usize),
    /// A data label: section index and symbol index in [`Section::symbols`].
    Symbol {
        /// Index into [`AsmOutput::sections`].
        section: usize,
        /// Index into that section's symbols.
        symbol: usize,
    },
    /// The section symbol of a section (the offset is in the instruction's immediate).
    Section(usize),
}

/// A map definition (`.map NAME, type=array, key=4, value=8, max_entries=8, flags=0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapDecl {
    /// Map name.
    pub name: String,
    /// `BPF_MAP_TYPE_*`.
    pub map_type: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// `max_entries`.
    pub max_entries: u32,
    /// `map_flags`.
    pub map_flags: u32,
}

/// An assembly error, with the 1-based line and column it was found at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {col}: {kind}")]
pub struct AsmError {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column (in bytes).
    pub col: usize,
    /// What is wrong.
    pub kind: AsmErrorKind,
}

/// What an [`AsmError`] is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AsmErrorKind {
    /// The parser wanted something else here.
    #[error("expected {expected}")]
    Expected {
        /// What was expected.
        expected: &'static str,
    },
    /// Not an instruction this assembler knows.
    #[error("unknown instruction `{text}`")]
    UnknownInstruction {
        /// The offending text.
        text: String,
    },
    /// A number does not fit its field.
    #[error("{what} out of range")]
    OutOfRange {
        /// Which field.
        what: &'static str,
    },
    /// A jump or call names a label that is not defined (in that section for jumps).
    #[error("unknown label `{name}`")]
    UnknownLabel {
        /// Label name.
        name: String,
    },
    /// A name is defined twice.
    #[error("`{name}` defined twice")]
    Duplicate {
        /// The name.
        name: String,
    },
    /// An `ld_imm64` names something that is not a map, a data label or a data section.
    #[error("unknown symbol `{name}`: not a map, a data label or a data section")]
    UnknownSymbol {
        /// The name.
        name: String,
    },
    /// An unknown directive.
    #[error("unknown directive `{name}`")]
    UnknownDirective {
        /// The directive.
        name: String,
    },
    /// Something placed in the wrong kind of section.
    #[error("{what} in section `{section}`")]
    WrongSection {
        /// What was placed.
        what: &'static str,
        /// The current section.
        section: String,
    },
    /// An unknown map type name.
    #[error("unknown map type `{name}`")]
    UnknownMapType {
        /// The name.
        name: String,
    },
    /// Any other invalid construct.
    #[error("{reason}")]
    Invalid {
        /// Why.
        reason: &'static str,
    },
}

type Res<T> = Result<T, AsmError>;

/// A reference resolved after all labels are known.
#[derive(Debug, Clone)]
enum Pending {
    /// Jump to a label: `off` (or `imm` for `gotol`).
    Jump { label: String, wide: bool },
    /// bpf-to-bpf call to a label.
    Call { label: String },
    /// `ld_imm64` of a symbol plus an addend.
    Ld { name: String, addend: i64 },
}

#[derive(Debug)]
struct PendingAt {
    section: usize,
    insn: usize,
    line: usize,
    col: usize,
    what: Pending,
}

/// A cursor over one line.
struct Cur<'a> {
    s: &'a str,
    pos: usize,
    line: usize,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b'.' || c == b'$'
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'$'
}

impl<'a> Cur<'a> {
    fn err(&self, kind: AsmErrorKind) -> AsmError {
        AsmError {
            line: self.line,
            col: self.pos + 1,
            kind,
        }
    }

    fn expected(&self, expected: &'static str) -> AsmError {
        self.err(AsmErrorKind::Expected { expected })
    }

    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(|c| c == b' ' || c == b'\t') {
            self.pos += 1;
        }
    }

    fn at_end(&mut self) -> bool {
        self.ws();
        self.pos >= self.s.len()
    }

    fn end(&mut self) -> Res<()> {
        if self.at_end() {
            Ok(())
        } else {
            Err(self.expected("end of line"))
        }
    }

    /// Eats `t` after white space.
    fn eat(&mut self, t: &str) -> bool {
        self.ws();
        if self.rest().starts_with(t) {
            self.pos += t.len();
            true
        } else {
            false
        }
    }

    /// Eats keyword `t` (not followed by an identifier character).
    fn eat_word(&mut self, t: &str) -> bool {
        self.ws();
        let r = self.rest();
        if r.starts_with(t) && !r.as_bytes().get(t.len()).is_some_and(|&c| is_ident(c)) {
            self.pos += t.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: &str, what: &'static str) -> Res<()> {
        if self.eat(t) {
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    fn ident(&mut self) -> Option<&'a str> {
        self.ws();
        let b = self.s.as_bytes();
        if !b.get(self.pos).is_some_and(|&c| is_ident_start(c)) {
            return None;
        }
        let start = self.pos;
        while b.get(self.pos).is_some_and(|&c| is_ident(c)) {
            self.pos += 1;
        }
        self.s.get(start..self.pos)
    }

    /// A register `rN`/`wN` (N in 0..=10); `None` (nothing eaten) if there is none.
    fn try_reg(&mut self) -> Option<(bool, u8)> {
        self.ws();
        let save = self.pos;
        let b = self.s.as_bytes();
        let wide = match b.get(self.pos) {
            Some(b'r') => true,
            Some(b'w') => false,
            _ => return None,
        };
        let mut p = self.pos + 1;
        let mut n: u32 = 0;
        let mut digits = 0;
        while let Some(&c) = b.get(p).filter(|c| c.is_ascii_digit()) {
            n = n.saturating_mul(10).saturating_add(u32::from(c - b'0'));
            digits += 1;
            p += 1;
        }
        if digits == 0 || digits > 2 || n > 10 || b.get(p).is_some_and(|&c| is_ident(c)) {
            self.pos = save;
            return None;
        }
        self.pos = p;
        Some((wide, n as u8))
    }

    fn reg(&mut self) -> Res<(bool, u8)> {
        self.try_reg()
            .ok_or_else(|| self.expected("a register (r0-r10 or w0-w10)"))
    }

    /// An unsigned number: decimal or `0x` hex.
    fn unsigned(&mut self) -> Res<u64> {
        self.ws();
        let b = self.s.as_bytes();
        let start = self.pos;
        let (radix, mut p) = if self.rest().starts_with("0x") || self.rest().starts_with("0X") {
            (16, self.pos + 2)
        } else {
            (10, self.pos)
        };
        let ds = p;
        while b.get(p).is_some_and(u8::is_ascii_alphanumeric) {
            p += 1;
        }
        let digits = self.s.get(ds..p).unwrap_or("");
        if digits.is_empty() {
            return Err(self.expected("a number"));
        }
        match u64::from_str_radix(digits, radix) {
            Ok(v) => {
                self.pos = p;
                Ok(v)
            }
            Err(_) => {
                self.pos = start;
                if digits.bytes().all(|c| c.is_ascii_hexdigit()) {
                    Err(self.err(AsmErrorKind::OutOfRange { what: "number" }))
                } else {
                    Err(self.expected("a number"))
                }
            }
        }
    }

    fn starts_number(&mut self) -> bool {
        self.ws();
        let r = self.rest().as_bytes();
        match r.first() {
            Some(c) if c.is_ascii_digit() => true,
            Some(b'-' | b'+') => r.get(1).is_some_and(u8::is_ascii_digit),
            _ => false,
        }
    }

    /// A signed number: `[-+]digits` (as i128 so that any u64 and any i64 fit).
    fn number(&mut self) -> Res<i128> {
        self.ws();
        let neg = if self.eat("-") {
            true
        } else {
            self.eat("+");
            false
        };
        let v = i128::from(self.unsigned()?);
        Ok(if neg { -v } else { v })
    }

    /// `+ N`, `-N`, `+0x18` or nothing (0).
    fn offset(&mut self) -> Res<i16> {
        self.ws();
        let at = self.pos;
        let v = if self.eat("+") {
            i128::from(self.unsigned()?)
        } else if self.eat("-") {
            -i128::from(self.unsigned()?)
        } else {
            0
        };
        i16::try_from(v).map_err(|_| AsmError {
            line: self.line,
            col: at + 1,
            kind: AsmErrorKind::OutOfRange { what: "offset" },
        })
    }

    /// A quoted string with C escapes.
    fn string(&mut self) -> Res<Vec<u8>> {
        self.ws();
        if self.peek() != Some(b'"') {
            return Err(self.expected("a quoted string"));
        }
        self.pos += 1;
        let b = self.s.as_bytes();
        let mut out = Vec::new();
        loop {
            let Some(&c) = b.get(self.pos) else {
                return Err(self.expected("closing `\"`"));
            };
            self.pos += 1;
            match c {
                b'"' => return Ok(out),
                b'\\' => {
                    let Some(&e) = b.get(self.pos) else {
                        return Err(self.expected("an escape character"));
                    };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'\\' => out.push(b'\\'),
                        b'"' => out.push(b'"'),
                        b'\'' => out.push(b'\''),
                        b'x' => {
                            let mut v: u32 = 0;
                            let mut n = 0;
                            while n < 2 {
                                match b.get(self.pos).and_then(|&c| (c as char).to_digit(16)) {
                                    Some(d) => v = v * 16 + d,
                                    None => break,
                                }
                                self.pos += 1;
                                n += 1;
                            }
                            if n == 0 {
                                return Err(self.expected("hex digits after \\x"));
                            }
                            out.push(v as u8);
                        }
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            let mut n = 1;
                            while n < 3 {
                                match b.get(self.pos).filter(|c| (b'0'..=b'7').contains(c)) {
                                    Some(&d) => v = v * 8 + u32::from(d - b'0'),
                                    None => break,
                                }
                                self.pos += 1;
                                n += 1;
                            }
                            out.push((v & 0xff) as u8);
                        }
                        _ => {
                            self.pos -= 1;
                            return Err(
                                self.expected("a known escape (\\n \\t \\\\ \\\" \\xNN \\NNN)")
                            );
                        }
                    }
                }
                _ => out.push(c),
            }
        }
    }
}

/// Where the comment of a line starts (outside quotes).
fn comment_start(line: &str) -> usize {
    let b = line.as_bytes();
    let mut in_str = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if in_str {
            if c == b'\\' {
                i += 1;
            } else if c == b'"' {
                in_str = false;
            }
        } else if c == b'"' {
            in_str = true;
        } else if c == b';'
            || (c == b'/' && b.get(i + 1) == Some(&b'/'))
            || (c == b'#' && (i == 0 || b[i - 1] == b' ' || b[i - 1] == b'\t'))
        {
            return i;
        }
        i += 1;
    }
    b.len()
}

/// Verifier-log lines that carry no instruction.
fn is_log_noise(rest: &str) -> bool {
    let b = rest.as_bytes();
    if b.first() == Some(&b'R') && b.get(1).is_some_and(u8::is_ascii_digit) {
        return true;
    }
    [
        "from ",
        "processed ",
        "func#",
        "last_idx",
        "regs=",
        "parent ",
        "mark_precise",
        "propagating",
        "verification time",
        "stack depth",
        "libbpf:",
        "Validating ",
        "Live regs",
    ]
    .iter()
    .any(|p| rest.starts_with(p))
        || rest.trim_end() == "safe"
        || (rest.contains("file format elf") && !rest.contains('"'))
}

/// One section being assembled.
#[derive(Debug)]
struct SecBuild {
    name: String,
    kind: SectionKind,
    data: Vec<u8>,
    /// Labels: name, byte offset.
    labels: Vec<(String, u64)>,
    /// Labels that are functions (code sections).
    funcs: BTreeSet<String>,
    /// Source line of each instruction slot.
    lines: Vec<usize>,
}

#[derive(Debug)]
struct Asm {
    sections: Vec<SecBuild>,
    cur: Option<usize>,
    maps: Vec<MapDecl>,
    license: Option<String>,
    /// Every label: name -> (section, byte offset).
    labels: HashMap<String, (usize, u64)>,
    globl: BTreeSet<String>,
    pending: Vec<PendingAt>,
    /// In a metadata section (`.debug_*`, `.BTF`, ...): only section directives count.
    skipping: bool,
    /// Bytes of data in all sections.
    total: usize,
}

/// `BPF_MAP_TYPE_*` by name (with or without the `BPF_MAP_TYPE_` prefix, any case).
pub fn map_type_by_name(name: &str) -> Option<u32> {
    let l = name.to_ascii_lowercase();
    let l = l.strip_prefix("bpf_map_type_").unwrap_or(&l);
    Some(match l {
        "hash" => 1,
        "array" => 2,
        "prog_array" => 3,
        "perf_event_array" => 4,
        "percpu_hash" => 5,
        "percpu_array" => 6,
        "stack_trace" => 7,
        "cgroup_array" => 8,
        "lru_hash" => 9,
        "lru_percpu_hash" => 10,
        "lpm_trie" => 11,
        "array_of_maps" => 12,
        "hash_of_maps" => 13,
        "queue" => 22,
        "stack" => 23,
        "sk_storage" => 24,
        "ringbuf" => 27,
        _ => return None,
    })
}

/// Helper id by kernel name (`bpf_seq_printf` or `seq_printf`).
fn helper_by_name(name: &str) -> Option<i32> {
    let full = if name.starts_with("bpf_") {
        name.to_owned()
    } else {
        format!("bpf_{name}")
    };
    (1..1024u32)
        .map_while(|i| ids::helper_name(i).map(|n| (i, n)))
        .find(|(_, n)| *n == full)
        .map(|(i, _)| i as i32)
}

fn size_bits(name: &str) -> Option<(u8, bool)> {
    Some(match name {
        "u8" => (0x10, false),
        "u16" => (0x08, false),
        "u32" => (0x00, false),
        "u64" => (0x18, false),
        "s8" => (0x10, true),
        "s16" => (0x08, true),
        "s32" => (0x00, true),
        _ => return None,
    })
}

/// `(SZ *)(rN OFF)`: size bits, signedness, base register, offset.
fn mem_operand(c: &mut Cur<'_>) -> Res<(u8, bool, u8, i16)> {
    c.expect("(", "`(` of `(u64 *)`")?;
    let at = c.pos;
    let sz = c.ident().and_then(size_bits).ok_or_else(|| AsmError {
        line: c.line,
        col: at + 1,
        kind: AsmErrorKind::Expected {
            expected: "a size (u8, u16, u32, u64, s8, s16, s32)",
        },
    })?;
    c.expect("*", "`*`")?;
    c.expect(")", "`)`")?;
    c.expect("(", "`(` before the base register")?;
    c.ws();
    let rat = c.pos;
    let (wide, base) = c.reg()?;
    if !wide {
        return Err(AsmError {
            line: c.line,
            col: rat + 1,
            kind: AsmErrorKind::Expected {
                expected: "a 64-bit base register",
            },
        });
    }
    let off = c.offset()?;
    c.expect(")", "`)` after the offset")?;
    Ok((sz.0, sz.1, base, off))
}

fn imm32(c: &Cur<'_>, at: usize, v: i128, what: &'static str) -> Res<i32> {
    if (-(1i128 << 31)..(1i128 << 32)).contains(&v) {
        Ok(v as u32 as i32)
    } else {
        Err(AsmError {
            line: c.line,
            col: at + 1,
            kind: AsmErrorKind::OutOfRange { what },
        })
    }
}

const ALU_OPS: &[(&str, u8, i16)] = &[
    ("s>>=", 0xc0, 0),
    ("<<=", 0x60, 0),
    (">>=", 0x70, 0),
    ("s/=", 0x30, 1),
    ("s%=", 0x90, 1),
    ("+=", 0x00, 0),
    ("-=", 0x10, 0),
    ("*=", 0x20, 0),
    ("/=", 0x30, 0),
    ("%=", 0x90, 0),
    ("|=", 0x40, 0),
    ("&=", 0x50, 0),
    ("^=", 0xa0, 0),
    ("=", 0xb0, 0),
];

const JMP_OPS: &[(&str, u8)] = &[
    ("s>=", 0x70),
    ("s<=", 0xd0),
    ("s>", 0x60),
    ("s<", 0xc0),
    ("==", 0x10),
    ("!=", 0x50),
    (">=", 0x30),
    ("<=", 0xb0),
    (">", 0x20),
    ("<", 0xa0),
    ("&", 0x40),
];

/// A parsed instruction: one or two slots and an unresolved reference.
struct Parsed {
    insns: Vec<Insn>,
    pending: Option<(Pending, usize)>,
}

fn one(i: Insn) -> Parsed {
    Parsed {
        insns: vec![i],
        pending: None,
    }
}

fn insn(op: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        op,
        dst,
        src,
        off,
        imm,
    }
}

/// A jump target: `pc+N`, `+N`, `-N`, `N` or a label, with an optional `<label>` suffix.
enum Target {
    Rel(i128),
    Label(String),
}

fn target(c: &mut Cur<'_>) -> Res<(Target, usize)> {
    c.ws();
    let at = c.pos;
    let t = if c.eat_word("pc") || c.starts_number() {
        Target::Rel(c.number()?)
    } else if let Some(name) = c.ident() {
        Target::Label(name.to_owned())
    } else {
        return Err(c.expected("a jump target (pc+N, +N or a label)"));
    };
    c.ws();
    if c.peek() == Some(b'<') {
        // llvm-objdump appends `<LBB0_2>`.
        match c.rest().find('>') {
            Some(k) => c.pos += k + 1,
            None => return Err(c.expected("`>`")),
        }
    }
    Ok((t, at))
}

fn jump_field(c: &Cur<'_>, at: usize, v: i128, wide: bool) -> Res<(i16, i32)> {
    let err = || AsmError {
        line: c.line,
        col: at + 1,
        kind: AsmErrorKind::OutOfRange {
            what: "jump offset",
        },
    };
    if wide {
        Ok((0, i32::try_from(v).map_err(|_| err())?))
    } else {
        Ok((i16::try_from(v).map_err(|_| err())?, 0))
    }
}

fn parse_insn(c: &mut Cur<'_>, hint: Option<u8>) -> Res<Parsed> {
    c.ws();
    let start = c.pos;
    if c.eat_word("exit") {
        c.end()?;
        return Ok(one(insn(0x95, 0, 0, 0, 0)));
    }
    for (kw, wide) in [("gotol", true), ("goto", false)] {
        if c.eat_word(kw) {
            let (t, at) = target(c)?;
            c.end()?;
            let op = if wide { 0x06 } else { 0x05 };
            return Ok(match t {
                Target::Rel(v) => {
                    let (off, imm) = jump_field(c, at, v, wide)?;
                    one(insn(op, 0, 0, off, imm))
                }
                Target::Label(label) => Parsed {
                    insns: vec![insn(op, 0, 0, 0, 0)],
                    pending: Some((Pending::Jump { label, wide }, at)),
                },
            });
        }
    }
    if c.eat_word("call") {
        return parse_call(c);
    }
    if c.eat_word("if") {
        let (wide, dst) = c.reg()?;
        let code = JMP_OPS
            .iter()
            .find(|(t, _)| c.eat(t))
            .map(|&(_, code)| code)
            .ok_or_else(|| c.expected("a comparison (== != > >= < <= s> s>= s< s<= &)"))?;
        let class = if wide { 0x05 } else { 0x06 };
        let (src, imm, x) = if let Some((w2, s)) = c.try_reg() {
            if w2 != wide {
                return Err(c.expected("registers of the same width"));
            }
            (s, 0, 0x08)
        } else {
            c.ws();
            let at = c.pos;
            let v = c.number()?;
            (0, imm32(c, at, v, "immediate")?, 0)
        };
        if !c.eat_word("goto") {
            return Err(c.expected("`goto`"));
        }
        let (t, at) = target(c)?;
        c.end()?;
        let op = class | code | x;
        return Ok(match t {
            Target::Rel(v) => {
                let (off, _) = jump_field(c, at, v, false)?;
                one(insn(op, dst, src, off, imm))
            }
            Target::Label(label) => Parsed {
                insns: vec![insn(op, dst, src, 0, imm)],
                pending: Some((Pending::Jump { label, wide: false }, at)),
            },
        });
    }
    if c.eat_word("lock") {
        c.expect("*", "`*`")?;
        let (sz, signed, dst, off) = mem_operand(c)?;
        if signed || (sz != 0x00 && sz != 0x18) {
            return Err(c.expected("u32 or u64 for an atomic operation"));
        }
        c.ws();
        let imm = [("+=", 0x00), ("|=", 0x40), ("&=", 0x50), ("^=", 0xa0)]
            .iter()
            .find(|(t, _)| c.eat(t))
            .map(|&(_, i)| i)
            .ok_or_else(|| c.expected("+=, |=, &= or ^="))?;
        let (_, src) = c.reg()?;
        c.end()?;
        return Ok(one(insn(0xc3 | sz, dst, src, off, imm)));
    }
    if c.eat("*") {
        let (sz, signed, dst, off) = mem_operand(c)?;
        if signed {
            return Err(c.expected("an unsigned size for a store"));
        }
        c.expect("=", "`=`")?;
        let p = if let Some((_, src)) = c.try_reg() {
            insn(0x63 | sz, dst, src, off, 0)
        } else {
            c.ws();
            let at = c.pos;
            let v = c.number()?;
            insn(0x62 | sz, dst, 0, off, imm32(c, at, v, "immediate")?)
        };
        c.end()?;
        return Ok(one(p));
    }
    let Some((wide, dst)) = c.try_reg() else {
        c.pos = start;
        let word = c
            .rest()
            .split(|ch: char| ch.is_whitespace())
            .next()
            .unwrap_or("");
        return Err(c.err(AsmErrorKind::UnknownInstruction {
            text: word.to_owned(),
        }));
    };
    c.ws();
    let (code, soff) = ALU_OPS
        .iter()
        .find(|(t, _, _)| c.eat(t))
        .map(|&(_, code, off)| (code, off))
        .ok_or_else(|| c.expected("an assignment operator (= += -= ...)"))?;
    let class: u8 = if wide { 0x07 } else { 0x04 };
    if code != 0xb0 {
        let p = if let Some((w2, src)) = c.try_reg() {
            if w2 != wide {
                return Err(c.expected("registers of the same width"));
            }
            insn(class | code | 0x08, dst, src, soff, 0)
        } else {
            c.ws();
            let at = c.pos;
            let v = c.number()?;
            insn(class | code, dst, 0, soff, imm32(c, at, v, "immediate")?)
        };
        c.end()?;
        return Ok(one(p));
    }
    parse_assign(c, wide, dst, hint)
}

fn parse_call(c: &mut Cur<'_>) -> Res<Parsed> {
    c.ws();
    let at = c.pos;
    if c.eat_word("pc") {
        let v = c.number()?;
        c.end()?;
        let imm = i32::try_from(v).map_err(|_| {
            c.err(AsmErrorKind::OutOfRange {
                what: "call offset",
            })
        })?;
        return Ok(one(insn(0x85, 0, 1, 0, imm)));
    }
    if c.starts_number() {
        let v = c.number()?;
        c.end()?;
        return Ok(one(insn(0x85, 0, 0, 0, imm32(c, at, v, "helper id")?)));
    }
    if c.eat("kernel-function#") {
        let v = c.number()?;
        c.end()?;
        return Ok(one(insn(0x85, 0, 2, 0, imm32(c, at, v, "kfunc id")?)));
    }
    let Some(name) = c.ident() else {
        return Err(c.expected("a helper name, helper id, pc+N or a label"));
    };
    if c.eat("#") {
        let v = c.number()?;
        c.end()?;
        return Ok(one(insn(0x85, 0, 0, 0, imm32(c, at, v, "helper id")?)));
    }
    c.ws();
    if c.peek() == Some(b'<') {
        // llvm-objdump's `<name>` after a call: skip it.
        if let Some(k) = c.rest().find('>') {
            c.pos += k + 1;
        }
    }
    c.end()?;
    if let Some(id) = helper_by_name(name) {
        return Ok(one(insn(0x85, 0, 0, 0, id)));
    }
    Ok(Parsed {
        insns: vec![insn(0x85, 0, 1, 0, -1)],
        pending: Some((
            Pending::Call {
                label: name.to_owned(),
            },
            at,
        )),
    })
}

fn lddw(dst: u8, src: u8, v: u64) -> Vec<Insn> {
    vec![
        insn(0x18, dst, src, 0, v as u32 as i32),
        insn(0, 0, 0, 0, (v >> 32) as u32 as i32),
    ]
}

/// `+ N` / `- N` after a symbol.
fn addend(c: &mut Cur<'_>) -> Res<i64> {
    c.ws();
    let neg = if c.eat("+") {
        false
    } else if c.eat("-") {
        true
    } else {
        return Ok(0);
    };
    let at = c.pos;
    let v = i64::try_from(c.unsigned()?).map_err(|_| AsmError {
        line: c.line,
        col: at + 1,
        kind: AsmErrorKind::OutOfRange { what: "addend" },
    })?;
    Ok(if neg { -v } else { v })
}

fn parse_assign(c: &mut Cur<'_>, wide: bool, dst: u8, hint: Option<u8>) -> Res<Parsed> {
    let class: u8 = if wide { 0x07 } else { 0x04 };
    c.ws();
    let at = c.pos;
    // Load.
    if c.eat("*") {
        let (sz, signed, src, off) = mem_operand(c)?;
        c.end()?;
        let op = if signed { 0x81 | sz } else { 0x61 | sz };
        if signed && sz == 0x18 {
            return Err(c.expected("s8, s16 or s32 for a sign-extending load"));
        }
        return Ok(one(insn(op, dst, src, off, 0)));
    }
    // Sign-extending move `(s8)r1`.
    if c.rest().starts_with("(s") {
        c.expect("(", "`(`")?;
        let bits = match c.ident() {
            Some("s8") => 8,
            Some("s16") => 16,
            Some("s32") => 32,
            _ => return Err(c.expected("s8, s16 or s32")),
        };
        c.expect(")", "`)`")?;
        let (w2, src) = c.reg()?;
        c.end()?;
        if w2 != wide {
            return Err(c.expected("registers of the same width"));
        }
        return Ok(one(insn(class | 0xb8, dst, src, bits, 0)));
    }
    // Negation `-r1`.
    if c.rest().starts_with('-') {
        let save = c.pos;
        c.pos += 1;
        if let Some((w2, src)) = c.try_reg() {
            c.end()?;
            if w2 != wide || src != dst {
                return Err(c.expected("`rN = -rN` with the same register"));
            }
            return Ok(one(insn(class | 0x80, dst, 0, 0, 0)));
        }
        c.pos = save;
    }
    if let Some((w2, src)) = c.try_reg() {
        if w2 != wide {
            return Err(AsmError {
                line: c.line,
                col: at + 1,
                kind: AsmErrorKind::Expected {
                    expected: "registers of the same width",
                },
            });
        }
        c.end()?;
        return Ok(one(insn(class | 0xb8, dst, src, 0, 0)));
    }
    if c.starts_number() {
        let v = c.number()?;
        let ll = c.eat_word("ll");
        c.end()?;
        let fits32 = (-(1i128 << 31)..(1i128 << 31)).contains(&v);
        if ll || hint == Some(0x18) || (wide && !fits32) {
            if !wide {
                return Err(c.expected("a 64-bit register for ld_imm64"));
            }
            if !(-(1i128 << 63)..(1i128 << 64)).contains(&v) {
                return Err(AsmError {
                    line: c.line,
                    col: at + 1,
                    kind: AsmErrorKind::OutOfRange { what: "immediate" },
                });
            }
            return Ok(Parsed {
                insns: lddw(dst, 0, v as u64),
                pending: None,
            });
        }
        return Ok(one(insn(
            class | 0xb0,
            dst,
            0,
            0,
            imm32(c, at, v, "immediate")?,
        )));
    }
    let Some(word) = c.ident() else {
        return Err(c.expected("a register, a number, a load or a symbol"));
    };
    // Byte swaps.
    for (pfx, op) in [("be", 0xdc), ("le", 0xd4), ("bswap", 0xd7)] {
        if let Some(bits) = word.strip_prefix(pfx).and_then(|b| b.parse::<i32>().ok()) {
            if ![16, 32, 64].contains(&bits) {
                return Err(AsmError {
                    line: c.line,
                    col: at + 1,
                    kind: AsmErrorKind::OutOfRange { what: "swap width" },
                });
            }
            let (_, src) = c.reg()?;
            c.end()?;
            if src != dst {
                return Err(c.expected("the same register on both sides"));
            }
            return Ok(one(insn(op, dst, 0, 0, bits)));
        }
    }
    if let Some(name) = word
        .strip_prefix("atomic64_")
        .or_else(|| word.strip_prefix("atomic_"))
    {
        return parse_fetch(c, name, dst);
    }
    if word == "map" && c.eat("[") {
        if !wide {
            return Err(c.expected("a 64-bit register"));
        }
        return parse_map_ref(c, dst);
    }
    // `rD = SYMBOL [+ N] [ll]`.
    let name = word.to_owned();
    let add = addend(c)?;
    c.eat_word("ll");
    c.end()?;
    if !wide {
        return Err(c.expected("a 64-bit register for ld_imm64"));
    }
    Ok(Parsed {
        insns: lddw(dst, 0, 0),
        pending: Some((Pending::Ld { name, addend: add }, at)),
    })
}

/// After `map[`: `fd:N]`, `fd:N][0]+OFF`, `NAME]` or `NAME][0]+OFF`.
fn parse_map_ref(c: &mut Cur<'_>, dst: u8) -> Res<Parsed> {
    c.ws();
    let at = c.pos;
    let fd = if c.eat("fd:") || c.eat("id:") {
        let v = c.number()?;
        Some(imm32(c, at, v, "map fd")?)
    } else {
        None
    };
    let name = if fd.is_none() {
        // Map names may contain characters an identifier cannot start with.
        let r = c.rest();
        let end = r.find(']').ok_or_else(|| c.expected("`]`"))?;
        let n = r[..end].trim().to_owned();
        c.pos += end;
        if n.is_empty() {
            return Err(c.expected("a map or section name"));
        }
        n
    } else {
        String::new()
    };
    c.expect("]", "`]`")?;
    let value = if c.eat("[") {
        c.expect("0", "`0`")?;
        c.expect("]", "`]`")?;
        Some(addend(c)?)
    } else {
        None
    };
    c.eat_word("ll");
    c.end()?;
    match (fd, value) {
        (Some(fd), None) => Ok(Parsed {
            insns: vec![insn(0x18, dst, 1, 0, fd), insn(0, 0, 0, 0, 0)],
            pending: None,
        }),
        (Some(fd), Some(off)) => Ok(Parsed {
            insns: vec![
                insn(0x18, dst, 2, 0, fd),
                insn(0, 0, 0, 0, imm32(c, at, i128::from(off), "offset")?),
            ],
            pending: None,
        }),
        (None, v) => Ok(Parsed {
            insns: lddw(dst, 0, 0),
            pending: Some((
                Pending::Ld {
                    name,
                    addend: v.unwrap_or(0),
                },
                at,
            )),
        }),
    }
}

/// `atomic[64]_fetch_add((u64 *)(r1 +0), r2)`, `..._xchg(..)`, `..._cmpxchg(.., r0, r2)`.
fn parse_fetch(c: &mut Cur<'_>, name: &str, dst: u8) -> Res<Parsed> {
    let imm = match name {
        "fetch_add" => 0x01,
        "fetch_or" => 0x41,
        "fetch_and" => 0x51,
        "fetch_xor" => 0xa1,
        "xchg" => 0xe1,
        "cmpxchg" => 0xf1,
        _ => {
            return Err(c.err(AsmErrorKind::UnknownInstruction {
                text: format!("atomic_{name}"),
            }))
        }
    };
    c.expect("(", "`(`")?;
    let (sz, signed, base, off) = mem_operand(c)?;
    if signed || (sz != 0x00 && sz != 0x18) {
        return Err(c.expected("u32 or u64 for an atomic operation"));
    }
    c.expect(",", "`,`")?;
    if imm == 0xf1 {
        let (_, r0) = c.reg()?;
        if r0 != 0 || dst != 0 {
            return Err(c.expected("r0 as the compared value and the result of cmpxchg"));
        }
        c.expect(",", "`,`")?;
    }
    let (_, src) = c.reg()?;
    c.expect(")", "`)`")?;
    c.end()?;
    if imm != 0xf1 && src != dst {
        return Err(c.expected("the same register as result and operand"));
    }
    Ok(one(insn(0xc3 | sz, base, src, off, imm)))
}

impl Asm {
    fn new() -> Self {
        Asm {
            sections: Vec::new(),
            cur: None,
            maps: Vec::new(),
            license: None,
            labels: HashMap::new(),
            globl: BTreeSet::new(),
            pending: Vec::new(),
            skipping: false,
            total: 0,
        }
    }

    fn switch(&mut self, name: &str) {
        // Debug info, BTF, `.maps` (whose definitions live in BTF: use `.map`) and other
        // metadata `clang -S` emits are skipped.
        self.skipping = [
            ".debug",
            ".BTF",
            ".llvm",
            ".note",
            ".eh_frame",
            ".comment",
            ".rel",
            ".maps",
        ]
        .iter()
        .any(|p| name.starts_with(p));
        if self.skipping {
            return;
        }
        let idx = match self.sections.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                self.sections.push(SecBuild {
                    name: name.to_owned(),
                    // `license` holds the license string (`.asciz "GPL"`), taken out in
                    // `resolve`.
                    kind: if name == "license" {
                        SectionKind::Data
                    } else {
                        SectionKind::of(name)
                    },
                    data: Vec::new(),
                    labels: Vec::new(),
                    funcs: BTreeSet::new(),
                    lines: Vec::new(),
                });
                self.sections.len() - 1
            }
        };
        self.cur = Some(idx);
    }

    fn current(&mut self) -> usize {
        match self.cur {
            Some(i) => i,
            None => {
                self.switch(DEFAULT_SECTION);
                self.sections.len() - 1
            }
        }
    }

    fn define(&mut self, c: &Cur<'_>, at: usize, name: &str) -> Res<()> {
        let sec = self.current();
        if self.labels.contains_key(name) || self.maps.iter().any(|m| m.name == name) {
            return Err(AsmError {
                line: c.line,
                col: at + 1,
                kind: AsmErrorKind::Duplicate {
                    name: name.to_owned(),
                },
            });
        }
        let s = &mut self.sections[sec];
        let off = s.data.len() as u64;
        if s.kind == SectionKind::Code
            && (self.globl.contains(name) || !s.labels.iter().any(|(_, o)| *o == 0) && off == 0)
        {
            s.funcs.insert(name.to_owned());
        }
        s.labels.push((name.to_owned(), off));
        self.labels.insert(name.to_owned(), (sec, off));
        Ok(())
    }

    fn line(&mut self, raw: &str, line: usize) -> Res<()> {
        let text = &raw[..comment_start(raw)];
        let mut c = Cur {
            s: text,
            pos: 0,
            line,
        };
        if c.at_end() {
            return Ok(());
        }
        if self.skipping {
            let r = c.rest();
            let word = r.split([' ', '\t']).next().unwrap_or("");
            if ![".section", ".text", ".data", ".rodata", ".bss"].contains(&word) {
                return Ok(());
            }
        }
        if let Some(sec) = c.rest().strip_prefix("Disassembly of section ") {
            let sec = sec.trim_end().trim_end_matches(':').to_owned();
            self.switch(&sec);
            return Ok(());
        }
        if let Some(r) = self.objdump_reloc(&c)? {
            return Ok(r);
        }
        // `N: (op) ` / `N: xx xx xx ...` prefix.
        let mut hint = None;
        let b = c.s.as_bytes();
        let mut p = c.pos;
        while b.get(p).is_some_and(u8::is_ascii_digit) {
            p += 1;
        }
        // The liveness listing prefixes instructions inside loops with the loop depth
        // (`  1  28: ...`): skip it.
        if p > c.pos && b.get(p).is_some_and(|&x| x == b' ' || x == b'\t') {
            let mut q = p;
            while b.get(q).is_some_and(|&x| x == b' ' || x == b'\t') {
                q += 1;
            }
            let ds = q;
            while b.get(q).is_some_and(u8::is_ascii_digit) {
                q += 1;
            }
            if q > ds && b.get(q) == Some(&b':') {
                c.pos = ds;
                p = q;
            }
        }
        if p > c.pos && b.get(p) == Some(&b':') {
            c.pos = p + 1;
            c.ws();
            // The kernel's "Live regs before insn:" listing puts a liveness column
            // (`.12.4.....`, one character per r0-r9) before the opcode.
            let r = c.rest().as_bytes();
            if r.len() > 10
                && r[..10].iter().all(|&x| x == b'.' || x.is_ascii_digit())
                && (r[10] == b' ' || r[10] == b'\t')
            {
                c.pos += 10;
                c.ws();
            }
            let r = c.rest();
            if r.starts_with('(') && r.len() >= 4 && r.as_bytes().get(3) == Some(&b')') {
                if let Ok(op) = u8::from_str_radix(&r[1..3], 16) {
                    hint = Some(op);
                    c.pos += 4;
                }
            } else {
                // llvm-objdump's instruction bytes.
                for _ in 0..16 {
                    c.ws();
                    let r = c.rest().as_bytes();
                    let two_hex = r.len() >= 2
                        && r[0].is_ascii_hexdigit()
                        && r[1].is_ascii_hexdigit()
                        && r.get(2).is_none_or(|c| *c == b' ' || *c == b'\t');
                    if !two_hex {
                        break;
                    }
                    c.pos += 2;
                }
            }
        } else if p > c.pos {
            // `0000000000000000 <name>:` (llvm-objdump function header).
            let mut q = p;
            while b.get(q).is_some_and(u8::is_ascii_hexdigit) {
                q += 1;
            }
            let r = c.s.get(q..).unwrap_or("").trim();
            if let Some(name) = r.strip_prefix('<').and_then(|r| r.strip_suffix(">:")) {
                let at = q;
                return self.define(&c, at, name);
            }
        }
        if c.at_end() || is_log_noise(c.rest()) {
            return Ok(());
        }
        // Label.
        let save = c.pos;
        if let Some(name) = c.ident() {
            if c.peek() == Some(b':') && !c.rest().starts_with(":=") {
                c.pos += 1;
                // `name: SEC("...")` header of `iterscope disasm`.
                if c.eat("SEC(") {
                    let sec = c.string()?;
                    let sec = String::from_utf8(sec).map_err(|_| c.expected("UTF-8"))?;
                    self.switch(&sec);
                    self.define(&c, save, name)?;
                    return Ok(());
                }
                self.define(&c, save, name)?;
                if c.at_end() {
                    return Ok(());
                }
            } else {
                c.pos = save;
            }
        }
        c.ws();
        if c.peek() == Some(b'.') {
            let save = c.pos;
            if let Some(d) = c.ident() {
                return self.directive(&mut c, save, d);
            }
        }
        let sec = self.current();
        if self.sections[sec].kind != SectionKind::Code {
            return Err(c.err(AsmErrorKind::WrongSection {
                what: "an instruction",
                section: self.sections[sec].name.clone(),
            }));
        }
        let parsed = parse_insn(&mut c, hint)?;
        let s = &mut self.sections[sec];
        let index = s.data.len() / 8;
        for i in &parsed.insns {
            s.data.extend_from_slice(&i.encode());
            s.lines.push(line);
        }
        if let Some((what, at)) = parsed.pending {
            self.pending.push(PendingAt {
                section: sec,
                insn: index,
                line,
                col: at + 1,
                what,
            });
        }
        Ok(())
    }

    /// A relocation line of `llvm-objdump -dr` (`0000000000000018:  R_BPF_64_64  hist`):
    /// turns the `ld_imm64` (or call) at that offset of the current section into a reference
    /// to `hist` (the immediate becomes the addend).
    fn objdump_reloc(&mut self, c: &Cur<'_>) -> Res<Option<()>> {
        let mut words = c.rest().split_whitespace();
        let (Some(off), Some(ty), Some(name), None) =
            (words.next(), words.next(), words.next(), words.next())
        else {
            return Ok(None);
        };
        let Some(off) = off
            .strip_suffix(':')
            .and_then(|o| u64::from_str_radix(o, 16).ok())
        else {
            return Ok(None);
        };
        if ty != "R_BPF_64_64" && ty != "R_BPF_64_32" {
            return Ok(None);
        }
        let err = |reason| AsmError {
            line: c.line,
            col: c.pos + 1,
            kind: AsmErrorKind::Invalid { reason },
        };
        let sec = self.current();
        let data = &mut self.sections[sec].data;
        let at = usize::try_from(off)
            .ok()
            .filter(|o| o % 8 == 0 && o + 8 <= data.len())
            .ok_or_else(|| err("relocation offset is not an instruction of this section"))?;
        let insn = at / 8;
        let imm = i32::from_le_bytes([data[at + 4], data[at + 5], data[at + 6], data[at + 7]]);
        let what = if ty == "R_BPF_64_64" {
            if data[at] != 0x18 {
                return Err(err("R_BPF_64_64 on an instruction that is not ld_imm64"));
            }
            Pending::Ld {
                name: name.to_owned(),
                addend: i64::from(imm),
            }
        } else {
            if data[at] != 0x85 || imm != -1 {
                return Err(err(
                    "R_BPF_64_32 is read only on `call -0x1` (a call to a function symbol)",
                ));
            }
            data[at + 1] = (data[at + 1] & 0x0f) | 0x10;
            Pending::Call {
                label: name.to_owned(),
            }
        };
        self.pending
            .retain(|p| !(p.section == sec && p.insn == insn));
        self.pending.push(PendingAt {
            section: sec,
            insn,
            line: c.line,
            col: c.pos + 1,
            what,
        });
        Ok(Some(()))
    }

    fn data_section(&mut self, c: &Cur<'_>, at: usize, what: &'static str) -> Res<usize> {
        let sec = self.current();
        if self.sections[sec].kind == SectionKind::Code {
            return Err(AsmError {
                line: c.line,
                col: at + 1,
                kind: AsmErrorKind::WrongSection {
                    what,
                    section: self.sections[sec].name.clone(),
                },
            });
        }
        Ok(sec)
    }

    fn push_data(&mut self, c: &Cur<'_>, at: usize, sec: usize, bytes: &[u8]) -> Res<()> {
        let s = &mut self.sections[sec];
        if s.kind == SectionKind::Bss && bytes.iter().any(|&b| b != 0) {
            return Err(AsmError {
                line: c.line,
                col: at + 1,
                kind: AsmErrorKind::WrongSection {
                    what: "non-zero data",
                    section: s.name.clone(),
                },
            });
        }
        if s.data.len() + bytes.len() > MAX_SECTION || self.total + bytes.len() > MAX_TOTAL {
            return Err(AsmError {
                line: c.line,
                col: at + 1,
                kind: AsmErrorKind::OutOfRange {
                    what: "section size",
                },
            });
        }
        s.data.extend_from_slice(bytes);
        self.total += bytes.len();
        Ok(())
    }

    /// Handles directive `d` (its name already eaten; `at` is where it starts).
    fn directive(&mut self, c: &mut Cur<'_>, at: usize, d: &str) -> Res<()> {
        match d {
            ".text" | ".data" | ".rodata" | ".bss" => {
                c.end()?;
                self.switch(d);
            }
            ".section" => {
                c.ws();
                let name = if c.peek() == Some(b'"') {
                    String::from_utf8(c.string()?).map_err(|_| c.expected("UTF-8"))?
                } else {
                    let r = c.rest();
                    let end = r.find([',', ' ', '\t']).unwrap_or(r.len());
                    c.pos += end;
                    r[..end].to_owned()
                };
                if name.is_empty() || name.contains('\0') {
                    return Err(c.expected("a section name"));
                }
                // Flags and types after a comma (`, "ax", @progbits`) are ignored.
                self.switch(&name);
            }
            ".globl" | ".global" => {
                let name = c.ident().ok_or_else(|| c.expected("a name"))?.to_owned();
                c.end()?;
                if let Some(&(sec, _)) = self.labels.get(&name) {
                    if self.sections[sec].kind == SectionKind::Code {
                        self.sections[sec].funcs.insert(name.clone());
                    }
                }
                self.globl.insert(name);
            }
            ".type" | ".size" | ".file" | ".addrsig" | ".addrsig_sym" | ".local" | ".weak"
            | ".cfi_sections" | ".cfi_startproc" | ".cfi_endproc" | ".loc" => {}
            ".license" => {
                let s = c.string()?;
                c.end()?;
                self.license = Some(String::from_utf8_lossy(&s).into_owned());
            }
            ".align" | ".p2align" | ".balign" => {
                let vat = c.pos;
                let v = c.unsigned()?;
                c.end()?;
                let align = if d == ".p2align" {
                    if v > 12 {
                        return Err(AsmError {
                            line: c.line,
                            col: vat + 1,
                            kind: AsmErrorKind::OutOfRange { what: "alignment" },
                        });
                    }
                    1u64 << v
                } else {
                    v
                };
                if align == 0 || align > 4096 || !align.is_power_of_two() {
                    return Err(AsmError {
                        line: c.line,
                        col: vat + 1,
                        kind: AsmErrorKind::OutOfRange { what: "alignment" },
                    });
                }
                let sec = self.current();
                if self.sections[sec].kind == SectionKind::Code {
                    if align > 8 {
                        return Err(c.expected("code alignment of at most 8"));
                    }
                } else {
                    let len = self.sections[sec].data.len() as u64;
                    let pad = (align - len % align) % align;
                    self.push_data(c, at, sec, &vec![0; pad as usize])?;
                }
            }
            ".asciz" | ".string" | ".ascii" => {
                let sec = self.data_section(c, at, "a string")?;
                let mut s = c.string()?;
                c.end()?;
                if d != ".ascii" {
                    s.push(0);
                }
                self.push_data(c, at, sec, &s)?;
            }
            ".byte" | ".short" | ".hword" | ".2byte" | ".half" | ".long" | ".int" | ".word"
            | ".4byte" | ".quad" | ".8byte" | ".dword" => {
                let sec = self.data_section(c, at, "data")?;
                let width: u32 = match d {
                    ".byte" => 1,
                    ".short" | ".hword" | ".2byte" | ".half" => 2,
                    ".long" | ".int" | ".word" | ".4byte" => 4,
                    _ => 8,
                };
                let mut bytes = Vec::new();
                loop {
                    c.ws();
                    let vat = c.pos;
                    let v = c.number()?;
                    let lo = -(1i128 << (width * 8 - 1));
                    let hi = 1i128 << (width * 8);
                    if v < lo || v >= hi {
                        return Err(AsmError {
                            line: c.line,
                            col: vat + 1,
                            kind: AsmErrorKind::OutOfRange { what: "value" },
                        });
                    }
                    bytes.extend_from_slice(&(v as u64).to_le_bytes()[..width as usize]);
                    if !c.eat(",") {
                        break;
                    }
                }
                c.end()?;
                self.push_data(c, at, sec, &bytes)?;
            }
            ".zero" | ".space" | ".skip" => {
                let sec = self.data_section(c, at, "data")?;
                let vat = c.pos;
                let n = c.unsigned()?;
                c.end()?;
                if n > 1 << 24 {
                    return Err(AsmError {
                        line: c.line,
                        col: vat + 1,
                        kind: AsmErrorKind::OutOfRange { what: "size" },
                    });
                }
                self.push_data(c, at, sec, &vec![0; n as usize])?;
            }
            ".map" => self.map_directive(c)?,
            _ => {
                return Err(AsmError {
                    line: c.line,
                    col: at + 1,
                    kind: AsmErrorKind::UnknownDirective { name: d.to_owned() },
                });
            }
        }
        Ok(())
    }

    /// `.map NAME, type=array, key=4, value=8, max_entries=8[, flags=0]`.
    fn map_directive(&mut self, c: &mut Cur<'_>) -> Res<()> {
        c.ws();
        let nat = c.pos;
        let name = c
            .ident()
            .ok_or_else(|| c.expected("a map name"))?
            .to_owned();
        if self.labels.contains_key(&name) || self.maps.iter().any(|m| m.name == name) {
            return Err(AsmError {
                line: c.line,
                col: nat + 1,
                kind: AsmErrorKind::Duplicate { name },
            });
        }
        let mut m = MapDecl {
            name,
            map_type: 0,
            key_size: 0,
            value_size: 0,
            max_entries: 0,
            map_flags: 0,
        };
        let mut seen = BTreeSet::new();
        while c.eat(",") {
            c.ws();
            let kat = c.pos;
            let key = c.ident().ok_or_else(|| c.expected("a map attribute"))?;
            c.expect("=", "`=`")?;
            c.ws();
            let vat = c.pos;
            let num = |c: &mut Cur<'_>| -> Res<u32> {
                let v = c.unsigned()?;
                u32::try_from(v).map_err(|_| AsmError {
                    line: c.line,
                    col: vat + 1,
                    kind: AsmErrorKind::OutOfRange {
                        what: "map attribute",
                    },
                })
            };
            let slot = match key {
                "type" => {
                    m.map_type = if c.starts_number() {
                        num(c)?
                    } else {
                        let t = c.ident().ok_or_else(|| c.expected("a map type"))?;
                        map_type_by_name(t).ok_or_else(|| AsmError {
                            line: c.line,
                            col: vat + 1,
                            kind: AsmErrorKind::UnknownMapType { name: t.to_owned() },
                        })?
                    };
                    "type"
                }
                "key" | "key_size" => {
                    m.key_size = num(c)?;
                    "key"
                }
                "value" | "value_size" => {
                    m.value_size = num(c)?;
                    "value"
                }
                "max_entries" | "entries" => {
                    m.max_entries = num(c)?;
                    "max_entries"
                }
                "flags" | "map_flags" => {
                    m.map_flags = num(c)?;
                    "flags"
                }
                _ => {
                    return Err(AsmError {
                        line: c.line,
                        col: kat + 1,
                        kind: AsmErrorKind::Expected {
                            expected: "type, key, value, max_entries or flags",
                        },
                    })
                }
            };
            if !seen.insert(slot) {
                return Err(AsmError {
                    line: c.line,
                    col: kat + 1,
                    kind: AsmErrorKind::Duplicate {
                        name: slot.to_owned(),
                    },
                });
            }
        }
        c.end()?;
        if !seen.contains("type") {
            return Err(c.expected("`type=` in the map definition"));
        }
        self.maps.push(m);
        Ok(())
    }

    fn resolve(mut self) -> Res<AsmOutput> {
        if let Some(li) = self.sections.iter().position(|s| s.name == "license") {
            let sec = self.sections.remove(li);
            let end = sec
                .data
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(sec.data.len());
            if self.license.is_none() {
                self.license = Some(String::from_utf8_lossy(&sec.data[..end]).into_owned());
            }
            self.labels.retain(|_, (s, _)| *s != li);
            for (s, _) in self.labels.values_mut() {
                if *s > li {
                    *s -= 1;
                }
            }
            for p in &mut self.pending {
                if p.section > li {
                    p.section -= 1;
                }
            }
        }
        let pending = std::mem::take(&mut self.pending);
        let mut relocs: Vec<Vec<AsmReloc>> = vec![Vec::new(); self.sections.len()];
        // Symbols per section first: relocations refer to them by index.
        let mut syms: Vec<Vec<Symbol>> = Vec::with_capacity(self.sections.len());
        for s in &self.sections {
            let mut v: Vec<Symbol> = if s.kind == SectionKind::Code {
                s.labels
                    .iter()
                    .filter(|(n, _)| s.funcs.contains(n))
                    .map(|(n, o)| Symbol {
                        name: n.clone(),
                        offset: *o,
                        size: 0,
                        func: true,
                    })
                    .collect()
            } else {
                s.labels
                    .iter()
                    .map(|(n, o)| Symbol {
                        name: n.clone(),
                        offset: *o,
                        size: 0,
                        func: false,
                    })
                    .collect()
            };
            v.sort_by_key(|x| x.offset);
            let end = s.data.len() as u64;
            for i in 0..v.len() {
                let next = v[i + 1..]
                    .iter()
                    .map(|x| x.offset)
                    .find(|&o| o > v[i].offset)
                    .unwrap_or(end);
                v[i].size = next - v[i].offset;
            }
            syms.push(v);
        }
        for p in pending {
            let err = |kind| AsmError {
                line: p.line,
                col: p.col,
                kind,
            };
            let at = p.insn * 8;
            match p.what {
                Pending::Jump { label, wide } => {
                    let (_, off) = self
                        .labels
                        .get(&label)
                        .copied()
                        .filter(|(s, _)| *s == p.section)
                        .ok_or_else(|| err(AsmErrorKind::UnknownLabel { name: label }))?;
                    let rel = (off / 8) as i64 - p.insn as i64 - 1;
                    let data = &mut self.sections[p.section].data;
                    if wide {
                        let v = i32::try_from(rel).map_err(|_| {
                            err(AsmErrorKind::OutOfRange {
                                what: "jump offset",
                            })
                        })?;
                        data[at + 4..at + 8].copy_from_slice(&v.to_le_bytes());
                    } else {
                        let v = i16::try_from(rel).map_err(|_| {
                            err(AsmErrorKind::OutOfRange {
                                what: "jump offset",
                            })
                        })?;
                        data[at + 2..at + 4].copy_from_slice(&v.to_le_bytes());
                    }
                }
                Pending::Call { label } => {
                    let (sec, off) = self
                        .labels
                        .get(&label)
                        .copied()
                        .filter(|(s, _)| self.sections[*s].kind == SectionKind::Code)
                        .ok_or_else(|| err(AsmErrorKind::UnknownLabel { name: label }))?;
                    let target = (off / 8) as i64;
                    let imm = if sec == p.section {
                        target - p.insn as i64 - 1
                    } else {
                        relocs[p.section].push(AsmReloc {
                            offset: at as u64,
                            kind: RelocKind::Call,
                            target: RelocRef::Section(sec),
                        });
                        target - 1
                    };
                    let imm = i32::try_from(imm).map_err(|_| {
                        err(AsmErrorKind::OutOfRange {
                            what: "call offset",
                        })
                    })?;
                    self.sections[p.section].data[at + 4..at + 8]
                        .copy_from_slice(&imm.to_le_bytes());
                }
                Pending::Ld { name, addend } => {
                    let (target, imm) = if let Some(m) =
                        self.maps.iter().position(|m| m.name == name)
                    {
                        if addend != 0 {
                            return Err(err(AsmErrorKind::Invalid {
                                reason: "a map reference takes no offset (use a global for data)",
                            }));
                        }
                        (RelocRef::Map(m), 0)
                    } else if let Some(&(sec, _)) = self.labels.get(&name) {
                        if self.sections[sec].kind == SectionKind::Code {
                            return Err(err(AsmErrorKind::Invalid {
                                reason: "ld_imm64 of a function address is not supported",
                            }));
                        }
                        let k = syms[sec]
                            .iter()
                            .position(|s| s.name == name)
                            .ok_or_else(|| {
                                err(AsmErrorKind::UnknownSymbol { name: name.clone() })
                            })?;
                        (
                            RelocRef::Symbol {
                                section: sec,
                                symbol: k,
                            },
                            addend,
                        )
                    } else if let Some(sec) = self
                        .sections
                        .iter()
                        .position(|s| s.name == name && s.kind != SectionKind::Code)
                    {
                        (RelocRef::Section(sec), addend)
                    } else {
                        return Err(err(AsmErrorKind::UnknownSymbol { name }));
                    };
                    let imm = i32::try_from(imm)
                        .map_err(|_| err(AsmErrorKind::OutOfRange { what: "addend" }))?;
                    self.sections[p.section].data[at + 4..at + 8]
                        .copy_from_slice(&imm.to_le_bytes());
                    relocs[p.section].push(AsmReloc {
                        offset: at as u64,
                        kind: RelocKind::Ld64,
                        target,
                    });
                }
            }
        }
        let sections = self
            .sections
            .into_iter()
            .zip(syms)
            .zip(relocs)
            .map(|((s, symbols), relocs)| Section {
                name: s.name,
                kind: s.kind,
                data: s.data,
                symbols,
                relocs,
                lines: s.lines,
            })
            .collect();
        Ok(AsmOutput {
            sections,
            maps: self.maps,
            license: self.license.unwrap_or_else(|| "GPL".to_owned()),
        })
    }
}

/// Assembles `text` into sections, symbols, relocations and maps.
///
/// # Errors
///
/// The first [`AsmError`], with its line and column. Never panics, whatever the input.
///
/// # Examples
///
/// ```
/// use iterscope_emulator::asm::assemble;
/// let out = assemble("r0 = 0\nexit\n").unwrap();
/// assert_eq!(out.sections[0].name, "iter/bpf_map_elem");
/// assert_eq!(out.sections[0].data.len(), 16);
/// let err = assemble("r0 = 0\nr11 = 1\n").unwrap_err();
/// assert_eq!((err.line, err.col), (2, 1));
/// ```
pub fn assemble(text: &str) -> Result<AsmOutput, AsmError> {
    let mut a = Asm::new();
    for (i, raw) in text.lines().enumerate() {
        a.line(raw, i + 1)?;
        if a.sections.len() > MAX_SECTIONS {
            return Err(AsmError {
                line: i + 1,
                col: 1,
                kind: AsmErrorKind::OutOfRange {
                    what: "number of sections",
                },
            });
        }
    }
    a.resolve()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> Vec<u8> {
        assemble(text).unwrap().sections[0].data.clone()
    }

    fn enc(op: u8, dst: u8, src: u8, off: i16, imm: i32) -> Vec<u8> {
        insn(op, dst, src, off, imm).encode().to_vec()
    }

    #[test]
    fn comments() {
        assert_eq!(comment_start("r0 = 0 ; x"), 7);
        assert_eq!(comment_start("r0 = 0 // x"), 7);
        assert_eq!(comment_start("# x"), 0);
        assert_eq!(comment_start("call bpf_seq_printf#126"), 23);
        assert_eq!(comment_start(".asciz \"a;b#c//\" ; x"), 17);
        assert_eq!(comment_start(".asciz \"a\\\";\""), 13);
        assert!(is_log_noise("prog.o:\tfile format elf64-bpf"));
        assert!(!is_log_noise(".asciz \"file format elf\""));
        assert!(is_log_noise("R1=ctx() R10=fp0"));
    }

    #[test]
    fn names() {
        assert_eq!(helper_by_name("bpf_seq_printf"), Some(126));
        assert_eq!(helper_by_name("map_lookup_elem"), Some(1));
        assert_eq!(helper_by_name("nope"), None);
        assert_eq!(map_type_by_name("BPF_MAP_TYPE_LRU_HASH"), Some(9));
        assert_eq!(map_type_by_name("percpu_array"), Some(6));
        assert_eq!(SectionKind::of(".rodata.str1.1"), SectionKind::ReadOnly);
        assert_eq!(SectionKind::of(".bss"), SectionKind::Bss);
        assert_eq!(SectionKind::of(".data.x"), SectionKind::Data);
        assert_eq!(SectionKind::of(".rodatax"), SectionKind::Code);
    }

    #[test]
    fn encodings() {
        assert_eq!(code("r2 = *(u64 *)(r1 +24)"), enc(0x79, 2, 1, 24, 0));
        assert_eq!(code("*(u32 *)(r10 -8) = 5"), enc(0x62, 10, 0, -8, 5));
        assert_eq!(code("w2 = w1"), enc(0xbc, 2, 1, 0, 0));
        assert_eq!(code("r4 += -32"), enc(0x07, 4, 0, 0, -32));
        assert_eq!(code("r0 = be16 r0"), enc(0xdc, 0, 0, 0, 16));
        assert_eq!(code("r0 = le32 r0"), enc(0xd4, 0, 0, 0, 32));
        assert_eq!(code("if r2 == 0x0 goto pc+5"), enc(0x15, 2, 0, 5, 0));
        assert_eq!(code("if w1 s> w2 goto -1"), enc(0x6e, 1, 2, -1, 0));
        assert_eq!(code("lock *(u64 *)(r1 +0) += r2"), enc(0xdb, 1, 2, 0, 0));
        assert_eq!(code("call 126"), enc(0x85, 0, 0, 0, 126));
        assert_eq!(code("call pc+2"), enc(0x85, 0, 1, 0, 2));
        let mut ld = enc(0x18, 1, 0, 0, 0x1234);
        ld.extend(enc(0, 0, 0, 0, 0));
        assert_eq!(code("r1 = 0x1234 ll"), ld);
        assert_eq!(code("0: (18) r1 = 0x1234"), ld);
        assert_eq!(code("r1 = 0x1234"), enc(0xb7, 1, 0, 0, 0x1234));
    }

    #[test]
    fn labels_and_relocations() {
        let out = assemble(
            ".map m, type=array, key=4, value=4, max_entries=1\n\
             .rodata\ns: .asciz \"x\"\nt: .asciz \"yz\"\n\
             .section \"iter/bpf_map_elem\"\nf: r1 = map[m]\n r2 = t + 1 ll\n goto f\n exit\n",
        )
        .unwrap();
        let prog = &out.sections[1];
        assert_eq!(prog.symbols[0].name, "f");
        assert!(prog.symbols[0].func);
        assert_eq!(prog.relocs.len(), 2);
        assert_eq!(prog.relocs[0].target, RelocRef::Map(0));
        assert_eq!(
            prog.relocs[1].target,
            RelocRef::Symbol {
                section: 0,
                symbol: 1
            }
        );
        // The addend is in the immediate; the goto jumps back over 5 slots.
        assert_eq!(prog.data[16 + 4], 1);
        assert_eq!(i16::from_le_bytes([prog.data[34], prog.data[35]]), -5);
        assert_eq!(out.sections[0].symbols[1].offset, 2);
        assert_eq!(out.sections[0].symbols[1].size, 3);
    }

    #[test]
    fn errors() {
        let e = assemble("r1 = map[nope]").unwrap_err();
        assert_eq!(e.col, 10);
        assert!(matches!(e.kind, AsmErrorKind::UnknownSymbol { .. }));
        let e = assemble(".map m, type=array, type=hash").unwrap_err();
        assert!(matches!(e.kind, AsmErrorKind::Duplicate { .. }));
        let e = assemble("r1 = *(u64 *)(w1 +0)").unwrap_err();
        assert_eq!(e.col, 15);
        let e = assemble(".bss\n.zero 16777217").unwrap_err();
        assert!(matches!(e.kind, AsmErrorKind::OutOfRange { .. }));
        let many: String = (0..5000).map(|i| format!(".section s{i}\n")).collect();
        let e = assemble(&many).unwrap_err();
        assert_eq!(e.line, MAX_SECTIONS + 1);
        let big: String = (0..5)
            .map(|i| format!(".section .data.{i}\n.zero 16000000\n"))
            .collect();
        assert!(assemble(&big).is_err());
    }
}
