//! Preprocessing layers: `Normalization` (with `adapt`), `CategoryEncoding`, and the string
//! layers `StringLookup` and `TextVectorization`, which take Rust strings where Keras takes
//! string tensors.

use super::Layer;
use std::collections::HashMap;
use tandem_core::{DType, Tensor};

/// `Normalization(axis=-1)`: `(x - mean) / max(sqrt(variance), 1e-7)` with the mean and the
/// (population) variance learned by `adapt(data)`, per index of `axis` (or over everything
/// with `axis(None)`).
///
/// ```
/// use tandem_keras::layers::{Layer, Normalization};
/// let data = tandem_core::Tensor::new([[1.0, 10.0], [3.0, 30.0]]);
/// let mut norm = Normalization::new();
/// norm.adapt(&data);
/// assert_eq!(norm.call(&data, false).to_vec::<f32>(), vec![-1.0, -1.0, 1.0, 1.0]);
/// ```
pub struct Normalization {
    axis: Option<isize>,
    stats: Option<(Tensor, Tensor)>,
}

impl Default for Normalization {
    fn default() -> Self {
        Normalization {
            axis: Some(-1),
            stats: None,
        }
    }
}

impl Normalization {
    /// Per feature of the last axis.
    pub fn new() -> Self {
        Normalization::default()
    }

    /// `axis=k` (counted with the batch axis, as Keras does), or `None` for one mean and
    /// variance over every element.
    pub fn axis(mut self, axis: Option<isize>) -> Self {
        self.axis = axis;
        self
    }

    /// `layer.adapt(data)`: the mean and variance of `data` over every axis but `axis`.
    pub fn adapt(&mut self, data: &Tensor) {
        let x = data.to_dtype(DType::Float64);
        let nd = x.ndim() as isize;
        let keep = self.axis.map(|a| if a < 0 { a + nd } else { a });
        if let Some(k) = keep {
            assert!(
                (1..nd).contains(&k),
                "Normalization: axis {:?} is out of range for data of shape {:?}",
                self.axis,
                data.shape()
            );
        }
        let dims: Vec<isize> = (0..nd).filter(|&d| Some(d) != keep).collect();
        let mean = x.mean_dims(&dims, true);
        let var = (&x - &mean).square().mean_dims(&dims, true);
        self.stats = Some((mean.float(), var.float()));
    }

    /// The adapted mean and variance (broadcastable to the data), once adapted.
    pub fn mean_and_variance(&self) -> Option<(&Tensor, &Tensor)> {
        self.stats.as_ref().map(|(m, v)| (m, v))
    }
}

impl Layer for Normalization {
    fn name(&self) -> String {
        "normalization".into()
    }
    fn call(&self, x: &Tensor, _training: bool) -> Tensor {
        let (mean, var) = self
            .stats
            .as_ref()
            .expect("Normalization: call adapt(data) before using the layer");
        let x = super::as_float(x);
        let (mean, var) = (mean.to_dtype(x.dtype()), var.to_dtype(x.dtype()));
        &(&x - &mean) / &var.sqrt().clamp(Some(1e-7), None)
    }
    fn output_shape(&self, s: &[usize]) -> Vec<usize> {
        s.to_vec()
    }
}

/// `CategoryEncoding(num_tokens, output_mode)`: integer ids to `"one_hot"` vectors, or per
/// sample `"multi_hot"` (which ids occur) or `"count"` (how often) vectors of `num_tokens`
/// floats. As in Keras, a 1-D input is one sample for `multi_hot`/`count`, and `one_hot` of a
/// `[n, 1]` input is `[n, num_tokens]`.
pub struct CategoryEncoding {
    num_tokens: usize,
    mode: EncodingMode,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EncodingMode {
    OneHot,
    MultiHot,
    Count,
}

impl CategoryEncoding {
    /// `CategoryEncoding(num_tokens, output_mode="multi_hot")`.
    pub fn new(num_tokens: usize) -> Self {
        CategoryEncoding {
            num_tokens,
            mode: EncodingMode::MultiHot,
        }
    }

