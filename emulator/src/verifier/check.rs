//! The exploration loop and the per-instruction rules of the verifier (`check_*`).

use std::collections::{HashMap, HashSet};
use std::rc::{Rc, Weak};

use super::state::{Byte, Frame, MapRef, Reg, Scalar, Slot, State};
use super::{
    pad_to_state, regs_line, Env, LddwTarget, VerifierLog, VerifyError, COMPLEXITY_LIMIT_INSNS,
};
use crate::asm::{disasm, Insn};
use crate::errno::Errno;
use crate::helpers::ids::helper_name;

/// The stack a program may use, per frame and in total (`MAX_BPF_STACK`).
const MAX_BPF_STACK: i64 = 512;
/// `BPF_MAP_TYPE_ARRAY`.
const BPF_MAP_TYPE_ARRAY: u32 = 2;
/// `BPF_MAP_TYPE_PERCPU_ARRAY`.
const BPF_MAP_TYPE_PERCPU_ARRAY: u32 = 6;
/// Linux's `BPF_MAX_VAR_OFF`: the largest offset pointer arithmetic may add.
const BPF_MAX_VAR_OFF: i64 = 1 << 29;

fn err(insn: usize, errno: Errno, message: impl Into<String>) -> VerifyError {
    VerifyError {
        insn,
        message: message.into(),
        context: Vec::new(),
        errno,
    }
}

/// A state recorded at a prune point. It stays alive (strongly referenced) while the path
/// through it or a branch queued after it is still being explored, like the kernel's
/// `branches` count: only states whose node is gone may prune others.
#[derive(Debug)]
struct PathNode {
    _parent: Option<Rc<PathNode>>,
}

impl Drop for PathNode {
    /// Unlinks the chain iteratively: a path of a million states would overflow the stack if
    /// each node dropped its parent recursively.
    fn drop(&mut self) {
        let mut next = self._parent.take();
        while let Some(rc) = next {
            match Rc::try_unwrap(rc) {
                Ok(mut node) => next = node._parent.take(),
                Err(_) => break,
            }
        }
    }
}

/// States kept per instruction for pruning (older ones are forgotten, as Linux evicts).
const MAX_STATES_PER_INSN: usize = 64;

/// Largest log kept; beyond it only the final lines are added (Linux's log buffer is
/// bounded too).
pub(super) const MAX_LOG: usize = 4 << 20;

/// What one instruction did to the path.
enum Flow {
    /// Continue at this pc.
    Next(usize),
    /// A conditional jump both ways: continue at the first, queue the second.
    Fork(usize, State, usize),
    /// The path ended at an exit of the main function.
    Done,
}

/// A queued branch.
struct Pending {
    from: usize,
    pc: usize,
    state: State,
    path: Option<Rc<PathNode>>,
}

/// The verifier's working state for one program.
pub(super) struct Verifier<'a> {
    env: &'a Env<'a>,
    target: super::IterTarget,
    insns: Vec<Insn>,
    pub(super) log: VerifierLog,
    pub(super) max_rdonly: u32,
    pub(super) max_rdwr: u32,
    pub(super) processed: u64,
    prune: HashSet<usize>,
    visited: HashMap<usize, Vec<(State, Weak<PathNode>)>>,
    /// Every state recorded, by instruction and hash, for the infinite-loop check.
    seen: HashMap<(usize, u64), Vec<Weak<PathNode>>>,
    total_states: usize,
    peak_states: usize,
    next_id: u32,
    last_line: Option<usize>,
    stack_depth: Vec<i64>,
    /// State to print on its own line before the next instruction (after a helper call,
    /// Linux prints the call's effects as `N: R0=...` there).
    deferred_state: Option<String>,
    /// The register types of the first state that reached each instruction.
    pub(super) insn_regs: Vec<Option<[Option<String>; 11]>>,
}

