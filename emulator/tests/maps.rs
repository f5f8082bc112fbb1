//! Map behaviour against recorded kernel results: the LRU scenarios of
//! `spec/lru-eviction.md` §8 (2 CPUs, `BPF_F_ZERO_SEED`, u32 keys) and the map contents of
//! oracle cases (data copied here; tests never read the shared oracle directory).

use iterscope_emulator::maps::{
    DumpValue, IterCursor, Map, MapDef, MapKind, MapLimits, UpdateValue, BPF_ANY, BPF_EXIST,
    BPF_F_NO_COMMON_LRU, BPF_F_ZERO_SEED, BPF_NOEXIST,
};
use iterscope_emulator::Errno;

const NCPUS: u32 = 2;

fn create(kind: MapKind, key_size: u32, value_size: u32, max: u32, flags: u32) -> Map {
    let def = MapDef {
        kind,
        key_size,
        value_size,
        max_entries: max,
        flags,
        name: "orc_map".into(),
    };
    Map::create(def, NCPUS, 0x1234_5678, &MapLimits::default()).unwrap()
}

fn lru(kind: MapKind, max: u32, no_common: bool) -> Map {
    let flags = BPF_F_ZERO_SEED | if no_common { BPF_F_NO_COMMON_LRU } else { 0 };
    create(kind, 4, 8, max, flags)
}

/// One step of a scenario.
#[derive(Clone, Copy)]
enum Op {
    /// Update key with flags on a CPU.
    U(u32, u64, u32),
    /// Program lookup (sets the reference bit).
    L(u32),
    /// Syscall lookup.
    Ls(u32),
    /// Delete.
    D(u32),
}

fn ups(keys: impl IntoIterator<Item = u32>) -> Vec<Op> {
    keys.into_iter().map(|k| Op::U(k, BPF_ANY, 0)).collect()
}

/// Runs ops; returns the errnos of failing ops as (op index, errno).
fn run(m: &mut Map, ops: &[Op]) -> Vec<(usize, Errno)> {
    let mut fails = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let r = match *op {
            Op::U(k, flags, cpu) => {
                let v = u64::from(k).to_le_bytes();
                m.update(&k.to_le_bytes(), UpdateValue::Same(&v), flags, cpu)
            }
            Op::L(k) => {
                assert!(
                    m.lookup_prog(&k.to_le_bytes(), 0).is_some(),
                    "L {k} missing"
                );
                Ok(())
            }
            Op::Ls(k) => {
                assert!(m.lookup_sys(&k.to_le_bytes()).is_some(), "Ls {k} missing");
                Ok(())
            }
            Op::D(k) => m.delete(&k.to_le_bytes(), 0),
        };
        if let Err(e) = r {
            fails.push((i, e));
        }
    }
    fails
}

fn keys(m: &Map) -> Vec<u32> {
    m.dump()
        .iter()
        .map(|(k, _)| u32::from_le_bytes(k[..4].try_into().unwrap()))
        .collect()
}

fn sorted_keys(m: &Map) -> Vec<u32> {
    let mut k = keys(m);
    k.sort_unstable();
    k
}

fn survivors(kind: MapKind, max: u32, no_common: bool, ops: &[Op]) -> Vec<u32> {
    let mut m = lru(kind, max, no_common);
    let fails = run(&mut m, ops);
    assert!(fails.is_empty(), "unexpected failures {fails:?}");
    assert_eq!(m.len(), keys(&m).len());
    sorted_keys(&m)
}

fn cat(parts: &[&[Op]]) -> Vec<Op> {
    parts.concat()
}

fn range(a: u32, b: u32) -> Vec<u32> {
    (a..=b).collect()
}

fn join(parts: &[Vec<u32>]) -> Vec<u32> {
    parts.concat()
}

#[test]
fn lru_sequential_fills() {
    let h = MapKind::LruHash;
    for (n, max, from) in [
        (8, 4, 5),
        (16, 8, 9),
        (32, 16, 17),
        (37, 16, 25),
        (200, 100, 101),
        (250, 100, 151),
        (2000, 1000, 1049),
    ] {
        assert_eq!(
            survivors(h, max, false, &ups(1..=n)),
            range(from, n),
            "u 1..{n} max {max}"
        );
    }
}

