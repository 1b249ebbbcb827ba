//! `use_deterministic_algorithms(true)`: training ends with the same bits on 1, 2 and 4
//! threads. Each thread count needs its own process (the pool is sized once), so the test runs
//! itself as a child with `RAYON_NUM_THREADS` set.

use std::process::Command;
use tandem_nn::optim::{clip_grad_norm_, Optimizer, SGD};
use tandem_nn::{Conv2d, CrossEntropyLoss, Flatten, Linear, Module, ReLU, Sequential};

const CHILD: &str = "TANDEM_DETERMINISM_CHILD";

/// `steps` SGD steps (momentum 0.5, gradient norm clipped to 1) of `model` over the MNIST sample
/// digits in batches of 64; the final parameters' bits, hashed (FNV-1a).
fn train(model: Sequential, images: bool, steps: usize) -> u64 {
    let ((x, y), _) = tandem_data::mnist::load_sample();
    let x = x.to_dtype(tandem_core::DType::Float32) / 255.0;
    let x = if images {
        x.reshape(&[-1, 1, 28, 28])
    } else {
        x.reshape(&[-1, 784])
    };
    let params = model.parameters();
    let mut opt = SGD::new(params.clone(), 0.01, 0.5);
    let criterion = CrossEntropyLoss::new();
    for step in 0..steps {
        let (xb, yb) = (x.narrow(0, step * 64, 64), y.narrow(0, step * 64, 64));
        opt.zero_grad();
        criterion.forward(&model.forward(&xb), &yb).backward();
        clip_grad_norm_(&params, 1.0);
        opt.step();
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in &params {
        for v in p.to_vec::<f32>() {
            for b in v.to_bits().to_le_bytes() {
                h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    h
}

/// The seed's 784-520-320-240-120-10 network, 50 steps.
fn seed_mlp() -> u64 {
    tandem_core::manual_seed(0);
    let model = Sequential::new()
        .add(Linear::new(784, 520))
        .add(ReLU)
        .add(Linear::new(520, 320))
        .add(ReLU)
        .add(Linear::new(320, 240))
        .add(ReLU)
        .add(Linear::new(240, 120))
        .add(ReLU)
        .add(Linear::new(120, 10));
    train(model, false, 50)
}

/// A convolution (whose weight gradient sums one partial result per part of the batch), 20 steps.
fn small_cnn() -> u64 {
    tandem_core::manual_seed(0);
    let model = Sequential::new()
        .add(Conv2d::new(1, 8, 3))
        .add(ReLU)
        .add(Flatten)
        .add(Linear::new(8 * 26 * 26, 10));
    train(model, true, 20)
}

/// The hash a child process with `threads` threads prints for `model`, deterministic or not.
fn hash_in_child(model: &str, deterministic: bool, threads: &str) -> u64 {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, format!("{model} {deterministic}"))
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .find_map(|l| l.split("PARAMS ").nth(1))
        .and_then(|h| h.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no PARAMS line in:\n{text}"))
}

/// Runs in the child processes only.
#[test]
fn child_process() {
    let Ok(spec) = std::env::var(CHILD) else {
        return;
    };
    let (model, deterministic) = spec.split_once(' ').unwrap();
    tandem_core::use_deterministic_algorithms(deterministic == "true");
    let h = match model {
        "mlp" => seed_mlp(),
        _ => small_cnn(),
    };
    println!("PARAMS {h}");
}

#[test]
fn the_seed_mlp_trains_bit_identically_on_1_2_and_4_threads() {
    let one = hash_in_child("mlp", true, "1");
    assert_eq!(
        hash_in_child("mlp", true, "2"),
        one,
        "2 threads differ from 1"
    );
    assert_eq!(
        hash_in_child("mlp", true, "4"),
        one,
        "4 threads differ from 1"
    );
    assert_eq!(hash_in_child("mlp", true, "1"), one, "a second run differs");
}

#[test]
fn a_convolution_trains_bit_identically_on_1_2_and_4_threads() {
    let one = hash_in_child("cnn", true, "1");
    assert_eq!(
        hash_in_child("cnn", true, "2"),
        one,
        "2 threads differ from 1"
    );
    assert_eq!(
        hash_in_child("cnn", true, "4"),
        one,
        "4 threads differ from 1"
    );
}