impl<'a> Verifier<'a> {
    pub(super) fn new(env: &'a Env<'a>, target: super::IterTarget) -> Self {
        let insns = env
            .insns
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                Insn::decode(&b)
            })
            .collect();
        Verifier {
            env,
            target,
            insns,
            log: VerifierLog::default(),
            max_rdonly: 0,
            max_rdwr: 0,
            processed: 0,
            prune: HashSet::new(),
            visited: HashMap::new(),
            seen: HashMap::new(),
            total_states: 0,
            peak_states: 0,
            next_id: 1,
            last_line: None,
            stack_depth: vec![0],
            deferred_state: None,
            insn_regs: vec![None; env.insns.len() / 8],
        }
    }

    /// `stack depth N` (per frame, joined with `+` as Linux does).
    pub(super) fn stack_line(&self) -> String {
        let d: Vec<String> = self.stack_depth.iter().map(ToString::to_string).collect();
        format!(
            "stack depth {}",
            if d.is_empty() {
                "0".to_string()
            } else {
                d.join("+")
            }
        )
    }

    pub(super) fn stats_line(&self) -> String {
        let max_per = self.visited.values().map(Vec::len).max().unwrap_or(0);
        format!(
            "processed {} insns (limit {COMPLEXITY_LIMIT_INSNS}) max_states_per_insn {max_per} total_states {} peak_states {} mark_read 0",
            self.processed, self.total_states, self.peak_states
        )
    }

    fn note_stack(&mut self, frame: u8, off: i64) {
        let f = frame as usize;
        if self.stack_depth.len() <= f {
            self.stack_depth.resize(f + 1, 0);
        }
        let depth = (-off).clamp(0, MAX_BPF_STACK);
        self.stack_depth[f] = self.stack_depth[f].max((depth + 7) & !7);
    }

    fn new_id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Control-flow checks Linux makes before exploring (`check_cfg`, `resolve_pseudo_ldimm64`).
    fn check_cfg(&mut self) -> Result<(), VerifyError> {
        let n = self.insns.len();
        if n == 0 {
            return Err(err(0, Errno::EINVAL, "last insn is not an exit or jmp"));
        }
        let mut is_second = vec![false; n];
        for (i, ins) in self.insns.iter().enumerate() {
            if is_second[i] {
                continue;
            }
            if ins.op == 0x18 {
                if i + 1 >= n || self.insns[i + 1].op != 0 {
                    return Err(err(i, Errno::EINVAL, "invalid bpf_ld_imm64 insn"));
                }
                is_second[i + 1] = true;
            }
        }
        // reachability and jump targets
        let mut reach = vec![false; n];
        let mut work = vec![0usize];
        let mut calls = Vec::new();
        while let Some(i) = work.pop() {
            if i >= n || reach[i] {
                continue;
            }
            reach[i] = true;
            let ins = self.insns[i];
            let class = ins.op & 7;
            let mut targets: Vec<i64> = Vec::new();
            let mut falls = true;
            if ins.op == 0x18 {
                targets.push(i as i64 + 2);
                falls = false;
            } else if class == 0x05 || class == 0x06 {
                match ins.op & 0xf0 {
                    0x00 => {
                        let off = if class == 0x06 {
                            i64::from(ins.imm)
                        } else {
                            i64::from(ins.off)
                        };
                        targets.push(i as i64 + 1 + off);
                        falls = false;
                    }
                    0x90 if class == 0x05 => falls = false,
                    0x80 => {
                        if ins.src == 1 {
                            let t = i as i64 + 1 + i64::from(ins.imm);
                            if t < 0 || t >= n as i64 {
                                return Err(err(
                                    i,
                                    Errno::EINVAL,
                                    format!("jump out of range from insn {i} to {t}"),
                                ));
                            }
                            calls.push(t as usize);
                            work.push(t as usize);
                            self.prune.insert(i + 1);
                        }
                    }
                    _ => {
                        // A conditional jump is itself a prune point, as in Linux.
                        self.prune.insert(i);
                        targets.push(i as i64 + 1 + i64::from(ins.off));
                    }
                }
            }
            for t in &targets {
                if *t >= 0 && *t < n as i64 && is_second[*t as usize] {
                    return Err(err(
                        i,
                        Errno::EINVAL,
                        format!("jump into the middle of ldimm64 insn {}", t - 1),
                    ));
                }
                if *t < 0 || *t >= n as i64 {
                    return Err(err(
                        i,
                        Errno::EINVAL,
                        format!("jump out of range from insn {i} to {t}"),
                    ));
                }
                work.push(*t as usize);
                if ins.op != 0x18 {
                    self.prune.insert(*t as usize);
                }
            }
            if falls {
                if i + 1 >= n {
                    return Err(err(i, Errno::EINVAL, "last insn is not an exit or jmp"));
                }
                if (class == 0x05 || class == 0x06) && ins.op & 0xf0 != 0x80 {
                    self.prune.insert(i + 1);
                }
                work.push(i + 1);
            }
        }
        for i in 0..n {
            if !reach[i] && !is_second[i] {
                return Err(err(i, Errno::EINVAL, format!("unreachable insn {i}")));
            }
        }
        Ok(())
    }

    pub(super) fn run(&mut self) -> Result<(), VerifyError> {
        self.subprog_lines();
        self.check_cfg()?;
        self.live_regs_table();
        let mut init = State {
            frames: vec![Frame::new(0, 0)],
        };
        init.cur_mut().regs[1] = Reg::Ctx { off: 0 };
        self.log.line(&format!("0: {}", regs_line(&init)));
        let mut pending = vec![Pending {
            from: 0,
            pc: 0,
            state: init,
            path: None,
        }];
        let mut first = true;
        while let Some(Pending {
            from,
            pc,
            state,
            path,
        }) = pending.pop()
        {
            if !first {
                self.log.line("");
                let regs = regs_line(&state);
                self.log.line(&format!("from {from} to {pc}: {regs}"));
                // Linux repeats the state as the first line of the new path.
                self.log.line(&format!("{pc}: {regs}"));
            }
            first = false;
            self.last_line = None;
            self.deferred_state = None;
            self.explore(pc, state, path, &mut pending)?;
            self.peak_states = self
                .peak_states
                .max(self.visited.values().map(Vec::len).sum());
        }
        Ok(())
    }

    fn explore(
        &mut self,
        mut pc: usize,
        mut st: State,
        mut path: Option<Rc<PathNode>>,
        pending: &mut Vec<Pending>,
    ) -> Result<(), VerifyError> {
        loop {
            if self.prune.contains(&pc) {
                if let Some(list) = self.visited.get(&pc) {
                    let safe = list
                        .iter()
                        .any(|(old, w)| w.upgrade().is_none() && old.subsumes(&st));
                    if safe {
                        self.log.line(&format!("{pc}: safe"));
                        return Ok(());
                    }
                }
                // The same state again while its exploration is still in progress: a loop
                // that cannot end (Linux: states_maybe_looping on a state with branches).
                let hash = {
                    use std::hash::{Hash, Hasher};
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    st.hash(&mut h);
                    h.finish()
                };
                let looping = self
                    .seen
                    .get(&(pc, hash))
                    .is_some_and(|l| l.iter().any(|w| w.upgrade().is_some()));
                if looping {
                    return Err(err(
                        pc,
                        Errno::EINVAL,
                        format!("infinite loop detected at insn {pc}"),
                    ));
                }
                let node = Rc::new(PathNode {
                    _parent: path.take(),
                });
                let list = self.visited.entry(pc).or_default();
                if list.len() >= MAX_STATES_PER_INSN {
                    list.remove(0);
                }
                list.push((st.clone(), Rc::downgrade(&node)));
                self.seen
                    .entry((pc, hash))
                    .or_default()
                    .push(Rc::downgrade(&node));
                self.total_states += 1;
                path = Some(node);
            }
            self.processed += 1;
            if self.processed > COMPLEXITY_LIMIT_INSNS {
                return Err(err(
                    pc,
                    Errno::E2BIG,
                    format!(
                        "BPF program is too large. Processed {} insn",
                        self.processed
                    ),
                ));
            }
            if let Some(state) = self.deferred_state.take() {
                self.log.line(&format!("{pc}: {state}"));
            }
            self.source_line(pc);
            if let Some(slot @ None) = self.insn_regs.get_mut(pc) {
                let regs = &st.cur().regs;
                *slot = Some(std::array::from_fn(|i| {
                    (!matches!(regs[i], Reg::NotInit)).then(|| regs[i].to_string())
                }));
            }
            let before = st.clone();
            let text = self.insn_text(pc);
            let flow = match self.step(pc, &mut st) {
                Ok(f) => f,
                Err(e) => {
                    self.log.line(&text);
                    for l in &e.context {
                        self.log.line(l);
                    }
                    return Err(e);
                }
            };
            let mut line = text;
            let ins = self.insns[pc];
            let changes = scratched_regs(&ins, &before, &st);
            if ins.op == 0x85 {
                // A call prints nothing on its line; its effects open the next one.
                self.deferred_state = (!changes.is_empty()).then_some(changes);
            } else if !changes.is_empty() {
                pad_to_state(&mut line);
                line.push_str("; ");
                line.push_str(&changes);
            }
            self.log.line(&line);
            match flow {
                Flow::Next(n) => pc = n,
                Flow::Fork(n, other, target) => {
                    pending.push(Pending {
                        from: pc,
                        pc: target,
                        state: other,
                        path: path.clone(),
                    });
                    pc = n;
                }
                Flow::Done => return Ok(()),
            }
        }
    }

    fn source_line(&mut self, pc: usize) {
        let lines = self.env.lines;
        if let Ok(i) = lines.binary_search_by_key(&pc, |l| l.insn) {
            // Linux prints a record's line unless the previous one printed the same text.
            let same = self
                .last_line
                .is_some_and(|p| lines[p].source == lines[i].source);
            if !same {
                self.last_line = Some(i);
                let l = &lines[i];
                let file = l.file.rsplit('/').next().unwrap_or(&l.file);
                self.log
                    .line(&format!("; {} @ {file}:{}", l.source.trim(), l.line));
            }
        }
    }

    /// `func#0 @0`, then `func#N @start` for each bpf-to-bpf call target, as Linux's
    /// verbose log opens.
    fn subprog_lines(&mut self) {
        let n = self.insns.len() as i64;
        let mut starts: Vec<i64> = self
            .insns
            .iter()
            .enumerate()
            .filter(|(_, ins)| ins.op == 0x85 && ins.src == 1)
            .map(|(i, ins)| i as i64 + 1 + i64::from(ins.imm))
            .filter(|t| (1..n).contains(t))
            .collect();
        starts.sort_unstable();
        starts.dedup();
        self.log.line("func#0 @0");
        for (k, start) in starts.iter().enumerate() {
            self.log.line(&format!("func#{} @{start}", k + 1));
        }
    }

    /// The `Live regs before insn:` table (see [`super::liveness`]).
    fn live_regs_table(&mut self) {
        let params = |id: u32| proto(id).map(|p| p.args.len());
        let live = super::liveness::live_before(&self.insns, &params);
        let loops = super::liveness::loops(&self.insns);
        self.log.line("Live regs before insn:");
        let mut i = 0;
        while i < self.insns.len() {
            let text = self.insn_text(i);
            let body = text.split_once(": ").map_or(text.as_str(), |(_, b)| b);
            let mask = super::liveness::mask(live[i]);
            // Instructions in a loop carry its number before the index.
            let line = match loops[i] {
                0 => format!("{i:>7}: {mask} {body}"),
                l => format!("{l:>3}{i:>4}: {mask} {body}"),
            };
            self.log.line(&line);
            i += if self.insns[i].op == 0x18 { 2 } else { 1 };
        }
    }

    fn insn_text(&self, pc: usize) -> String {
        let ins = self.insns[pc];
        let text = match self.env.lddw.get(&pc) {
            Some(LddwTarget::Map(m)) => format!("r{} = map_ptr({}) ll", ins.dst, m.name),
            Some(LddwTarget::Value { map, off }) => format!(
                "r{} = map_value({}{}) ll",
                ins.dst,
                map.name,
                if *off != 0 {
                    format!("+{off}")
                } else {
                    String::new()
                }
            ),
            None => disasm(&ins, self.insns.get(pc + 1).map(|n| n.imm)),
        };
        format!("{pc}: ({:02x}) {text}", ins.op)
    }

    fn reg(&self, st: &State, pc: usize, r: u8) -> Result<Reg, VerifyError> {
        if r > 10 {
            return Err(err(pc, Errno::EINVAL, format!("R{r} is invalid")));
        }
        let v = st.cur().regs[r as usize].clone();
        if matches!(v, Reg::NotInit) {
            return Err(err(pc, Errno::EACCES, format!("R{r} !read_ok")));
        }
        Ok(v)
    }

    fn set(&self, st: &mut State, pc: usize, r: u8, v: Reg) -> Result<(), VerifyError> {
        if r == 10 {
            return Err(err(pc, Errno::EACCES, "frame pointer is read only"));
        }
        if r > 10 {
            return Err(err(pc, Errno::EINVAL, format!("R{r} is invalid")));
        }
        st.cur_mut().regs[r as usize] = v;
        Ok(())
    }

    fn step(&mut self, pc: usize, st: &mut State) -> Result<Flow, VerifyError> {
        let ins = self.insns[pc];
        match ins.op & 7 {
            0x00 => self.check_lddw(pc, st, ins).map(|()| Flow::Next(pc + 2)),
            0x01 => self.check_load(pc, st, ins).map(|()| Flow::Next(pc + 1)),
            0x02 | 0x03 => self.check_store(pc, st, ins).map(|()| Flow::Next(pc + 1)),
            0x04 | 0x07 => self.check_alu(pc, st, ins).map(|()| Flow::Next(pc + 1)),
            _ => self.check_jmp(pc, st, ins),
        }
    }

    fn check_lddw(&mut self, pc: usize, st: &mut State, ins: Insn) -> Result<(), VerifyError> {
        if ins.op != 0x18 {
            return Err(err(
                pc,
                Errno::EINVAL,
                format!("unknown opcode {:02x}", ins.op),
            ));
        }
        let v = match self.env.lddw.get(&pc) {
            Some(LddwTarget::Map(m)) => Reg::MapPtr(m.clone()),
            Some(LddwTarget::Value { map, off }) => Reg::MapValue {
                map: map.clone(),
                off: *off,
                var: None,
                null_id: None,
            },
            None => {
                if ins.src != 0 {
                    return Err(err(pc, Errno::EINVAL, "unrecognized bpf_ld_imm64 insn"));
                }
                let hi = self.insns[pc + 1].imm as u32;
                Reg::Scalar(Scalar::konst(
                    (u64::from(hi) << 32) | u64::from(ins.imm as u32),
                ))
            }
        };
        self.set(st, pc, ins.dst, v)
    }

    fn check_load(&mut self, pc: usize, st: &mut State, ins: Insn) -> Result<(), VerifyError> {
        // BPF_MEM, or BPF_MEMSX (cpu v4 sign-extending loads), which type the same way.
        if !matches!(ins.op & 0xe0, 0x60 | 0x80) {
            return Err(err(
                pc,
                Errno::EINVAL,
                format!("unknown opcode {:02x}", ins.op),
            ));
        }
        let size = size_of(ins.op);
        let base = self.reg(st, pc, ins.src)?;
        let v = self.check_mem(
            pc,
            st,
            ins.src,
            &base,
            i64::from(ins.off),
            size,
            Access::Read,
        )?;
        self.set(st, pc, ins.dst, v)
    }

    fn check_store(&mut self, pc: usize, st: &mut State, ins: Insn) -> Result<(), VerifyError> {
        let size = size_of(ins.op);
        let mode = ins.op & 0xe0;
        let base = self.reg(st, pc, ins.dst)?;
        if mode == 0xc0 && ins.op & 7 == 0x03 {
            // atomics: read-modify-write of the memory, the source register must be a scalar
            if size < 4 {
                return Err(err(pc, Errno::EINVAL, "invalid atomic operand size"));
            }
            // Linux refuses pointer sources only without allow_ptr_leaks, which iterator
            // loads (CAP_PERFMON) always have.
            self.reg(st, pc, ins.src)?;
            if let Reg::Buf {
                rdonly: true,
                null_id: None,
                ..
            } = base
            {
                return Err(err(
                    pc,
                    Errno::EACCES,
                    format!("R{} cannot write into rdonly_buf", ins.dst),
                ));
            }
            self.check_mem(
                pc,
                st,
                ins.dst,
                &base,
                i64::from(ins.off),
                size,
                Access::Read,
            )?;
            self.check_mem(
                pc,
                st,
                ins.dst,
                &base,
                i64::from(ins.off),
                size,
                Access::Write(Reg::Scalar(Scalar::UNKNOWN)),
            )?;
            let fetch = ins.imm & 1 != 0;
            if fetch {
                let dst = if ins.imm == 0xf1 { 0 } else { ins.src };
                self.set(
                    st,
                    pc,
                    dst,
                    Reg::Scalar(if size == 4 {
                        Scalar::upto(u64::from(u32::MAX))
                    } else {
                        Scalar::UNKNOWN
                    }),
                )?;
            }
            return Ok(());
        }
        if mode != 0x60 {
            return Err(err(
                pc,
                Errno::EINVAL,
                format!("unknown opcode {:02x}", ins.op),
            ));
        }
        // BPF_ST stores its immediate, BPF_STX a register.
        let val = if ins.op & 7 == 0x02 {
            Reg::Scalar(Scalar::konst(i64::from(ins.imm) as u64))
        } else {
            self.reg(st, pc, ins.src)?
        };
        self.check_mem(
            pc,
            st,
            ins.dst,
            &base,
            i64::from(ins.off),
            size,
            Access::Write(val),
        )?;
        Ok(())
    }

    /// A load or store of `size` bytes at `base + off` through register `regno`.
    #[allow(
        clippy::too_many_arguments,
        reason = "mirrors the kernel's check_mem_access"
    )]
    fn check_mem(
        &mut self,
        pc: usize,
        st: &mut State,
        regno: u8,
        base: &Reg,
        off: i64,
        size: u32,
        access: Access,
    ) -> Result<Reg, VerifyError> {
        let write = matches!(access, Access::Write(_));
        let sz = i64::from(size);
        match base {
            Reg::Ctx { off: roff } => {
                let o = roff + off;
                if write || size != 8 || !(0..=24).contains(&o) || o % 8 != 0 {
                    return Err(err(
                        pc,
                        Errno::EACCES,
                        format!("invalid bpf_context access off={o} size={size}"),
                    ));
                }
                Ok(match o {
                    0 => Reg::IterMeta { off: 0 },
                    8 => Reg::BpfMap { off: 0 },
                    16 if self.target == super::IterTarget::SkStorageMap => Reg::Sock {
                        null_id: Some(self.new_id()),
                        off: 0,
                    },
                    16 => {
                        let id = self.new_id();
                        Reg::Buf {
                            rdonly: true,
                            null_id: Some(id),
                            off: 0,
                            var: None,
                        }
                    }
                    _ => {
                        let id = self.new_id();
                        Reg::Buf {
                            rdonly: false,
                            null_id: Some(id),
                            off: 0,
                            var: None,
                        }
                    }
                })
            }
            Reg::Buf {
                rdonly,
                null_id,
                off: boff,
                var,
            } => {
                if null_id.is_some() {
                    return Err(err(
                        pc,
                        Errno::EACCES,
                        format!("R{regno} invalid mem access '{}'", base.type_name()),
                    ));
                }
                if write && *rdonly {
                    return Err(err(
                        pc,
                        Errno::EACCES,
                        format!("R{regno} cannot write into rdonly_buf"),
                    ));
                }
                let o = boff + off;
                let kind = if *rdonly { "rdonly" } else { "rdwr" };
                if o < 0 {
                    return Err(err(
                        pc,
                        Errno::EACCES,
                        format!("R{regno} invalid {kind} buffer access: off={o}, size={size}"),
                    ));
                }
                if let Some(v) = var {
                    return Err(err(
                        pc,
                        Errno::EACCES,
                        format!("R{regno} invalid variable buffer offset: off={o}, var_off=({:#x}; {:#x})", v.var_off.value, v.var_off.mask),
                    ));
                }
                let end = u32::try_from(o + sz).unwrap_or(u32::MAX);
                if *rdonly {
                    self.max_rdonly = self.max_rdonly.max(end);
                } else {
                    self.max_rdwr = self.max_rdwr.max(end);
                }
                Ok(Reg::Scalar(load_scalar(size)))
            }
            Reg::Stack { frame, off: soff } => {
                let o = soff + off;
                // Stack accesses are always strictly aligned (check_ptr_alignment).
                if o.rem_euclid(sz) != 0 {
                    return Err(err(
                        pc,
                        Errno::EACCES,
                        format!("misaligned stack access off 0+{soff}+{off} size {size}"),
                    ));
                }
                self.note_stack(*frame, o);
                if o < -MAX_BPF_STACK || o + sz > 0 {
                    let what = if write { "write to" } else { "read from" };
                    return Err(err(
                        pc,
                        Errno::EACCES,
                        format!("invalid {what} stack R{regno} off={o} size={size}"),
                    ));
                }
                let frame = usize::from(*frame);
                if frame >= st.frames.len() {
                    return Err(err(
                        pc,
                        Errno::EACCES,
                        format!("R{regno} invalid stack frame"),
                    ));
                }
                match access {
                    Access::Write(v) => {
                        if v.is_pointer() && size != 8 {
                            return Err(err(pc, Errno::EACCES, "invalid size of register spill"));
                        }
                        if matches!(v, Reg::Stack { .. }) && frame + 1 != st.frames.len() {
                            return Err(err(
                                pc,
                                Errno::EINVAL,
                                "cannot spill pointers to stack into stack frame of the caller",
                            ));
                        }
                        stack_write(&mut st.frames[frame], o, size, v);
                        Ok(Reg::NotInit)
                    }
                    Access::Read => stack_read(&st.frames[frame], o, size)
                        .ok_or_else(|| err(pc, Errno::EACCES, "invalid size of register fill")),
                }
            }
            Reg::MapValue {
                map,
                off: moff,
                var,
                null_id,
            } => {
                if null_id.is_some() {
                    return Err(err(
                        pc,
                        Errno::EACCES,
                        format!("R{regno} invalid mem access '{}'", base.type_name()),
                    ));
                }
                let (lo, hi) = match var {
                    Some(v) => (
                        moff + off + v.smin.max(0),
                        (moff + off).saturating_add(i64::try_from(v.umax).unwrap_or(i64::MAX)),
                    ),
                    None => (moff + off, moff + off),
                };
                if var.is_some_and(|v| v.smin < 0) {
                    return Err(err(pc, Errno::EACCES, format!("R{regno} min value is negative, either use unsigned index or do a if (index >=0) check.")));
                }
                // check_mem_region_access: the smallest and the largest offset must each fit;
                // the access line comes first, then which bound failed.
                let vs = i64::from(map.vs);
                for (at, bound) in [(lo, "min"), (hi, "max")] {
                    if at < 0 || at.saturating_add(sz) > vs {
                        let mut e = err(
                            pc,
                            Errno::EACCES,
                            format!(
                                "R{regno} {bound} value is outside of the allowed memory range"
                            ),
                        );
                        e.context.push(format!(
                            "invalid access to map value, value_size={} off={at} size={size}",
                            map.vs
                        ));
                        return Err(e);
                    }
                }
                if write && map.readonly {
                    return Err(err(
                        pc,
                        Errno::EACCES,
                        format!(
                            "write into map forbidden, value_size={} off={lo} size={size}",
                            map.vs
                        ),
                    ));
                }
                if let (Access::Read, Some(data), None, 1..=8) = (&access, &map.frozen, var, size) {
                    // A frozen read-only map (.rodata): Linux reads the constant.
                    let at = usize::try_from(lo).unwrap_or(usize::MAX);
                    if let Some(bytes) = data.get(at..at.saturating_add(size as usize)) {
                        let mut b = [0u8; 8];
                        b[..bytes.len()].copy_from_slice(bytes);
                        return Ok(Reg::Scalar(Scalar::konst(u64::from_le_bytes(b))));
                    }
                }
                Ok(Reg::Scalar(load_scalar(size)))
            }
            Reg::IterMeta { off: moff } => {
                let o = moff + off;
                if write {
                    return Err(err(pc, Errno::EACCES, "only read is supported"));
                }
                match (o, size) {
                    (0, 8) => Ok(Reg::SeqFile { off: 0 }),
                    (8 | 16, 8) => Ok(Reg::Scalar(Scalar::UNKNOWN)),
                    _ => Err(err(
                        pc,
                        Errno::EACCES,
                        format!("access beyond struct bpf_iter_meta at off {o} size {size}"),
                    )),
                }
            }
            Reg::BpfMap { off: moff } => {
                let o = moff + off;
                if write {
                    return Err(err(pc, Errno::EACCES, "only read is supported"));
                }
                if o < 0 || o + sz > crate::elf::core::BPF_MAP_MODEL_SIZE as i64 {
                    return Err(err(
                        pc,
                        Errno::EACCES,
                        format!("access beyond struct bpf_map at off {o} size {size}"),
                    ));
                }
                Ok(Reg::Scalar(load_scalar(size)))
            }
            Reg::SeqFile { .. } => {
                if write {
                    return Err(err(pc, Errno::EACCES, "only read is supported"));
                }
                Ok(Reg::Scalar(load_scalar(size)))
            }
            Reg::Sock { null_id, off: soff } => {
                // check_ptr_to_btf_access: the NULL check first, then read-only, then the
                // struct's bounds (btf_struct_access).
                if null_id.is_some() {
                    return Err(err(
                        pc,
                        Errno::EACCES,
                        format!("R{regno} invalid mem access '{}'", base.type_name()),
                    ));
                }
                if write {
                    return Err(err(pc, Errno::EACCES, "only read is supported"));
                }
                let o = soff + off;
                if o < 0 {
                    return Err(err(
                        pc,
                        Errno::EACCES,
                        format!("R{regno} is ptr_sock invalid negative access: off={o}"),
                    ));
                }
                if o + sz > crate::sock::SOCK_SIZE as i64 {
                    return Err(err(
                        pc,
                        Errno::EACCES,
                        format!("access beyond struct sock at off {o} size {size}"),
                    ));
                }
                Ok(Reg::Scalar(load_scalar(size)))
            }
            Reg::Scalar(_) | Reg::MapPtr(_) | Reg::NotInit => Err(err(
                pc,
                Errno::EACCES,
                format!("R{regno} invalid mem access '{}'", base.type_name()),
            )),
        }
    }

    fn check_alu(&mut self, pc: usize, st: &mut State, ins: Insn) -> Result<(), VerifyError> {
        let is64 = ins.op & 7 == 0x07;
        let code = ins.op & 0xf0;
        let x = ins.op & 0x08 != 0;
        if code == 0xe0 || code == 0xf0 {
            return Err(err(
                pc,
                Errno::EINVAL,
                format!("unknown opcode {:02x}", ins.op),
            ));
        }
        if code == 0xd0 {
            let d = self.reg(st, pc, ins.dst)?;
            if d.is_pointer() {
                return Err(err(
                    pc,
                    Errno::EACCES,
                    format!("R{} pointer arithmetic prohibited", ins.dst),
                ));
            }
            let v = match (d, ins.imm) {
                (Reg::Scalar(s), w) if matches!(w, 16 | 32 | 64) => match s.value() {
                    Some(c) => Scalar::konst(swap(c, w, is64 || ins.op & 0x08 != 0)),
                    None => {
                        if w == 64 {
                            Scalar::UNKNOWN
                        } else {
                            Scalar::upto((1u64 << w) - 1)
                        }
                    }
                },
                _ => return Err(err(pc, Errno::EINVAL, "BPF_END uses reserved fields")),
            };
            return self.set(st, pc, ins.dst, Reg::Scalar(v));
        }
        if code == 0x80 {
            let d = self.reg(st, pc, ins.dst)?;
            let Reg::Scalar(s) = d else {
                return Err(err(
                    pc,
                    Errno::EACCES,
                    format!("R{} pointer arithmetic prohibited", ins.dst),
                ));
            };
            let v = if is64 {
                Scalar::alu64(0x10, Scalar::konst(0), s)
            } else {
                Scalar::alu32(0x10, Scalar::konst(0), s)
            };
            return self.set(st, pc, ins.dst, Reg::Scalar(v));
        }
        let src = if x {
            self.reg(st, pc, ins.src)?
        } else {
            Reg::Scalar(Scalar::konst(i64::from(ins.imm) as u64))
        };
        if code == 0xb0 {
            // mov
            let v = if is64 {
                if ins.off != 0 {
                    match src {
                        Reg::Scalar(s) => Reg::Scalar(match s.value() {
                            Some(c) => Scalar::konst(sext(c, ins.off)),
                            None => Scalar::UNKNOWN,
                        }),
                        _ => {
                            return Err(err(
                                pc,
                                Errno::EACCES,
                                format!("R{} sign-extension part of pointer", ins.src),
                            ))
                        }
                    }
                } else {
                    src
                }
            } else {
                match src {
                    Reg::Scalar(s) => Reg::Scalar(if x {
                        s.low32()
                    } else {
                        Scalar::konst(u64::from(ins.imm as u32))
                    }),
                    _ => Reg::Scalar(Scalar::upto(u64::from(u32::MAX))),
                }
            };
            return self.set(st, pc, ins.dst, v);
        }
        let dst = self.reg(st, pc, ins.dst)?;
        // Division by a register that is zero is defined (the result is 0); by the
        // constant 0 it is refused.
        if !x && matches!(code, 0x30 | 0x90) && ins.imm == 0 {
            return Err(err(pc, Errno::EINVAL, "div by zero"));
        }
        if !x && matches!(code, 0x60 | 0x70 | 0xc0) {
            let lim = if is64 { 64 } else { 32 };
            if ins.imm < 0 || ins.imm >= lim {
                return Err(err(pc, Errno::EINVAL, format!("invalid shift {}", ins.imm)));
            }
        }
        let result = match (&dst, &src) {
            (Reg::Scalar(a), Reg::Scalar(b)) => Reg::Scalar(if is64 {
                Scalar::alu64(code, *a, *b)
            } else {
                Scalar::alu32(code, *a, *b)
            }),
            (p, Reg::Scalar(b)) if p.is_pointer() => {
                if !is64 {
                    return Err(err(
                        pc,
                        Errno::EACCES,
                        format!("R{} 32-bit pointer arithmetic prohibited", ins.dst),
                    ));
                }
                self.ptr_arith(pc, ins.dst, p, code, *b)?
            }
            (Reg::Scalar(a), p) if p.is_pointer() && code == 0x00 && is64 => {
                self.ptr_arith(pc, ins.src, p, code, *a)?
            }
            (p, q) if p.is_pointer() && q.is_pointer() && code == 0x10 && is64 => {
                if std::mem::discriminant(p) != std::mem::discriminant(q) {
                    return Err(err(
                        pc,
                        Errno::EACCES,
                        format!(
                            "R{} pointer arithmetic on {} prohibited",
                            ins.dst,
                            p.type_name()
                        ),
                    ));
                }
                Reg::Scalar(Scalar::UNKNOWN)
            }
            (p, _) if p.is_pointer() => {
                return Err(err(
                    pc,
                    Errno::EACCES,
                    format!(
                        "R{} pointer arithmetic with {} operator prohibited",
                        ins.dst,
                        op_name(code)
                    ),
                ));
            }
            _ => {
                return Err(err(
                    pc,
                    Errno::EACCES,
                    format!(
                        "R{} pointer arithmetic on {} prohibited",
                        ins.src,
                        src.type_name()
                    ),
                ));
            }
        };
        self.set(st, pc, ins.dst, result)
    }

    /// `ptr += scalar` / `ptr -= scalar` (`adjust_ptr_min_max_vals`).
    fn ptr_arith(
        &mut self,
        pc: usize,
        preg: u8,
        p: &Reg,
        code: u8,
        s: Scalar,
    ) -> Result<Reg, VerifyError> {
        if p.null_id().is_some() {
            return Err(err(
                pc,
                Errno::EACCES,
                format!(
                    "R{preg} pointer arithmetic on {} prohibited, null-check it first",
                    p.type_name()
                ),
            ));
        }
        if code != 0x00 && code != 0x10 {
            return Err(err(
                pc,
                Errno::EACCES,
                format!(
                    "R{preg} pointer arithmetic with {} operator prohibited",
                    op_name(code)
                ),
            ));
        }
        let c = s.value().map(|v| {
            if code == 0x10 {
                (v as i64).wrapping_neg()
            } else {
                v as i64
            }
        });
        let add = |off: i64| -> Option<i64> { c.and_then(|c| off.checked_add(c)) };
        // check_reg_sane_offset, for the pointers whose offset may vary.
        if matches!(p, Reg::MapValue { .. } | Reg::Buf { .. }) {
            let what = match c {
                Some(k) if !(-BPF_MAX_VAR_OFF + 1..BPF_MAX_VAR_OFF).contains(&k) => {
                    Some(format!("{}", s.value().map_or(0, |v| v as i64)))
                }
                None if s.smin <= -BPF_MAX_VAR_OFF => {
                    Some("register with unbounded min value".to_string())
                }
                _ => None,
            };
            if let Some(what) = what {
                return Err(err(
                    pc,
                    Errno::EINVAL,
                    format!(
                        "math between {} pointer and {what} is not allowed",
                        p.type_name()
                    ),
                ));
            }
        }
        Ok(match p {
            Reg::Ctx { off } => match add(*off) {
                Some(o) => Reg::Ctx { off: o },
                None => {
                    return Err(err(
                        pc,
                        Errno::EACCES,
                        format!(
                            "R{preg} variable ctx access var_off=({:#x}; {:#x}) disallowed",
                            s.var_off.value, s.var_off.mask
                        ),
                    ))
                }
            },
            Reg::Stack { frame, off } => match add(*off) {
                Some(o) => Reg::Stack {
                    frame: *frame,
                    off: o,
                },
                None => {
                    return Err(err(
                        pc,
                        Errno::EACCES,
                        format!("R{preg} variable stack access prohibited"),
                    ))
                }
            },
            Reg::Sock { off, .. } => Reg::Sock {
                null_id: None,
                off: add(*off).ok_or_else(|| {
                    err(
                        pc,
                        Errno::EACCES,
                        format!("R{preg} pointer arithmetic on {} prohibited", p.type_name()),
                    )
                })?,
            },
            Reg::IterMeta { off } | Reg::SeqFile { off } | Reg::BpfMap { off } => {
                let o = add(*off).ok_or_else(|| {
                    err(
                        pc,
                        Errno::EACCES,
                        format!("R{preg} pointer arithmetic on {} prohibited", p.type_name()),
                    )
                })?;
                match p {
                    Reg::IterMeta { .. } => Reg::IterMeta { off: o },
                    Reg::SeqFile { .. } => Reg::SeqFile { off: o },
                    _ => Reg::BpfMap { off: o },
                }
            }
            Reg::Buf {
                rdonly, off, var, ..
            } => match (add(*off), var) {
                (Some(o), v) => Reg::Buf {
                    rdonly: *rdonly,
                    null_id: None,
                    off: o,
                    var: *v,
                },
                (None, _) => Reg::Buf {
                    rdonly: *rdonly,
                    null_id: None,
                    off: *off,
                    var: Some(s),
                },
            },
            Reg::MapValue { map, off, var, .. } => match add(*off) {
                Some(o) => Reg::MapValue {
                    map: map.clone(),
                    off: o,
                    var: *var,
                    null_id: None,
                },
                None => {
                    let v = match var {
                        Some(old) => Scalar::alu64(0x00, *old, s),
                        None => s,
                    };
                    if code == 0x10 {
                        return Err(err(
                            pc,
                            Errno::EACCES,
                            format!("R{preg} tried to subtract pointer from scalar"),
                        ));
                    }
                    Reg::MapValue {
                        map: map.clone(),
                        off: *off,
                        var: Some(v),
                        null_id: None,
                    }
                }
            },
            Reg::MapPtr(_) => {
                return Err(err(
                    pc,
                    Errno::EACCES,
                    format!("R{preg} pointer arithmetic on map_ptr prohibited"),
                ))
            }
            Reg::Scalar(_) | Reg::NotInit => Reg::Scalar(Scalar::UNKNOWN),
        })
    }

    fn check_jmp(&mut self, pc: usize, st: &mut State, ins: Insn) -> Result<Flow, VerifyError> {
        let class32 = ins.op & 7 == 0x06;
        let code = ins.op & 0xf0;
        match code {
            0x00 => {
                let off = if class32 {
                    i64::from(ins.imm)
                } else {
                    i64::from(ins.off)
                };
                return Ok(Flow::Next((pc as i64 + 1 + off) as usize));
            }
            0x80 => return self.check_call(pc, st, ins),
            0x90 => return self.check_exit(pc, st),
            _ => {}
        }
        if code > 0xd0 {
            return Err(err(
                pc,
                Errno::EINVAL,
                format!("unknown opcode {:02x}", ins.op),
            ));
        }
        let x = ins.op & 0x08 != 0;
        let a = self.reg(st, pc, ins.dst)?;
        let b = if x {
            self.reg(st, pc, ins.src)?
        } else {
            Reg::Scalar(Scalar::konst(i64::from(ins.imm) as u64))
        };
        let target = (pc as i64 + 1 + i64::from(ins.off)) as usize;
        // NULL checks: ptr_or_null ==/!= 0
        if let (Some(id), Reg::Scalar(z)) = (a.null_id(), &b) {
            if z.value() == Some(0) && (code == 0x10 || code == 0x50) {
                let mut is_null = st.clone();
                mark_null(&mut is_null, id, true);
                mark_null(st, id, false);
                // JEQ: the jump is taken when NULL; JNE: when not NULL.
                if code == 0x50 {
                    std::mem::swap(st, &mut is_null);
                }
                return Ok(Flow::Fork(pc + 1, is_null, target));
            }
        }
        if a.is_pointer() || b.is_pointer() {
            if a.is_pointer()
                && !b.is_pointer()
                && !matches!(b, Reg::Scalar(ref s) if s.value() == Some(0))
            {
                return Err(err(
                    pc,
                    Errno::EACCES,
                    format!("R{} pointer comparison prohibited", ins.dst),
                ));
            }
            let other = st.clone();
            return Ok(Flow::Fork(pc + 1, other, target));
        }
        let (Reg::Scalar(sa), Reg::Scalar(sb)) = (a, b) else {
            return Err(err(
                pc,
                Errno::EACCES,
                format!("R{} pointer comparison prohibited", ins.dst),
            ));
        };
        let (sa, sb) = if class32 {
            (sa.low32(), sb.low32())
        } else {
            (sa, sb)
        };
        match decide(code, &sa, &sb, class32) {
            Some(true) => Ok(Flow::Next(target)),
            Some(false) => Ok(Flow::Next(pc + 1)),
            None => {
                let mut taken = st.clone();
                if !class32 {
                    refine(&mut taken, ins, code, true);
                    refine(st, ins, code, false);
                }
                Ok(Flow::Fork(pc + 1, taken, target))
            }
        }
    }

    fn check_exit(&mut self, pc: usize, st: &mut State) -> Result<Flow, VerifyError> {
        let r0 = st.cur().regs[0].clone();
        if st.frames.len() > 1 {
            // Linux checks R0 only at the main program's exit: a callee may leave it unset,
            // and the caller then sees it uninitialised.
            let depth = st.frames.len() - 1;
            if matches!(r0, Reg::Stack { frame, .. } if usize::from(frame) >= depth) {
                return Err(err(
                    pc,
                    Errno::EINVAL,
                    "cannot return stack pointer to the caller",
                ));
            }
            let callee = st.frames.pop().map(|f| f.ret_pc).unwrap_or(pc + 1);
            let f = st.cur_mut();
            f.regs[0] = r0;
            for r in 1..=5 {
                f.regs[r] = Reg::NotInit;
            }
            return Ok(Flow::Next(callee));
        }
        match r0 {
            Reg::NotInit => Err(err(pc, Errno::EACCES, "R0 !read_ok")),
            Reg::Scalar(s) => {
                if s.smin >= 0 && s.smax <= 1 {
                    Ok(Flow::Done)
                } else if s.smin == i64::MIN && s.smax == i64::MAX {
                    Err(err(pc, Errno::EINVAL, "At program exit the register R0 has unknown scalar value should have been in [0, 1]"))
                } else {
                    Err(err(pc, Errno::EINVAL, format!("At program exit the register R0 has smin={} smax={} should have been in [0, 1]", s.smin, s.smax)))
                }
            }
            other => Err(err(
                pc,
                Errno::EACCES,
                format!(
                    "At program exit the register R0 is not a known value ({})",
                    other.type_name()
                ),
            )),
        }
    }

    fn check_call(&mut self, pc: usize, st: &mut State, ins: Insn) -> Result<Flow, VerifyError> {
        if ins.src == 1 {
            if st.frames.len() >= 8 {
                return Err(err(
                    pc,
                    Errno::E2BIG,
                    format!(
                        "the call stack of {} frames is too deep",
                        st.frames.len() + 1
                    ),
                ));
            }
            let target = (pc as i64 + 1 + i64::from(ins.imm)) as usize;
            let frame_no = st.frames.len() as u8;
            let mut f = Frame::new(frame_no, pc + 1);
            for r in 1..=5 {
                f.regs[r] = st.cur().regs[r].clone();
            }
            st.frames.push(f);
            return Ok(Flow::Next(target));
        }
        if ins.src != 0 {
            return Err(err(
                pc,
                Errno::EINVAL,
                "calling kernel functions is not supported by this emulator",
            ));
        }
        let id = ins.imm as u32;
        let Some(name) = helper_name(id) else {
            return Err(err(pc, Errno::EINVAL, format!("invalid func unknown#{id}")));
        };
        if id == 148 || id == 119 {
            return Err(err(
                pc,
                Errno::EINVAL,
                "helper call might sleep in a non-sleepable prog",
            ));
        }
        let Some(proto) = proto(id) else {
            return Err(err(
                pc,
                Errno::EINVAL,
                format!("program of this type cannot use helper {name}#{id}"),
            ));
        };
        let mut last_mem: Option<(u8, Reg)> = None;
        let mut map_arg: Option<MapRef> = None;
        let mut const_key: Option<u64> = None;
        for (i, arg) in proto.args.iter().enumerate() {
            let r = (i + 1) as u8;
            let v = st.cur().regs[r as usize].clone();
            if matches!(v, Reg::NotInit) && !matches!(arg, Arg::Anything) {
                return Err(err(pc, Errno::EACCES, format!("R{r} !read_ok")));
            }
            match arg {
                Arg::Anything => {
                    if matches!(v, Reg::NotInit) {
                        return Err(err(pc, Errno::EACCES, format!("R{r} !read_ok")));
                    }
                }
                Arg::SeqFile => {
                    if !matches!(v, Reg::SeqFile { off: 0 }) {
                        return Err(err(
                            pc,
                            Errno::EACCES,
                            format!("R{r} type={} expected=trusted_ptr_", v.type_name()),
                        ));
                    }
                }
                Arg::ConstMap => match v {
                    Reg::MapPtr(m) => map_arg = Some(m),
                    other => {
                        return Err(err(
                            pc,
                            Errno::EACCES,
                            format!("R{r} type={} expected=map_ptr", other.type_name()),
                        ))
                    }
                },
                Arg::MapKey | Arg::MapValue => {
                    let m = map_arg.clone().ok_or_else(|| {
                        err(pc, Errno::EACCES, "invalid map_ptr to access map->key")
                    })?;
                    if !mem_arg_ok(&v, false) {
                        return Err(err(pc, Errno::EACCES, format!("R{r} type={} expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_", v.type_name())));
                    }
                    let size = if matches!(arg, Arg::MapKey) {
                        m.ks
                    } else {
                        m.vs
                    };
                    self.check_helper_mem(pc, st, r, &v, u64::from(size), false)?;
                    if matches!(arg, Arg::MapKey) {
                        const_key = const_map_key(st, &v, m.ks);
                    }
                }
                Arg::MapValueOrNull => {
                    // ARG_PTR_TO_MAP_VALUE_OR_NULL: a NULL constant skips the type check;
                    // otherwise map_value_size bytes of a map-key/value-compatible pointer.
                    if matches!(&v, Reg::Scalar(s) if s.value() == Some(0)) {
                        continue;
                    }
                    let m = map_arg.clone().ok_or_else(|| {
                        err(pc, Errno::EACCES, "invalid map_ptr to access map->value")
                    })?;
                    if !mem_arg_ok(&v, false) {
                        return Err(err(pc, Errno::EACCES, format!("R{r} type={} expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_", v.type_name())));
                    }
                    self.check_helper_mem(pc, st, r, &v, u64::from(m.vs), false)?;
                }
                Arg::SockCommon => match v {
                    // ARG_PTR_TO_BTF_ID with arg_btf_id sock_common (the tracing protos of
                    // bpf_sk_storage_get/delete): a non-NULL BTF pointer (btf_ptr_types),
                    // whose type at its offset must be struct sock_common; struct sock
                    // starts with one.
                    Reg::Sock { null_id: None, off } => {
                        if off != 0 {
                            return Err(err(
                                pc,
                                Errno::EACCES,
                                format!("R{r} is of type sock but sock_common is expected"),
                            ));
                        }
                    }
                    other => {
                        return Err(err(
                            pc,
                            Errno::EACCES,
                            format!(
                                "R{r} type={} expected=ptr_, trusted_ptr_, rcu_ptr_",
                                other.type_name()
                            ),
                        ))
                    }
                },
                Arg::Mem { write, null_ok } => {
                    if *null_ok && matches!(&v, Reg::Scalar(s) if s.value() == Some(0)) {
                        last_mem = None;
                        continue;
                    }
                    if !mem_arg_ok(&v, *write) {
                        return Err(err(pc, Errno::EACCES, format!("R{r} type={} expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_", v.type_name())));
                    }
                    last_mem = Some((r, v));
                }
                Arg::Size { zero_ok } => {
                    let Reg::Scalar(s) = v else {
                        return Err(err(
                            pc,
                            Errno::EACCES,
                            format!("R{r} type={} expected=scalar", v.type_name()),
                        ));
                    };
                    if s.smin < 0 {
                        return Err(err(
                            pc,
                            Errno::EACCES,
                            format!(
                                "R{r} min value is negative, either use unsigned or 'var &= const'"
                            ),
                        ));
                    }
                    if s.umin == 0 && !zero_ok {
                        return Err(err(
                            pc,
                            Errno::EACCES,
                            format!("R{r} invalid zero-sized read: u64=[{},{}]", s.umin, s.umax),
                        ));
                    }
                    if s.umax >= 1 << 29 {
                        return Err(err(pc, Errno::EACCES, format!("R{r} unbounded memory access, use 'var &= const' or 'if (var < const)'")));
                    }
                    if let Some((mr, mv)) = last_mem.take() {
                        let write = matches!(proto.args[i - 1], Arg::Mem { write: true, .. });
                        if s.umax > 0 {
                            self.check_helper_mem(pc, st, mr, &mv, s.umax, write)?;
                        }
                    }
                }
            }
        }
        if let Some(m) = &map_arg {
            check_map_func_compatibility(pc, m.map_type, id, name)?;
        }
        let f = st.cur_mut();
        for r in 1..=5 {
            f.regs[r] = Reg::NotInit;
        }
        f.regs[0] = match proto.ret {
            Ret::Integer => Reg::Scalar(Scalar::UNKNOWN),
            Ret::MapValueOrNull => {
                let m = map_arg.unwrap_or(MapRef {
                    name: String::new(),
                    ks: 0,
                    vs: 0,
                    map_type: 0,
                    max_entries: 0,
                    readonly: false,
                    frozen: None,
                });
                // Linux 6.14+ (can_elide_value_nullness): an array lookup whose key is a
                // constant below max_entries cannot fail, so R0 is a plain map_value.
                let never_null =
                    matches!(m.map_type, BPF_MAP_TYPE_ARRAY | BPF_MAP_TYPE_PERCPU_ARRAY)
                        && const_key.is_some_and(|k| k < u64::from(m.max_entries));
                let null_id = (!never_null).then(|| {
                    let id = self.next_id;
                    self.next_id += 1;
                    id
                });
                Reg::MapValue {
                    map: m,
                    off: 0,
                    var: None,
                    null_id,
                }
            }
        };
        Ok(Flow::Next(pc + 1))
    }

    /// A helper reading (or writing) `size` bytes through register `r`.
    fn check_helper_mem(
        &mut self,
        pc: usize,
        st: &mut State,
        r: u8,
        v: &Reg,
        size: u64,
        write: bool,
    ) -> Result<(), VerifyError> {
        let size32 = u32::try_from(size).unwrap_or(u32::MAX);
        match v {
            Reg::Stack { frame, off } => {
                self.note_stack(*frame, *off);
                let Some(f) = st.frames.get_mut(usize::from(*frame)) else {
                    return Err(err(pc, Errno::EACCES, format!("R{r} invalid stack frame")));
                };
                let end = off + size as i64;
                if *off < -MAX_BPF_STACK || end > 0 {
                    let what = if write { "write to" } else { "read from" };
                    return Err(err(
                        pc,
                        Errno::EINVAL,
                        format!("invalid {what} stack R{r} off={off} size={size}"),
                    ));
                }
                // Uninitialised bytes may be read: iterators are loaded with CAP_PERFMON,
                // which sets Linux's allow_uninit_stack.
                if write {
                    stack_write(f, *off, size32, Reg::Scalar(Scalar::UNKNOWN));
                }
                Ok(())
            }
            Reg::MapValue { .. } | Reg::Buf { .. } => {
                let access = if write {
                    Access::Write(Reg::Scalar(Scalar::UNKNOWN))
                } else {
                    Access::Read
                };
                // One access of the whole size at the pointer: bounds-checks map values and
                // records max_rdonly/rdwr_access for buffers, as Linux does for helpers.
                self.check_mem(pc, st, r, &v.clone(), 0, size32, access)?;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone)]
enum Access {
    Read,
    Write(Reg),
}

fn op_name(code: u8) -> &'static str {
    match code {
        0x20 => "*=",
        0x30 => "/=",
        0x40 => "|=",
        0x50 => "&=",
        0x60 => "<<=",
        0x70 => ">>=",
        0x90 => "%=",
        0xa0 => "^=",
        0xc0 => "s>>=",
        _ => "?",
    }
}

