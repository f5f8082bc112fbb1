//! `iterscope`: run BPF map-element iterator scenarios on the emulator from the command line.
//!
//! ```text
//! iterscope run SCENARIO.json [--object PROG.o] [--cpus N] [--json] [--decode] [--timeout S] [--hash-seed N]
//! iterscope run PROG.o --map MAP.json [--cpus N] [--json] [--decode] [--timeout S]
//! iterscope trace SCENARIO.json --element N [--json] [--no-verify] [--object PROG.o] [--cpus N] [--hash-seed N] [--max-steps N] [--max-insns N]
//! iterscope disasm PROG.o [--asm]
//! iterscope asm PROG.s [-o PROG.o]
//! iterscope bench [--elements N] [--printf] | --verify
//! iterscope export-bpftool SCENARIO.json [--object PROG.o] [--cpus N] [-o SCRIPT.sh]
//! ```
//! A scenario's program (or `run`'s PROG) may be a `.o`, a `.c` (compiled with clang) or a
//! `.s` (assembled).
//! A scenario is the kernel oracle's `case.json`; `--json` prints the oracle's
//! `expected.json` fields so a recorded case compares field by field. A failure Linux never
//! has (bad input, an instruction the engine cannot run, a timeout) prints an `error` field
//! (or message) and exits 1. `--decode` prints the map after the run (small maps always)
//! and the global variables decoded by their BTF types; `--json` adds a `globals` object
//! (and `map_after_decoded` when the scenario names `key_type` / `value_type`).
//! `trace` steps through call N (0-based, counting every program invocation of the first
//! read session: re-runs and the final NULL call included) on the tracing interpreter,
//! cross-checked against rbpf; `--json` prints `steps` (one per executed instruction: `pc`,
//! `insn`, `regs`, `regs_before`, `mem`, `helper`, `line`) and the call's summary.
//! `--no-verify` runs a program the verifier rejects (teaching mode: Linux never does).
//! `export-bpftool` prints a sh script of `bpftool` commands that reproduces the scenario on
//! a real kernel (map, entries, ops, `iter pin`, reads).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use iterscope_emulator::scenario::{self, MapScenario, RunOptions, Scenario};
use iterscope_emulator::trace;

const USAGE: &str = "usage:
  iterscope run SCENARIO.json [--object PROG.o] [--cpus N] [--json] [--decode] [--timeout S] [--hash-seed N]
  iterscope run PROG.o --map MAP.json [--cpus N] [--json] [--decode] [--timeout S]
  iterscope trace SCENARIO.json --element N [--json] [--no-verify] [--object PROG.o] [--cpus N] [--hash-seed N] [--max-steps N] [--max-insns N]
  iterscope disasm PROG.o [--asm]
  iterscope asm PROG.s [-o PROG.o]
  iterscope bench [--elements N] [--printf] | --verify
  iterscope export-bpftool SCENARIO.json [--object PROG.o] [--cpus N] [-o SCRIPT.sh]";

struct Args {
    cmd: String,
    target: Option<String>,
    object: Option<String>,
    map: Option<String>,
    cpus: u32,
    json: bool,
    decode: bool,
    timeout: f64,
    hash_seed: Option<u32>,
    elements: u32,
    printf: bool,
    output: Option<String>,
    asm: bool,
    verify: bool,
    element: Option<u64>,
    no_verify: bool,
    max_steps: Option<usize>,
    max_insns: Option<u64>,
}

