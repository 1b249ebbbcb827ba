//! Element types and PyTorch's type-promotion rules.

use std::fmt;

/// The element type of a tensor.
///
/// `Float32` is the default for floating-point data and `Int64` the default for integers,
/// as in PyTorch.
///
/// ```
/// use tandem_core::DType;
/// assert_eq!(DType::promote(DType::Int64, DType::Float32), DType::Float32);
/// assert!(DType::Float64.is_float());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit float (`torch.float32`, `tf.float32`).
    Float32,
    /// 64-bit float (`torch.float64`, `tf.float64`).
    Float64,
    /// 64-bit signed integer (`torch.int64`, `tf.int64`).
    Int64,
    /// 32-bit signed integer (`torch.int32`, `tf.int32`).
    Int32,
    /// 8-bit unsigned integer, for raw images (`torch.uint8`).
    UInt8,
    /// Boolean, for masks and comparisons (`torch.bool`).
    Bool,
}

impl DType {
    /// True for `Float32` and `Float64`.
    pub fn is_float(self) -> bool {
        matches!(self, DType::Float32 | DType::Float64)
    }

    /// True for the integer types (not `Bool`).
    pub fn is_int(self) -> bool {
        matches!(self, DType::Int64 | DType::Int32 | DType::UInt8)
    }

    /// Size of one element in bytes.
    pub fn size_in_bytes(self) -> usize {
        match self {
            DType::Float64 | DType::Int64 => 8,
            DType::Float32 | DType::Int32 => 4,
            DType::UInt8 | DType::Bool => 1,
        }
    }

    /// PyTorch's name (`torch.float32`).
    pub fn torch_name(self) -> &'static str {
        match self {
            DType::Float32 => "torch.float32",
            DType::Float64 => "torch.float64",
            DType::Int64 => "torch.int64",
            DType::Int32 => "torch.int32",
            DType::UInt8 => "torch.uint8",
            DType::Bool => "torch.bool",
        }
    }

    /// TensorFlow's / NumPy's name (`float32`).
    pub fn tf_name(self) -> &'static str {
        match self {
            DType::Float32 => "float32",
            DType::Float64 => "float64",
            DType::Int64 => "int64",
            DType::Int32 => "int32",
            DType::UInt8 => "uint8",
            DType::Bool => "bool",
        }
    }

    fn rank(self) -> u8 {
        match self {
            DType::Bool => 0,
            DType::UInt8 => 1,
            DType::Int32 => 2,
            DType::Int64 => 3,
            DType::Float32 => 4,
            DType::Float64 => 5,
        }
    }

    /// The result type of a binary op between two tensors of these types.
    ///
    /// PyTorch's rules for tensors of the same category order: `bool < uint8 < int32 < int64 <
    /// float32 < float64`, and the result is the larger of the two. (PyTorch's rule that a
    /// 0-dimensional tensor does not promote a higher-dimensional one of the same category is
    /// applied by [`DType::promote_with_dims`].)
    pub fn promote(a: DType, b: DType) -> DType {
        if a.rank() >= b.rank() {
            a
        } else {
            b
        }
    }

    fn category(self) -> u8 {
        match self {
            DType::Bool => 0,
            DType::UInt8 | DType::Int32 | DType::Int64 => 1,
            DType::Float32 | DType::Float64 => 2,
        }
    }

    /// Promotion with PyTorch's dimension rule: when one operand is 0-dimensional and the other
    /// is not, the 0-d operand only changes the result type if it is of a higher category
    /// (bool < integer < float). So `float32 tensor * float64 scalar-tensor` stays float32, and
    /// `int64 tensor * float32 scalar-tensor` becomes float32.
    pub fn promote_with_dims(a: DType, a_scalar: bool, b: DType, b_scalar: bool) -> DType {
        if a_scalar == b_scalar {
            return DType::promote(a, b);
        }
        let (t, s) = if a_scalar { (b, a) } else { (a, b) };
        if s.category() > t.category() {
            s
        } else {
            t
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tf_name())
    }
}