fn size_of(op: u8) -> u32 {
    match op & 0x18 {
        0x00 => 4,
        0x08 => 2,
        0x10 => 1,
        _ => 8,
    }
}

fn load_scalar(size: u32) -> Scalar {
    if size >= 8 {
        Scalar::UNKNOWN
    } else {
        Scalar::upto((1u64 << (8 * size)) - 1)
    }
}

fn sext(v: u64, bits: i16) -> u64 {
    match bits {
        8 => i64::from(v as i8) as u64,
        16 => i64::from(v as i16) as u64,
        32 => i64::from(v as i32) as u64,
        _ => v,
    }
}

fn swap(v: u64, width: i32, to_be: bool) -> u64 {
    match (width, to_be) {
        (16, true) => u64::from((v as u16).swap_bytes()),
        (32, true) => u64::from((v as u32).swap_bytes()),
        (64, true) => v.swap_bytes(),
        (16, false) => u64::from(v as u16),
        (32, false) => u64::from(v as u32),
        _ => v,
    }
}

fn mem_arg_ok(v: &Reg, write: bool) -> bool {
    match v {
        Reg::Stack { .. } => true,
        Reg::MapValue {
            null_id: None, map, ..
        } => !(write && map.readonly),
        Reg::Buf {
            null_id: None,
            rdonly,
            ..
        } => !(write && *rdonly),
        Reg::BpfMap { .. } | Reg::IterMeta { .. } | Reg::SeqFile { .. } => !write,
        _ => false,
    }
}

