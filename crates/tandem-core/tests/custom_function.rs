//! User-defined differentiable operations (`autograd::Function`, `custom_gradient`): their
//! gradients are checked against finite differences and against calculus.

use tandem_core::autograd::{self, Function, FunctionCtx, GradOptions, GradientTape};
use tandem_core::{DType, Tensor};

/// `x * sin(y)` with both partial derivatives written in differentiable tensor ops.
struct XSinY;

impl Function for XSinY {
    fn forward(&self, ctx: &mut FunctionCtx, inputs: &[&Tensor]) -> Tensor {
        ctx.save_for_backward(&[inputs[0], inputs[1]]);
        inputs[0] * &inputs[1].sin()
    }

    fn backward(&self, ctx: &FunctionCtx, g: &Tensor) -> Vec<Option<Tensor>> {
        let s = ctx.saved_tensors();
        let (x, y) = (&s[0], &s[1]);
        vec![
            ctx.needs_input_grad(0).then(|| g * &y.sin()),
            ctx.needs_input_grad(1).then(|| g * &(x * &y.cos())),
        ]
    }
}

fn f64s(v: &[f64]) -> Tensor {
    Tensor::from_vec(v.to_vec(), &[v.len()]).requires_grad_(true)
}

#[test]
fn a_user_defined_op_passes_gradcheck() {
    let f = |xs: &[Tensor]| XSinY.apply(&[&xs[0], &xs[1]]);
    let inputs = [f64s(&[0.3, -1.2, 2.0]), f64s(&[0.7, 1.9, -0.4])];
    autograd::gradcheck(&f, &inputs, 1e-6, 1e-7, 1e-5).unwrap();
    autograd::gradgradcheck(&f, &inputs, 1e-6, 1e-6, 1e-4).unwrap();
}

#[test]
fn a_backward_in_tensor_ops_differentiates_again() {
    // d/dy (x sin y) = x cos y; d/dy again = -x sin y.
    let (x, y) = (f64s(&[2.0]), f64s(&[0.5]));
    let out = XSinY.apply(&[&x, &y]).sum();
    let opts = GradOptions {
        create_graph: true,
        ..Default::default()
    };
    let dy = autograd::grad_with(&out, &[&y], None, opts)[0]
        .clone()
        .unwrap();
    assert!((dy.item::<f64>() - 2.0 * 0.5f64.cos()).abs() < 1e-12);
    let d2y = autograd::grad(&dy.sum(), &[&y]);
    assert!((d2y[0].item::<f64>() + 2.0 * 0.5f64.sin()).abs() < 1e-12);
}

/// The positions of the maxima: an output with no gradient.
struct ArgMax;

impl Function for ArgMax {
    fn forward(&self, ctx: &mut FunctionCtx, inputs: &[&Tensor]) -> Tensor {
        ctx.mark_non_differentiable();
        inputs[0].argmax(Some(-1), false)
    }

    fn backward(&self, _: &FunctionCtx, _: &Tensor) -> Vec<Option<Tensor>> {
        unreachable!("a non-differentiable output has no backward")
    }
}

#[test]
fn a_non_differentiable_output_gets_no_gradient() {
    let x = f64s(&[1.0, 5.0, 2.0]);
    let i = ArgMax.apply(&[&x]);
    assert_eq!(i.dtype(), DType::Int64);
    assert_eq!(i.item::<i64>(), 1);
    assert!(!i.requires_grad() && i.grad_fn_name().is_none());
}

#[test]
fn inputs_that_need_no_gradient_are_told_so() {
    let (x, y) = (f64s(&[1.0]), Tensor::from_vec(vec![0.25f64], &[1]));
    XSinY.apply(&[&x, &y]).sum().backward();
    assert!((x.grad().unwrap().item::<f64>() - 0.25f64.sin()).abs() < 1e-15);
    assert!(y.grad().is_none());
}

#[test]
fn custom_gradient_works_under_a_gradient_tape() {
    // A gradient clipped to [-1, 1] on an op whose true derivative is 3 x^2.
    let x = tandem_core::Tensor::new([0.5f64, 2.0]);
    let tape = GradientTape::new();
    tape.watch(&x);
    let y = autograd::custom_gradient(&[&x], |xs| {
        let y = xs[0].pow(3);
        let x = xs[0].detach();
        (y, move |dy: &Tensor| {
            vec![Some(
                (dy * &(x.square() * 3.0)).clamp(Some(-1.0), Some(1.0)),
            )]
        })
    });
    let g = tape.gradient(&y.sum(), &[&x]);
    assert_eq!(g[0].as_ref().unwrap().to_vec::<f64>(), [0.75, 1.0]);
    assert_eq!(y.to_vec::<f64>(), [0.125, 8.0]);
}

/// Returns a gradient of the wrong shape.
struct BadShape;

impl Function for BadShape {
    fn forward(&self, _: &mut FunctionCtx, inputs: &[&Tensor]) -> Tensor {
        inputs[0].clone()
    }

    fn backward(&self, _: &FunctionCtx, g: &Tensor) -> Vec<Option<Tensor>> {
        vec![Some(g.sum())]
    }
}

#[test]
#[should_panic(expected = "the gradient of input 0 has shape [], the input [3]")]
fn a_gradient_of_the_wrong_shape_is_refused() {
    let x = f64s(&[1.0, 2.0, 3.0]);
    BadShape.apply(&[&x]).sum().backward();
}