/// Keeps [`Element`] closed: the kernels rely on each type's dtype tag and layout, so only the
/// six types below implement it.
mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
    impl Sealed for i64 {}
    impl Sealed for i32 {}
    impl Sealed for u8 {}
    impl Sealed for bool {}
}

/// A Rust scalar type that can be stored in a tensor: `f32`, `f64`, `i64`, `i32`, `u8` and
/// `bool` (sealed; no other type can implement it).
pub trait Element:
    sealed::Sealed + Copy + Send + Sync + PartialOrd + fmt::Debug + Default + 'static
{
    /// The dtype tag for this type.
    const DTYPE: DType;
    /// Widening conversion used by casts and printing.
    fn to_f64(self) -> f64;
    /// Narrowing conversion used by casts (saturating/truncating like `as`).
    fn from_f64(v: f64) -> Self;
    /// Wraps a vector into a typed buffer.
    fn into_buffer(v: Vec<Self>) -> Buffer;
    /// Borrows the slice if the buffer holds this type.
    fn slice(b: &Buffer) -> Option<&[Self]>;
    /// Mutably borrows the slice if the buffer holds this type.
    fn slice_mut(b: &mut Buffer) -> Option<&mut [Self]>;
}

/// Typed, contiguous element storage.
#[derive(Clone, Debug)]
pub enum Buffer {
    /// float32 elements.
    F32(Vec<f32>),
    /// float64 elements.
    F64(Vec<f64>),
    /// int64 elements.
    I64(Vec<i64>),
    /// int32 elements.
    I32(Vec<i32>),
    /// uint8 elements.
    U8(Vec<u8>),
    /// bool elements.
    Bool(Vec<bool>),
}

impl Buffer {
    /// The dtype of the elements.
    pub fn dtype(&self) -> DType {
        match self {
            Buffer::F32(_) => DType::Float32,
            Buffer::F64(_) => DType::Float64,
            Buffer::I64(_) => DType::Int64,
            Buffer::I32(_) => DType::Int32,
            Buffer::U8(_) => DType::UInt8,
            Buffer::Bool(_) => DType::Bool,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Buffer::F32(v) => v.len(),
            Buffer::F64(v) => v.len(),
            Buffer::I64(v) => v.len(),
            Buffer::I32(v) => v.len(),
            Buffer::U8(v) => v.len(),
            Buffer::Bool(v) => v.len(),
        }
    }

    /// True when the buffer holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

macro_rules! impl_element {
    ($t:ty, $dt:ident, $var:ident, $to:expr, $from:expr) => {
        impl Element for $t {
            const DTYPE: DType = DType::$dt;
            #[inline(always)]
            fn to_f64(self) -> f64 {
                ($to)(self)
            }
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                ($from)(v)
            }
            fn into_buffer(v: Vec<Self>) -> Buffer {
                Buffer::$var(v)
            }
            fn slice(b: &Buffer) -> Option<&[Self]> {
                match b {
                    Buffer::$var(v) => Some(v),
                    _ => None,
                }
            }
            fn slice_mut(b: &mut Buffer) -> Option<&mut [Self]> {
                match b {
                    Buffer::$var(v) => Some(v),
                    _ => None,
                }
            }
        }
    };
}

impl_element!(f32, Float32, F32, |x: f32| x as f64, |v: f64| v as f32);
impl_element!(f64, Float64, F64, |x: f64| x, |v: f64| v);
impl_element!(i64, Int64, I64, |x: i64| x as f64, |v: f64| v as i64);
impl_element!(i32, Int32, I32, |x: i32| x as f64, |v: f64| v as i32);
impl_element!(u8, UInt8, U8, |x: u8| x as f64, |v: f64| v as u8);
impl_element!(
    bool,
    Bool,
    Bool,
    |x: bool| if x { 1.0 } else { 0.0 },
    |v: f64| v != 0.0
);