/// The value of a comparison if the bounds decide it.
fn decide(code: u8, a: &Scalar, b: &Scalar, _is32: bool) -> Option<bool> {
    if let (Some(x), Some(y)) = (a.value(), b.value()) {
        return Some(match code {
            0x10 => x == y,
            0x50 => x != y,
            0x20 => x > y,
            0x30 => x >= y,
            0xa0 => x < y,
            0xb0 => x <= y,
            0x60 => (x as i64) > (y as i64),
            0x70 => (x as i64) >= (y as i64),
            0xc0 => (x as i64) < (y as i64),
            0xd0 => (x as i64) <= (y as i64),
            0x40 => x & y != 0,
            _ => return None,
        });
    }
    match code {
        0x20 if a.umin > b.umax => Some(true),
        0x20 if a.umax <= b.umin => Some(false),
        0x30 if a.umin >= b.umax => Some(true),
        0x30 if a.umax < b.umin => Some(false),
        0xa0 if a.umax < b.umin => Some(true),
        0xa0 if a.umin >= b.umax => Some(false),
        0xb0 if a.umax <= b.umin => Some(true),
        0xb0 if a.umin > b.umax => Some(false),
        0x60 if a.smin > b.smax => Some(true),
        0x60 if a.smax <= b.smin => Some(false),
        0x70 if a.smin >= b.smax => Some(true),
        0x70 if a.smax < b.smin => Some(false),
        0xc0 if a.smax < b.smin => Some(true),
        0xc0 if a.smin >= b.smax => Some(false),
        0xd0 if a.smax <= b.smin => Some(true),
        0xd0 if a.smin > b.smax => Some(false),
        0x10 | 0x50 if a.umax < b.umin || a.umin > b.umax => Some(code == 0x50),
        _ => None,
    }
}

