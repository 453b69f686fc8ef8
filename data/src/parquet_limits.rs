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

/// The builder reading only the named top-level columns (names the file lacks are left
/// out: the caller reports a missing column as it would for a full read).
#[must_use]
pub fn project(
    b: ParquetRecordBatchReaderBuilder<PageGuard>,
    names: &[&str],
) -> ParquetRecordBatchReaderBuilder<PageGuard> {
    let roots: Vec<usize> =
        (0..b.schema().fields().len()).filter(|&i| names.contains(&b.schema().field(i).name().as_str())).collect();
    let mask = parquet::arrow::ProjectionMask::roots(b.parquet_schema(), roots);
    b.with_projection(mask)
}

/// [`open`] for a file already open (`path` names it in errors).
///
/// # Errors
/// As [`open`].
pub fn open_file(file: File, path: &Path) -> Result<ParquetRecordBatchReaderBuilder<PageGuard>, DataError> {
    check_footer(&file, path)?;
    let guard = PageGuard::new(file, max_page_bytes()).map_err(DataError::io(path))?;
    ParquetRecordBatchReaderBuilder::try_new(guard)
        .map_err(|source| DataError::Parquet { path: path.to_owned(), source })
}

/// Checks the counts in a Parquet footer before the parquet crate sizes buffers from them:
/// every list, set, map and string inside it declares no more elements or bytes than the
/// footer has left, and no schema element claims more children than the schema has
/// elements (the crate reserves `num_children` slots up front: a footer claiming a billion
/// aborted the process under a memory limit; found by fuzzing). A footer this walk cannot
/// follow is left to the crate, which refuses it with its own error.
///
/// # Errors
/// [`DataError::InvalidFile`] naming what the footer claims.
pub fn check_footer(file: &File, path: &Path) -> Result<(), DataError> {
    let len = file.metadata().map_err(DataError::io(path))?.len();
    if len < 12 {
        return Ok(());
    }
    let mut tail = [0u8; 8];
    file.read_exact_at(&mut tail, len - 8).map_err(DataError::io(path))?;
    let meta_len = u64::from(u32::from_le_bytes(tail[..4].try_into().expect("4 bytes")));
    if &tail[4..] != b"PAR1" || meta_len + 8 > len {
        return Ok(());
    }
    let mut footer = vec![0u8; usize::try_from(meta_len).expect("bounded by the file")];
    file.read_exact_at(&mut footer, len - 8 - meta_len).map_err(DataError::io(path))?;
    let mut w = Walker { bytes: &footer, at: 0 };
    match w.file_metadata() {
        Ok(()) | Err(Walk::Unfollowed) => Ok(()),
        Err(Walk::Lie(reason)) => Err(DataError::InvalidFile {
            path: path.to_owned(),
            reason: format!("the file's footer is damaged: {reason}"),
        }),
    }
}

/// Why a footer walk stopped.
enum Walk {
    /// A count the footer cannot hold.
    Lie(String),
    /// Bytes the walk does not follow (the crate will judge them).
    Unfollowed,
}

