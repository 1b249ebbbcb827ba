//! The graph is freed after every step: memory stays flat over 100,000 seed steps. Its own test
//! binary, so that no other test allocates in the process while resident memory is measured.

mod common;

use common::{seed_tf, seed_torch};

fn resident_kib() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4
}

#[test]
fn graph_is_freed_each_step_memory_stays_flat() {
    seed_torch(10_000);
    seed_tf(10_000);
    let before = resident_kib();
    seed_torch(100_000);
    seed_tf(100_000);
    let after = resident_kib();
    // Leaking even one 5-element tensor per step would add tens of megabytes here.
    assert!(
        after <= before + 2048,
        "resident memory grew from {before} KiB to {after} KiB"
    );
}
