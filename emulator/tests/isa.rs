//! Instruction-set tests on the rbpf engine: ALU64/ALU32 (including division by zero as
//! Linux defines it), JMP/JMP32 signed and unsigned comparisons, byte swaps, loads and stores
//! of every size on the stack, `lddw`, and bpf-to-bpf calls with their own stack frames.
//! Each case is a program whose r0 is compared with the value the kernel's interpreter gives.

mod common;

use common::insn;
use iterscope_emulator::vm::Code;

fn run(prog: &[[u8; 8]]) -> u64 {
    let code = Code::prepare(&prog.concat(), &[]).expect("program prepares");
    let vm = code.vm(&[]).expect("vm");
    let mut world = None;
    let mut ctx = [0u8; 32];
    vm.run(&mut world, &mut ctx).expect("program runs")
}

const EXIT: [u8; 8] = [0x95, 0, 0, 0, 0, 0, 0, 0];

fn mov64(dst: u8, imm: i32) -> [u8; 8] {
    insn(0xb7, dst, 0, 0, imm)
}

fn lddw(dst: u8, v: u64) -> [[u8; 8]; 2] {
    [
        insn(0x18, dst, 0, 0, v as u32 as i32),
        insn(0, 0, 0, 0, (v >> 32) as u32 as i32),
    ]
}

/// r0 = a (64-bit), r1 = b, then `op` (register form), exit.
fn alu_rr(op: u8, a: u64, b: u64) -> u64 {
    let [a0, a1] = lddw(0, a);
    let [b0, b1] = lddw(1, b);
    run(&[a0, a1, b0, b1, insn(op, 0, 1, 0, 0), EXIT])
}

#[test]
fn alu64() {
    assert_eq!(alu_rr(0x0f, u64::MAX, 2), 1, "add wraps");
    assert_eq!(alu_rr(0x1f, 1, 2), u64::MAX, "sub wraps");
    assert_eq!(alu_rr(0x2f, 1 << 40, 1 << 30), 0, "mul wraps");
    assert_eq!(alu_rr(0x3f, 100, 7), 14, "div is unsigned");
    assert_eq!(alu_rr(0x3f, 100, 0), 0, "div by zero gives 0");
    assert_eq!(alu_rr(0x9f, 100, 7), 2, "mod");
    assert_eq!(alu_rr(0x9f, 100, 0), 100, "mod by zero leaves dst");
    assert_eq!(alu_rr(0x4f, 0xf0, 0x0f), 0xff);
    assert_eq!(alu_rr(0x5f, 0xf0, 0x3c), 0x30);
    assert_eq!(alu_rr(0xaf, 0xff, 0x0f), 0xf0);
    assert_eq!(alu_rr(0x6f, 1, 63), 1 << 63);
    assert_eq!(alu_rr(0x7f, 1 << 63, 63), 1);
    assert_eq!(alu_rr(0xcf, 1 << 63, 63), u64::MAX, "arsh sign-fills");
    assert_eq!(
        run(&[mov64(0, 5), insn(0x87, 0, 0, 0, 0), EXIT]),
        (-5i64) as u64,
        "neg"
    );
    assert_eq!(run(&[mov64(0, -1), EXIT]), u64::MAX, "mov imm sign-extends");
    assert_eq!(
        run(&[mov64(0, 10), insn(0x07, 0, 0, 0, -32), EXIT]),
        (-22i64) as u64
    );
}

#[test]
fn alu32_zero_extends() {
    let [a0, a1] = lddw(0, 0xffff_ffff_0000_0001);
    assert_eq!(
        run(&[a0, a1, insn(0x04, 0, 0, 0, 1), EXIT]),
        2,
        "w0 += 1 clears the upper half"
    );
    assert_eq!(run(&[a0, a1, insn(0xbc, 0, 0, 0, 0), EXIT]), 1, "w0 = w0");
    assert_eq!(
        run(&[mov64(0, -1), insn(0xb4, 0, 0, 0, -1), EXIT]),
        0xffff_ffff,
        "w0 = -1"
    );
    assert_eq!(
        run(&[mov64(0, 7), insn(0x34, 0, 0, 0, 0), EXIT]),
        0,
        "w0 /= 0 gives 0"
    );
    assert_eq!(
        run(&[mov64(0, -8), insn(0xc4, 0, 0, 0, 1), EXIT]),
        0xffff_fffc,
        "w0 s>>= 1"
    );
    assert_eq!(
        run(&[mov64(0, 1), insn(0x84, 0, 0, 0, 0), EXIT]),
        0xffff_ffff,
        "w0 = -w0"
    );
}

#[test]
fn byte_swaps() {
    let [a0, a1] = lddw(0, 0x1122_3344_5566_7788);
    assert_eq!(
        run(&[a0, a1, insn(0xdc, 0, 0, 0, 16), EXIT]),
        0x8877,
        "be16"
    );
    assert_eq!(
        run(&[a0, a1, insn(0xdc, 0, 0, 0, 32), EXIT]),
        0x8877_6655,
        "be32"
    );
    assert_eq!(
        run(&[a0, a1, insn(0xdc, 0, 0, 0, 64), EXIT]),
        0x8877_6655_4433_2211,
        "be64"
    );
    assert_eq!(
        run(&[a0, a1, insn(0xd4, 0, 0, 0, 16), EXIT]),
        0x7788,
        "le16 truncates"
    );
    assert_eq!(
        run(&[a0, a1, insn(0xd4, 0, 0, 0, 32), EXIT]),
        0x5566_7788,
        "le32 truncates"
    );
}

