//! Helpers the command's test files share.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// A fresh temporary directory for one test's run (removed if it exists).
pub fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tandem-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// `metrics.json` of a run directory, if it is there and whole.
pub fn read_metrics(dir: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("metrics.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// How many epochs a run directory records as finished.
pub fn epochs_done(dir: &Path) -> usize {
    read_metrics(dir)
        .and_then(|m| m["epochs"].as_array().map(Vec::len))
        .unwrap_or(0)
}

/// The standard output of a finished command, after checking it succeeded (else its output
/// is the failure message).
pub fn stdout_ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
