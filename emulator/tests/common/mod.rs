//! Shared fixtures: a tiny instruction builder and a machine over an array map, for tests
//! that need exact control of what a program does.
#![allow(dead_code, reason = "each test file uses a different subset")]

use iterscope_emulator::helpers::runtime::World;
use iterscope_emulator::iter::Machine;
use iterscope_emulator::maps::{Map, MapDef, MapKind, MapLimits, UpdateValue, BPF_ANY};
use iterscope_emulator::vm::{Code, Patch};

/// One instruction.
pub fn insn(op: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    let o = off.to_le_bytes();
    let i = imm.to_le_bytes();
    [op, dst | (src << 4), o[0], o[1], i[0], i[1], i[2], i[3]]
}

/// `lddw dst, 0` (two slots; patched with a guest address).
pub fn lddw(dst: u8) -> [[u8; 8]; 2] {
    [insn(0x18, dst, 0, 0, 0), insn(0, 0, 0, 0, 0)]
}

/// An array map `name` of `max` u32 -> `vs`-byte values.
pub fn array(name: &str, vs: u32, max: u32) -> Map {
    Map::create(
        MapDef {
            kind: MapKind::Array,
            key_size: 4,
            value_size: vs,
            max_entries: max,
            flags: 0,
            name: name.into(),
        },
        2,
        0,
        &MapLimits::default(),
    )
    .unwrap()
}

/// Sets element `idx` of an array map.
pub fn set(map: &mut Map, idx: u32, value: &[u8]) {
    map.update(&idx.to_le_bytes(), UpdateValue::Same(value), BPF_ANY, 0)
        .unwrap();
}

/// A machine running `prog` over `maps` (map 0 iterated); `globals[i]` = (insn index of an
/// lddw, map index whose element 0 it loads).
pub fn machine(prog: &[[u8; 8]], maps: Vec<Map>, globals: &[(usize, usize)]) -> Machine {
    let mut world = World::new(maps, 2, 0, 1);
    let patches: Vec<Patch> = globals
        .iter()
        .map(|&(insn, m)| Patch {
            insn,
            value: world.maps[m].lookup_prog(&[0; 4], 0).unwrap(),
        })
        .collect();
    let code = Code::prepare(&prog.concat(), &patches).unwrap();
    Machine::new(code, world)
}
