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

/// The known name closest to `name`, if it is close enough to be a plausible typo.
#[must_use]
pub fn closest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (distance(name, k), k))
        .filter(|(d, k)| *d <= (k.chars().count() / 3).max(2))
        .min()
        .map(|(_, k)| k)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_and_closest() {
        assert_eq!(distance("Total", "total"), 0);
        assert_eq!(distance("Totl", "Total"), 1);
        assert_eq!(closest("Financial Stats", ["Financial Status", "Fulfillment Status"]), Some("Financial Status"));
        assert_eq!(closest("increment_id", ["Name", "Email"]), None);
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
