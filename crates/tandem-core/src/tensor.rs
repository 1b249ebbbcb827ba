//! The `Tensor` handle: shared storage plus shape, strides and offset, plus autograd metadata.

use crate::autograd::Node;
use crate::dtype::{Buffer, DType, Element};
use crate::shape::{contiguous_strides, numel, Dims};
use crate::storage::Shared;
use crate::storage::Storage;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// Where a tensor's data lives. Only the CPU is implemented; `cuda_if_available` falls back to it,
/// so programs written for a GPU run unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Device {
    /// Main memory.
    #[default]
    Cpu,
    /// A CUDA device by ordinal (reserved; no GPU backend yet).
    Cuda(usize),
}

impl Device {
    /// `torch.device("cuda" if torch.cuda.is_available() else "cpu")`: CPU in this build.
    pub fn cuda_if_available() -> Device {
        Device::Cpu
    }

    /// True when this is the CPU.
    pub fn is_cpu(self) -> bool {
        self == Device::Cpu
    }
}

/// A multi-dimensional array with optional gradient tracking.
///
/// Cloning is cheap: clones are handles to the same tensor (as Python references are).
/// Views (`reshape`, `transpose`, `narrow`, `expand`, ...) share storage without copying.
///
/// ```
/// use tandem_core::Tensor;
/// let t = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]);
/// assert_eq!(t.shape(), &[2, 2]);
/// assert_eq!(t.t().to_vec::<f32>(), vec![1.0, 3.0, 2.0, 4.0]);
/// ```
#[derive(Clone)]
pub struct Tensor(pub(crate) Shared<TensorImpl>);

pub(crate) struct TensorImpl {
    pub(crate) storage: Shared<Storage>,
    pub(crate) shape: Dims,
    pub(crate) strides: Dims,
    pub(crate) offset: usize,
    pub(crate) dtype: DType,
    /// The op that produced this tensor.
    pub(crate) grad_fn: Option<Shared<Node>>,
    /// Set once an in-place op has rebased the tensor; its op is then in the extras'
    /// `rebased_fn`.
    pub(crate) rebased: AtomicBool,
    pub(crate) meta: AutogradMeta,
}

/// A tensor's autograd flags, and what only leaves, named or rebased tensors use, allocated
/// the first time one of them is set: the intermediate results of an eager step carry only
/// the flags and an empty pointer, which keeps each handle small to build and to drop.
#[derive(Default)]
pub(crate) struct AutogradMeta {
    pub(crate) requires_grad: AtomicBool,
    pub(crate) retains_grad: AtomicBool,
    /// Set for `tf::Variable`s: watched automatically by every active `GradientTape`.
    pub(crate) trainable_variable: AtomicBool,
    extras: OnceLock<Box<MetaExtras>>,
}

/// The rarely used part of [`AutogradMeta`].
#[derive(Default)]
pub(crate) struct MetaExtras {
    /// The op of the last in-place update, when `rebased` is set.
    pub(crate) rebased_fn: Mutex<Option<Shared<Node>>>,
    pub(crate) grad: Mutex<Option<Tensor>>,
    pub(crate) name: Mutex<Option<String>>,
    /// Hooks run after `backward()` accumulates into `.grad` (only leaves have any).
    pub(crate) post_accumulate_hooks: Mutex<Option<Box<crate::autograd::Hooks>>>,
}

impl AutogradMeta {
    /// The extras, allocated on first use.
    pub(crate) fn extras(&self) -> &MetaExtras {
        self.extras.get_or_init(Default::default)
    }

    /// The extras, if anything has used them yet.
    pub(crate) fn extras_if_made(&self) -> Option<&MetaExtras> {
        self.extras.get().map(|e| &**e)
    }
}

