//! Conforming raw batches to the canonical schema: types, nullability, allowed values,
//! ranges and the within-row rules, each failure a [`Reject`] naming file, row and column.
//!
//! Accepted source types, besides the canonical one:
//!
//! | canonical | also accepted |
//! |---|---|
//! | text | large/view strings, dictionaries of strings, integers (ids exported as numbers) |
//! | integer | any integer type; floats holding whole numbers (pandas writes nullable ints as floats); text |
//! | float | any integer or float type, decimals; text |
//! | boolean | integers 0/1; text `true/false/1/0/yes/no/t/f` (any case) |
//! | timestamp | any timestamp unit and time zone (the instant is kept); timestamps without a zone are read as UTC; dates (midnight UTC); RFC 3339 text |

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder, TimestampMicrosecondBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, RecordBatch, new_null_array};
use arrow_cast::cast;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use chrono::DateTime;

use crate::error::Reject;
use crate::schema::{ColumnSpec, Kind, Rule, Table, TableSpec};

/// How each canonical column is found in a file.
#[derive(Debug, Clone)]
pub struct ColumnPlan {
    /// For each canonical column, its index in the raw batch (`None`: absent, nullable).
    sources: Vec<Option<usize>>,
    /// Raw columns that are not canonical: they pass through unchanged.
    extras: Vec<usize>,
    /// The output schema: canonical columns, then extras.
    schema: SchemaRef,
}

impl ColumnPlan {
    /// Matches a raw schema to `spec`; a missing required column or a column of a type
    /// that cannot hold the canonical one is a file-level reject.
    pub fn new(spec: &TableSpec, raw: &Schema, file: &Path) -> Result<ColumnPlan, Vec<Reject>> {
        let mut rejects = Vec::new();
        // A column named twice: which one holds the data is a guess, so the file is refused.
        // One reject per name, however many times it repeats.
        let mut positions: std::collections::BTreeMap<&str, Vec<usize>> = std::collections::BTreeMap::new();
        for (i, f) in raw.fields().iter().enumerate() {
            positions.entry(f.name().as_str()).or_default().push(i + 1);
        }
        for (name, at) in positions.iter().filter(|(_, at)| at.len() > 1) {
            let listed: Vec<String> = at.iter().take(5).map(ToString::to_string).collect();
            let more = if at.len() > 5 { format!(", … {} in all", at.len()) } else { String::new() };
            let reason = if at.len() == 2 {
                format!("the column appears twice (columns {} and {}): remove or rename one", at[0], at[1])
            } else {
                format!("the column appears {} times (columns {}{more}): keep one", at.len(), listed.join(", "))
            };
            rejects.push(file_reject(spec.table, file, name, reason));
        }
        let mut sources = Vec::with_capacity(spec.columns.len());
        for c in spec.columns {
            match raw.index_of(c.name) {
                Ok(i) => {
                    let dt = raw.field(i).data_type();
                    if !accepts(c.kind, dt) {
                        rejects.push(file_reject(
                            spec.table,
                            file,
                            c.name,
                            format!("expected {}, found column of type {dt}", c.kind.name()),
                        ));
                    }
                    sources.push(Some(i));
                }
                Err(_) if c.nullable => sources.push(None),
                Err(_) => {
                    rejects.push(file_reject(spec.table, file, c.name, "required column is missing".to_owned()));
                    sources.push(None);
                }
            }
        }
        let extras: Vec<usize> =
            (0..raw.fields().len()).filter(|&i| spec.column(raw.field(i).name()).is_none()).collect();
        if !rejects.is_empty() {
            return Err(rejects);
        }
        let mut fields: Vec<Field> =
            spec.columns.iter().map(|c| Field::new(c.name, c.kind.data_type(), c.nullable)).collect();
        fields.extend(extras.iter().map(|&i| raw.field(i).clone().with_nullable(true)));
        Ok(ColumnPlan { sources, extras, schema: Arc::new(Schema::new(fields)) })
    }

    /// The schema of conformed batches.
    #[must_use]
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }
}

