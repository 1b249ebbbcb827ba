//! Dtype dispatch for the tensor-level ops: run a generic body with `T` bound to the Rust type
//! of a runtime dtype.

use crate::dtype::DType;

/// Runs `$body` with `$T` bound to the Rust type of `$dt` (all dtypes).
macro_rules! dispatch_all {
    ($dt:expr, $T:ident => $body:expr) => {
        match $dt {
            $crate::DType::Float32 => {
                type $T = f32;
                $body
            }
            $crate::DType::Float64 => {
                type $T = f64;
                $body
            }
            $crate::DType::Int64 => {
                type $T = i64;
                $body
            }
            $crate::DType::Int32 => {
                type $T = i32;
                $body
            }
            $crate::DType::UInt8 => {
                type $T = u8;
                $body
            }
            $crate::DType::Bool => {
                type $T = bool;
                $body
            }
        }
    };
}
/// Runs `$body` with `$T` bound to the Rust type of `$dt` (numeric dtypes; panics on bool).
macro_rules! dispatch_num {
    ($dt:expr, $op:expr, $T:ident => $body:expr) => {
        match $dt {
            $crate::DType::Float32 => {
                type $T = f32;
                $body
            }
            $crate::DType::Float64 => {
                type $T = f64;
                $body
            }
            $crate::DType::Int64 => {
                type $T = i64;
                $body
            }
            $crate::DType::Int32 => {
                type $T = i32;
                $body
            }
            $crate::DType::UInt8 => {
                type $T = u8;
                $body
            }
            $crate::DType::Bool => panic!("{}: not implemented for 'Bool' tensors", $op),
        }
    };
}
/// Runs `$body` with `$T` bound to the Rust type of `$dt` (float dtypes; panics otherwise).
macro_rules! dispatch_float {
    ($dt:expr, $op:expr, $T:ident => $body:expr) => {
        match $dt {
            $crate::DType::Float32 => {
                type $T = f32;
                $body
            }
            $crate::DType::Float64 => {
                type $T = f64;
                $body
            }
            other => panic!("{}: expected a floating point tensor, got {}", $op, other),
        }
    };
}
pub(crate) use {dispatch_all, dispatch_float, dispatch_num};

/// The float type an integer operand of a float-only op is promoted to.
pub(crate) fn float_of(dt: DType) -> DType {
    if dt.is_float() {
        dt
    } else {
        DType::Float32
    }
}