/// Narrows the compared register's bounds on one side of a branch against a constant.
fn refine(st: &mut State, ins: Insn, code: u8, taken: bool) {
    let x = ins.op & 0x08 != 0;
    let c = if x {
        match &st.cur().regs[ins.src as usize] {
            Reg::Scalar(s) => match s.value() {
                Some(v) => v,
                None => return,
            },
            _ => return,
        }
    } else {
        i64::from(ins.imm) as u64
    };
    let Reg::Scalar(mut s) = st.cur().regs[ins.dst as usize].clone() else {
        return;
    };
    // Normalise to the condition that holds on this side.
    let (code, holds) = (code, taken);
    let cs = c as i64;
    match (code, holds) {
        (0x10, true) | (0x50, false) => s = Scalar::konst(c),
        (0x20, true) | (0xb0, false) => s.umin = s.umin.max(c.saturating_add(1)),
        (0x20, false) | (0xb0, true) => s.umax = s.umax.min(c),
        (0x30, true) | (0xa0, false) => s.umin = s.umin.max(c),
        (0x30, false) | (0xa0, true) => s.umax = s.umax.min(c.saturating_sub(1)),
        (0x60, true) | (0xd0, false) => s.smin = s.smin.max(cs.saturating_add(1)),
        (0x60, false) | (0xd0, true) => s.smax = s.smax.min(cs),
        (0x70, true) | (0xc0, false) => s.smin = s.smin.max(cs),
        (0x70, false) | (0xc0, true) => s.smax = s.smax.min(cs.saturating_sub(1)),
        _ => return,
    }
    s.sync();
    st.cur_mut().regs[ins.dst as usize] = Reg::Scalar(s);
}