fn file_reject(table: Table, file: &Path, column: &str, reason: String) -> Reject {
    Reject { table, file: file.to_owned(), row: None, column: column.to_owned(), value: None, reason }
}

fn accepts(kind: Kind, dt: &DataType) -> bool {
    use DataType as D;
    let text = matches!(dt, D::Utf8 | D::LargeUtf8 | D::Utf8View | D::Null)
        || matches!(dt, D::Dictionary(_, v) if matches!(v.as_ref(), D::Utf8 | D::LargeUtf8 | D::Utf8View));
    text || *dt == kind.data_type()
        || match kind {
            Kind::Text => dt.is_integer(),
            Kind::Bool => dt.is_integer() || *dt == D::Boolean,
            Kind::Int => dt.is_integer() || dt.is_floating(),
            Kind::Float => dt.is_numeric(),
            Kind::Timestamp => matches!(dt, D::Timestamp(_, _) | D::Date32 | D::Date64),
        }
}

/// A batch conformed to the canonical schema.
#[derive(Debug)]
pub struct Conformed {
    /// Canonical columns in spec order, then extras. A value that failed to convert is
    /// null in a nullable column and the kind's zero value in a required one; either way
    /// its row is marked in `rejected`.
    pub batch: RecordBatch,
    /// The 1-based file row of the first row.
    pub first_row: u64,
    /// Per row: whether any reject names it.
    pub rejected: Vec<bool>,
    /// The rejects, in row order within each check.
    pub rejects: Vec<Reject>,
}

impl Conformed {
    /// Rows without any reject.
    #[must_use]
    pub fn n_clean(&self) -> usize {
        self.rejected.iter().filter(|r| !**r).count()
    }
}

struct Sink<'a> {
    table: Table,
    file: &'a Path,
    first_row: u64,
    rejected: Vec<bool>,
    rejects: Vec<Reject>,
}

impl Sink<'_> {
    fn reject(&mut self, i: usize, column: &str, value: Option<String>, reason: impl Into<String>) {
        self.rejected[i] = true;
        self.rejects.push(Reject {
            table: self.table,
            file: self.file.to_owned(),
            row: Some(self.first_row + i as u64),
            column: column.to_owned(),
            value,
            reason: reason.into(),
        });
    }
}

/// Conforms one raw batch with `plan`.
#[must_use]
pub fn conform(spec: &TableSpec, plan: &ColumnPlan, raw: crate::io::RawBatch, file: &Path) -> Conformed {
    let n = raw.batch.num_rows();
    let mut sink =
        Sink { table: spec.table, file, first_row: raw.first_row, rejected: vec![false; n], rejects: Vec::new() };
    let mut pre_rejected = vec![false; n];
    for (i, r) in raw.rejects {
        pre_rejected[i] = true;
        sink.rejected[i] = true;
        sink.rejects.push(r);
    }
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(plan.schema.fields().len());
    for (c, source) in spec.columns.iter().zip(&plan.sources) {
        let src = source.map(|i| raw.batch.column(i));
        let typed = match src {
            None => new_null_array(&c.kind.data_type(), n),
            Some(src) => convert(c, src, &pre_rejected, &mut sink),
        };
        check_values(c, &typed, src, &pre_rejected, &mut sink);
        // Every null in a required column is rejected above; the batch keeps the strict
        // canonical schema by holding a zero value there (the row is marked rejected).
        let typed = if !c.nullable && typed.null_count() > 0 { fill_nulls(&typed, c.kind) } else { typed };
        columns.push(typed);
    }
    for &i in &plan.extras {
        columns.push(raw.batch.column(i).clone());
    }
    let batch = RecordBatch::try_new(plan.schema.clone(), columns)
        .expect("conformed columns match the plan's schema by construction");
    check_rows(spec, &batch, &pre_rejected, &mut sink);
    Conformed { batch, first_row: raw.first_row, rejected: sink.rejected, rejects: sink.rejects }
}