#[test]
fn lru_program_lookups_set_ref_syscall_lookups_do_not() {
    let h = MapKind::LruHash;
    let l = |ks: std::ops::RangeInclusive<u32>| ks.map(Op::L).collect::<Vec<_>>();
    let ls = |ks: std::ops::RangeInclusive<u32>| ks.map(Op::Ls).collect::<Vec<_>>();
    let ops = cat(&[&ups(1..=8), &l(1..=4), &ups(9..=16)]);
    assert_eq!(
        survivors(h, 8, false, &ops),
        join(&[range(1, 4), range(13, 16)])
    );
    let ops = cat(&[&ups(1..=8), &ls(1..=4), &ups(9..=16)]);
    assert_eq!(survivors(h, 8, false, &ops), range(9, 16));
    let ops = cat(&[&ups(1..=16), &l(1..=8), &ups(17..=32)]);
    assert_eq!(
        survivors(h, 16, false, &ops),
        join(&[range(1, 8), range(25, 32)])
    );
    let ops = cat(&[&ups(1..=100), &l(1..=50), &ups(101..=200)]);
    assert_eq!(
        survivors(h, 100, false, &ops),
        join(&[range(1, 50), range(151, 200)])
    );
    let ops = cat(&[&ups(1..=100), &ls(1..=50), &ups(101..=200)]);
    assert_eq!(survivors(h, 100, false, &ops), range(101, 200));
    let lk: Vec<Op> = [5, 6, 7, 9, 11].into_iter().map(Op::L).collect();
    let ops = cat(&[&ups(1..=20), &lk, &ups(21..=39)]);
    assert_eq!(
        survivors(h, 16, false, &ops),
        join(&[vec![5, 6, 7, 9, 11], range(30, 39)])
    );
}

#[test]
fn lru_deletes_and_errnos() {
    let h = MapKind::LruHash;
    let d = |ks: &[u32]| ks.iter().map(|&k| Op::D(k)).collect::<Vec<_>>();
    let ops = cat(&[&ups(1..=8), &d(&[2, 4, 6]), &ups(9..=15)]);
    assert_eq!(survivors(h, 8, false, &ops), range(9, 15));

    let ops = cat(&[&ups(1..=24), &d(&[10, 12, 20, 24, 99]), &ups(30..=44)]);
    let mut m = lru(h, 16, false);
    assert_eq!(run(&mut m, &ops), [(28, Errno::ENOENT)]);
    assert_eq!(sorted_keys(&m), range(31, 44));

    // NOEXIST 3, EXIST 50, EXIST 4, NOEXIST 60.
    let flagged = [
        Op::U(3, BPF_NOEXIST, 0),
        Op::U(50, BPF_EXIST, 0),
        Op::U(4, BPF_EXIST, 0),
        Op::U(60, BPF_NOEXIST, 0),
    ];
    let ops = cat(&[&ups(1..=8), &flagged, &ups(9..=13)]);
    let mut m = lru(h, 8, false);
    assert_eq!(run(&mut m, &ops), [(8, Errno::EEXIST), (9, Errno::ENOENT)]);
    assert_eq!(sorted_keys(&m), join(&[vec![4], range(9, 13), vec![60]]));

    assert_eq!(run(&mut m, &[Op::U(1, 3, 0)]), [(0, Errno::EINVAL)]);
}

#[test]
fn lru_updates_of_existing_keys() {
    let h = MapKind::LruHash;
    let ops = cat(&[&ups(1..=8), &ups([1, 2, 3]), &ups(9..=13)]);
    assert_eq!(
        survivors(h, 8, false, &ops),
        join(&[range(1, 3), range(9, 13)])
    );
    let ops = cat(&[&ups(1..=8), &ups([9, 10]), &ups([7, 8]), &ups(11..=20)]);
    assert_eq!(
        survivors(h, 8, false, &ops),
        join(&[vec![7, 8], range(15, 20)])
    );
    let ops = cat(&[&ups(1..=20), &ups([5, 13, 14, 19, 20]), &ups(21..=29)]);
    assert_eq!(
        survivors(h, 16, false, &ops),
        join(&[vec![5, 13, 14], range(19, 29)])
    );
}

