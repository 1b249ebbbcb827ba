//! `tandem`: train the seed's MNIST network from the command line, resumably, and evaluate it.

mod train;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// Deep learning in Rust, in the words you already know.
#[derive(Parser)]
#[command(name = "tandem", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Which idiom's program trains the network.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Idiom {
    /// nn.Module, CrossEntropyLoss, optim.Adam (PyTorch's default init)
    Torch,
    /// keras.Model, compile/fit (Keras's glorot init)
    Keras,
}

/// Which dataset to train on.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Dataset {
    /// MNIST: the full set when found, else the embedded 8,000/2,000 sample
    Mnist,
    /// Fashion-MNIST (apt-get install dataset-fashion-mnist)
    FashionMnist,
}

#[derive(Subcommand)]
enum Command {
    /// Train the seed's 784-520-320-240-120-10 network (resumes from --out if a checkpoint is there)
    Train {
        /// Idiom of the training program
        #[arg(long, value_enum, default_value_t = Idiom::Torch)]
        idiom: Idiom,
        /// Dataset
        #[arg(long, value_enum, default_value_t = Dataset::Mnist)]
        dataset: Dataset,
        /// Directory holding the dataset's IDX files
        #[arg(long)]
        data: Option<PathBuf>,
        /// Epochs
        #[arg(long, default_value_t = 5)]
        epochs: usize,
        /// Batch size
        #[arg(long, default_value_t = 64)]
        batch_size: usize,
        /// Adam learning rate
        #[arg(long, default_value_t = 1e-3)]
        lr: f64,
        /// Output directory for the checkpoint and metrics
        #[arg(long, default_value = "runs/latest")]
        out: PathBuf,
        /// Random seed
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Evaluate a checkpoint: test accuracy and the confusion matrix
    Eval {
        /// Directory written by `tandem train`
        #[arg(long)]
        checkpoint: PathBuf,
        /// Dataset
        #[arg(long, value_enum, default_value_t = Dataset::Mnist)]
        dataset: Dataset,
        /// Directory holding the dataset's IDX files
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train {
            idiom,
            dataset,
            data,
            epochs,
            batch_size,
            lr,
            out,
            seed,
        } => train::train(&train::TrainConfig {
            idiom,
            dataset,
            data,
            epochs,
            batch_size,
            lr,
            out,
            seed,
        }),
        Command::Eval {
            checkpoint,
            dataset,
            data,
        } => train::eval(&checkpoint, dataset, data.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