impl Tensor {
    pub(crate) fn from_parts(
        storage: Shared<Storage>,
        shape: Dims,
        strides: Dims,
        offset: usize,
        dtype: DType,
    ) -> Tensor {
        Tensor(Shared::new(TensorImpl {
            storage,
            shape,
            strides,
            offset,
            dtype,
            grad_fn: None,
            rebased: AtomicBool::new(false),
            meta: AutogradMeta::default(),
        }))
    }

    pub(crate) fn from_buffer(buf: Buffer, shape: &[usize]) -> Tensor {
        assert_eq!(
            buf.len(),
            numel(shape),
            "tensor: {} elements cannot have shape {:?}",
            buf.len(),
            shape
        );
        let dtype = buf.dtype();
        Tensor::from_parts(
            Shared::new(Storage::new(buf)),
            Dims::from_slice(shape),
            contiguous_strides(shape),
            0,
            dtype,
        )
    }

    /// A tensor owning `data`, read row-major into `shape`. The dtype is the Rust element type's.
    ///
    /// Panics when `data.len()` is not the product of `shape`.
    pub fn from_vec<T: Element>(data: Vec<T>, shape: &[usize]) -> Tensor {
        Tensor::from_buffer(T::into_buffer(data), shape)
    }

    /// A 0-dimensional tensor holding `v`.
    pub fn scalar<T: Element>(v: T) -> Tensor {
        Tensor::from_vec(vec![v], &[])
    }

    /// The sizes of each dimension.
    pub fn shape(&self) -> &[usize] {
        &self.0.shape
    }

    /// `shape()` under PyTorch's name.
    pub fn size(&self) -> &[usize] {
        &self.0.shape
    }

    /// Element strides of each dimension.
    pub fn strides(&self) -> &[usize] {
        &self.0.strides
    }

    /// Offset of the first element in the storage.
    pub fn storage_offset(&self) -> usize {
        self.0.offset
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.0.shape.len()
    }

    /// `ndim()` under PyTorch's name.
    pub fn dim(&self) -> usize {
        self.ndim()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        numel(&self.0.shape)
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.0.dtype
    }

    /// Always `Device::Cpu` in this build.
    pub fn device(&self) -> Device {
        Device::Cpu
    }

    /// Moves the tensor to `device` (a no-op on the CPU).
    pub fn to(&self, _device: Device) -> Tensor {
        self.clone()
    }

    /// Whether the elements are laid out row-major without gaps.
    pub fn is_contiguous(&self) -> bool {
        if self.numel() == 0 {
            return true;
        }
        let mut expected = 1;
        for i in (0..self.ndim()).rev() {
            if self.0.shape[i] != 1 && self.0.strides[i] != expected {
                return false;
            }
            expected *= self.0.shape[i];
        }
        true
    }

    /// Whether two handles are the same tensor (Python's `is`).
    pub fn same(&self, other: &Tensor) -> bool {
        Shared::ptr_eq(&self.0, &other.0)
    }

    pub(crate) fn key(&self) -> usize {
        Shared::as_ptr(&self.0) as usize
    }

    pub(crate) fn version(&self) -> u64 {
        self.0.storage.version()
    }

    /// Runs `f` on the contiguous elements of this tensor, copying first if it is a strided view.
    ///
    /// Panics when `T` is not this tensor's element type.
    pub fn with_slice<T: Element, R>(&self, f: impl FnOnce(&[T]) -> R) -> R {
        if !self.is_contiguous() {
            return self.contiguous().with_slice(f);
        }
        let guard = self.0.storage.data.read();
        let s = T::slice(&guard).unwrap_or_else(|| {
            panic!(
                "expected a tensor of dtype {}, got {}",
                T::DTYPE,
                self.dtype()
            )
        });
        let off = self.0.offset;
        f(&s[off..off + self.numel()])
    }

