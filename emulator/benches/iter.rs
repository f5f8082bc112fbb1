//! Criterion benchmarks of the iterator driver on a zero-seed hash map: sum only and a
//! `bpf_seq_printf` per element. `iterscope bench --elements 1000000 [--printf]` runs the
//! same workload once at full size for the figures quoted beside the kernel's.

use criterion::{criterion_group, criterion_main, Criterion};
use iterscope_emulator::bench::Bench;

fn iterate(c: &mut Criterion) {
    let mut g = c.benchmark_group("hash_100k");
    g.sample_size(10);
    for printf in [false, true] {
        let name = if printf { "printf" } else { "sum" };
        let bench = Bench {
            elements: 100_000,
            printf,
        };
        g.bench_function(name, |b| {
            b.iter_batched(
                || bench.machine().expect("bench machine"),
                |mut m| iterscope_emulator::scenario::run_session(&mut m, 4096).expect("run"),
                criterion::BatchSize::LargeInput,
            );
        });
    }
    g.finish();
}

criterion_group!(benches, iterate);
criterion_main!(benches);
