//! Abstract state of the verifier: register and stack-slot types as Linux names them in its
//! log (`ctx()`, `fp-8`, `rdonly_buf_or_null(id=2)`, `map_value(map=prog.bss,ks=4,vs=8)`,
//! `scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))`), scalar bounds (unsigned
//! and signed 64-bit ranges plus known bits), and the subsumption test used to prune
//! explored states.
//!
//! Not here: the rules that move between states (see `check`).

use std::fmt;

/// Known bits of a scalar: bits set in `mask` are unknown, the others equal `value`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tnum {
    /// Known bit values.
    pub value: u64,
    /// Unknown bits.
    pub mask: u64,
}

impl Tnum {
    /// Nothing known.
    pub const UNKNOWN: Tnum = Tnum {
        value: 0,
        mask: u64::MAX,
    };

    /// Exactly `v`.
    pub const fn konst(v: u64) -> Tnum {
        Tnum { value: v, mask: 0 }
    }

    /// The tightest tnum covering `min..=max`.
    pub fn range(min: u64, max: u64) -> Tnum {
        let chi = min ^ max;
        let bits = 64 - chi.leading_zeros();
        if bits > 63 {
            return Tnum::UNKNOWN;
        }
        let delta = (1u64 << bits) - 1;
        Tnum {
            value: min & !delta,
            mask: delta,
        }
    }

    /// Whether every bit is known.
    pub fn is_const(self) -> bool {
        self.mask == 0
    }

    fn and(self, o: Tnum) -> Tnum {
        let alpha = self.value | self.mask;
        let beta = o.value | o.mask;
        let v = self.value & o.value;
        Tnum {
            value: v,
            mask: alpha & beta & !v,
        }
    }

    fn or(self, o: Tnum) -> Tnum {
        let v = self.value | o.value;
        let mu = self.mask | o.mask;
        Tnum {
            value: v,
            mask: mu & !v,
        }
    }

    fn xor(self, o: Tnum) -> Tnum {
        let v = self.value ^ o.value;
        let mu = self.mask | o.mask;
        Tnum {
            value: v & !mu,
            mask: mu,
        }
    }

    fn add(self, o: Tnum) -> Tnum {
        let sm = self.mask.wrapping_add(o.mask);
        let sv = self.value.wrapping_add(o.value);
        let sigma = sm.wrapping_add(sv);
        let chi = sigma ^ sv;
        let mu = chi | self.mask | o.mask;
        Tnum {
            value: sv & !mu,
            mask: mu,
        }
    }

    fn sub(self, o: Tnum) -> Tnum {
        let dv = self.value.wrapping_sub(o.value);
        let alpha = dv.wrapping_add(self.mask);
        let beta = dv.wrapping_sub(o.mask);
        let chi = alpha ^ beta;
        let mu = chi | self.mask | o.mask;
        Tnum {
            value: dv & !mu,
            mask: mu,
        }
    }

    fn lshift(self, s: u32) -> Tnum {
        Tnum {
            value: self.value << s,
            mask: self.mask << s,
        }
    }

    fn rshift(self, s: u32) -> Tnum {
        Tnum {
            value: self.value >> s,
            mask: self.mask >> s,
        }
    }

    fn cast32(self) -> Tnum {
        Tnum {
            value: self.value & 0xffff_ffff,
            mask: self.mask & 0xffff_ffff,
        }
    }

    fn contains(self, o: Tnum) -> bool {
        // every value of `o` is a value of `self`
        if o.mask & !self.mask != 0 {
            return false;
        }
        (self.value & !o.mask & !self.mask) == (o.value & !self.mask & !o.mask)
            || (self.value & !self.mask) == (o.value & !self.mask)
    }
}

/// A scalar's possible values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scalar {
    /// Unsigned bounds.
    pub umin: u64,
    /// Unsigned bounds.
    pub umax: u64,
    /// Signed bounds.
    pub smin: i64,
    /// Signed bounds.
    pub smax: i64,
    /// Known bits.
    pub var_off: Tnum,
}

impl Scalar {
    /// Any value.
    pub const UNKNOWN: Scalar = Scalar {
        umin: 0,
        umax: u64::MAX,
        smin: i64::MIN,
        smax: i64::MAX,
        var_off: Tnum::UNKNOWN,
    };

