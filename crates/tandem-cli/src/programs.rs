//! The lesson and benchmark programs of `crates/tandem/examples`, compiled into the command so
//! that `tandem lessons` and `tandem bench` run them without a source tree or cargo.
//!
//! Each program runs in a child process of this same binary (`TANDEM_PROGRAM=name`), so that
//! it sees exactly the arguments it would see as a cargo example.

/// The environment variable naming the program a child process runs.
pub const PROGRAM_VAR: &str = "TANDEM_PROGRAM";

/// A program's `main` either returns nothing or a result.
pub trait Outcome {
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
            #[allow(dead_code)]
            mod $name;
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
    seed_linear_regression => "../../tandem/examples/seed_linear_regression.rs",
    seed_mnist_keras => "../../tandem/examples/seed_mnist_keras.rs",
    seed_mnist_torch => "../../tandem/examples/seed_mnist_torch.rs",
    seed_ops => "../../tandem/examples/seed_ops.rs",
    torch_01_linear_model => "../../tandem/examples/torch_01_linear_model.rs",
    torch_02_manual_gradient => "../../tandem/examples/torch_02_manual_gradient.rs",
    torch_03_auto_gradient => "../../tandem/examples/torch_03_auto_gradient.rs",
    torch_05_linear_regression => "../../tandem/examples/torch_05_linear_regression.rs",
    torch_06_logistic_regression => "../../tandem/examples/torch_06_logistic_regression.rs",
    torch_07_diabetes_logistic => "../../tandem/examples/torch_07_diabetes_logistic.rs",
    torch_08_dataloader_diabetes => "../../tandem/examples/torch_08_dataloader_diabetes.rs",
    torch_09_softmax_mnist => "../../tandem/examples/torch_09_softmax_mnist.rs",
    torch_10_cnn_mnist => "../../tandem/examples/torch_10_cnn_mnist.rs",
    torch_11_toy_inception => "../../tandem/examples/torch_11_toy_inception.rs",
    torch_12_hello_rnn => "../../tandem/examples/torch_12_hello_rnn.rs",
    torch_13_1_rnn_classification => "../../tandem/examples/torch_13_1_rnn_classification.rs",
    torch_13_4_char_rnn => "../../tandem/examples/torch_13_4_char_rnn.rs",
    torch_14_2_seq2seq_att => "../../tandem/examples/torch_14_2_seq2seq_att.rs",
    torch_14_seq2seq => "../../tandem/examples/torch_14_seq2seq.rs",
    tf2_02_1_linear_regression => "../../tandem/examples/tf2_02_1_linear_regression.rs",
    tf2_04_1_multi_variable => "../../tandem/examples/tf2_04_1_multi_variable.rs",
    tf2_05_logistic_diabetes => "../../tandem/examples/tf2_05_logistic_diabetes.rs",
    tf2_06_softmax_zoo => "../../tandem/examples/tf2_06_softmax_zoo.rs",
    tf2_07_learning_rate_and_scaling => "../../tandem/examples/tf2_07_learning_rate_and_scaling.rs",
    tf2_09_4_xor_tensorboard => "../../tandem/examples/tf2_09_4_xor_tensorboard.rs",
    tf2_09_xor => "../../tandem/examples/tf2_09_xor.rs",
    tf2_10_mnist => "../../tandem/examples/tf2_10_mnist.rs",
    tf2_11_1_cnn_mnist => "../../tandem/examples/tf2_11_1_cnn_mnist.rs",
    tf2_12_1_hello_rnn => "../../tandem/examples/tf2_12_1_hello_rnn.rs",
    tf2_12_2_char_seq_rnn => "../../tandem/examples/tf2_12_2_char_seq_rnn.rs",
    tf2_12_4_long_char_rnn => "../../tandem/examples/tf2_12_4_long_char_rnn.rs",
    tf2_12_5_stock_lstm => "../../tandem/examples/tf2_12_5_stock_lstm.rs",
    bench_autograd => "../../tandem/examples/bench_autograd.rs",
    bench_cnn => "../../tandem/examples/bench_cnn.rs",
    bench_mlp => "../../tandem/examples/bench_mlp.rs",
    bench_ops => "../../tandem/examples/bench_ops.rs",
    keras_callbacks => "../../tandem/examples/keras_callbacks.rs",
}

/// The program called `name`.
pub fn find(name: &str) -> Option<&'static Program> {
    PROGRAMS.iter().find(|p| p.name == name)
}

/// Runs `name` in a child process with `args`; its output goes to this process's output when
/// `capture` is false, else it is returned.
pub fn spawn(name: &str, args: &[String], capture: bool) -> std::io::Result<(bool, String)> {
    let exe = std::env::current_exe()?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(args).env(PROGRAM_VAR, name);
    if capture {
        let out = cmd.stderr(std::process::Stdio::inherit()).output()?;
        Ok((
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ))
    } else {
        Ok((cmd.status()?.success(), String::new()))
    }
}
