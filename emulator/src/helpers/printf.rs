//! The format engine of `bpf_seq_printf` (helper 126) and `bpf_snprintf` (helper 165).
//!
//! The kernel handles these helpers in two passes, and so does this module:
//!
//! 1. **prepare** (the kernel's `bpf_bprintf_prepare`): the format must hold a NUL within
//!    `fmt_size`; every byte before it must be printable ASCII or ASCII whitespace; each
//!    conversion must be one of the grammar of spec §7.3 (`%[0+- ]*[1-9][0-9]*` then `d i u x X`
//!    with an optional `l`/`ll`, `c`, `s`, `%`, or `p` with `K x s S B i4 I4 i6 I6 ks us` or a
//!    following end/space/punctuation) and must have an argument. Strings (`%s`, `%pks`,
//!    `%pus`), IP addresses and `%pB` are copied or pre-formatted into a 512-byte argument
//!    buffer (`MAX_BPRINTF_BIN_ARGS`); integers and pointers take 4 or 8 bytes of it (4-aligned)
//!    and characters one byte. Running out of that buffer is `ENOSPC`; every other failure is
//!    `EINVAL`. Nothing is rendered when this pass fails.
//! 2. **render** (the kernel's `bstr_printf`): the format is rendered with the prepared
//!    arguments, with `vsprintf` semantics for flags and width (no precision exists here).
//!
//! Where the kernel is not deterministic, this module picks a fixed behaviour:
//!
//! * `%p` and `%pK` print a *hashed* pointer in the kernel (siphash with a boot-time random key,
//!   truncated to 32 bits). Here the hash is [`hash_pointer`], a fixed 64-bit mixer truncated to
//!   32 bits, so the default output is `00000000` followed by 8 hex digits, and an explicit
//!   width applies to the 8-digit form (`%10p` gives `  xxxxxxxx`), as in the kernel. NULL and
//!   error pointers (`-4095..=-1`) are printed unhashed, as the kernel does.
//! * `%pS`, `%ps` and `%pB` print `0x<hex>`: the emulator has no kernel symbol table, and that
//!   is what the kernel prints for an address no symbol covers (`0` gives `0x0`).
//! * `%pus` always prints an empty string: the emulator models no user address space, so the
//!   user-space copy fails as it does in the kernel for a kernel address. `%s` and `%pks` read
//!   through [`GuestMem`]; an unreadable byte anywhere in the copied range gives `""`.
//! * An unreadable `%pI4`/`%pi4`/`%pI6`/`%pi6` address prints an all-zero address, as the
//!   kernel does.
//! * Once the 512-byte argument buffer is overrun by a pre-formatted IP or `%pB` (the kernel
//!   advances past its end in that case), it is treated as full: the next copy is `ENOSPC`.
//! * `%p` directly followed by `%`: the kernel's prepare skips that `%` but its renderer starts a
//!   new conversion there and reads a stale argument. Here that `%` is printed literally.
//! * Bytes `>= 0x80` in the format are rejected (`EINVAL`), as kernels before the 2026 "allow
//!   UTF-8 literals" change do.
//! * Field widths are accumulated like the kernel's `skip_atoi` into the 24-bit signed
//!   `printf_spec.field_width`, so absurd widths wrap (a negative width pads nothing) and a
//!   single conversion never renders more than 8 MiB.
//!
//! Out of scope: the seq_file buffer and its overflow (`EOVERFLOW` is the caller's business:
//! it compares the rendered length with the space left), the nesting limit (`EBUSY`), reading
//! the format or the argument array out of guest memory, and `bpf_trace_printk`'s output.

use crate::Errno;

/// Read access to guest memory for the pointer arguments of `%s`, `%pks`, `%pi4`/`%pI4`,
/// `%pi6`/`%pI6`.
pub trait GuestMem {
    /// Returns the `len` bytes at guest address `addr`, or `None` if any of them is unreadable.
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]>;
}

/// Most arguments a bprintf-style helper takes (`MAX_BPRINTF_VARARGS`): `data_len <= 96`.
pub const MAX_BPRINTF_VARARGS: usize = 12;

/// Size of the kernel's per-call argument buffer (`MAX_BPRINTF_BIN_ARGS`), shared by copied
/// strings, pre-formatted IPs and the binary integer arguments.
pub const MAX_BPRINTF_BIN_ARGS: usize = 512;

/// Largest error value the kernel prints unhashed for `%p` (`MAX_ERRNO`).
const MAX_ERRNO: u64 = 4095;

/// Checks the `data`/`data_len` pair of `bpf_seq_printf` / `bpf_snprintf` and returns the
/// number of `u64` arguments (`data_len / 8`).
///
/// `EINVAL` if `data_len` is not a multiple of 8, exceeds 96 bytes (12 arguments), or is
/// non-zero with a NULL `data` pointer.
pub fn check_data_len(data_len: u32, data_ptr_is_null: bool) -> Result<usize, Errno> {
    let len = usize::try_from(data_len).map_err(|_| Errno::EINVAL)?;
    if len % 8 != 0 || len > MAX_BPRINTF_VARARGS * 8 || (len != 0 && data_ptr_is_null) {
        return Err(Errno::EINVAL);
    }
    Ok(len / 8)
}