    /// [`with_slice`](Tensor::with_slice) over several contiguous tensors at once: `f` gets
    /// each tensor's elements, in order.
    ///
    /// Panics when a tensor is not contiguous or `T` is not its element type.
    ///
    /// ```
    /// use tandem_core::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f32; 2], &[2]);
    /// let b = Tensor::from_vec(vec![0.0f32; 3], &[3]);
    /// let lens = Tensor::with_slices::<f32, _>(&[a, b], |s| s.iter().map(|x| x.len()).sum::<usize>());
    /// assert_eq!(lens, 5);
    /// ```
    pub fn with_slices<T: Element, R>(tensors: &[Tensor], f: impl FnOnce(&[&[T]]) -> R) -> R {
        let guards: Vec<_> = tensors
            .iter()
            .map(|t| {
                assert!(t.is_contiguous(), "with_slices: tensors must be contiguous");
                t.0.storage.data.read()
            })
            .collect();
        let slices: Vec<&[T]> = guards
            .iter()
            .zip(tensors)
            .map(|(guard, t)| {
                let s = T::slice(guard).unwrap_or_else(|| {
                    panic!("expected a tensor of dtype {}, got {}", T::DTYPE, t.dtype())
                });
                &s[t.0.offset..t.0.offset + t.numel()]
            })
            .collect();
        f(&slices)
    }

    /// All elements in row-major order, converted to `T` (like `tensor.tolist()` flattened).
    ///
    /// ```
    /// use tandem_core::Tensor;
    /// let t = Tensor::from_vec(vec![1i64, 2, 3], &[3]);
    /// assert_eq!(t.to_vec::<f32>(), vec![1.0, 2.0, 3.0]);
    /// ```
    pub fn to_vec<T: Element>(&self) -> Vec<T> {
        if self.dtype() == T::DTYPE {
            return self.with_slice::<T, _>(|s| s.to_vec());
        }
        self.to_dtype(T::DTYPE).with_slice::<T, _>(|s| s.to_vec())
    }

    /// The value of a one-element tensor (`tensor.item()`).
    ///
    /// Panics when the tensor has more than one element.
    pub fn item<T: Element>(&self) -> T {
        assert_eq!(
            self.numel(),
            1,
            "a Tensor with {} elements cannot be converted to Scalar",
            self.numel()
        );
        let guard = self.0.storage.data.read();
        // The same conversion `to_dtype` applies, on the one element, without a new tensor.
        crate::ops::dispatch::dispatch_all!(self.dtype(), S => {
            convert(S::slice(&guard).expect("the storage holds the tensor's dtype")[self.0.offset])
        })
    }

    /// A contiguous tensor with the same values: `self` if already contiguous, else a copy.
    pub fn contiguous(&self) -> Tensor {
        if self.is_contiguous() {
            return self.clone();
        }
        self.contiguous_copy()
    }

    /// Sets the name shown by `tf::Variable`s.
    pub fn set_name(&self, name: &str) {
        *self.0.meta.extras().name.lock() = Some(name.to_string());
    }

    /// The name given with `set_name` or `tf::Variable::with_name`.
    pub fn name(&self) -> Option<String> {
        self.0.meta.extras_if_made()?.name.lock().clone()
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Tensor[shape={:?}, dtype={}, strides={:?}, offset={}",
            self.shape(),
            self.dtype(),
            self.strides(),
            self.storage_offset()
        )?;
        if self.requires_grad() {
            write!(f, ", requires_grad=true")?;
        }
        if let Some(n) = self.grad_fn_name() {
            write!(f, ", grad_fn={n}")?;
        }
        write!(f, "]")
    }
}

/// Rust values that can become a tensor: scalars, (nested) arrays up to 4-D, vectors.
///
/// Rust `f64` and `f32` values become `float32` tensors and integers `int64`, as Python floats and
/// ints do in `torch.tensor` / `tf.constant`; `u8` and `bool` keep their type. Use
/// [`Tensor::from_vec`] to keep an exact Rust type (e.g. `Vec<f64>` as `float64`).
pub trait IntoTensor {
    /// The values in row-major order, their default dtype and the shape.
    fn into_data(self) -> (Buffer, Vec<usize>);
}

