//! Keras's progress output: `469/469 [==============================] - 2s 4ms/step - loss: ...`.

use std::io::Write;
use std::time::Instant;

pub(crate) struct Progress {
    total: usize,
    verbose: u8,
    start: Instant,
}

fn duration(secs: f64) -> String {
    if secs >= 1.0 {
        format!("{:.0}s", secs)
    } else {
        format!("{:.0}ms", secs * 1e3)
    }
}

fn bar(done: usize, total: usize) -> String {
    const WIDTH: usize = 30;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH);
    if done >= total {
        "=".repeat(WIDTH)
    } else if filled == 0 {
        format!(">{}", ".".repeat(WIDTH - 1))
    } else {
        format!("{}>{}", "=".repeat(filled - 1), ".".repeat(WIDTH - filled))
    }
}

pub(crate) fn format_logs(logs: &[(String, f64)]) -> String {
    logs.iter()
        .map(|(k, v)| format!(" - {k}: {v:.4}"))
        .collect()
}

impl Progress {
    /// Keras's `verbose="auto"` rule for 1: the bar on a terminal, one line per epoch when
    /// the output goes to a file or a pipe.
    pub(crate) fn new(total: usize, verbose: u8) -> Progress {
        use std::io::IsTerminal;
        let verbose = if verbose == 1 && !std::io::stdout().is_terminal() {
            2
        } else {
            verbose
        };
        Progress {
            total,
            verbose,
            start: Instant::now(),
        }
    }

    /// Redraws the bar after `done` steps (verbose 1 only).
    pub(crate) fn update(&self, done: usize, logs: &[(String, f64)]) {
        if self.verbose != 1 {
            return;
        }
        let w = self.total.to_string().len();
        let elapsed = self.start.elapsed().as_secs_f64();
        let timing = if done < self.total {
            let eta = elapsed / done.max(1) as f64 * (self.total - done) as f64;
            format!("ETA: {}", duration(eta))
        } else {
            format!(
                "{} {}/step",
                duration(elapsed),
                duration(elapsed / self.total.max(1) as f64)
            )
        };
        print!(
            "\r{done:>w$}/{} [{}] - {timing}{}",
            self.total,
            bar(done, self.total),
            format_logs(logs)
        );
        if done >= self.total {
            println!();
        }
        let _ = std::io::stdout().flush();
    }

    /// The end-of-epoch line (verbose 2), or the final bar (verbose 1) with validation logs.
    pub(crate) fn finish(&self, logs: &[(String, f64)]) {
        let elapsed = self.start.elapsed().as_secs_f64();
        match self.verbose {
            1 => {
                let w = self.total.to_string().len();
                println!(
                    "\r{:>w$}/{} [{}] - {} {}/step{}",
                    self.total,
                    self.total,
                    bar(self.total, self.total),
                    duration(elapsed),
                    duration(elapsed / self.total.max(1) as f64),
                    format_logs(logs)
                );
            }
            2 => println!(
                "{}/{} - {}{}",
                self.total,
                self.total,
                duration(elapsed),
                format_logs(logs)
            ),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bar_looks_like_keras() {
        assert_eq!(super::bar(469, 469), "==============================");
        assert_eq!(super::bar(0, 10), ">.............................");
        assert_eq!(super::bar(5, 10), "==============>...............");
        assert_eq!(
            super::format_logs(&[("loss".into(), 0.34561), ("accuracy".into(), 0.8912)]),
            " - loss: 0.3456 - accuracy: 0.8912"
        );
    }
}
