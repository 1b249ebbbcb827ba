//! Downloads of the datasets' published files, each verified against the checksum its
//! library publishes (torchvision's MD5s for the MNIST and Fashion-MNIST `.gz` files, Keras's
//! SHA-256 for `mnist.npz`).
//!
//! Each file streams into a temporary file beside its destination while it is hashed, and is
//! renamed into place only when the digest matches: a failed, cut or corrupted transfer never
//! leaves a file behind, and a rerun starts clean. Mirrors are tried in order; an environment
//! variable replaces the list (comma-separated base URLs), e.g. for a local copy. Plain HTTP
//! works in every build; HTTPS mirrors need the crate's `https` feature.

use crate::error::{DataError, Result};
use md5::Md5;
use sha2::{Digest as _, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A published digest of a file.
#[derive(Clone, Copy, Debug)]
pub enum Digest {
    /// MD5, lower-case hex.
    Md5(&'static str),
    /// SHA-256, lower-case hex.
    Sha256(&'static str),
}

impl Digest {
    fn expected(self) -> &'static str {
        match self {
            Digest::Md5(h) | Digest::Sha256(h) => h,
        }
    }
}

enum Hasher {
    Md5(Md5),
    Sha256(Sha256),
}

impl Hasher {
    fn new(d: Digest) -> Hasher {
        match d {
            Digest::Md5(_) => Hasher::Md5(Md5::new()),
            Digest::Sha256(_) => Hasher::Sha256(Sha256::new()),
        }
    }
    fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(bytes),
            Hasher::Sha256(h) => h.update(bytes),
        }
    }
    fn hex(self) -> String {
        let bytes: Vec<u8> = match self {
            Hasher::Md5(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// One published file of a dataset.
#[derive(Clone, Copy, Debug)]
pub struct RemoteFile {
    /// The file name, as on the mirrors and in the cache.
    pub name: &'static str,
    /// Its published digest.
    pub digest: Digest,
}

/// A dataset's files and where they are published.
#[derive(Clone, Copy, Debug)]
pub struct Remote {
    /// The name in messages (`"MNIST"`).
    pub dataset: &'static str,
    /// Base URLs, tried in order (each ends in `/`).
    pub mirrors: &'static [&'static str],
    /// The environment variable that replaces `mirrors`.
    pub mirror_var: &'static str,
    /// The files.
    pub files: &'static [RemoteFile],
}

/// How far a download has come: the file, the bytes so far, and the total when the server
/// said.
#[derive(Clone, Copy, Debug)]
pub struct Progress<'a> {
    /// The file being fetched.
    pub file: &'a str,
    /// Bytes received.
    pub done: u64,
    /// The file's size, when known.
    pub total: Option<u64>,
}

impl Remote {
    /// The mirrors in effect: the environment variable's list when set, else the published
    /// ones.
    pub fn mirrors(&self) -> Vec<String> {
        match std::env::var(self.mirror_var) {
            Ok(v) if !v.trim().is_empty() => v
                .split(',')
                .filter(|m| !m.trim().is_empty())
                .map(|m| {
                    let m = m.trim();
                    if m.ends_with('/') {
                        m.to_string()
                    } else {
                        format!("{m}/")
                    }
                })
                .collect(),
            _ => self.mirrors.iter().map(|m| m.to_string()).collect(),
        }
    }

    /// Fetches every file into `dir` (created if needed), skipping those already there with
    /// the right digest; returns `dir`.
    ///
    /// # Errors
    /// [`DataError::Checksum`] when a mirror serves a file whose digest differs (the last
    /// mirror's mismatch is reported when every mirror fails), [`DataError::Download`] when no
    /// mirror could deliver a file, [`DataError::Io`] for the local file system.
    pub fn fetch(&self, dir: &Path, progress: &mut dyn FnMut(Progress<'_>)) -> Result<PathBuf> {
        std::fs::create_dir_all(dir).map_err(|source| DataError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let mirrors = self.mirrors();
        for file in self.files {
            let dest = dir.join(file.name);
            if dest.is_file() && digest_of(&dest, file.digest)? == file.digest.expected() {
                continue;
            }
            let urls: Vec<String> = mirrors
                .iter()
                .map(|m| format!("{m}{}", file.name))
                .collect();
            fetch_file(&urls, file, &dest, progress)?;
        }
        Ok(dir.to_path_buf())
    }
}

fn digest_of(path: &Path, d: Digest) -> Result<String> {
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = Hasher::new(d);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            return Ok(h.hex());
        }
        h.update(&buf[..n]);
    }
}

/// Downloads one file from the first of `urls` that delivers it whole with the right digest,
/// into `dest`; nothing is left at `dest` (or beside it) when none does.
pub fn fetch_file(
    urls: &[String],
    file: &RemoteFile,
    dest: &Path,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<PathBuf> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        // a stalled connection fails; a slow one that keeps delivering does not
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_send_request(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .build()
        .into();
    let dir = dest.parent().unwrap_or(Path::new("."));
    let mut attempts = Vec::new();
    let mut mismatch = None;
    for url in urls {
        match try_url(&agent, url, file, dir, progress) {
            Ok(Ok(tmp)) => {
                tmp.persist(dest).map_err(|e| DataError::Io {
                    path: dest.to_path_buf(),
                    source: e.error,
                })?;
                return Ok(dest.to_path_buf());
            }
            Ok(Err(actual)) => {
                attempts.push(format!(
                    "{url}: digest {actual}, expected {}",
                    file.digest.expected()
                ));
                mismatch = Some(actual);
            }
            Err(reason) => attempts.push(format!("{url}: {reason}")),
        }
    }
    Err(match mismatch {
        Some(actual) => DataError::Checksum {
            file: file.name.to_string(),
            expected: file.digest.expected().to_string(),
            actual,
            attempts,
        },
        None => DataError::Download {
            file: file.name.to_string(),
            attempts,
        },
    })
}

/// One attempt: `Ok(Ok(temp file))` when the digest matches, `Ok(Err(actual digest))` when it
/// does not, `Err(reason)` when the transfer failed. The temporary file is deleted on drop.
fn try_url(
    agent: &ureq::Agent,
    url: &str,
    file: &RemoteFile,
    dir: &Path,
    progress: &mut dyn FnMut(Progress<'_>),
) -> std::result::Result<std::result::Result<tempfile::NamedTempFile, String>, String> {
    let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
    let total = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", file.name))
        .suffix(".part")
        .tempfile_in(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut reader = response.body_mut().with_config().limit(u64::MAX).reader();
    let mut hasher = Hasher::new(file.digest);
    let mut buf = vec![0u8; 1 << 16];
    let mut done = 0u64;
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| format!("transfer cut after {done} bytes: {e}"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        tmp.write_all(&buf[..n]).map_err(|e| e.to_string())?;
        done += n as u64;
        progress(Progress {
            file: file.name,
            done,
            total,
        });
    }
    if let Some(total) = total.filter(|&t| t != done) {
        return Err(format!("transfer cut after {done} of {total} bytes"));
    }
    tmp.as_file().sync_all().map_err(|e| e.to_string())?;
    let actual = hasher.hex();
    Ok(if actual == file.digest.expected() {
        Ok(tmp)
    } else {
        Err(actual)
    })
}
