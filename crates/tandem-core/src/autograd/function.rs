//! User-defined differentiable operations: `torch.autograd.Function` and
//! `tf.custom_gradient`.

use super::engine::{attach, should_record};
use super::mode::{input_needs_grad, is_grad_enabled, no_grad};
use super::node::Saved;
use crate::tensor::Tensor;
use std::sync::Arc;

/// What a custom function's `forward` leaves for its `backward` (PyTorch's `ctx`).
pub struct FunctionCtx {
    saved: Vec<Saved>,
    needs_input_grad: Vec<bool>,
    non_differentiable: bool,
}

impl FunctionCtx {
    /// `ctx.save_for_backward(*tensors)`: tensors the backward needs. Saving an input keeps
    /// its graph, so a backward written in tensor ops can itself be differentiated through it;
    /// a tensor computed in `forward` (the output, an intermediate) has no graph, so a second
    /// derivative through it is not taken (recompute it from the saved inputs in `backward`
    /// when one is needed). Changing a saved tensor in place before backward panics, as in
    /// PyTorch.
    pub fn save_for_backward(&mut self, tensors: &[&Tensor]) {
        self.saved = tensors.iter().map(|t| Saved::new(t)).collect();
    }

    /// `ctx.saved_tensors`, in the order they were saved.
    pub fn saved_tensors(&self) -> Vec<Tensor> {
        self.saved.iter().map(|s| s.get().clone()).collect()
    }

    /// `ctx.needs_input_grad[i]`: whether input `i` needs a gradient.
    pub fn needs_input_grad(&self, i: usize) -> bool {
        self.needs_input_grad.get(i).copied().unwrap_or(false)
    }

    /// `ctx.mark_non_differentiable(output)`: the output carries no gradient (an index, a
    /// mask); it is returned detached and backward is never called for it.
    pub fn mark_non_differentiable(&mut self) {
        self.non_differentiable = true;
    }
}

/// A differentiable operation with a hand-written backward (`torch.autograd.Function`).
///
/// `forward` runs without recording; `apply` attaches `backward` to its output. Write the
/// backward in tensor ops of the saved inputs and `create_graph` differentiates it again. Each
/// gradient must have its input's shape (a wrong one panics, naming the input). The function value
/// itself carries any non-tensor arguments (PyTorch passes them to `forward`).
///
/// ```
/// use tandem_core::autograd::{Function, FunctionCtx};
/// use tandem_core::Tensor;
///
/// /// `x³`, with its derivative written by hand.
/// struct Cube;
/// impl Function for Cube {
///     fn forward(&self, ctx: &mut FunctionCtx, inputs: &[&Tensor]) -> Tensor {
///         ctx.save_for_backward(&[inputs[0]]);
///         inputs[0].pow(3)
///     }
///     fn backward(&self, ctx: &FunctionCtx, grad_output: &Tensor) -> Vec<Option<Tensor>> {
///         let x = &ctx.saved_tensors()[0];
///         vec![Some(grad_output * &(x.square() * 3.0))]
///     }
/// }
///
/// let x = Tensor::new([2.0]).requires_grad_(true);
/// Cube.apply(&[&x]).sum().backward();
/// assert_eq!(x.grad().unwrap().to_vec::<f32>(), [12.0]);
/// ```
pub trait Function: Send + Sync + 'static {
    /// The output, computed from `inputs` with recording off.
    fn forward(&self, ctx: &mut FunctionCtx, inputs: &[&Tensor]) -> Tensor;

    /// The gradient of each input (`None` for one that needs none), given the output's.
    fn backward(&self, ctx: &FunctionCtx, grad_output: &Tensor) -> Vec<Option<Tensor>>;

    /// `MyFunction.apply(x, ...)`: runs `forward` and records `backward` for the inputs that
    /// need gradients.
    fn apply(self, inputs: &[&Tensor]) -> Tensor
    where
        Self: Sized,
    {
        let recording = is_grad_enabled();
        let mut ctx = FunctionCtx {
            saved: Vec::new(),
            needs_input_grad: inputs
                .iter()
                .map(|t| recording && input_needs_grad(t))
                .collect(),
            non_differentiable: false,
        };
        let out = no_grad(|| self.forward(&mut ctx, inputs));
        if ctx.non_differentiable || !should_record(inputs) {
            return out.detach();
        }
        let shapes = input_shapes(inputs);
        let ctx = Arc::new(ctx);
        attach(out.detach(), "FunctionBackward", inputs, move |g, _| {
            check_grads("Function::backward", &shapes, self.backward(&ctx, g))
        })
    }
}

/// `tf.custom_gradient`: `f` computes the output from `inputs` (with recording off) and returns
/// it with the function that maps the output's gradient `dy` to one gradient per input.
///
/// ```
/// use tandem_core::{autograd, Tensor};
/// // log(1 + e^x), with the numerically stable gradient of the TensorFlow guide.
/// let x = Tensor::new([100.0f64]).requires_grad_(true);
/// let y = autograd::custom_gradient(&[&x], |xs| {
///     let e = xs[0].exp();
///     let y = (&e + 1.0).log();
///     (y, move |dy: &Tensor| vec![Some(dy * &(1.0 - &(1.0 / (&e + 1.0))))])
/// });
/// y.sum().backward();
/// assert_eq!(x.grad().unwrap().to_vec::<f64>(), [1.0]);
/// ```
pub fn custom_gradient<G>(inputs: &[&Tensor], f: impl FnOnce(&[&Tensor]) -> (Tensor, G)) -> Tensor
where
    G: Fn(&Tensor) -> Vec<Option<Tensor>> + Send + Sync + 'static,
{
    let (out, grad) = no_grad(|| f(inputs));
    if !should_record(inputs) {
        return out.detach();
    }
    let shapes = input_shapes(inputs);
    attach(out.detach(), "CustomGradient", inputs, move |dy, _| {
        check_grads("custom_gradient", &shapes, grad(dy))
    })
}

fn input_shapes(inputs: &[&Tensor]) -> Vec<Vec<usize>> {
    inputs.iter().map(|t| t.shape().to_vec()).collect()
}

/// Panics unless there is one gradient per input, each of its input's shape.
fn check_grads(
    what: &str,
    shapes: &[Vec<usize>],
    grads: Vec<Option<Tensor>>,
) -> Vec<Option<Tensor>> {
    assert_eq!(
        grads.len(),
        shapes.len(),
        "{what} returned {} gradients for {} inputs",
        grads.len(),
        shapes.len()
    );
    for (i, (g, shape)) in grads.iter().zip(shapes).enumerate() {
        if let Some(g) = g {
            assert_eq!(
                g.shape(),
                &shape[..],
                "{what}: the gradient of input {i} has shape {:?}, the input {shape:?}",
                g.shape()
            );
        }
    }
    grads
}
