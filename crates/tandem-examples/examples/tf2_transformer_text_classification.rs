//! keras.io's "Text classification with Transformer", on names: which of 18 languages a
//! surname comes from (the PyTorchZeroToAll names data, 13,374 training and 6,700 test names,
//! shipped with tandem; lesson 13-1 learns it with a GRU). The model is keras.io's: a
//! subclassed `TokenAndPositionEmbedding` layer (token and position `Embedding`s added), a
//! subclassed `TransformerBlock` layer (`MultiHeadAttention`, dropout, a residual sum and
//! `LayerNormalization`, then a two-layer feed-forward block the same way), then
//! `GlobalAveragePooling1D`, `Dropout`, `Dense(20, relu)`, `Dropout` and a softmax over the
//! languages, compiled with Adam and sparse categorical cross-entropy. Each name is read as
//! its ASCII codes, padded with zeros to 20 characters.
//!
//! Run: `cargo run --release --example tf2_transformer_text_classification -- [epochs]`
//! (4 by default).

use tandem::data::csv::read_rows;
use tandem::tf::keras::layers::{
    Dense, Dropout, Embedding, GlobalAveragePooling1D, Layer, LayerNormalization,
    MultiHeadAttention,
};
use tandem::tf::keras::{FitArgs, Sequential};
use tandem::{tf, Tensor};

const MAXLEN: usize = 20; // characters kept of each name
const VOCAB_SIZE: usize = 128; // ASCII codes; 0 pads

/// `class TransformerBlock(layers.Layer)`.
pub struct TransformerBlock {
    att: MultiHeadAttention,
    ffn: [Dense; 2],
    layernorm1: LayerNormalization,
    layernorm2: LayerNormalization,
    dropout1: Dropout,
    dropout2: Dropout,
}

impl TransformerBlock {
    pub fn new(embed_dim: usize, num_heads: usize, ff_dim: usize, rate: f64) -> Self {
        TransformerBlock {
            att: MultiHeadAttention::new(num_heads, embed_dim),
            ffn: [Dense::new(ff_dim).activation("relu"), Dense::new(embed_dim)],
            layernorm1: LayerNormalization::new().epsilon(1e-6),
            layernorm2: LayerNormalization::new().epsilon(1e-6),
            dropout1: Dropout::new(rate),
            dropout2: Dropout::new(rate),
        }
    }

    /// Every position attends only to itself and earlier ones (the miniature GPT's block).
    pub fn causal(mut self) -> Self {
        self.att = self.att.causal(true);
        self
    }
}