    /// Exactly `v`.
    pub fn konst(v: u64) -> Scalar {
        Scalar {
            umin: v,
            umax: v,
            smin: v as i64,
            smax: v as i64,
            var_off: Tnum::konst(v),
        }
    }

    /// Any value in `0..=max`.
    pub fn upto(max: u64) -> Scalar {
        let mut s = Scalar::UNKNOWN;
        s.umin = 0;
        s.umax = max;
        s.var_off = Tnum::range(0, max);
        s.sync();
        s
    }

    /// The constant, if known.
    pub fn value(&self) -> Option<u64> {
        self.var_off.is_const().then_some(self.var_off.value)
    }

    /// Tightens the bounds against each other and the known bits.
    pub fn sync(&mut self) {
        // known bits -> unsigned bounds
        let tmin = self.var_off.value;
        let tmax = self.var_off.value | self.var_off.mask;
        self.umin = self.umin.max(tmin);
        self.umax = self.umax.min(tmax);
        // unsigned -> signed when they do not cross the sign boundary
        if (self.umin as i64) <= (self.umax as i64) {
            self.smin = self.smin.max(self.umin as i64);
            self.smax = self.smax.min(self.umax as i64);
        }
        // signed -> unsigned when the signed range has one sign
        if self.smin >= 0 || self.smax < 0 {
            self.umin = self.umin.max(self.smin as u64);
            self.umax = self.umax.min(self.smax as u64);
        }
        if self.umin > self.umax || self.smin > self.smax {
            // contradictory: keep a consistent (dead) constant
            *self = Scalar::konst(self.umin);
            return;
        }
        let t = Tnum::range(self.umin, self.umax);
        let merged = Tnum {
            value: (self.var_off.value | t.value) & !(self.var_off.mask & t.mask),
            mask: self.var_off.mask & t.mask,
        };
        self.var_off = merged;
        if self.var_off.is_const() {
            let v = self.var_off.value;
            *self = Scalar {
                umin: v,
                umax: v,
                smin: v as i64,
                smax: v as i64,
                var_off: self.var_off,
            };
        }
    }

    /// Whether every value `o` allows is allowed here.
    pub fn contains(&self, o: &Scalar) -> bool {
        self.umin <= o.umin
            && self.umax >= o.umax
            && self.smin <= o.smin
            && self.smax >= o.smax
            && self.var_off.contains(o.var_off)
    }

    /// Abstract result of a 64-bit ALU operation (`code` is the BPF ALU op nibble).
    pub fn alu64(code: u8, a: Scalar, b: Scalar) -> Scalar {
        if let (Some(x), Some(y)) = (a.value(), b.value()) {
            return Scalar::konst(eval64(code, x, y));
        }
        let mut r = Scalar::UNKNOWN;
        match code {
            0x00 => {
                r.var_off = a.var_off.add(b.var_off);
                if let (Some(lo), Some(hi)) =
                    (a.umin.checked_add(b.umin), a.umax.checked_add(b.umax))
                {
                    r.umin = lo;
                    r.umax = hi;
                }
                if let (Some(lo), Some(hi)) =
                    (a.smin.checked_add(b.smin), a.smax.checked_add(b.smax))
                {
                    r.smin = lo;
                    r.smax = hi;
                }
            }
            0x10 => {
                r.var_off = a.var_off.sub(b.var_off);
                if a.umin >= b.umax {
                    r.umin = a.umin - b.umax;
                    r.umax = a.umax - b.umin;
                }
                if let (Some(lo), Some(hi)) =
                    (a.smin.checked_sub(b.smax), a.smax.checked_sub(b.smin))
                {
                    r.smin = lo;
                    r.smax = hi;
                }
            }
            0x20 => {
                if let Some(hi) = a.umax.checked_mul(b.umax) {
                    if hi <= i64::MAX as u64 {
                        r.umin = a.umin * b.umin;
                        r.umax = hi;
                    }
                }
            }
            0x50 => {
                r.var_off = a.var_off.and(b.var_off);
                r.umax = a.umax.min(b.umax);
            }
            0x40 => r.var_off = a.var_off.or(b.var_off),
            0xa0 => r.var_off = a.var_off.xor(b.var_off),
            0x60 => {
                if let Some(s) = b.value().filter(|s| *s < 64) {
                    r.var_off = a.var_off.lshift(s as u32);
                    if u64::from(a.umax.leading_zeros()) >= s {
                        r.umin = a.umin << s;
                        r.umax = a.umax << s;
                    }
                }
            }
            0x70 => {
                if let Some(s) = b.value().filter(|s| *s < 64) {
                    r.var_off = a.var_off.rshift(s as u32);
                    r.umin = a.umin >> s;
                    r.umax = a.umax >> s;
                }
            }
            0x30 => {
                if let Some(d) = b.value().filter(|d| *d != 0) {
                    r.umin = a.umin / d;
                    r.umax = a.umax / d;
                }
            }
            0x90 => {
                if let Some(d) = b.value().filter(|d| *d != 0) {
                    r.umax = (d - 1).min(a.umax);
                    r.umin = 0;
                }
            }
            _ => {}
        }
        r.sync();
        r
    }

