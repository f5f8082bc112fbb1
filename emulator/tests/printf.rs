//! Replays the kernel-recorded oracle cases `printf_specifiers` and `printf_invalid_format`
//! through the `bpf_seq_printf` format engine, one call per `BPF_SEQ_PRINTF` of each program,
//! and compares the concatenated output with what the kernel wrote.
//!
//! The programs and expected outputs are copied here (tests never read the shared oracle).

use iterscope_emulator::helpers::printf::{check_data_len, seq_printf, GuestMem};
use iterscope_emulator::Errno;

/// Guest memory: one map value at a fixed address, plus the key.
struct Mem {
    regions: Vec<(u64, Vec<u8>)>,
}

impl GuestMem for Mem {
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
        self.regions.iter().find_map(|(base, bytes)| {
            let off = usize::try_from(addr.checked_sub(*base)?).ok()?;
            bytes.get(off..off.checked_add(len)?)
        })
    }
}

/// One `BPF_SEQ_PRINTF(seq, fmt, args...)`: the macro passes `sizeof(fmt)` (NUL included) and
/// the args as a u64 array. Returns the helper's r0.
fn bpf_seq_printf(fmt: &str, args: &[u64], mem: &Mem, out: &mut Vec<u8>) -> u64 {
    let mut fmt_bytes = fmt.as_bytes().to_vec();
    fmt_bytes.push(0);
    let data_len = u32::try_from(args.len() * 8).unwrap();
    let result =
        check_data_len(data_len, false).and_then(|n| seq_printf(&fmt_bytes, &args[..n], mem, out));
    match result {
        Ok(()) => 0,
        Err(e) => e.as_helper_ret(),
    }
}

const KEY_ADDR: u64 = 0x7f00_0000_1000;
const VALUE_ADDR: u64 = 0x7f00_0000_2000;

/// `printf_specifiers`: array map, key 0, value
/// `68656c6c6f0000000000000000000000 c0a80101 20010db8000000000000000000000001`.
#[test]
fn oracle_printf_specifiers() {
    let mut value = b"hello".to_vec();
    value.resize(16, 0);
    value.extend_from_slice(&[0xc0, 0xa8, 0x01, 0x01]);
    value.extend_from_slice(&[
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
    ]);
    assert_eq!(value.len(), 36);
    let mem = Mem {
        regions: vec![(KEY_ADDR, 0u32.to_le_bytes().to_vec()), (VALUE_ADDR, value)],
    };
    let k: u64 = 0;
    let v = VALUE_ADDR;
    let neg = -42i64 as u64; // __s32 neg = -42, passed as a sign-extended u64
    let big = -1_234_567_890_123i64 as u64;

    let mut out = Vec::new();
    let r1 = bpf_seq_printf(
        "d=%d i=%i u=%u x=%x X=%X\n",
        &[neg, k, neg, 3054, 3054],
        &mem,
        &mut out,
    );
    let r2 = bpf_seq_printf(
        "ld=%ld lu=%lu lld=%lld llu=%llu llx=%llx\n",
        &[big, big, big, big, big],
        &mem,
        &mut out,
    );
    let r3 = bpf_seq_printf(
        "c=%c%c s=[%s] pct=%% w=[%5d] l=[%-5d] z=[%05x] p=[%+d]\n",
        &[u64::from(b'o'), u64::from(b'k'), v, k, k, 255, 7],
        &mem,
        &mut out,
    );
    let r4 = bpf_seq_printf(
        "px=%px pI4=%pI4 pi4=%pi4\n",
        &[0x1234_abcd, v + 16, v + 16],
        &mem,
        &mut out,
    );
    let r5 = bpf_seq_printf("pI6=%pI6\n", &[v + 20], &mem, &mut out);
    bpf_seq_printf(
        "rets %ld %ld %ld %ld %ld\n",
        &[r1, r2, r3, r4, r5],
        &mem,
        &mut out,
    );

    let expected = "d=-42 i=0 u=4294967254 x=bee X=BEE\n\
ld=-1234567890123 lu=18446742839141661493 lld=-1234567890123 llu=18446742839141661493 llx=fffffee08e04fb35\n\
c=ok s=[hello] pct=% w=[    0] l=[0    ] z=[000ff] p=[+7]\n\
px=000000001234abcd pI4=192.168.1.1 pi4=192.168.001.001\n\
pI6=2001:0db8:0000:0000:0000:0000:0000:0001\n\
rets 0 0 0 0 0\n";
    assert_eq!(String::from_utf8(out).unwrap(), expected);
}

/// `printf_invalid_format`: array map of 2 elements (key 0 value 0, key 1 value 9); each call
/// prints nothing on error, and the last printf shows the return codes.
#[test]
fn oracle_printf_invalid_format() {
    let mut out = Vec::new();
    for (k, v) in [(0u32, 0u32), (1, 9)] {
        let mem = Mem {
            regions: vec![
                (KEY_ADDR, k.to_le_bytes().to_vec()),
                (VALUE_ADDR, v.to_le_bytes().to_vec()),
            ],
        };
        let k = u64::from(k);
        let v = u64::from(v);
        let a = bpf_seq_printf("octal %o\n", &[k], &mem, &mut out);
        let b = bpf_seq_printf("prec %.3d\n", &[k], &mem, &mut out);
        let c = bpf_seq_printf("hh %hhd\n", &[k], &mem, &mut out);
        let d = bpf_seq_printf("two %d %d\n", &[k], &mem, &mut out);
        let e = bpf_seq_printf("extra %d\n", &[k, v], &mem, &mut out);
        let f = bpf_seq_printf("pZ %pZ\n", &[KEY_ADDR], &mem, &mut out);
        let einval = Errno::EINVAL.as_helper_ret();
        assert_eq!(
            [a, b, c, d, e, f],
            [einval, einval, einval, einval, 0, einval]
        );
        bpf_seq_printf(
            "k=%u rets %ld %ld %ld %ld %ld %ld\n",
            &[k, a, b, c, d, e, f],
            &mem,
            &mut out,
        );
    }
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "extra 0\nk=0 rets -22 -22 -22 -22 0 -22\nextra 1\nk=1 rets -22 -22 -22 -22 0 -22\n"
    );
}

/// The data_len rules of the helper (spec §7.2) ahead of the format check.
#[test]
fn data_len_rules_before_format() {
    assert_eq!(check_data_len(12, false), Err(Errno::EINVAL));
    assert_eq!(check_data_len(104, false), Err(Errno::EINVAL));
    assert_eq!(check_data_len(8, true), Err(Errno::EINVAL));
    assert_eq!(check_data_len(0, true), Ok(0));
    assert_eq!(check_data_len(96, false), Ok(12));
}