/// Formats like `bpf_seq_printf` and appends the rendered bytes to `out`.
///
/// `fmt` is the `fmt_size` bytes the program passed; the format ends at its first NUL, and a
/// missing NUL is `EINVAL`. `args` is the `u64` array (`data_len / 8` values, see
/// [`check_data_len`]); more than 12 values is `EINVAL` here too. Extra arguments are ignored.
///
/// On error nothing is appended: `EINVAL` for a bad format or too few arguments, `ENOSPC` when
/// strings and IP addresses overflow the 512-byte argument buffer. The only allocation is the
/// growth of `out`.
///
/// # Examples
///
/// ```
/// use iterscope_emulator::helpers::printf::{seq_printf, GuestMem};
/// struct NoMem;
/// impl GuestMem for NoMem {
///     fn read(&self, _addr: u64, _len: usize) -> Option<&[u8]> { None }
/// }
/// let mut out = Vec::new();
/// seq_printf(b"%5d|%-5d|%05d\n\0", &[42, 42, 42], &NoMem, &mut out).unwrap();
/// assert_eq!(out, b"   42|42   |00042\n");
/// ```
pub fn seq_printf(
    fmt: &[u8],
    args: &[u64],
    mem: &dyn GuestMem,
    out: &mut Vec<u8>,
) -> Result<(), Errno> {
    let mut bin = [0u8; MAX_BPRINTF_BIN_ARGS];
    let prepared = prepare(fmt, args, mem, &mut bin)?;
    let mut sink = VecSink(out);
    render(fmt, &prepared, &bin, &mut sink);
    Ok(())
}

/// Formats like `bpf_snprintf` into `dst` (`str`/`str_size` of the helper) and returns the
/// helper's success value: the length of the whole rendered string plus one for its NUL,
/// even when `dst` was too small.
///
/// If `dst` is not empty, at most `dst.len() - 1` bytes are written followed by a NUL. The
/// format must contain a NUL (the verifier guarantees it for the real helper); errors are
/// those of [`seq_printf`], and on error `dst` is untouched.
pub fn snprintf(
    fmt: &[u8],
    args: &[u64],
    mem: &dyn GuestMem,
    dst: &mut [u8],
) -> Result<usize, Errno> {
    let mut bin = [0u8; MAX_BPRINTF_BIN_ARGS];
    let prepared = prepare(fmt, args, mem, &mut bin)?;
    let mut sink = SliceSink { dst, len: 0 };
    render(fmt, &prepared, &bin, &mut sink);
    let total = sink.len;
    let cap = sink.dst.len();
    if cap > 0 {
        let at = total.min(cap - 1);
        if let Some(b) = sink.dst.get_mut(at) {
            *b = 0;
        }
    }
    Ok(total + 1)
}

/// The emulator's stand-in for the kernel's `%p` pointer hash: a fixed 64-bit mix (the
/// SplitMix64 finaliser over the value xor a constant), truncated to 32 bits like the kernel's
/// hash on 64-bit machines. Deterministic across runs and platforms.
pub fn hash_pointer(value: u64) -> u32 {
    let mut z = value ^ 0x9e37_79b9_7f4a_7c15;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    // Truncation is the point: the kernel keeps the low 32 bits of its hash.
    (z & 0xffff_ffff) as u32
}

/// Flags and width of one conversion.
#[derive(Debug, Clone, Copy)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    zero: bool,
    /// `-1` when no width was given (the kernel's convention).
    width: i32,
}

const NO_SPEC: Spec = Spec {
    left: false,
    plus: false,
    space: false,
    zero: false,
    width: -1,
};

/// What a prepared conversion renders.
#[derive(Debug, Clone, Copy)]
enum Conv {
    /// `d i u x X` with the value already truncated / sign-extended to 64 bits.
    Int { value: u64, signed: bool, hex: Hex },
    /// `%c`.
    Char(u8),
    /// `%s`: bytes `start..start+len` of the argument buffer; width applies.
    Str { start: usize, len: usize },
    /// `%p`, `%pK`: hashed.
    Hashed(u64),
    /// `%px`: raw, 16 digits by default.
    Raw(u64),
    /// `%ps`, `%pS`: `0x<hex>` (no symbols); width applies.
    Symbol(u64),
    /// `%pB`, IPs, `%pks`, `%pus`: pre-formatted in the argument buffer; width ignored.
    Preformatted { start: usize, len: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hex {
    No,
    Lower,
    Upper,
}

/// One conversion: its byte range in the format and what to print.
#[derive(Debug, Clone, Copy)]
struct Item {
    start: usize,
    end: usize,
    spec: Spec,
    conv: Conv,
    /// The kernel's renderer skips alphanumerics after a `%p` extension.
    skip_alnum: bool,
}

const NO_ITEM: Item = Item {
    start: 0,
    end: 0,
    spec: NO_SPEC,
    conv: Conv::Char(0),
    skip_alnum: false,
};

/// Result of the prepare pass.
#[derive(Debug)]
struct Prepared {
    items: [Item; MAX_BPRINTF_VARARGS],
    count: usize,
    /// Index of the terminating NUL in the format.
    nul: usize,
}

/// C `isspace` in the "C" locale.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t'..=b'\r')
}

/// The byte may follow `%s` / `%pks` / `%pus` / a bare `%p`: end, whitespace or punctuation.
fn is_end_space_punct(c: u8) -> bool {
    c == 0 || is_space(c) || c.is_ascii_punctuation()
}

/// The argument buffer: a cursor over `bin` that saturates at its end.
struct BinBuf<'a> {
    bin: &'a mut [u8; MAX_BPRINTF_BIN_ARGS],
    used: usize,
}

