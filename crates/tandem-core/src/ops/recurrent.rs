//! One layer and direction of a recurrent network (Elman RNN, LSTM, GRU) as a single autograd
//! node: the whole sequence runs forward in one call and backpropagates through time in one
//! call, with PyTorch's gate layout and equations.
//!
//! The input projections `x_t W_ihᵀ + b_ih` of every step are computed by the caller as one
//! matrix product (`gx`, `[T, B, G·H]`); each step here adds `h W_hhᵀ + b_hh` (one product) and
//! applies the gates. Backward collects the gate gradients of all steps and forms the
//! recurrent weight's gradient as one product at the end.
//!
//! Sequences shorter than `T` (packed batches) are masked: past its length a row keeps its
//! state and outputs zeros, so the final state is the one after the row's last step, in either
//! direction.

use super::kernel::dispatch_float;
use super::matmul::gemm_strided;
use crate::autograd::{attach, should_record, Saved};
use crate::dtype::Float;
use crate::tensor::Tensor;

/// Which recurrence a layer computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RnnMode {
    /// `h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)` (`nn.RNN`, `nonlinearity='tanh'`).
    Tanh,
    /// The same with ReLU (`nonlinearity='relu'`).
    Relu,
    /// `nn.LSTM`: gates input, forget, cell, output, in that order; the state is `(h, c)`.
    Lstm,
    /// `nn.GRU`: gates reset, update, new, in that order;
    /// `n = tanh(x W_inᵀ + b_in + r ⊙ (h W_hnᵀ + b_hn))`, `h' = (1 − z) ⊙ n + z ⊙ h`.
    Gru,
}

impl RnnMode {
    /// Number of gates: rows of `W_ih` per hidden unit (1, 4 or 3).
    pub fn gates(self) -> usize {
        match self {
            RnnMode::Tanh | RnnMode::Relu => 1,
            RnnMode::Lstm => 4,
            RnnMode::Gru => 3,
        }
    }

    /// Number of state tensors (2 for the LSTM's `(h, c)`, else 1).
    pub fn state_parts(self) -> usize {
        if self == RnnMode::Lstm {
            2
        } else {
            1
        }
    }
}

/// Sizes of one recurrent call.
#[derive(Clone, Copy, Debug)]
struct Dims {
    t: usize,
    b: usize,
    h: usize,
    /// Gate width, `gates · h`.
    g: usize,
    /// State width, `parts · h`.
    k: usize,
}

/// One call's sizes, recurrence, direction and row lengths.
struct Plan {
    d: Dims,
    mode: RnnMode,
    reverse: bool,
    lens: Vec<usize>,
}

/// What backward needs from the forward pass.
struct Trace<T> {
    /// `y`: `[T + 1, B, K]`, outputs then the final state.
    y: Vec<T>,
    /// The state each step started from, `[T, B, K]` by time index.
    prev: Vec<T>,
    /// Post-activation gates, `[T, B, G]` (the new `h` for a plain RNN).
    acts: Vec<T>,
    /// GRU only: `h W_hnᵀ + b_hn`, `[T, B, H]`.
    hn: Vec<T>,
}

fn sigmoid<T: Float>(x: T) -> T {
    T::ONE / (T::ONE + (-x).exp())
}

/// `dst[m x n] = lhs[m x k] · rhs[k x n]` with (row, column) strides; overwrites `dst`.
#[allow(clippy::too_many_arguments)]
fn product<T: Float>(
    (m, n, k): (usize, usize, usize),
    dst: &mut [T],
    lhs: &[T],
    (lrs, lcs): (usize, usize),
    rhs: &[T],
    (rrs, rcs): (usize, usize),
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        dst[..m * n].fill(T::ZERO);
        return;
    }
    assert!(dst.len() >= m * n && lhs.len() > (m - 1) * lrs + (k - 1) * lcs);
    assert!(rhs.len() > (k - 1) * rrs + (n - 1) * rcs);
    gemm_strided(
        m,
        n,
        k,
        dst.as_mut_ptr(),
        n as isize,
        lhs.as_ptr(),
        lrs as isize,
        lcs as isize,
        rhs.as_ptr(),
        rrs as isize,
        rcs as isize,
    );
}