fn parse_args(argv: &[String]) -> Result<Args, String> {
    let mut a = Args {
        cmd: String::new(),
        target: None,
        object: None,
        map: None,
        cpus: 2,
        json: false,
        decode: false,
        timeout: 10.0,
        hash_seed: None,
        elements: 1_000_000,
        printf: false,
        verify: false,
        output: None,
        asm: false,
        element: None,
        no_verify: false,
        max_steps: None,
        max_insns: None,
    };
    let mut it = argv.iter();
    a.cmd = it.next().cloned().ok_or("missing command")?;
    while let Some(arg) = it.next() {
        let mut val = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--object" => a.object = Some(val("--object")?),
            "--map" => a.map = Some(val("--map")?),
            "--cpus" => {
                a.cpus = val("--cpus")?
                    .parse()
                    .ok()
                    .filter(|n| (1..=1024).contains(n))
                    .ok_or("--cpus takes a number from 1 to 1024")?;
            }
            "--timeout" => {
                a.timeout = val("--timeout")?
                    .parse()
                    .ok()
                    .filter(|t: &f64| *t > 0.0)
                    .ok_or("--timeout takes a positive number of seconds")?;
            }
            "--hash-seed" => {
                a.hash_seed = Some(
                    val("--hash-seed")?
                        .parse()
                        .map_err(|_| "--hash-seed takes a u32")?,
                );
            }
            "--elements" => {
                a.elements = val("--elements")?
                    .parse()
                    .map_err(|_| "--elements takes a number")?;
            }
            "--element" => {
                a.element = Some(
                    val("--element")?
                        .parse()
                        .map_err(|_| "--element takes a call number (0-based)")?,
                );
            }
            "--max-steps" => {
                a.max_steps = Some(
                    val("--max-steps")?
                        .parse()
                        .map_err(|_| "--max-steps takes a number")?,
                );
            }
            "--max-insns" => {
                a.max_insns = Some(
                    val("--max-insns")?
                        .parse()
                        .map_err(|_| "--max-insns takes a number")?,
                );
            }
            "--no-verify" => a.no_verify = true,
            "-o" | "--output" => a.output = Some(val("-o")?),
            "--asm" => a.asm = true,
            "--json" => a.json = true,
            "--decode" => a.decode = true,
            "--printf" => a.printf = true,
            "--verify" => a.verify = true,
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            s if a.target.is_none() => a.target = Some(s.to_string()),
            s => return Err(format!("unexpected argument {s}")),
        }
    }
    Ok(a)
}

fn read_file(p: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
}

/// libbpf's object name: the file name up to its first '.'.
fn object_name(p: &Path) -> String {
    let f = p.file_name().and_then(|f| f.to_str()).unwrap_or("prog");
    f.split('.')
        .next()
        .unwrap_or("prog")
        .chars()
        .take(8)
        .collect()
}

