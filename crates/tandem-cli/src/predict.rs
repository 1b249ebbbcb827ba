//! `tandem predict`: classifies digit images with a network trained by `tandem train`, from
//! PNG files (any size, gray or color: converted to 28x28 gray) or IDX image files.

use crate::train::{io_error, load_trained, CliError};
use std::path::{Path, PathBuf};
use tandem::Tensor;

/// Decodes a PNG into 28x28 gray levels (0 = background, as MNIST): color is averaged,
/// alpha composited on black, other sizes resampled by averaging the source pixels that fall
/// in each target pixel. With `invert`, dark-on-light drawings become light-on-dark.
pub fn png_to_mnist(path: &Path, invert: bool) -> Result<Vec<u8>, CliError> {
    let bad = |why: String| CliError::Other(format!("{}: {why}", path.display()));
    let file = std::fs::File::open(path).map_err(io_error(path))?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| bad(e.to_string()))?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| bad(e.to_string()))?;
    let (w, h) = (frame.width as usize, frame.height as usize);
    let channels = frame.color_type.samples();
    let gray: Vec<f64> = buf[..frame.buffer_size()]
        .chunks(channels)
        .map(|px| {
            let (color, alpha) = match channels {
                1 => (px[0] as f64, 255.0),
                2 => (px[0] as f64, px[1] as f64),
                3 => ((px[0] as f64 + px[1] as f64 + px[2] as f64) / 3.0, 255.0),
                _ => (
                    (px[0] as f64 + px[1] as f64 + px[2] as f64) / 3.0,
                    px[3] as f64,
                ),
            };
            let v = color * alpha / 255.0;
            if invert {
                255.0 * alpha / 255.0 - v
            } else {
                v
            }
        })
        .collect();
    if w == 0 || h == 0 {
        return Err(bad("empty image".into()));
    }
    let mut out = vec![0u8; 28 * 28];
    for (ty, row) in out.chunks_mut(28).enumerate() {
        let (y0, y1) = (
            ty * h / 28,
            ((ty + 1) * h).div_ceil(28).max(ty * h / 28 + 1),
        );
        for (tx, px) in row.iter_mut().enumerate() {
            let (x0, x1) = (
                tx * w / 28,
                ((tx + 1) * w).div_ceil(28).max(tx * w / 28 + 1),
            );
            let (mut sum, mut n) = (0.0, 0.0);
            for y in y0..y1.min(h) {
                for x in x0..x1.min(w) {
                    sum += gray[y * w + x];
                    n += 1.0;
                }
            }
            *px = (sum / n).round().clamp(0.0, 255.0) as u8;
        }
    }
    Ok(out)
}

/// Whether a file is an IDX file (by its magic bytes, gzip or not) rather than a PNG.
fn is_png(path: &Path) -> Result<bool, CliError> {
    use std::io::Read;
    let mut head = [0u8; 8];
    let mut f = std::fs::File::open(path).map_err(io_error(path))?;
    let n = f.read(&mut head).map_err(io_error(path))?;
    Ok(n == 8 && head == *b"\x89PNG\r\n\x1a\n")
}

/// `tandem predict --checkpoint DIR FILE...`: one line per image with the predicted class and
/// its probability; with `--labels` (an IDX label file), each IDX image file's accuracy.
pub fn predict(
    checkpoint: &Path,
    files: &[PathBuf],
    labels: Option<&Path>,
    invert: bool,
    limit: usize,
) -> Result<(), CliError> {
    let (info, forward) = load_trained(checkpoint)?;
    println!(
        "model: {:?} {:?} from {}",
        info.idiom,
        info.model,
        checkpoint.display()
    );
    for file in files {
        let png = is_png(file)?;
        let images = if png {
            Tensor::from_vec(png_to_mnist(file, invert)?, &[1, 28, 28])
        } else {
            let t = tandem::data::idx::read_idx(file)?;
            if t.ndim() != 3 || t.shape()[1..] != [28, 28] {
                return Err(CliError::Other(format!(
                    "{}: expected 28x28 images (an idx3 file), got shape {:?}",
                    file.display(),
                    t.shape()
                )));
            }
            t
        };
        let probs = forward(&images).softmax(1);
        let (p, class) = probs.max_dim(1, false);
        let (p, class) = (p.to_vec::<f32>(), class.to_vec::<i64>());
        let n = class.len();
        for (i, (c, q)) in class.iter().zip(&p).enumerate().take(limit) {
            let what = if n == 1 {
                file.display().to_string()
            } else {
                format!("{}[{i}]", file.display())
            };
            println!("{what}: {c} ({:.1}%)", q * 100.0);
        }
        if n > limit {
            println!("... {} more in {}", n - limit, file.display());
        }
        if let Some(labels) = labels.filter(|_| !png) {
            let y = tandem::data::idx::read_idx(labels)?.to_dtype(tandem::DType::Int64);
            if y.numel() != n {
                return Err(CliError::Other(format!(
                    "{}: {} labels for {n} images in {}",
                    labels.display(),
                    y.numel(),
                    file.display()
                )));
            }
            let right = y
                .to_vec::<i64>()
                .iter()
                .zip(&class)
                .filter(|(a, b)| a == b)
                .count();
            println!(
                "accuracy: {right}/{n} ({:.2}%)",
                100.0 * right as f64 / n as f64
            );
        }
    }
    Ok(())
}