impl BinBuf<'_> {
    fn remaining(&self) -> usize {
        MAX_BPRINTF_BIN_ARGS.saturating_sub(self.used)
    }

    /// Reserves a 4-aligned slot of `size` bytes for a binary integer or pointer argument.
    fn reserve_scalar(&mut self, size: usize) -> Result<(), Errno> {
        self.used = self.used.next_multiple_of(4).min(MAX_BPRINTF_BIN_ARGS);
        if self.remaining() < size {
            return Err(Errno::ENOSPC);
        }
        self.used += size;
        Ok(())
    }

    /// Stores a pre-formatted text like the kernel's `snprintf` into the rest of the buffer
    /// (truncated, NUL-terminated) and advances by its full length plus one. Returns the
    /// stored range.
    fn store_text(&mut self, text: &[u8]) -> (usize, usize) {
        let start = self.used.min(MAX_BPRINTF_BIN_ARGS);
        let room = self.remaining();
        let len = if room == 0 {
            0
        } else {
            text.len().min(room - 1)
        };
        if let (Some(dst), Some(src)) = (self.bin.get_mut(start..start + len), text.get(..len)) {
            dst.copy_from_slice(src);
        }
        if let Some(b) = self.bin.get_mut(start + len) {
            *b = 0;
        }
        self.used = self
            .used
            .saturating_add(text.len() + 1)
            .min(MAX_BPRINTF_BIN_ARGS);
        (start, len)
    }

    /// Copies a NUL-terminated guest string the way `strncpy_from_kernel_nofault` does with
    /// the rest of the buffer as its bound: at most `remaining - 1` bytes are kept, and a fault
    /// on any byte read (including the last, which is read and then replaced by the NUL)
    /// leaves an empty string. `None` for `mem` means the copy always faults (`%pus`).
    fn copy_string(
        &mut self,
        addr: u64,
        mem: Option<&dyn GuestMem>,
    ) -> Result<(usize, usize), Errno> {
        let room = self.remaining();
        if room == 0 {
            return Err(Errno::ENOSPC);
        }
        let start = self.used;
        let copied = mem.and_then(|mem| self.try_copy(addr, room, mem));
        match copied {
            Some(len) => {
                self.used += len + 1;
                Ok((start, len))
            }
            None => {
                if let Some(b) = self.bin.get_mut(start) {
                    *b = 0;
                }
                self.used += 1;
                Ok((start, 0))
            }
        }
    }

    /// Copies at most `room` bytes; returns the string length kept, or `None` on a fault.
    fn try_copy(&mut self, addr: u64, room: usize, mem: &dyn GuestMem) -> Option<usize> {
        let start = self.used;
        for k in 0..room {
            let a = addr.checked_add(u64::try_from(k).ok()?)?;
            let byte = *mem.read(a, 1)?.first()?;
            let slot = self.bin.get_mut(start + k)?;
            if byte == 0 {
                *slot = 0;
                return Some(k);
            }
            *slot = byte;
        }
        // Not terminated within the bound: the last byte becomes the NUL.
        let last = self.bin.get_mut(start + room - 1)?;
        *last = 0;
        Some(room - 1)
    }
}

/// Fixed-capacity text used to pre-format IPs and symbols without allocating.
struct Small {
    buf: [u8; 48],
    len: usize,
}

impl Small {
    fn new() -> Self {
        Small {
            buf: [0; 48],
            len: 0,
        }
    }

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn push_hex(&mut self, value: u64) {
        let mut digits = [0u8; 20];
        let n = format_digits(value, 16, false, &mut digits);
        for &d in digits.get(..n).unwrap_or(&[]) {
            self.push(d);
        }
    }

    fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

/// `0x<hex>`: how the kernel prints an address no symbol covers (`%pS`, `%ps`, `%pB`).
fn symbol_text(value: u64) -> Small {
    let mut s = Small::new();
    s.push(b'0');
    s.push(b'x');
    s.push_hex(value);
    s
}

/// `%pI4` (`lower == false`, dotted decimal) / `%pi4` (3-digit zero-padded) /
/// `%pI6` (8 colon-separated groups of 4 hex digits) / `%pi6` (32 hex digits).
fn ip_text(addr: &[u8], upper_i: bool, v6: bool) -> Small {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = Small::new();
    if v6 {
        for (k, &b) in addr.iter().enumerate() {
            if upper_i && k > 0 && k % 2 == 0 {
                s.push(b':');
            }
            s.push(HEX[usize::from(b >> 4)]);
            s.push(HEX[usize::from(b & 0xf)]);
        }
    } else {
        for (k, &b) in addr.iter().enumerate() {
            if k > 0 {
                s.push(b'.');
            }
            let digits = [b / 100, (b / 10) % 10, b % 10];
            let skip = if upper_i {
                if b >= 100 {
                    0
                } else if b >= 10 {
                    1
                } else {
                    2
                }
            } else {
                0
            };
            for &d in &digits[skip..] {
                s.push(b'0' + d);
            }
        }
    }
    s
}

/// The prepare pass (see the module docs). Fills `bin` with copied strings and returns the
/// conversions in order.
fn prepare(
    fmt: &[u8],
    args: &[u64],
    mem: &dyn GuestMem,
    bin: &mut [u8; MAX_BPRINTF_BIN_ARGS],
) -> Result<Prepared, Errno> {
    let nul = fmt.iter().position(|&b| b == 0).ok_or(Errno::EINVAL)?;
    if args.len() > MAX_BPRINTF_VARARGS {
        return Err(Errno::EINVAL);
    }
    // Bytes at or past the NUL read as 0, like the kernel reading its zero-terminated copy.
    let at = |i: usize| -> u8 {
        if i < nul {
            fmt.get(i).copied().unwrap_or(0)
        } else {
            0
        }
    };
    let mut buf = BinBuf { bin, used: 0 };
    let mut prepared = Prepared {
        items: [NO_ITEM; MAX_BPRINTF_VARARGS],
        count: 0,
        nul,
    };

    let mut i = 0;
    while i < nul {
        let c = at(i);
        if !(c.is_ascii_graphic() || is_space(c)) {
            return Err(Errno::EINVAL);
        }
        if c != b'%' {
            i += 1;
            continue;
        }
        if at(i + 1) == b'%' {
            i += 2;
            continue;
        }
        let arg = *args.get(prepared.count).ok_or(Errno::EINVAL)?;
        let start = i;
        i += 1;

        let mut spec = NO_SPEC;
        loop {
            match at(i) {
                b'0' => spec.zero = true,
                b'+' => spec.plus = true,
                b'-' => spec.left = true,
                b' ' => spec.space = true,
                _ => break,
            }
            i += 1;
        }
        if (b'1'..=b'9').contains(&at(i)) {
            let mut w: i32 = 0;
            while at(i).is_ascii_digit() {
                w = w.wrapping_mul(10).wrapping_add(i32::from(at(i) - b'0'));
                i += 1;
            }
            // printf_spec.field_width is a 24-bit signed bit-field.
            spec.width = (w << 8) >> 8;
        }

        let (conv, end, skip_alnum) = match at(i) {
            b'p' => {
                let n1 = at(i + 1);
                let n2 = at(i + 2);
                if (n1 == b'k' || n1 == b'u') && n2 == b's' {
                    if !is_end_space_punct(at(i + 3)) {
                        return Err(Errno::EINVAL);
                    }
                    let source = if n1 == b'k' { Some(mem) } else { None };
                    let (s, len) = buf.copy_string(arg, source)?;
                    (Conv::Preformatted { start: s, len }, i + 3, true)
                } else if is_end_space_punct(n1) {
                    buf.reserve_scalar(8)?;
                    prepared.items[prepared.count] = Item {
                        start,
                        end: i + 1,
                        spec,
                        conv: Conv::Hashed(arg),
                        skip_alnum: false,
                    };
                    prepared.count += 1;
                    // The kernel steps over the byte after a bare `%p` without checking it.
                    i += 2;
                    continue;
                } else if matches!(n1, b'K' | b'x' | b's' | b'S') {
                    buf.reserve_scalar(8)?;
                    let conv = match n1 {
                        b'x' => Conv::Raw(arg),
                        b'K' => Conv::Hashed(arg),
                        _ => Conv::Symbol(arg),
                    };
                    (conv, i + 2, true)
                } else if n1 == b'B' {
                    let text = symbol_text(arg);
                    let (s, len) = buf.store_text(text.as_bytes());
                    (Conv::Preformatted { start: s, len }, i + 2, true)
                } else if matches!(n1, b'i' | b'I') && matches!(n2, b'4' | b'6') {
                    let v6 = n2 == b'6';
                    let size = if v6 { 16 } else { 4 };
                    if buf.remaining() < size {
                        return Err(Errno::ENOSPC);
                    }
                    let zeros = [0u8; 16];
                    let addr = mem
                        .read(arg, size)
                        .filter(|b| b.len() == size)
                        .unwrap_or(&zeros[..size]);
                    let text = ip_text(addr, n1 == b'I', v6);
                    let (s, len) = buf.store_text(text.as_bytes());
                    (Conv::Preformatted { start: s, len }, i + 3, true)
                } else {
                    return Err(Errno::EINVAL);
                }
            }
            b's' => {
                if !is_end_space_punct(at(i + 1)) {
                    return Err(Errno::EINVAL);
                }
                let (s, len) = buf.copy_string(arg, Some(mem))?;
                (Conv::Str { start: s, len }, i + 1, false)
            }
            b'c' => {
                if buf.remaining() == 0 {
                    return Err(Errno::ENOSPC);
                }
                buf.used += 1;
                // Only the low byte is kept.
                (Conv::Char((arg & 0xff) as u8), i + 1, false)
            }
            _ => {
                let mut long = false;
                if at(i) == b'l' {
                    long = true;
                    i += 1;
                }
                if at(i) == b'l' {
                    i += 1;
                }
                let (signed, hex) = match at(i) {
                    b'd' | b'i' => (true, Hex::No),
                    b'u' => (false, Hex::No),
                    b'x' => (false, Hex::Lower),
                    b'X' => (false, Hex::Upper),
                    _ => return Err(Errno::EINVAL),
                };
                buf.reserve_scalar(if long { 8 } else { 4 })?;
                let value = match (long, signed) {
                    (true, _) => arg,
                    // Truncate to the C `int` and sign-extend it back, as `%d` reads an int.
                    (false, true) => i64::from((arg & 0xffff_ffff) as u32 as i32) as u64,
                    (false, false) => arg & 0xffff_ffff,
                };
                (Conv::Int { value, signed, hex }, i + 1, false)
            }
        };
        prepared.items[prepared.count] = Item {
            start,
            end,
            spec,
            conv,
            skip_alnum,
        };
        prepared.count += 1;
        i = end;
    }
    Ok(prepared)
}

/// Where rendered bytes go.
trait Sink {
    fn put(&mut self, bytes: &[u8]);
    fn pad(&mut self, byte: u8, n: usize);
}

struct VecSink<'a>(&'a mut Vec<u8>);