#[test]
fn lru_multi_cpu() {
    for n in [4, 8, 16, 100] {
        let ops: Vec<Op> = (1..=2 * n).map(|k| Op::U(k, BPF_ANY, k % 2)).collect();
        assert_eq!(
            survivors(MapKind::LruHash, n, false, &ops),
            range(n + 1, 2 * n),
            "alternating max {n}"
        );
    }
    let ops: Vec<Op> = (1..=20).map(|k| Op::U(k, BPF_ANY, 1)).collect();
    assert_eq!(survivors(MapKind::LruHash, 8, false, &ops), range(13, 20));
}

#[test]
fn lru_no_common_lru() {
    let h = MapKind::LruHash;
    for (n, max, from) in [
        (8, 4, 7),
        (16, 8, 13),
        (18, 9, 17),
        (32, 16, 25),
        (200, 100, 153),
    ] {
        assert_eq!(
            survivors(h, max, true, &ups(1..=n)),
            range(from, n),
            "no_common u 1..{n} max {max}"
        );
    }
    let ops: Vec<Op> = (1..=40).map(|k| Op::U(k, BPF_ANY, k % 2)).collect();
    assert_eq!(survivors(h, 16, true, &ops), range(25, 40));
    let ops = cat(&[&ups(1..=8), &[Op::L(1), Op::L(2), Op::L(3)], &ups(9..=29)]);
    assert_eq!(survivors(h, 16, true, &ops), range(24, 29));
}

#[test]
fn lru_percpu_hash() {
    let p = MapKind::LruPercpuHash;
    for n in [8, 16, 100] {
        assert_eq!(survivors(p, n, false, &ups(1..=2 * n)), range(n + 1, 2 * n));
    }
    assert_eq!(survivors(p, 16, false, &ups(1..=40)), range(25, 40));

    let tail = [Op::U(20, BPF_EXIST, 0), Op::U(1, BPF_EXIST, 0)];
    let ops = cat(&[&ups(1..=20), &ups([5, 13, 19]), &tail, &ups(21..=29)]);
    let mut m = lru(p, 16, false);
    assert_eq!(run(&mut m, &ops), [(24, Errno::ENOENT)]);
    assert_eq!(sorted_keys(&m), join(&[vec![5, 13], range(18, 29)]));

    let ops: Vec<Op> = (1..=40).map(|k| Op::U(k, BPF_ANY, (k / 3) % 2)).collect();
    assert_eq!(survivors(p, 16, true, &ops), range(25, 40));

    let l: Vec<Op> = (1..=4).map(Op::L).chain([Op::Ls(5), Op::Ls(6)]).collect();
    let ops = cat(&[&ups(1..=16), &l, &ups(17..=29)]);
    assert_eq!(
        survivors(p, 16, false, &ops),
        join(&[range(1, 4), range(21, 29)])
    );
}

/// The oracle's generator: key = start + i*step, value = key*mul + add (+ cpu*cpu_add).
fn gen_fill(m: &mut Map, count: u32, start: u32, mul: u64, add: u64, cpu_add: Option<u64>) {
    let vs = m.def().value_size as usize;
    let ks = m.def().key_size as usize;
    for i in 0..count {
        let key = u64::from(start + i);
        let kb = &key.to_le_bytes()[..ks];
        let val =
            |cpu: u64| (key * mul + add + cpu * cpu_add.unwrap_or(0)).to_le_bytes()[..vs].to_vec();
        let r = match cpu_add {
            Some(_) => {
                let vals: Vec<Vec<u8>> = (0..u64::from(NCPUS)).map(val).collect();
                m.update(kb, UpdateValue::PerCpu(&vals), BPF_ANY, 0)
            }
            None => m.update(kb, UpdateValue::Same(&val(0)), BPF_ANY, 0),
        };
        r.unwrap();
    }
}

fn u32_of(b: &[u8]) -> u32 {
    u32::from_le_bytes(b[..4].try_into().unwrap())
}

fn single_u32(v: &DumpValue) -> u32 {
    match v {
        DumpValue::Single(b) => u32_of(b),
        DumpValue::PerCpu(_) => panic!("per-CPU value"),
    }
}

