//! The kernel's BPF LRU lists (`kernel/bpf/bpf_lru_list.c` behaviour, Linux 6.18), simulated
//! node for node so that an LRU hash keeps exactly the keys the kernel keeps.
//!
//! Nodes are the map's element slots `0..nslots`. Every list is a circular doubly linked list
//! with a sentinel node, like the kernel's `list_head`: "front" is the sentinel's `next`
//! (where `list_add` inserts), the tail is its `prev`. The rules implemented are those of
//! `spec/lru-eviction.md`: the common LRU (global active/inactive/free lists, per-CPU local
//! free and pending lists, `target_free`, flush, rotation with the inactive cursor, shrink with
//! its forced single eviction, stealing) and `BPF_F_NO_COMMON_LRU` (one complete list per CPU,
//! rotation on every pop, shrink by 4). Written from that description, not from kernel code.
//!
//! This module knows nothing about keys: evicting a node calls back into the hash table
//! (the kernel's `del_from_htab`), which unlinks the element and says whether it was linked.
//! Out of scope: locking and the lockless free-list variants (they do not change
//! single-threaded outcomes).

/// `LOCAL_FREE_TARGET`: the upper bound of `target_free`.
const LOCAL_FREE_TARGET: u32 = 128;
/// `LOCAL_NR_SCANS`: scan budget of the common LRU.
const LOCAL_NR_SCANS: u32 = 128;
/// `PERCPU_FREE_TARGET`: nodes a per-CPU LRU shrinks at once.
const PERCPU_FREE_TARGET: u32 = 4;
/// `PERCPU_NR_SCANS`: scan budget of a per-CPU LRU.
const PERCPU_NR_SCANS: u32 = 4;

/// Which list a node is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NodeType {
    Active,
    Inactive,
    Free,
    LocalFree,
    LocalPending,
}

/// One LRU list (`struct bpf_lru_list`): three sentinels, the counts and the rotation cursor.
#[derive(Debug, Clone, Copy)]
struct LruList {
    active: u32,
    inactive: u32,
    free: u32,
    n_active: u32,
    n_inactive: u32,
    /// `next_inactive_rotation`: a node on the inactive list or its sentinel.
    rotation: u32,
}

/// A CPU's local list of the common LRU (`struct bpf_lru_locallist`).
#[derive(Debug, Clone, Copy)]
struct LocalList {
    free: u32,
    pending: u32,
    next_steal: u32,
}

/// The LRU state of one map.
#[derive(Debug)]
pub(crate) struct Lru {
    prev: Vec<u32>,
    next: Vec<u32>,
    ntype: Vec<NodeType>,
    refb: Vec<bool>,
    cpu: Vec<u32>,
    /// One list (common LRU) or one per CPU (`BPF_F_NO_COMMON_LRU`).
    lists: Vec<LruList>,
    /// Per-CPU local lists (common LRU only).
    locals: Vec<LocalList>,
    common: bool,
    ncpus: u32,
    nr_scans: u32,
    target_free: u32,
}

/// The hash table's side of an eviction: unlink the element of this slot, `true` if it was
/// in the table.
pub(crate) type Evict<'a> = dyn FnMut(u32) -> bool + 'a;

impl Lru {
    /// Populates `nslots` nodes for `ncpus` possible CPUs (`ncpus >= 1`; with `percpu_lru`,
    /// `nslots` is a multiple of `ncpus`).
    pub(crate) fn new(nslots: u32, ncpus: u32, percpu_lru: bool) -> Lru {
        let nlists = if percpu_lru { ncpus } else { 1 };
        let nlocals = if percpu_lru { 0 } else { ncpus };
        let nsentinels = nlists * 3 + nlocals * 2;
        let total = (nslots + nsentinels) as usize;
        let mut lru = Lru {
            prev: (0..total as u32).collect(),
            next: (0..total as u32).collect(),
            ntype: vec![NodeType::Free; total],
            refb: vec![false; total],
            cpu: vec![0; total],
            lists: Vec::with_capacity(nlists as usize),
            locals: Vec::with_capacity(nlocals as usize),
            common: !percpu_lru,
            ncpus,
            nr_scans: if percpu_lru {
                PERCPU_NR_SCANS
            } else {
                LOCAL_NR_SCANS
            },
            target_free: ((nslots / ncpus) / 2).clamp(1, LOCAL_FREE_TARGET),
        };
        let mut s = nslots;
        for _ in 0..nlists {
            lru.lists.push(LruList {
                active: s,
                inactive: s + 1,
                free: s + 2,
                n_active: 0,
                n_inactive: 0,
                rotation: s + 1,
            });
            s += 3;
        }
        for c in 0..nlocals {
            lru.locals.push(LocalList {
                free: s,
                pending: s + 1,
                next_steal: c,
            });
            s += 2;
        }
        if percpu_lru {
            let per = nslots / ncpus;
            for c in 0..ncpus {
                let head = lru.lists[c as usize].free;
                for node in c * per..(c + 1) * per {
                    lru.cpu[node as usize] = c;
                    lru.add_front(node, head);
                }
            }
        } else {
            let head = lru.lists[0].free;
            for node in 0..nslots {
                lru.add_front(node, head);
            }
        }
        lru
    }