    /// Abstract result of a 32-bit ALU operation (zero-extended to 64 bits).
    pub fn alu32(code: u8, a: Scalar, b: Scalar) -> Scalar {
        let (a, b) = (a.low32(), b.low32());
        if let (Some(x), Some(y)) = (a.value(), b.value()) {
            return Scalar::konst(u64::from(eval32(code, x as u32, y as u32)));
        }
        let r = Scalar::alu64(code, a, b);
        let mut out = Scalar::upto(u64::from(u32::MAX));
        if r.umax <= u64::from(u32::MAX) {
            out.umin = r.umin;
            out.umax = r.umax;
        }
        out.var_off = r.var_off.cast32();
        out.sync();
        out
    }

    /// The low 32 bits, zero-extended.
    pub fn low32(&self) -> Scalar {
        if self.umax <= u64::from(u32::MAX) {
            return *self;
        }
        let mut s = Scalar::upto(u64::from(u32::MAX));
        s.var_off = self.var_off.cast32();
        s.sync();
        s
    }
}

/// Concrete 64-bit ALU as Linux defines it (division by zero gives 0, modulo keeps dst): the
/// tracing interpreter's, so the verifier folds constants exactly as programs compute them.
pub fn eval64(code: u8, x: u64, y: u64) -> u64 {
    crate::trace::interp::alu64(code, 0, x, y)
}

/// Concrete 32-bit ALU (see [`eval64`]).
pub fn eval32(code: u8, x: u32, y: u32) -> u32 {
    crate::trace::interp::alu32(code, 0, u64::from(x), u64::from(y)) as u32
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(v) = self.value() {
            return write!(f, "{}", v as i64);
        }
        let mut parts: Vec<String> = Vec::new();
        let smin_def = self.smin == i64::MIN;
        let smax_def = self.smax == i64::MAX;
        let umin_def = self.umin == 0;
        let umax_def = self.umax == u64::MAX;
        let hex = |v: u64| {
            if v > 0xffff {
                format!("{v:#x}")
            } else {
                v.to_string()
            }
        };
        if !smin_def {
            parts.push(format!(
                "smin={}",
                if self.smin < -0xffff {
                    format!("{:#x}", self.smin)
                } else {
                    self.smin.to_string()
                }
            ));
        }
        if !smax_def && !umax_def && self.smax as u64 == self.umax {
            parts.push(format!("smax=umax={}", hex(self.umax)));
        } else {
            if !smax_def {
                parts.push(format!("smax={}", hex(self.smax as u64)));
            }
            if !umax_def {
                parts.push(format!("umax={}", hex(self.umax)));
            }
        }
        if !umin_def && self.umin as i64 != self.smin {
            parts.push(format!("umin={}", hex(self.umin)));
        }
        if !(self.var_off.value == 0 && self.var_off.mask == u64::MAX) {
            parts.push(format!(
                "var_off=({:#x}; {:#x})",
                self.var_off.value, self.var_off.mask
            ));
        }
        write!(f, "scalar({})", parts.join(","))
    }
}