#[test]
fn oracle_lru_hash_overfill_16() {
    let mut m = lru(MapKind::LruHash, 16, false);
    let mut m4 = create(MapKind::LruHash, 4, 4, 16, BPF_F_ZERO_SEED);
    gen_fill(&mut m4, 37, 1, 1, 1000, None);
    gen_fill(&mut m, 37, 1, 1, 1000, None);
    let want = [35, 37, 33, 29, 27, 32, 30, 25, 26, 28, 31, 36, 34];
    assert_eq!(keys(&m4), want);
    assert_eq!(keys(&m), want);
    for (k, v) in m4.dump() {
        assert_eq!(single_u32(&v), u32_of(&k) + 1000);
    }
}

#[test]
fn oracle_lru_hash_delete_refill() {
    let mut m = create(MapKind::LruHash, 4, 4, 8, BPF_F_ZERO_SEED);
    gen_fill(&mut m, 8, 1, 1, 500, None);
    let mut fails = Vec::new();
    let ops: [(bool, u32, u32); 12] = [
        (false, 2, 0),
        (false, 5, 0),
        (false, 7, 0),
        (true, 9, 509),
        (true, 10, 510),
        (true, 11, 511),
        (true, 12, 512),
        (true, 13, 513),
        (true, 14, 514),
        (false, 1, 0),
        (false, 3, 0),
        (true, 15, 515),
    ];
    for (i, &(upd, k, v)) in ops.iter().enumerate() {
        let r = if upd {
            m.update(
                &k.to_le_bytes(),
                UpdateValue::Same(&v.to_le_bytes()),
                BPF_ANY,
                0,
            )
        } else {
            m.delete(&k.to_le_bytes(), 0)
        };
        if let Err(e) = r {
            fails.push((i, e));
        }
    }
    assert_eq!(fails, [(9, Errno::ENOENT), (10, Errno::ENOENT)]);
    assert_eq!(keys(&m), [10, 14, 13, 8, 15, 12, 11, 9]);
    let d = m.dump();
    assert_eq!(single_u32(&d[0].1), 510);
    assert_eq!(single_u32(&d[3].1), 508);
}

#[test]
fn oracle_lru_hash_update_existing_full() {
    let mut m = create(MapKind::LruHash, 4, 4, 8, BPF_F_ZERO_SEED);
    gen_fill(&mut m, 8, 1, 1, 0, None);
    let ops: [(u32, u32); 14] = [
        (9, 9),
        (10, 10),
        (7, 707),
        (8, 808),
        (11, 11),
        (12, 12),
        (13, 13),
        (14, 14),
        (15, 15),
        (16, 16),
        (17, 17),
        (18, 18),
        (19, 19),
        (20, 20),
    ];
    for (k, v) in ops {
        m.update(
            &k.to_le_bytes(),
            UpdateValue::Same(&v.to_le_bytes()),
            BPF_ANY,
            0,
        )
        .unwrap();
    }
    assert_eq!(keys(&m), [18, 7, 16, 8, 20, 15, 19, 17]);
    let vals: Vec<u32> = m.dump().iter().map(|(_, v)| single_u32(v)).collect();
    assert_eq!(vals, [18, 707, 16, 808, 20, 15, 19, 17]);
}

const LARGE_100: [u32; 100] = [
    181, 170, 246, 195, 194, 211, 165, 160, 213, 198, 176, 199, 249, 189, 227, 208, 231, 230, 174,
    228, 179, 235, 219, 188, 152, 163, 210, 159, 197, 175, 226, 156, 209, 232, 237, 201, 185, 173,
    166, 172, 182, 204, 207, 164, 242, 218, 167, 203, 248, 229, 247, 191, 157, 200, 184, 171, 154,
    234, 244, 215, 193, 183, 222, 240, 190, 202, 245, 196, 169, 168, 236, 177, 212, 223, 221, 238,
    217, 187, 153, 186, 178, 162, 206, 250, 216, 220, 161, 233, 151, 158, 241, 214, 192, 205, 155,
    243, 224, 180, 239, 225,
];

#[test]
fn oracle_lru_hash_large_100() {
    let mut m = create(MapKind::LruHash, 4, 4, 100, BPF_F_ZERO_SEED);
    gen_fill(&mut m, 250, 1, 1, 7, None);
    assert_eq!(keys(&m), LARGE_100);
    assert!(m.dump().iter().all(|(k, v)| single_u32(v) == u32_of(k) + 7));
}

