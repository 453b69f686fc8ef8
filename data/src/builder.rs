//! Row-by-row construction of record batches with a canonical (or any simple) schema.

use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, SchemaRef, TimeUnit};

use crate::schema::Table;

enum Column {
    Text(StringBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Bool(BooleanBuilder),
    Ts(TimestampMicrosecondBuilder),
}

/// Builds a batch row by row: push each column's value in schema order, then
/// [`RowBuilder::end_row`]. Pushing a value of the wrong type is a bug in the caller and
/// panics naming the column.
pub struct RowBuilder {
    schema: SchemaRef,
    columns: Vec<Column>,
    cursor: usize,
    rows: usize,
}

impl std::fmt::Debug for RowBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowBuilder").field("rows", &self.rows).finish_non_exhaustive()
    }
}

macro_rules! push {
    ($name:ident, $opt:ident, $variant:ident, $ty:ty) => {
        /// Pushes a value into the next column.
        pub fn $name(&mut self, v: $ty) -> &mut Self {
            self.$opt(Some(v))
        }
        /// Pushes a value or null into the next column.
        pub fn $opt(&mut self, v: Option<$ty>) -> &mut Self {
            let i = self.cursor;
            match &mut self.columns[i] {
                Column::$variant(b) => b.append_option(v),
                _ => panic!(
                    "column `{}` is {}, not {}",
                    self.schema.field(i).name(),
                    self.schema.field(i).data_type(),
                    stringify!($variant)
                ),
            }
            self.cursor += 1;
            self
        }
    };
}

impl RowBuilder {
    /// A builder for the canonical schema of `table`.
    #[must_use]
    pub fn for_table(table: Table) -> RowBuilder {
        RowBuilder::new(table.spec().arrow_schema())
    }

    /// A builder for `schema` (text, Int64, Float64, Boolean and µs timestamps only).
    #[must_use]
    pub fn new(schema: SchemaRef) -> RowBuilder {
        let columns = schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Utf8 => Column::Text(StringBuilder::new()),
                DataType::Int64 => Column::Int(Int64Builder::new()),
                DataType::Float64 => Column::Float(Float64Builder::new()),
                DataType::Boolean => Column::Bool(BooleanBuilder::new()),
                DataType::Timestamp(TimeUnit::Microsecond, tz) => {
                    Column::Ts(TimestampMicrosecondBuilder::new().with_timezone_opt(tz.clone()))
                }
                other => panic!("RowBuilder does not build {other} columns"),
            })
            .collect();
        RowBuilder { schema, columns, cursor: 0, rows: 0 }
    }

    push!(text, opt_text, Text, &str);
    push!(int, opt_int, Int, i64);
    push!(float, opt_float, Float, f64);
    push!(bool, opt_bool, Bool, bool);
    push!(ts, opt_ts, Ts, i64);

    /// The column the next pushed value goes into.
    #[must_use]
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Ends the current row; every column must have received a value.
    pub fn end_row(&mut self) {
        assert_eq!(
            self.cursor,
            self.columns.len(),
            "row {} of {} columns got {} values",
            self.rows,
            self.columns.len(),
            self.cursor
        );
        self.cursor = 0;
        self.rows += 1;
    }

    /// Rows in the pending batch.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether the pending batch is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The schema.
    #[must_use]
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Takes the rows built so far as a batch and starts a new one.
    pub fn finish(&mut self) -> RecordBatch {
        assert_eq!(self.cursor, 0, "finish called in the middle of a row");
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|c| -> ArrayRef {
                match c {
                    Column::Text(b) => Arc::new(b.finish()),
                    Column::Int(b) => Arc::new(b.finish()),
                    Column::Float(b) => Arc::new(b.finish()),
                    Column::Bool(b) => Arc::new(b.finish()),
                    Column::Ts(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), arrays).expect("builders match the schema")
    }
}