impl Sink for VecSink<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
    fn pad(&mut self, byte: u8, n: usize) {
        let len = self.0.len();
        self.0.resize(len + n, byte);
    }
}

/// Writes into a fixed slice, keeping the last byte for the NUL, and counts everything.
struct SliceSink<'a> {
    dst: &'a mut [u8],
    len: usize,
}

impl SliceSink<'_> {
    fn room(&self) -> usize {
        self.dst.len().saturating_sub(1).saturating_sub(self.len)
    }
}

impl Sink for SliceSink<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.room());
        if let (Some(d), Some(s)) = (self.dst.get_mut(self.len..self.len + n), bytes.get(..n)) {
            d.copy_from_slice(s);
        }
        self.len += bytes.len();
    }
    fn pad(&mut self, byte: u8, n: usize) {
        let k = n.min(self.room());
        if let Some(d) = self.dst.get_mut(self.len..self.len + k) {
            d.fill(byte);
        }
        self.len += n;
    }
}

/// Writes `value` in `base` (10 or 16) into `out`, most significant digit first; returns the
/// digit count.
fn format_digits(mut value: u64, base: u64, upper: bool, out: &mut [u8; 20]) -> usize {
    let table: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut tmp = [0u8; 20];
    let mut n = 0;
    loop {
        // `value % base` is below 16.
        tmp[n] = table[(value % base) as usize];
        n += 1;
        value /= base;
        if value == 0 || n == tmp.len() {
            break;
        }
    }
    for k in 0..n {
        out[k] = tmp[n - 1 - k];
    }
    n
}

/// Number of pad bytes for a field of `width` holding `used` bytes (0 for no or negative width).
fn pad_len(width: i32, used: usize) -> usize {
    usize::try_from(width).map_or(0, |w| w.saturating_sub(used))
}

/// vsprintf's `number()` without precision or `#`.
fn put_number(sink: &mut dyn Sink, value: u64, signed: bool, hex: Hex, spec: Spec) {
    let mut value = value;
    let sign = if signed && (value as i64) < 0 {
        value = value.wrapping_neg();
        Some(b'-')
    } else if signed && spec.plus {
        Some(b'+')
    } else if signed && spec.space {
        Some(b' ')
    } else {
        None
    };
    let mut digits = [0u8; 20];
    let n = match hex {
        Hex::No => format_digits(value, 10, false, &mut digits),
        Hex::Lower => format_digits(value, 16, false, &mut digits),
        Hex::Upper => format_digits(value, 16, true, &mut digits),
    };
    let body = n + usize::from(sign.is_some());
    let pad = pad_len(spec.width, body);
    let zero = spec.zero && !spec.left;
    if !spec.left && !zero {
        sink.pad(b' ', pad);
    }
    if let Some(s) = sign {
        sink.put(&[s]);
    }
    if zero {
        sink.pad(b'0', pad);
    }
    sink.put(digits.get(..n).unwrap_or(&[]));
    if spec.left {
        sink.pad(b' ', pad);
    }
}

/// vsprintf's `pointer_string()`: hex, 16 zero-padded digits unless a width was given.
fn put_pointer(sink: &mut dyn Sink, value: u64, mut spec: Spec) {
    if spec.width == -1 {
        spec.width = 16;
        spec.zero = true;
    }
    put_number(sink, value, false, Hex::Lower, spec);
}

/// vsprintf's `widen_string()` around `text`: space padding, left or right.
fn put_string(sink: &mut dyn Sink, text: &[u8], spec: Spec) {
    let pad = pad_len(spec.width, text.len());
    if !spec.left {
        sink.pad(b' ', pad);
    }
    sink.put(text);
    if spec.left {
        sink.pad(b' ', pad);
    }
}

/// Literal text between conversions: `%%` is one `%`.
fn put_literal(sink: &mut dyn Sink, text: &[u8]) {
    let mut k = 0;
    while k < text.len() {
        let run_end = text[k..]
            .iter()
            .position(|&b| b == b'%')
            .map_or(text.len(), |p| k + p);
        sink.put(text.get(k..run_end).unwrap_or(&[]));
        if run_end >= text.len() {
            break;
        }
        sink.put(b"%");
        k = if text.get(run_end + 1) == Some(&b'%') {
            run_end + 2
        } else {
            run_end + 1
        };
    }
}

