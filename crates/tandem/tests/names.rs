//! Names as users type them: PyTorch's module paths, numbers of any Rust type beside tensors,
//! and the `axis=` / `dim=` forms of the reductions, checked against arithmetic done by hand.

use tandem::torch::optim::lr_scheduler::{LrScheduler, StepLR};
use tandem::torch::optim::{Optimizer, SGD};
use tandem::{tf, torch};

#[test]
fn lr_scheduler_is_reached_by_pytorchs_path() {
    let w = torch::tensor([1.0]).requires_grad_(true);
    let mut opt = SGD::new(vec![w], 0.1, 0.0);
    let mut sched = StepLR::new(&opt, 2, 0.5);
    let mut lrs = Vec::new();
    for _ in 0..5 {
        opt.step();
        sched.step(&mut opt);
        lrs.push(sched.get_last_lr());
    }
    // 0.1 for two epochs, then halved every two.
    let want = [0.1, 0.05, 0.05, 0.025, 0.025];
    for (g, w) in lrs.iter().zip(want) {
        assert!((g - w).abs() < 1e-12, "{lrs:?}");
    }
    let _ = torch::nn::functional::relu(&torch::tensor([1.0]));
    let _: Option<&dyn torch::utils::data::Sampler> = None;
}

#[test]
fn numbers_of_any_type_scale_tensors() {
    let t = torch::tensor([2.0, 4.0]);
    let lr = 0.01f32;
    let n = 4usize;
    assert_eq!((&t * lr).to_vec::<f32>(), [0.02, 0.04]);
    assert_eq!((&t / n).to_vec::<f32>(), [0.5, 1.0]);
    assert_eq!((2 * &t).to_vec::<f32>(), [4.0, 8.0]);
}

#[test]
fn reductions_take_one_axis_or_several_in_both_idioms() {
    // [[1, 2, 3], [4, 5, 6]]
    let x = tf::constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    assert_eq!(
        tf::reduce_sum_axis(&x, 1, true).to_vec::<f32>(),
        [6.0, 15.0]
    );
    assert_eq!(tf::reduce_sum_axis(&x, 1, true).shape(), &[2, 1]);
    assert_eq!(
        tf::reduce_mean_axis(&x, 0, false).to_vec::<f32>(),
        [2.5, 3.5, 4.5]
    );
    assert_eq!(
        tf::reduce_max_axis(&x, -1, false).to_vec::<f32>(),
        [3.0, 6.0]
    );
    assert_eq!(tf::reduce_min_axis(&x, [1, 0], false).item::<f32>(), 1.0);
    assert_eq!(
        tf::reduce_prod_axis(&x, 0, false).to_vec::<f32>(),
        [4.0, 10.0, 18.0]
    );
    // Biased variance of [1, 4] is 2.25; of [1, 2, 3] it is 2/3.
    assert_eq!(
        tf::reduce_variance_axis(&x, 0, false).to_vec::<f32>(),
        [2.25; 3]
    );
    let v = tf::reduce_variance_axis(&x, 1, false).to_vec::<f32>();
    assert!((v[0] - 2.0 / 3.0).abs() < 1e-6, "{v:?}");
    let lse = tf::reduce_logsumexp_axis(&x, 1, false).to_vec::<f32>();
    let want = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln();
    assert!((lse[0] as f64 - want).abs() < 1e-5, "{lse:?}");
    // torch: unbiased variance of [1, 4] is 4.5.
    let t = torch::tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    assert_eq!(torch::sum_dim(&t, [0, 1], false).item::<f32>(), 21.0);
    assert_eq!(torch::var_dim(&t, 0, false).to_vec::<f32>(), [4.5; 3]);
    assert_eq!(torch::amin(&t, 1, true).shape(), &[2, 1]);
    assert_eq!(torch::amax(&t, 0, false).to_vec::<f32>(), [4.0, 5.0, 6.0]);
}

#[test]
fn sequential_models_build_from_a_macro_or_a_chain_of_adds() {
    use tf::keras::layers::Dense;
    let from_macro =
        tf::keras::sequential![Dense::new(3).activation("relu").input_dim(2), Dense::new(1),];
    let mut chained = tf::keras::Sequential::new(vec![]);
    chained
        .add(Dense::new(3).activation("relu").input_dim(2))
        .add(Dense::new(1));
    // Two kernels and two biases, the kernels in nn::Linear's [out, in] layout.
    for m in [&from_macro, &chained] {
        let shapes: Vec<Vec<usize>> = m.weights().iter().map(|w| w.shape().to_vec()).collect();
        assert_eq!(shapes, [vec![3, 2], vec![3], vec![1, 3], vec![1]]);
    }
}
