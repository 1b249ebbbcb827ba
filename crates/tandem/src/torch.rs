//! The PyTorch idiom: `torch::tensor`, `torch::add`, `requires_grad_`, `autograd::grad`,
//! `no_grad`, ... over tandem's one engine.
//!
//! ```
//! use tandem::torch;
//! let x = torch::tensor([2.0, 3.0, 4.0]);
//! assert_eq!(torch::cumsum(&x, 0).to_string(), "tensor([2., 5., 9.])");
//! ```
#![allow(non_upper_case_globals)]

pub use tandem_core::{
    arange, eye, full, full_like, linspace, manual_seed, multinomial, ones_like, rand, randint,
    randn, randperm, zeros_like, DType, Device, IntoTensor, Operand, Tensor,
};

/// `torch.float32`.
pub const float32: DType = DType::Float32;
/// `torch.float`.
pub const float: DType = DType::Float32;
/// `torch.float64`.
pub const float64: DType = DType::Float64;
/// `torch.double`.
pub const double: DType = DType::Float64;
/// `torch.int64`.
pub const int64: DType = DType::Int64;
/// `torch.long`.
pub const long: DType = DType::Int64;
/// `torch.int32`.
pub const int32: DType = DType::Int32;
/// `torch.uint8`.
pub const uint8: DType = DType::UInt8;
/// `torch.bool`.
pub const bool: DType = DType::Bool;

/// `torch.tensor(data)`: Rust floats become float32 and integers int64, as Python's do.
pub fn tensor(data: impl IntoTensor) -> Tensor {
    Tensor::new(data)
}

/// `torch.tensor(data, dtype=...)`.
pub fn tensor_with(data: impl IntoTensor, dtype: DType) -> Tensor {
    Tensor::new_with_dtype(data, dtype)
}

/// `torch.zeros(shape)` (float32).
pub fn zeros(shape: &[usize]) -> Tensor {
    tandem_core::zeros(shape, DType::Float32)
}

/// `torch.ones(shape)` (float32).
pub fn ones(shape: &[usize]) -> Tensor {
    tandem_core::ones(shape, DType::Float32)
}

/// `torch.device("cpu")` / `torch.device("cuda")`: unknown names are the CPU.
pub fn device(name: &str) -> Device {
    if name.starts_with("cuda") {
        Device::cuda_if_available()
    } else {
        Device::Cpu
    }
}

/// `torch.cuda`.
pub mod cuda {
    /// `torch.cuda.is_available()`: false in this build (CPU only).
    pub fn is_available() -> bool {
        false
    }
}

/// `torch.nn`: modules, layers, losses, `init` and `functional`.
pub mod nn {
    pub use tandem_nn::*;
}

/// `torch.optim`.
pub mod optim {
    pub use tandem_nn::optim::*;
}

/// `torch.utils`.
pub mod utils {
    /// `torch.utils.data`: datasets and loaders.
    pub mod data {
        pub use tandem_data::{random_split, DataLoader, Dataset, Subset, TensorDataset};
    }
}

/// `torch.autograd`.
pub mod autograd {
    pub use tandem_core::autograd::{grad, grad_with, gradcheck, gradgradcheck, GradOptions};
}

pub use tandem_core::autograd::{enable_grad, is_grad_enabled, no_grad, set_grad_enabled};

macro_rules! binary_fns {
    ($($name:ident => $method:ident, $doc:literal;)*) => {$(
        #[doc = $doc]
        pub fn $name(a: &Tensor, b: impl Into<Operand>) -> Tensor {
            a.$method(b)
        }
    )*};
}
binary_fns! {
    add => add, "`torch.add(a, b)`";
    sub => sub, "`torch.sub(a, b)`";
    subtract => sub, "`torch.subtract(a, b)`";
    mul => mul, "`torch.mul(a, b)`";
    multiply => mul, "`torch.multiply(a, b)`";
    div => div, "`torch.div(a, b)` (true division)";
    divide => div, "`torch.divide(a, b)`";
    pow => pow, "`torch.pow(a, exponent)`";
    maximum => maximum, "`torch.maximum(a, b)`";
    minimum => minimum, "`torch.minimum(a, b)`";
    eq => eq, "`torch.eq(a, b)`";
    ne => ne, "`torch.ne(a, b)`";
    lt => lt, "`torch.lt(a, b)`";
    le => le, "`torch.le(a, b)`";
    gt => gt, "`torch.gt(a, b)`";
    ge => ge, "`torch.ge(a, b)`";
}