    /// `output_mode="one_hot"`, `"multi_hot"` or `"count"`.
    pub fn output_mode(mut self, mode: &str) -> Self {
        self.mode = match mode {
            "one_hot" => EncodingMode::OneHot,
            "multi_hot" => EncodingMode::MultiHot,
            "count" => EncodingMode::Count,
            other => panic!(
                "CategoryEncoding: output_mode must be one_hot, multi_hot or count, got '{other}'"
            ),
        };
        self
    }
}

impl Layer for CategoryEncoding {
    fn name(&self) -> String {
        "category_encoding".into()
    }
    fn call(&self, x: &Tensor, _training: bool) -> Tensor {
        let ids = x.to_dtype(DType::Int64);
        for v in ids.to_vec::<i64>() {
            assert!(
                (0..self.num_tokens as i64).contains(&v),
                "CategoryEncoding: input values must be in [0, {}), got {v}",
                self.num_tokens
            );
        }
        let ids = if self.mode == EncodingMode::OneHot
            && ids.ndim() > 1
            && ids.shape()[ids.ndim() - 1] == 1
        {
            ids.squeeze(Some(-1))
        } else {
            ids
        };
        let hot = ids.one_hot(self.num_tokens).to_dtype(DType::Float32);
        match self.mode {
            EncodingMode::OneHot => hot,
            EncodingMode::Count => hot.sum_dims(&[-2], false),
            EncodingMode::MultiHot => hot.sum_dims(&[-2], false).gt(0.0).to_dtype(DType::Float32),
        }
    }
    fn output_shape(&self, s: &[usize]) -> Vec<usize> {
        match self.mode {
            EncodingMode::OneHot if s.last() == Some(&1) => {
                [&s[..s.len() - 1], &[self.num_tokens]].concat()
            }
            EncodingMode::OneHot => [s, &[self.num_tokens]].concat(),
            _ => [&s[..s.len().saturating_sub(1)], &[self.num_tokens]].concat(),
        }
    }
}

/// The out-of-vocabulary token.
const OOV: &str = "[UNK]";

/// `StringLookup(vocabulary, num_oov_indices=1, mask_token=None, invert=False)`: strings to
/// ids, 0 for anything not in the vocabulary (`"[UNK]"`) and `1..` for the vocabulary in order.
///
/// ```
/// use tandem_keras::layers::StringLookup;
/// let lookup = StringLookup::new(&["cat", "dog"]);
/// assert_eq!(lookup.call(&["dog", "zebra", "cat"]).to_vec::<i64>(), vec![2, 0, 1]);
/// assert_eq!(lookup.invert(&tandem_core::Tensor::new([1i64, 0])), vec!["cat", "[UNK]"]);
/// ```
pub struct StringLookup {
    vocabulary: Vec<String>,
    index: HashMap<String, i64>,
}

impl StringLookup {
    /// From a vocabulary (without the OOV token, which takes id 0).
    pub fn new(vocabulary: &[&str]) -> Self {
        let mut vocab = vec![OOV.to_string()];
        vocab.extend(vocabulary.iter().map(|s| s.to_string()));
        let index = vocab
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, s)| (s.clone(), i as i64))
            .collect();
        StringLookup {
            vocabulary: vocab,
            index,
        }
    }

    /// `layer(strings)`: one id per string, as a 1-D int64 tensor.
    pub fn call(&self, strings: &[&str]) -> Tensor {
        let ids: Vec<i64> = strings
            .iter()
            .map(|s| self.index.get(*s).copied().unwrap_or(0))
            .collect();
        Tensor::from_vec(ids, &[strings.len()])
    }

    /// `StringLookup(..., invert=True)(ids)`: the string of each id.
    pub fn invert(&self, ids: &Tensor) -> Vec<String> {
        ids.to_dtype(DType::Int64)
            .to_vec::<i64>()
            .into_iter()
            .map(|i| {
                self.vocabulary
                    .get(usize::try_from(i).unwrap_or(usize::MAX))
                    .cloned()
                    .unwrap_or_else(|| OOV.to_string())
            })
            .collect()
    }

    /// `get_vocabulary()`: `"[UNK]"` then the vocabulary.
    pub fn get_vocabulary(&self) -> &[String] {
        &self.vocabulary
    }

    /// `vocabulary_size()`.
    pub fn vocabulary_size(&self) -> usize {
        self.vocabulary.len()
    }
}