#[test]
fn oracle_lru_percpu_hash_overfill() {
    let mut m = create(MapKind::LruPercpuHash, 4, 8, 16, BPF_F_ZERO_SEED);
    gen_fill(&mut m, 40, 1, 1, 0, Some(100));
    assert_eq!(
        keys(&m),
        [35, 37, 33, 29, 27, 32, 30, 25, 26, 28, 39, 31, 38, 40, 36, 34]
    );
    let (_, v) = &m.dump()[0];
    assert_eq!(
        *v,
        DumpValue::PerCpu(vec![
            35u64.to_le_bytes().to_vec(),
            135u64.to_le_bytes().to_vec()
        ])
    );
}

const ORDER_200: [u32; 200] = [
    68, 181, 170, 103, 147, 48, 165, 100, 82, 66, 8, 198, 176, 38, 9, 199, 72, 119, 61, 132, 76,
    128, 188, 141, 13, 152, 115, 123, 163, 74, 175, 173, 166, 172, 47, 109, 52, 106, 83, 167, 49,
    19, 126, 14, 116, 91, 36, 157, 121, 87, 53, 35, 184, 171, 154, 60, 37, 150, 89, 15, 42, 183,
    92, 110, 86, 190, 196, 43, 40, 3, 44, 80, 95, 25, 98, 130, 153, 148, 117, 84, 186, 178, 162,
    50, 41, 69, 16, 17, 161, 28, 151, 107, 65, 31, 158, 24, 134, 79, 10, 155, 77, 23, 143, 20, 12,
    6, 22, 33, 27, 111, 90, 144, 142, 75, 195, 194, 118, 112, 160, 149, 63, 125, 189, 129, 32, 174,
    71, 94, 78, 179, 7, 1, 136, 97, 34, 159, 197, 156, 131, 102, 93, 185, 101, 182, 108, 164, 137,
    124, 57, 4, 99, 64, 88, 5, 140, 59, 26, 191, 120, 54, 81, 200, 18, 58, 193, 146, 145, 133, 2,
    169, 85, 138, 113, 168, 62, 177, 45, 29, 104, 70, 51, 187, 55, 105, 73, 122, 21, 67, 39, 139,
    192, 135, 30, 180, 127, 96, 114, 11, 56, 46,
];

/// Walks the map with the iterator protocol, returning (key, first value u32) pairs.
fn iterate(m: &mut Map) -> Vec<(u32, u32)> {
    let mut cur = IterCursor::default();
    let mut out = Vec::new();
    let mut e = m.iter_start(&mut cur);
    while let Some(el) = e {
        let k = u32_of(m.read_guest(el.key_addr, 4).unwrap());
        let v = u32_of(m.read_guest(el.value_addr, 4).unwrap());
        out.push((k, v));
        e = m.iter_next(&mut cur);
    }
    out
}

#[test]
fn oracle_zero_seed_order_200() {
    let mut m = create(MapKind::Hash, 4, 4, 256, BPF_F_ZERO_SEED);
    gen_fill(&mut m, 200, 1, 3, 0, None);
    assert_eq!(keys(&m), ORDER_200);
    let it = iterate(&mut m);
    assert_eq!(it.iter().map(|p| p.0).collect::<Vec<_>>(), ORDER_200);
    assert!(it.iter().all(|&(k, v)| v == 3 * k));
}