/// The render pass (`bstr_printf`).
fn render(fmt: &[u8], prepared: &Prepared, bin: &[u8; MAX_BPRINTF_BIN_ARGS], sink: &mut dyn Sink) {
    let nul = prepared.nul;
    let text = fmt.get(..nul).unwrap_or(&[]);
    let mut pos = 0;
    for item in prepared.items.iter().take(prepared.count) {
        put_literal(sink, text.get(pos..item.start).unwrap_or(&[]));
        let spec = item.spec;
        match item.conv {
            Conv::Int { value, signed, hex } => put_number(sink, value, signed, hex, spec),
            Conv::Char(c) => {
                let pad = pad_len(spec.width, 1);
                if !spec.left {
                    sink.pad(b' ', pad);
                }
                sink.put(&[c]);
                if spec.left {
                    sink.pad(b' ', pad);
                }
            }
            Conv::Str { start, len } => {
                put_string(sink, bin.get(start..start + len).unwrap_or(&[]), spec);
            }
            Conv::Preformatted { start, len } => {
                sink.put(bin.get(start..start + len).unwrap_or(&[]));
            }
            Conv::Raw(v) => put_pointer(sink, v, spec),
            Conv::Hashed(v) => {
                // NULL and ERR_PTR values are not addresses: the kernel prints them as they are.
                if v == 0 || v >= MAX_ERRNO.wrapping_neg() {
                    put_pointer(sink, v, spec);
                } else {
                    put_pointer(sink, u64::from(hash_pointer(v)), spec);
                }
            }
            Conv::Symbol(v) => put_string(sink, symbol_text(v).as_bytes(), spec),
        }
        pos = item.end.min(nul);
        if item.skip_alnum {
            while pos < nul && text.get(pos).is_some_and(u8::is_ascii_alphanumeric) {
                pos += 1;
            }
        }
    }
    put_literal(sink, text.get(pos..).unwrap_or(&[]));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guest memory made of (address, bytes) regions.
    struct Mem(Vec<(u64, Vec<u8>)>);

    impl GuestMem for Mem {
        fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
            self.0.iter().find_map(|(base, bytes)| {
                let off = usize::try_from(addr.checked_sub(*base)?).ok()?;
                bytes.get(off..off.checked_add(len)?)
            })
        }
    }

    const HELLO: u64 = 0xffff_8880_0000_1000;
    const IP4: u64 = 0xffff_8880_0000_2000;
    const IP6: u64 = 0xffff_8880_0000_3000;

    fn mem() -> Mem {
        Mem(vec![
            (HELLO, b"hello\0".to_vec()),
            (IP4, vec![10, 0, 0, 1]),
            (
                IP6,
                vec![0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            ),
        ])
    }

    fn fmt_z(fmt: &str) -> Vec<u8> {
        let mut v = fmt.as_bytes().to_vec();
        v.push(0);
        v
    }

    fn ok(fmt: &str, args: &[u64]) -> String {
        let mut out = Vec::new();
        seq_printf(&fmt_z(fmt), args, &mem(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn err(fmt: &str, args: &[u64]) -> Errno {
        let mut out = b"keep".to_vec();
        let e = seq_printf(&fmt_z(fmt), args, &mem(), &mut out).unwrap_err();
        assert_eq!(out, b"keep", "nothing appended on error for {fmt:?}");
        e
    }

    const NEG5: u64 = -5i64 as u64;

    #[test]
    fn signed_ints() {
        assert_eq!(ok("%d", &[NEG5]), "-5");
        assert_eq!(ok("%i", &[NEG5]), "-5");
        assert_eq!(ok("%ld", &[NEG5]), "-5");
        assert_eq!(ok("%lld", &[NEG5]), "-5");
        assert_eq!(ok("%lli", &[u64::MAX]), "-1");
        assert_eq!(ok("%lld", &[i64::MIN as u64]), "-9223372036854775808");
    }

    #[test]
    fn unsigned_ints() {
        assert_eq!(ok("%u", &[NEG5]), "4294967291");
        assert_eq!(ok("%lu", &[NEG5]), "18446744073709551611");
        assert_eq!(ok("%llu", &[NEG5]), "18446744073709551611");
        assert_eq!(ok("%u", &[0]), "0");
    }

    #[test]
    fn hex_ints() {
        assert_eq!(ok("%x", &[255]), "ff");
        assert_eq!(ok("%X", &[255]), "FF");
        assert_eq!(ok("%x", &[0x1_0000_00ff]), "ff");
        assert_eq!(ok("%lx", &[0xdead_beef_cafe]), "deadbeefcafe");
        assert_eq!(ok("%llx", &[0xdead_beef_cafe]), "deadbeefcafe");
        assert_eq!(ok("%llX", &[0xab_cdef]), "ABCDEF");
        assert_eq!(ok("%08llx", &[0xabc]), "00000abc");
    }

    #[test]
    fn widths_and_flags() {
        assert_eq!(ok("%5d|%-5d|%05d", &[42, 42, 42]), "   42|42   |00042");
        assert_eq!(ok("%+d", &[5]), "+5");
        assert_eq!(ok("% d", &[5]), " 5");
        assert_eq!(ok("%+u|% x", &[5, 5]), "5|5");
        assert_eq!(ok("%05d", &[NEG5]), "-0005");
        assert_eq!(ok("%-05d|", &[7]), "7    |");
        assert_eq!(ok("%+05d", &[7]), "+0007");
        assert_eq!(ok("%2d", &[12345]), "12345");
        assert_eq!(ok("%10d|", &[NEG5]), "        -5|");
    }

    #[test]
    fn chars() {
        assert_eq!(ok("%c", &[u64::from(b'A')]), "A");
        assert_eq!(ok("%c", &[0x4142]), "B");
        assert_eq!(ok("%5c|", &[u64::from(b'z')]), "    z|");
        assert_eq!(ok("%-3c|", &[u64::from(b'z')]), "z  |");
    }

    #[test]
    fn strings() {
        assert_eq!(ok("%s", &[HELLO]), "hello");
        assert_eq!(ok("%-8s|", &[HELLO]), "hello   |");
        assert_eq!(ok("%8s|", &[HELLO]), "   hello|");
        assert_eq!(ok("%s|", &[0]), "|");
        assert_eq!(ok("[%s]", &[0xdead]), "[]");
        assert_eq!(ok("%s,%s.", &[HELLO, HELLO + 3]), "hello,lo.");
    }

    #[test]
    fn string_without_nul_in_readable_memory_is_empty() {
        // The copy reads up to the end of the buffer; the region ends first, so it faults.
        let m = Mem(vec![(0x1000, b"abc".to_vec())]);
        let mut out = Vec::new();
        seq_printf(b"[%s]\0", &[0x1000], &m, &mut out).unwrap();
        assert_eq!(out, b"[]");
    }

    #[test]
    fn long_string_is_cut_to_the_argument_buffer() {
        let m = Mem(vec![(0x1000, vec![b'a'; 600])]);
        let mut out = Vec::new();
        seq_printf(b"%s\0", &[0x1000], &m, &mut out).unwrap();
        assert_eq!(out.len(), MAX_BPRINTF_BIN_ARGS - 1);
        // The buffer is then full: a second string has no room.
        let mut out = Vec::new();
        assert_eq!(
            seq_printf(b"%s %s\0", &[0x1000, 0x1000], &m, &mut out),
            Err(Errno::ENOSPC)
        );
        assert!(out.is_empty());
    }

    #[test]
    fn percent() {
        assert_eq!(ok("%%", &[]), "%");
        assert_eq!(ok("%llu%%", &[5]), "5%");
        assert_eq!(ok("100%% %d%%%%", &[1]), "100% 1%%");
    }

    #[test]
    fn pointers() {
        assert_eq!(ok("%px", &[0x1234]), "0000000000001234");
        let h = hash_pointer(0x1234);
        assert_eq!(ok("%pK", &[0x1234]), format!("{:016x}", h));
        assert_eq!(ok("%p", &[0x1234]), format!("{:016x}", h));
        assert_eq!(ok("%10p|", &[0x1234]), format!("{:>10x}|", h));
        assert_eq!(ok("%p", &[0]), "0000000000000000");
        assert_eq!(ok("%p", &[-14i64 as u64]), "fffffffffffffff2");
        assert_eq!(ok("%pS %ps %pB", &[0, 0, 0]), "0x0 0x0 0x0");
        assert_eq!(ok("%pS", &[0xffff_ffff_8100_0000]), "0xffffffff81000000");
        assert_eq!(ok("%6ps|", &[0]), "   0x0|");
        assert_eq!(ok("%6pB|", &[0]), "0x0|");
        assert_eq!(ok("%20px|", &[0x1234]), "                1234|");
        assert!(ok("%p", &[HELLO]).starts_with("00000000"));
    }

    #[test]
    fn pointer_hash_is_deterministic() {
        assert_eq!(hash_pointer(0x1234), hash_pointer(0x1234));
        assert_ne!(hash_pointer(0x1234), hash_pointer(0x1235));
    }

    #[test]
    fn ip_addresses() {
        assert_eq!(ok("%pI4", &[IP4]), "10.0.0.1");
        assert_eq!(ok("%pi4", &[IP4]), "010.000.000.001");
        assert_eq!(
            ok("%pI6", &[IP6]),
            "2001:0db8:0000:0000:0000:0000:0000:0001"
        );
        assert_eq!(ok("%pi6", &[IP6]), "20010db8000000000000000000000001");
        assert_eq!(ok("%pI4", &[0]), "0.0.0.0");
        assert_eq!(ok("%pi6", &[0]), "00000000000000000000000000000000");
        // Width is ignored for pre-formatted conversions; trailing alphanumerics are eaten.
        assert_eq!(ok("%20pI4|", &[IP4]), "10.0.0.1|");
        assert_eq!(
            ok("%pI6c|", &[IP6]),
            "2001:0db8:0000:0000:0000:0000:0000:0001|"
        );
    }

    #[test]
    fn kernel_and_user_strings() {
        assert_eq!(ok("%pks", &[HELLO]), "hello");
        assert_eq!(ok("[%pus]", &[HELLO]), "[]");
        assert_eq!(err("%pksx", &[HELLO]), Errno::EINVAL);
    }

    #[test]
    fn argument_counts() {
        let twelve = "%d".repeat(12);
        assert_eq!(ok(&twelve, &[1; 12]), "1".repeat(12));
        let thirteen = "%d".repeat(13);
        assert_eq!(err(&thirteen, &[1; 13]), Errno::EINVAL);
        assert_eq!(err("%d %d", &[1]), Errno::EINVAL);
        assert_eq!(err("%d", &[]), Errno::EINVAL);
        assert_eq!(ok("%d", &[3, 4]), "3");
        assert_eq!(ok("no conversions\n", &[]), "no conversions\n");
    }

    #[test]
    fn data_len_rules() {
        assert_eq!(check_data_len(0, true), Ok(0));
        assert_eq!(check_data_len(8, false), Ok(1));
        assert_eq!(check_data_len(96, false), Ok(12));
        assert_eq!(check_data_len(104, false), Err(Errno::EINVAL));
        assert_eq!(check_data_len(12, false), Err(Errno::EINVAL));
        assert_eq!(check_data_len(8, true), Err(Errno::EINVAL));
    }

    #[test]
    fn unsupported_conversions() {
        for f in [
            "%o", "%hd", "%hhd", "%zu", "%.2d", "%.3d", "%l", "%lllu", "%sx", "%pE", "%pZ", "%f",
            "%n", "%*d", "%lc", "%ls", "%#x", "%", "abc%", "%5%", "%pk", "%pi5", "%Ld", "%jd",
        ] {
            assert_eq!(err(f, &[HELLO, HELLO]), Errno::EINVAL, "{f:?}");
        }
    }

    #[test]
    fn bad_format_bytes() {
        let mut out = Vec::new();
        let m = mem();
        assert_eq!(
            seq_printf(b"a\x01b\0", &[], &m, &mut out),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            seq_printf(b"caf\xc3\xa9\0", &[], &m, &mut out),
            Err(Errno::EINVAL)
        );
        assert_eq!(seq_printf(b"no nul", &[], &m, &mut out), Err(Errno::EINVAL));
        assert_eq!(seq_printf(b"", &[], &m, &mut out), Err(Errno::EINVAL));
        assert!(out.is_empty());
        // Whitespace is fine; bytes after the NUL are not looked at.
        seq_printf(b"a\tb\r\n\x0b\x0c\0\x01%o", &[], &m, &mut out).unwrap();
        assert_eq!(out, b"a\tb\r\n\x0b\x0c");
    }

    #[test]
    fn too_many_args_slice() {
        assert_eq!(err("%d", &[0; 13]), Errno::EINVAL);
    }

    #[test]
    fn bare_p_followed_by_punctuation() {
        let h = hash_pointer(0x1234);
        assert_eq!(ok("%p.", &[0x1234]), format!("{h:016x}."));
        assert_eq!(ok("%p %d", &[0x1234, 7]), format!("{h:016x} 7"));
        // Alphanumerics after a %p extension are consumed by the renderer.
        assert_eq!(ok("%pKabc|", &[0]), "0000000000000000|");
    }

    #[test]
    fn quirks_are_pinned() {
        let h = hash_pointer(0x1234);
        // %c of 0 writes a NUL byte, as bstr_printf does.
        let mut out = Vec::new();
        seq_printf(b"[%c]\0", &[0x100], &mem(), &mut out).unwrap();
        assert_eq!(out, b"[\0]");
        // A bare %p at the end of the format.
        assert_eq!(ok("x%p", &[0x1234]), format!("x{h:016x}"));
        // %p followed by '%': the '%' is skipped by prepare and printed literally here.
        assert_eq!(ok("%p%d", &[0x1234]), format!("{h:016x}%d"));
        // Bytes after %pK / %px / %pI4 that are alphanumeric are eaten by the renderer.
        assert_eq!(ok("%pxyz|", &[0x1234]), "0000000000001234|");
    }

    #[test]
    fn huge_width_is_bounded() {
        // 16777216 wraps to 0 in the 24-bit field: no padding.
        assert_eq!(ok("%16777216d", &[1]), "1");
        // 16777215 is -1: "no width".
        assert_eq!(ok("%16777215d", &[1]), "1");
    }

    #[test]
    fn snprintf_truncates_and_counts() {
        let m = mem();
        let mut dst = [0xaa_u8; 4];
        assert_eq!(snprintf(b"%d-%s\0", &[12, HELLO], &m, &mut dst), Ok(9));
        assert_eq!(&dst, b"12-\0");
        let mut big = [0xaa_u8; 16];
        assert_eq!(snprintf(b"%d-%s\0", &[12, HELLO], &m, &mut big), Ok(9));
        assert_eq!(&big[..9], b"12-hello\0");
        let mut empty: [u8; 0] = [];
        assert_eq!(snprintf(b"abc\0", &[], &m, &mut empty), Ok(4));
        let mut dst = [0xaa_u8; 4];
        assert_eq!(snprintf(b"%o\0", &[1], &m, &mut dst), Err(Errno::EINVAL));
        assert_eq!(dst, [0xaa; 4]);
    }

    #[test]
    fn enospc_from_ip_copies() {
        // A 500-byte string leaves 11 bytes: a 16-byte IPv6 address does not fit.
        let m = Mem(vec![(0x1000, [vec![b'a'; 500], vec![0]].concat())]);
        let mut out = Vec::new();
        assert_eq!(
            seq_printf(b"%s%pI6\0", &[0x1000, 0x1000], &m, &mut out),
            Err(Errno::ENOSPC)
        );
        // An IPv4 address (4 bytes checked) fits and is cut to the space left.
        seq_printf(b"%s%pI4\0", &[0x1000, 0x1000], &m, &mut out).unwrap();
        assert_eq!(&out[500..], b"97.97.97.9");
    }

    #[test]
    fn random_formats_never_panic() {
        let m = mem();
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"%%%%0+- 123456789lldiuxXcspKxsSBiI46ku.hz\x01\xff\0abc";
        let mut out = Vec::new();
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            let fmt: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 4 == 0 {
                        (r >> 8) as u8
                    } else {
                        alphabet[(r >> 8) as usize % alphabet.len()]
                    }
                })
                .collect();
            let nargs = (next() % 14) as usize;
            let args: Vec<u64> = (0..nargs)
                .map(|_| match next() % 4 {
                    0 => HELLO,
                    1 => IP6,
                    2 => 0,
                    _ => next(),
                })
                .collect();
            out.clear();
            let _ = seq_printf(&fmt, &args, &m, &mut out);
            let mut dst = [0u8; 8];
            let _ = snprintf(&fmt, &args, &m, &mut dst);
        }
    }
}