/// `TextVectorization(standardize="lower_and_strip_punctuation", split="whitespace",
/// output_mode="int", output_sequence_length=None, max_tokens=None)`: lower-cases, strips
/// ASCII punctuation, splits on whitespace and maps words to ids learned by `adapt` (0 is
/// padding, 1 out-of-vocabulary, then the words by falling frequency, ties in reverse
/// lexicographic order as Keras breaks them).
///
/// ```
/// use tandem_keras::layers::TextVectorization;
/// let mut tv = TextVectorization::new().output_sequence_length(4);
/// tv.adapt(&["the cat", "the dog!"]);
/// assert_eq!(tv.get_vocabulary(), ["", "[UNK]", "the", "dog", "cat"]);
/// assert_eq!(tv.call(&["The bird"]).to_vec::<i64>(), vec![2, 1, 0, 0]);
/// ```
#[derive(Default)]
pub struct TextVectorization {
    max_tokens: Option<usize>,
    sequence_length: Option<usize>,
    vocabulary: Vec<String>,
    index: HashMap<String, i64>,
}

impl TextVectorization {
    /// Keras's defaults.
    pub fn new() -> Self {
        TextVectorization::default()
    }

    /// `output_sequence_length=n`: pad with 0 or truncate every output to `n` ids.
    pub fn output_sequence_length(mut self, n: usize) -> Self {
        self.sequence_length = Some(n);
        self
    }

    /// `max_tokens=n`: the vocabulary's size, the padding and OOV tokens included.
    pub fn max_tokens(mut self, n: usize) -> Self {
        self.max_tokens = Some(n);
        self
    }

    /// `lower_and_strip_punctuation`, then the whitespace split.
    fn tokens(text: &str) -> Vec<String> {
        let clean: String = text
            .to_lowercase()
            .chars()
            .filter(|c| !c.is_ascii_punctuation())
            .collect();
        clean.split_whitespace().map(str::to_string).collect()
    }

    /// `layer.adapt(texts)`: learns the vocabulary.
    pub fn adapt(&mut self, texts: &[&str]) {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for t in texts {
            for w in Self::tokens(t) {
                *counts.entry(w).or_default() += 1;
            }
        }
        let mut words: Vec<(String, usize)> = counts.into_iter().collect();
        words.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
        let mut vocab = vec![String::new(), OOV.to_string()];
        let room = self.max_tokens.map_or(usize::MAX, |m| m.saturating_sub(2));
        vocab.extend(words.into_iter().take(room).map(|(w, _)| w));
        self.index = vocab
            .iter()
            .enumerate()
            .skip(2)
            .map(|(i, w)| (w.clone(), i as i64))
            .collect();
        self.vocabulary = vocab;
    }

    /// `get_vocabulary()`: `""`, `"[UNK]"`, then the learned words.
    pub fn get_vocabulary(&self) -> &[String] {
        &self.vocabulary
    }

    /// `layer(texts)`: `[texts, length]` int64 ids, padded with 0 to `output_sequence_length`
    /// (or to the longest text when it is not set).
    pub fn call(&self, texts: &[&str]) -> Tensor {
        assert!(
            !self.vocabulary.is_empty(),
            "TextVectorization: call adapt(texts) before using the layer"
        );
        let ids: Vec<Vec<i64>> = texts
            .iter()
            .map(|t| {
                Self::tokens(t)
                    .iter()
                    .map(|w| self.index.get(w).copied().unwrap_or(1))
                    .collect()
            })
            .collect();
        let len = self
            .sequence_length
            .unwrap_or_else(|| ids.iter().map(Vec::len).max().unwrap_or(0));
        let mut flat = Vec::with_capacity(texts.len() * len);
        for mut row in ids {
            row.resize(len, 0);
            flat.extend(row);
        }
        Tensor::from_vec(flat, &[texts.len(), len])
    }
}