/// Resolves a NULL check: every register and spill with `id` becomes 0 (`null`) or the
/// non-NULL pointer.
fn mark_null(st: &mut State, id: u32, null: bool) {
    let fix = |r: &mut Reg| {
        if r.null_id() == Some(id) {
            if null {
                *r = Reg::Scalar(Scalar::konst(0));
            } else {
                match r {
                    Reg::Buf { null_id, .. }
                    | Reg::MapValue { null_id, .. }
                    | Reg::Sock { null_id, .. } => *null_id = None,
                    _ => {}
                }
            }
        }
    };
    for f in &mut st.frames {
        for r in &mut f.regs {
            fix(r);
        }
        for s in &mut f.stack {
            if let Slot::Spill(r) = s {
                fix(r);
            }
        }
    }
}

/// `get_constant_map_key`: the key at stack pointer `key` when Linux knows it, that is when
/// its `ks` bytes are all zero or a spilled constant scalar fills exactly them.
fn const_map_key(st: &State, key: &Reg, ks: u32) -> Option<u64> {
    let Reg::Stack { frame, off } = key else {
        return None;
    };
    let f = st.frames.get(usize::from(*frame))?;
    if (*off..*off + i64::from(ks)).all(|o| stack_byte(f, o) == Byte::Zero) {
        return Some(0);
    }
    match f.stack.get(slot_index(*off)) {
        Some(Slot::Spill(Reg::Scalar(s))) if ks == 8 && off.rem_euclid(8) == 0 => s.value(),
        _ => None,
    }
}

