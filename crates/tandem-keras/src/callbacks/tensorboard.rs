//! `TensorBoard`: per-epoch scalars in TensorFlow event files that the `tensorboard` program
//! reads (TFRecord framing with masked CRC-32C, `Event`/`Summary` protocol buffers).

use super::{Callback, TrainingState};
use crate::error::KerasError;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Clone, PartialEq, prost::Message)]
struct Event {
    #[prost(double, tag = "1")]
    wall_time: f64,
    #[prost(int64, tag = "2")]
    step: i64,
    #[prost(oneof = "EventWhat", tags = "3, 5")]
    what: Option<EventWhat>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum EventWhat {
    #[prost(string, tag = "3")]
    FileVersion(String),
    #[prost(message, tag = "5")]
    Summary(Summary),
}

#[derive(Clone, PartialEq, prost::Message)]
struct Summary {
    #[prost(message, repeated, tag = "1")]
    value: Vec<SummaryValue>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct SummaryValue {
    #[prost(string, tag = "1")]
    tag: String,
    #[prost(float, optional, tag = "2")]
    simple_value: Option<f32>,
}

/// One TFRecord-framed event file.
struct EventWriter {
    file: File,
    path: PathBuf,
}

fn masked_crc(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    (crc.rotate_right(15)).wrapping_add(0xa282_ead8)
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl EventWriter {
    fn create(dir: &Path) -> std::io::Result<EventWriter> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!(
            "events.out.tfevents.{}.tandem.{}.v2",
            now() as u64,
            std::process::id()
        ));
        let mut w = EventWriter {
            file: File::create(&path)?,
            path,
        };
        w.write(&Event {
            wall_time: now(),
            step: 0,
            what: Some(EventWhat::FileVersion("brain.Event:2".into())),
        })?;
        Ok(w)
    }

    fn write(&mut self, event: &Event) -> std::io::Result<()> {
        let data = prost::Message::encode_to_vec(event);
        let len = (data.len() as u64).to_le_bytes();
        let mut rec = Vec::with_capacity(data.len() + 16);
        rec.extend_from_slice(&len);
        rec.extend_from_slice(&masked_crc(&len).to_le_bytes());
        rec.extend_from_slice(&data);
        rec.extend_from_slice(&masked_crc(&data).to_le_bytes());
        self.file.write_all(&rec)?;
        self.file.flush()
    }

    fn scalars(&mut self, step: usize, values: &[(String, f64)]) -> std::io::Result<()> {
        let value = values
            .iter()
            .map(|(tag, v)| SummaryValue {
                tag: tag.clone(),
                simple_value: Some(*v as f32),
            })
            .collect();
        self.write(&Event {
            wall_time: now(),
            step: step as i64,
            what: Some(EventWhat::Summary(Summary { value })),
        })
    }
}

/// `keras.callbacks.TensorBoard(log_dir)`: after each epoch, training logs go to
/// `log_dir/train` as `epoch_<name>` scalars and `val_*` logs to `log_dir/validation`, as
/// Keras writes them; `tensorboard --logdir log_dir` shows the curves.
pub struct TensorBoard {
    log_dir: PathBuf,
    train: Option<EventWriter>,
    validation: Option<EventWriter>,
}

impl TensorBoard {
    /// Writes under `log_dir`.
    pub fn new(log_dir: impl Into<PathBuf>) -> TensorBoard {
        TensorBoard {
            log_dir: log_dir.into(),
            train: None,
            validation: None,
        }
    }

    /// The event files written so far (train, then validation).
    pub fn files(&self) -> Vec<PathBuf> {
        [&self.train, &self.validation]
            .into_iter()
            .flatten()
            .map(|w| w.path.clone())
            .collect()
    }