    // ---- list primitives (kernel list_head semantics) ----

    fn del(&mut self, n: u32) {
        let (p, x) = (self.prev[n as usize], self.next[n as usize]);
        self.next[p as usize] = x;
        self.prev[x as usize] = p;
        self.prev[n as usize] = n;
        self.next[n as usize] = n;
    }

    fn add_front(&mut self, n: u32, head: u32) {
        let first = self.next[head as usize];
        self.next[n as usize] = first;
        self.prev[n as usize] = head;
        self.prev[first as usize] = n;
        self.next[head as usize] = n;
    }

    fn move_front(&mut self, n: u32, head: u32) {
        self.del(n);
        self.add_front(n, head);
    }

    fn is_empty(&self, head: u32) -> bool {
        self.next[head as usize] == head
    }

    fn list_of(&self, node: u32) -> usize {
        if self.common {
            0
        } else {
            self.cpu[node as usize] as usize
        }
    }

    fn head(&self, li: usize, t: NodeType) -> u32 {
        let l = &self.lists[li];
        match t {
            NodeType::Active => l.active,
            NodeType::Inactive => l.inactive,
            _ => l.free,
        }
    }

    fn count_inc(&mut self, li: usize, t: NodeType) {
        match t {
            NodeType::Active => self.lists[li].n_active += 1,
            NodeType::Inactive => self.lists[li].n_inactive += 1,
            _ => {}
        }
    }

    fn count_dec(&mut self, li: usize, t: NodeType) {
        match t {
            NodeType::Active => self.lists[li].n_active -= 1,
            NodeType::Inactive => self.lists[li].n_inactive -= 1,
            _ => {}
        }
    }

    /// Cursor fix-up: a node leaving its place moves the rotation cursor to its front-side
    /// neighbour first.
    fn fix_cursor(&mut self, li: usize, node: u32) {
        if self.lists[li].rotation == node {
            self.lists[li].rotation = self.prev[node as usize];
        }
    }

    /// `__bpf_lru_node_move`: to the front of active, inactive or free of list `li`.
    fn node_move(&mut self, li: usize, node: u32, tgt: NodeType) {
        let cur = self.ntype[node as usize];
        if cur != tgt {
            self.count_dec(li, cur);
            self.count_inc(li, tgt);
            self.ntype[node as usize] = tgt;
        }
        self.refb[node as usize] = false;
        self.fix_cursor(li, node);
        let head = self.head(li, tgt);
        self.move_front(node, head);
    }

    /// `__bpf_lru_node_move_in`: a pending node enters the global list.
    fn node_move_in(&mut self, li: usize, node: u32, tgt: NodeType) {
        self.count_inc(li, tgt);
        self.ntype[node as usize] = tgt;
        self.refb[node as usize] = false;
        let head = self.head(li, tgt);
        self.move_front(node, head);
    }

    /// `__bpf_lru_node_move_to_free`: to the front of a (global or local) free list.
    fn node_move_to_free(&mut self, li: usize, node: u32, dest: u32, dest_type: NodeType) {
        self.fix_cursor(li, node);
        let cur = self.ntype[node as usize];
        self.count_dec(li, cur);
        self.ntype[node as usize] = dest_type;
        self.move_front(node, dest);
    }

    // ---- rotation and shrinking ----

    fn rotate_active(&mut self, li: usize) {
        let active = self.lists[li].active;
        let first = self.next[active as usize];
        let mut node = self.prev[active as usize];
        let mut i = 0;
        while node != active {
            let tmp = self.prev[node as usize];
            let tgt = if self.refb[node as usize] {
                NodeType::Active
            } else {
                NodeType::Inactive
            };
            self.node_move(li, node, tgt);
            i += 1;
            if i == self.nr_scans || node == first {
                break;
            }
            node = tmp;
        }
    }

