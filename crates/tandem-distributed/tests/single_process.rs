//! What runs without a launcher: a world of one, where every collective is the identity and
//! `DistributedDataParallel` and the strategy train exactly as the plain model does; and the
//! sampler's arithmetic, which needs no processes at all.

use tandem_core::{manual_seed, Tensor};
use tandem_data::Sampler;
use tandem_distributed::{self as dist, DistributedDataParallel, DistributedSampler, ReduceOp};
use tandem_nn::{Linear, Module, ReLU, Sequential};

#[test]
fn sampler_shares_are_disjoint_padded_and_equal() {
    for (len, n) in [(10usize, 4usize), (12, 4), (7, 3), (3, 5)] {
        let shares: Vec<Vec<usize>> = (0..n)
            .map(|r| {
                DistributedSampler::with_replicas(len, n, r)
                    .seed(3)
                    .indices(0)
            })
            .collect();
        let per = len.div_ceil(n);
        assert!(shares.iter().all(|s| s.len() == per));
        let mut all: Vec<usize> = shares.concat();
        all.sort();
        all.dedup();
        assert_eq!(all, (0..len).collect::<Vec<_>>(), "every index appears");
        // With drop_last the tail goes instead: shares are disjoint, floor(len / n) each.
        let kept: Vec<usize> = (0..n)
            .flat_map(|r| {
                DistributedSampler::with_replicas(len, n, r)
                    .drop_last(true)
                    .indices(0)
            })
            .collect();
        assert_eq!(kept.len(), len / n * n);
        let mut unique = kept.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), kept.len());
    }
}

#[test]
fn sampler_epochs_shuffle_alike_on_every_rank() {
    let a = DistributedSampler::with_replicas(50, 2, 0).seed(1);
    let b = DistributedSampler::with_replicas(50, 2, 1).seed(1);
    let first: Vec<usize> = [a.indices(0), b.indices(0)].concat();
    a.set_epoch(1);
    b.set_epoch(1);
    let second: Vec<usize> = [a.indices(0), b.indices(0)].concat();
    assert_ne!(first, second);
    let sorted = |mut v: Vec<usize>| {
        v.sort();
        v
    };
    assert_eq!(sorted(first), (0..50).collect::<Vec<_>>());
    assert_eq!(sorted(second), (0..50).collect::<Vec<_>>());
    // Without shuffling, rank r takes r, r + n, r + 2n, ...
    let plain = DistributedSampler::with_replicas(9, 3, 2).shuffle(false);
    assert_eq!(plain.indices(0), vec![2, 5, 8]);
}

fn mlp() -> Sequential {
    Sequential::new()
        .add(Linear::new(784, 520))
        .add(ReLU)
        .add(Linear::new(520, 320))
        .add(ReLU)
        .add(Linear::new(320, 240))
        .add(ReLU)
        .add(Linear::new(240, 120))
        .add(ReLU)
        .add(Linear::new(120, 10))
}

/// The process group is one per process, so everything that needs it runs in this one test.
#[test]
fn a_world_of_one() {
    assert!(matches!(
        dist::init_process_group("nccl"),
        Err(dist::DistError::Backend(_))
    ));
    assert!(matches!(
        dist::get_rank(),
        Err(dist::DistError::NotInitialized)
    ));
    dist::init_process_group("mpi").unwrap();
    assert!(matches!(
        dist::init_process_group("mpi"),
        Err(dist::DistError::AlreadyInitialized)
    ));
    assert_eq!(
        (dist::get_rank().unwrap(), dist::get_world_size().unwrap()),
        (0, 1)
    );

    // Collectives are the identity.
    let t = Tensor::new([1.5f64, -2.0]);
    for op in [ReduceOp::Sum, ReduceOp::Avg, ReduceOp::Max, ReduceOp::Min] {
        dist::all_reduce(&t, op).unwrap();
    }
    assert_eq!(t.to_vec::<f64>(), vec![1.5, -2.0]);
    assert_eq!(
        dist::all_gather(&t).unwrap()[0].to_vec::<f64>(),
        vec![1.5, -2.0]
    );
    dist::broadcast(&t, 0).unwrap();
    assert!(dist::broadcast(&t, 1).is_err());
    dist::barrier().unwrap();

    // PyTorch's bucket layout for the seed MLP: reverse order, the first bucket closing once
    // it passes 1 MiB (after the second layer's weight), the rest in the second.
    manual_seed(0);
    let plain = mlp();
    manual_seed(0);
    let ddp = DistributedDataParallel::new(mlp()).unwrap();
    assert_eq!(
        ddp.bucket_parameters(),
        vec![vec![9, 8, 7, 6, 5, 4, 3, 2], vec![1, 0]]
    );
    let keys: Vec<String> = ddp.state_dict().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys[0], "module.0.weight");

    // Gradients are the plain model's, bit for bit (an average over one rank).
    let x = tandem_core::rand(&[16, 784]);
    let y = Tensor::from_vec((0..16i64).map(|i| i % 10).collect::<Vec<_>>(), &[16]);
    let criterion = tandem_nn::CrossEntropyLoss::new();
    criterion.forward(&ddp.forward(&x), &y).backward();
    criterion.forward(&plain.forward(&x), &y).backward();
    for (a, b) in ddp.parameters().iter().zip(plain.parameters()) {
        assert_eq!(
            a.grad().unwrap().to_vec::<f32>(),
            b.grad().unwrap().to_vec::<f32>()
        );
    }
    // Alone there is nothing to reduce, and nothing is packed or copied.
    assert!(ddp.last_backward_events().is_empty());
    drop(ddp);
    dist::destroy_process_group().unwrap();
    assert!(!dist::is_initialized());
}