/// A Rust scalar usable as a tensor element in literals.
pub trait Scalar: Copy {
    /// The dtype a Python literal of this kind gets (float32 for floats, int64 for ints).
    const DEFAULT: DType;
    /// The value as f64.
    fn as_f64(self) -> f64;
}

macro_rules! scalar_impl {
    ($t:ty, $d:ident) => {
        impl Scalar for $t {
            const DEFAULT: DType = DType::$d;
            fn as_f64(self) -> f64 {
                self as f64
            }
        }
    };
}
scalar_impl!(f32, Float32);
scalar_impl!(f64, Float32);
scalar_impl!(i32, Int64);
scalar_impl!(i64, Int64);
scalar_impl!(u8, UInt8);
scalar_impl!(usize, Int64);
impl Scalar for bool {
    const DEFAULT: DType = DType::Bool;
    fn as_f64(self) -> f64 {
        if self {
            1.0
        } else {
            0.0
        }
    }
}

pub(crate) fn buffer_from_f64(vals: impl Iterator<Item = f64>, dtype: DType) -> Buffer {
    match dtype {
        DType::Float32 => Buffer::F32(vals.map(|v| v as f32).collect()),
        DType::Float64 => Buffer::F64(vals.collect()),
        DType::Int64 => Buffer::I64(vals.map(|v| v as i64).collect()),
        DType::Int32 => Buffer::I32(vals.map(|v| v as i32).collect()),
        DType::UInt8 => Buffer::U8(vals.map(|v| v as u8).collect()),
        DType::Bool => Buffer::Bool(vals.map(|v| v != 0.0).collect()),
    }
}

fn flat<S: Scalar>(vals: &[S], shape: Vec<usize>) -> (Buffer, Vec<usize>) {
    // f32 values are kept bit-exact; everything else goes through f64 exactly.
    (
        buffer_from_f64(vals.iter().map(|v| v.as_f64()), S::DEFAULT),
        shape,
    )
}

impl<S: Scalar> IntoTensor for S {
    fn into_data(self) -> (Buffer, Vec<usize>) {
        flat(&[self], vec![])
    }
}
impl<S: Scalar, const N: usize> IntoTensor for [S; N] {
    fn into_data(self) -> (Buffer, Vec<usize>) {
        flat(&self, vec![N])
    }
}
impl<S: Scalar, const N: usize, const M: usize> IntoTensor for [[S; N]; M] {
    fn into_data(self) -> (Buffer, Vec<usize>) {
        flat(self.as_flattened(), vec![M, N])
    }
}
impl<S: Scalar, const N: usize, const M: usize, const L: usize> IntoTensor for [[[S; N]; M]; L] {
    fn into_data(self) -> (Buffer, Vec<usize>) {
        flat(self.as_flattened().as_flattened(), vec![L, M, N])
    }
}
impl<S: Scalar, const N: usize, const M: usize, const L: usize, const K: usize> IntoTensor
    for [[[[S; N]; M]; L]; K]
{
    fn into_data(self) -> (Buffer, Vec<usize>) {
        flat(
            self.as_flattened().as_flattened().as_flattened(),
            vec![K, L, M, N],
        )
    }
}
impl<S: Scalar> IntoTensor for Vec<S> {
    fn into_data(self) -> (Buffer, Vec<usize>) {
        let n = self.len();
        flat(&self, vec![n])
    }
}
impl<S: Scalar> IntoTensor for &[S] {
    fn into_data(self) -> (Buffer, Vec<usize>) {
        flat(self, vec![self.len()])
    }
}
impl<S: Scalar> IntoTensor for Vec<Vec<S>> {
    fn into_data(self) -> (Buffer, Vec<usize>) {
        let rows = self.len();
        let cols = self.first().map_or(0, |r| r.len());
        for (i, r) in self.iter().enumerate() {
            assert_eq!(
                r.len(),
                cols,
                "tensor: expected sequence of length {cols} at dim 1 (got {} at row {i})",
                r.len()
            );
        }
        let all: Vec<S> = self.into_iter().flatten().collect();
        flat(&all, vec![rows, cols])
    }
}
impl IntoTensor for Tensor {
    fn into_data(self) -> (Buffer, Vec<usize>) {
        let shape = self.shape().to_vec();
        let buf = self.contiguous_buffer();
        (buf, shape)
    }
}
impl IntoTensor for &Tensor {
    fn into_data(self) -> (Buffer, Vec<usize>) {
        self.clone().into_data()
    }
}