    fn rotate_inactive(&mut self, li: usize) {
        let inactive = self.lists[li].inactive;
        if self.is_empty(inactive) {
            return;
        }
        let start = self.lists[li].rotation;
        let mut last = self.next[start as usize];
        if last == inactive {
            last = self.next[last as usize];
        }
        let mut cur = start;
        let mut next = inactive;
        let mut i = 0;
        while i < self.nr_scans {
            if cur == inactive {
                if self.is_empty(inactive) {
                    break;
                }
                cur = self.prev[cur as usize];
                continue;
            }
            next = self.prev[cur as usize];
            if self.refb[cur as usize] {
                self.node_move(li, cur, NodeType::Active);
            }
            if cur == last {
                break;
            }
            cur = next;
            i += 1;
        }
        self.lists[li].rotation = next;
    }

    fn rotate(&mut self, li: usize) {
        if self.lists[li].n_inactive < self.lists[li].n_active {
            self.rotate_active(li);
        }
        self.rotate_inactive(li);
    }

    fn shrink_inactive(
        &mut self,
        li: usize,
        want: u32,
        dest: u32,
        dest_type: NodeType,
        evict: &mut Evict<'_>,
    ) -> u32 {
        let inactive = self.lists[li].inactive;
        let mut node = self.prev[inactive as usize];
        let (mut done, mut i) = (0, 0);
        while node != inactive {
            let tmp = self.prev[node as usize];
            if self.refb[node as usize] {
                self.node_move(li, node, NodeType::Active);
            } else if evict(node) {
                self.node_move_to_free(li, node, dest, dest_type);
                done += 1;
                if done == want {
                    break;
                }
            }
            i += 1;
            if i == self.nr_scans {
                break;
            }
            node = tmp;
        }
        done
    }

    fn shrink(
        &mut self,
        li: usize,
        want: u32,
        dest: u32,
        dest_type: NodeType,
        evict: &mut Evict<'_>,
    ) -> u32 {
        let done = self.shrink_inactive(li, want, dest, dest_type, evict);
        if done > 0 {
            return done;
        }
        // Forced shrink: one node, ignoring the reference bit.
        let l = self.lists[li];
        let list = if self.is_empty(l.inactive) {
            l.active
        } else {
            l.inactive
        };
        let mut node = self.prev[list as usize];
        while node != list {
            let tmp = self.prev[node as usize];
            if evict(node) {
                self.node_move_to_free(li, node, dest, dest_type);
                return 1;
            }
            node = tmp;
        }
        0
    }

    // ---- common LRU ----

    fn flush_pending(&mut self, c: usize) {
        let pending = self.locals[c].pending;
        let mut node = self.prev[pending as usize];
        while node != pending {
            let tmp = self.prev[node as usize];
            let tgt = if self.refb[node as usize] {
                NodeType::Active
            } else {
                NodeType::Inactive
            };
            self.node_move_in(0, node, tgt);
            node = tmp;
        }
    }

    fn pop_free_to_local(&mut self, c: usize, evict: &mut Evict<'_>) {
        self.flush_pending(c);
        self.rotate(0);
        let gfree = self.lists[0].free;
        let lfree = self.locals[c].free;
        let mut moved = 0;
        while moved < self.target_free {
            let node = self.next[gfree as usize];
            if node == gfree {
                break;
            }
            self.node_move_to_free(0, node, lfree, NodeType::LocalFree);
            moved += 1;
        }
        if moved < self.target_free {
            self.shrink(
                0,
                self.target_free - moved,
                lfree,
                NodeType::LocalFree,
                evict,
            );
        }
    }

    fn pop_local_free(&mut self, c: usize) -> Option<u32> {
        let head = self.locals[c].free;
        let node = self.next[head as usize];
        if node == head {
            return None;
        }
        self.del(node);
        Some(node)
    }

    /// `__local_list_pop_pending`: the oldest pending element without ref, else the oldest.
    fn pop_pending(&mut self, c: usize, evict: &mut Evict<'_>) -> Option<u32> {
        let pending = self.locals[c].pending;
        for force in [false, true] {
            let mut node = self.prev[pending as usize];
            while node != pending {
                let tmp = self.prev[node as usize];
                if (force || !self.refb[node as usize]) && evict(node) {
                    self.del(node);
                    return Some(node);
                }
                node = tmp;
            }
        }
        None
    }

    fn add_pending(&mut self, c: usize, node: u32) {
        self.cpu[node as usize] = c as u32;
        self.ntype[node as usize] = NodeType::LocalPending;
        self.refb[node as usize] = false;
        let head = self.locals[c].pending;
        self.move_front(node, head);
    }