/// r0 = 1 if `jmp` (with r1 = a, r2 = b) is taken, else 0.
fn taken(op: u8, a: u64, b: u64) -> u64 {
    let [a0, a1] = lddw(1, a);
    let [b0, b1] = lddw(2, b);
    run(&[
        a0,
        a1,
        b0,
        b1,
        mov64(0, 0),
        insn(op, 1, 2, 1, 0),
        EXIT,
        mov64(0, 1),
        EXIT,
    ])
}

#[test]
fn jumps() {
    let neg = (-1i64) as u64;
    assert_eq!(taken(0x1d, 5, 5), 1, "jeq");
    assert_eq!(taken(0x5d, 5, 5), 0, "jne");
    assert_eq!(taken(0x2d, neg, 1), 1, "jgt unsigned");
    assert_eq!(taken(0x6d, neg, 1), 0, "jsgt signed");
    assert_eq!(taken(0xad, 1, neg), 1, "jlt unsigned");
    assert_eq!(taken(0xcd, neg, 1), 1, "jslt signed");
    assert_eq!(taken(0x3d, 3, 3), 1, "jge");
    assert_eq!(taken(0xbd, 3, 3), 1, "jle");
    assert_eq!(taken(0x7d, 3, 3), 1, "jsge");
    assert_eq!(taken(0xdd, neg, 0), 1, "jsle");
    assert_eq!(taken(0x4d, 6, 2), 1, "jset");
    assert_eq!(taken(0x4d, 4, 2), 0, "jset clear");
    // JMP32 compares the low halves only.
    assert_eq!(taken(0x1e, 0x1_0000_0005, 5), 1, "jeq32");
    assert_eq!(taken(0x6e, 0xffff_ffff, 1), 0, "jsgt32: -1 > 1 is false");
    assert_eq!(taken(0x2e, 0xffff_ffff, 1), 1, "jgt32 unsigned");
}

#[test]
fn loads_and_stores_of_each_size() {
    let [v0, v1] = lddw(1, 0x1122_3344_5566_7788);
    let prog = [
        v0,
        v1,
        insn(0x7b, 10, 1, -8, 0),       // *(u64 *)(r10 -8) = r1
        insn(0x71, 2, 10, -8, 0),       // r2 = *(u8 *)(r10 -8)
        insn(0x69, 3, 10, -6, 0),       // r3 = *(u16 *)(r10 -6)
        insn(0x61, 4, 10, -4, 0),       // r4 = *(u32 *)(r10 -4)
        insn(0x62, 10, 0, -16, -2),     // *(u32 *)(r10 -16) = -2
        insn(0x61, 5, 10, -16, 0),      // r5 = *(u32 *)(r10 -16)
        insn(0x72, 10, 0, -12, 0x7f),   // *(u8 *)(r10 -12) = 0x7f
        insn(0x6a, 10, 0, -11, 0x1234), // *(u16 *)(r10 -11) = 0x1234 (unaligned)
        insn(0x79, 0, 10, -16, 0),      // r0 = *(u64 *)(r10 -16)
        // r0 ^= r2 + r3 + r4 + r5 in turn, so every load counts
        insn(0x0f, 2, 3, 0, 0),
        insn(0x0f, 2, 4, 0, 0),
        insn(0x0f, 2, 5, 0, 0),
        insn(0xaf, 0, 2, 0, 0),
        EXIT,
    ];
    let r2 = 0x88u64;
    let r3 = 0x5566u64;
    let r4 = 0x1122_3344u64;
    let r5 = 0xffff_fffeu64;
    let r0 = 0x0012_347f_ffff_fffeu64;
    assert_eq!(run(&prog), r0 ^ (r2 + r3 + r4 + r5));
}

#[test]
fn bpf_to_bpf_calls_keep_their_frames() {
    // main: *(u64 *)(r10 -8) = 40; r1 = 2; call f; r0 += *(u64 *)(r10 -8); exit
    // f:    *(u64 *)(r10 -8) = 1000 (its own frame); r0 = r1 * 3 + r6 (r6 preserved); exit
    let prog = [
        mov64(6, 0),
        mov64(2, 40),
        insn(0x7b, 10, 2, -8, 0),
        mov64(1, 2),
        insn(0x85, 0, 1, 0, 4), // call pc+4
        insn(0x79, 3, 10, -8, 0),
        insn(0x0f, 0, 3, 0, 0),
        insn(0x0f, 0, 6, 0, 0),
        EXIT,
        mov64(4, 1000),
        insn(0x7b, 10, 4, -8, 0),
        mov64(6, 99),
        insn(0xbf, 0, 1, 0, 0),
        insn(0x27, 0, 0, 0, 3),
        EXIT,
    ];
    assert_eq!(
        run(&prog),
        2 * 3 + 40,
        "caller's stack slot and r6 survive the call"
    );
}