fn slot_index(off: i64) -> usize {
    ((-off - 1) / 8) as usize
}

fn stack_byte(f: &Frame, off: i64) -> Byte {
    match f.stack.get(slot_index(off)) {
        None => Byte::Invalid,
        Some(Slot::Spill(_)) => Byte::Misc,
        Some(Slot::Bytes(b)) => b[(off.rem_euclid(8)) as usize],
    }
}

fn stack_write(f: &mut Frame, off: i64, size: u32, v: Reg) {
    let need = slot_index(off) + 1;
    if f.stack.len() < need {
        f.stack.resize(need, Slot::Bytes([Byte::Invalid; 8]));
    }
    if size == 8 && off.rem_euclid(8) == 0 && (v.is_pointer() || matches!(v, Reg::Scalar(_))) {
        f.stack[slot_index(off)] = Slot::Spill(v);
        return;
    }
    let b = match &v {
        Reg::Scalar(s) if s.value() == Some(0) => Byte::Zero,
        _ => Byte::Misc,
    };
    for o in off..off + i64::from(size) {
        let i = slot_index(o);
        if f.stack.len() <= i {
            f.stack.resize(i + 1, Slot::Bytes([Byte::Invalid; 8]));
        }
        if let Slot::Spill(_) = f.stack[i] {
            f.stack[i] = Slot::Bytes([Byte::Misc; 8]);
        }
        if let Slot::Bytes(bytes) = &mut f.stack[i] {
            bytes[o.rem_euclid(8) as usize] = b;
        }
    }
}

