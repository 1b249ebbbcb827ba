//! Custom gradients, PyTorch's `torch.autograd.Function` and TensorFlow's `tf.custom_gradient`:
//! a straight-through estimator that trains a logistic model whose weights are binarized to
//! ±α (BinaryConnect's trick: `sign` in the forward pass, the gradient passed straight through
//! where |w| ≤ 1), and an op that is the identity forward and clips its gradient to [-1, 1].
//! The model reads the course's diabetes data (`data-03-diabetes.csv`, 759 patients, 8
//! features) and trains with Adam(0.01), full batch, for 1000 epochs: the binarized model ends near 71% (a float logistic model reaches about 77%, the majority class is 65%).
//!
//! Run: `cargo run --release --example torch_15_custom_function -- [epochs]` (default 1000).

use tandem::data::csv::{loadtxt, LoadTxt};
use tandem::torch::autograd::{Function, FunctionCtx};
use tandem::torch::nn::functional as F;
use tandem::torch::optim::{Adam, Optimizer};
use tandem::{tf, torch, Tensor};

/// `sign(x)` forward; backward lets the gradient through where |x| ≤ 1 (the straight-through
/// estimator: `sign` itself has a zero gradient almost everywhere).
struct BinarizeSTE;

impl Function for BinarizeSTE {
    fn forward(&self, ctx: &mut FunctionCtx, inputs: &[&Tensor]) -> Tensor {
        ctx.save_for_backward(&[inputs[0]]);
        inputs[0].sign()
    }

    fn backward(&self, ctx: &FunctionCtx, grad_output: &Tensor) -> Vec<Option<Tensor>> {
        let x = &ctx.saved_tensors()[0];
        let inside = x.abs().le(1.0).to_dtype(grad_output.dtype());
        vec![Some(grad_output * &inside)]
    }
}

/// The identity forward; backward clips the gradient to [-limit, limit].
struct ClipGradient {
    limit: f64,
}

impl Function for ClipGradient {
    fn forward(&self, _: &mut FunctionCtx, inputs: &[&Tensor]) -> Tensor {
        inputs[0].clone()
    }

    fn backward(&self, _: &FunctionCtx, grad_output: &Tensor) -> Vec<Option<Tensor>> {
        vec![Some(grad_output.clamp(Some(-self.limit), Some(self.limit)))]
    }
}

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epochs: usize = std::env::args()
        .nth(1)
        .map(|e| e.parse())
        .transpose()?
        .unwrap_or(1000);
    torch::manual_seed(0);

    // What the two functions do to a gradient of 10 at each point.
    let x = torch::tensor([-2.0, -0.5, 0.5, 2.0]).requires_grad_(true);
    (BinarizeSTE.apply(&[&x]) * 10.0).sum().backward();
    println!("ste forward: {}", BinarizeSTE.apply(&[&x.detach()]));
    println!("ste grad: {}", x.grad().unwrap());
    let x = torch::tensor([-2.0, -0.5, 0.5, 2.0]).requires_grad_(true);
    (ClipGradient { limit: 1.0 }.apply(&[&x]) * 10.0)
        .sum()
        .backward();
    println!("clipped grad: {}", x.grad().unwrap());

    // The same clip in the TensorFlow idiom.
    let v = tf::Variable::new([3.0]);
    let tape = tf::GradientTape::new();
    let y = tf::custom_gradient(&[&v], |xs| {
        let y = xs[0].clone();
        (y, |dy: &Tensor| vec![Some(dy.clamp(Some(-1.0), Some(1.0)))])
    });
    let g = tape.gradient(&tf::reduce_sum(&(&y * 10.0)), &[&v]);
    println!("tf clipped grad: {}", g[0].as_ref().unwrap().to_tf_string());

    // A logistic model with binarized weights, trained through the estimator.
    let xy = loadtxt(
        tandem::data::course::file("data-03-diabetes.csv")?,
        LoadTxt::default(),
    )?;
    let x_data = xy.narrow(1, 0, 8).contiguous();
    let y_data = xy.narrow(1, 8, 1).contiguous();
    let w = (torch::randn(&[8, 1]) * 0.1).requires_grad_(true);
    let alpha = torch::tensor([0.5]).requires_grad_(true);
    let b = torch::tensor([0.0]).requires_grad_(true);
    let mut optimizer = Adam::new(vec![w.clone(), alpha.clone(), b.clone()], 0.01);
    let mut first = None;
    let mut last = 0.0;
    for epoch in 0..epochs {
        let binary = BinarizeSTE.apply(&[&w]);
        let logits = &x_data.matmul(&(&binary * &alpha)) + &b;
        let loss = F::binary_cross_entropy_with_logits(&logits, &y_data, None, Default::default());
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        last = loss.item::<f32>();
        first.get_or_insert(last);
        if epoch % 100 == 0 {
            println!("epoch {epoch}: loss {last:.4}");
        }
    }
    let binary = BinarizeSTE.apply(&[&w.detach()]);
    let logits = &x_data.matmul(&(&binary * &alpha.detach())) + &b.detach();
    let predicted = logits.gt(0.0).to_dtype(torch::float32);
    let accuracy = predicted.eq(&y_data).to_dtype(torch::float32).mean();
    println!("weights: {binary}");
    println!(
        "loss: first epoch {:.4}, last epoch {last:.4}",
        first.unwrap_or(last)
    );
    println!("accuracy: {:.4}", accuracy.item::<f32>());
    Ok(())
}