#[test]
fn oracle_struct_key_and_small_cases() {
    // hash_sum_struct_key: 12-byte keys, 8 entries.
    let mut m = create(MapKind::Hash, 12, 8, 8, BPF_F_ZERO_SEED);
    for (i, t) in [[1u32, 2, 3], [4, 5, 6], [7, 8, 9]].iter().enumerate() {
        let k: Vec<u8> = t.iter().flat_map(|x| x.to_le_bytes()).collect();
        let v = (100 * (i as u64 + 1)).to_le_bytes();
        m.update(&k, UpdateValue::Same(&v), BPF_ANY, 0).unwrap();
    }
    let firsts: Vec<u32> = m.dump().iter().map(|(k, _)| u32_of(k)).collect();
    assert_eq!(firsts, [4, 1, 7]);

    // percpu_hash_cpus: per-CPU and replicated values.
    let mut p = create(MapKind::PercpuHash, 4, 8, 16, BPF_F_ZERO_SEED);
    let v = |a: u64, b: u64| vec![a.to_le_bytes().to_vec(), b.to_le_bytes().to_vec()];
    p.update(
        &10u32.to_le_bytes(),
        UpdateValue::PerCpu(&v(1, 2)),
        BPF_ANY,
        0,
    )
    .unwrap();
    p.update(
        &20u32.to_le_bytes(),
        UpdateValue::PerCpu(&v(30, 40)),
        BPF_ANY,
        0,
    )
    .unwrap();
    p.update(
        &30u32.to_le_bytes(),
        UpdateValue::Same(&5u64.to_le_bytes()),
        BPF_ANY,
        0,
    )
    .unwrap();
    assert_eq!(keys(&p), [10, 30, 20]);
    let mut cur = IterCursor::default();
    p.iter_start(&mut cur).unwrap();
    let el = p.iter_next(&mut cur).unwrap();
    assert_eq!(
        p.read_guest(el.value_addr, 16).unwrap(),
        [5, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0]
    );

    // lru_hash_basic: 8-byte keys.
    let mut l = create(MapKind::LruHash, 8, 4, 32, BPF_F_ZERO_SEED);
    let ks: [u64; 4] = [0xdead_beef, 0x1122_3344_5566_7788, 0, 0x2a];
    for (i, k) in ks.iter().enumerate() {
        let v = (i as u32 + 1).to_le_bytes();
        l.update(&k.to_le_bytes(), UpdateValue::Same(&v), BPF_ANY, 0)
            .unwrap();
    }
    let order: Vec<u64> = l
        .dump()
        .iter()
        .map(|(k, _)| u64::from_le_bytes(k[..8].try_into().unwrap()))
        .collect();
    assert_eq!(order, [0x2a, 0xdead_beef, 0x1122_3344_5566_7788, 0]);

    // lru_percpu_hash_basic: a missing CPU value is zero.
    let mut lp = create(MapKind::LruPercpuHash, 4, 8, 16, BPF_F_ZERO_SEED);
    lp.update(
        &1u32.to_le_bytes(),
        UpdateValue::PerCpu(&v(11, 12)),
        BPF_ANY,
        0,
    )
    .unwrap();
    lp.update(
        &2u32.to_le_bytes(),
        UpdateValue::PerCpu(&v(21, 22)),
        BPF_ANY,
        0,
    )
    .unwrap();
    let one = vec![31u64.to_le_bytes().to_vec()];
    lp.update(&3u32.to_le_bytes(), UpdateValue::PerCpu(&one), BPF_ANY, 0)
        .unwrap();
    assert_eq!(keys(&lp), [2, 1, 3]);
    assert_eq!(
        lp.lookup_sys(&3u32.to_le_bytes()),
        Some(DumpValue::PerCpu(v(31, 0)))
    );
}

#[test]
fn errnos() {
    let mut h = create(MapKind::Hash, 4, 4, 2, BPF_F_ZERO_SEED);
    let v = UpdateValue::Same(&[0; 4]);
    assert_eq!(
        h.update(&1u32.to_le_bytes(), v, BPF_EXIST, 0),
        Err(Errno::ENOENT)
    );
    h.update(&1u32.to_le_bytes(), v, BPF_NOEXIST, 0).unwrap();
    assert_eq!(
        h.update(&1u32.to_le_bytes(), v, BPF_NOEXIST, 0),
        Err(Errno::EEXIST)
    );
    assert_eq!(h.delete(&5u32.to_le_bytes(), 0), Err(Errno::ENOENT));
    h.update(&2u32.to_le_bytes(), v, BPF_ANY, 0).unwrap();
    assert_eq!(
        h.update(&3u32.to_le_bytes(), v, BPF_ANY, 0),
        Err(Errno::E2BIG)
    );
    assert_eq!(
        h.update_from_prog(&3u32.to_le_bytes(), &[0; 4], BPF_ANY, 1),
        Err(Errno::E2BIG)
    );
    h.update(&2u32.to_le_bytes(), v, BPF_EXIST, 1).unwrap();
    assert_eq!(
        h.update(&1u32.to_le_bytes(), UpdateValue::Same(&[0; 3]), BPF_ANY, 0),
        Err(Errno::EINVAL)
    );

    let mut a = create(MapKind::Array, 4, 4, 4, 0);
    assert_eq!(
        a.update(&4u32.to_le_bytes(), v, BPF_ANY, 0),
        Err(Errno::E2BIG)
    );
    assert_eq!(
        a.update(&0u32.to_le_bytes(), v, BPF_NOEXIST, 0),
        Err(Errno::EEXIST)
    );
    assert_eq!(a.delete(&0u32.to_le_bytes(), 0), Err(Errno::EINVAL));
}