macro_rules! unary_fns {
    ($($name:ident => $method:ident, $doc:literal;)*) => {$(
        #[doc = $doc]
        pub fn $name(x: &Tensor) -> Tensor {
            x.$method()
        }
    )*};
}
unary_fns! {
    neg => neg, "`torch.neg(x)`: flips the sign.";
    negative => neg, "`torch.negative(x)`.";
    abs => abs, "`torch.abs(x)`.";
    sign => sign, "`torch.sign(x)`.";
    round => round, "`torch.round(x)` (half to even).";
    ceil => ceil, "`torch.ceil(x)`.";
    floor => floor, "`torch.floor(x)`.";
    square => square, "`torch.square(x)`.";
    sqrt => sqrt, "`torch.sqrt(x)`.";
    rsqrt => rsqrt, "`torch.rsqrt(x)`.";
    reciprocal => reciprocal, "`torch.reciprocal(x)`.";
    log => log, "`torch.log(x)`.";
    log1p => log1p, "`torch.log1p(x)`.";
    exp => exp, "`torch.exp(x)`.";
    expm1 => expm1, "`torch.expm1(x)`.";
    sin => sin, "`torch.sin(x)`.";
    cos => cos, "`torch.cos(x)`.";
    tanh => tanh, "`torch.tanh(x)`.";
    sigmoid => sigmoid, "`torch.sigmoid(x)`.";
    relu => relu, "`torch.relu(x)`.";
    sum => sum, "`torch.sum(x)`.";
    mean => mean, "`torch.mean(x)`.";
    prod => prod, "`torch.prod(x)`.";
    max => max, "`torch.max(x)`.";
    min => min, "`torch.min(x)`.";
    var => var, "`torch.var(x)` (unbiased).";
    std => std, "`torch.std(x)` (unbiased).";
    isnan => isnan, "`torch.isnan(x)`.";
    isfinite => isfinite, "`torch.isfinite(x)`.";
    logical_not => logical_not, "`torch.logical_not(x)`.";
    t => t, "`torch.t(x)`.";
}

/// `torch.cumsum(x, dim)`.
pub fn cumsum(x: &Tensor, dim: isize) -> Tensor {
    x.cumsum(dim)
}

/// `torch.cumprod(x, dim)`.
pub fn cumprod(x: &Tensor, dim: isize) -> Tensor {
    x.cumprod(dim)
}

/// `torch.softmax(x, dim)`.
pub fn softmax(x: &Tensor, dim: isize) -> Tensor {
    x.softmax(dim)
}

/// `torch.log_softmax(x, dim)`.
pub fn log_softmax(x: &Tensor, dim: isize) -> Tensor {
    x.log_softmax(dim)
}

/// `torch.logsumexp(x, dims, keepdim)`.
pub fn logsumexp(x: &Tensor, dims: &[isize], keepdim: bool) -> Tensor {
    x.logsumexp(dims, keepdim)
}

/// `torch.argmax(x, dim)`.
pub fn argmax(x: &Tensor, dim: Option<isize>) -> Tensor {
    x.argmax(dim, false)
}

/// `torch.clamp(x, min, max)`.
pub fn clamp(x: &Tensor, min: Option<f64>, max: Option<f64>) -> Tensor {
    x.clamp(min, max)
}

/// `torch.matmul(a, b)`.
pub fn matmul(a: &Tensor, b: &Tensor) -> Tensor {
    a.matmul(b)
}

/// `torch.mm(a, b)`.
pub fn mm(a: &Tensor, b: &Tensor) -> Tensor {
    a.mm(b)
}

/// `torch.bmm(a, b)`.
pub fn bmm(a: &Tensor, b: &Tensor) -> Tensor {
    a.bmm(b)
}

/// `torch.dot(a, b)`.
pub fn dot(a: &Tensor, b: &Tensor) -> Tensor {
    a.dot(b)
}

/// `torch.outer(a, b)`.
pub fn outer(a: &Tensor, b: &Tensor) -> Tensor {
    a.outer(b)
}

/// `torch.cat(tensors, dim)`.
pub fn cat(tensors: &[&Tensor], dim: isize) -> Tensor {
    Tensor::cat(tensors, dim)
}

/// `torch.flip(input, dims)`: reverses the order along each of `dims`.
pub fn flip(input: &Tensor, dims: &[isize]) -> Tensor {
    input.flip(dims)
}

/// `torch.stack(tensors, dim)`.
pub fn stack(tensors: &[&Tensor], dim: isize) -> Tensor {
    Tensor::stack(tensors, dim)
}

/// `torch.where(cond, a, b)`.
pub fn where_(cond: &Tensor, a: &Tensor, b: &Tensor) -> Tensor {
    Tensor::where_(cond, a, b)
}

/// `torch.gather(x, dim, index)`.
pub fn gather(x: &Tensor, dim: isize, index: &Tensor) -> Tensor {
    x.gather(dim, index)
}

/// `torch.index_select(x, dim, index)`.
pub fn index_select(x: &Tensor, dim: isize, index: &Tensor) -> Tensor {
    x.index_select(dim, index)
}

/// `torch.flatten(x, start, end)`.
pub fn flatten(x: &Tensor, start: isize, end: isize) -> Tensor {
    x.flatten(start, end)
}

/// `torch.reshape(x, shape)`.
pub fn reshape(x: &Tensor, shape: &[isize]) -> Tensor {
    x.reshape(shape)
}

/// `torch.transpose(x, d0, d1)`.
pub fn transpose(x: &Tensor, d0: isize, d1: isize) -> Tensor {
    x.transpose(d0, d1)
}

/// `torch.clone(x)`: a differentiable copy.
pub fn clone(x: &Tensor) -> Tensor {
    x.contiguous_copy()
}

/// `torch.allclose(a, b, rtol, atol)`.
pub fn allclose(a: &Tensor, b: &Tensor, rtol: f64, atol: f64) -> bool {
    a.allclose(b, rtol, atol)
}
