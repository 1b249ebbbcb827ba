//! Criterion benchmarks of the kernels: `cargo bench -p tandem-benches`.