/// Time indices in processing order.
fn order(t: usize, reverse: bool) -> Box<dyn Iterator<Item = usize>> {
    if reverse {
        Box::new((0..t).rev())
    } else {
        Box::new(0..t)
    }
}

fn forward<T: Float>(plan: &Plan, gx: &[T], s0: &[T], w: &[T], bh: Option<&[T]>) -> Trace<T> {
    let (d, mode, reverse, lens) = (plan.d, plan.mode, plan.reverse, &plan.lens);
    let Dims {
        t: steps,
        b,
        h,
        g,
        k,
    } = d;
    let mut y = vec![T::ZERO; (steps + 1) * b * k];
    let mut prev = vec![T::ZERO; steps * b * k];
    let mut acts = vec![T::ZERO; steps * b * g];
    let mut hn = vec![
        T::ZERO;
        if mode == RnnMode::Gru {
            steps * b * h
        } else {
            0
        }
    ];
    let mut s = s0.to_vec();
    let mut p = vec![T::ZERO; b * g];
    for t in order(steps, reverse) {
        prev[t * b * k..][..b * k].copy_from_slice(&s);
        // p = h W_hhᵀ (+ b_hh): h is the first H columns of each state row.
        product((b, g, h), &mut p, &s, (k, 1), w, (1, h));
        if let Some(bh) = bh {
            p.chunks_mut(g)
                .for_each(|row| row.iter_mut().zip(bh).for_each(|(v, &c)| *v = *v + c));
        }
        for (bi, &len) in lens.iter().enumerate() {
            if t >= len {
                continue;
            }
            let a = &gx[(t * b + bi) * g..][..g];
            let pr = &p[bi * g..][..g];
            let act = &mut acts[(t * b + bi) * g..][..g];
            let st = &mut s[bi * k..][..k];
            match mode {
                RnnMode::Tanh | RnnMode::Relu => {
                    for j in 0..h {
                        let v = a[j] + pr[j];
                        act[j] = if mode == RnnMode::Tanh {
                            v.tanh()
                        } else if v > T::ZERO {
                            v
                        } else {
                            T::ZERO
                        };
                        st[j] = act[j];
                    }
                }
                RnnMode::Lstm => {
                    for j in 0..h {
                        let i = sigmoid(a[j] + pr[j]);
                        let f = sigmoid(a[h + j] + pr[h + j]);
                        let gg = (a[2 * h + j] + pr[2 * h + j]).tanh();
                        let o = sigmoid(a[3 * h + j] + pr[3 * h + j]);
                        let c = f * st[h + j] + i * gg;
                        (act[j], act[h + j], act[2 * h + j], act[3 * h + j]) = (i, f, gg, o);
                        st[h + j] = c;
                        st[j] = o * c.tanh();
                    }
                }
                RnnMode::Gru => {
                    let hn_row = &mut hn[(t * b + bi) * h..][..h];
                    for j in 0..h {
                        let r = sigmoid(a[j] + pr[j]);
                        let z = sigmoid(a[h + j] + pr[h + j]);
                        let n = (a[2 * h + j] + r * pr[2 * h + j]).tanh();
                        (act[j], act[h + j], act[2 * h + j]) = (r, z, n);
                        hn_row[j] = pr[2 * h + j];
                        st[j] = (T::ONE - z) * n + z * st[j];
                    }
                }
            }
            y[(t * b + bi) * k..][..k].copy_from_slice(st);
        }
    }
    y[steps * b * k..].copy_from_slice(&s);
    Trace { y, prev, acts, hn }
}

