//! Reading vendor JSON: NDJSON (one object a line, streamed), a JSON array of objects, or
//! an API page envelope (`{"orders": […]}`, `{"items": […]}`, `{"data": […]}`), with the
//! file and line of every record for errors, and typed access to fields that vendors
//! write as numbers or as strings (`"event_timestamp": "1714557600000000"`).

use std::io::BufRead as _;
use std::path::Path;

use serde_json::Value;

use crate::DataError;

/// A record and where it came from: line `line` of the file (NDJSON), or element `index`
/// of the array (the JSON path `$[index]` or `$.key[index]`).
pub struct Located {
    /// The record.
    pub value: Value,
    /// Where it is, for errors: `line 12` or `$.orders[3]`.
    pub at: String,
    /// Row number for the report: the line (NDJSON) or 1 + the index.
    pub row: u64,
}

fn refused(path: &Path, row: u64, reason: String) -> DataError {
    DataError::InvalidRow { path: path.to_owned(), row, column: "$".into(), reason }
}

/// Calls `f` for each row of a Parquet file, as the JSON object BigQuery would have
/// written for it (`bq extract --destination_format PARQUET`: records are structs,
/// repeated fields lists); batches are read one at a time.
pub fn for_each_parquet(path: &Path, mut f: impl FnMut(Located) -> Result<(), DataError>) -> Result<(), DataError> {
    let mut reader = crate::ipc_limits::contain(path, || {
        crate::parquet_limits::open(path)?
            .build()
            .map_err(|source| DataError::Parquet { path: path.to_owned(), source })
    })?;
    let mut row = 0u64;
    // The decoder may panic on a malformed file: contained, an error naming the file.
    while let Some(batch) = crate::ipc_limits::contain(path, || Ok(reader.next()))? {
        let batch = batch.map_err(|source| DataError::Arrow { path: path.to_owned(), source })?;
        let names: Vec<String> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
        for i in 0..batch.num_rows() {
            row += 1;
            let mut obj = serde_json::Map::with_capacity(names.len());
            for (c, name) in names.iter().enumerate() {
                obj.insert(name.clone(), cell(batch.column(c).as_ref(), i));
            }
            f(Located { value: Value::Object(obj), at: format!("row {row}"), row })?;
        }
    }
    Ok(())
}

/// One Arrow cell as JSON: strings, numbers, booleans, structs as objects, lists as arrays.
fn cell(a: &dyn arrow_array::Array, i: usize) -> Value {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType};
    use arrow_schema::DataType as D;
    if a.is_null(i) || *a.data_type() == arrow_schema::DataType::Null {
        return Value::Null;
    }
    match a.data_type() {
        D::Utf8 => Value::String(a.as_string::<i32>().value(i).to_owned()),
        D::LargeUtf8 => Value::String(a.as_string::<i64>().value(i).to_owned()),
        D::Utf8View => Value::String(a.as_string_view().value(i).to_owned()),
        D::Int64 => Value::from(a.as_primitive::<Int64Type>().value(i)),
        D::Int32 => Value::from(a.as_primitive::<Int32Type>().value(i)),
        D::Float64 => {
            serde_json::Number::from_f64(a.as_primitive::<Float64Type>().value(i)).map_or(Value::Null, Value::Number)
        }
        D::Float32 => serde_json::Number::from_f64(f64::from(a.as_primitive::<Float32Type>().value(i)))
            .map_or(Value::Null, Value::Number),
        D::Boolean => Value::Bool(a.as_boolean().value(i)),
        D::Timestamp(arrow_schema::TimeUnit::Microsecond, _) => {
            Value::from(a.as_primitive::<TimestampMicrosecondType>().value(i))
        }
        D::Struct(fields) => {
            let s = a.as_struct();
            Value::Object(
                fields.iter().zip(s.columns()).map(|(f, c)| (f.name().clone(), cell(c.as_ref(), i))).collect(),
            )
        }
        D::List(_) => {
            let l = a.as_list::<i32>();
            let v = l.value(i);
            Value::Array((0..v.len()).map(|k| cell(v.as_ref(), k)).collect())
        }
        D::LargeList(_) => {
            let l = a.as_list::<i64>();
            let v = l.value(i);
            Value::Array((0..v.len()).map(|k| cell(v.as_ref(), k)).collect())
        }
        other => Value::String(format!("(unsupported type {other})")),
    }
}