/// A reader of Thrift's compact protocol over a footer's bytes.
struct Walker<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Walker<'_> {
    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn byte(&mut self) -> Result<u8, Walk> {
        let b = *self.bytes.get(self.at).ok_or(Walk::Unfollowed)?;
        self.at += 1;
        Ok(b)
    }

    /// A varint read as the parquet crate reads it: any number of bytes, bits past 64
    /// wrapping (so the walk sees the value the crate will act on).
    fn varint(&mut self) -> Result<u64, Walk> {
        let mut v = 0u64;
        let mut shift = 0u32;
        loop {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f).wrapping_shl(shift);
            if b & 0x80 == 0 {
                return Ok(v);
            }
            shift = shift.wrapping_add(7);
        }
    }

    fn zigzag(&mut self) -> Result<i64, Walk> {
        let z = self.varint()?;
        Ok((z >> 1) as i64 ^ -((z & 1) as i64))
    }

    /// A count declared in the footer: at most one element per byte left.
    fn count(&mut self, n: u64, what: &str) -> Result<usize, Walk> {
        match usize::try_from(n) {
            Ok(n) if n <= self.left() => Ok(n),
            _ => Err(Walk::Lie(format!("a {what} declares {n} elements, the footer has {} bytes left", self.left()))),
        }
    }

    /// Skips a value of compact type `t` (`depth` bounds nesting).
    fn skip(&mut self, t: u8, depth: u32) -> Result<(), Walk> {
        if depth > 64 {
            return Err(Walk::Unfollowed);
        }
        match t {
            1 | 2 => Ok(()),
            3 => self.byte().map(drop),
            4..=6 => self.varint().map(drop),
            7 => {
                if self.left() < 8 {
                    return Err(Walk::Unfollowed);
                }
                self.at += 8;
                Ok(())
            }
            8 => {
                let n = self.varint()?;
                let n = self.count(n, "string")?;
                self.at += n;
                Ok(())
            }
            9 | 10 => {
                let (n, et) = self.list_header()?;
                for _ in 0..n {
                    self.skip_element(et, depth)?;
                }
                Ok(())
            }
            11 => {
                let n = self.varint()?;
                let n = self.count(n, "map")?;
                if n == 0 {
                    return Ok(());
                }
                let kv = self.byte()?;
                for _ in 0..n {
                    self.skip_element(kv >> 4, depth)?;
                    self.skip_element(kv & 0x0f, depth)?;
                }
                Ok(())
            }
            12 => self.fields(depth + 1, |_, _, _| Ok(false)),
            _ => Err(Walk::Unfollowed),
        }
    }

    /// An element of a list or map: booleans take a byte there.
    fn skip_element(&mut self, t: u8, depth: u32) -> Result<(), Walk> {
        if t == 1 || t == 2 { self.byte().map(drop) } else { self.skip(t, depth + 1) }
    }

    fn list_header(&mut self) -> Result<(usize, u8), Walk> {
        let h = self.byte()?;
        let n = if h >> 4 == 15 { self.varint()? } else { u64::from(h >> 4) };
        Ok((self.count(n, "list")?, h & 0x0f))
    }

    /// Walks a struct's fields, calling `f(walker, field id, type)`, which reads the field
    /// and returns `true`, or returns `false` to have it skipped.
    fn fields(&mut self, depth: u32, mut f: impl FnMut(&mut Self, i16, u8) -> Result<bool, Walk>) -> Result<(), Walk> {
        let mut id = 0i16;
        loop {
            let h = self.byte()?;
            if h == 0 {
                return Ok(());
            }
            let t = h & 0x0f;
            id = if h >> 4 == 0 {
                i16::try_from(self.zigzag()?).map_err(|_| Walk::Unfollowed)?
            } else {
                id.checked_add(i16::from(h >> 4)).ok_or(Walk::Unfollowed)?
            };
            if !f(self, id, t)? {
                self.skip(t, depth)?;
            }
        }
    }

    /// `FileMetaData`: its schema (field 2, a list of `SchemaElement`) is checked, every
    /// other field skipped (their counts checked on the way).
    fn file_metadata(&mut self) -> Result<(), Walk> {
        self.fields(0, |w, id, t| {
            if id != 2 || t != 9 {
                return Ok(false);
            }
            let (n, et) = w.list_header()?;
            if et != 12 {
                return Err(Walk::Unfollowed);
            }
            for i in 0..n {
                w.fields(1, |w, id, t| {
                    if id != 5 || t != 5 {
                        return Ok(false);
                    }
                    // An i32, truncated from the varint as the crate truncates it.
                    let children = i64::from(w.zigzag()? as i32);
                    if children < 0 || children as u64 >= n as u64 {
                        return Err(Walk::Lie(format!(
                            "schema element {i} claims {children} children, the schema has {n} elements"
                        )));
                    }
                    Ok(true)
                })?;
            }
            Ok(true)
        })
    }
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
    fn a_footer_whose_schema_claims_more_children_than_it_has_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let schema = Arc::new(Schema::new(vec![Field::new("text", DataType::Utf8, false)]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(StringArray::from(vec!["a"]))]).unwrap();
        crate::io::write_table(&path, &schema, &[batch]).unwrap();
        check_footer(&File::open(&path).unwrap(), &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let n = bytes.len();
        let meta_len = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().unwrap()) as usize;
        // The root's `num_children` is 1 (zigzag 0x02): some byte of the footer, rewritten
        // to 60 (0x78), makes it claim 60 children of a 2-element schema.
        let mut refused = 0;
        for at in (n - 8 - meta_len..n - 8).filter(|&i| bytes[i] == 0x02) {
            let mut edited = bytes.clone();
            edited[at] = 0x78;
            let p = dir.path().join("edited.parquet");
            std::fs::write(&p, &edited).unwrap();
            if let Err(e) = check_footer(&File::open(&p).unwrap(), &p) {
                assert!(
                    e.to_string().contains("schema element 0 claims 60 children, the schema has 2 elements"),
                    "{e}"
                );
                assert!(e.is_input_fault());
                refused += 1;
            }
        }
        assert_eq!(refused, 1);
    }

    #[test]
    fn a_list_longer_than_the_footer_is_refused() {
        // FileMetaData { 1: version = 1, 2: schema = list of 2^40 structs }: the count alone.
        let footer = [0x15, 0x02, 0x19, 0xfc, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20];
        let mut w = Walker { bytes: &footer, at: 0 };
        match w.file_metadata() {
            Err(Walk::Lie(reason)) => assert!(reason.contains("a list declares 1099511627776 elements"), "{reason}"),
            _ => panic!("not refused"),
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
