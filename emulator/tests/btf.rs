//! BTF-typed values and source-annotated disassembly: globals and maps of recorded kernel
//! cases and examples decoded after a run, user-named key types, hand-built BTF for nested,
//! array, enum, bitfield and char-array types, malformed BTF and short bytes (errors, never
//! panics), and `disasm` source lines checked against a recorded verifier log.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use iterscope_emulator::asm;
use iterscope_emulator::elf::typed::{self, TypedError, TypedValue};
use iterscope_emulator::elf::{self, Btf};
use iterscope_emulator::scenario::{
    decode_report, run_scenario, Decoded, ObjectTypes, RunOptions, Scenario,
};
use serde_json::{json, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn kernel_case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/kernel")
        .join(name)
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Globals of a decoded report as `map -> var -> text`.
fn globals_text(d: &iterscope_emulator::scenario::DecodedReport) -> Vec<(String, String, String)> {
    d.globals
        .iter()
        .flat_map(|(m, vars)| {
            vars.iter()
                .map(move |(n, v)| (m.clone(), n.clone(), v.to_string()))
        })
        .collect()
}

#[test]
fn recorded_case_globals_after_two_sessions() {
    let dir = kernel_case("hash_sum_struct_key");
    let sc = Scenario::from_json(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
    let obj = std::fs::read(dir.join("prog.bpf.o")).unwrap();
    let want: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let report = run_scenario(&sc, &obj, "prog", &RunOptions::default()).unwrap();
    let types = ObjectTypes::load(&obj, "prog").unwrap().unwrap();
    let d = decode_report(&report, &types);

    // The kernel's second session prints the totals the globals hold after the run.
    let text = want["reads"][1]["text"].as_str().unwrap();
    let totals = text.lines().find(|l| l.starts_with("totals ")).unwrap();
    let kv: Vec<(String, String)> = totals["totals ".len()..]
        .split(' ')
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            (format!("tot_{k}"), v.to_string())
        })
        .collect();
    assert_eq!(kv[0], ("tot_x".to_string(), "24".to_string()));
    let got = globals_text(&d);
    for (var, value) in &kv {
        assert!(
            got.contains(&("prog.bss".to_string(), var.clone(), value.clone())),
            "{var}={value} not in {got:?}"
        );
    }
    // Format strings in .rodata decode as C strings.
    assert!(got.contains(&(
        "prog.rodata".into(),
        "sum_triples.___fmt.1".into(),
        "\"key=(%u,%u,%u) val=%llu\\n\"".into()
    )));
    let j = d.json_fields();
    assert_eq!(
        j["globals"]["prog.bss"],
        json!({"tot_x": 24, "tot_y": 30, "tot_z": 36, "tot_v": 1200})
    );
    // No key_type / value_type: the map is not decoded.
    assert!(!j.contains_key("map_after_decoded"));
}

