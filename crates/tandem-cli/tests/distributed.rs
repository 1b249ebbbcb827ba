//! `mpirun -np 2 tandem train`: the default recipe in both idioms reaches the single-process
//! accuracy with one run directory written by rank 0, and a job killed with SIGKILL resumes
//! from its last finished epoch.

mod common;

use common::{epochs_done, out_dir, read_metrics as metrics, stdout_ok};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn mpirun(ranks: usize) -> Command {
    let mut cmd = Command::new("mpirun");
    cmd.args([
        "--oversubscribe",
        "--bind-to",
        "none",
        "-np",
        &ranks.to_string(),
    ])
    .arg(env!("CARGO_BIN_EXE_tandem"))
    .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
    .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    cmd
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn default_recipe_on_two_ranks(idiom: &str, files: &[&str]) {
    let dir = out_dir(&format!("mpi-{idiom}"));
    let out = mpirun(2)
        .args(["train", "--idiom", idiom, "--seed", "1", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    let text = stdout_ok(&out);
    assert!(text.contains("ranks: 2"), "{text}");
    // Rank 0 alone reports and writes.
    assert_eq!(text.matches("trained 15 epochs").count(), 1, "{text}");
    assert_eq!(listing(&dir), files);
    let m = metrics(&dir).unwrap();
    assert_eq!(m["epochs"].as_array().unwrap().len(), 15);
    let acc = m["best"]["test_accuracy"].as_f64().unwrap();
    assert!(
        acc >= 0.94,
        "{idiom} on 2 ranks: test accuracy {acc}\n{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn two_ranks_train_the_torch_recipe_to_94_percent_with_one_checkpoint() {
    default_recipe_on_two_ranks(
        "torch",
        &[
            "last.safetensors",
            "metrics.json",
            "model.safetensors",
            "optimizer.safetensors",
            "training.png",
        ],
    );
}

#[test]
fn two_ranks_train_the_keras_recipe_to_94_percent_with_one_checkpoint() {
    default_recipe_on_two_ranks(
        "keras",
        &[
            "backup",
            "metrics.json",
            "model.weights.safetensors",
            "training.png",
        ],
    );
}

#[test]
fn a_job_killed_with_sigkill_resumes_from_its_last_epoch() {
    let dir = out_dir("mpi-resume");
    let mut job = mpirun(2)
        .args(["train", "--epochs", "4", "--out"])
        .arg(&dir)
        .stdout(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    // Other tests' ranks share the cores: give the first epoch time.
    while epochs_done(&dir) < 1 && t0.elapsed() < Duration::from_secs(300) {
        std::thread::sleep(Duration::from_millis(20));
    }
    // SIGKILL to mpirun and both ranks at once (the shell's own `kill`: no procps needed).
    let kill = format!("kill -9 -{}", job.id());
    Command::new("sh").args(["-c", &kill]).status().unwrap();
    job.wait().unwrap();
    let done = epochs_done(&dir);
    assert!(done >= 1, "the first epoch's checkpoint was written");
    let out = mpirun(2)
        .args(["train", "--epochs", "4", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    let text = stdout_ok(&out);
    if done < 4 {
        assert!(
            text.contains(&format!("resuming after epoch {done}")),
            "{text}"
        );
        assert!(
            text.contains(&format!("trained {} epochs", 4 - done)),
            "{text}"
        );
    }
    let m = metrics(&dir).unwrap();
    let numbers: Vec<u64> = m["epochs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["epoch"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, vec![1, 2, 3, 4]);
    std::fs::remove_dir_all(&dir).unwrap();
}