/// `a` with its nulls replaced by the kind's zero value (empty text, 0, false, epoch).
fn fill_nulls(a: &ArrayRef, kind: Kind) -> ArrayRef {
    let n = a.len();
    match kind {
        Kind::Text => {
            let s = a.as_string::<i32>();
            Arc::new(
                (0..n).map(|i| Some(if s.is_null(i) { "" } else { s.value(i) })).collect::<arrow_array::StringArray>(),
            )
        }
        Kind::Int => {
            let v = a.as_primitive::<Int64Type>();
            Arc::new(
                (0..n).map(|i| Some(if v.is_null(i) { 0 } else { v.value(i) })).collect::<arrow_array::Int64Array>(),
            )
        }
        Kind::Float => {
            let v = a.as_primitive::<Float64Type>();
            Arc::new(
                (0..n)
                    .map(|i| Some(if v.is_null(i) { 0.0 } else { v.value(i) }))
                    .collect::<arrow_array::Float64Array>(),
            )
        }
        Kind::Bool => {
            let v = a.as_boolean();
            Arc::new((0..n).map(|i| Some(!v.is_null(i) && v.value(i))).collect::<arrow_array::BooleanArray>())
        }
        Kind::Timestamp => {
            let v = a.as_primitive::<TimestampMicrosecondType>();
            let filled: arrow_array::TimestampMicrosecondArray =
                (0..n).map(|i| Some(if v.is_null(i) { 0 } else { v.value(i) })).collect();
            Arc::new(filled.with_timezone(crate::schema::UTC))
        }
    }
}

/// Converts a source column to the canonical type; values that do not convert become
/// null and are rejected.
fn convert(c: &ColumnSpec, src: &ArrayRef, skip: &[bool], sink: &mut Sink<'_>) -> ArrayRef {
    use DataType as D;
    let target = c.kind.data_type();
    if src.data_type() == &target {
        return src.clone();
    }
    // Text of any flavour: normalise to Utf8 and parse per value.
    let as_text = match src.data_type() {
        D::LargeUtf8 | D::Utf8View | D::Dictionary(..) | D::Null => {
            Some(cast(src, &D::Utf8).expect("string-like arrays cast to Utf8"))
        }
        D::Utf8 => Some(src.clone()),
        _ => None,
    };
    if let Some(text) = as_text {
        if c.kind == Kind::Text {
            return text;
        }
        return parse_text(c, text.as_string::<i32>(), skip, sink);
    }
    match (c.kind, src.data_type()) {
        (Kind::Int, dt) if dt.is_floating() => {
            let f = cast(src, &D::Float64).expect("floats cast to Float64");
            let f = f.as_primitive::<Float64Type>();
            let mut b = Int64Builder::with_capacity(f.len());
            for i in 0..f.len() {
                if f.is_null(i) {
                    b.append_null();
                    continue;
                }
                let v = f.value(i);
                if v.fract() == 0.0 && v.abs() < 9.007_199_254_740_992e15 {
                    b.append_value(v as i64);
                } else {
                    b.append_null();
                    if !skip[i] {
                        sink.reject(i, c.name, Some(v.to_string()), "expected a whole number");
                    }
                }
            }
            Arc::new(b.finish())
        }
        (Kind::Int, D::UInt64) => {
            let u = src.as_primitive::<arrow_array::types::UInt64Type>();
            let mut b = Int64Builder::with_capacity(u.len());
            for i in 0..u.len() {
                if u.is_null(i) {
                    b.append_null();
                } else if let Ok(v) = i64::try_from(u.value(i)) {
                    b.append_value(v);
                } else {
                    b.append_null();
                    if !skip[i] {
                        sink.reject(i, c.name, Some(u.value(i).to_string()), "integer out of range");
                    }
                }
            }
            Arc::new(b.finish())
        }
        (Kind::Bool, dt) if dt.is_integer() => {
            let v = cast(src, &D::Int64).expect("integers cast to Int64");
            let v = v.as_primitive::<Int64Type>();
            let mut b = BooleanBuilder::with_capacity(v.len());
            for i in 0..v.len() {
                match (v.is_null(i), v.value(i)) {
                    (true, _) => b.append_null(),
                    (false, 0) => b.append_value(false),
                    (false, 1) => b.append_value(true),
                    (false, x) => {
                        b.append_null();
                        if !skip[i] {
                            sink.reject(i, c.name, Some(x.to_string()), "expected a boolean (0 or 1)");
                        }
                    }
                }
            }
            Arc::new(b.finish())
        }
        // Timestamps: any unit / zone keeps the instant; naive is read as UTC; dates are midnight.
        // The stored values are UTC instants whatever the zone label (Arrow's rule), so the
        // label is dropped, not converted: arrow-cast would parse the zone (`UTC`, `Europe/
        // Paris`), which needs chrono-tz, to convert between units (pandas writes `ns, UTC`).
        // A value the microsecond range cannot hold is a reject, never a silent null.
        (Kind::Timestamp, D::Timestamp(unit, _)) => Arc::new(timestamps_to_micros(c, src, *unit, skip, sink)),
        _ => cast(src, &target).unwrap_or_else(|e| {
            // `accepts` admitted the type, so this is unreachable for canonical types;
            // keep a reject instead of a panic all the same.
            for i in 0..src.len() {
                if !skip[i] && !src.is_null(i) {
                    sink.reject(i, c.name, None, format!("cannot convert to {}: {e}", c.kind.name()));
                }
            }
            new_null_array(&target, src.len())
        }),
    }
}