    fn common_pop(&mut self, c: usize, evict: &mut Evict<'_>) -> Option<u32> {
        let mut node = self.pop_local_free(c);
        if node.is_none() {
            self.pop_free_to_local(c, evict);
            node = self.pop_local_free(c);
        }
        if node.is_none() {
            let first = self.locals[c].next_steal;
            let mut steal = first;
            loop {
                let s = steal as usize;
                node = self
                    .pop_local_free(s)
                    .or_else(|| self.pop_pending(s, evict));
                steal = (steal + 1) % self.ncpus;
                if node.is_some() || steal == first {
                    break;
                }
            }
            self.locals[c].next_steal = steal;
        }
        let node = node?;
        self.add_pending(c, node);
        Some(node)
    }

    // ---- per-CPU LRU ----

    fn percpu_pop(&mut self, c: usize, evict: &mut Evict<'_>) -> Option<u32> {
        self.rotate(c);
        let free = self.lists[c].free;
        if self.is_empty(free) {
            self.shrink(c, PERCPU_FREE_TARGET, free, NodeType::Free, evict);
        }
        let node = self.next[free as usize];
        if node == free {
            return None;
        }
        self.node_move(c, node, NodeType::Inactive);
        Some(node)
    }

    // ---- the interface the hash map uses ----

    /// `bpf_lru_pop_free` on `cpu`: a node for a new element, evicting through `evict` when
    /// needed; `None` is `ENOMEM`.
    pub(crate) fn pop_free(&mut self, cpu: u32, evict: &mut Evict<'_>) -> Option<u32> {
        let c = cpu as usize;
        if self.common {
            self.common_pop(c, evict)
        } else {
            self.percpu_pop(c, evict)
        }
    }

    /// `bpf_lru_push_free`: a deleted, replaced or unused node returns to a free list.
    pub(crate) fn push_free(&mut self, node: u32) {
        match self.ntype[node as usize] {
            NodeType::Free | NodeType::LocalFree => {}
            NodeType::LocalPending => {
                let c = self.cpu[node as usize] as usize;
                self.ntype[node as usize] = NodeType::LocalFree;
                self.refb[node as usize] = false;
                let head = self.locals[c].free;
                self.move_front(node, head);
            }
            NodeType::Active | NodeType::Inactive => {
                let li = self.list_of(node);
                self.node_move(li, node, NodeType::Free);
            }
        }
    }

    /// `bpf_lru_node_set_ref`: a program lookup or an update of an existing key.
    pub(crate) fn set_ref(&mut self, node: u32) {
        self.refb[node as usize] = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Live set of a fake table: slot -> linked.
    fn run(lru: &mut Lru, linked: &mut [bool], cpu: u32) -> Option<u32> {
        let mut evict = |s: u32| std::mem::replace(&mut linked[s as usize], false);
        let n = lru.pop_free(cpu, &mut evict)?;
        linked[n as usize] = true;
        Some(n)
    }

    #[test]
    fn target_free_formula() {
        assert_eq!(Lru::new(8, 2, false).target_free, 2);
        assert_eq!(Lru::new(16, 2, false).target_free, 4);
        assert_eq!(Lru::new(100, 2, false).target_free, 25);
        assert_eq!(Lru::new(3, 2, false).target_free, 1);
        assert_eq!(Lru::new(1000, 2, false).target_free, 128);
    }

    #[test]
    fn evicts_in_batches_of_target_free() {
        // max 8, 2 CPUs: after 8 inserts the 9th refill evicts 2 (spec §6).
        let mut lru = Lru::new(8, 2, false);
        let mut linked = vec![false; 8];
        let nodes: Vec<u32> = (0..8)
            .map(|_| run(&mut lru, &mut linked, 0).unwrap())
            .collect();
        assert!(linked.iter().all(|&l| l));
        run(&mut lru, &mut linked, 0).unwrap();
        assert_eq!(linked.iter().filter(|&&l| l).count(), 7);
        // The two oldest were evicted: the first reused, the second free locally.
        assert!(linked[nodes[0] as usize] || linked[nodes[1] as usize]);
        assert!(!(linked[nodes[0] as usize] && linked[nodes[1] as usize]));
    }

    #[test]
    fn percpu_lru_capacity_per_cpu() {
        let mut lru = Lru::new(4, 2, true);
        let mut linked = vec![false; 4];
        for _ in 0..8 {
            let n = run(&mut lru, &mut linked, 0).unwrap();
            assert!(n < 2, "CPU 0 owns nodes 0 and 1");
        }
        assert_eq!(linked.iter().filter(|&&l| l).count(), 2);
    }
}
