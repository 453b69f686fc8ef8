//! Parquet files read within a memory bound, whatever their page headers claim.
//!
//! The parquet crate sizes a page's decompression buffer from the page header's
//! `uncompressed_page_size` and fills it with zeros before it decompresses anything: a
//! 100-byte file whose header claims a 2 GiB page makes it hold 2 GiB before it finds the
//! lie. [`open`] hands the crate a [`PageGuard`] instead of the file: every page header is
//! read (a few bytes of Thrift) before the crate reads it, and a page declaring more than
//! [`max_page_bytes`] uncompressed is refused with the page's offset. Real writers keep
//! pages near 1 MiB (arrow-rs, Spark and pyarrow by default); the limit is 256 MiB and
//! `ROICAST_MAX_PARQUET_PAGE_BYTES` raises it.

use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, Length};

use crate::DataError;

/// The largest uncompressed Parquet page roicast reads unless
/// `ROICAST_MAX_PARQUET_PAGE_BYTES` allows more: 256 MiB.
pub const DEFAULT_MAX_PAGE_BYTES: u64 = 256 << 20;

/// The page-size limit in force (`ROICAST_MAX_PARQUET_PAGE_BYTES`, else the default).
#[must_use]
pub fn max_page_bytes() -> u64 {
    crate::io::byte_limit("ROICAST_MAX_PARQUET_PAGE_BYTES", DEFAULT_MAX_PAGE_BYTES)
}