impl Tensor {
    /// Builds a tensor from Rust data (see [`IntoTensor`] for the dtypes chosen).
    pub fn new(data: impl IntoTensor) -> Tensor {
        let (buf, shape) = data.into_data();
        Tensor::from_buffer(buf, &shape)
    }

    /// Builds a tensor from Rust data with an explicit dtype.
    pub fn new_with_dtype(data: impl IntoTensor, dtype: DType) -> Tensor {
        let t = Tensor::new(data);
        if t.dtype() == dtype {
            t
        } else {
            t.to_dtype(dtype).detach()
        }
    }

    /// A fresh copy of the elements, row-major.
    pub(crate) fn contiguous_buffer(&self) -> Buffer {
        let c = self.contiguous();
        let guard = c.0.storage.data.read();
        let (off, n) = (c.0.offset, c.numel());
        match &*guard {
            Buffer::F32(v) => Buffer::F32(v[off..off + n].to_vec()),
            Buffer::F64(v) => Buffer::F64(v[off..off + n].to_vec()),
            Buffer::I64(v) => Buffer::I64(v[off..off + n].to_vec()),
            Buffer::I32(v) => Buffer::I32(v[off..off + n].to_vec()),
            Buffer::U8(v) => Buffer::U8(v[off..off + n].to_vec()),
            Buffer::Bool(v) => Buffer::Bool(v[off..off + n].to_vec()),
        }
    }
}

/// Whether the `requires_grad` flag of a fresh leaf should be set: only float tensors can.
pub(crate) fn check_can_require_grad(t: &Tensor) {
    assert!(
        t.dtype().is_float(),
        "only Tensors of floating point dtype can require gradients (got {})",
        t.dtype()
    );
}

impl Tensor {
    pub(crate) fn requires_grad_flag(&self) -> bool {
        self.0.meta.requires_grad.load(Ordering::Relaxed)
    }
}

/// One element converted as `to_dtype` converts (through `f64`), or unchanged when the types
/// are the same (so large int64 values keep every digit).
fn convert<S: Element, T: Element>(x: S) -> T {
    match (&x as &dyn std::any::Any).downcast_ref::<T>() {
        Some(same) => *same,
        None => T::from_f64(x.to_f64()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_converts_one_element_as_to_dtype_does() {
        // 2^53 + 1 has no float64: an int64 read as int64 keeps it.
        let big = (1i64 << 53) + 1;
        assert_eq!(Tensor::scalar(big).item::<i64>(), big);
        // Float to int truncates toward zero, as `to_dtype` does.
        assert_eq!(Tensor::scalar(-2.7f32).item::<i64>(), -2);
        assert_eq!(
            Tensor::scalar(-2.7f32)
                .to_dtype(DType::Int64)
                .to_vec::<i64>(),
            [-2]
        );
        assert_eq!(Tensor::scalar(true).item::<f32>(), 1.0);
        assert_eq!(Tensor::scalar(0.1f32).item::<f64>(), f64::from(0.1f32));
        // A one-element view reads its own element, not the storage's first.
        let t = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]);
        assert_eq!(t.select(0, 1).narrow(0, 1, 1).item::<f64>(), 4.0);
    }

    #[test]
    #[should_panic(expected = "cannot be converted to Scalar")]
    fn item_of_several_elements_is_refused() {
        Tensor::from_vec(vec![1.0f32, 2.0], &[2]).item::<f32>();
    }
}