/// Gradients of `gx`, `s0`, `W_hh` and `b_hh` from the gradient of `y`.
fn backward<T: Float>(
    plan: &Plan,
    tr: &Trace<T>,
    w: &[T],
    gy: &[T],
) -> (Vec<T>, Vec<T>, Vec<T>, Vec<T>) {
    let (d, mode, reverse, lens) = (plan.d, plan.mode, plan.reverse, &plan.lens);
    let Dims {
        t: steps,
        b,
        h,
        g,
        k,
    } = d;
    // Gradients of the gates before activation: `dp` w.r.t. h W_hhᵀ + b_hh, `da` w.r.t. gx
    // (they differ only in the GRU's new gate).
    let mut dp = vec![T::ZERO; steps * b * g];
    let mut da = if mode == RnnMode::Gru {
        vec![T::ZERO; steps * b * g]
    } else {
        Vec::new()
    };
    let mut ds = gy[steps * b * k..].to_vec();
    let mut back = vec![T::ZERO; b * h];
    for t in order(steps, !reverse) {
        for (bi, &len) in lens.iter().enumerate() {
            if t >= len {
                continue; // the state passed through unchanged
            }
            let row = t * b + bi;
            let gyr = &gy[row * k..][..k];
            let act = &tr.acts[row * g..][..g];
            let pv = &tr.prev[row * k..][..k];
            let dpr = &mut dp[row * g..][..g];
            let st = &mut ds[bi * k..][..k];
            match mode {
                RnnMode::Tanh | RnnMode::Relu => {
                    for j in 0..h {
                        let dh = st[j] + gyr[j];
                        let y = act[j];
                        dpr[j] = if mode == RnnMode::Tanh {
                            dh * (T::ONE - y * y)
                        } else if y > T::ZERO {
                            dh
                        } else {
                            T::ZERO
                        };
                        st[j] = T::ZERO;
                    }
                }
                RnnMode::Lstm => {
                    for j in 0..h {
                        let (i, f, gg, o) = (act[j], act[h + j], act[2 * h + j], act[3 * h + j]);
                        let c_prev = pv[h + j];
                        let tc = (f * c_prev + i * gg).tanh();
                        let dh = st[j] + gyr[j];
                        let dc = st[h + j] + gyr[h + j] + dh * o * (T::ONE - tc * tc);
                        dpr[j] = dc * gg * i * (T::ONE - i);
                        dpr[h + j] = dc * c_prev * f * (T::ONE - f);
                        dpr[2 * h + j] = dc * i * (T::ONE - gg * gg);
                        dpr[3 * h + j] = dh * tc * o * (T::ONE - o);
                        st[j] = T::ZERO;
                        st[h + j] = dc * f;
                    }
                }
                RnnMode::Gru => {
                    let dar = &mut da[row * g..][..g];
                    let hn = &tr.hn[row * h..][..h];
                    for j in 0..h {
                        let (r, z, n) = (act[j], act[h + j], act[2 * h + j]);
                        let dh = st[j] + gyr[j];
                        let dn = dh * (T::ONE - z) * (T::ONE - n * n);
                        let dz = dh * (pv[j] - n) * z * (T::ONE - z);
                        let dr = dn * hn[j] * r * (T::ONE - r);
                        (dpr[j], dpr[h + j], dpr[2 * h + j]) = (dr, dz, dn * r);
                        (dar[j], dar[h + j], dar[2 * h + j]) = (dr, dz, dn);
                        st[j] = dh * z;
                    }
                }
            }
        }
        // The h part of the previous state also receives dp · W_hh (zero rows where masked).
        product(
            (b, h, g),
            &mut back,
            &dp[t * b * g..][..b * g],
            (g, 1),
            w,
            (h, 1),
        );
        for (bi, row) in back.chunks(h).enumerate() {
            let st = &mut ds[bi * k..][..h];
            st.iter_mut().zip(row).for_each(|(s, &v)| *s = *s + v);
        }
    }
    // dW_hh = Σ_t dp_tᵀ · h_prev_t, over all steps at once: [G, T·B] · [T·B, H].
    let mut dw = vec![T::ZERO; g * h];
    product((g, h, steps * b), &mut dw, &dp, (1, g), &tr.prev, (k, 1));
    let mut db = vec![0.0f64; g];
    for row in dp.chunks(g) {
        db.iter_mut().zip(row).for_each(|(s, v)| *s += v.to_f64());
    }
    let db = db.into_iter().map(T::from_f64).collect();
    let dgx = if mode == RnnMode::Gru { da } else { dp };
    (dgx, ds, dw, db)
}

