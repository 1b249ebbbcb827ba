//! The PyTorch idiom: `torch::tensor`, `torch::add`, `requires_grad_`, `autograd::grad`,
//! `no_grad`, ... over tandem's one engine.
//!
//! ```
//! use tandem::torch;
//! let x = torch::tensor([2.0, 3.0, 4.0]);
//! assert_eq!(torch::cumsum(&x, 0).to_string(), "tensor([2., 5., 9.])");
//! ```
#![allow(non_upper_case_globals)]

pub use crate::Axes;
pub use tandem_core::{
    arange, eye, full, full_like, linspace, manual_seed, multinomial, ones_like, rand, randint,
    randn, randperm, zeros_like, DType, Device, IntoTensor, Operand, Tensor,
};
pub use tandem_core::{are_deterministic_algorithms_enabled, use_deterministic_algorithms};

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

    /// `torch.nn.parallel`: `DistributedDataParallel(model)` (launch with `mpirun`; see
    /// [`torch::distributed`](crate::torch::distributed)).
    pub mod parallel {
        pub use tandem_distributed::{DdpOptions, DistributedDataParallel, NoSync};
    }
}

/// `torch.distributed`: the process group over MPI and its collectives. Start the program
/// with `mpirun -np N`; started alone, it is a world of one.
///
/// ```
/// use tandem::torch::{self, distributed as dist};
/// dist::init_process_group("mpi")?;
/// let t = torch::tensor([1.0, 2.0]);
/// dist::all_reduce(&t, dist::ReduceOp::Sum)?;
/// assert_eq!(dist::get_world_size()?, 1);
/// dist::destroy_process_group()?;
/// # Ok::<(), dist::DistError>(())
/// ```
pub mod distributed {
    pub use tandem_distributed::{
        all_gather, all_reduce, barrier, broadcast, destroy_process_group, get_rank,
        get_world_size, init_process_group, is_initialized, DistError, ReduceOp, Work,
    };
}

/// `torch.load(path, weights_only=True)` of a state dict saved by PyTorch's `torch.save`
/// (`model.load_state_dict(&torch::load("m.pt")?, true)`), `torch.load(path)[key]` for a
/// nested checkpoint, and `torch.save(model.state_dict(), path)`; see [`tandem_nn::pt`].
pub use tandem_nn::pt::{load, load_key, save, StateDict};

/// `torch.onnx`: `torch::onnx::export(&mut model, &example_input, "m.onnx")`.
pub mod onnx {
    pub use tandem_nn::onnx::*;
}

/// `torch.optim`.
/// `torch::optim::lr_scheduler::StepLR` as PyTorch spells it, and the short `torch::optim::StepLR`.
pub mod optim {
    pub use tandem_nn::optim::*;
}

/// `torch.utils`.
pub mod utils {
    /// `torch.utils.data`: datasets and loaders.
    pub mod data {
        pub use tandem_data::{random_split, DataLoader, Dataset, Sampler, Subset, TensorDataset};
        pub use tandem_distributed::DistributedSampler;

        /// `torch.utils.data.distributed`.
        pub mod distributed {
            pub use tandem_distributed::DistributedSampler;
        }
    }
}

/// `torch.autograd`.
pub mod autograd {
    pub use tandem_core::autograd::{
        grad, grad_with, gradcheck, gradgradcheck, Function, FunctionCtx, GradOptions,
    };
}

pub use tandem_core::autograd::{enable_grad, is_grad_enabled, no_grad, set_grad_enabled};

/// `torch.add(a, b)`
pub fn add(a: &Tensor, b: impl Into<Operand>) -> Tensor {
    a.add(b)
}

/// `torch.sub(a, b)`
pub fn sub(a: &Tensor, b: impl Into<Operand>) -> Tensor {
    a.sub(b)
}

/// `torch.subtract(a, b)`
pub fn subtract(a: &Tensor, b: impl Into<Operand>) -> Tensor {
    a.sub(b)
}

/// `torch.mul(a, b)`
pub fn mul(a: &Tensor, b: impl Into<Operand>) -> Tensor {
    a.mul(b)
}