/// Calls `f` for each record of `path`. NDJSON is streamed line by line (blank lines are
/// skipped); a file starting with `[` or `{` and not parseable as NDJSON is read whole as
/// an array or a page envelope whose array is under one of `envelopes`. A line that is not
/// JSON (a truncated last line, say) is an error naming the file, the line and the reason.
pub fn for_each(
    path: &Path,
    envelopes: &[&'static str],
    f: impl FnMut(Located) -> Result<(), DataError>,
) -> Result<(), DataError> {
    walk(path, envelopes, false, f)
}

/// Like [`for_each`], but a JSON document that is one object and no page envelope is one
/// record (`$`): a saved API response (`{"kind": "youtube#videoListResponse", …}`, an
/// account object) is read as it is.
pub fn for_each_document(
    path: &Path,
    envelopes: &[&'static str],
    f: impl FnMut(Located) -> Result<(), DataError>,
) -> Result<(), DataError> {
    walk(path, envelopes, true, f)
}

fn walk(
    path: &Path,
    envelopes: &[&'static str],
    whole_object: bool,
    mut f: impl FnMut(Located) -> Result<(), DataError>,
) -> Result<(), DataError> {
    let file = std::fs::File::open(path).map_err(DataError::io(path))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let first = reader.fill_buf().map_err(DataError::io(path))?.iter().copied().find(|b| !b.is_ascii_whitespace());
    if first == Some(b'[') || (first == Some(b'{') && !looks_like_ndjson(path)?) {
        let text = std::fs::read_to_string(path).map_err(DataError::io(path))?;
        let doc: Value = serde_json::from_str(&text)
            .map_err(|e| refused(path, e.line() as u64, format!("not valid JSON at line {}: {e}", e.line())))?;
        return match doc {
            Value::Array(items) => {
                for (i, value) in items.into_iter().enumerate() {
                    f(Located { value, at: format!("$[{i}]"), row: i as u64 + 1 })?;
                }
                Ok(())
            }
            Value::Object(_) => match unwrap_page(doc, envelopes) {
                Ok((k, items)) => {
                    for (i, value) in items.into_iter().enumerate() {
                        f(Located { value, at: format!("$.{k}[{i}]"), row: i as u64 + 1 })?;
                    }
                    Ok(())
                }
                Err(value) if whole_object => f(Located { value, at: "$".into(), row: 1 }),
                Err(_) => Err(refused(
                    path,
                    0,
                    format!(
                        "a JSON object without the list of records: expected an array under {}",
                        envelopes.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(" or ")
                    ),
                )),
            },
            _ => Err(refused(path, 0, "expected a JSON array or object of records".into())),
        };
    }
    let mut line = String::new();
    let mut n = 0u64;
    loop {
        line.clear();
        let read = reader.read_line(&mut line).map_err(DataError::io(path))?;
        if read == 0 {
            break;
        }
        n += 1;
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(t).map_err(|e| {
            let what = if e.is_eof() { "truncated JSON (the line ends inside a record)" } else { "not valid JSON" };
            refused(path, n, format!("{what}: {e}"))
        })?;
        match unwrap_page(value, envelopes) {
            // One API page a line (`{"orders": […]}`): its records, each with its place.
            Ok((k, items)) => {
                for (i, value) in items.into_iter().enumerate() {
                    f(Located { value, at: format!("line {n}: $.{k}[{i}]"), row: n })?;
                }
            }
            Err(value) => f(Located { value, at: format!("line {n}"), row: n })?,
        }
    }
    Ok(())
}

/// Keys an API page carries beside its list of records (paging, counts, cursors).
const PAGE_META: &[&str] = &[
    "total_count",
    "search_criteria",
    "next_page",
    "paging",
    "links",
    "has_more",
    "cursor",
    "next",
    "count",
    "url",
    "object",
];

/// The records of an API page (`{"orders": […], "next_page": …}`), or the value back when
/// it is a record itself.
fn unwrap_page(value: Value, envelopes: &[&'static str]) -> Result<(&'static str, Vec<Value>), Value> {
    let Value::Object(mut map) = value else { return Err(value) };
    let key = envelopes.iter().find(|k| matches!(map.get(**k), Some(Value::Array(_))));
    match key {
        Some(k) if map.keys().all(|x| x == k || PAGE_META.contains(&x.as_str())) => {
            let Some(Value::Array(items)) = map.remove(*k) else { unreachable!("checked") };
            Ok((*k, items))
        }
        _ => Err(Value::Object(map)),
    }
}

/// NDJSON when the first line alone is a complete JSON value and something follows it.
fn looks_like_ndjson(path: &Path) -> Result<bool, DataError> {
    let file = std::fs::File::open(path).map_err(DataError::io(path))?;
    let mut first = String::new();
    std::io::BufReader::new(file).read_line(&mut first).map_err(DataError::io(path))?;
    Ok(serde_json::from_str::<Value>(first.trim()).is_ok())
}

/// The JSON path of `field` in the record at `at`: `$.orders[3].total_price` for a record
/// of an array or page, just `total_price` for an NDJSON line (the row says which line).
#[must_use]
pub fn path_of(at: &str, field: &str) -> String {
    match at.find('$') {
        Some(i) if field.is_empty() => at[i..].to_owned(),
        Some(i) => format!("{}.{field}", &at[i..]),
        None => field.to_owned(),
    }
}

/// The top-level keys of `record` not in `used`, added to `ignored`.
pub fn note_ignored(record: &Value, used: &[&str], ignored: &mut std::collections::BTreeSet<String>) {
    if let Some(o) = record.as_object() {
        for k in o.keys() {
            if !used.contains(&k.as_str()) && !ignored.contains(k) {
                ignored.insert(k.clone());
            }
        }
    }
}

/// The value at a dotted path (`ecommerce.transaction_id`), if present and not null.
#[must_use]
pub fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for k in path.split('.') {
        cur = cur.get(k)?;
    }
    (!cur.is_null()).then_some(cur)
}

/// Text at `path`: a string, or a number written as text. Empty strings are absent.
#[must_use]
pub fn text(v: &Value, path: &str) -> Option<String> {
    match get(v, path)? {
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A number at `path`, written as a JSON number or a numeric string. `Err` carries the
/// value when it is there but not a number.
pub fn number(v: &Value, path: &str) -> Result<Option<f64>, String> {
    match get(v, path) {
        None => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse::<f64>().map(Some).map_err(|_| s.clone()),
        Some(other) => Err(other.to_string()),
    }
}

/// An integer at `path` (number or numeric string), exactly: `"1714557600000000"` keeps
/// every digit.
pub fn integer(v: &Value, path: &str) -> Result<Option<i64>, String> {
    match get(v, path) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| n.to_string()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse::<i64>().map(Some).map_err(|_| s.clone()),
        Some(other) => Err(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<(String, Value)>, DataError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        std::fs::write(&p, text).unwrap();
        let mut out = Vec::new();
        for_each(&p, &["orders"], |l| {
            out.push((l.at, l.value));
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn ndjson_arrays_and_envelopes_are_read_with_their_place() {
        let r = read("{\"a\":1}\n\n{\"a\":2}\n").unwrap();
        assert_eq!(r.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(), ["line 1", "line 3"]);
        let r = read("[{\"a\":1},{\"a\":2}]").unwrap();
        assert_eq!(r[1].0, "$[1]");
        let r = read("{\n\"orders\": [{\"a\":1}]\n}").unwrap();
        assert_eq!(r[0].0, "$.orders[0]");
        let r = read("{\"orders\":[{\"a\":1},{\"a\":2}],\"next_page\":null}\n{\"orders\":[{\"a\":3}]}\n").unwrap();
        assert_eq!(r[2].0, "line 2: $.orders[0]", "one API page a line");
        let r = read("{\"orders\":[{\"a\":1}],\"id\":7}\n").unwrap();
        assert_eq!(r.len(), 1, "a record holding an array of the same name is a record");
        let e = read("{\n\"items\": []\n}").unwrap_err().to_string();
        assert!(e.contains("x.json"), "{e}");
    }

    #[test]
    fn a_truncated_line_names_its_line() {
        let e = read("{\"a\":1}\n{\"a\":").unwrap_err();
        let DataError::InvalidRow { row, reason, .. } = e else { panic!() };
        assert_eq!(row, 2);
        assert!(reason.contains("truncated"), "{reason}");
    }

    #[test]
    fn numbers_written_as_strings_are_read_exactly() {
        let v: Value = serde_json::json!({"t": "1714557600000001", "x": {"y": "2.5"}, "bad": "abc"});
        assert_eq!(integer(&v, "t"), Ok(Some(1_714_557_600_000_001)));
        assert_eq!(number(&v, "x.y"), Ok(Some(2.5)));
        assert_eq!(number(&v, "bad"), Err("abc".into()));
        assert_eq!(number(&v, "none"), Ok(None));
    }
}