impl Layer for TransformerBlock {
    fn name(&self) -> String {
        "transformer_block".into()
    }
    fn build(&mut self, input_shape: &[usize]) {
        self.att.build(input_shape);
        self.ffn[0].build(input_shape);
        self.ffn[1].build(&self.ffn[0].output_shape(input_shape));
        self.layernorm1.build(input_shape);
        self.layernorm2.build(input_shape);
    }
    fn built(&self) -> bool {
        self.att.built()
    }
    fn call(&self, inputs: &Tensor, training: bool) -> Tensor {
        let attn_output = self.att.call(inputs, training);
        let attn_output = self.dropout1.call(&attn_output, training);
        let out1 = self.layernorm1.call(&(inputs + &attn_output), training);
        let ffn_output = self.ffn[1].call(&self.ffn[0].call(&out1, training), training);
        let ffn_output = self.dropout2.call(&ffn_output, training);
        self.layernorm2.call(&(&out1 + &ffn_output), training)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Vec<usize> {
        input_shape.to_vec()
    }
    fn trainable_weights(&self) -> Vec<Tensor> {
        let mut w = self.att.trainable_weights();
        w.extend(self.ffn.iter().flat_map(Dense::trainable_weights));
        w.extend(self.layernorm1.trainable_weights());
        w.extend(self.layernorm2.trainable_weights());
        w
    }
}

/// `class TokenAndPositionEmbedding(layers.Layer)`.
pub struct TokenAndPositionEmbedding {
    token_emb: Embedding,
    pos_emb: Embedding,
}

impl TokenAndPositionEmbedding {
    pub fn new(maxlen: usize, vocab_size: usize, embed_dim: usize) -> Self {
        TokenAndPositionEmbedding {
            token_emb: Embedding::new(vocab_size, embed_dim),
            pos_emb: Embedding::new(maxlen, embed_dim),
        }
    }
}

impl Layer for TokenAndPositionEmbedding {
    fn name(&self) -> String {
        "token_and_position_embedding".into()
    }
    fn call(&self, x: &Tensor, training: bool) -> Tensor {
        let maxlen = x.shape()[x.ndim() - 1];
        let positions = Tensor::from_vec((0..maxlen as i64).collect(), &[maxlen]);
        let positions = self.pos_emb.call(&positions, training);
        let x = self.token_emb.call(x, training);
        &x + &positions
    }
    fn output_shape(&self, input_shape: &[usize]) -> Vec<usize> {
        self.token_emb.output_shape(input_shape)
    }
    fn trainable_weights(&self) -> Vec<Tensor> {
        let mut w = self.token_emb.trainable_weights();
        w.extend(self.pos_emb.trainable_weights());
        w
    }
}

/// Names as padded ASCII codes `[N, MAXLEN]`, and the index of each name's language.
fn encode(
    rows: &[Vec<String>],
    languages: &[String],
) -> Result<(Tensor, Tensor), Box<dyn std::error::Error>> {
    let mut codes = vec![0i64; rows.len() * MAXLEN];
    let mut labels = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        for (c, b) in codes[i * MAXLEN..(i + 1) * MAXLEN]
            .iter_mut()
            .zip(r[0].bytes())
        {
            *c = (b as usize % VOCAB_SIZE) as i64;
        }
        let label = languages
            .binary_search(&r[1])
            .map_err(|_| format!("unknown language {}", r[1]))?;
        labels.push(label as i64);
    }
    Ok((
        Tensor::from_vec(codes, &[rows.len(), MAXLEN]),
        Tensor::from_vec(labels, &[rows.len()]),
    ))
}

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epochs: usize = std::env::args()
        .nth(1)
        .map(|e| e.parse())
        .transpose()?
        .unwrap_or(4);
    tf::random::set_seed(42);
    let train = read_rows(tandem::data::course::file("names_train.csv.gz")?)?;
    let test = read_rows(tandem::data::course::file("names_test.csv.gz")?)?;
    let mut languages: Vec<String> = train.iter().map(|r| r[1].clone()).collect();
    languages.sort();
    languages.dedup();
    let (x_train, y_train) = encode(&train, &languages)?;
    let (x_val, y_val) = encode(&test, &languages)?;
    println!("{} training names", x_train.shape()[0]);
    println!("{} validation names", x_val.shape()[0]);

    let embed_dim = 32; // Embedding size for each token
    let num_heads = 2; // Number of attention heads
    let ff_dim = 32; // Hidden layer size in feed forward network inside transformer

    let mut model = Sequential::new(vec![
        Box::new(TokenAndPositionEmbedding::new(
            MAXLEN, VOCAB_SIZE, embed_dim,
        )),
        Box::new(TransformerBlock::new(embed_dim, num_heads, ff_dim, 0.1)),
        Box::new(GlobalAveragePooling1D),
        Box::new(Dropout::new(0.1)),
        Box::new(Dense::new(20).activation("relu")),
        Box::new(Dropout::new(0.1)),
        Box::new(Dense::new(languages.len()).activation("softmax")),
    ]);
    model.compile("adam", "sparse_categorical_crossentropy", &["accuracy"])?;
    model.fit(
        &x_train,
        &y_train,
        FitArgs {
            batch_size: 32,
            epochs,
            validation_data: Some((&x_val, &y_val)),
            ..Default::default()
        },
    )?;
    let logs = model.evaluate(&x_val, &y_val, 256)?;
    let acc = logs
        .iter()
        .find(|(k, _)| k == "accuracy")
        .map_or(f64::NAN, |(_, v)| *v);
    println!("validation accuracy: {acc:.4}");
    Ok(())
}