/// What a map reference names (for `map_ptr` / `map_value` types).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MapRef {
    /// Map name as the log prints it (`prog.bss`, `hist`).
    pub name: String,
    /// key_size.
    pub ks: u32,
    /// value_size.
    pub vs: u32,
    /// `BPF_MAP_TYPE_*` (an array's lookup with a constant in-range key is never NULL).
    pub map_type: u32,
    /// max_entries.
    pub max_entries: u32,
    /// Whether the program may not write it (`.rodata`: `BPF_F_RDONLY_PROG`).
    pub readonly: bool,
    /// The contents of a frozen read-only map, whose loads the verifier knows exactly.
    pub frozen: Option<std::rc::Rc<[u8]>>,
}

/// A register's type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reg {
    /// Never written.
    NotInit,
    /// A number.
    Scalar(Scalar),
    /// The context, at a constant offset.
    Ctx {
        /// Offset.
        off: i64,
    },
    /// A stack pointer `fp<off>` in frame `frame`.
    Stack {
        /// Frame number (0 = main).
        frame: u8,
        /// Offset from the frame pointer.
        off: i64,
    },
    /// `trusted_ptr_bpf_iter_meta()`.
    IterMeta {
        /// Offset.
        off: i64,
    },
    /// `trusted_ptr_seq_file()`.
    SeqFile {
        /// Offset.
        off: i64,
    },
    /// `trusted_ptr_bpf_map()`.
    BpfMap {
        /// Offset.
        off: i64,
    },
    /// `ctx->key` (read-only) or `ctx->value`.
    Buf {
        /// `MEM_RDONLY`.
        rdonly: bool,
        /// `PTR_MAYBE_NULL`, with the id the NULL check resolves.
        null_id: Option<u32>,
        /// Constant offset.
        off: i64,
        /// A variable offset, if one was added.
        var: Option<Scalar>,
    },
    /// `ctx->sk` of an `iter/bpf_sk_storage_map` program: `ptr_or_null_sock(id=N)`, then
    /// `ptr_sock()` after the NULL check (a BTF pointer, read-only, not trusted).
    Sock {
        /// `PTR_MAYBE_NULL`, with the id the NULL check resolves.
        null_id: Option<u32>,
        /// Constant offset.
        off: i64,
    },
    /// A map as a helper argument (`map_ptr`).
    MapPtr(MapRef),
    /// A pointer into a map value.
    MapValue {
        /// The map.
        map: MapRef,
        /// Constant offset.
        off: i64,
        /// Variable offset bounds (`None`: exactly `off`).
        var: Option<Scalar>,
        /// `PTR_MAYBE_NULL` id.
        null_id: Option<u32>,
    },
}

impl Reg {
    /// Type name for `invalid mem access '%s'` and `type=%s` messages.
    pub fn type_name(&self) -> String {
        match self {
            Reg::NotInit => "?".into(),
            Reg::Scalar(_) => "scalar".into(),
            Reg::Ctx { .. } => "ctx".into(),
            Reg::Stack { .. } => "fp".into(),
            Reg::IterMeta { .. } => "trusted_ptr_".into(),
            Reg::SeqFile { .. } => "trusted_ptr_".into(),
            Reg::BpfMap { .. } => "trusted_ptr_".into(),
            Reg::Buf {
                rdonly, null_id, ..
            } => format!(
                "{}buf{}",
                if *rdonly { "rdonly_" } else { "" },
                if null_id.is_some() { "_or_null" } else { "" }
            ),
            // Linux prints the BTF pointer's flags only (reg_type_str drops the struct name
            // in this message): `ptr_or_null_`, `ptr_`.
            Reg::Sock { null_id, .. } => {
                if null_id.is_some() {
                    "ptr_or_null_".into()
                } else {
                    "ptr_".into()
                }
            }
            Reg::MapPtr(_) => "map_ptr".into(),
            Reg::MapValue { null_id, .. } => {
                if null_id.is_some() {
                    "map_value_or_null".into()
                } else {
                    "map_value".into()
                }
            }
        }
    }

    /// Whether this is any pointer.
    pub fn is_pointer(&self) -> bool {
        !matches!(self, Reg::NotInit | Reg::Scalar(_))
    }