fn compile_c(src: &Path, cflags: &[String], cpus: u32) -> Result<PathBuf, String> {
    let clang = which("clang").ok_or_else(|| {
        format!(
            "{} is C source and clang is not installed: install clang (apt-get install clang llvm libbpf-dev bpftool) or pass --object PROG.o",
            src.display()
        )
    })?;
    let dir = std::env::temp_dir().join(format!("iterscope-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let vmlinux = dir.join("vmlinux.h");
    let have_btf = Path::new("/sys/kernel/btf/vmlinux").exists();
    let local = src.parent().map(|d| d.join("vmlinux.h"));
    if let (true, Some(bpftool)) = (have_btf, which("bpftool")) {
        let out = std::process::Command::new(bpftool)
            .args([
                "btf",
                "dump",
                "file",
                "/sys/kernel/btf/vmlinux",
                "format",
                "c",
            ])
            .output()
            .map_err(|e| format!("bpftool failed: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "bpftool btf dump failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        std::fs::write(&vmlinux, out.stdout).map_err(|e| format!("cannot write vmlinux.h: {e}"))?;
    } else if let Some(l) = local.filter(|l| l.exists()) {
        std::fs::copy(&l, &vmlinux).map_err(|e| format!("cannot copy {}: {e}", l.display()))?;
    } else {
        return Err("no vmlinux.h: need bpftool and /sys/kernel/btf/vmlinux, or a vmlinux.h beside the source".into());
    }
    let obj = dir.join("prog.bpf.o");
    let out = std::process::Command::new(clang)
        .args(["-O2", "-g", "-target", "bpf", "-D__TARGET_ARCH_x86"])
        .arg(format!("-DORACLE_NCPUS={cpus}"))
        .arg(format!("-I{}", dir.display()))
        .arg("-I/usr/include")
        .args(cflags)
        .arg("-c")
        .arg(src)
        .arg("-o")
        .arg(&obj)
        .output()
        .map_err(|e| format!("clang failed to start: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "compile error:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(obj)
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
    })
}

fn load_scenario(a: &Args) -> Result<(Scenario, Vec<u8>, String), String> {
    let target = a
        .target
        .as_deref()
        .ok_or("run needs a SCENARIO.json or PROG.o")?;
    let tpath = Path::new(target);
    let (sc, base) = if let Some(map) = &a.map {
        let text = String::from_utf8(read_file(Path::new(map))?)
            .map_err(|_| format!("{map} is not UTF-8"))?;
        let ms: MapScenario = serde_json::from_str(&text).map_err(|e| format!("{map}: {e}"))?;
        let sc = Scenario {
            description: String::new(),
            program: target.to_string(),
            cflags: Vec::new(),
            sockets: Vec::new(),
            map: ms,
            attach_map: None,
            reads: vec![scenario::ReadSpec::default()],
            dump_map_after: false,
            output_summary_only: false,
            order_insensitive: false,
            cpu: 0,
            hash_seed: None,
        };
        (sc, PathBuf::from("."))
    } else {
        let text =
            String::from_utf8(read_file(tpath)?).map_err(|_| format!("{target} is not UTF-8"))?;
        let sc = Scenario::from_json(&text).map_err(|e| format!("{target}: {e}"))?;
        (
            sc,
            tpath.parent().map(Path::to_path_buf).unwrap_or_default(),
        )
    };
    let prog_path = match &a.object {
        Some(o) => PathBuf::from(o),
        None if a.map.is_some() => PathBuf::from(target),
        None => base.join(&sc.program),
    };
    let obj_path = if prog_path.extension().is_some_and(|e| e == "c") {
        compile_c(&prog_path, &sc.cflags, a.cpus)?
    } else {
        prog_path.clone()
    };
    let bytes = if prog_path.extension().is_some_and(|e| e == "s") {
        assemble_file(&prog_path)?
    } else {
        read_file(&obj_path)?
    };
    Ok((sc, bytes, object_name(&prog_path)))
}

/// Largest iterated map that `--decode` prints after the run without `dump_map_after`.
const DECODE_SMALL_MAP: u32 = 64;

fn print_report(r: &scenario::Report, decoded: Option<&scenario::DecodedReport>, json: bool) {
    if json {
        let mut v = r.to_json();
        if let (Some(d), Some(o)) = (decoded, v.as_object_mut()) {
            o.extend(d.json_fields());
        }
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return;
    }
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for (i, read) in r.reads.iter().enumerate() {
        if r.reads.len() > 1 {
            let _ = writeln!(
                out,
                "--- session {} ({}-byte reads) ---",
                i + 1,
                read.read_size
            );
        }
        let _ = out.write_all(&read.bytes);
        if let Some(e) = read.read_error {
            let _ = writeln!(out, "read: {e}");
        }
    }
    for f in &r.map_update_failures {
        eprintln!("map update failed: {} {}: {}", f.kind, f.index, f.errno);
    }
    if let Some(d) = decoded {
        let name = r.map.name.as_deref().unwrap_or("orc_map");
        let _ = write!(out, "--- after the run ---\n{}", d.to_text(name));
    }
    if r.load == "ok" {
        eprintln!("load: ok");
    } else {
        eprint!("{}", r.verifier_log);
        eprintln!(
            "load: {}: {} ({})",
            r.load,
            r.verifier_error,
            r.load_error.as_deref().unwrap_or("")
        );
    }
    if let Some(a) = &r.attach {
        eprintln!("attach: {a}");
    }
}

/// Decodes globals and the map after the run by the object's BTF (None without BTF).
fn decode_run(
    rep: &scenario::Report,
    bytes: &[u8],
    name: &str,
) -> Result<Option<scenario::DecodedReport>, String> {
    let types = scenario::ObjectTypes::load(bytes, name).map_err(|e| e.to_string())?;
    Ok(types.map(|t| scenario::decode_report(rep, &t)))
}

fn cmd_run(a: &Args) -> ExitCode {
    let loaded = match load_scenario(a) {
        Ok(x) => x,
        Err(e) => return fail(a.json, &e),
    };
    let (sc, bytes, name) = loaded;
    let opts = RunOptions {
        ncpus: a.cpus,
        hash_seed: a.hash_seed,
        dump_map_max: if a.decode { DECODE_SMALL_MAP } else { 0 },
        ..RunOptions::default()
    };
    let want_decode = a.decode || a.json;
    let (tx, rx) = mpsc::channel();
    // rbpf cannot be interrupted: run on a worker and give up on it after the timeout.
    std::thread::spawn(move || {
        let r = scenario::run_scenario(&sc, &bytes, &name, &opts)
            .map_err(|e| e.to_string())
            .and_then(|rep| {
                let d = if want_decode {
                    decode_run(&rep, &bytes, &name)?
                } else {
                    None
                };
                Ok((rep, d))
            });
        let _ = tx.send(r);
    });
    match rx.recv_timeout(Duration::from_secs_f64(a.timeout)) {
        Ok(Ok((rep, decoded))) => {
            print_report(&rep, decoded.as_ref(), a.json);
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => fail(a.json, &e),
        Err(_) => fail(
            a.json,
            &format!(
                "timeout: the run did not finish within {} s (the engine has no instruction budget; a program that never ends is stopped here)",
                a.timeout
            ),
        ),
    }
}

/// `iterscope trace SCENARIO.json --element N`: one call, instruction by instruction.
fn cmd_trace(a: &Args) -> ExitCode {
    let Some(call) = a.element else {
        return fail(
            a.json,
            "trace needs --element N (the 0-based call of the first session)",
        );
    };
    let (sc, bytes, name) = match load_scenario(a) {
        Ok(x) => x,
        Err(e) => return fail(a.json, &e),
    };
    let opts = RunOptions {
        ncpus: a.cpus,
        hash_seed: a.hash_seed,
        ..RunOptions::default()
    };
    let defaults = trace::TraceLimits::default();
    let limits = trace::TraceLimits {
        max_insns: a.max_insns.unwrap_or(defaults.max_insns),
        max_steps: a.max_steps.unwrap_or(defaults.max_steps),
    };
    let (tx, rx) = mpsc::channel();
    let no_verify = a.no_verify;
    // The calls before the traced one run on rbpf, which cannot be interrupted.
    std::thread::spawn(move || {
        let r = trace::trace_call(&sc, &bytes, &name, &opts, call, &limits, no_verify)
            .map_err(|e| e.to_string());
        let _ = tx.send(r);
    });
    let t = match rx.recv_timeout(Duration::from_secs_f64(a.timeout)) {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return fail(a.json, &e),
        Err(_) => {
            return fail(
                a.json,
                &format!("timeout: the trace did not finish within {} s", a.timeout),
            )
        }
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&t).unwrap_or_default());
    } else {
        print_trace(&t);
    }
    if t.disagreement.is_some() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn print_trace(t: &trace::Trace) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if t.unverified {
        let _ = writeln!(
            out,
            "UNVERIFIED (teaching mode): Linux never runs this program; the verifier says: {}",
            t.verifier_error.as_deref().unwrap_or("?")
        );
    }
    let _ = writeln!(
        out,
        "call {} (seq_num {}{}) on {}{}",
        t.call,
        t.seq_num,
        if t.is_stop { ", the NULL call" } else { "" },
        t.engine,
        if t.engine == trace::EngineKind::Rbpf {
            " (cross-checked with the tracer)"
        } else {
            ""
        }
    );
    let mut last_line: Option<&str> = None;
    for s in &t.steps {
        if s.line.as_deref() != last_line {
            if let Some(l) = &s.line {
                let _ = writeln!(out, "; {l}");
            }
            last_line = s.line.as_deref();
        }
        let _ = write!(out, "{:5}: {:<40}", s.pc, s.insn);
        let changed: Vec<String> = (0..11)
            .filter(|&r| s.regs[r] != s.regs_before[r])
            .map(|r| format!("r{r}={:#x}", s.regs[r]))
            .collect();
        let _ = write!(out, " {}", changed.join(" "));
        if let Some(types) = t.verifier_regs.get(s.pc) {
            let known: Vec<String> = types
                .iter()
                .enumerate()
                .filter_map(|(i, ty)| ty.as_ref().map(|ty| format!("R{i}={ty}")))
                .collect();
            if !known.is_empty() {
                let _ = write!(out, "  [{}]", known.join(" "));
            }
        }
        let _ = writeln!(out);
        for m in &s.mem {
            let _ = writeln!(
                out,
                "         {} {:?}+{} size {} = {:#x}",
                if m.write { "store" } else { "load " },
                m.region,
                m.offset,
                m.size,
                m.value
            );
        }
        if let Some(h) = &s.helper {
            let _ = writeln!(
                out,
                "         {}#{}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}) = {:#x}",
                h.name, h.id, h.args[0], h.args[1], h.args[2], h.args[3], h.args[4], h.ret
            );
        }
    }
    if t.truncated {
        let _ = writeln!(
            out,
            "... truncated: {} of {} instructions shown",
            t.steps.len(),
            t.insns_executed
        );
    }
    if let Some(e) = &t.error {
        let _ = writeln!(out, "stopped: {e}");
    }
    let _ = writeln!(
        out,
        "r0 = {} after {} instructions; output {:?}",
        t.ret,
        t.insns_executed,
        String::from_utf8_lossy(&t.output)
    );
    match &t.disagreement {
        None if t.engine == trace::EngineKind::Rbpf => {
            let _ = writeln!(out, "rbpf and the tracer agree");
        }
        None => {}
        Some(d) => {
            let _ = writeln!(out, "ENGINE DISAGREEMENT (a bug): {d}");
        }
    }
}

fn fail(json: bool, msg: &str) -> ExitCode {
    if json {
        println!("{}", serde_json::json!({ "error": msg }));
    } else {
        eprintln!("iterscope: {msg}");
    }
    ExitCode::from(1)
}

/// `bench --verify`: verification time of every example object and of a program near the
/// verifier's 1,000,000-instruction limit.
fn cmd_bench_verify() -> ExitCode {
    let mut objs: Vec<PathBuf> = std::fs::read_dir("examples")
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    objs.retain(|p| p.to_string_lossy().ends_with(".o"));
    objs.sort();
    for p in objs {
        let Ok(bytes) = std::fs::read(&p) else {
            continue;
        };
        let Ok(sc) = Scenario::from_json(
            r#"{"program":"x","map":{"type":"hash","key_size":16,"value_size":64,"max_entries":4,"flags":64}}"#,
        ) else {
            continue;
        };
        let start = Instant::now();
        let r = scenario::prepare(&sc, &bytes, &object_name(&p), &RunOptions::default());
        let secs = start.elapsed().as_secs_f64();
        let verdict = match &r {
            Ok(pr) => match &pr.verdict {
                scenario::Verdict::Loaded(v) => format!("ok, {} insns processed", v.processed),
                scenario::Verdict::Rejected(rj) => format!("rejected: {}", rj.error.message),
                scenario::Verdict::NotLoaded { map_create } => {
                    format!("map create failed: {map_create}")
                }
            },
            Err(e) => format!("error: {e}"),
        };
        println!("{:<40} {:>8.3} ms  {verdict}", p.display(), secs * 1e3);
    }
    let prog = iterscope_emulator::bench::bounded_loop_program(499_000);
    let start = Instant::now();
    let r = iterscope_emulator::bench::verify_raw(&prog);
    let secs = start.elapsed().as_secs_f64();
    match r {
        Ok(n) => println!("bounded loop near the limit: {n} insns processed in {secs:.3} s"),
        Err(e) => println!(
            "bounded loop near the limit: {} in {secs:.3} s",
            e.error.message
        ),
    }
    ExitCode::SUCCESS
}

fn cmd_bench(a: &Args) -> ExitCode {
    if a.verify {
        return cmd_bench_verify();
    }
    let bench = iterscope_emulator::bench::Bench {
        elements: a.elements,
        printf: a.printf,
    };
    let start = Instant::now();
    let mut machine = match bench.machine() {
        Ok(m) => m,
        Err(e) => return fail(false, &e.to_string()),
    };
    let fill = start.elapsed().as_secs_f64();
    let start = Instant::now();
    match scenario::run_session(&mut machine, 4096) {
        Ok(r) => {
            let secs = start.elapsed().as_secs_f64();
            println!(
                "{} elements ({}): map filled in {fill:.3} s; iterated in {secs:.3} s ({:.0} elements/s), {} program calls, {} bytes in {} reads",
                a.elements,
                if a.printf { "bpf_seq_printf per element" } else { "sum only" },
                f64::from(a.elements) / secs,
                r.prog_calls,
                r.bytes.len(),
                r.read_calls,
            );
        }
        Err(e) => return fail(false, &e.to_string()),
    }
    cmd_bench_live(&bench)
}

/// Calls of a live run per advance in `bench`: about what one browser frame can take.
const BENCH_LIVE_CHUNK: u64 = 10_000;

/// The same workload through a `LiveRun` advanced in chunks, recording the call log.
fn cmd_bench_live(bench: &iterscope_emulator::bench::Bench) -> ExitCode {
    let mut run = match bench.live() {
        Ok(r) => r,
        Err(e) => return fail(false, &e.to_string()),
    };
    let start = Instant::now();
    match iterscope_emulator::bench::Bench::run_live(&mut run, BENCH_LIVE_CHUNK) {
        Ok(r) => {
            let secs = start.elapsed().as_secs_f64();
            println!(
                "live run in chunks of {BENCH_LIVE_CHUNK} calls: {} calls in {secs:.3} s ({:.0} calls/s, {:.2} ms per chunk), call log {} bytes per call ({} MiB allocated)",
                r.calls,
                r.calls as f64 / secs,
                secs * 1e3 / r.chunks.max(1) as f64,
                r.log_bytes_per_call,
                r.log_heap_bytes >> 20,
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(false, &e.to_string()),
    }
}

fn cmd_disasm(a: &Args) -> ExitCode {
    let Some(target) = a.target.as_deref() else {
        return fail(false, "disasm needs PROG.o");
    };
    let path = Path::new(target);
    let bytes = match read_file(path) {
        Ok(b) => b,
        Err(e) => return fail(false, &e),
    };
    let obj = match iterscope_emulator::elf::parse(&bytes, &object_name(path)) {
        Ok(o) => o,
        Err(e) => return fail(false, &format!("{target}: {e}")),
    };
    if a.asm {
        print!("{}", iterscope_emulator::asm::object_to_asm(&obj));
        return ExitCode::SUCCESS;
    }
    for p in &obj.programs {
        println!(
            "{}: SEC(\"{}\"), {} instructions",
            p.name,
            p.section,
            p.insns.len() / 8
        );
        print!(
            "{}",
            iterscope_emulator::asm::disasm_linked_with_lines(p, &obj)
        );
    }
    ExitCode::SUCCESS
}

/// `iterscope export-bpftool SCENARIO.json [--object PROG.o] [--cpus N] [-o SCRIPT.sh]`:
/// the bpftool script of a scenario, for the compiled object (a `.c` or `.s` program's `.o`
/// beside it).
fn cmd_export_bpftool(a: &Args) -> ExitCode {
    let Some(target) = a.target.as_deref() else {
        return fail(false, "export-bpftool needs SCENARIO.json");
    };
    let path = Path::new(target);
    let text = match read_file(path)
        .and_then(|b| String::from_utf8(b).map_err(|_| format!("{target} is not UTF-8")))
    {
        Ok(t) => t,
        Err(e) => return fail(false, &e),
    };
    let sc = match Scenario::from_json(&text) {
        Ok(sc) => sc,
        Err(e) => return fail(false, &format!("{target}: {e}")),
    };
    let object = a.object.as_ref().map_or_else(
        || {
            let p = path.parent().unwrap_or(Path::new("")).join(&sc.program);
            match p.extension().and_then(|e| e.to_str()) {
                Some("c" | "s") => p.with_extension("o"),
                _ => p,
            }
        },
        PathBuf::from,
    );
    let script =
        match iterscope_emulator::export::bpftool_script(&sc, &object.to_string_lossy(), a.cpus) {
            Ok(s) => s,
            Err(e) => return fail(false, &format!("{target}: {e}")),
        };
    match &a.output {
        Some(out) => {
            if let Err(e) = std::fs::write(out, script) {
                return fail(false, &format!("cannot write {out}: {e}"));
            }
        }
        None => print!("{script}"),
    }
    ExitCode::SUCCESS
}

/// Assembles a `.s` file into ELF object bytes.
fn assemble_file(path: &Path) -> Result<Vec<u8>, String> {
    let text = String::from_utf8(read_file(path)?)
        .map_err(|_| format!("{} is not UTF-8", path.display()))?;
    let out =
        iterscope_emulator::asm::assemble(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(iterscope_emulator::asm::write_object(&out))
}

/// `iterscope asm PROG.s [-o PROG.o]` (default output: PROG.o beside the source).
fn cmd_asm(a: &Args) -> ExitCode {
    let Some(target) = a.target.as_deref() else {
        return fail(false, "asm needs PROG.s");
    };
    let src = Path::new(target);
    let bytes = match assemble_file(src) {
        Ok(b) => b,
        Err(e) => return fail(false, &e),
    };
    let out = a
        .output
        .as_ref()
        .map_or_else(|| src.with_extension("o"), PathBuf::from);
    if let Err(e) = std::fs::write(&out, bytes) {
        return fail(false, &format!("cannot write {}: {e}", out.display()));
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let a = match parse_args(&argv) {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("iterscope: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match a.cmd.as_str() {
        "run" => cmd_run(&a),
        "trace" => cmd_trace(&a),
        "bench" => cmd_bench(&a),
        "disasm" => cmd_disasm(&a),
        "asm" => cmd_asm(&a),
        "export-bpftool" => cmd_export_bpftool(&a),
        other => {
            eprintln!("iterscope: unknown command {other}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
