//! The `Module` trait: a forward function plus the parameters it owns.

use crate::state_dict::{self, CheckpointError, LoadReport};
use std::path::Path;
use tandem_core::ops::conv::Fused;
use tandem_core::{Device, Tensor};

/// `prefix.name`, or `name` when there is no prefix (PyTorch's dotted parameter names).
pub fn join_name(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// What `#[derive(Module)]` implements: visiting parameters by dotted name, and switching
/// train/eval mode through nested modules.
///
/// Both methods default to doing nothing, so a layer without parameters or a training mode
/// implements it with an empty `impl Params for MyLayer {}`.
pub trait Params {
    /// Calls `f(name, tensor)` for every parameter and buffer under `prefix`, in field order.
    fn visit(&self, _prefix: &str, _f: &mut dyn FnMut(&str, &Tensor)) {}
    /// Sets training mode (Dropout, BatchNorm) here and in every child.
    fn set_training(&mut self, _on: bool) {}
}

/// A layer or model (`torch.nn.Module`).
pub trait Module: Params {
    /// The computation (`forward`, called as `model(x)` in Python).
    fn forward(&self, x: &Tensor) -> Tensor;

    /// The activation this layer is, when a layer before it can fuse it into its own pass
    /// (`nn.ReLU`). [`crate::Sequential`] then runs the pair as one op; the default is `None`.
    fn as_fused_activation(&self) -> Option<Fused> {
        None
    }

    /// `forward` followed by `activation` as one op (a convolution with its ReLU), or `None`
    /// when this layer has no such form (the default). The result equals the two applied in
    /// turn.
    fn forward_fused(&self, _x: &Tensor, _activation: Fused) -> Option<Tensor> {
        None
    }

    /// Every parameter with its dotted name (`l1.weight`), in definition order.
    ///
    /// A tensor reachable under two names (weights tied as `head.weight = tok.weight`) is
    /// listed once, under its first name, as PyTorch's `remove_duplicate=True`; the state dict
    /// keeps both names.
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut out: Vec<(String, Tensor)> = Vec::new();
        self.visit("", &mut |n, t| {
            if t.requires_grad() && !out.iter().any(|(_, seen)| seen.same(t)) {
                out.push((n.to_string(), t.clone()))
            }
        });
        out
    }

    /// Every parameter (`model.parameters()`), for an optimizer.
    fn parameters(&self) -> Vec<Tensor> {
        self.named_parameters()
            .into_iter()
            .map(|(_, t)| t)
            .collect()
    }

    /// Parameters and buffers (running statistics) by name: what `state_dict()` saves.
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        self.visit("", &mut |n, t| out.push((n.to_string(), t.clone())));
        out
    }

    /// Number of scalar parameters.
    fn num_parameters(&self) -> usize {
        self.parameters().iter().map(Tensor::numel).sum()
    }

    /// Training mode (`model.train()`): Dropout drops, BatchNorm uses batch statistics.
    fn train(&mut self) {
        self.set_training(true);
    }

    /// Evaluation mode (`model.eval()`).
    fn eval(&mut self) {
        self.set_training(false);
    }

    /// Clears the gradient of every parameter (`model.zero_grad()`).
    fn zero_grad(&self) {
        for p in self.parameters() {
            p.zero_grad();
        }
    }

    /// Moves the model to `device` (`model.to(device)`); a no-op on the CPU.
    fn to(&mut self, device: Device) {
        assert!(
            device.is_cpu(),
            "only the CPU device is available in this build"
        );
    }

    /// Saves `state_dict()` as safetensors at `path`, atomically (temporary file + rename).
    fn save(&self, path: impl AsRef<Path>) -> Result<(), CheckpointError>
    where
        Self: Sized,
    {
        state_dict::save_safetensors(&self.state_dict(), path.as_ref())
    }

    /// `model.load_state_dict(state_dict, strict)`: copies `state` into this model's
    /// parameters and buffers in place, by name, casting to each tensor's dtype. With
    /// `strict`, missing or unexpected keys are an error; without, they come back in the
    /// report, as PyTorch returns them. A wrong shape is always an error, and then nothing is
    /// copied.
    ///
    /// ```
    /// use tandem_nn::{Linear, Module};
    /// let (a, b) = (Linear::new(3, 2), Linear::new(3, 2));
    /// let report = b.load_state_dict(&a.state_dict(), true).unwrap();
    /// assert!(report.missing.is_empty() && report.unexpected.is_empty());
    /// assert_eq!(a.weight.to_vec::<f32>(), b.weight.to_vec::<f32>());
    /// ```
    fn load_state_dict(
        &self,
        state: &[(String, Tensor)],
        strict: bool,
    ) -> Result<LoadReport, CheckpointError>
    where
        Self: Sized,
    {
        let loaded = state.iter().cloned().collect();
        state_dict::load_into(&self.state_dict(), loaded, strict)
    }

    /// Loads a safetensors state dict into this model's tensors, in place. With `strict`,
    /// missing or unexpected keys are an error; wrong shapes always are.
    fn load(&self, path: impl AsRef<Path>, strict: bool) -> Result<LoadReport, CheckpointError>
    where
        Self: Sized,
    {
        let loaded = state_dict::load_safetensors(path.as_ref())?;
        state_dict::load_into(&self.state_dict(), loaded, strict)
    }
}

/// A fresh trainable leaf holding `t`'s values in `dtype`: what a layer's `to_dtype` puts in
/// place of each parameter (`.double()` / `.float()` in PyTorch).
pub(crate) fn param_in(t: &Tensor, dtype: tandem_core::DType) -> Tensor {
    t.detach().to_dtype(dtype).requires_grad_(true)
}

impl Params for Tensor {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        f(prefix, self)
    }
    fn set_training(&mut self, _on: bool) {}
}

impl<T: Params> Params for Vec<T> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        for (i, m) in self.iter().enumerate() {
            m.visit(&join_name(prefix, &i.to_string()), f);
        }
    }
    fn set_training(&mut self, on: bool) {
        for m in self {
            m.set_training(on);
        }
    }
}

impl<T: Params> Params for Option<T> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        if let Some(m) = self {
            m.visit(prefix, f);
        }
    }
    fn set_training(&mut self, on: bool) {
        if let Some(m) = self {
            m.set_training(on);
        }
    }
}

impl<T: Params + ?Sized> Params for Box<T> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        (**self).visit(prefix, f)
    }
    fn set_training(&mut self, on: bool) {
        (**self).set_training(on)
    }
}

// Plain fields of a derived module (sizes, rates, names) hold no parameters.
impl Params for f32 {}
impl Params for f64 {}
impl Params for usize {}
impl Params for isize {}
impl Params for i64 {}
impl Params for i32 {}
impl Params for u64 {}
impl Params for bool {}
impl Params for String {}