/// `torch.multiply(a, b)`
pub fn multiply(a: &Tensor, b: impl Into<Operand>) -> Tensor {
    a.mul(b)
}

/// `torch.div(a, b)` (true division)
pub fn div(a: &Tensor, b: impl Into<Operand>) -> Tensor {
    a.div(b)
}

/// `torch.divide(a, b)`
pub fn divide(a: &Tensor, b: impl Into<Operand>) -> Tensor {
    a.div(b)
}

/// `torch.pow(a, exponent)`
pub fn pow(a: &Tensor, b: impl Into<Operand>) -> Tensor {
    a.pow(b)
}

/// `torch.maximum(a, b)`
pub fn maximum(a: &Tensor, b: impl Into<Operand>) -> Tensor {
    a.maximum(b)
}

/// `torch.minimum(a, b)`
pub fn minimum(a: &Tensor, b: impl Into<Operand>) -> Tensor {
    a.minimum(b)
}

/// `torch.eq(a, b)`
pub fn eq(a: &Tensor, b: impl Into<Operand>) -> Tensor {
    a.eq(b)
}

/// `torch.ne(a, b)`
pub fn ne(a: &Tensor, b: impl Into<Operand>) -> Tensor {
    a.ne(b)
}

/// `torch.lt(a, b)`
pub fn lt(a: &Tensor, b: impl Into<Operand>) -> Tensor {
    a.lt(b)
}

/// `torch.le(a, b)`
pub fn le(a: &Tensor, b: impl Into<Operand>) -> Tensor {
    a.le(b)
}

/// `torch.gt(a, b)`
pub fn gt(a: &Tensor, b: impl Into<Operand>) -> Tensor {
    a.gt(b)
}

/// `torch.ge(a, b)`
pub fn ge(a: &Tensor, b: impl Into<Operand>) -> Tensor {
    a.ge(b)
}

/// `torch.neg(x)`: flips the sign.
pub fn neg(x: &Tensor) -> Tensor {
    x.neg()
}

/// `torch.negative(x)`.
pub fn negative(x: &Tensor) -> Tensor {
    x.neg()
}

/// `torch.abs(x)`.
pub fn abs(x: &Tensor) -> Tensor {
    x.abs()
}

/// `torch.sign(x)`.
pub fn sign(x: &Tensor) -> Tensor {
    x.sign()
}

/// `torch.round(x)` (half to even).
pub fn round(x: &Tensor) -> Tensor {
    x.round()
}

/// `torch.ceil(x)`.
pub fn ceil(x: &Tensor) -> Tensor {
    x.ceil()
}

/// `torch.floor(x)`.
pub fn floor(x: &Tensor) -> Tensor {
    x.floor()
}

/// `torch.square(x)`.
pub fn square(x: &Tensor) -> Tensor {
    x.square()
}

/// `torch.sqrt(x)`.
pub fn sqrt(x: &Tensor) -> Tensor {
    x.sqrt()
}

/// `torch.rsqrt(x)`.
pub fn rsqrt(x: &Tensor) -> Tensor {
    x.rsqrt()
}

/// `torch.reciprocal(x)`.
pub fn reciprocal(x: &Tensor) -> Tensor {
    x.reciprocal()
}

/// `torch.log(x)`.
pub fn log(x: &Tensor) -> Tensor {
    x.log()
}

/// `torch.log1p(x)`.
pub fn log1p(x: &Tensor) -> Tensor {
    x.log1p()
}

/// `torch.exp(x)`.
pub fn exp(x: &Tensor) -> Tensor {
    x.exp()
}

/// `torch.expm1(x)`.
pub fn expm1(x: &Tensor) -> Tensor {
    x.expm1()
}

/// `torch.sin(x)`.
pub fn sin(x: &Tensor) -> Tensor {
    x.sin()
}

/// `torch.cos(x)`.
pub fn cos(x: &Tensor) -> Tensor {
    x.cos()
}

/// `torch.tanh(x)`.
pub fn tanh(x: &Tensor) -> Tensor {
    x.tanh()
}

/// `torch.sigmoid(x)`.
pub fn sigmoid(x: &Tensor) -> Tensor {
    x.sigmoid()
}

