//! `tandem bench`: runs the benchmark programs, and optionally the PyTorch / Keras anchor
//! scripts beside each of them in the same sitting, and prints one table.

use crate::programs;
use crate::train::CliError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One benchmark: our program and arguments, and the anchor script that measures the same.
struct Pair {
    key: &'static str,
    program: &'static str,
    args: &'static [&'static str],
    script: &'static str,
    script_args: &'static [&'static str],
}

const PAIRS: [Pair; 5] = [
    Pair {
        key: "b1",
        program: "bench_mlp",
        args: &[],
        script: "bench_b1_mlp_torch.py",
        script_args: &[],
    },
    Pair {
        key: "b1-keras",
        program: "bench_mlp",
        args: &["--idiom", "keras"],
        script: "bench_b1_mlp_keras.py",
        script_args: &["--variant", "fit"],
    },
    Pair {
        key: "b2",
        program: "bench_cnn",
        args: &[],
        script: "bench_b2_cnn_torch.py",
        script_args: &[],
    },
    Pair {
        key: "b3",
        program: "bench_autograd",
        args: &[],
        script: "bench_b3_scalar_torch.py",
        script_args: &[],
    },
    Pair {
        key: "b4",
        program: "bench_ops",
        args: &[],
        script: "bench_b4_ops_torch.py",
        script_args: &[],
    },
];

/// `RESULT bench=<name> framework=<fw> value=<number> unit=<unit>` lines.
fn results(text: &str) -> Vec<(String, String, f64, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("RESULT "))
        .filter_map(|l| {
            let field = |k: &str| {
                l.split_whitespace()
                    .find_map(|f| f.strip_prefix(k).map(str::to_string))
            };
            Some((
                field("bench=")?,
                field("framework=")?,
                field("value=")?.parse().ok()?,
                field("unit=")?,
            ))
        })
        .collect()
}

/// The anchor scripts' names for what tandem calls `name` (they add the mode and threads).
fn anchor_name(name: &str) -> String {
    name.replace("_eager_t2", "")
        .replace("_eager", "")
        .replace("b1_mlp_fit_t2", "b1_mlp_keras_fit")
}

/// Runs the pairs selected by `only` (all when empty) and prints the table; with `anchors`
/// (a Python and the directory of the anchor scripts), each anchor runs after its pair.
pub fn bench(
    only: &[String],
    anchors: Option<(&Path, &Path)>,
    threads: usize,
) -> Result<(), CliError> {
    let mut ours: BTreeMap<String, (f64, String)> = BTreeMap::new();
    let mut theirs: BTreeMap<String, (f64, String)> = BTreeMap::new();
    for pair in PAIRS
        .iter()
        .filter(|p| only.is_empty() || only.iter().any(|o| o == p.key))
    {
        eprintln!("running {} {}", pair.program, pair.args.join(" "));
        let args: Vec<String> = pair.args.iter().map(|s| s.to_string()).collect();
        let (ok, out) = programs::spawn(pair.program, &args, true)
            .map_err(|e| CliError::Other(format!("starting {}: {e}", pair.program)))?;
        if !ok {
            return Err(CliError::Other(format!("{} failed", pair.program)));
        }
        for (name, _, v, unit) in results(&out) {
            ours.insert(name, (v, unit));
        }
        if let Some((py, anchors)) = anchors {
            let script: PathBuf = anchors.join(pair.script);
            eprintln!("running {}", script.display());
            let out = std::process::Command::new(py)
                .arg(&script)
                .args(["--threads", &threads.to_string()])
                .args(pair.script_args)
                .stderr(std::process::Stdio::inherit())
                .output()
                .map_err(|e| CliError::Other(format!("starting {}: {e}", py.display())))?;
            if !out.status.success() {
                return Err(CliError::Other(format!("{} failed", script.display())));
            }
            for (name, fw, v, unit) in results(&String::from_utf8_lossy(&out.stdout)) {
                theirs.insert(anchor_name(&name), (v, format!("{unit} ({fw})")));
            }
        }
    }
    print!("{}", table(&ours, &theirs));
    Ok(())
}

/// A Markdown table; with anchors, their value and how many times faster tandem is.
fn table(
    ours: &BTreeMap<String, (f64, String)>,
    theirs: &BTreeMap<String, (f64, String)>,
) -> String {
    let mut s = String::new();
    if theirs.is_empty() {
        s.push_str("| bench | tandem | unit |\n|---|---:|---|\n");
        for (name, (v, unit)) in ours {
            s.push_str(&format!("| {name} | {v:.4} | {unit} |\n"));
        }
        return s;
    }
    s.push_str("| bench | tandem | anchor | unit | tandem speed-up |\n|---|---:|---:|---|---:|\n");
    for (name, (v, unit)) in ours {
        let Some((a, aunit)) = theirs.get(name) else {
            s.push_str(&format!("| {name} | {v:.4} | | {unit} | |\n"));
            continue;
        };
        // Throughputs (GFLOP/s) and accuracies are better when larger; times when smaller.
        let higher_is_better = unit.contains("/s") && !unit.contains("us") || unit == "fraction";
        let speedup = if higher_is_better { v / a } else { a / v };
        s.push_str(&format!(
            "| {name} | {v:.4} | {a:.4} | {aunit} | {speedup:.2}x |\n"
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_lines_parse_and_anchor_names_match_ours() {
        let r = results(
            "noise\nRESULT bench=b2_cnn_eager_t2_epoch_time framework=pytorch value=7.48 unit=s\n",
        );
        assert_eq!(r.len(), 1);
        assert_eq!(anchor_name(&r[0].0), "b2_cnn_epoch_time");
        assert_eq!(r[0].2, 7.48);
        assert_eq!(
            anchor_name("b1_mlp_fit_t2_epoch_time"),
            "b1_mlp_keras_fit_epoch_time"
        );
        assert_eq!(anchor_name("b4_add_n1000"), "b4_add_n1000");
    }

    #[test]
    fn the_table_shows_speed_ups_in_the_right_direction() {
        let ours = BTreeMap::from([
            ("t".to_string(), (2.0, "s".to_string())),
            ("g".to_string(), (200.0, "GFLOP/s".to_string())),
        ]);
        let theirs = BTreeMap::from([
            ("t".to_string(), (4.0, "s (pytorch)".to_string())),
            ("g".to_string(), (100.0, "GFLOP/s (pytorch)".to_string())),
        ]);
        let t = table(&ours, &theirs);
        assert!(
            t.contains("| t | 2.0000 | 4.0000 | s (pytorch) | 2.00x |"),
            "{t}"
        );
        assert!(
            t.contains("| g | 200.0000 | 100.0000 | GFLOP/s (pytorch) | 2.00x |"),
            "{t}"
        );
    }
}
