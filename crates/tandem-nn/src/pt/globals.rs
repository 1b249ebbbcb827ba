//! The Python globals a pickle names, found by walking its opcodes without running it, and
//! the weights-only set they are checked against (`torch.load(..., weights_only=True)`).

/// The dtypes a pickle may name (`torch.float32`), as PyTorch's weights-only set allows them.
pub(super) const TORCH_DTYPES: [&str; 15] = [
    "float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8",
    "uint16", "uint32", "uint64", "bool", "float", "long",
];

/// The globals PyTorch's weights-only unpickler accepts for a state dict or checkpoint dict.
fn allowed(global: &str) -> bool {
    const STORAGES: [&str; 10] = [
        "FloatStorage",
        "DoubleStorage",
        "HalfStorage",
        "BFloat16Storage",
        "LongStorage",
        "IntStorage",
        "ShortStorage",
        "CharStorage",
        "ByteStorage",
        "BoolStorage",
    ];
    match global.split_once(' ') {
        Some(("torch", name)) => {
            STORAGES.contains(&name)
                || TORCH_DTYPES.contains(&name)
                || matches!(name, "Size" | "device")
        }
        Some(("torch._utils", name)) => {
            matches!(
                name,
                "_rebuild_tensor_v2" | "_rebuild_parameter" | "_rebuild_parameter_with_state"
            )
        }
        Some(("torch._tensor", "_rebuild_from_type_v2")) => true,
        Some(("torch.nn.parameter", "Parameter")) => true,
        Some(("collections", name)) => matches!(name, "OrderedDict" | "Counter"),
        Some(("_codecs", "encode")) => true,
        Some(("builtins", name)) => matches!(name, "set" | "frozenset" | "bytearray"),
        _ => false,
    }
}

/// The first global in `pickle` outside the weights-only set, as `module.name`; `Err` when the
/// opcodes cannot be walked (truncated or not a pickle).
pub(super) fn first_disallowed(pickle: &[u8]) -> Result<Option<String>, String> {
    for g in globals(pickle)? {
        if !allowed(&g) {
            return Ok(Some(g.replacen(' ', ".", 1)));
        }
    }
    Ok(None)
}