/// Runs one recurrent layer in one direction over a whole sequence.
///
/// - `gx`: `[T, B, G·H]`, the input projections `x_t W_ihᵀ + b_ih` (G from [`RnnMode::gates`]).
/// - `s0`: `[B, K·H]`, the initial state (`h`, or `h` and `c` side by side for the LSTM).
/// - `w_hh`: `[G·H, H]`; `b_hh`: `[G·H]` or none.
/// - `reverse`: run from the last step to the first (the backward half of a bidirectional
///   layer); `lengths`: each row's sequence length (at most `T`), for packed batches.
///
/// Returns `y`, `[T + 1, B, K·H]`: the state after each step (zeros past a row's length), then
/// the final state of each row. Differentiable in `gx`, `s0`, `w_hh` and `b_hh` (first order).
///
/// ```
/// use tandem_core::ops::recurrent::{recurrent_layer, RnnMode};
/// use tandem_core::{zeros, ones, DType};
/// // One tanh unit, input projection 0.5 at each of 2 steps, recurrent weight 1, h0 = 0.
/// let gx = tandem_core::full(&[2, 1, 1], 0.5, DType::Float32);
/// let y = recurrent_layer(&gx, &zeros(&[1, 1], DType::Float32), &ones(&[1, 1], DType::Float32),
///                         None, RnnMode::Tanh, false, None);
/// let v = y.to_vec::<f32>();
/// assert!((v[0] - 0.5f32.tanh()).abs() < 1e-6);
/// assert!((v[1] - (0.5 + 0.5f32.tanh()).tanh()).abs() < 1e-6);
/// assert_eq!(v[1], v[2]); // the final state
/// ```
pub fn recurrent_layer(
    gx: &Tensor,
    s0: &Tensor,
    w_hh: &Tensor,
    b_hh: Option<&Tensor>,
    mode: RnnMode,
    reverse: bool,
    lengths: Option<&[usize]>,
) -> Tensor {
    assert!(
        gx.ndim() == 3 && s0.ndim() == 2 && w_hh.ndim() == 2,
        "recurrent_layer: expected gx [T, B, G*H], s0 [B, K*H], w_hh [G*H, H], got {:?}, {:?}, {:?}",
        gx.shape(),
        s0.shape(),
        w_hh.shape()
    );
    let (steps, b, g) = (gx.shape()[0], gx.shape()[1], gx.shape()[2]);
    let h = w_hh.shape()[1];
    let k = mode.state_parts() * h;
    let d = Dims {
        t: steps,
        b,
        h,
        g,
        k,
    };
    assert!(
        g == mode.gates() * h && w_hh.shape()[0] == g && s0.shape() == [b, k],
        "recurrent_layer ({mode:?}, hidden size {h}): gx {:?}, s0 {:?} and w_hh {:?} do not fit",
        gx.shape(),
        s0.shape(),
        w_hh.shape()
    );
    if let Some(bh) = b_hh {
        assert_eq!(
            bh.shape(),
            [g],
            "recurrent_layer: b_hh must have shape [{g}]"
        );
    }
    let dt = gx.dtype();
    for (what, t) in [("s0", s0), ("w_hh", w_hh)]
        .into_iter()
        .chain(b_hh.map(|t| ("b_hh", t)))
    {
        assert_eq!(
            t.dtype(),
            dt,
            "recurrent_layer: {what} is {} but gx is {dt}",
            t.dtype()
        );
    }
    let lens: Vec<usize> = match lengths {
        Some(l) => {
            assert_eq!(
                l.len(),
                b,
                "recurrent_layer: {} lengths for a batch of {b}",
                l.len()
            );
            assert!(
                l.iter().all(|&n| n <= steps),
                "recurrent_layer: lengths {l:?} exceed the {steps} steps of the input"
            );
            l.to_vec()
        }
        None => vec![steps; b],
    };
    let plan = Plan {
        d,
        mode,
        reverse,
        lens,
    };
    let (gxc, s0c, wc) = (gx.contiguous(), s0.contiguous(), w_hh.contiguous());
    let bc = b_hh.map(Tensor::contiguous);
    let out_shape = [steps + 1, b, k];
    let record = should_record(&[gx, s0, w_hh]) || b_hh.is_some_and(|t| should_record(&[t]));
    dispatch_float!(dt, "recurrent_layer", T => {
        let tr = gxc.with_slice::<T, _>(|gx| s0c.with_slice::<T, _>(|s0| wc.with_slice::<T, _>(|w| {
            match &bc {
                Some(bt) => bt.with_slice::<T, _>(|bs| forward(&plan, gx, s0, w, Some(bs))),
                None => forward(&plan, gx, s0, w, None),
            }
        })));
        let out = Tensor::from_vec(tr.y.clone(), &out_shape);
        if !record {
            return out;
        }
        let mut inputs = vec![gx, s0, w_hh];
        inputs.extend(b_hh);
        let ws = Saved::new(&wc.detach());
        attach(out, "RnnBackward0", &inputs, move |gy, needs| {
            let gyc = gy.to_dtype(dt).contiguous();
            let w = ws.get();
            let (dgx, ds, dw, db) = gyc.with_slice::<T, _>(|gys| {
                w.with_slice::<T, _>(|w| backward(&plan, &tr, w, gys))
            });
            let mut grads = vec![
                needs[0].then(|| Tensor::from_vec(dgx, &[steps, b, g])),
                needs[1].then(|| Tensor::from_vec(ds, &[b, k])),
                needs[2].then(|| Tensor::from_vec(dw, &[g, h])),
            ];
            if needs.len() > 3 {
                grads.push(needs[3].then(|| Tensor::from_vec(db, &[g])));
            }
            grads
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{randn, DType};

    /// Finite differences in float64 against the analytic gradients, for every mode,
    /// both directions and a masked batch.
    #[test]
    fn gradients_match_finite_differences() {
        crate::manual_seed(3);
        for mode in [RnnMode::Tanh, RnnMode::Relu, RnnMode::Lstm, RnnMode::Gru] {
            for (reverse, lengths) in [(false, None), (true, Some(vec![3, 1]))] {
                let (t, b, h) = (3, 2, 2);
                let g = mode.gates() * h;
                let gx = randn(&[t, b, g])
                    .to_dtype(DType::Float64)
                    .requires_grad_(true);
                let s0 = randn(&[b, mode.state_parts() * h])
                    .to_dtype(DType::Float64)
                    .requires_grad_(true);
                let w = randn(&[g, h]).to_dtype(DType::Float64).requires_grad_(true);
                let bh = randn(&[g]).to_dtype(DType::Float64).requires_grad_(true);
                let r = randn(&[t + 1, b, mode.state_parts() * h]).to_dtype(DType::Float64);
                let loss = |gx: &Tensor, s0: &Tensor, w: &Tensor, bh: &Tensor| {
                    (recurrent_layer(gx, s0, w, Some(bh), mode, reverse, lengths.as_deref()) * &r)
                        .sum()
                };
                loss(&gx, &s0, &w, &bh).backward();
                for (i, x) in [&gx, &s0, &w, &bh].into_iter().enumerate() {
                    let analytic = x.grad().unwrap().to_vec::<f64>();
                    let base = x.detach().to_vec::<f64>();
                    for (j, a) in analytic.iter().enumerate() {
                        let at = |eps: f64| {
                            let mut v = base.clone();
                            v[j] += eps;
                            let xe = Tensor::from_vec(v, x.shape());
                            let mut args = [&gx, &s0, &w, &bh].map(|t| t.detach());
                            args[i] = xe;
                            loss(&args[0], &args[1], &args[2], &args[3]).item::<f64>()
                        };
                        let num = (at(1e-6) - at(-1e-6)) / 2e-6;
                        assert!(
                            (num - a).abs() < 1e-6 * (1.0 + a.abs()),
                            "{mode:?} reverse={reverse} input {i}[{j}]: {a} vs {num}"
                        );
                    }
                }
            }
        }
    }
}