    /// Whether this pointer may be NULL.
    pub fn null_id(&self) -> Option<u32> {
        match self {
            Reg::Buf { null_id, .. }
            | Reg::MapValue { null_id, .. }
            | Reg::Sock { null_id, .. } => *null_id,
            _ => None,
        }
    }
}

fn off_attr(off: i64) -> String {
    if off == 0 {
        String::new()
    } else {
        format!("off={off}")
    }
}

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reg::NotInit => write!(f, "?"),
            Reg::Scalar(s) => write!(f, "{s}"),
            Reg::Ctx { off } => write!(f, "ctx({})", off_attr(*off)),
            Reg::Stack { off, .. } => write!(f, "fp{off}"),
            Reg::IterMeta { off } => write!(f, "trusted_ptr_bpf_iter_meta({})", off_attr(*off)),
            Reg::SeqFile { off } => write!(f, "trusted_ptr_seq_file({})", off_attr(*off)),
            Reg::BpfMap { off } => write!(f, "trusted_ptr_bpf_map({})", off_attr(*off)),
            Reg::Buf { null_id, off, .. } => {
                let mut attrs = Vec::new();
                if let Some(id) = null_id {
                    attrs.push(format!("id={id}"));
                }
                if *off != 0 {
                    attrs.push(format!("off={off}"));
                }
                write!(f, "{}({})", self.type_name(), attrs.join(","))
            }
            Reg::Sock { null_id, off } => {
                let mut attrs = Vec::new();
                if let Some(id) = null_id {
                    attrs.push(format!("id={id}"));
                }
                if *off != 0 {
                    attrs.push(format!("off={off}"));
                }
                write!(f, "{}sock({})", self.type_name(), attrs.join(","))
            }
            Reg::MapPtr(m) => write!(f, "map_ptr(map={},ks={},vs={})", m.name, m.ks, m.vs),
            Reg::MapValue {
                map, off, null_id, ..
            } => {
                let mut attrs = Vec::new();
                if let Some(id) = null_id {
                    attrs.push(format!("id={id}"));
                }
                attrs.push(format!("map={},ks={},vs={}", map.name, map.ks, map.vs));
                if *off != 0 {
                    attrs.push(format!("off={off}"));
                }
                write!(f, "{}({})", self.type_name(), attrs.join(","))
            }
        }
    }
}

/// One byte of stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Byte {
    /// Never written.
    Invalid,
    /// Written with something unknown.
    Misc,
    /// Written with zero.
    Zero,
}

/// One 8-byte stack slot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Slot {
    /// Bytes, lowest address first.
    Bytes([Byte; 8]),
    /// A spilled register (an 8-byte store of a register to an aligned slot).
    Spill(Reg),
}

/// One function frame.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Frame {
    /// r0..r10.
    pub regs: [Reg; 11],
    /// Slots from fp-8 (index 0) downward.
    pub stack: Vec<Slot>,
    /// Where to return to (the call instruction's index + 1).
    pub ret_pc: usize,
}

impl Frame {
    /// A fresh frame: everything uninitialised but r10.
    pub fn new(frame: u8, ret_pc: usize) -> Frame {
        let mut regs: [Reg; 11] = std::array::from_fn(|_| Reg::NotInit);
        regs[10] = Reg::Stack { frame, off: 0 };
        Frame {
            regs,
            stack: Vec::new(),
            ret_pc,
        }
    }
}

/// The whole abstract state at one instruction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct State {
    /// Call frames, innermost last.
    pub frames: Vec<Frame>,
}

impl State {
    /// The current frame.
    pub fn cur(&self) -> &Frame {
        &self.frames[self.frames.len() - 1]
    }

    /// The current frame, mutably.
    pub fn cur_mut(&mut self) -> &mut Frame {
        let n = self.frames.len() - 1;
        &mut self.frames[n]
    }