/// `torch.relu(x)`.
pub fn relu(x: &Tensor) -> Tensor {
    x.relu()
}

/// `torch.sum(x)`.
pub fn sum(x: &Tensor) -> Tensor {
    x.sum()
}

/// `torch.mean(x)`.
pub fn mean(x: &Tensor) -> Tensor {
    x.mean()
}

/// `torch.prod(x)`.
pub fn prod(x: &Tensor) -> Tensor {
    x.prod()
}

/// `torch.max(x)`.
pub fn max(x: &Tensor) -> Tensor {
    x.max()
}

/// `torch.min(x)`.
pub fn min(x: &Tensor) -> Tensor {
    x.min()
}

/// `torch.var(x)` (unbiased).
pub fn var(x: &Tensor) -> Tensor {
    x.var()
}

/// `torch.std(x)` (unbiased).
pub fn std(x: &Tensor) -> Tensor {
    x.std()
}

/// `torch.isnan(x)`.
pub fn isnan(x: &Tensor) -> Tensor {
    x.isnan()
}

/// `torch.isfinite(x)`.
pub fn isfinite(x: &Tensor) -> Tensor {
    x.isfinite()
}

/// `torch.logical_not(x)`.
pub fn logical_not(x: &Tensor) -> Tensor {
    x.logical_not()
}

/// `torch.t(x)`.
pub fn t(x: &Tensor) -> Tensor {
    x.t()
}

/// `torch.sum(x, dim, keepdim)`: `torch.sum(x, dim=1, keepdim=True)` is
/// `torch::sum_dim(&x, 1, true)`; `dim` may be one (`-1`) or several (`[0, 1]`). The other
/// reductions have the same `_dim` form.
///
/// ```
/// use tandem::torch;
/// let x = torch::tensor([[1.0, 2.0], [3.0, 4.0]]);
/// assert_eq!(torch::sum_dim(&x, 1, true).shape(), &[2, 1]);
/// assert_eq!(torch::mean_dim(&x, 0, false).to_vec::<f32>(), [2.0, 3.0]);
/// assert_eq!(torch::amax(&x, [0, 1], false).item::<f32>(), 4.0);
/// ```
pub fn sum_dim(x: &Tensor, dim: impl Into<Axes>, keepdim: bool) -> Tensor {
    x.sum_dims(&dim.into().0, keepdim)
}

/// `torch.mean(x, dim, keepdim)`.
pub fn mean_dim(x: &Tensor, dim: impl Into<Axes>, keepdim: bool) -> Tensor {
    x.mean_dims(&dim.into().0, keepdim)
}

/// `torch.prod(x, dim, keepdim)`.
pub fn prod_dim(x: &Tensor, dim: impl Into<Axes>, keepdim: bool) -> Tensor {
    x.prod_dims(&dim.into().0, keepdim)
}

/// `torch.var(x, dim, keepdim)` (unbiased, PyTorch's default).
pub fn var_dim(x: &Tensor, dim: impl Into<Axes>, keepdim: bool) -> Tensor {
    x.var_dims(&dim.into().0, 1, keepdim)
}

/// `torch.std(x, dim, keepdim)` (unbiased, PyTorch's default).
pub fn std_dim(x: &Tensor, dim: impl Into<Axes>, keepdim: bool) -> Tensor {
    x.std_dims(&dim.into().0, 1, keepdim)
}

/// `torch.amax(x, dim, keepdim)`.
pub fn amax(x: &Tensor, dim: impl Into<Axes>, keepdim: bool) -> Tensor {
    let dims = dim.into().descending(x.ndim());
    dims.iter().fold(x.clone(), |t, &d| t.amax(d, keepdim))
}

/// `torch.amin(x, dim, keepdim)`.
pub fn amin(x: &Tensor, dim: impl Into<Axes>, keepdim: bool) -> Tensor {
    let dims = dim.into().descending(x.ndim());
    dims.iter().fold(x.clone(), |t, &d| t.amin(d, keepdim))
}

/// `torch.logsumexp(x, dim, keepdim)`.
pub fn logsumexp(x: &Tensor, dim: impl Into<Axes>, keepdim: bool) -> Tensor {
    x.logsumexp(&dim.into().0, keepdim)
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