/// Every global the pickle names (`GLOBAL`, `INST`, and `STACK_GLOBAL` with its two strings),
/// as `"module name"`.
fn globals(p: &[u8]) -> Result<Vec<String>, String> {
    let mut at = 0usize;
    let mut found = Vec::new();
    // the last two values pushed, when they are strings (what STACK_GLOBAL pops), and the memo
    let mut recent: Vec<Option<String>> = Vec::new();
    let mut memo: std::collections::HashMap<u64, Option<String>> = Default::default();
    let take = |at: &mut usize, n: usize| -> Result<&[u8], String> {
        let end = at
            .checked_add(n)
            .filter(|&e| e <= p.len())
            .ok_or("truncated pickle")?;
        let s = &p[*at..end];
        *at = end;
        Ok(s)
    };
    let line = |at: &mut usize| -> Result<String, String> {
        let rest = &p[*at..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("truncated pickle")?;
        let s = String::from_utf8_lossy(&rest[..n]).into_owned();
        *at += n + 1;
        Ok(s)
    };
    let le = |b: &[u8]| b.iter().rev().fold(0u64, |a, &x| (a << 8) | u64::from(x));
    let push = |recent: &mut Vec<Option<String>>, v: Option<String>| {
        recent.push(v);
        if recent.len() > 2 {
            recent.remove(0);
        }
    };
    loop {
        let op = *take(&mut at, 1)?.first().expect("one byte");
        match op {
            b'.' => return Ok(found),
            b'c' | b'i' => {
                let (module, name) = (line(&mut at)?, line(&mut at)?);
                found.push(format!("{module} {name}"));
                push(&mut recent, None);
            }
            0x93 => {
                let name = recent.pop().flatten();
                let module = recent.pop().flatten();
                match (module, name) {
                    (Some(m), Some(n)) => found.push(format!("{m} {n}")),
                    _ => found.push("(computed) global".into()),
                }
                push(&mut recent, None);
            }
            0x82..=0x84 => found.push("copyreg extension".into()),
            // strings, remembered for STACK_GLOBAL
            0x8c | b'U' => {
                let n = take(&mut at, 1)?[0] as usize;
                let s = String::from_utf8_lossy(take(&mut at, n)?).into_owned();
                push(&mut recent, Some(s));
            }
            b'X' | b'T' => {
                let n = le(take(&mut at, 4)?) as usize;
                let s = String::from_utf8_lossy(take(&mut at, n)?).into_owned();
                push(&mut recent, Some(s));
            }
            0x8d => {
                let n = le(take(&mut at, 8)?) as usize;
                let s = String::from_utf8_lossy(take(&mut at, n)?).into_owned();
                push(&mut recent, Some(s));
            }
            b'V' | b'S' => {
                let s = line(&mut at)?;
                push(&mut recent, Some(s.trim_matches(['\'', '"']).to_string()));
            }
            // memo
            b'q' | b'r' | b'p' | 0x94 => {
                let key = match op {
                    b'q' => le(take(&mut at, 1)?),
                    b'r' => le(take(&mut at, 4)?),
                    b'p' => line(&mut at)?.trim().parse().map_err(|_| "bad PUT")?,
                    _ => memo.len() as u64,
                };
                memo.insert(key, recent.last().cloned().flatten());
            }
            b'h' | b'j' | b'g' => {
                let key = match op {
                    b'h' => le(take(&mut at, 1)?),
                    b'j' => le(take(&mut at, 4)?),
                    _ => line(&mut at)?.trim().parse().map_err(|_| "bad GET")?,
                };
                let v = memo.get(&key).cloned().flatten();
                push(&mut recent, v);
            }
            // fixed-size arguments
            0x80 | b'K' => {
                take(&mut at, 1)?;
                push(&mut recent, None);
            }
            b'M' => {
                take(&mut at, 2)?;
                push(&mut recent, None);
            }
            b'J' => {
                take(&mut at, 4)?;
                push(&mut recent, None);
            }
            b'G' | 0x95 => {
                take(&mut at, 8)?;
                if op == b'G' {
                    push(&mut recent, None);
                }
            }
            // length-prefixed data that is not a name
            b'C' | 0x8a => {
                let n = take(&mut at, 1)?[0] as usize;
                take(&mut at, n)?;
                push(&mut recent, None);
            }
            b'B' | 0x8b => {
                let n = le(take(&mut at, 4)?) as usize;
                take(&mut at, n)?;
                push(&mut recent, None);
            }
            0x8e | 0x96 => {
                let n = le(take(&mut at, 8)?) as usize;
                take(&mut at, n)?;
                push(&mut recent, None);
            }
            b'I' | b'L' | b'F' | b'P' => {
                line(&mut at)?;
                push(&mut recent, None);
            }
            // no argument
            b'('
            | b'0'
            | b'1'
            | b'2'
            | b'N'
            | b'R'
            | b'a'
            | b'b'
            | b'd'
            | b'}'
            | b'e'
            | b'l'
            | b']'
            | b'o'
            | b's'
            | b't'
            | b')'
            | b'u'
            | b'Q'
            | 0x81
            | 0x85..=0x89
            | 0x8f
            | 0x90..=0x92
            | 0x97
            | 0x98 => push(&mut recent, None),
            other => return Err(format!("unknown pickle opcode 0x{other:02x}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globals_are_found_in_both_forms() {
        // protocol 2: GLOBAL 'argparse Namespace'
        let p2 = b"\x80\x02cargparse\nNamespace\nq\x00)\x81q\x01.";
        assert_eq!(
            first_disallowed(p2).unwrap().as_deref(),
            Some("argparse.Namespace")
        );
        // protocol 4: two SHORT_BINUNICODE then STACK_GLOBAL, with MEMOIZE between
        let p4 = b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x93\x94.";
        assert_eq!(first_disallowed(p4).unwrap().as_deref(), Some("os.system"));
        let ok = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01.";
        assert_eq!(first_disallowed(ok).unwrap(), None);
        assert!(first_disallowed(b"\x80\x02cos\n").is_err());
    }
}
