//! The `bpf_seq_read` protocol, checked against the behaviours spec §3 records from Linux
//! 6.18: overflow mid-buffer (element dropped and re-run), small read sizes (one element per
//! refill), a return of 1 (retry, EAGAIN when first), and an element too big for the buffer.

mod common;

use common::{array, insn, lddw, machine, set};
use iterscope_emulator::iter::{Machine, ReadError};
use iterscope_emulator::Errno;

/// A program writing `len` bytes of global buffer (map 1) per element, nothing at the stop.
fn writer(len: i32) -> Vec<[u8; 8]> {
    let [l0, l1] = lddw(2);
    vec![
        insn(0x79, 6, 1, 0, 0),  // 0: r6 = *(u64 *)(r1 +0)    meta
        insn(0x79, 2, 1, 16, 0), // 1: r2 = *(u64 *)(r1 +16)   key
        insn(0x15, 2, 0, 5, 0),  // 2: if r2 == 0x0 goto pc+5
        insn(0x79, 1, 6, 0, 0),  // 3: r1 = *(u64 *)(r6 +0)    seq
        l0,                      // 4: r2 = buf ll
        l1,
        insn(0xb7, 3, 0, 0, len), // 6: r3 = len
        insn(0x85, 0, 0, 0, 127), // 7: call bpf_seq_write
        insn(0xb7, 0, 0, 0, 0),   // 8: r0 = 0
        insn(0x95, 0, 0, 0, 0),   // 9: exit
    ]
}

fn writer_machine(elements: u32, len: u32) -> Machine {
    let mut buf = array("buf", len.max(4), 1);
    set(&mut buf, 0, &vec![b'x'; len.max(4) as usize]);
    let mut m = machine(
        &writer(len as i32),
        vec![array("it", 4, elements), buf],
        &[(4, 1)],
    );
    m.record = true;
    m
}

fn read_all(m: &mut Machine, size: usize) -> Vec<Result<usize, ReadError>> {
    let mut s = m.open();
    let mut out = Vec::new();
    let mut results = Vec::new();
    for _ in 0..64 {
        let r = m.read(&mut s, size, &mut out);
        let stop = matches!(r, Ok(0));
        results.push(r);
        if stop {
            break;
        }
    }
    results
}

#[test]
fn overflow_mid_buffer_drops_and_reruns_the_element() {
    // Linux: 5 elements of 16004 bytes, 1 MiB reads -> 32008, 32008, 16004, 0; 7 runs.
    let mut m = writer_machine(5, 16004);
    let r = read_all(&mut m, 1 << 20);
    assert_eq!(r, vec![Ok(32008), Ok(32008), Ok(16004), Ok(0)]);
    let calls = m.take_records();
    let element_runs = calls.iter().filter(|c| !c.is_stop).count();
    assert_eq!(element_runs, 7);
    let reruns: Vec<u64> = calls
        .iter()
        .filter(|c| c.rerun)
        .map(|c| c.seq_num)
        .collect();
    assert_eq!(reruns, vec![2, 4], "elements 2 and 4 ran twice");
    assert!(calls.iter().filter(|c| c.discarded).all(|c| !c.rerun));
}

#[test]
fn small_reads_run_one_element_per_refill() {
    // Linux: read(fd, 10) over 23-byte lines gives 10/10/3 per line.
    let mut m = writer_machine(3, 23);
    let r = read_all(&mut m, 10);
    let want: Vec<Result<usize, ReadError>> = [10, 10, 3, 10, 10, 3, 10, 10, 3, 0]
        .into_iter()
        .map(Ok)
        .collect();
    assert_eq!(r, want);
    let calls = m.take_records();
    assert_eq!(calls.len(), 4, "three elements and one stop call");
    assert_eq!(
        calls.iter().map(|c| c.read).collect::<Vec<_>>(),
        vec![0, 3, 6, 6]
    );
}

#[test]
fn element_alone_too_big_is_e2big_every_time() {
    let mut m = writer_machine(2, 32768);
    let mut s = m.open();
    let mut out = Vec::new();
    for _ in 0..3 {
        assert_eq!(
            m.read(&mut s, 1 << 20, &mut out),
            Err(ReadError::Errno(Errno::E2BIG))
        );
    }
    assert!(out.is_empty());
    assert_eq!(
        m.take_records().len(),
        3,
        "the element is run on every read"
    );
    // 32767 bytes fit: seq_write refuses only when the count would reach the 32768 size.
    let mut ok = writer_machine(1, 32767);
    assert_eq!(read_all(&mut ok, 1 << 20), vec![Ok(32767), Ok(0)]);
}

