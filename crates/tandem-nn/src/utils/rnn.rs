//! `torch.nn.utils.rnn`: packing variable-length batches for the recurrent layers.
//!
//! ```
//! use tandem_nn::utils::rnn::{pack_padded_sequence, pad_packed_sequence};
//! // Two sequences of lengths 1 and 3, batch first, one feature.
//! let x = tandem_core::Tensor::from_vec(vec![1f32, 0., 0., 4., 5., 6.], &[2, 3, 1]);
//! let packed = pack_padded_sequence(&x, &[1, 3], true, false);
//! assert_eq!(packed.batch_sizes, [2, 1, 1]);
//! assert_eq!(packed.data.to_vec::<f32>(), [4., 1., 5., 6.]); // time-major, longest first
//! let (back, lengths) = pad_packed_sequence(&packed, true, 0.0, None);
//! assert_eq!(back.to_vec::<f32>(), x.to_vec::<f32>());
//! assert_eq!(lengths, [1, 3]);
//! ```

use tandem_core::Tensor;

/// A batch of variable-length sequences without their padding (`PackedSequence`): the valid
/// steps time-major, each step's rows ordered by decreasing sequence length.
#[derive(Clone, Debug)]
pub struct PackedSequence {
    /// `[Σ lengths, *]`: step 0 of every sequence, then step 1 of those that have one, ...
    pub data: Tensor,
    /// How many sequences have each step.
    pub batch_sizes: Vec<usize>,
    /// `sorted_indices[j]` is the batch row of the `j`-th longest sequence.
    pub sorted_indices: Vec<usize>,
    /// The inverse permutation: where each batch row went.
    pub unsorted_indices: Vec<usize>,
}

impl PackedSequence {
    /// Each sequence's length, in the original batch order.
    pub fn lengths(&self) -> Vec<usize> {
        let mut out = vec![0; self.sorted_indices.len()];
        for (j, &row) in self.sorted_indices.iter().enumerate() {
            out[row] = self.batch_sizes.iter().filter(|&&n| n > j).count();
        }
        out
    }
}

fn index(v: impl IntoIterator<Item = usize>) -> Tensor {
    let v: Vec<i64> = v.into_iter().map(|i| i as i64).collect();
    let n = v.len();
    Tensor::from_vec(v, &[n])
}

/// `pack_padded_sequence(input, lengths, batch_first, enforce_sorted)`: `input` is
/// `[T, B, *]` (`[B, T, *]` with `batch_first`); `lengths` are the valid steps of each row,
/// each in `1..=T`. With `enforce_sorted`, the lengths must already be in decreasing order.
/// Differentiable in `input`.
pub fn pack_padded_sequence(
    input: &Tensor,
    lengths: &[usize],
    batch_first: bool,
    enforce_sorted: bool,
) -> PackedSequence {
    assert!(
        input.ndim() >= 2,
        "pack_padded_sequence: expected an input of at least 2 dimensions, got {:?}",
        input.shape()
    );
    let x = if batch_first {
        input.transpose(0, 1)
    } else {
        input.clone()
    };
    let (steps, b) = (x.shape()[0], x.shape()[1]);
    assert_eq!(
        lengths.len(),
        b,
        "pack_padded_sequence: expected {b} lengths (one per batch row), got {}",
        lengths.len()
    );
    assert!(
        lengths.iter().all(|&n| (1..=steps).contains(&n)),
        "pack_padded_sequence: every length must be in 1..={steps}, got {lengths:?}"
    );
    let mut sorted: Vec<usize> = (0..b).collect();
    if enforce_sorted {
        assert!(
            lengths.windows(2).all(|w| w[0] >= w[1]),
            "pack_padded_sequence: `lengths` {lengths:?} must be sorted in decreasing order when `enforce_sorted` is true; pass enforce_sorted = false for unsorted sequences"
        );
    } else {
        sorted.sort_by(|&i, &j| lengths[j].cmp(&lengths[i]));
    }
    let mut unsorted = vec![0; b];
    for (j, &row) in sorted.iter().enumerate() {
        unsorted[row] = j;
    }
    let max_len = lengths.iter().copied().max().unwrap_or(0);
    let batch_sizes: Vec<usize> = (0..max_len)
        .map(|t| lengths.iter().filter(|&&n| n > t).count())
        .collect();
    let rows = batch_sizes
        .iter()
        .enumerate()
        .flat_map(|(t, &n)| sorted[..n].iter().map(move |&row| t * b + row));
    let mut flat_shape: Vec<isize> = vec![(steps * b) as isize];
    flat_shape.extend(x.shape()[2..].iter().map(|&d| d as isize));
    let data = x.reshape(&flat_shape).index_select(0, &index(rows));
    PackedSequence {
        data,
        batch_sizes,
        sorted_indices: sorted,
        unsorted_indices: unsorted,
    }
}

