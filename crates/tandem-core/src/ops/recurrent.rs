//! One layer and direction of a recurrent network (Elman RNN, LSTM, GRU) as a single autograd
//! node: the whole sequence runs forward in one call and backpropagates through time in one
//! call, with PyTorch's gate layout and equations.
//!
//! The input projections `x_t W_ihᵀ + b_ih` of every step are computed by the caller as one
//! matrix product (`gx`); each step here adds `h W_hhᵀ + b_hh` (one product) and applies the
//! gates. Backward collects the gate gradients of all steps and forms the recurrent weight's
//! gradient as one product at the end.
//!
//! Rows are laid out as in a packed sequence (`PackedSequence.data`): step after step, each
//! step's rows the first `batch_sizes[t]` sequences (sorted longest first). Shorter sequences
//! simply drop out of the products, so a packed batch costs only its real steps; a padded batch
//! is the case where every step has all `B` rows.

use super::dispatch::dispatch_float;
use crate::autograd::{attach, should_record, Saved};
use crate::dtype::Float;
use crate::kernels::elementwise::relu1;
use crate::kernels::gemm::{gemm_into, MatRef, Threads};
use crate::kernels::math::Transcendental;
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

/// One call's sizes, recurrence, direction and packed layout.
struct Plan {
    d: Dims,
    mode: RnnMode,
    reverse: bool,
    /// Active rows at each step (non-increasing, at most `B`).
    batch_sizes: Vec<usize>,
    /// First packed row of each step, and the total `N` at the end.
    offsets: Vec<usize>,
}

impl Plan {
    /// Total packed rows.
    fn rows(&self) -> usize {
        *self.offsets.last().expect("offsets end with the total")
    }
}

/// What backward needs from the forward pass (`N` packed rows).
struct Trace<T> {
    /// `y`: `[N + B, K]`, the state after each row's step, then each sequence's final state.
    y: Vec<T>,
    /// The state each row's step started from, `[N, K]`.
    prev: Vec<T>,
    /// Post-activation gates, `[N, G]` (the new `h` for a plain RNN).
    acts: Vec<T>,
    /// GRU: `h W_hnᵀ + b_hn`; LSTM: `tanh(c')`; `[N, H]` (empty for a plain RNN).
    aux: Vec<T>,
}

/// The gate nonlinearities over slices: vectorized for float32, scalar for float64.
trait Gates: Float {
    fn sigmoid_slice(src: &[Self], dst: &mut [Self]);
    fn tanh_slice(src: &[Self], dst: &mut [Self]);
}

impl Gates for f64 {
    fn sigmoid_slice(src: &[f64], dst: &mut [f64]) {
        for (d, &x) in dst.iter_mut().zip(src) {
            *d = 1.0 / (1.0 + (-x).exp());
        }
    }
    fn tanh_slice(src: &[f64], dst: &mut [f64]) {
        for (d, &x) in dst.iter_mut().zip(src) {
            *d = x.tanh();
        }
    }
}

impl Gates for f32 {
    fn sigmoid_slice(src: &[f32], dst: &mut [f32]) {
        Transcendental::Sigmoid.map_to(src, dst);
    }
    fn tanh_slice(src: &[f32], dst: &mut [f32]) {
        Transcendental::Tanh.map_to(src, dst);
    }
}