#[test]
fn struct_key_not_in_btf_is_a_warning() {
    // The recorded object only casts ctx->key to `struct triple *`, so clang does not emit
    // the struct into .BTF: naming it is reported, and keys stay hex.
    let dir = kernel_case("hash_sum_struct_key");
    let mut sc =
        Scenario::from_json(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
    sc.map.key_type = Some("struct triple".into());
    sc.dump_map_after = true;
    let obj = std::fs::read(dir.join("prog.bpf.o")).unwrap();
    let report = run_scenario(&sc, &obj, "prog", &RunOptions::default()).unwrap();
    let d = decode_report(&report, &ObjectTypes::load(&obj, "prog").unwrap().unwrap());
    assert_eq!(
        d.warnings,
        vec!["map.key_type: no BTF type named `struct triple`".to_string()]
    );
    let entries = d.map_after.unwrap();
    assert!(matches!(entries[0].0, Decoded::Raw { error: None, .. }));
}

#[test]
fn struct_keys_by_key_type_and_typed_globals() {
    let dir = fixtures();
    let sc =
        Scenario::from_json(&std::fs::read_to_string(dir.join("typed.json")).unwrap()).unwrap();
    assert_eq!(sc.map.key_type.as_deref(), Some("struct triple"));
    let obj = std::fs::read(dir.join("typed.bpf.o")).unwrap();
    let report = run_scenario(&sc, &obj, "typed", &RunOptions::default()).unwrap();
    let d = decode_report(&report, &ObjectTypes::load(&obj, "typed").unwrap().unwrap());
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    let keys: BTreeSet<String> = d
        .map_after
        .as_ref()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("{k} => {}", v[0]))
        .collect();
    assert!(keys.contains("{x=4, y=5, z=6} => 200"), "{keys:?}");
    assert_eq!(keys.len(), 3);
    let got = globals_text(&d);
    let find = |var: &str| {
        got.iter()
            .find(|(_, n, _)| n == var)
            .map(|(_, _, v)| v.clone())
            .unwrap()
    };
    assert_eq!(find("tot_v"), "1200");
    assert_eq!(find("neg"), "-5");
    // Two sessions over the same three entries: 2 * 600 added to arr[0] = 1.
    assert_eq!(
        find("rec"),
        "{name=\"abc\", color=BLUE, in={lo=-1, hi=2}, arr=[1201, 2, 3], f={a=5, b=-3, c=77}, ptr=0x0, ok=true}"
    );
    let last = find("last_key");
    assert!(last.starts_with("{x="), "{last}");
    let j = d.json_fields();
    assert_eq!(
        j["globals"]["typed.data"]["rec"]["f"],
        json!({"a": 5, "b": -3, "c": 77})
    );
    assert_eq!(j["globals"]["typed.data"]["rec"]["name"], json!("abc"));
    let decoded = j["map_after_decoded"].as_array().unwrap();
    assert!(decoded.contains(&json!({"key": {"x": 4, "y": 5, "z": 6}, "value": 200})));

    // A value type larger than the value: hex plus the error, in text and JSON.
    let mut report = report;
    report.map.value_type = Some("struct triple".into());
    let d = decode_report(&report, &ObjectTypes::load(&obj, "typed").unwrap().unwrap());
    let (_, v) = &d.map_after.as_ref().unwrap()[0];
    assert!(v[0]
        .to_string()
        .ends_with("(type `struct triple` at offset 0: needs 12 bytes, only 8 available)"));
    assert!(v[0].to_json()["error"].is_string());
}

