//! Downloads against a local HTTP server on 127.0.0.1 that serves the Debian package's
//! Fashion-MNIST files (`apt-get install dataset-fashion-mnist`), a corrupted copy, and a
//! transfer cut midway. The expected digests are the ones Debian's package database lists for
//! those files (`/var/lib/dpkg/info/dataset-fashion-mnist.md5sums`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use tandem_data::download::{Digest, Remote, RemoteFile};
use tandem_data::DataError;

const DEBIAN: &str = "/usr/share/datasets/fashion-mnist";
const NAMES: [&str; 2] = ["t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"];

/// The MD5 of each served file, as dpkg recorded it at installation.
fn debian_md5s() -> HashMap<String, String> {
    let text = std::fs::read_to_string("/var/lib/dpkg/info/dataset-fashion-mnist.md5sums")
        .expect("dataset-fashion-mnist is installed (.ci/run installs it)");
    text.lines()
        .filter_map(|l| {
            let (sum, path) = l.split_once("  ")?;
            let name = Path::new(path).file_name()?.to_str()?.to_string();
            Some((name, sum.to_string()))
        })
        .collect()
}

/// Serves `/good/NAME`, `/bad/NAME` (one byte changed) and `/cut/NAME` (half the bytes
/// under the full Content-Length, then the connection closes); returns the base URL.
fn serve() -> String {
    serve_from(Path::new(DEBIAN).to_path_buf())
}

fn serve_from(root: std::path::PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
            let mut parts = path.trim_start_matches('/').splitn(2, '/');
            let (mode, name) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let Ok(mut body) = std::fs::read(root.join(name)) else {
                let _ = stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                continue;
            };
            let len = body.len();
            match mode {
                "bad" => body[len / 2] ^= 0x40,
                "cut" => body.truncate(len / 2),
                _ => {}
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
            let _ = stream.flush();
        }
    });
    base
}

fn remote(mirrors: Vec<String>, var: &'static str) -> Remote {
    let md5 = debian_md5s();
    let files: Vec<RemoteFile> = NAMES
        .iter()
        .map(|&name| RemoteFile {
            name,
            digest: Digest::Md5(Box::leak(md5[name].clone().into_boxed_str())),
        })
        .collect();
    let mirrors: Vec<&'static str> = mirrors
        .into_iter()
        .map(|m| &*Box::leak(m.into_boxed_str()))
        .collect();
    Remote {
        dataset: "Fashion-MNIST",
        mirrors: Box::leak(mirrors.into_boxed_slice()),
        mirror_var: var,
        files: Box::leak(files.into_boxed_slice()),
    }
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn verified_files_land_in_the_directory_and_load() {
    let base = serve();
    let dir = tempfile::tempdir().unwrap();
    let mut seen = 0u64;
    let r = remote(vec![format!("{base}/good/")], "TANDEM_TEST_MIRRORS_GOOD");
    let got = r
        .fetch(dir.path(), &mut |p| seen = seen.max(p.done))
        .unwrap();
    assert_eq!(got, dir.path());
    assert_eq!(listing(dir.path()), {
        let mut n: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
        n.sort();
        n
    });
    for name in NAMES {
        assert_eq!(
            std::fs::read(dir.path().join(name)).unwrap(),
            std::fs::read(Path::new(DEBIAN).join(name)).unwrap()
        );
    }
    assert!(seen > 1_000_000, "progress reached {seen} bytes");
    let labels = tandem_data::idx::read_idx(dir.path().join(NAMES[0])).unwrap();
    assert_eq!(labels.shape(), &[10_000]);
    // a second fetch finds the files verified and downloads nothing
    let offline = remote(
        vec!["http://127.0.0.1:1/".into()],
        "TANDEM_TEST_MIRRORS_NONE",
    );
    offline
        .fetch(dir.path(), &mut |_| panic!("no transfer expected"))
        .unwrap();
}

#[test]
fn a_bad_digest_leaves_no_file_and_names_both_digests() {
    let base = serve();
    let dir = tempfile::tempdir().unwrap();
    let r = remote(vec![format!("{base}/bad/")], "TANDEM_TEST_MIRRORS_BAD");
    match r.fetch(dir.path(), &mut |_| {}) {
        Err(DataError::Checksum {
            file,
            expected,
            actual,
            ..
        }) => {
            assert_eq!(file, NAMES[0]);
            assert_eq!(expected, debian_md5s()[NAMES[0]]);
            assert_ne!(actual, expected);
            assert_eq!(actual.len(), 32);
        }
        other => panic!("expected a checksum error, got {other:?}"),
    }
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
}

#[test]
fn an_interrupted_transfer_leaves_no_partial_file_and_a_rerun_succeeds() {
    let base = serve();
    let dir = tempfile::tempdir().unwrap();
    let cut = remote(vec![format!("{base}/cut/")], "TANDEM_TEST_MIRRORS_CUT");
    match cut.fetch(dir.path(), &mut |_| {}) {
        Err(DataError::Download { file, attempts }) => {
            assert_eq!(file, NAMES[0]);
            assert!(attempts[0].contains("/cut/"), "{attempts:?}");
        }
        other => panic!("expected a download error, got {other:?}"),
    }
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
    // the next mirror in the list delivers; so does a plain rerun
    let fallback = remote(
        vec![format!("{base}/cut/"), format!("{base}/good/")],
        "TANDEM_TEST_MIRRORS_FALLBACK",
    );
    fallback.fetch(dir.path(), &mut |_| {}).unwrap();
    assert_eq!(listing(dir.path()).len(), 2);
}

#[test]
fn offline_is_a_download_error_naming_the_mirror_and_the_variable_replaces_mirrors() {
    let dir = tempfile::tempdir().unwrap();
    let r = remote(
        vec!["http://127.0.0.1:1/".into()],
        "TANDEM_TEST_MIRRORS_OFFLINE",
    );
    let err = r.fetch(dir.path(), &mut |_| {}).unwrap_err();
    assert!(matches!(err, DataError::Download { .. }));
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
    assert!(listing(dir.path()).is_empty());
    std::env::set_var(
        "TANDEM_TEST_MIRRORS_ENV",
        "http://a.example/x, http://b.example/y/",
    );
    let r = remote(vec!["http://c.example/".into()], "TANDEM_TEST_MIRRORS_ENV");
    assert_eq!(r.mirrors(), ["http://a.example/x/", "http://b.example/y/"]);
}

#[test]
fn a_sha256_verified_npz_downloads_and_loads_as_mnist() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/npz");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("arrays.json")).unwrap())
            .unwrap();
    let sha = json["sha256"]["mnist_mini.npz"]
        .as_str()
        .unwrap()
        .to_string();
    let base = serve_from(fixtures);
    let r = Remote {
        dataset: "MNIST (mnist.npz)",
        mirrors: Box::leak(
            vec![&*Box::leak(format!("{base}/good/").into_boxed_str())].into_boxed_slice(),
        ),
        mirror_var: "TANDEM_TEST_MIRRORS_NPZ",
        files: Box::leak(
            vec![RemoteFile {
                name: "mnist_mini.npz",
                digest: Digest::Sha256(Box::leak(sha.into_boxed_str())),
            }]
            .into_boxed_slice(),
        ),
    };
    let dir = tempfile::tempdir().unwrap();
    r.fetch(dir.path(), &mut |_| {}).unwrap();
    let loaded = tandem_data::mnist::load_npz(dir.path().join("mnist_mini.npz")).unwrap();
    let labels: Vec<i64> = json["mnist_mini"]["y_test"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(loaded.y_test.to_vec::<i64>(), labels);
}