/// Opens a Parquet file for the arrow reader, its page sizes checked against
/// [`max_page_bytes`].
///
/// # Errors
/// [`DataError::Io`] if it cannot be opened, [`DataError::Parquet`] if its footer is not
/// valid Parquet.
pub fn open(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<PageGuard>, DataError> {
    open_file(File::open(path).map_err(DataError::io(path))?, path)
}

/// [`open`] for a file already open (`path` names it in errors).
///
/// # Errors
/// As [`open`].
pub fn open_file(file: File, path: &Path) -> Result<ParquetRecordBatchReaderBuilder<PageGuard>, DataError> {
    let guard = PageGuard::new(file, max_page_bytes()).map_err(DataError::io(path))?;
    ParquetRecordBatchReaderBuilder::try_new(guard)
        .map_err(|source| DataError::Parquet { path: path.to_owned(), source })
}

/// A Parquet file that checks each page header before the parquet crate decodes it.
#[derive(Debug)]
pub struct PageGuard {
    file: File,
    len: u64,
    limit: u64,
}

impl PageGuard {
    /// Wraps `file`, refusing pages that declare more than `limit` bytes uncompressed.
    ///
    /// # Errors
    /// If the file's size cannot be read.
    pub fn new(file: File, limit: u64) -> std::io::Result<PageGuard> {
        let len = file.metadata()?.len();
        Ok(PageGuard { file, len, limit })
    }

    fn check_page(&self, start: u64) -> parquet::errors::Result<()> {
        let mut head = [0u8; 64];
        let n = read_some(&self.file, &mut head, start)?;
        if let Some(size) = declared_uncompressed_size(&head[..n])
            && size > self.limit
        {
            return Err(ParquetError::General(format!(
                "the page at byte {start} declares {size} bytes uncompressed, over the limit of {} \
                 (ROICAST_MAX_PARQUET_PAGE_BYTES raises it)",
                self.limit
            )));
        }
        Ok(())
    }
}

fn read_some(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], at + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl Length for PageGuard {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for PageGuard {
    type T = <File as ChunkReader>::T;

    /// The crate reads a page header through `get_read` at the page's first byte (the only
    /// other use is the 8-byte footer, which is not checked).
    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        if start.saturating_add(8) < self.len {
            self.check_page(start)?;
        }
        self.file.get_read(start)
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        self.file.get_bytes(start, length)
    }
}

/// The `uncompressed_page_size` (field 2) of a Thrift compact-encoded `PageHeader` at the
/// start of `bytes`, if the header starts as every writer writes it (fields 1-3, `i32`s,
/// in order); `None` otherwise (the parquet crate then judges the bytes itself).
#[must_use]
pub fn declared_uncompressed_size(bytes: &[u8]) -> Option<u64> {
    let mut at = 0usize;
    let mut field = 0i16;
    while field < 2 {
        let header = *bytes.get(at)?;
        at += 1;
        // Compact protocol: a field header is (id delta << 4) | type; type 5 is i32.
        if header & 0x0f != 5 || header >> 4 == 0 {
            return None;
        }
        field += i16::from(header >> 4);
        let (zigzag, len) = varint(&bytes[at..])?;
        at += len;
        let value = (zigzag >> 1) as i64 ^ -((zigzag & 1) as i64);
        if field == 2 {
            return u64::try_from(value).ok();
        }
    }
    None
}

/// An unsigned LEB128 varint of at most 5 bytes (an `i32`'s zigzag) and its length.
fn varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, &b) in bytes.iter().take(5).enumerate() {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow_array::{RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema};

    /// Zigzag varint of an i32, as Thrift's compact protocol writes it.
    fn zigzag(v: i32) -> Vec<u8> {
        let mut z = ((v << 1) ^ (v >> 31)) as u32;
        let mut out = Vec::new();
        loop {
            let b = (z & 0x7f) as u8;
            z >>= 7;
            if z == 0 {
                out.push(b);
                return out;
            }
            out.push(b | 0x80);
        }
    }

    #[test]
    fn a_page_header_claiming_2_gib_is_read_as_such() {
        // type = DATA_PAGE (0), uncompressed = i32::MAX, compressed = 10, then more fields.
        let mut h = vec![0x15];
        h.extend(zigzag(0));
        h.push(0x15);
        h.extend(zigzag(i32::MAX));
        h.push(0x15);
        h.extend(zigzag(10));
        h.extend([0x2c, 0x15, 0x02, 0x00]);
        assert_eq!(declared_uncompressed_size(&h), Some(i32::MAX as u64));
        // A negative size, a header of another shape or cut short: not judged here.
        let mut neg = vec![0x15, 0x00, 0x15];
        neg.extend(zigzag(-5));
        assert_eq!(declared_uncompressed_size(&neg), None);
        assert_eq!(declared_uncompressed_size(&[0x15, 0x00]), None);
        assert_eq!(declared_uncompressed_size(&[0x18, 0x00]), None);
        assert_eq!(declared_uncompressed_size(&[]), None);
    }

    /// A one-row, one-column file whose only value is `len` bytes of `x`, and the offset
    /// of the varint of its data page's uncompressed size.
    fn file_with_big_page(path: &Path, len: usize) -> usize {
        let schema = Arc::new(Schema::new(vec![Field::new("text", DataType::Utf8, false)]));
        let value = "x".repeat(len);
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(StringArray::from(vec![value]))]).unwrap();
        crate::io::write_table(path, &schema, &[batch]).unwrap();
        let meta =
            parquet::file::metadata::ParquetMetaDataReader::new().parse_and_finish(&File::open(path).unwrap()).unwrap();
        let col = meta.row_group(0).column(0);
        let page = col.dictionary_page_offset().unwrap_or(col.data_page_offset());
        let bytes = std::fs::read(path).unwrap();
        let at = usize::try_from(page).unwrap();
        let declared = declared_uncompressed_size(&bytes[at..]).unwrap();
        assert!(declared >= len as u64, "{declared}");
        // Skip field 1's header and varint, then field 2's header.
        let (_, l1) = varint(&bytes[at + 1..]).unwrap();
        at + 1 + l1 + 1
    }

    #[test]
    fn a_page_that_lies_about_its_size_is_refused_before_any_buffer_is_sized_from_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("comments.parquet");
        // 1.5 MB uncompressed: its size is a 4-byte varint, which holds up to 128 MiB.
        let at = file_with_big_page(&path, 1_500_000);
        let mut bytes = std::fs::read(&path).unwrap();
        let (_, len) = varint(&bytes[at..]).unwrap();
        assert_eq!(len, 4);
        let claim = (1i32 << 27) - 1;
        bytes[at..at + 4].copy_from_slice(&zigzag(claim));
        let lying = dir.path().join("lying.parquet");
        std::fs::write(&lying, &bytes).unwrap();

        let read = |limit: u64| -> Result<usize, String> {
            let guard = PageGuard::new(File::open(&lying).unwrap(), limit).unwrap();
            let reader = ParquetRecordBatchReaderBuilder::try_new(guard)
                .and_then(ParquetRecordBatchReaderBuilder::build)
                .map_err(|e| e.to_string())?;
            let mut n = 0;
            for b in reader {
                n += b.map_err(|e| e.to_string())?.num_rows();
            }
            Ok(n)
        };
        // Under a 64 MiB limit: refused by the guard, naming the page and the limit.
        let err = read(64 << 20).unwrap_err();
        assert!(err.contains("declares 134217727 bytes uncompressed, over the limit of 67108864"), "{err}");
        // Under the default limit the claim passes the guard: the crate sizes a 128 MiB
        // buffer (the bound), decompresses the real 1.5 MB into it and reads the row.
        assert_eq!(read(DEFAULT_MAX_PAGE_BYTES), Ok(1));
        // The honest file reads under either.
        let guard = PageGuard::new(File::open(&path).unwrap(), 64 << 20).unwrap();
        let rows: usize = ParquetRecordBatchReaderBuilder::try_new(guard)
            .unwrap()
            .build()
            .unwrap()
            .map(|b| b.unwrap().num_rows())
            .sum();
        assert_eq!(rows, 1);
    }
}
