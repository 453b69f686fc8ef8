//! Mapping a vendor file's columns by header name, never by position, with "did you mean"
//! for a missing header and a list of the columns an importer does not use.

use std::collections::BTreeMap;
use std::path::Path;

use crate::DataError;

/// A file's header: column name → index, and what was not used.
#[derive(Debug, Clone)]
pub struct Header {
    index: BTreeMap<String, usize>,
    names: Vec<String>,
}

/// Edit distance of two short strings (case-insensitive), for "did you mean".
#[must_use]
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The known name closest to `name`, if it is close enough to be a plausible typo or a
/// shortened or lengthened form (`Created` for `Created (UTC)`), which goes first.
#[must_use]
pub fn closest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    known
        .into_iter()
        .map(|k| {
            let kl = k.to_lowercase();
            let part = !kl.is_empty() && !lower.is_empty() && (kl.contains(&lower) || lower.contains(&kl));
            let d = distance(name, k);
            // A shortened or lengthened form counts half its edits.
            let close = part || d <= (k.chars().count() / 3).max(2);
            (close, if part { d } else { 2 * d }, k)
        })
        .filter(|(close, _, _)| *close)
        .min_by_key(|(_, d, k)| (*d, *k))
        .map(|(_, _, k)| k)
}

impl Header {
    /// Reads `names` (a byte-order mark on the first is dropped; names are trimmed).
    #[must_use]
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Header {
        let names: Vec<String> = names
            .into_iter()
            .enumerate()
            .map(|(i, n)| if i == 0 { n.trim_start_matches('\u{feff}') } else { n }.trim().to_owned())
            .collect();
        let mut index = BTreeMap::new();
        for (i, n) in names.iter().enumerate() {
            index.entry(n.clone()).or_insert(i);
        }
        Header { index, names }
    }

    /// Index of `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// Checks that every `required` header is present; a missing one is an error naming
    /// the file, the header and the closest header the file does have.
    pub fn require(&self, file: &Path, required: &[&str]) -> Result<(), DataError> {
        for r in required {
            if self.get(r).is_none() {
                let hint = closest(r, self.names.iter().map(String::as_str))
                    .map_or_else(String::new, |c| format!(" (did you mean `{c}`? it is in the file)"));
                return Err(DataError::InvalidRow {
                    path: file.to_owned(),
                    row: 0,
                    column: (*r).to_owned(),
                    reason: format!("the header `{r}` is missing{hint}"),
                });
            }
        }
        Ok(())
    }

    /// Columns of the file not in `used`, in file order.
    #[must_use]
    pub fn unused(&self, used: &[&str]) -> Vec<String> {
        self.names.iter().filter(|n| !used.contains(&n.as_str())).cloned().collect()
    }

    /// Every column name, in file order.
    #[must_use]
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// One data row of a vendor CSV, read by header name.
pub struct Row<'a> {
    header: &'a Header,
    record: &'a csv::StringRecord,
    /// 1-based data row.
    pub row: u64,
}

impl Row<'_> {
    /// The trimmed value of column `name`; empty when the column is absent or empty.
    #[must_use]
    pub fn get(&self, name: &str) -> &str {
        self.header.get(name).and_then(|i| self.record.get(i)).map_or("", str::trim)
    }

    /// The value of column `name`, `None` when absent or empty.
    #[must_use]
    pub fn opt(&self, name: &str) -> Option<&str> {
        Some(self.get(name)).filter(|v| !v.is_empty())
    }

    /// Whether the file has column `name`.
    #[must_use]
    pub fn has(&self, name: &str) -> bool {
        self.header.get(name).is_some()
    }
}

/// Reads a vendor CSV by header name: refuses a file without the `required` headers (the
/// error names the missing one and the closest the file has), calls `f` for each row, and
/// returns the rows read and the columns not in `used`. `is_this_format` sees the header
/// first: `Err((column, reason))` refuses a file that is another vendor's export or lacks
/// a header; what it returns
/// (the columns it chose, say) is handed to `f` with each row.
pub fn read_csv<T>(
    path: &Path,
    required: &[&str],
    used: &[&str],
    is_this_format: impl FnOnce(&Header) -> Result<T, (String, String)>,
    mut f: impl FnMut(&T, &Row<'_>) -> Result<(), DataError>,
) -> Result<super::FileRead, DataError> {
    let (mut reader, guard) = crate::io::open_guarded_csv(path, csv::ReaderBuilder::new().flexible(false))?;
    let header = Header::new(reader.headers().map_err(|e| crate::io::csv_error(path, 0, e))?.iter());
    guard.store(0, std::sync::atomic::Ordering::Relaxed);
    let chosen = match is_this_format(&header) {
        Ok(c) => c,
        Err((column, reason)) => {
            return Err(DataError::InvalidRow {
                path: path.to_owned(),
                row: 0,
                column,
                reason: format!(
                    "{reason} (the file's header starts {})",
                    header.names().iter().take(6).map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                ),
            });
        }
    };
    header.require(path, required)?;
    let mut record = csv::StringRecord::new();
    let mut rows = 0u64;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) if matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) => {
                let line = e.position().map_or(rows + 1, |p| p.line().saturating_sub(1));
                return Err(DataError::InvalidRow {
                    path: path.to_owned(),
                    row: line,
                    column: String::new(),
                    reason: "not UTF-8 text: export the file as UTF-8 (Latin-1 or UTF-16?)".into(),
                });
            }
            Err(e) => return Err(crate::io::csv_error(path, rows + 1, e)),
        }
        guard.store(0, std::sync::atomic::Ordering::Relaxed);
        rows += 1;
        f(&chosen, &Row { header: &header, record: &record, row: rows })?;
    }
    Ok(super::FileRead { path: path.to_owned(), rows, ignored_columns: header.unused(used) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_and_closest() {
        assert_eq!(distance("Total", "total"), 0);
        assert_eq!(distance("Totl", "Total"), 1);
        assert_eq!(closest("Financial Stats", ["Financial Status", "Fulfillment Status"]), Some("Financial Status"));
        assert_eq!(closest("increment_id", ["Name", "Email"]), None);
        assert_eq!(closest("Created (UTC)", ["Trial End (UTC)", "Created"]), Some("Created"));
        assert_eq!(closest("Payout", ["DeltaPayout", "Payot"]), Some("Payot"), "a typo before a longer name");
    }

    #[test]
    fn a_missing_header_names_the_closest_one() {
        let h = Header::new(["\u{feff}Name", "Email", "Totl"]);
        assert_eq!(h.get("Name"), Some(0), "the BOM is dropped");
        let e = h.require(Path::new("orders.csv"), &["Name", "Total"]).unwrap_err().to_string();
        assert!(
            e.contains("orders.csv") && e.contains("`Total` is missing") && e.contains("did you mean `Totl`"),
            "{e}"
        );
        assert_eq!(h.unused(&["Name", "Email"]), vec!["Totl".to_owned()]);
    }
}