#[test]
fn create_errors() {
    let def = |kind, ks, vs, max, flags| MapDef {
        kind,
        key_size: ks,
        value_size: vs,
        max_entries: max,
        flags,
        name: "bad".into(),
    };
    let e = |d| {
        Map::create(d, NCPUS, 0, &MapLimits::default())
            .unwrap_err()
            .errno()
    };
    assert_eq!(e(def(MapKind::Hash, 0, 4, 4, 0)), Errno::EINVAL);
    assert_eq!(e(def(MapKind::LruHash, 4, 0, 4, 0)), Errno::EINVAL);
    assert_eq!(e(def(MapKind::PercpuHash, 4, 4, 0, 0)), Errno::EINVAL);
    assert_eq!(e(def(MapKind::PercpuArray, 2, 4, 4, 0)), Errno::EINVAL);
    assert_eq!(e(def(MapKind::Array, 4, 4, 4, 0x1_0000)), Errno::EINVAL);
    assert_eq!(e(def(MapKind::Hash, 4, 4, 1 << 31 | 1, 0)), Errno::E2BIG);
    let err = Map::create(
        def(MapKind::Hash, 4, 4, 1 << 20, 0),
        NCPUS,
        0,
        &MapLimits { max_bytes: 4096 },
    )
    .unwrap_err();
    assert_eq!(err.errno(), Errno::ENOMEM);
    assert!(err.to_string().contains("'bad'"), "{err}");
}

#[test]
fn iterator_survives_deleting_current_and_sees_later_inserts() {
    let mut m = create(MapKind::Hash, 4, 4, 64, BPF_F_ZERO_SEED);
    for k in 1..=10u32 {
        m.update(
            &k.to_le_bytes(),
            UpdateValue::Same(&k.to_le_bytes()),
            BPF_ANY,
            0,
        )
        .unwrap();
    }
    // Delete every element as it is visited: all 10 are still visited.
    let mut cur = IterCursor::default();
    let mut seen = Vec::new();
    let mut e = m.iter_start(&mut cur);
    while let Some(el) = e {
        let k = m.read_guest(el.key_addr, 4).unwrap().to_vec();
        seen.push(u32_of(&k));
        m.delete(&k, 0).unwrap();
        e = m.iter_next(&mut cur);
    }
    assert_eq!(seen, [2, 8, 9, 3, 7, 1, 10, 4, 5, 6]);
    assert!(m.is_empty());

    // Inserting k+1000 per visited k: only keys in later buckets are visited (spec §4.3
    // recorded 1009 1008 1007 1004 1002 for keys 1..10 this way).
    let mut m = create(MapKind::Hash, 4, 4, 64, BPF_F_ZERO_SEED);
    for k in 1..=10u32 {
        m.update(
            &k.to_le_bytes(),
            UpdateValue::Same(&k.to_le_bytes()),
            BPF_ANY,
            0,
        )
        .unwrap();
    }
    let mut cur = IterCursor::default();
    let mut extra = Vec::new();
    let mut e = m.iter_start(&mut cur);
    while let Some(el) = e {
        let k = u32_of(m.read_guest(el.key_addr, 4).unwrap());
        if k > 1000 {
            extra.push(k);
        } else {
            let nk = (k + 1000).to_le_bytes();
            m.update_from_prog(&nk, &[0; 4], BPF_ANY, 0).unwrap();
        }
        e = m.iter_next(&mut cur);
    }
    extra.sort_unstable();
    assert_eq!(extra, [1002, 1004, 1007, 1008, 1009]);
}

