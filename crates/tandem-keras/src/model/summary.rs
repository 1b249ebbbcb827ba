//! `model.summary()`: Keras 3's table of layers, output shapes and parameter counts.

use super::Model;
use crate::functional::graph::FunctionalRow;
use crate::layers::Layer;
use std::collections::BTreeMap;
use tandem_core::Tensor;

impl<L: Layer> Model<L> {
    /// `model.summary()` as Keras 3 prints it (its default 88-column table).
    pub fn summary(&self) -> String {
        if let Some(rows) = self.net.functional_rows() {
            return self.functional_summary(&rows);
        }
        const W: [usize; 3] = [38, 29, 17];
        let rule = |l: &str, fill: &str, mid: &str, r: &str| {
            let cells: Vec<String> = W.iter().map(|&w| fill.repeat(w)).collect();
            format!("{l}{}{r}\n", cells.join(mid))
        };
        let row = |edge: &str, a: &str, b: &str, c: &str| {
            format!(
                "{edge} {a:<w0$} {edge} {b:<w1$} {edge} {c:>w2$} {edge}\n",
                w0 = W[0] - 2,
                w1 = W[1] - 2,
                w2 = W[2] - 2
            )
        };
        let mut s = format!("Model: \"{}\"\n", self.name);
        s += &rule("┏", "━", "┳", "┓");
        s += &row("┃", "Layer (type)", "Output Shape", "Param #");
        s += &rule("┡", "━", "╇", "┩");
        let input = self.net.declared_input_shape();
        let subs = self.net.sublayers();
        let layers: Vec<&dyn Layer> = if subs.is_empty() {
            vec![&self.net as &dyn Layer]
        } else {
            subs
        };
        let mut shape = input.clone();
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let (mut total, mut non_trainable) = (0, 0);
        for (i, l) in layers.iter().enumerate() {
            let base = l.name();
            let k = counts.entry(base.clone()).or_insert(0);
            let name = l.given_name().unwrap_or_else(|| {
                if *k == 0 {
                    base.clone()
                } else {
                    format!("{base}_{k}")
                }
            });
            *k += 1;
            let class = class_name(&base);
            let out = shape.as_ref().map(|sh| l.output_shape(sh));
            let shown = match &out {
                Some(o) => format!(
                    "(None, {})",
                    o.iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => "?".into(),
            };
            let trainable: usize = l.trainable_weights().iter().map(Tensor::numel).sum();
            let frozen: usize = l.non_trainable_weights().iter().map(Tensor::numel).sum();
            total += trainable;
            non_trainable += frozen;
            let params = with_commas(trainable + frozen);
            s += &row("│", &format!("{name} ({class})"), &shown, &params);
            s += &if i + 1 < layers.len() {
                rule("├", "─", "┼", "┤")
            } else {
                rule("└", "─", "┴", "┘")
            };
            shape = out;
        }
        let bytes = |n: usize| readable_size(n * 4);
        let all = total + non_trainable;
        s += &format!(" Total params: {} ({})\n", with_commas(all), bytes(all));
        s += &format!(
            " Trainable params: {} ({})\n",
            with_commas(total),
            bytes(total)
        );
        s += &format!(
            " Non-trainable params: {} ({})\n",
            with_commas(non_trainable),
            bytes(non_trainable)
        );
        s
    }
}

impl<L: Layer> Model<L> {
    /// A functional model's table: Keras's four columns, with "Connected to".
    fn functional_summary(&self, rows: &[FunctionalRow]) -> String {
        const W: [usize; 4] = [31, 27, 17, 28];
        let rule = |l: &str, fill: &str, mid: &str, r: &str| {
            let cells: Vec<String> = W.iter().map(|&w| fill.repeat(w)).collect();
            format!("{l}{}{r}\n", cells.join(mid))
        };
        let row = |edge: &str, a: &str, b: &str, c: &str, d: &str| {
            format!(
                "{edge} {a:<w0$} {edge} {b:<w1$} {edge} {c:>w2$} {edge} {d:<w3$} {edge}\n",
                w0 = W[0] - 2,
                w1 = W[1] - 2,
                w2 = W[2] - 2,
                w3 = W[3] - 2
            )
        };
        let mut s = format!("Model: \"{}\"\n", self.name);
        s += &rule("┏", "━", "┳", "┓");
        s += &row(
            "┃",
            "Layer (type)",
            "Output Shape",
            "Param #",
            "Connected to",
        );
        s += &rule("┡", "━", "╇", "┩");
        let (mut total, mut non_trainable) = (0, 0);
        for (i, r) in rows.iter().enumerate() {
            let shape = format!(
                "(None, {})",
                r.shape
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            total += r.params.0;
            non_trainable += r.params.1;
            let mut links: Vec<String> = r.connected.clone();
            let last = links.len().saturating_sub(1);
            for (k, l) in links.iter_mut().enumerate() {
                if k < last {
                    l.push(',');
                }
            }
            if links.is_empty() {
                links.push("-".into());
            }
            let title = format!("{} ({})", r.name, class_name(&r.base));
            s += &row(
                "│",
                &title,
                &shape,
                &with_commas(r.params.0 + r.params.1),
                &links[0],
            );
            for l in &links[1..] {
                s += &row("│", "", "", "", l);
            }
            s += &if i + 1 < rows.len() {
                rule("├", "─", "┼", "┤")
            } else {
                rule("└", "─", "┴", "┘")
            };
        }
        let bytes = |n: usize| readable_size(n * 4);
        let all = total + non_trainable;
        s += &format!(" Total params: {} ({})\n", with_commas(all), bytes(all));
        s += &format!(
            " Trainable params: {} ({})\n",
            with_commas(total),
            bytes(total)
        );
        s += &format!(
            " Non-trainable params: {} ({})\n",
            with_commas(non_trainable),
            bytes(non_trainable)
        );
        s
    }
}

/// Keras's class name from a layer's snake-case name: `max_pooling2d` is `MaxPooling2D`.
fn class_name(base: &str) -> String {
    base.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<String>()
        // Conv2d -> Conv2D, MaxPooling2d -> MaxPooling2D, as Keras's class names.
        .replace("1d", "1D")
        .replace("2d", "2D")
        .replace("3d", "3D")
        .replace("Rnn", "RNN")
        .replace("Lstm", "LSTM")
        .replace("Gru", "GRU")
}

/// `682090` as `682,090`.
fn with_commas(n: usize) -> String {
    let d = n.to_string();
    let mut out = String::new();
    for (i, ch) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Keras's `readable_memory_size`: bytes in B/KB/MB/GB (powers of 1024), two decimals.
fn readable_size(bytes: usize) -> String {
    let mut v = bytes as f64;
    for unit in ["B", "KB", "MB", "GB"] {
        if v < 1024.0 || unit == "GB" {
            return format!("{v:.2} {unit}");
        }
        v /= 1024.0;
    }
    unreachable!("GB returns")
}
