//! Arrow IPC files from outside read as errors, never as crashes.
//!
//! arrow-ipc trusts much of a file's metadata: a footer block with a negative length
//! panics (`to_usize().unwrap()`), buffers whose offsets point past the body panic while
//! slicing, an offsets buffer out of alignment fails an assertion (all found by fuzzing
//! roicast's table reader, docs/reliability.md; upstream tracks the same class of bugs,
//! apache/arrow-rs#10437, #10921). roicast checks what it cheaply can before handing the
//! file over — [`check_file_footer`]: every block lies inside the file — and runs the
//! decoding under [`contain`], which turns any panic left in it into a
//! [`DataError::InvalidFile`] naming the file (exit 1), without printing a panic message.

use std::cell::Cell;
use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use crate::DataError;

fn invalid(path: &Path, reason: impl Into<String>) -> DataError {
    DataError::InvalidFile { path: path.to_owned(), reason: reason.into() }
}

/// Checks that the footer of an Arrow IPC file (`.arrow`) is readable and that every
/// record-batch and dictionary block it lists lies inside the file.
///
/// # Errors
/// [`DataError::InvalidFile`] naming the first bad block; [`DataError::Io`] if the file
/// cannot be read.
pub fn check_file_footer(file: &File, path: &Path) -> Result<(), DataError> {
    let len = file.metadata().map_err(DataError::io(path))?.len();
    // "ARROW1", padding, …, footer, footer length (i32), "ARROW1".
    if len < 18 {
        return Err(invalid(path, format!("an Arrow IPC file has at least 18 bytes, this one {len}")));
    }
    let mut tail = [0u8; 10];
    file.read_exact_at(&mut tail, len - 10).map_err(DataError::io(path))?;
    if &tail[4..] != b"ARROW1" {
        return Err(invalid(path, "not an Arrow IPC file (no ARROW1 at its end; a stream is `.arrows`)"));
    }
    let footer_len = i32::from_le_bytes(tail[..4].try_into().expect("4 bytes"));
    let footer_len = u64::try_from(footer_len).ok().filter(|&n| n + 10 + 8 <= len).ok_or_else(|| {
        invalid(path, format!("the footer's length ({footer_len} bytes) does not fit in the file ({len} bytes)"))
    })?;
    let footer_at = len - 10 - footer_len;
    let mut footer = vec![0u8; usize::try_from(footer_len).expect("fits: bounded by the file")];
    file.read_exact_at(&mut footer, footer_at).map_err(DataError::io(path))?;
    let footer = arrow_ipc::root_as_footer(&footer)
        .map_err(|e| invalid(path, format!("the file's footer is not a valid Arrow footer: {e}")))?;
    let lists = [("record batch", footer.recordBatches()), ("dictionary", footer.dictionaries())];
    for (what, blocks) in lists {
        for (i, b) in blocks.into_iter().flatten().enumerate() {
            let end = u64::try_from(b.offset())
                .ok()
                .zip(u64::try_from(b.metaDataLength()).ok())
                .zip(u64::try_from(b.bodyLength()).ok())
                .and_then(|((o, m), body)| o.checked_add(m)?.checked_add(body));
            if end.is_none_or(|e| e > footer_at) {
                return Err(invalid(
                    path,
                    format!(
                        "{what} block {i} of the footer (offset {}, metadata {} bytes, body {} bytes) lies outside \
                         the file's {footer_at} bytes of data: the file is damaged",
                        b.offset(),
                        b.metaDataLength(),
                        b.bodyLength()
                    ),
                ));
            }
        }
    }
    Ok(())
}

thread_local! {
    static CONTAINING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` (decoding a file someone else wrote, with a third-party decoder); a panic in
/// it becomes [`DataError::InvalidFile`] for `path`. The panic message is not printed
/// (a process-wide hook, installed once, stays silent for panics inside `contain` and
/// hands every other panic to the hook that was there before).
///
/// # Errors
/// What `f` returns, or the contained panic.
pub fn contain<T>(path: &Path, f: impl FnOnce() -> Result<T, DataError>) -> Result<T, DataError> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !CONTAINING.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let outer = CONTAINING.with(|c| c.replace(true));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    CONTAINING.with(|c| c.set(outer));
    outcome.unwrap_or_else(|e| {
        let msg = e
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| e.downcast_ref::<&str>().copied())
            .unwrap_or("no message");
        Err(invalid(path, format!("the file is malformed: its decoder failed ({msg})")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow_array::{Int64Array, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};

    fn ipc_file(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
        let path = dir.join("t.arrow");
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![1, 2, 3]))]).unwrap();
        crate::io::write_table(&path, &schema, &[batch]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        (path, bytes)
    }

    #[test]
    fn a_valid_file_passes_and_a_block_pointing_outside_it_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes) = ipc_file(dir.path());
        check_file_footer(&File::open(&path).unwrap(), &path).unwrap();
        // Rewrite the record batch block's body length (an i64 in the footer's struct
        // vector) to a negative number: arrow-ipc would panic on it.
        let n = bytes.len();
        let footer_len = i32::from_le_bytes(bytes[n - 10..n - 6].try_into().unwrap()) as usize;
        let footer_at = n - 10 - footer_len;
        let footer = arrow_ipc::root_as_footer(&bytes[footer_at..n - 10]).unwrap();
        let block = footer.recordBatches().unwrap().get(0);
        let body = block.bodyLength().to_le_bytes();
        let pos = bytes[footer_at..n - 10].windows(8).position(|w| w == body).unwrap() + footer_at;
        for claim in [-1i64, 1 << 40] {
            let mut bad = bytes.clone();
            bad[pos..pos + 8].copy_from_slice(&claim.to_le_bytes());
            let p = dir.path().join("bad.arrow");
            std::fs::write(&p, &bad).unwrap();
            let err = check_file_footer(&File::open(&p).unwrap(), &p).unwrap_err();
            assert!(err.to_string().contains("record batch block 0 of the footer"), "{err}");
            assert!(err.is_input_fault());
            // And through the table reader: an error, not a panic.
            let err = crate::dataset::read_file(crate::Table::Orders, &p).unwrap_err();
            assert!(err.is_input_fault(), "{err}");
        }
    }

    #[test]
    fn a_panic_inside_contain_is_an_invalid_file_error() {
        let p = Path::new("x.arrow");
        let err = contain::<()>(p, || panic!("slice index out of range")).unwrap_err();
        assert!(
            err.to_string().contains("the file is malformed: its decoder failed (slice index out of range)"),
            "{err}"
        );
        assert_eq!(contain(p, || Ok(5)).unwrap(), 5);
    }
}