#[test]
fn iterator_restart_with_cursor_skips_visited() {
    let mut m = create(MapKind::Hash, 4, 4, 8, BPF_F_ZERO_SEED);
    for k in 1..=8u32 {
        m.update(
            &k.to_le_bytes(),
            UpdateValue::Same(&k.to_le_bytes()),
            BPF_ANY,
            0,
        )
        .unwrap();
    }
    let full = keys(&m);
    // Simulate a read() boundary after every element: start() again from the cursor.
    let mut cur = IterCursor::default();
    let mut seen = Vec::new();
    let mut e = m.iter_start(&mut cur);
    while let Some(el) = e {
        seen.push(u32_of(m.read_guest(el.key_addr, 4).unwrap()));
        if m.iter_next(&mut cur).is_none() {
            break;
        }
        e = m.iter_start(&mut cur);
    }
    assert_eq!(seen, full);
    assert!(m.iter_start(&mut cur).is_none());
}

#[test]
fn program_lookup_and_value_writes_persist_for_hash() {
    let mut m = create(MapKind::Hash, 4, 4, 8, BPF_F_ZERO_SEED);
    m.update(
        &1u32.to_le_bytes(),
        UpdateValue::Same(&[1, 0, 0, 0]),
        BPF_ANY,
        0,
    )
    .unwrap();
    let mut cur = IterCursor::default();
    let el = m.iter_start(&mut cur).unwrap();
    m.write_guest(el.value_addr, 4).unwrap()[0] = 7;
    assert_eq!(
        m.lookup_sys(&1u32.to_le_bytes()),
        Some(DumpValue::Single(vec![7, 0, 0, 0]))
    );
    assert_eq!(m.lookup_prog(&1u32.to_le_bytes(), 0), Some(el.value_addr));
    assert!(m.regions().iter().any(|r| r.contains(el.key_addr, 4)));
    assert!(m.read_guest(el.key_addr, 1 << 30).is_none());
}

#[test]
fn lru_steals_from_another_cpus_pending_list() {
    // 3 CPUs, 2 nodes (target_free 1): CPUs 1 and 2 each hold one pending element, so CPU 0's
    // refill finds nothing and steals CPU 1's oldest pending element (spec §3.6).
    let def = MapDef {
        kind: MapKind::LruHash,
        key_size: 4,
        value_size: 4,
        max_entries: 2,
        flags: BPF_F_ZERO_SEED,
        name: "steal".into(),
    };
    let mut m = Map::create(def, 3, 0, &MapLimits::default()).unwrap();
    let up = |m: &mut Map, k: u32, cpu: u32| {
        m.update(
            &k.to_le_bytes(),
            UpdateValue::Same(&k.to_le_bytes()),
            BPF_ANY,
            cpu,
        )
    };
    up(&mut m, 1, 1).unwrap();
    up(&mut m, 2, 2).unwrap();
    up(&mut m, 3, 0).unwrap();
    assert_eq!(sorted_keys(&m), [2, 3]);
    // CPU 0 now flushes its own pending element 3 and evicts it.
    up(&mut m, 4, 0).unwrap();
    assert_eq!(sorted_keys(&m), [2, 4]);
    // A delete of a pending element frees its node to the inserting CPU (2), which reuses it.
    m.delete(&2u32.to_le_bytes(), 0).unwrap();
    up(&mut m, 5, 2).unwrap();
    assert_eq!(sorted_keys(&m), [4, 5]);
}

#[test]
fn large_maps_fill_and_iterate() {
    for kind in [MapKind::Hash, MapKind::LruHash, MapKind::PercpuHash] {
        let mut m = create(kind, 4, 8, 100_000, BPF_F_ZERO_SEED);
        gen_fill(&mut m, 100_000, 0, 1, 0, None);
        // An LRU map starts evicting before it is full (spec §3.2).
        let live = m.len();
        if kind.is_lru() {
            assert!((99_000..100_000).contains(&live), "{kind}: {live}");
        } else {
            assert_eq!(live, 100_000, "{kind}");
        }
        let want: u64 = m.dump().iter().map(|(k, _)| u64::from(u32_of(k))).sum();
        let mut cur = IterCursor::default();
        let (mut n, mut sum) = (0usize, 0u64);
        let mut e = m.iter_start(&mut cur);
        while let Some(el) = e {
            n += 1;
            sum += u64::from(u32_of(m.read_guest(el.key_addr, 4).unwrap()));
            e = m.iter_next(&mut cur);
        }
        assert_eq!((n, sum), (live, want), "{kind}");
    }
}
