//! Which vector instruction sets the kernels use: what the running CPU has, capped by the
//! `TANDEM_CPU` environment variable (`avx2` leaves out the AVX-512 builds, `portable` every
//! vector build), so each path can be tested on one machine. Both are read once, on the first
//! kernel call, so asking is cheap enough to do per kernel.

use std::sync::OnceLock;

/// The kernel path in use: `"avx512"`, `"avx2"` or `"portable"`.
///
/// ```
/// assert!(["avx512", "avx2", "portable"].contains(&tandem_core::kernel_path()));
/// ```
pub fn kernel_path() -> &'static str {
    if has_avx512() {
        "avx512"
    } else if has_avx2() {
        "avx2"
    } else {
        "portable"
    }
}

/// The widest kernel build usable here, 2 (AVX-512), 1 (AVX2 + FMA) or 0 (portable): the
/// CPU's features capped by `TANDEM_CPU` (`avx2` leaves out the AVX-512 builds, `portable`
/// every vector build), worked out on the first call. Every kernel asks, so the answer is one
/// load rather than six feature checks.
#[inline]
fn level() -> u8 {
    static LEVEL: OnceLock<u8> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        let allowed = match std::env::var("TANDEM_CPU").as_deref() {
            Ok("avx2") => 1,
            Ok("portable") => 0,
            _ => 2,
        };
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            let avx2 = has!("avx2") && has!("fma");
            let avx512 =
                avx2 && has!("avx512f") && has!("avx512bw") && has!("avx512vl") && has!("avx512dq");
            allowed.min(if avx512 {
                2
            } else if avx2 {
                1
            } else {
                0
            })
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = allowed;
            0
        }
    })
}

/// Whether the AVX-512 builds of the kernels can run here: AVX-512 F, BW, VL and DQ, plus the
/// AVX2 and FMA that those builds also enable.
#[inline]
pub(crate) fn has_avx512() -> bool {
    level() >= 2
}

/// Whether the AVX2 + FMA builds of the kernels can run here.
#[inline]
pub(crate) fn has_avx2() -> bool {
    level() >= 1
}

/// Runs `body` compiled for the widest vector instruction set allowed here: loops inlined into
/// it (closures, `#[inline(always)]` helpers) are vectorized with AVX-512 or AVX2 rather than
/// the baseline's SSE2, which cannot blend and so turns selects into branches. The result is
/// the same on every path: no instruction set fuses a multiply and an add unless told to.
///
/// Mark `body` `#[inline(always)]`, as below: a closure the compiler keeps out of line is
/// compiled on its own, for the baseline, and gains nothing.
///
/// ```
/// let mut v = vec![1.0f32, -2.0, 3.0];
/// tandem_core::vectorized(#[inline(always)] || v.iter_mut().for_each(|x| *x = x.max(0.0)));
/// assert_eq!(v, [1.0, 0.0, 3.0]);
/// ```
#[inline(always)]
pub fn vectorized<R>(body: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx512() {
            // SAFETY: the CPU has every feature the AVX-512 build enables (checked above).
            return unsafe { run_avx512(body) };
        }
        if has_avx2() {
            // SAFETY: the CPU has AVX2 and FMA (checked above).
            return unsafe { run_avx2(body) };
        }
    }
    body()
}

/// # Safety
/// The CPU must have AVX-512 F, BW, VL and DQ, AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn run_avx512<R>(body: impl FnOnce() -> R) -> R {
    body()
}

/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2<R>(body: impl FnOnce() -> R) -> R {
    body()
}

/// Defines `$name` as a function that calls `$body` (an `#[inline(always)]` function with the
/// same parameters) compiled three times, AVX-512, AVX2 + FMA and portable, picked at run
/// time: for loops too large for [`vectorized`]'s closure to be inlined.
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident $(<$T:ident: $B:path>)? ($($a:ident: $t:ty),* $(,)?) => $body:path) => {
        $(#[$m])*
        $vis fn $name $(<$T: $B>)? ($($a: $t),*) {
            #[cfg(target_arch = "x86_64")]
            {
                /// # Safety
                /// The CPU must have AVX-512 F, BW, VL and DQ, AVX2 and FMA.
                #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
                unsafe fn wide $(<$T: $B>)? ($($a: $t),*) {
                    $body($($a),*)
                }
                /// # Safety
                /// The CPU must have AVX2 and FMA.
                #[target_feature(enable = "avx2,fma")]
                unsafe fn narrow $(<$T: $B>)? ($($a: $t),*) {
                    $body($($a),*)
                }
                if $crate::kernels::cpu::has_avx512() {
                    // SAFETY: the CPU has every feature `wide` enables (checked here).
                    return unsafe { wide($($a),*) };
                }
                if $crate::kernels::cpu::has_avx2() {
                    // SAFETY: the CPU has AVX2 and FMA (checked here).
                    return unsafe { narrow($($a),*) };
                }
            }
            $body($($a),*)
        }
    };
}
pub(crate) use multiversion;
