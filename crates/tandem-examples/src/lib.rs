//! # tandem-examples
//!
//! The course lessons and the benchmark programs of tandem, as plain cargo examples
//! (`examples/`, run with `cargo run --release -p tandem-examples --example NAME`), and
//! compiled into this library as well, so that the `tandem` command runs them after
//! `cargo install`, with no source tree or cargo at hand (`tandem lessons NAME`,
//! `tandem bench`).
//!
//! ```
//! let lesson = tandem_examples::find("torch_12_hello_rnn").unwrap();
//! assert!(lesson.is_lesson());
//! assert!(lesson.summary().starts_with("PyTorchZeroToAll lesson 12"));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// `bench_gpt` and `tf2_miniature_gpt` load the lesson whose model they share as a module of
// their own, so that each also builds as a standalone example.
#![allow(clippy::duplicate_mod)]

/// The environment variable naming the program a child process runs.
pub const PROGRAM_VAR: &str = "TANDEM_PROGRAM";

/// A program's `main` either returns nothing or a result.
pub trait Outcome {
    /// `Ok` or the error's message.
    fn into_result(self) -> Result<(), String>;
}

impl Outcome for () {
    fn into_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: std::fmt::Display> Outcome for Result<(), E> {
    fn into_result(self) -> Result<(), String> {
        self.map_err(|e| e.to_string())
    }
}

/// One compiled-in program.
pub struct Program {
    /// The example's name (`torch_12_hello_rnn`).
    pub name: &'static str,
    /// Its source, for the description in its `//!` header.
    pub source: &'static str,
    /// Its `main`.
    pub run: fn() -> Result<(), String>,
}

impl Program {
    /// The first sentence of the header comment.
    pub fn summary(&self) -> String {
        let header: Vec<&str> = self
            .source
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .map(|l| l.trim_start_matches("//!").trim())
            .take_while(|l| !l.is_empty())
            .collect();
        let text = header.join(" ");
        match text.find(". ") {
            Some(end) => text[..=end].trim().to_string(),
            None => text,
        }
    }

    /// Whether this is a lesson (rather than a benchmark or a demo of one feature).
    pub fn is_lesson(&self) -> bool {
        ["seed_", "torch_", "tf2_"]
            .iter()
            .any(|p| self.name.starts_with(p))
    }
}

macro_rules! programs {
    ($($name:ident => $path:literal),* $(,)?) => {
        $(
            #[path = $path]
            #[allow(dead_code, missing_docs)]
            pub mod $name;
        )*
        /// Every compiled-in program, by name.
        pub const PROGRAMS: &[Program] = &[$(
            Program {
                name: stringify!($name),
                source: include_str!($path),
                run: || Outcome::into_result($name::main()),
            },
        )*];
    };
}

programs! {
    seed_linear_regression => "../examples/seed_linear_regression.rs",
    seed_mnist_keras => "../examples/seed_mnist_keras.rs",
    seed_mnist_torch => "../examples/seed_mnist_torch.rs",
    seed_ops => "../examples/seed_ops.rs",
    torch_01_linear_model => "../examples/torch_01_linear_model.rs",
    torch_02_manual_gradient => "../examples/torch_02_manual_gradient.rs",
    torch_03_auto_gradient => "../examples/torch_03_auto_gradient.rs",
    torch_05_linear_regression => "../examples/torch_05_linear_regression.rs",
    torch_06_logistic_regression => "../examples/torch_06_logistic_regression.rs",
    torch_07_diabetes_logistic => "../examples/torch_07_diabetes_logistic.rs",
    torch_08_dataloader_diabetes => "../examples/torch_08_dataloader_diabetes.rs",
    torch_09_softmax_mnist => "../examples/torch_09_softmax_mnist.rs",
    torch_10_cnn_mnist => "../examples/torch_10_cnn_mnist.rs",
    torch_11_toy_inception => "../examples/torch_11_toy_inception.rs",
    torch_12_hello_rnn => "../examples/torch_12_hello_rnn.rs",
    torch_13_1_rnn_classification => "../examples/torch_13_1_rnn_classification.rs",
    torch_13_4_char_rnn => "../examples/torch_13_4_char_rnn.rs",
    torch_14_2_seq2seq_att => "../examples/torch_14_2_seq2seq_att.rs",
    torch_14_seq2seq => "../examples/torch_14_seq2seq.rs",
    torch_15_custom_function => "../examples/torch_15_custom_function.rs",
    torch_16_adadelta_mnist => "../examples/torch_16_adadelta_mnist.rs",
    torch_gpt_shakespeare => "../examples/torch_gpt_shakespeare.rs",
    tf2_02_1_linear_regression => "../examples/tf2_02_1_linear_regression.rs",
    tf2_04_1_multi_variable => "../examples/tf2_04_1_multi_variable.rs",
    tf2_05_logistic_diabetes => "../examples/tf2_05_logistic_diabetes.rs",
    tf2_06_softmax_zoo => "../examples/tf2_06_softmax_zoo.rs",
    tf2_07_learning_rate_and_scaling => "../examples/tf2_07_learning_rate_and_scaling.rs",
    tf2_09_4_xor_tensorboard => "../examples/tf2_09_4_xor_tensorboard.rs",
    tf2_09_xor => "../examples/tf2_09_xor.rs",
    tf2_10_mnist => "../examples/tf2_10_mnist.rs",
    tf2_11_1_cnn_mnist => "../examples/tf2_11_1_cnn_mnist.rs",
    tf2_12_1_hello_rnn => "../examples/tf2_12_1_hello_rnn.rs",
    tf2_12_2_char_seq_rnn => "../examples/tf2_12_2_char_seq_rnn.rs",
    tf2_12_4_long_char_rnn => "../examples/tf2_12_4_long_char_rnn.rs",
    tf2_12_5_stock_lstm => "../examples/tf2_12_5_stock_lstm.rs",
    tf2_13_lr_schedule => "../examples/tf2_13_lr_schedule.rs",
    tf2_14_functional_two_heads => "../examples/tf2_14_functional_two_heads.rs",
    tf2_transformer_text_classification => "../examples/tf2_transformer_text_classification.rs",
    tf2_miniature_gpt => "../examples/tf2_miniature_gpt.rs",
    bench_autograd => "../examples/bench_autograd.rs",
    bench_cnn => "../examples/bench_cnn.rs",
    bench_ddp => "../examples/bench_ddp.rs",
    bench_gpt => "../examples/bench_gpt.rs",
    bench_sdpa => "../examples/bench_sdpa.rs",
    bench_mlp => "../examples/bench_mlp.rs",
    bench_ops => "../examples/bench_ops.rs",
    machine_probe => "../examples/machine_probe.rs",
    keras_callbacks => "../examples/keras_callbacks.rs",
}

/// The program called `name`.
pub fn find(name: &str) -> Option<&'static Program> {
    PROGRAMS.iter().find(|p| p.name == name)
}
