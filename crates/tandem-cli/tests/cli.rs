//! The `tandem` command end to end: training on the embedded MNIST sample, resuming after a
//! kill -9, evaluation, and usage errors.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn tandem() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tandem"))
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tandem-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn epochs_done(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("metrics.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["epochs"].as_array().map(Vec::len))
        .unwrap_or(0)
}

#[test]
fn train_survives_kill_9_and_resumes_from_the_last_epoch() {
    let dir = out_dir("resume");
    let mut child = tandem()
        .args(["train", "--epochs", "4", "--out"])
        .arg(&dir)
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while epochs_done(&dir) < 1 && t0.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let done = epochs_done(&dir);
    assert!(done >= 1, "the first epoch's checkpoint was written");
    let out = tandem()
        .args(["train", "--epochs", "4", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if done < 4 {
        assert!(
            stdout.contains(&format!("resuming from epoch {done}")),
            "{stdout}"
        );
    }
    assert_eq!(epochs_done(&dir), 4);
    let eval = tandem()
        .args(["eval", "--checkpoint"])
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&eval.stdout);
    let acc: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("test accuracy: "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(acc > 0.9, "{text}");
    assert_eq!(
        text.lines()
            .filter(|l| l.len() > 3 && l.as_bytes()[1] == b':')
            .count(),
        10,
        "a 10x10 confusion matrix"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn usage_errors_exit_2_and_missing_files_exit_1_with_a_message() {
    let bad = tandem().arg("trian").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let missing = tandem()
        .args(["eval", "--checkpoint", "/nonexistent/run"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/run/model.safetensors"));
}