/// A timestamp column of any unit as UTC microseconds (the canonical type).
fn timestamps_to_micros(
    c: &ColumnSpec,
    src: &ArrayRef,
    unit: arrow_schema::TimeUnit,
    skip: &[bool],
    sink: &mut Sink<'_>,
) -> arrow_array::TimestampMicrosecondArray {
    use arrow_array::types::{TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType};
    use arrow_schema::TimeUnit as U;
    let raw: Vec<Option<i64>> = match unit {
        U::Second => src.as_primitive::<TimestampSecondType>().iter().collect(),
        U::Millisecond => src.as_primitive::<TimestampMillisecondType>().iter().collect(),
        U::Microsecond => src.as_primitive::<TimestampMicrosecondType>().iter().collect(),
        U::Nanosecond => src.as_primitive::<TimestampNanosecondType>().iter().collect(),
    };
    let to_micros = |v: i64| match unit {
        U::Second => v.checked_mul(1_000_000),
        U::Millisecond => v.checked_mul(1_000),
        U::Microsecond => Some(v),
        // Floor, so an instant before 1970 stays at or before itself.
        U::Nanosecond => Some(v.div_euclid(1_000)),
    };
    let mut b = TimestampMicrosecondBuilder::with_capacity(raw.len());
    for (i, v) in raw.into_iter().enumerate() {
        match v.map(|v| (v, to_micros(v))) {
            None => b.append_null(),
            Some((_, Some(us))) => b.append_value(us),
            Some((v, None)) => {
                b.append_null();
                if !skip[i] {
                    sink.reject(
                        i,
                        c.name,
                        Some(v.to_string()),
                        "timestamp out of range (microseconds since 1970 overflow 64 bits)",
                    );
                }
            }
        }
    }
    b.finish().with_timezone(crate::schema::UTC)
}