/// A load from the stack: a spilled register fills back whole; a partial fill of a spilled
/// pointer is refused (`None`). Uninitialised bytes read as unknown (allow_uninit_stack).
fn stack_read(f: &Frame, off: i64, size: u32) -> Option<Reg> {
    if let Some(Slot::Spill(r)) = f.stack.get(slot_index(off)) {
        if size == 8 && off.rem_euclid(8) == 0 {
            return Some(r.clone());
        }
        if r.is_pointer() {
            return None;
        }
    }
    let mut all_zero = true;
    for o in off..off + i64::from(size) {
        match stack_byte(f, o) {
            Byte::Invalid | Byte::Misc => all_zero = false,
            Byte::Zero => {}
        }
    }
    Some(Reg::Scalar(if all_zero {
        Scalar::konst(0)
    } else {
        load_scalar(size)
    }))
}

/// The registers an instruction reads or writes, as a bit set over r0–r10 (what Linux marks
/// "scratched" and prints after the instruction).
fn insn_regs(ins: &Insn) -> u16 {
    let bit = |r: u8| if r <= 10 { 1u16 << r } else { 0 };
    let class = ins.op & 0x07;
    let x = ins.op & 0x08 != 0;
    match class {
        // ALU/ALU64: dst always; src when the operand is a register (not for neg/end).
        0x04 | 0x07 => {
            bit(ins.dst)
                | if x && ins.op & 0xf0 != 0x80 {
                    bit(ins.src)
                } else {
                    0
                }
        }
        // LDX: dst and the base.
        0x01 => bit(ins.dst) | bit(ins.src),
        // ST: the base; STX: the base and the source.
        0x02 => bit(ins.dst),
        0x03 => bit(ins.dst) | bit(ins.src),
        // LD (lddw): dst.
        0x00 => bit(ins.dst),
        // Jumps: a call writes r0 (printed on the next line); exit and ja show nothing.
        0x05 | 0x06 => match ins.op & 0xf0 {
            0x80 => bit(0),
            0x00 | 0x90 => 0,
            _ => bit(ins.dst) | if x { bit(ins.src) } else { 0 },
        },
        _ => 0,
    }
}

/// What Linux prints after an instruction: the registers it read or wrote and those whose
/// state changed (a call's r0), `R1=... R2=...`, then the stack slots it wrote.
fn scratched_regs(ins: &Insn, before: &State, after: &State) -> String {
    if before.frames.len() != after.frames.len() {
        return String::new();
    }
    let used = insn_regs(ins);
    let (b, a) = (before.cur(), after.cur());
    let mut out = Vec::new();
    for i in 0..11 {
        let touched = used & (1 << i) != 0 || a.regs[i] != b.regs[i];
        if touched && !matches!(a.regs[i], Reg::NotInit) {
            out.push(format!("R{i}={}", a.regs[i]));
        }
    }
    for (i, s) in a.stack.iter().enumerate() {
        if b.stack.get(i) != Some(s) {
            if let Slot::Spill(r) = s {
                out.push(format!("fp-{}={r}", (i + 1) * 8));
            }
        }
    }
    out.join(" ")
}

/// `check_map_func_compatibility`, for the map types and helpers modelled here: an
/// sk_storage map only goes to `bpf_sk_storage_get`/`_delete` (and `bpf_kptr_xchg`), and
/// those take nothing else.
fn check_map_func_compatibility(
    pc: usize,
    map_type: u32,
    id: u32,
    name: &str,
) -> Result<(), VerifyError> {
    const BPF_MAP_TYPE_SK_STORAGE: u32 = 24;
    let sk_helper = matches!(id, 107 | 108);
    let ok = if map_type == BPF_MAP_TYPE_SK_STORAGE {
        sk_helper || id == 194
    } else {
        !sk_helper
    };
    if ok {
        Ok(())
    } else {
        Err(err(
            pc,
            Errno::EINVAL,
            format!("cannot pass map_type {map_type} into func {name}#{id}"),
        ))
    }
}

/// A helper argument kind (a subset of `enum bpf_arg_type`).
#[derive(Debug, Clone, Copy)]
enum Arg {
    Anything,
    SeqFile,
    ConstMap,
    MapKey,
    MapValue,
    /// `ARG_PTR_TO_MAP_VALUE_OR_NULL`.
    MapValueOrNull,
    /// `ARG_PTR_TO_BTF_ID` of `struct sock_common` (a `struct sock` pointer at offset 0).
    SockCommon,
    Mem {
        write: bool,
        null_ok: bool,
    },
    Size {
        zero_ok: bool,
    },
}

#[derive(Debug, Clone, Copy)]
enum Ret {
    Integer,
    MapValueOrNull,
}

struct Proto {
    args: &'static [Arg],
    ret: Ret,
}

/// The helpers an `iter/bpf_map_elem` program may call, with the argument kinds checked.
fn proto(id: u32) -> Option<Proto> {
    use Arg::*;
    const RO: Arg = Mem {
        write: false,
        null_ok: false,
    };
    const RO_NULL: Arg = Mem {
        write: false,
        null_ok: true,
    };
    const WR: Arg = Mem {
        write: true,
        null_ok: false,
    };
    const SZ: Arg = Size { zero_ok: false };
    const SZ0: Arg = Size { zero_ok: true };
    let (args, ret): (&'static [Arg], Ret) = match id {
        1 => (&[ConstMap, MapKey], Ret::MapValueOrNull),
        2 => (&[ConstMap, MapKey, MapValue, Anything], Ret::Integer),
        3 => (&[ConstMap, MapKey], Ret::Integer),
        5 | 7 | 8 | 14 | 35 | 125 | 158 | 42 | 118 => (&[], Ret::Integer),
        6 => (&[RO, SZ, Anything, Anything, Anything], Ret::Integer),
        16 => (&[WR, SZ], Ret::Integer),
        // The tracing protos (bpf_sk_storage_tracing_allowed admits BPF_TRACE_ITER).
        107 => (
            &[ConstMap, SockCommon, MapValueOrNull, Anything],
            Ret::MapValueOrNull,
        ),
        108 => (&[ConstMap, SockCommon], Ret::Integer),
        109 => (&[Anything], Ret::Integer),
        112..=115 => (&[WR, SZ0, Anything], Ret::Integer),
        126 => (&[SeqFile, RO, SZ, RO_NULL, SZ0], Ret::Integer),
        127 => (&[SeqFile, RO, SZ0], Ret::Integer),
        150 => (&[SeqFile, Anything, Anything, Anything], Ret::Integer),
        165 => (&[WR, SZ, RO, RO_NULL, SZ0], Ret::Integer),
        _ => return None,
    };
    Some(Proto { args, ret })
}