/// `dst[m x n] = lhs[m x k] · rhs[k x n]` with (row, column) strides; overwrites `dst`.
fn product<T: Float>(
    (m, n, k): (usize, usize, usize),
    dst: &mut [T],
    lhs: &[T],
    lhs_strides: (usize, usize),
    rhs: &[T],
    rhs_strides: (usize, usize),
) {
    gemm_into(
        dst,
        n,
        false,
        MatRef::new(lhs, (m, k), lhs_strides),
        MatRef::new(rhs, (k, n), rhs_strides),
        Threads::Pool,
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

fn forward<T: Gates>(plan: &Plan, gx: &[T], s0: &[T], w: &[T], bh: Option<&[T]>) -> Trace<T> {
    let (d, mode, reverse) = (plan.d, plan.mode, plan.reverse);
    let Dims {
        t: steps,
        b,
        h,
        g,
        k,
    } = d;
    let n = plan.rows();
    let mut y = vec![T::ZERO; (n + b) * k];
    let mut prev = vec![T::ZERO; n * k];
    let mut acts = vec![T::ZERO; n * g];
    let aux_len = match mode {
        RnnMode::Gru | RnnMode::Lstm => n * h,
        _ => 0,
    };
    let mut aux = vec![T::ZERO; aux_len];
    let mut s = s0.to_vec();
    let mut p = vec![T::ZERO; b * g];
    let mut pre = vec![T::ZERO; g];
    for t in order(steps, reverse) {
        let (m, off) = (plan.batch_sizes[t], plan.offsets[t]);
        prev[off * k..][..m * k].copy_from_slice(&s[..m * k]);
        // p = h W_hhᵀ (+ b_hh) for the active rows: h is the first H columns of a state row.
        product((m, g, h), &mut p, &s, (k, 1), w, (1, h));
        if let Some(bh) = bh {
            p[..m * g]
                .chunks_mut(g)
                .for_each(|row| row.iter_mut().zip(bh).for_each(|(v, &c)| *v = *v + c));
        }
        for bi in 0..m {
            let row = off + bi;
            let a = &gx[row * g..][..g];
            let pr = &p[bi * g..][..g];
            let act = &mut acts[row * g..][..g];
            let st = &mut s[bi * k..][..k];
            match mode {
                RnnMode::Tanh => {
                    add_into(&mut pre, a, pr);
                    T::tanh_slice(&pre, act);
                    st.copy_from_slice(act);
                }
                RnnMode::Relu => {
                    for j in 0..h {
                        act[j] = relu1(a[j] + pr[j]);
                    }
                    st.copy_from_slice(act);
                }
                RnnMode::Lstm => {
                    // act = [σ(i), σ(f), tanh(g), σ(o)]; aux = tanh(c').
                    add_into(&mut pre, a, pr);
                    T::sigmoid_slice(&pre[..2 * h], &mut act[..2 * h]);
                    T::tanh_slice(&pre[2 * h..3 * h], &mut act[2 * h..3 * h]);
                    T::sigmoid_slice(&pre[3 * h..], &mut act[3 * h..]);
                    for j in 0..h {
                        let c = act[h + j] * st[h + j] + act[j] * act[2 * h + j];
                        st[h + j] = c;
                        pre[j] = c;
                    }
                    let tc = &mut aux[row * h..][..h];
                    T::tanh_slice(&pre[..h], tc);
                    for j in 0..h {
                        st[j] = act[3 * h + j] * tc[j];
                    }
                }
                RnnMode::Gru => {
                    // act = [σ(r), σ(z), n]; aux = h W_hnᵀ + b_hn.
                    add_into(&mut pre[..2 * h], &a[..2 * h], &pr[..2 * h]);
                    T::sigmoid_slice(&pre[..2 * h], &mut act[..2 * h]);
                    let hn = &mut aux[row * h..][..h];
                    for j in 0..h {
                        hn[j] = pr[2 * h + j];
                        pre[j] = a[2 * h + j] + act[j] * hn[j];
                    }
                    T::tanh_slice(&pre[..h], &mut act[2 * h..]);
                    for j in 0..h {
                        let (z, n) = (act[h + j], act[2 * h + j]);
                        st[j] = (T::ONE - z) * n + z * st[j];
                    }
                }
            }
            y[row * k..][..k].copy_from_slice(st);
        }
    }
    y[n * k..].copy_from_slice(&s);
    Trace { y, prev, acts, aux }
}

/// `dst = a + b`, elementwise over `dst`'s length.
fn add_into<T: Float>(dst: &mut [T], a: &[T], b: &[T]) {
    for ((d, &x), &y) in dst.iter_mut().zip(a).zip(b) {
        *d = x + y;
    }
}

/// Gradients of `gx`, `s0`, `W_hh` and `b_hh` from the gradient of `y`.
fn backward<T: Gates>(
    plan: &Plan,
    tr: &Trace<T>,
    w: &[T],
    gy: &[T],
) -> (Vec<T>, Vec<T>, Vec<T>, Vec<T>) {
    let (d, mode, reverse) = (plan.d, plan.mode, plan.reverse);
    let Dims {
        t: steps,
        b,
        h,
        g,
        k,
    } = d;
    let n = plan.rows();
    // Gradients of the gates before activation: `dp` w.r.t. h W_hhᵀ + b_hh, `da` w.r.t. gx
    // (they differ only in the GRU's new gate).
    let mut dp = vec![T::ZERO; n * g];
    let mut da = if mode == RnnMode::Gru {
        vec![T::ZERO; n * g]
    } else {
        Vec::new()
    };
    // Rows beyond a step's batch size pass their state gradient through unchanged.
    let mut ds = gy[n * k..].to_vec();
    let mut back = vec![T::ZERO; b * h];
    for t in order(steps, !reverse) {
        let (m, off) = (plan.batch_sizes[t], plan.offsets[t]);
        for bi in 0..m {
            let row = off + bi;
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
                        let tc = tr.aux[row * h + j];
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
                    let hn = &tr.aux[row * h..][..h];
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
        // The h part of the previous state also receives dp · W_hh.
        product(
            (m, h, g),
            &mut back,
            &dp[off * g..][..m * g],
            (g, 1),
            w,
            (h, 1),
        );
        for (bi, row) in back[..m * h].chunks(h).enumerate() {
            let st = &mut ds[bi * k..][..h];
            st.iter_mut().zip(row).for_each(|(s, &v)| *s = *s + v);
        }
    }
    // dW_hh = Σ_t dp_tᵀ · h_prev_t, over all rows at once: [G, N] · [N, H].
    let mut dw = vec![T::ZERO; g * h];
    product((g, h, n), &mut dw, &dp, (1, g), &tr.prev, (k, 1));
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
/// - `gx`: the input projections `x_t W_ihᵀ + b_ih` (G from [`RnnMode::gates`]): `[T, B, G·H]`
///   for a padded batch, or `[N, G·H]` packed rows with `batch_sizes` (as
///   `PackedSequence.data` and `.batch_sizes`: step after step, each step's rows the first
///   `batch_sizes[t]` sequences, longest first).
/// - `s0`: `[B, K·H]`, the initial state (`h`, or `h` and `c` side by side for the LSTM).
/// - `w_hh`: `[G·H, H]`; `b_hh`: `[G·H]` or none.
/// - `reverse`: run from the last step to the first (the backward half of a bidirectional
///   layer); packed sequences each start from their own last step.
///
/// Returns `y`: the state after each step, then each sequence's final state — `[T + 1, B, K·H]`
/// for a padded batch, `[N + B, K·H]` for a packed one. Differentiable in `gx`, `s0`, `w_hh`
/// and `b_hh` (first order).
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
    batch_sizes: Option<&[usize]>,
) -> Tensor {
    let packed = batch_sizes.is_some();
    assert!(
        gx.ndim() == if packed { 2 } else { 3 } && s0.ndim() == 2 && w_hh.ndim() == 2,
        "recurrent_layer: expected gx {}, s0 [B, K*H], w_hh [G*H, H], got {:?}, {:?}, {:?}",
        if packed {
            "[N, G*H] (packed)"
        } else {
            "[T, B, G*H]"
        },
        gx.shape(),
        s0.shape(),
        w_hh.shape()
    );
    let b = s0.shape()[0];
    let g = *gx.shape().last().expect("2-D or 3-D");
    let batch_sizes: Vec<usize> = match batch_sizes {
        Some(sizes) => {
            assert!(
                sizes.windows(2).all(|w| w[0] >= w[1]) && sizes.first().is_none_or(|&s| s <= b),
                "recurrent_layer: batch_sizes {sizes:?} must be non-increasing and at most the batch ({b})"
            );
            assert_eq!(
                sizes.iter().sum::<usize>(),
                gx.shape()[0],
                "recurrent_layer: batch_sizes {sizes:?} do not add up to the {} packed rows",
                gx.shape()[0]
            );
            sizes.to_vec()
        }
        None => {
            assert_eq!(
                gx.shape()[1],
                b,
                "recurrent_layer: gx {:?} and s0 {:?} disagree on the batch",
                gx.shape(),
                s0.shape()
            );
            vec![b; gx.shape()[0]]
        }
    };
    let steps = batch_sizes.len();
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
    let mut offsets = Vec::with_capacity(steps + 1);
    let mut at = 0;
    for &m in &batch_sizes {
        offsets.push(at);
        at += m;
    }
    offsets.push(at);
    let plan = Plan {
        d,
        mode,
        reverse,
        batch_sizes,
        offsets,
    };
    let (gxc, s0c, wc) = (gx.contiguous(), s0.contiguous(), w_hh.contiguous());
    let bc = b_hh.map(Tensor::contiguous);
    let n = plan.rows();
    let out_shape: Vec<usize> = if packed {
        vec![n + b, k]
    } else {
        vec![steps + 1, b, k]
    };
    let gx_shape = gx.shape().to_vec();
    let record = should_record(&[gx, s0, w_hh]) || b_hh.is_some_and(|t| should_record(&[t]));
    dispatch_float!(dt, "recurrent_layer", T => {
        let mut tr = gxc.with_slice::<T, _>(|gx| s0c.with_slice::<T, _>(|s0| wc.with_slice::<T, _>(|w| {
            match &bc {
                Some(bt) => bt.with_slice::<T, _>(|bs| forward(&plan, gx, s0, w, Some(bs))),
                None => forward(&plan, gx, s0, w, None),
            }
        })));
        let out = Tensor::from_vec(std::mem::take(&mut tr.y), &out_shape);
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
                needs[0].then(|| Tensor::from_vec(dgx, &gx_shape)),
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

    #[test]
    fn the_relu_cell_keeps_nan_as_torch_relu_does() {
        // nn.RNN(nonlinearity='relu') applies torch.relu, which maps NaN to NaN and negatives
        // to 0: with a zero state and weights, the output is relu of the input projection.
        let gx = Tensor::from_vec(vec![f32::NAN, -1.0, 2.0], &[1, 1, 3]);
        let s0 = crate::ops::create::zeros(&[1, 3], DType::Float32);
        let w = crate::ops::create::zeros(&[3, 3], DType::Float32);
        let y = recurrent_layer(&gx, &s0, &w, None, RnnMode::Relu, false, None).to_vec::<f32>();
        assert!(y[0].is_nan(), "{y:?}");
        assert_eq!(&y[1..3], &[0.0, 2.0]);
    }

    /// Finite differences in float64 against the analytic gradients, for every mode, a padded
    /// batch forwards and a packed one (lengths 3 and 1) backwards.
    #[test]
    fn gradients_match_finite_differences() {
        crate::manual_seed(3);
        for mode in [RnnMode::Tanh, RnnMode::Relu, RnnMode::Lstm, RnnMode::Gru] {
            for (reverse, sizes) in [(false, None), (true, Some(vec![2, 1, 1]))] {
                let (t, b, h) = (3, 2, 2);
                let g = mode.gates() * h;
                let gx_shape = match &sizes {
                    Some(s) => vec![s.iter().sum::<usize>(), g],
                    None => vec![t, b, g],
                };
                let gx = randn(&gx_shape)
                    .to_dtype(DType::Float64)
                    .requires_grad_(true);
                let s0 = randn(&[b, mode.state_parts() * h])
                    .to_dtype(DType::Float64)
                    .requires_grad_(true);
                let w = randn(&[g, h]).to_dtype(DType::Float64).requires_grad_(true);
                let bh = randn(&[g]).to_dtype(DType::Float64).requires_grad_(true);
                let kh = mode.state_parts() * h;
                let r_shape = match &sizes {
                    Some(s) => vec![s.iter().sum::<usize>() + b, kh],
                    None => vec![t + 1, b, kh],
                };
                let r = randn(&r_shape).to_dtype(DType::Float64);
                let loss = |gx: &Tensor, s0: &Tensor, w: &Tensor, bh: &Tensor| {
                    (recurrent_layer(gx, s0, w, Some(bh), mode, reverse, sizes.as_deref()) * &r)
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
