//! The pickle program `torch.save` writes for a state dict (protocol 2), emitted directly:
//! `collections.OrderedDict()` filled with `torch._utils._rebuild_tensor_v2(storage, offset,
//! size, stride, requires_grad, hooks)` calls, each storage a persistent id
//! `('storage', torch.FloatStorage, key, 'cpu', numel)` that the zip's `data/<key>` entry
//! resolves. Every global it names is in PyTorch's weights-only set.

use tandem_core::DType;

/// A tensor as the pickle describes it: a whole storage read as a contiguous row-major array.
pub(super) struct TensorRecord<'a> {
    pub name: &'a str,
    pub dtype: DType,
    pub shape: &'a [usize],
    /// The storage's entry name under `data/`.
    pub storage_key: String,
}

const PROTO: u8 = 0x80;
const GLOBAL: u8 = b'c';
const EMPTY_TUPLE: u8 = b')';
const REDUCE: u8 = b'R';
const MARK: u8 = b'(';
const TUPLE: u8 = b't';
const SETITEMS: u8 = b'u';
const BINUNICODE: u8 = b'X';
const BINPERSID: u8 = b'Q';
const BININT1: u8 = b'K';
const BININT2: u8 = b'M';
const BININT: u8 = b'J';
const LONG1: u8 = 0x8a;
const NEWFALSE: u8 = 0x89;
const STOP: u8 = b'.';

/// PyTorch's legacy storage class for a dtype, the name `torch.save` still writes.
fn storage_class(dtype: DType) -> &'static str {
    match dtype {
        DType::Float32 => "FloatStorage",
        DType::Float64 => "DoubleStorage",
        DType::Int64 => "LongStorage",
        DType::Int32 => "IntStorage",
        DType::UInt8 => "ByteStorage",
        DType::Bool => "BoolStorage",
    }
}

struct Pickle(Vec<u8>);

impl Pickle {
    fn op(&mut self, op: u8) {
        self.0.push(op);
    }
    fn global(&mut self, module: &str, name: &str) {
        self.op(GLOBAL);
        self.0.extend_from_slice(module.as_bytes());
        self.0.push(b'\n');
        self.0.extend_from_slice(name.as_bytes());
        self.0.push(b'\n');
    }
    fn string(&mut self, s: &str) {
        self.op(BINUNICODE);
        self.0.extend_from_slice(
            &u32::try_from(s.len())
                .expect("key under 4 GiB")
                .to_le_bytes(),
        );
        self.0.extend_from_slice(s.as_bytes());
    }
    fn int(&mut self, v: usize) {
        if let Ok(b) = u8::try_from(v) {
            self.0.extend_from_slice(&[BININT1, b]);
        } else if let Ok(w) = u16::try_from(v) {
            self.op(BININT2);
            self.0.extend_from_slice(&w.to_le_bytes());
        } else if let Ok(w) = i32::try_from(v) {
            self.op(BININT);
            self.0.extend_from_slice(&w.to_le_bytes());
        } else {
            // LONG1: little-endian two's complement, one byte longer than the value needs
            // so that the sign bit is clear
            let bytes = (v as u64).to_le_bytes();
            let used = 8 - (v as u64).leading_zeros() as usize / 8;
            let n = if bytes[used - 1] & 0x80 != 0 {
                used + 1
            } else {
                used
            };
            self.0.extend_from_slice(&[LONG1, n as u8]);
            self.0.extend_from_slice(&bytes[..used]);
            self.0.extend(std::iter::repeat_n(0, n - used));
        }
    }
    fn tuple(&mut self, items: &[usize]) {
        if items.is_empty() {
            return self.op(EMPTY_TUPLE);
        }
        self.op(MARK);
        for &v in items {
            self.int(v);
        }
        self.op(TUPLE);
    }
    fn empty_ordered_dict(&mut self) {
        self.global("collections", "OrderedDict");
        self.op(EMPTY_TUPLE);
        self.op(REDUCE);
    }
}

/// Row-major strides of `shape`.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut out = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        out[i] = out[i + 1] * shape[i + 1];
    }
    out
}

/// The `data.pkl` of a state dict holding `tensors`, in order.
pub(super) fn state_dict_pickle(tensors: &[TensorRecord<'_>]) -> Vec<u8> {
    let mut p = Pickle(Vec::new());
    p.0.extend_from_slice(&[PROTO, 2]);
    p.empty_ordered_dict();
    p.op(MARK);
    for t in tensors {
        p.string(t.name);
        p.global("torch._utils", "_rebuild_tensor_v2");
        p.op(MARK);
        // the storage, by persistent id
        p.op(MARK);
        p.string("storage");
        p.global("torch", storage_class(t.dtype));
        p.string(&t.storage_key);
        p.string("cpu");
        p.int(t.shape.iter().product());
        p.op(TUPLE);
        p.op(BINPERSID);
        // storage offset, size, stride, requires_grad, backward hooks
        p.int(0);
        p.tuple(t.shape);
        p.tuple(&strides(t.shape));
        p.op(NEWFALSE);
        p.empty_ordered_dict();
        p.op(TUPLE);
        p.op(REDUCE);
    }
    p.op(SETITEMS);
    p.op(STOP);
    p.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strides_are_row_major() {
        assert_eq!(strides(&[2, 3, 4]), [12, 4, 1]);
        assert_eq!(strides(&[]), Vec::<usize>::new());
    }

    #[test]
    fn ints_use_the_shortest_opcode() {
        let enc = |v: usize| {
            let mut p = Pickle(Vec::new());
            p.int(v);
            p.0
        };
        assert_eq!(enc(7), [BININT1, 7]);
        assert_eq!(enc(300), [BININT2, 0x2c, 0x01]);
        assert_eq!(enc(70_000), [BININT, 0x70, 0x11, 0x01, 0x00]);
        // 2^31 needs 4 bytes of magnitude plus a zero byte for the sign (pickletools' encoding)
        assert_eq!(enc(1 << 31), [LONG1, 5, 0, 0, 0, 0x80, 0]);
        assert_eq!(enc(1 << 32), [LONG1, 5, 0, 0, 0, 0, 1]);
    }
}
