//! The training curves as a PNG: loss on the left, accuracy on the right, one point per epoch.

use plotters::prelude::*;
use std::path::Path;

/// One named curve (`train loss`, `test accuracy`, ...).
pub struct Series<'a> {
    pub name: &'a str,
    pub values: &'a [f64],
}

/// Places a TrueType font is commonly installed (`fonts-dejavu-core` on Debian).
const FONT_PATHS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// Registers a system font for the labels; without one the plot is drawn without text.
fn register_font() -> bool {
    use std::sync::OnceLock;
    static FOUND: OnceLock<bool> = OnceLock::new();
    *FOUND.get_or_init(|| {
        for p in FONT_PATHS {
            if let Ok(bytes) = std::fs::read(p) {
                // The font must outlive the process's drawing; leak the few hundred KB once.
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        false
    })
}

const COLORS: [RGBColor; 4] = [BLUE, RED, RGBColor(0, 150, 0), MAGENTA];

fn panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    title: &str,
    series: &[Series<'_>],
    text: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let epochs = series
        .iter()
        .map(|s| s.values.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let all = series.iter().flat_map(|s| s.values.iter().copied());
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let (lo, hi) = if lo.is_finite() && hi > lo {
        let pad = (hi - lo) * 0.08;
        (lo - pad, hi + pad)
    } else if lo.is_finite() {
        (lo - 0.5, lo + 0.5)
    } else {
        (0.0, 1.0)
    };
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(12)
        .x_label_area_size(if text { 36 } else { 8 });
    builder.y_label_area_size(if text { 56 } else { 8 });
    if text {
        builder.caption(title, ("sans-serif", 22));
    }
    let mut chart = builder.build_cartesian_2d(1f64..epochs.max(2) as f64, lo..hi)?;
    let mut mesh = chart.configure_mesh();
    let whole = |v: &f64| format!("{v:.0}");
    if text {
        mesh.x_desc("epoch")
            .x_labels(epochs.clamp(2, 11))
            .x_label_formatter(&whole);
    } else {
        mesh.disable_x_mesh()
            .disable_y_mesh()
            .x_labels(0)
            .y_labels(0);
    }
    mesh.draw()?;
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let points: Vec<(f64, f64)> = s
            .values
            .iter()
            .enumerate()
            .map(|(e, &v)| ((e + 1) as f64, v))
            .collect();
        let drawn = chart.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?;
        if text {
            drawn
                .label(s.name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
        }
        chart.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 3, color.filled())),
        )?;
    }
    if text {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 16))
            .draw()?;
    }
    Ok(())
}

/// Writes `path` (PNG, 1000x420): the loss curves on the left, the accuracy curves on the
/// right. Written to a temporary file and renamed, so a reader never sees half a PNG.
pub fn training_curves(
    path: &Path,
    title: &str,
    losses: &[Series<'_>],
    accuracies: &[Series<'_>],
) -> Result<(), Box<dyn std::error::Error>> {
    let text = register_font();
    // The backend picks the format from the extension: the temporary name ends in .png too.
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("plot.png");
    let tmp = path.with_file_name(format!(".{name}.partial.png"));
    {
        let root = BitMapBackend::new(&tmp, (1000, 420)).into_drawing_area();
        root.fill(&WHITE)?;
        let (left, right) = root.split_horizontally(500);
        panel(&left, &format!("{title}: loss"), losses, text)?;
        panel(&right, &format!("{title}: accuracy"), accuracies, text)?;
        root.present()?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}