/// Floating-point elements: the types that autograd and the math functions work on.
pub trait Float:
    Element
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Neg<Output = Self>
{
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;
    /// Largest finite value's negation, used as the start of a max.
    const NEG_INF: Self;
    /// Positive infinity.
    const INF: Self;
    /// Lossless conversion from f32.
    fn from_f32(v: f32) -> Self;
    /// `self.exp()`.
    fn exp(self) -> Self;
    /// `self.ln()`.
    fn ln(self) -> Self;
    /// `self.sqrt()`.
    fn sqrt(self) -> Self;
    /// `self.powf(e)`.
    fn powf(self, e: Self) -> Self;
    /// `self.tanh()`.
    fn tanh(self) -> Self;
    /// `self.abs()`.
    fn abs(self) -> Self;
    /// Round half to even, as PyTorch's `round`.
    fn round_even(self) -> Self;
    /// `self.floor()`.
    fn floor(self) -> Self;
    /// `self.ceil()`.
    fn ceil(self) -> Self;
    /// `self.sin()`.
    fn sin(self) -> Self;
    /// `self.cos()`.
    fn cos(self) -> Self;
    /// `self.ln_1p()`.
    fn ln_1p(self) -> Self;
    /// `self.exp_m1()`.
    fn exp_m1(self) -> Self;
    /// NaN test.
    fn is_nan(self) -> bool;
    /// Finite test.
    fn is_finite(self) -> bool;
}

macro_rules! impl_float {
    ($t:ident) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const NEG_INF: Self = $t::NEG_INFINITY;
            const INF: Self = $t::INFINITY;
            #[inline(always)]
            fn from_f32(v: f32) -> Self {
                v as $t
            }
            #[inline(always)]
            fn exp(self) -> Self {
                $t::exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                $t::ln(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                $t::sqrt(self)
            }
            #[inline(always)]
            fn powf(self, e: Self) -> Self {
                $t::powf(self, e)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                $t::tanh(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                $t::abs(self)
            }
            #[inline(always)]
            fn round_even(self) -> Self {
                $t::round_ties_even(self)
            }
            #[inline(always)]
            fn floor(self) -> Self {
                $t::floor(self)
            }
            #[inline(always)]
            fn ceil(self) -> Self {
                $t::ceil(self)
            }
            #[inline(always)]
            fn sin(self) -> Self {
                $t::sin(self)
            }
            #[inline(always)]
            fn cos(self) -> Self {
                $t::cos(self)
            }
            #[inline(always)]
            fn ln_1p(self) -> Self {
                $t::ln_1p(self)
            }
            #[inline(always)]
            fn exp_m1(self) -> Self {
                $t::exp_m1(self)
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                $t::is_nan(self)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                $t::is_finite(self)
            }
        }
    };
}
impl_float!(f32);
impl_float!(f64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promotion_follows_pytorch() {
        use DType::*;
        assert_eq!(DType::promote(Int32, Int64), Int64);
        assert_eq!(DType::promote(UInt8, Bool), UInt8);
        assert_eq!(DType::promote(Float32, Int64), Float32);
        assert_eq!(DType::promote(Float32, Float64), Float64);
        // 0-d operands of the same category do not promote.
        assert_eq!(
            DType::promote_with_dims(Float32, false, Float64, true),
            Float32
        );
        assert_eq!(DType::promote_with_dims(Int32, false, Int64, true), Int32);
        // A higher category does.
        assert_eq!(
            DType::promote_with_dims(Int64, false, Float32, true),
            Float32
        );
        assert_eq!(
            DType::promote_with_dims(Int64, false, Float64, true),
            Float64
        );
        assert_eq!(DType::promote_with_dims(Bool, false, Int64, true), Int64);
    }
}