#[test]
fn iterated_map_types_inferred_from_source_lines() {
    // hash_sum_struct_key: `__u64 *v = ctx->value;` names the value type; `struct triple`
    // is not in its BTF, so the key stays hex.
    let dir = kernel_case("hash_sum_struct_key");
    let mut sc =
        Scenario::from_json(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
    sc.dump_map_after = true;
    let obj = std::fs::read(dir.join("prog.bpf.o")).unwrap();
    let report = run_scenario(&sc, &obj, "prog", &RunOptions::default()).unwrap();
    let d = decode_report(&report, &ObjectTypes::load(&obj, "prog").unwrap().unwrap());
    assert_eq!(
        d.notes,
        ["map.value_type `__u64` from the source line `__u64 *v = ctx->value;`"]
    );
    let text = d.to_text("orc_map");
    assert!(
        text.contains("  010000000200000003000000 => 100\n"),
        "{text}"
    );

    // header_footer_seqnum declares both as `__u32 *`; a size mismatch disables the guess.
    let dir = kernel_case("header_footer_seqnum");
    let bytes = std::fs::read(dir.join("prog.bpf.o")).unwrap();
    let obj = elf::parse(&bytes, "prog").unwrap();
    let btf = obj.btf.as_ref().unwrap();
    let (k, v) = typed::infer_iter_types(btf, &obj.programs[0], 4, 4);
    assert_eq!(typed::type_name(btf, k.unwrap().type_id), "__u32");
    assert_eq!(v.unwrap().source, "__u32 *v = ctx->value;");
    let (k, v) = typed::infer_iter_types(btf, &obj.programs[0], 8, 4);
    assert!(k.is_none() && v.is_some());
}

#[test]
fn object_maps_have_key_and_value_types() {
    let bytes = std::fs::read(root().join("examples/value_histogram.bpf.o")).unwrap();
    let obj = elf::parse(&bytes, "value_histogram").unwrap();
    let btf = obj.btf.as_ref().unwrap();
    let t = typed::map_types(btf, "hist").unwrap();
    assert_eq!(typed::type_name(btf, t.key.unwrap()), "__u32");
    assert_eq!(typed::type_name(btf, t.value.unwrap()), "__u64");
    assert_eq!(
        typed::format_value(btf, t.value.unwrap(), &4200u64.to_le_bytes()).unwrap(),
        "4200"
    );
    assert!(typed::map_types(btf, "nope").is_none());

    // After a run, the histogram in `hist` decodes by its __u32 -> __u64 types.
    let sc = Scenario::from_json(
        &std::fs::read_to_string(root().join("examples/value_histogram.json")).unwrap(),
    )
    .unwrap();
    let opts = RunOptions {
        dump_map_max: 64,
        ..RunOptions::default()
    };
    let report = run_scenario(&sc, &bytes, "value_histogram", &opts).unwrap();
    let d = decode_report(
        &report,
        &ObjectTypes::load(&bytes, "value_histogram")
            .unwrap()
            .unwrap(),
    );
    let (name, hist) = &d.object_maps[0];
    assert_eq!(name, "hist");
    let text: Vec<String> = hist.iter().map(|(k, v)| format!("{k}={}", v[0])).collect();
    assert_eq!(
        text,
        ["0=1", "1=2", "2=0", "3=1", "4=1", "5=0", "6=0", "7=1"]
    );
    assert_eq!(
        d.json_fields()["object_maps_decoded"]["hist"][1],
        json!({"key": 1, "value": 2})
    );
    // The iterated map (16 entries <= 64) is dumped too; its u32 values come from the
    // source line `__u32 *val = ctx->value;`.
    assert_eq!(d.map_after.as_ref().map(Vec::len), Some(6));

    let fixture = std::fs::read(fixtures().join("typed.bpf.o")).unwrap();
    let obj = elf::parse(&fixture, "typed").unwrap();
    let btf = obj.btf.as_ref().unwrap();
    let t = typed::map_types(btf, "recs").unwrap();
    assert_eq!(typed::type_name(btf, t.key.unwrap()), "struct triple");
    assert_eq!(typed::type_name(btf, t.value.unwrap()), "struct record");
    let mut rec = vec![0u8; 64];
    rec[..4].copy_from_slice(b"hi\0\0");
    match typed::format_value(btf, t.value.unwrap(), &rec[..10]) {
        Err(TypedError::Short {
            ty,
            need: 64,
            have: 10,
            ..
        }) => assert_eq!(ty, "struct record"),
        other => panic!("{other:?}"),
    }
    let v = typed::format_value(btf, t.value.unwrap(), &rec).unwrap();
    assert!(v.starts_with("{name=\"hi\", color=RED,"), "{v}");
}

#[test]
fn global_offsets_come_from_symbols() {
    let bytes = std::fs::read(kernel_case("hash_sum_struct_key").join("prog.bpf.o")).unwrap();
    let obj = elf::parse(&bytes, "prog").unwrap();
    let btf = obj.btf.as_ref().unwrap();
    let layouts = typed::global_layouts(&bytes, btf).unwrap();
    let bss = layouts.iter().find(|l| l.section == ".bss").unwrap();
    let got: Vec<(&str, u32, u32)> = bss
        .vars
        .iter()
        .map(|v| (v.name.as_str(), v.offset, v.size))
        .collect();
    assert_eq!(
        got,
        [
            ("tot_x", 0, 4),
            ("tot_y", 4, 4),
            ("tot_z", 8, 4),
            ("tot_v", 16, 8)
        ]
    );
    // BTF alone has every global at offset 0 (clang output).
    let raw = typed::datasec_layout(btf, ".bss").unwrap();
    assert!(raw.vars.iter().all(|v| v.offset == 0));
    assert!(typed::global_layouts(b"not an elf", btf).is_err());
}

/// Builds `.BTF` sections by hand.
struct FakeBtf {
    types: Vec<u32>,
    strings: Vec<u8>,
    next_id: u32,
}

impl FakeBtf {
    fn new() -> Self {
        FakeBtf {
            types: Vec::new(),
            strings: vec![0],
            next_id: 1,
        }
    }

    fn s(&mut self, name: &str) -> u32 {
        if name.is_empty() {
            return 0;
        }
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(name.as_bytes());
        self.strings.push(0);
        off
    }

    fn push(&mut self, words: &[u32]) -> u32 {
        self.types.extend_from_slice(words);
        self.next_id += 1;
        self.next_id - 1
    }

    fn int(&mut self, name: &str, size: u32, signed: bool) -> u32 {
        let n = self.s(name);
        let enc = if name == "char" { 2 } else { u32::from(signed) };
        self.push(&[n, 1 << 24, size, (enc << 24) | (size * 8)])
    }

    fn ptr(&mut self, to: u32) -> u32 {
        self.push(&[0, 2 << 24, to])
    }

    fn array(&mut self, elem: u32, index: u32, len: u32) -> u32 {
        self.push(&[0, 3 << 24, 0, elem, index, len])
    }

    fn typedef(&mut self, name: &str, to: u32) -> u32 {
        let n = self.s(name);
        self.push(&[n, 8 << 24, to])
    }

    /// `members`: (name, type, bit offset, bitfield size).
    fn strukt(&mut self, name: &str, size: u32, members: &[(&str, u32, u32, u32)]) -> u32 {
        let n = self.s(name);
        let kflag = members.iter().any(|m| m.3 > 0);
        let mut w = vec![
            n,
            (4 << 24) | members.len() as u32 | (u32::from(kflag) << 31),
            size,
        ];
        for &(mn, ty, off, bits) in members {
            let mn = self.s(mn);
            w.extend([mn, ty, if kflag { (bits << 24) | off } else { off }]);
        }
        self.push(&w)
    }

    fn enumeration(&mut self, name: &str, values: &[(&str, i32)]) -> u32 {
        let n = self.s(name);
        let mut w = vec![n, (6 << 24) | values.len() as u32 | (1 << 31), 4];
        for &(vn, v) in values {
            let vn = self.s(vn);
            w.extend([vn, v as u32]);
        }
        self.push(&w)
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = vec![0x9f, 0xeb, 1, 0];
        let tl = (self.types.len() * 4) as u32;
        for w in [24u32, 0, tl, tl, self.strings.len() as u32] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        for w in &self.types {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&self.strings);
        out
    }

    fn build(&self) -> Btf {
        Btf::parse(&self.bytes()).unwrap()
    }
}

#[test]
fn hand_built_nested_array_enum_and_char_types() {
    let mut b = FakeBtf::new();
    let u32t = b.int("unsigned int", 4, false);
    let s64 = b.int("long long", 8, true);
    let chr = b.int("char", 1, true);
    let u8t = b.int("unsigned char", 1, false);
    let u8td = b.typedef("__u8", u8t);
    let name = b.array(chr, u32t, 6);
    let bytes3 = b.array(u8td, u32t, 3);
    let color = b.enumeration("color", &[("RED", 0), ("GREEN", 5), ("NEG", -1)]);
    let point = b.strukt("point", 8, &[("x", u32t, 0, 0), ("y", u32t, 32, 0)]);
    let points = b.array(point, u32t, 2);
    let bits = b.strukt(
        "bits",
        4,
        &[
            ("lo", u32t, 0, 4),
            ("mid", s64, 4, 12),
            ("hi", u32t, 16, 16),
        ],
    );
    let top = b.strukt(
        "top",
        48,
        &[
            ("name", name, 0, 0),
            ("raw", bytes3, 48, 0),
            ("c", color, 72, 0),
            ("pts", points, 104, 0),
            ("b", bits, 232, 0),
            ("", point, 264, 0),
        ],
    );
    let btf = b.build();
    assert_eq!(typed::type_name(&btf, name), "char[6]");
    assert_eq!(typed::find_type(&btf, "struct top"), Ok(top));
    assert_eq!(typed::find_type(&btf, "__u8"), Ok(u8td));
    assert_eq!(typed::find_type(&btf, "color"), Ok(color));

    let mut data = Vec::new();
    data.extend_from_slice(b"name\0\0"); // name
    data.extend_from_slice(&[1, 2, 3]); // raw (__u8, not char: numbers)
    data.extend_from_slice(&(-1i32).to_le_bytes()); // c = NEG
    data.extend_from_slice(&[1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0]); // pts
                                                                               // bits: lo=0xa, mid=-2 (12 bits: 0xffe), hi=0x1234
    let word: u32 = 0xa | (0xffe << 4) | (0x1234 << 16);
    data.extend_from_slice(&word.to_le_bytes()); // at byte 29
    data.extend_from_slice(&[7, 0, 0, 0, 8, 0, 0, 0]); // anonymous point at byte 33
    data.resize(48, 0);
    let v = typed::decode(&btf, top, &data).unwrap();
    assert_eq!(
        v.to_string(),
        "{name=\"name\", raw=[1, 2, 3], c=NEG, pts=[{x=1, y=2}, {x=3, y=4}], b={lo=10, mid=-2, hi=4660}, {x=7, y=8}}"
    );
    assert_eq!(
        v.to_json(),
        json!({"name": "name", "raw": [1, 2, 3], "c": "NEG", "pts": [{"x": 1, "y": 2}, {"x": 3, "y": 4}],
               "b": {"lo": 10, "mid": -2, "hi": 4660}, "x": 7, "y": 8})
    );
    // A char array that is not text prints as numbers.
    assert_eq!(
        typed::format_value(&btf, name, &[1, 2, 0, 0, 0, 0]).unwrap(),
        "[1, 2, 0, 0, 0, 0]"
    );
    assert_eq!(
        typed::format_value(&btf, s64, &(-5i64).to_le_bytes()).unwrap(),
        "-5"
    );
    assert_eq!(
        typed::decode(&btf, color, &7u32.to_le_bytes()).unwrap(),
        TypedValue::Enum {
            name: None,
            value: 7
        }
    );
}

#[test]
fn malformed_btf_and_short_bytes_are_errors() {
    let mut b = FakeBtf::new();
    let u32t = b.int("u32", 4, false);
    let dangling_ptr_target = b.typedef("dangling", 999);
    let cyc = b.typedef("cyc", 4); // [4] below points back at [3]
    let back = b.typedef("back", cyc);
    let fwd = b.push(&[0, 7 << 24, 0]);
    let huge = b.array(u32t, u32t, u32::MAX);
    let zero = b.strukt("empty", 0, &[]);
    let many_empty = b.array(zero, u32t, u32::MAX);
    let misaligned = b.strukt("odd", 8, &[("a", u32t, 3, 0)]);
    let p = b.ptr(u32t);
    let btf = b.build();
    let _ = back;

    assert!(matches!(
        typed::decode(&btf, 12345, &[0; 8]),
        Err(TypedError::NoSuchType { id: 12345 })
    ));
    assert!(matches!(
        typed::decode(&btf, dangling_ptr_target, &[0; 8]),
        Err(TypedError::NoSuchType { .. })
    ));
    assert!(matches!(
        typed::decode(&btf, cyc, &[0; 8]),
        Err(TypedError::NoSuchType { .. })
    ));
    assert!(matches!(
        typed::decode(&btf, fwd, &[0; 8]),
        Err(TypedError::Unsupported { .. })
    ));
    assert!(matches!(
        typed::decode(&btf, 0, &[0; 8]),
        Err(TypedError::Unsupported { .. })
    ));
    assert!(typed::decode(&btf, huge, &[0; 64]).is_err());
    assert_eq!(
        typed::decode(&btf, many_empty, &[]).unwrap(),
        TypedValue::Array(Vec::new())
    );
    assert!(matches!(
        typed::decode(&btf, misaligned, &[0; 8]),
        Err(TypedError::Unsupported { .. })
    ));
    match typed::decode(&btf, p, &[0; 5]) {
        Err(e @ TypedError::Short { .. }) => {
            assert_eq!(
                e.to_string(),
                "type `u32 *` at offset 0: needs 8 bytes, only 5 available"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        typed::find_type(&btf, "struct nope"),
        Err(TypedError::NotFound { .. })
    ));

    // Truncated or corrupted sections never panic.
    let good = b.bytes();
    for cut in 0..good.len() {
        let _ = Btf::parse(&good[..cut]);
    }
    let mut flip = good.clone();
    for i in 24..flip.len() {
        flip[i] ^= 0xff;
        if let Ok(btf) = Btf::parse(&flip) {
            for id in 0..btf.len() as u32 {
                let _ = typed::decode(&btf, id, &[0xab; 64]);
                let _ = typed::type_name(&btf, id);
            }
        }
        flip[i] ^= 0xff;
    }
}

#[test]
fn scenarios_without_types_still_parse_and_round_trip() {
    let text =
        std::fs::read_to_string(kernel_case("hash_sum_struct_key").join("case.json")).unwrap();
    let sc = Scenario::from_json(&text).unwrap();
    assert!(sc.map.key_type.is_none() && sc.map.value_type.is_none());
    assert!(!sc.to_json().contains("key_type"));
    let typed_sc =
        Scenario::from_json(&std::fs::read_to_string(fixtures().join("typed.json")).unwrap())
            .unwrap();
    assert!(typed_sc.to_json().contains("\"value_type\": \"__u64\""));
}

/// `; <source> @ prog.bpf.c:N` lines of a text.
fn source_lines(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| l.starts_with("; ") && l.contains(" @ "))
        .map(str::to_string)
        .collect()
}

#[test]
fn disasm_source_lines_match_the_verifier_log() {
    let dir = kernel_case("header_footer_seqnum");
    let want: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let log = want["verifier_log"].as_str().unwrap();
    let bytes = std::fs::read(dir.join("prog.bpf.o")).unwrap();
    let obj = elf::parse(&bytes, "prog").unwrap();
    let text = asm::disasm_with_lines(&obj.programs[0]);
    assert_eq!(source_lines(&text), source_lines(log));
    assert!(text.starts_with("hdr_ftr:\n; struct seq_file *seq = ctx->meta->seq; @ prog.bpf.c:10\n    0: (79) r2 = *(u64 *)(r1 +0)\n"));
    // Every instruction line of the log appears in the disassembly, in the same spelling.
    for l in log.lines() {
        if let Some((idx, rest)) = l.split_once(": (") {
            if idx.parse::<usize>().is_ok() && !rest.contains(" ; ") && !rest.contains("(18)") {
                let ours = format!("{idx:>5}: ({rest}");
                assert!(text.contains(&ours), "{ours}");
            }
        }
    }
}

#[test]
fn disasm_source_lines_cover_every_recorded_log() {
    // Accepted programs: the same set of lines. Rejected ones: the verifier stopped early,
    // so the log has a subset.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kernel");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let case = entry.unwrap().path();
        let Ok(text) = std::fs::read_to_string(case.join("expected.json")) else {
            continue;
        };
        let want: Value = serde_json::from_str(&text).unwrap();
        let Some(log) = want["verifier_log"].as_str() else {
            continue;
        };
        let bytes = std::fs::read(case.join("prog.bpf.o")).unwrap();
        let obj = elf::parse(&bytes, "prog").unwrap();
        let ours = source_lines(&asm::disasm_with_lines(&obj.programs[0]));
        let theirs = source_lines(log);
        if want["load"] == "ok" {
            assert_eq!(ours, theirs, "{}", case.display());
        } else {
            assert!(theirs.is_subset(&ours), "{}", case.display());
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} logs");
}

#[test]
fn cli_decode_and_disasm() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_iterscope"))
            .args(args)
            .current_dir(root())
            .output()
            .unwrap()
    };
    let o = run(&["run", "emulator/tests/fixtures/typed.json", "--decode"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("--- after the run ---\n"), "{out}");
    assert!(out.contains("  {x=4, y=5, z=6} => 200\n"), "{out}");
    assert!(out.contains("typed.bss:\n"), "{out}");
    assert!(out.contains("  tot_v = 1200\n"), "{out}");

    let o = run(&["run", "emulator/tests/fixtures/typed.json", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["globals"]["typed.bss"]["tot_v"], json!(1200));
    assert_eq!(v["globals"]["typed.rodata"]["neg"], json!(-5));
    assert_eq!(v["map_after_decoded"].as_array().map(Vec::len), Some(3));

    // Without --decode the human output is unchanged.
    let o = run(&["run", "examples/array_sum.json"]);
    assert!(!String::from_utf8_lossy(&o.stdout).contains("after the run"));

    let o = run(&[
        "disasm",
        "emulator/tests/kernel/header_footer_seqnum/prog.bpf.o",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("; if (!k || !v) { @ prog.bpf.c:17\n   18: (15) if r8 == 0x0 goto pc+1\n"),
        "{out}"
    );
}

#[test]
fn leaves_of_real_struct_types_encode_little_endian() {
    let bytes = std::fs::read(fixtures().join("typed.bpf.o")).unwrap();
    let obj = elf::parse(&bytes, "typed").unwrap();
    let btf = obj.btf.as_ref().unwrap();
    let triple = typed::find_type(btf, "struct triple").unwrap();
    let leaves = typed::leaves(btf, triple).unwrap();
    let shape: Vec<(&str, u32, u32, bool)> = leaves
        .iter()
        .map(|l| (l.path.as_str(), l.offset, l.size, l.signed))
        .collect();
    assert_eq!(
        shape,
        [("x", 0, 4, false), ("y", 4, 4, false), ("z", 8, 4, false)]
    );
    let mut key = vec![0u8; 12];
    for (leaf, v) in leaves.iter().zip([4, 5, 6]) {
        typed::encode_leaf(leaf, v, &mut key).unwrap();
    }
    assert_eq!(
        typed::format_value(btf, triple, &key).unwrap(),
        "{x=4, y=5, z=6}"
    );
    let back: Vec<i128> = leaves
        .iter()
        .map(|l| typed::decode_leaf(l, &key).unwrap())
        .collect();
    assert_eq!(back, [4, 5, 6]);
    assert!(matches!(
        typed::encode_leaf(&leaves[0], 1 << 32, &mut key),
        Err(TypedError::OutOfRange { .. })
    ));

    // Signed members; a struct with bitfields is left to the hex editor.
    let inner = typed::find_type(btf, "struct inner").unwrap();
    let mut raw = vec![0u8; 4];
    let inner_leaves = typed::leaves(btf, inner).unwrap();
    assert!(inner_leaves.iter().all(|l| l.signed && l.size == 2));
    typed::encode_leaf(&inner_leaves[0], -1, &mut raw).unwrap();
    typed::encode_leaf(&inner_leaves[1], 2, &mut raw).unwrap();
    assert_eq!(
        typed::format_value(btf, inner, &raw).unwrap(),
        "{lo=-1, hi=2}"
    );
    let record = typed::find_type(btf, "struct record").unwrap();
    assert!(matches!(
        typed::leaves(btf, record),
        Err(TypedError::Unsupported { .. })
    ));
}