    /// Whether every execution `new` allows is allowed by `self` (so `new` needs no
    /// exploring once `self` was found safe).
    pub fn subsumes(&self, new: &State) -> bool {
        if self.frames.len() != new.frames.len() {
            return false;
        }
        self.frames.iter().zip(&new.frames).all(|(o, n)| {
            o.ret_pc == n.ret_pc
                && o.regs.iter().zip(&n.regs).all(|(a, b)| reg_subsumes(a, b))
                && (0..o.stack.len().max(n.stack.len())).all(|i| {
                    let a = o
                        .stack
                        .get(i)
                        .cloned()
                        .unwrap_or(Slot::Bytes([Byte::Invalid; 8]));
                    let b = n
                        .stack
                        .get(i)
                        .cloned()
                        .unwrap_or(Slot::Bytes([Byte::Invalid; 8]));
                    slot_subsumes(&a, &b)
                })
        })
    }
}

fn reg_subsumes(old: &Reg, new: &Reg) -> bool {
    match (old, new) {
        (Reg::NotInit, _) => true,
        (Reg::Scalar(a), Reg::Scalar(b)) => a.contains(b),
        (
            Reg::Buf {
                rdonly: r1,
                null_id: n1,
                off: o1,
                var: v1,
            },
            Reg::Buf {
                rdonly: r2,
                null_id: n2,
                off: o2,
                var: v2,
            },
        ) => r1 == r2 && n1.is_some() == n2.is_some() && o1 == o2 && v1 == v2,
        (
            Reg::MapValue {
                map: m1,
                off: o1,
                var: v1,
                null_id: n1,
            },
            Reg::MapValue {
                map: m2,
                off: o2,
                var: v2,
                null_id: n2,
            },
        ) => m1 == m2 && o1 == o2 && v1 == v2 && n1.is_some() == n2.is_some(),
        (a, b) => a == b,
    }
}

fn slot_subsumes(old: &Slot, new: &Slot) -> bool {
    match (old, new) {
        (Slot::Bytes(a), Slot::Bytes(b)) => a
            .iter()
            .zip(b)
            .all(|(x, y)| *x == Byte::Invalid || x == y || (*x == Byte::Misc && *y == Byte::Zero)),
        (Slot::Bytes(a), Slot::Spill(r)) => {
            a.iter().all(|x| *x == Byte::Invalid)
                || (matches!(r, Reg::Scalar(_)) && a.iter().all(|x| *x == Byte::Misc))
        }
        (Slot::Spill(a), Slot::Spill(b)) => reg_subsumes(a, b),
        (Slot::Spill(_), Slot::Bytes(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_spelling_as_in_the_kernel_log() {
        assert_eq!(Scalar::konst(7).to_string(), "7");
        assert_eq!(Scalar::UNKNOWN.to_string(), "scalar()");
        assert_eq!(
            Scalar::upto(0xffff_ffff).to_string(),
            "scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))"
        );
    }

    #[test]
    fn pointer_spelling() {
        let k = Reg::Buf {
            rdonly: true,
            null_id: Some(2),
            off: 0,
            var: None,
        };
        assert_eq!(k.to_string(), "rdonly_buf_or_null(id=2)");
        assert_eq!(k.type_name(), "rdonly_buf_or_null");
        let v = Reg::Buf {
            rdonly: false,
            null_id: None,
            off: 0,
            var: None,
        };
        assert_eq!(v.to_string(), "buf()");
        let m = Reg::MapValue {
            map: MapRef {
                name: "prog.bss".into(),
                ks: 4,
                vs: 8,
                map_type: 2,
                max_entries: 1,
                readonly: false,
                frozen: None,
            },
            off: 0,
            var: None,
            null_id: None,
        };
        assert_eq!(m.to_string(), "map_value(map=prog.bss,ks=4,vs=8)");
        assert_eq!(Reg::Stack { frame: 0, off: -8 }.to_string(), "fp-8");
    }

    #[test]
    fn bounds_follow_alu() {
        let a = Scalar::upto(0xffff_ffff);
        let r = Scalar::alu64(0x50, a, Scalar::konst(3));
        assert_eq!((r.umin, r.umax), (0, 3));
        let s = Scalar::alu64(0x00, Scalar::konst(2), Scalar::konst(3));
        assert_eq!(s.value(), Some(5));
        assert_eq!(eval64(0x30, 5, 0), 0);
        assert_eq!(eval64(0x90, 5, 0), 5);
    }
}