fn parse_text(c: &ColumnSpec, text: &arrow_array::StringArray, skip: &[bool], sink: &mut Sink<'_>) -> ArrayRef {
    let n = text.len();
    macro_rules! parse_with {
        ($builder:expr, $parse:expr, $expected:expr) => {{
            let mut b = $builder;
            for i in 0..n {
                if text.is_null(i) {
                    b.append_null();
                    continue;
                }
                let s = text.value(i);
                match $parse(s.trim()) {
                    Some(v) => b.append_value(v),
                    None => {
                        b.append_null();
                        if !skip[i] {
                            sink.reject(i, c.name, Some(s.to_owned()), $expected);
                        }
                    }
                }
            }
            Arc::new(b.finish()) as ArrayRef
        }};
    }
    match c.kind {
        Kind::Text => Arc::new(text.clone()),
        Kind::Int => {
            parse_with!(Int64Builder::with_capacity(n), |s: &str| s.parse::<i64>().ok(), "expected an integer")
        }
        Kind::Float => {
            parse_with!(Float64Builder::with_capacity(n), |s: &str| s.parse::<f64>().ok(), "expected a number")
        }
        Kind::Bool => parse_with!(BooleanBuilder::with_capacity(n), parse_bool, "expected a boolean (true/false)"),
        Kind::Timestamp => parse_with!(
            TimestampMicrosecondBuilder::with_capacity(n).with_timezone(crate::schema::UTC),
            parse_timestamp_us,
            "expected an RFC 3339 timestamp with offset, e.g. 2025-03-01T12:00:00Z"
        ),
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "t" | "1" | "yes" | "y" => Some(true),
        "false" | "f" | "0" | "no" | "n" => Some(false),
        _ => None,
    }
}

/// Parses an RFC 3339 timestamp (`T` or a space between date and time; `Z` or an offset)
/// to microseconds since the epoch, UTC.
#[must_use]
pub fn parse_timestamp_us(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s).ok().map(|dt| dt.timestamp_micros())
}

fn check_values(c: &ColumnSpec, a: &ArrayRef, src: Option<&ArrayRef>, skip: &[bool], sink: &mut Sink<'_>) {
    let n = a.len();
    for i in 0..n {
        if skip[i] {
            continue;
        }
        if a.is_null(i) {
            // A value that failed to convert is already rejected; only report plain nulls.
            let was_null = src.is_none_or(|s| s.is_null(i));
            if !c.nullable && was_null {
                sink.reject(i, c.name, None, "required value is missing");
            }
            continue;
        }
        match (c.rule, c.kind) {
            (Rule::Any, _) => {}
            (Rule::OneOf(values), Kind::Text) => {
                let v = a.as_string::<i32>().value(i);
                if !values.contains(&v) {
                    sink.reject(i, c.name, Some(v.to_owned()), format!("expected one of {}", values.join(", ")));
                }
            }
            (Rule::NonEmpty, Kind::Text) => {
                if a.as_string::<i32>().value(i).trim().is_empty() {
                    sink.reject(i, c.name, Some(String::new()), "must not be empty");
                }
            }
            (Rule::Currency, Kind::Text) => {
                let v = a.as_string::<i32>().value(i);
                if !(v.len() == 3 && v.bytes().all(|b| b.is_ascii_uppercase())) {
                    sink.reject(i, c.name, Some(v.to_owned()), "expected an ISO-4217 code of 3 uppercase letters");
                }
            }
            (Rule::Tiers, Kind::Text) => {
                let v = a.as_string::<i32>().value(i);
                if let Err(reason) = crate::tiers::parse_tiers(v) {
                    sink.reject(i, c.name, Some(v.to_owned()), reason);
                }
            }
            (Rule::NonNegative | Rule::Finite | Rule::UnitInterval | Rule::Score100, Kind::Int) => {
                let v = a.as_primitive::<Int64Type>().value(i);
                check_number(c, i, v as f64, &v.to_string(), sink);
            }
            (Rule::NonNegative | Rule::Finite | Rule::UnitInterval | Rule::Score100, Kind::Float) => {
                let v = a.as_primitive::<Float64Type>().value(i);
                check_number(c, i, v, &v.to_string(), sink);
            }
            (rule, kind) => {
                unreachable!("rule {rule:?} on a {kind:?} column is not in the contract")
            }
        }
    }
}

