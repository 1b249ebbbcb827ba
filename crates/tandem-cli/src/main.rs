//! `tandem`: train the seed's MNIST network (or the lesson CNN) from the command line,
//! resumably; evaluate it, classify images with it, run the ported lessons and the benchmarks.

#![forbid(unsafe_code)]

mod bench;
mod error;
mod export;
mod job;
mod models;
mod plot;
mod predict;
mod programs;
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
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
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
    /// Train the seed's MNIST network or the lesson CNN (resumes from --out if a checkpoint is there)
    Train {
        /// Idiom of the training program
        #[arg(long, value_enum, default_value_t = Idiom::Torch)]
        idiom: Idiom,
        /// Network
        #[arg(long, value_enum, default_value_t = models::ModelKind::Mlp)]
        model: models::ModelKind,
        /// Dataset
        #[arg(long, value_enum, default_value_t = Dataset::Mnist)]
        dataset: Dataset,
        /// Directory holding the dataset's IDX files
        #[arg(long)]
        data: Option<PathBuf>,
        /// Epochs
        #[arg(long, default_value_t = 15)]
        epochs: usize,
        /// Batch size
        #[arg(long, default_value_t = 64)]
        batch_size: usize,
        /// Adam learning rate
        #[arg(long, default_value_t = 2e-3)]
        lr: f64,
        /// Factor applied to the learning rate after every epoch
        #[arg(long, default_value_t = 0.7)]
        lr_decay: f64,
        /// Fraction of the training split held out to choose the best epoch
        #[arg(long, default_value_t = 0.1)]
        validation_split: f64,
        /// Output directory for the checkpoint and metrics
        #[arg(long, default_value = "runs/latest")]
        out: PathBuf,
        /// Random seed
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Classify digit images (PNG files or IDX image files) with a trained network
    Predict {
        /// Directory written by `tandem train`
        #[arg(long)]
        checkpoint: PathBuf,
        /// PNG or IDX (idx3-ubyte, optionally gzipped) files
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// IDX label file for an IDX image file: also print the accuracy
        #[arg(long)]
        labels: Option<PathBuf>,
        /// Dark digits on a light background (PNG): invert to MNIST's light-on-dark
        #[arg(long)]
        invert: bool,
        /// Print at most this many predictions per file
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// List the ported lessons, or run one (arguments after NAME go to the lesson)
    Lessons {
        /// List the lessons with what each does
        #[arg(long)]
        list: bool,
        /// The lesson to run (`tandem lessons --list` names them)
        name: Option<String>,
        /// Arguments for the lesson (e.g. epochs)
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run the benchmarks and print their table; with --python, beside PyTorch's and Keras's
    Bench {
        /// Only these: b1, b1-keras, b2, b3, b4 (default: all)
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Python with torch/tensorflow/keras, to run the anchor scripts in the same sitting
        #[arg(long, requires = "anchors")]
        python: Option<PathBuf>,
        /// Directory of the anchor scripts (bench_b1_mlp_torch.py, ...), needed with --python
        #[arg(long, requires = "python")]
        anchors: Option<PathBuf>,
        /// Threads for the anchors (tandem uses every core unless TANDEM_NUM_THREADS is set)
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
    /// Write a trained run's best model as ONNX, or its weights as a PyTorch .pt file or safetensors
    Export {
        /// Directory written by `tandem train`
        #[arg(long)]
        checkpoint: PathBuf,
        /// File format
        #[arg(long, value_enum)]
        format: export::ExportFormat,
        /// Output file (default: model.<format> in the checkpoint directory)
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Download a dataset into the cache (or --dir), each file checked against its published MD5
    Download {
        /// Dataset
        #[arg(value_enum)]
        dataset: Dataset,
        /// Directory to download into (default: where `tandem train` looks, the user cache)
        #[arg(long)]
        dir: Option<PathBuf>,
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

fn run_program(name: &str) -> ExitCode {
    let Some(program) = programs::find(name) else {
        eprintln!("error: no program named '{name}' (tandem lessons --list)");
        return ExitCode::from(2);
    };
    match (program.run)() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn lessons(list: bool, name: Option<String>, args: &[String]) -> Result<(), train::CliError> {
    match name {
        Some(name) if !list => {
            let Some(p) = programs::find(&name).filter(|p| p.is_lesson()) else {
                return Err(train::CliError::Usage(format!(
                    "no lesson named '{name}' (tandem lessons --list names them)"
                )));
            };
            let (ok, _) = programs::spawn(p.name, args, false)
                .map_err(|e| train::CliError::Other(format!("starting {name}: {e}")))?;
            if ok {
                Ok(())
            } else {
                Err(train::CliError::Other(format!("lesson {name} failed")))
            }
        }
        _ => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            for p in programs::PROGRAMS.iter().filter(|p| p.is_lesson()) {
                // A reader that stops early (`| head`) is not an error.
                if writeln!(out, "{:34} {}", p.name, p.summary()).is_err() {
                    break;
                }
            }
            Ok(())
        }
    }
}

/// `tandem download`: the dataset's four files, with a progress bar on a terminal.
fn download(dataset: Dataset, dir: Option<&std::path::Path>) -> Result<(), train::CliError> {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:28} [{bar:30}] {bytes}/{total_bytes}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let mut file = String::new();
    let mut progress = |p: tandem::data::download::Progress<'_>| {
        if p.file != file {
            file = p.file.to_string();
            bar.set_message(file.clone());
            bar.set_length(p.total.unwrap_or(0));
        }
        bar.set_position(p.done);
    };
    let dir = match dataset {
        Dataset::Mnist => tandem::data::mnist::download(dir, &mut progress)?,
        Dataset::FashionMnist => tandem::data::fashion_mnist::download(dir, &mut progress)?,
    };
    bar.finish_and_clear();
    println!("verified files in {}", dir.display());
    Ok(())
}

fn main() -> ExitCode {
    if let Ok(name) = std::env::var(programs::PROGRAM_VAR) {
        return run_program(&name);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train {
            idiom,
            model,
            dataset,
            data,
            epochs,
            batch_size,
            lr,
            lr_decay,
            validation_split,
            out,
            seed,
        } => train::train(&train::TrainConfig {
            idiom,
            model,
            dataset,
            data,
            epochs,
            batch_size,
            lr,
            lr_decay,
            validation_split,
            out,
            seed,
        }),
        Command::Eval {
            checkpoint,
            dataset,
            data,
        } => train::eval(&checkpoint, dataset, data.as_deref()),
        Command::Predict {
            checkpoint,
            files,
            labels,
            invert,
            limit,
        } => predict::predict(&checkpoint, &files, labels.as_deref(), invert, limit),
        Command::Export {
            checkpoint,
            format,
            out,
        } => export::export(&checkpoint, format, out.as_deref())
            .map(|path| println!("wrote {}", path.display())),
        Command::Download { dataset, dir } => download(dataset, dir.as_deref()),
        Command::Lessons { list, name, args } => lessons(list, name, &args),
        Command::Bench {
            only,
            python,
            anchors,
            threads,
        } => bench::bench(&only, python.as_deref().zip(anchors.as_deref()), threads),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ train::CliError::Usage(_)) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