#[test]
fn return_one_retries_the_element() {
    // Program: return 1 the first time seq_num == 1 (EAGAIN for that element only).
    let [b0, b1] = lddw(2);
    let [f0, f1] = lddw(7);
    let prog = vec![
        insn(0x79, 6, 1, 0, 0),  // 0: r6 = meta
        insn(0x79, 2, 1, 16, 0), // 1: r2 = key
        insn(0x15, 2, 0, 14, 0), // 2: if r2 == 0x0 goto 17 (r0 = 0; exit)
        insn(0x79, 1, 6, 0, 0),  // 3: r1 = seq
        b0,                      // 4: r2 = buf ll
        b1,
        insn(0xb7, 3, 0, 0, 3),   // 6: r3 = 3
        insn(0x85, 0, 0, 0, 127), // 7: call bpf_seq_write
        f0,                       // 8: r7 = flag ll
        f1,
        insn(0x79, 8, 6, 16, 0), // 10: r8 = seq_num
        insn(0x55, 8, 0, 6, 1),  // 11: if r8 != 1 goto 18 (r0 = 0)
        insn(0x61, 9, 7, 0, 0),  // 12: r9 = *(u32 *)(r7 +0)
        insn(0x55, 9, 0, 4, 0),  // 13: if r9 != 0 goto 18
        insn(0x62, 7, 0, 0, 1),  // 14: *(u32 *)(r7 +0) = 1
        insn(0xb7, 0, 0, 0, 1),  // 15: r0 = 1
        insn(0x95, 0, 0, 0, 0),  // 16: exit
        insn(0xb7, 0, 0, 0, 0),  // 17: r0 = 0
        insn(0xb7, 0, 0, 0, 0),  // 18: r0 = 0
        insn(0x95, 0, 0, 0, 0),  // 19: exit
    ];
    let run = |read_size: usize| {
        let mut buf = array("buf", 4, 1);
        set(&mut buf, 0, b"ab\n\0");
        let mut m = machine(
            &prog,
            vec![array("it", 4, 3), buf, array("flag", 4, 1)],
            &[(4, 1), (8, 2)],
        );
        m.record = true;
        let mut s = m.open();
        let mut out = Vec::new();
        let mut results = Vec::new();
        loop {
            let r = m.read(&mut s, read_size, &mut out);
            results.push(r.clone());
            if matches!(r, Ok(0)) || results.len() > 10 {
                break;
            }
        }
        (results, out, m.take_records())
    };
    // Element 1 is not first in the read: the read returns element 0's bytes, the next read
    // retries element 1 with the same seq_num.
    let (results, out, calls) = run(4096);
    assert_eq!(results, vec![Ok(3), Ok(6), Ok(0)]);
    assert_eq!(out, b"ab\nab\nab\n");
    let seqs: Vec<(u64, bool, bool)> = calls
        .iter()
        .map(|c| (c.seq_num, c.rerun, c.is_stop))
        .collect();
    assert_eq!(
        seqs,
        vec![
            (0, false, false),
            (1, false, false),
            (1, true, false),
            (2, false, false),
            (2, false, true)
        ]
    );
    // With one element per refill the retried element is first in its read: EAGAIN.
    let (results, out, _) = run(1);
    assert!(
        results.contains(&Err(ReadError::Errno(Errno::EAGAIN))),
        "{results:?}"
    );
    assert_eq!(out, b"ab\nab\nab\n");
}

#[test]
fn a_budgeted_read_is_the_same_read_in_slices() {
    use iterscope_emulator::iter::ReadStep;
    let whole = {
        let mut m = writer_machine(5, 16004);
        (read_all(&mut m, 1 << 20), m.take_records().len())
    };
    let mut m = writer_machine(5, 16004);
    let mut s = m.open();
    let mut out = Vec::new();
    let mut results = Vec::new();
    let mut pauses = 0;
    loop {
        let mut budget = 1;
        match m.read_budgeted(&mut s, 1 << 20, &mut out, &mut budget) {
            ReadStep::Paused => pauses += 1,
            ReadStep::Done(r) => {
                let eof = matches!(r, Ok(0));
                results.push(r);
                if eof {
                    break;
                }
            }
        }
        assert!(pauses < 100);
    }
    assert_eq!((results, m.take_records().len()), whole);
    // 8 calls over 4 reads (3, 3, 2, 0): every call after the first of a read pauses first.
    assert_eq!(pauses, 5);
    assert_eq!(out.len(), 5 * 16004);
}
