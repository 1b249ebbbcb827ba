//! `CSVLogger`: one CSV row of logs per epoch.

use super::{Callback, TrainingState};
use crate::error::KerasError;
use std::fs::{File, OpenOptions};
use std::path::PathBuf;

/// `keras.callbacks.CSVLogger(filename, separator=",", append=False)`: writes `epoch` and every
/// log, columns in Keras's order (sorted by name), flushing after each row so that the file is
/// complete up to the last finished epoch even if training is killed.
pub struct CSVLogger {
    path: PathBuf,
    separator: u8,
    append: bool,
    writer: Option<csv::Writer<File>>,
    columns: Vec<String>,
}

impl CSVLogger {
    /// Logs to `path`, replacing it.
    pub fn new(path: impl Into<PathBuf>) -> CSVLogger {
        CSVLogger {
            path: path.into(),
            separator: b',',
            append: false,
            writer: None,
            columns: Vec::new(),
        }
    }

    /// Appends to an existing file instead (for resumed training); no second header.
    pub fn append(mut self, on: bool) -> CSVLogger {
        self.append = on;
        self
    }

    /// The field separator (default `,`).
    pub fn separator(mut self, sep: u8) -> CSVLogger {
        self.separator = sep;
        self
    }

    fn io(&self, source: impl Into<std::io::Error>) -> KerasError {
        KerasError::CallbackIo {
            callback: "CSVLogger",
            path: self.path.clone(),
            source: source.into(),
        }
    }
}

impl Callback for CSVLogger {
    fn on_train_begin(&mut self, state: &mut TrainingState<'_>) -> Result<(), KerasError> {
        // Under a distribution strategy only the chief worker writes files.
        if !state.is_chief() {
            return Ok(());
        }
        let had_rows = self.append
            && std::fs::metadata(&self.path)
                .map(|m| m.len() > 0)
                .unwrap_or(false);
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .append(self.append)
            .truncate(!self.append)
            .open(&self.path)
            .map_err(|e| self.io(e))?;
        if had_rows {
            // Keep the existing header's columns.
            let mut r = csv::ReaderBuilder::new()
                .delimiter(self.separator)
                .from_path(&self.path)
                .map_err(|e| self.io(std::io::Error::other(e)))?;
            let header = r.headers().map_err(|e| self.io(std::io::Error::other(e)))?;
            self.columns = header.iter().skip(1).map(str::to_string).collect();
        }
        self.writer = Some(
            csv::WriterBuilder::new()
                .delimiter(self.separator)
                .from_writer(file),
        );
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &[(String, f64)],
        state: &mut TrainingState<'_>,
    ) -> Result<bool, KerasError> {
        // Under a distribution strategy only the chief worker writes files.
        if !state.is_chief() {
            return Ok(false);
        }
        if self.columns.is_empty() {
            let mut names: Vec<String> = logs.iter().map(|(k, _)| k.clone()).collect();
            names.sort();
            self.columns = names;
            let header: Vec<&str> = std::iter::once("epoch")
                .chain(self.columns.iter().map(String::as_str))
                .collect();
            let w = self
                .writer
                .as_mut()
                .expect("on_train_begin opened the file");
            w.write_record(&header)
                .map_err(|e| std::io::Error::other(e.to_string()))
                .map_err(|e| self.io(e))?;
        }
        let row: Vec<String> = std::iter::once(epoch.to_string())
            .chain(self.columns.iter().map(|c| {
                super::log_value(logs, c)
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            }))
            .collect();
        let w = self
            .writer
            .as_mut()
            .expect("on_train_begin opened the file");
        let written = w.write_record(&row).and_then(|_| Ok(w.flush()?));
        written
            .map_err(|e| std::io::Error::other(e.to_string()))
            .map_err(|e| self.io(e))?;
        Ok(false)
    }

    fn on_train_end(&mut self, _state: &mut TrainingState<'_>) -> Result<(), KerasError> {
        self.writer = None;
        Ok(())
    }
}