/// `pad_packed_sequence(sequence, batch_first, padding_value, total_length)`: the padded
/// batch (`[T, B, *]`, or `[B, T, *]` with `batch_first`) in the original row order, and the
/// lengths. `T` is the longest length, or `total_length` when given. Differentiable.
pub fn pad_packed_sequence(
    sequence: &PackedSequence,
    batch_first: bool,
    padding_value: f64,
    total_length: Option<usize>,
) -> (Tensor, Vec<usize>) {
    let max_len = sequence.batch_sizes.len();
    let steps = total_length.unwrap_or(max_len);
    assert!(
        steps >= max_len,
        "pad_packed_sequence: total_length {steps} is less than the longest sequence ({max_len})"
    );
    let b = sequence.sorted_indices.len();
    let data = &sequence.data;
    let n = data.shape()[0];
    // Row `n` is the padding value; every padded position points at it.
    let mut pad_shape = data.shape().to_vec();
    pad_shape[0] = 1;
    let pad = tandem_core::full(&pad_shape, padding_value, data.dtype());
    let source = Tensor::cat(&[data, &pad], 0);
    let mut rows = vec![n; steps * b];
    let mut at = 0;
    for (t, &count) in sequence.batch_sizes.iter().enumerate() {
        for &row in &sequence.sorted_indices[..count] {
            rows[t * b + row] = at;
            at += 1;
        }
    }
    let mut shape: Vec<isize> = vec![steps as isize, b as isize];
    shape.extend(data.shape()[1..].iter().map(|&d| d as isize));
    let padded = source.index_select(0, &index(rows)).reshape(&shape);
    let padded = if batch_first {
        padded.transpose(0, 1)
    } else {
        padded
    };
    (padded, sequence.lengths())
}

/// `pad_sequence(sequences, batch_first, padding_value)`: stacks tensors of shape `[L_i, *]`
/// into `[max L, B, *]` (or `[B, max L, *]`), padding the shorter ones.
pub fn pad_sequence(sequences: &[&Tensor], batch_first: bool, padding_value: f64) -> Tensor {
    assert!(
        !sequences.is_empty(),
        "pad_sequence: expected a non-empty list of tensors"
    );
    let max_len = sequences.iter().map(|s| s.shape()[0]).max().unwrap_or(0);
    let rest = sequences[0].shape()[1..].to_vec();
    let dtype = sequences[0].dtype();
    let padded: Vec<Tensor> = sequences
        .iter()
        .map(|s| {
            let missing = max_len - s.shape()[0];
            if missing == 0 {
                return (*s).clone();
            }
            let mut shape = vec![missing];
            shape.extend(&rest);
            Tensor::cat(&[s, &tandem_core::full(&shape, padding_value, dtype)], 0)
        })
        .collect();
    let refs: Vec<&Tensor> = padded.iter().collect();
    Tensor::stack(&refs, if batch_first { 0 } else { 1 })
}
