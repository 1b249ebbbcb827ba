//! Which vector instruction sets the kernels use: what the running CPU has, capped by the
//! `TANDEM_CPU` environment variable (`avx2` leaves out the AVX-512 builds, `portable` every
//! vector build), so each path can be tested on one machine. The standard library caches each
//! check and the variable is read once, so these are cheap enough to call per kernel.

use std::sync::OnceLock;

/// The widest kernel builds `TANDEM_CPU` allows: 2 for AVX-512, 1 for AVX2, 0 for portable.
fn allowed() -> u8 {
    static LEVEL: OnceLock<u8> = OnceLock::new();
    *LEVEL.get_or_init(|| match std::env::var("TANDEM_CPU").as_deref() {
        Ok("avx2") => 1,
        Ok("portable") => 0,
        _ => 2,
    })
}

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

/// Whether the AVX-512 builds of the kernels can run here: AVX-512 F, BW, VL and DQ, plus the
/// AVX2 and FMA that those builds also enable.
#[inline]
pub(crate) fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        allowed() >= 2
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && has_avx2()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether the AVX2 + FMA builds of the kernels can run here.
#[inline]
pub(crate) fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        allowed() >= 1
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}