    fn io(&self, source: std::io::Error) -> KerasError {
        KerasError::CallbackIo {
            callback: "TensorBoard",
            path: self.log_dir.clone(),
            source,
        }
    }
}

impl Callback for TensorBoard {
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
        let mut train: Vec<(String, f64)> = logs
            .iter()
            .filter(|(k, _)| !k.starts_with("val_"))
            .map(|(k, v)| (format!("epoch_{k}"), *v))
            .collect();
        train.push(("epoch_learning_rate".into(), state.learning_rate()));
        let val: Vec<(String, f64)> = logs
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("val_").map(|k| (format!("epoch_{k}"), *v)))
            .collect();
        if self.train.is_none() {
            self.train =
                Some(EventWriter::create(&self.log_dir.join("train")).map_err(|e| self.io(e))?);
        }
        let w = self.train.as_mut().expect("created");
        let r = w.scalars(epoch, &train);
        r.map_err(|e| self.io(e))?;
        if !val.is_empty() {
            if self.validation.is_none() {
                let dir = self.log_dir.join("validation");
                self.validation = Some(EventWriter::create(&dir).map_err(|e| self.io(e))?);
            }
            let w = self.validation.as_mut().expect("created");
            let r = w.scalars(epoch, &val);
            r.map_err(|e| self.io(e))?;
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    /// Splits a TFRecord file into its records, checking both CRCs of each.
    fn records(bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let len_bytes = &bytes[at..at + 8];
            let len = u64::from_le_bytes(len_bytes.try_into().unwrap()) as usize;
            let crc = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap());
            assert_eq!(crc, masked_crc(len_bytes), "length CRC at byte {at}");
            let data = &bytes[at + 12..at + 12 + len];
            let crc = u32::from_le_bytes(bytes[at + 12 + len..at + 16 + len].try_into().unwrap());
            assert_eq!(crc, masked_crc(data), "data CRC at byte {at}");
            out.push(data.to_vec());
            at += 16 + len;
        }
        out
    }

    #[test]
    fn epoch_scalars_are_written_as_tfrecord_events() {
        let dir = std::env::temp_dir().join(format!("tandem-tb-{}", std::process::id()));
        let w = tandem_core::Tensor::new([1.0]).requires_grad_(true);
        let mut opt = tandem_nn::optim::SGD::new(vec![w.clone()], 0.1, 0.0);
        let mut state = TrainingState {
            weights: vec![w],
            optimizer: &mut opt,
            initial_epoch: 0,
            chief: true,
        };
        let mut tb = TensorBoard::new(&dir);
        for epoch in 0..3 {
            let logs = vec![
                ("loss".to_string(), 1.0 / (epoch + 1) as f64),
                ("val_loss".to_string(), 2.0 / (epoch + 1) as f64),
            ];
            tb.on_epoch_end(epoch, &logs, &mut state).unwrap();
        }
        let files = tb.files();
        assert_eq!(files.len(), 2);
        let train = records(&std::fs::read(&files[0]).unwrap());
        assert_eq!(train.len(), 4, "file version + 3 epochs");
        let first = Event::decode(train[0].as_slice()).unwrap();
        assert_eq!(
            first.what,
            Some(EventWhat::FileVersion("brain.Event:2".into()))
        );
        for (epoch, rec) in train[1..].iter().enumerate() {
            let ev = Event::decode(rec.as_slice()).unwrap();
            assert_eq!(ev.step, epoch as i64);
            let Some(EventWhat::Summary(s)) = ev.what else {
                panic!("not a summary")
            };
            assert_eq!(s.value[0].tag, "epoch_loss");
            assert_eq!(s.value[0].simple_value, Some(1.0 / (epoch + 1) as f32));
            assert_eq!(s.value[1].tag, "epoch_learning_rate");
            assert_eq!(s.value[1].simple_value, Some(0.1));
        }
        let val = records(&std::fs::read(&files[1]).unwrap());
        let ev = Event::decode(val[3].as_slice()).unwrap();
        let Some(EventWhat::Summary(s)) = ev.what else {
            panic!("not a summary")
        };
        assert_eq!(s.value[0].tag, "epoch_loss");
        assert_eq!(s.value[0].simple_value, Some(2.0 / 3.0));
        assert!(files[1].starts_with(dir.join("validation")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn masked_crc_matches_tensorflow_for_a_known_record() {
        // CRC-32C of "123456789" is 0xE3069283 (the standard check value); TensorFlow masks it
        // as ((crc >> 15) | (crc << 17)) + 0xa282ead8 (mod 2^32) = 0xC78AB0E5.
        assert_eq!(masked_crc(b"123456789"), 0xC78A_B0E5);
    }
}