fn check_number(c: &ColumnSpec, i: usize, v: f64, text: &str, sink: &mut Sink<'_>) {
    let reason = if v.is_nan() {
        "must be a number, found NaN"
    } else if v.is_infinite() {
        "must be finite"
    } else {
        match c.rule {
            Rule::NonNegative if v < 0.0 => "must not be negative",
            Rule::UnitInterval if !(0.0..=1.0).contains(&v) => "must be in [0, 1]",
            Rule::Score100 if !(0.0..=100.0).contains(&v) => "must be in [0, 100]",
            Rule::Score100 if v > 0.0 && v < 1.0 => {
                "must be on the 0–100 scale of the scorecard; this looks like a 0–1 fraction (multiply by 100)"
            }
            _ => return,
        }
    };
    sink.reject(i, c.name, Some(text.to_owned()), reason);
}

/// Rules across columns of one row.
fn check_rows(spec: &TableSpec, batch: &RecordBatch, skip: &[bool], sink: &mut Sink<'_>) {
    let col = |name: &str| batch.column(spec.index_of(name).expect("rule names a canonical column"));
    match spec.table {
        Table::Posts => {
            let likes = col("likes");
            let views = col("views");
            let (l, v) = (likes.as_primitive::<Int64Type>(), views.as_primitive::<Int64Type>());
            for i in 0..batch.num_rows() {
                if !skip[i] && l.is_valid(i) && v.is_valid(i) && l.value(i) > v.value(i) {
                    sink.reject(
                        i,
                        "likes",
                        Some(l.value(i).to_string()),
                        format!("likes ({}) exceed views ({})", l.value(i), v.value(i)),
                    );
                }
            }
        }
        Table::Campaigns => {
            let s = col("starts_at");
            let e = col("ends_at");
            let (s, e) = (s.as_primitive::<TimestampMicrosecondType>(), e.as_primitive::<TimestampMicrosecondType>());
            for i in 0..batch.num_rows() {
                if !skip[i] && s.is_valid(i) && e.is_valid(i) && e.value(i) < s.value(i) {
                    sink.reject(
                        i,
                        "ends_at",
                        Some(crate::io::format_timestamp_us(e.value(i))),
                        "campaign ends before it starts",
                    );
                }
            }
        }
        Table::Touchpoints => {
            let ch = col("channel");
            let cr = col("creator_id");
            let (ch, cr) = (ch.as_string::<i32>(), cr.as_string::<i32>());
            for i in 0..batch.num_rows() {
                if !skip[i] && ch.is_valid(i) && ch.value(i) == "creator" && cr.is_null(i) {
                    sink.reject(i, "creator_id", None, "a `creator` touch needs a creator_id");
                }
            }
        }
        Table::Customers => {
            let s = col("subscription_started_at");
            let e = col("churned_at");
            let (s, e) = (s.as_primitive::<TimestampMicrosecondType>(), e.as_primitive::<TimestampMicrosecondType>());
            for i in 0..batch.num_rows() {
                if skip[i] || e.is_null(i) {
                    continue;
                }
                if s.is_null(i) {
                    sink.reject(i, "churned_at", None, "churned_at without subscription_started_at");
                } else if e.value(i) < s.value(i) {
                    sink.reject(
                        i,
                        "churned_at",
                        Some(crate::io::format_timestamp_us(e.value(i))),
                        "churned before the subscription started",
                    );
                }
            }
        }
        Table::Costs => {
            let ty = col("cost_type");
            let amount = col("amount");
            let rate = col("rate");
            let tiers = col("tiers");
            let ty = ty.as_string::<i32>();
            for i in 0..batch.num_rows() {
                if skip[i] || ty.is_null(i) {
                    continue;
                }
                let (need, ok) = match ty.value(i) {
                    "commission" => ("rate", rate.is_valid(i)),
                    "tiered_commission" => ("tiers", tiers.is_valid(i)),
                    "agency_fee" => ("amount or rate", amount.is_valid(i) || rate.is_valid(i)),
                    _ => ("amount", amount.is_valid(i)),
                };
                if !ok {
                    let column = need.split(' ').next().unwrap_or(need);
                    sink.reject(i, column, None, format!("a `{}` cost needs {need}", ty.value(i)));
                }
            }
        }
        _ => {}
    }
}
