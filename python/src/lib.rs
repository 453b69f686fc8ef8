//! `roicast._native`: the extension module behind the `roicast` Python package.
//!
//! Thin glue only: every function here converts Arrow data and JSON configs at the
//! boundary and calls the same library code as the CLI (`roicast_engine::jobs`). Arrow
//! comes in through the C stream interface (pyarrow, polars, pandas ≥ 2.2: anything with
//! `__arrow_c_stream__`) and goes out as `pyarrow` objects, sharing buffers both ways.
//! The GIL is released while a job computes; `threads` runs it in a rayon pool of that
//! size.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use arrow_array::RecordBatch;
use arrow_pyarrow::{FromPyArrow, PyArrowType};
use arrow_schema::{Schema, SchemaRef};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use roicast_data::{Dataset, Table};
use roicast_engine::jobs::{self, Ctx, Rejected, partitioned as part};
use serde::Serialize;
use serde::de::DeserializeOwned;

create_exception!(_native, Error, PyException, "A roicast job could not run (exit code 2 on the command line).");
create_exception!(
    _native,
    InputError,
    Error,
    "The input was refused (exit code 1): see .file, .row, .column, .reason and .rejects."
);
create_exception!(_native, ConfigError, Error, "A job's settings are invalid.");
create_exception!(_native, ModelError, Error, "A model could not be fitted or applied.");

/// A job failure and the Python exception it becomes.
enum Failure {
    Config(String),
    Job(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Failure {
        Failure::Job(e)
    }
}

fn to_py(py: Python<'_>, f: Failure) -> PyErr {
    let err = match f {
        Failure::Config(msg) => return ConfigError::new_err(msg),
        Failure::Job(err) => err,
    };
    let message = format!("{err:#}");
    if jobs::is_rejection(&err) {
        let rejects: Vec<roicast_data::Reject> = err
            .chain()
            .find_map(|e| e.downcast_ref::<Rejected>().map(|r| r.rejects.clone()))
            .or_else(|| {
                err.chain().find_map(|e| match e.downcast_ref::<roicast_data::DataError>() {
                    Some(roicast_data::DataError::Rejected { first, .. }) => Some(vec![(**first).clone()]),
                    Some(roicast_data::DataError::InvalidRow { path, row, column, reason }) => {
                        Some(vec![roicast_data::Reject {
                            table: Table::Orders,
                            file: path.clone(),
                            row: Some(*row),
                            column: column.clone(),
                            value: None,
                            reason: reason.clone(),
                        }])
                    }
                    Some(roicast_data::DataError::InvalidFile { path, reason }) => Some(vec![roicast_data::Reject {
                        table: Table::Orders,
                        file: path.clone(),
                        row: None,
                        column: String::new(),
                        value: None,
                        reason: reason.clone(),
                    }]),
                    _ => None,
                })
            })
            .unwrap_or_default();
        let e = InputError::new_err(message.clone());
        let value = e.value(py);
        let first = rejects.first();
        let _ = value.setattr("file", first.map(|r| r.file.display().to_string()));
        let _ = value.setattr("row", first.and_then(|r| r.row));
        let _ = value.setattr("column", first.map(|r| r.column.clone()));
        let _ = value.setattr("reason", first.map_or(message, |r| r.reason.clone()));
        let list = PyList::empty(py);
        for r in &rejects {
            let d = PyDict::new(py);
            let _ = d.set_item("table", r.table.name());
            let _ = d.set_item("file", r.file.display().to_string());
            let _ = d.set_item("row", r.row);
            let _ = d.set_item("column", &r.column);
            let _ = d.set_item("value", &r.value);
            let _ = d.set_item("reason", &r.reason);
            let _ = list.append(d);
        }
        let _ = value.setattr("rejects", list);
        return e;
    }
    let model_failure = err.chain().any(|e| {
        e.downcast_ref::<roicast_models::ModelError>().is_some()
            || e.downcast_ref::<roicast_training::TrainError>().is_some()
    });
    let param = err.chain().any(|e| {
        e.downcast_ref::<jobs::InvalidSettings>().is_some()
            || matches!(e.downcast_ref::<roicast_data::DataError>(), Some(roicast_data::DataError::InvalidParam { .. }))
    });
    if model_failure {
        ModelError::new_err(message)
    } else if param {
        ConfigError::new_err(message)
    } else {
        Error::new_err(message)
    }
}

fn config<C: DeserializeOwned>(json: &str) -> Result<C, Failure> {
    serde_json::from_str(json).map_err(|e| Failure::Config(format!("invalid settings: {e}")))
}

fn pools() -> &'static Mutex<HashMap<usize, Arc<rayon::ThreadPool>>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    POOLS.get_or_init(|| Mutex::new(HashMap::new()))
}

fn default_threads() -> &'static Mutex<Option<usize>> {
    static N: OnceLock<Mutex<Option<usize>>> = OnceLock::new();
    N.get_or_init(|| Mutex::new(None))
}

/// Runs `f` without the GIL, in a pool of `threads` (else the default set by
/// `set_threads`, else all cores).
fn compute<T: Send>(py: Python<'_>, threads: Option<usize>, f: impl FnOnce() -> T + Send) -> PyResult<T> {
    let n = threads.or(*default_threads().lock().expect("not poisoned"));
    let pool = match n {
        Some(0) => return Err(ConfigError::new_err("threads must be at least 1")),
        Some(n) => {
            let mut pools = pools().lock().expect("not poisoned");
            if let Some(p) = pools.get(&n) {
                Some(p.clone())
            } else {
                let p = Arc::new(
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(n)
                        .build()
                        .map_err(|e| Error::new_err(format!("could not start {n} threads: {e}")))?,
                );
                pools.insert(n, p.clone());
                Some(p)
            }
        }
        None => None,
    };
    Ok(py.detach(|| match pool {
        Some(p) => p.install(f),
        None => f(),
    }))
}

/// roicast's version.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Sets the default number of threads of later calls (`None`: all cores).
#[pyfunction]
#[pyo3(signature = (n=None))]
fn set_threads(n: Option<usize>) -> PyResult<()> {
    if n == Some(0) {
        return Err(ConfigError::new_err("threads must be at least 1"));
    }
    *default_threads().lock().expect("not poisoned") = n;
    Ok(())
}

/// Reads Arrow streams (`__arrow_c_stream__`) named by table into an in-memory dataset.
fn dataset(root: &str, tables: &Bound<'_, PyDict>) -> PyResult<Dataset> {
    let mut out = Vec::new();
    for (name, value) in tables.iter() {
        let name: String = name.extract()?;
        let table: Table = name
            .parse()
            .map_err(|_| ConfigError::new_err(format!("`{name}` is not a roicast table (see roicast.schema())")))?;
        let t = arrow_pyarrow::Table::from_pyarrow_bound(&value)
            .map_err(|e| InputError::new_err(format!("table `{name}`: not an Arrow stream: {e}")))?;
        let (batches, schema) = t.into_inner();
        out.push((table, schema, batches));
    }
    Dataset::in_memory(root, out).map_err(|e| InputError::new_err(format!("{e:#}")))
}

fn job<C: DeserializeOwned, S: Serialize>(
    f: fn(&Ctx, &C) -> anyhow::Result<S>,
) -> impl Fn(&Ctx, &str) -> Result<serde_json::Value, Failure> {
    move |ctx, json| {
        let c: C = config(json)?;
        let s = f(ctx, &c)?;
        Ok(serde_json::to_value(s).map_err(anyhow::Error::from)?)
    }
}

/// A job as the binding calls it: settings JSON in, summary JSON out.
type JobFn = Box<dyn Fn(&Ctx, &str) -> Result<serde_json::Value, Failure> + Send + Sync>;

/// Every job by the name Python calls it.
type Jobs = HashMap<&'static str, JobFn>;

fn jobs_table() -> Jobs {
    use roicast_engine::jobs::{
        alerts, attribute, clv, engagement, forecast, generate, history, import, pipeline, report, roi, sentiment,
        validate,
    };
    let mut m: Jobs = HashMap::new();
    m.insert("validate", Box::new(job(validate::run)));
    m.insert("sentiment", Box::new(job(sentiment::run)));
    m.insert("engagement", Box::new(job(engagement::run)));
    m.insert("emv", Box::new(job(engagement::run_emv)));
    m.insert("attribute", Box::new(job(attribute::run)));
    m.insert("attribute_paths", Box::new(job(attribute::run_paths)));
    m.insert("train_attribution", Box::new(job(attribute::train)));
    m.insert("clv", Box::new(job(clv::run)));
    m.insert("clv_rfm", Box::new(job(clv::rfm)));
    m.insert("clv_fit", Box::new(job(|_: &Ctx, c: &clv::FitConfig| clv::fit(c))));
    m.insert("clv_backtest", Box::new(job(clv::backtest)));
    m.insert("roi", Box::new(job(roi::run)));
    m.insert("alerts", Box::new(job(alerts::run)));
    m.insert("forecast_train", Box::new(job(forecast::train)));
    m.insert("forecast", Box::new(job(forecast::run)));
    m.insert("forecast_backtest", Box::new(job(forecast::backtest)));
    m.insert("history", Box::new(job(history::run)));
    m.insert("run", Box::new(job(pipeline::run)));
    m.insert("report", Box::new(job(report::run)));
    m.insert("import", Box::new(job(import::run)));
    m.insert("generate", Box::new(job(generate::run)));
    m
}

/// Runs the job `name` with its settings as JSON (the fields of its `Config`; unknown
/// fields are refused) and returns its summary as JSON. `tables` (name → Arrow stream)
/// form an in-memory dataset found at `root`: a config whose `data` is `root` reads them.
#[pyfunction]
#[pyo3(signature = (name, settings, tables=None, root=None, threads=None))]
fn run_job(
    py: Python<'_>,
    name: &str,
    settings: &str,
    tables: Option<&Bound<'_, PyDict>>,
    root: Option<String>,
    threads: Option<usize>,
) -> PyResult<String> {
    static JOBS: OnceLock<Jobs> = OnceLock::new();
    let jobs = JOBS.get_or_init(jobs_table);
    let Some(f) = jobs.get(name) else {
        let mut names: Vec<&str> = jobs.keys().copied().collect();
        names.sort_unstable();
        return Err(ConfigError::new_err(format!("unknown job `{name}`: expected one of {}", names.join(", "))));
    };
    let ds = match (tables, &root) {
        (Some(t), Some(r)) => Some(dataset(r, t)?),
        (Some(_), None) => return Err(ConfigError::new_err("tables need a root to be found at")),
        _ => None,
    };
    let out = compute(py, threads, || {
        let mut ctx = Ctx::silent();
        if let Some(d) = ds {
            ctx = ctx.with_dataset(d);
        }
        f(&ctx, settings)
    })?;
    match out {
        Ok(v) => Ok(v.to_string()),
        Err(f) => Err(to_py(py, f)),
    }
}

/// A pipeline file (`roicast.toml`), resolved like `roicast run --config` does, as the
/// JSON the `run` job takes.
#[pyfunction]
fn pipeline_config(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    let c = roicast_engine::jobs::pipeline::load(&path).map_err(|e| ConfigError::new_err(format!("{e:#}")));
    to_json(&c?).map_err(|e| to_py(py, anyhow::anyhow!("{e}").into()))
}

/// Every table of the dataset folder `path`, conformed to its canonical schema (a table
/// with rejected rows raises `InputError`; run `validate` for the full list).
#[pyfunction]
fn load_dataset(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyDict>> {
    let out = compute(py, None, || -> anyhow::Result<Vec<(Table, SchemaRef, Vec<RecordBatch>)>> {
        let ds = Ctx::silent().open_dataset(&path)?;
        let mut out = Vec::new();
        for &t in Table::ALL {
            if ds.has(t) {
                let batches = ds.load(t)?;
                let canonical = t.spec().arrow_schema();
                let first = batches.first().map_or_else(|| canonical.clone(), RecordBatch::schema);
                if batches.iter().all(|b| b.schema() == first) {
                    out.push((t, first, batches));
                } else {
                    // Files with different extra columns: the canonical columns of each.
                    let keep: Vec<usize> = (0..canonical.fields().len()).collect();
                    let batches = batches.iter().map(|b| b.project(&keep)).collect::<Result<Vec<_>, _>>()?;
                    out.push((t, canonical, batches));
                }
            }
        }
        Ok(out)
    })?;
    let d = PyDict::new(py);
    for (t, schema, batches) in ok(py, out)? {
        let table = arrow_pyarrow::Table::try_new(batches, schema).map_err(|e| Error::new_err(e.to_string()))?;
        d.set_item(t.name(), arrow_pyarrow::IntoPyArrow::into_pyarrow(table, py)?)?;
    }
    Ok(d)
}

/// The canonical tables and their columns, as `roicast schema --format json` prints them.
#[pyfunction]
fn schema_json() -> PyResult<String> {
    let tables: Vec<serde_json::Value> = Table::ALL
        .iter()
        .map(|t| {
            let s = t.spec().arrow_schema();
            serde_json::json!({
                "table": t.name(),
                "columns": s.fields().iter().map(|f| serde_json::json!({
                    "name": f.name(), "type": f.data_type().to_string(), "nullable": f.is_nullable()
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    to_json(&tables)
}

// ---------------------------------------------------------------------------------------
// Row-wise kernels

fn scorers() -> &'static Mutex<HashMap<String, Arc<jobs::sentiment::Scorer>>> {
    static S: OnceLock<Mutex<HashMap<String, Arc<jobs::sentiment::Scorer>>>> = OnceLock::new();
    S.get_or_init(|| Mutex::new(HashMap::new()))
}

fn scorer(model: &str) -> PyResult<Arc<jobs::sentiment::Scorer>> {
    let mut s = scorers().lock().expect("not poisoned");
    if let Some(x) = s.get(model) {
        return Ok(x.clone());
    }
    let (x, _) = jobs::sentiment::Scorer::from_arg(model).map_err(|e| ModelError::new_err(format!("{e:#}")))?;
    let x = Arc::new(x);
    s.insert(model.to_owned(), x.clone());
    Ok(x)
}

/// Scores one batch's `text_column`: every input column (the same buffers) and the
/// sentiment columns after them.
#[pyfunction]
#[pyo3(signature = (batch, model="default", text_column="text", source="<batch>", first_row=1, threads=None))]
fn score_batch(
    py: Python<'_>,
    batch: PyArrowType<RecordBatch>,
    model: &str,
    text_column: &str,
    source: &str,
    first_row: u64,
    threads: Option<usize>,
) -> PyResult<PyArrowType<RecordBatch>> {
    let scorer = scorer(model)?;
    let source = PathBuf::from(source);
    let out = compute(py, threads, || {
        let mut summary = jobs::sentiment::ScoreSummary::default();
        jobs::sentiment::score_batch(&scorer, &batch.0, text_column, &source, first_row, &mut summary)
    })?;
    out.map(PyArrowType).map_err(|e| to_py(py, e.into()))
}

/// The schema `score_batch` returns for `schema`.
#[pyfunction]
fn scored_schema(py: Python<'_>, schema: PyArrowType<Schema>) -> PyResult<PyArrowType<Schema>> {
    jobs::sentiment::scored_schema(&schema.0, std::path::Path::new("<schema>"))
        .map(|s| PyArrowType(s.as_ref().clone()))
        .map_err(|e| to_py(py, e.into()))
}

// ---------------------------------------------------------------------------------------
// Partition kernels and merges (the Spark adapter's; see engine `jobs::partitioned`)

fn batches(value: &Bound<'_, PyAny>) -> PyResult<Vec<RecordBatch>> {
    let t = arrow_pyarrow::Table::from_pyarrow_bound(value)?;
    Ok(t.into_inner().0)
}

fn ok<T>(py: Python<'_>, r: anyhow::Result<T>) -> PyResult<T> {
    r.map_err(|e| to_py(py, e.into()))
}

fn json<T: DeserializeOwned>(s: &str) -> PyResult<T> {
    serde_json::from_str(s).map_err(|e| ConfigError::new_err(format!("invalid settings: {e}")))
}

fn to_json<T: Serialize>(v: &T) -> PyResult<String> {
    serde_json::to_string(v).map_err(|e| Error::new_err(e.to_string()))
}

/// Runs an attribution kernel on one partition's tables with the run's settings and
/// globals (none for the scan).
fn on_partition(
    py: Python<'_>,
    settings: &str,
    globals: Option<&str>,
    tables: &Bound<'_, PyDict>,
    partition: i32,
    kernel: impl FnOnce(&Dataset, &jobs::attribute::Config, &part::AttributionGlobals) -> anyhow::Result<RecordBatch> + Send,
) -> PyResult<PyArrowType<RecordBatch>> {
    let c: jobs::attribute::Config = json(settings)?;
    let g: part::AttributionGlobals = globals.map(json).transpose()?.unwrap_or_default();
    let ds = dataset(&format!("<partition {partition}>"), tables)?;
    let out = compute(py, None, || kernel(&ds, &c, &g))?;
    ok(py, out).map(PyArrowType)
}

/// Attribution pass 1 over one partition (`tables`: its touchpoints, orders, sessions
/// and tracking assets): latest time, earliest touch, groups.
#[pyfunction]
fn attribution_scan(
    py: Python<'_>,
    settings: &str,
    tables: &Bound<'_, PyDict>,
    partition: i32,
) -> PyResult<PyArrowType<RecordBatch>> {
    on_partition(py, settings, None, tables, partition, |d, c, _| part::attribution_scan(d, c, partition))
}

/// Merges pass-1 partials into the run's globals (JSON).
#[pyfunction]
fn attribution_merge_scan(py: Python<'_>, settings: &str, partials: &Bound<'_, PyAny>) -> PyResult<String> {
    let c: jobs::attribute::Config = json(settings)?;
    let g = ok(py, part::merge_scan(&c, &batches(partials)?))?;
    to_json(&g)
}

/// Attribution pass 2 over one partition: Markov paths and the fit's summary.
#[pyfunction]
fn attribution_fit_stats(
    py: Python<'_>,
    settings: &str,
    globals: &str,
    tables: &Bound<'_, PyDict>,
    partition: i32,
) -> PyResult<PyArrowType<RecordBatch>> {
    on_partition(py, settings, Some(globals), tables, partition, |d, c, g| {
        part::attribution_fit_stats(d, c, g, partition)
    })
}

/// Merges pass-2 partials: returns the globals with the Markov chain, and the fit's
/// summary (both JSON).
#[pyfunction]
fn attribution_merge_fit_stats(
    py: Python<'_>,
    settings: &str,
    globals: &str,
    partials: &Bound<'_, PyAny>,
) -> PyResult<(String, String)> {
    let c: jobs::attribute::Config = json(settings)?;
    let mut g: part::AttributionGlobals = json(globals)?;
    let s = ok(py, part::merge_fit_stats(&c, &mut g, &batches(partials)?))?;
    Ok((to_json(&g)?, to_json(&s)?))
}

/// Attribution pass 3 over one partition: the fit's journeys, one row per touch.
#[pyfunction]
fn attribution_hazard_rows(
    py: Python<'_>,
    settings: &str,
    globals: &str,
    tables: &Bound<'_, PyDict>,
    partition: i32,
) -> PyResult<PyArrowType<RecordBatch>> {
    on_partition(py, settings, Some(globals), tables, partition, part::attribution_hazard_rows)
}

/// The schema of the fit's journey rows.
#[pyfunction]
fn hazard_rows_schema() -> PyArrowType<Schema> {
    PyArrowType(part::hazard_rows_schema().as_ref().clone())
}

/// The schema of every partial.
#[pyfunction]
fn partial_schema() -> PyArrowType<Schema> {
    PyArrowType(part::partial_schema().as_ref().clone())
}

/// The schema of attribution credits (`credits.parquet`).
#[pyfunction]
fn credits_schema() -> PyArrowType<Schema> {
    PyArrowType(jobs::attribute::credits_schema().as_ref().clone())
}

/// One Newton pass over a partition's fit journeys at `model` (JSON).
#[pyfunction]
fn hazard_partial(
    py: Python<'_>,
    model: &str,
    rows: &Bound<'_, PyAny>,
    partition: i32,
) -> PyResult<PyArrowType<RecordBatch>> {
    let m: roicast_models::attribution::hazard::AdditiveHazard = json(model)?;
    let rows = batches(rows)?;
    let out = compute(py, None, || part::hazard_partial(&rows, &m, partition))?;
    ok(py, out).map(PyArrowType)
}

/// The data-driven fit over partitions: `derive(model_json)` must return every
/// partition's `hazard_partial` rows (an Arrow table); returns the model file (JSON).
#[pyfunction]
fn attribution_fit(
    py: Python<'_>,
    settings: &str,
    globals: &str,
    summary: &str,
    fingerprint: String,
    derive: Bound<'_, PyAny>,
) -> PyResult<String> {
    let c: jobs::attribute::Config = json(settings)?;
    let g: part::AttributionGlobals = json(globals)?;
    let s: roicast_training::hazard::HazardSummary = json(summary)?;
    let file = part::fit_partitioned(&c, &g, &s, fingerprint, |m| {
        let m = serde_json::to_string(m)?;
        let table = derive.call1((m,)).map_err(|e| anyhow::anyhow!("the derivative pass failed: {e}"))?;
        batches(&table).map_err(|e| anyhow::anyhow!("the derivative pass returned no Arrow table: {e}"))
    });
    to_json(&ok(py, file)?)
}

/// Last attribution pass over one partition: its credits rows, or its `total` partials.
#[pyfunction]
#[pyo3(signature = (settings, globals, tables, partition, totals=false))]
fn attribution_credits(
    py: Python<'_>,
    settings: &str,
    globals: &str,
    tables: &Bound<'_, PyDict>,
    partition: i32,
    totals: bool,
) -> PyResult<PyArrowType<RecordBatch>> {
    on_partition(py, settings, Some(globals), tables, partition, |d, c, g| {
        part::attribution_credits(d, c, g, partition, totals)
    })
}

/// Merges `total` partials into the totals (JSON list, the fields of
/// `attribution_summary.csv`).
#[pyfunction]
fn attribution_merge_totals(py: Python<'_>, settings: &str, partials: &Bound<'_, PyAny>) -> PyResult<String> {
    let c: jobs::attribute::Config = json(settings)?;
    let t = ok(py, part::merge_totals(&c, &batches(partials)?))?;
    to_json(&t)
}

/// The latest order of a partition's orders (`tables`), as a partial.
#[pyfunction]
fn rfm_scan(py: Python<'_>, tables: &Bound<'_, PyDict>, partition: i32) -> PyResult<PyArrowType<RecordBatch>> {
    let ds = dataset(&format!("<partition {partition}>"), tables)?;
    let out = compute(py, None, || part::rfm_scan(&ds, partition))?;
    ok(py, out).map(PyArrowType)
}

/// The end of observation (µs) from `rfm_scan` partials.
#[pyfunction]
fn rfm_merge_scan(py: Python<'_>, partials: &Bound<'_, PyAny>) -> PyResult<i64> {
    ok(py, part::merge_rfm_scan(&batches(partials)?))
}

/// The RFM rows of a partition's customers (`clv rfm`'s columns).
#[pyfunction]
fn rfm_rows(
    py: Python<'_>,
    tables: &Bound<'_, PyDict>,
    time_unit: &str,
    observation_end_us: i64,
    partition: i32,
) -> PyResult<PyArrowType<RecordBatch>> {
    let unit: roicast_data::rfm::TimeUnit = time_unit.parse().map_err(ConfigError::new_err)?;
    let ds = dataset(&format!("<partition {partition}>"), tables)?;
    let out = compute(py, None, || jobs::clv::rfm_batch(&ds, unit, Some(observation_end_us)).map(|r| r.0))?;
    ok(py, out).map(PyArrowType)
}

/// The schema of RFM rows.
#[pyfunction]
fn rfm_schema() -> PyArrowType<Schema> {
    PyArrowType(jobs::clv::rfm_schema().as_ref().clone())
}

/// A partition's RFM rows compressed to distinct summaries with counts.
#[pyfunction]
fn rfm_histogram(py: Python<'_>, rows: &Bound<'_, PyAny>, partition: i32) -> PyResult<PyArrowType<RecordBatch>> {
    let rows = batches(rows)?;
    ok(py, part::rfm_histogram(&rows, partition)).map(PyArrowType)
}

/// Fits `model` (bgnbd, pareto-nbd, gamma-gamma) to merged `rfm_histogram` partials;
/// returns `clv fit`'s document (JSON).
#[pyfunction]
fn clv_fit_histogram(py: Python<'_>, model: &str, partials: &Bound<'_, PyAny>) -> PyResult<String> {
    let m: jobs::clv::FitModel = json(&format!("\"{model}\""))?;
    let partials = batches(partials)?;
    let doc = compute(py, None, || -> anyhow::Result<serde_json::Value> {
        let (rfm, spend) = part::merge_rfm_histogram(&partials)?;
        let cols: Vec<Vec<f64>> = if m == jobs::clv::FitModel::GammaGamma {
            let without = rfm.iter().filter(|r| r.frequency <= 0.0).count();
            let mut x: Vec<f64> = spend.iter().map(|s| s.0).collect();
            let mut money: Vec<f64> = spend.iter().map(|s| s.1).collect();
            x.extend(std::iter::repeat_n(0.0, without));
            money.extend(std::iter::repeat_n(0.0, without));
            let zeros = vec![0.0; x.len()];
            vec![x, zeros.clone(), zeros, money]
        } else {
            vec![
                rfm.iter().map(|r| r.frequency).collect(),
                rfm.iter().map(|r| r.recency).collect(),
                rfm.iter().map(|r| r.t).collect(),
            ]
        };
        jobs::clv::fit_rfm_columns(m, &cols, std::path::Path::new("<partitions>"))
    })?;
    Ok(ok(py, doc)?.to_string())
}

/// Registers a function and the exceptions.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Error", py.get_type::<Error>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("ModelError", py.get_type::<ModelError>())?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(set_threads, m)?)?;
    m.add_function(wrap_pyfunction!(run_job, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline_config, m)?)?;
    m.add_function(wrap_pyfunction!(load_dataset, m)?)?;
    m.add_function(wrap_pyfunction!(schema_json, m)?)?;
    m.add_function(wrap_pyfunction!(score_batch, m)?)?;
    m.add_function(wrap_pyfunction!(scored_schema, m)?)?;
    m.add_function(wrap_pyfunction!(attribution_scan, m)?)?;
    m.add_function(wrap_pyfunction!(attribution_merge_scan, m)?)?;
    m.add_function(wrap_pyfunction!(attribution_fit_stats, m)?)?;
    m.add_function(wrap_pyfunction!(attribution_merge_fit_stats, m)?)?;
    m.add_function(wrap_pyfunction!(attribution_hazard_rows, m)?)?;
    m.add_function(wrap_pyfunction!(hazard_rows_schema, m)?)?;
    m.add_function(wrap_pyfunction!(partial_schema, m)?)?;
    m.add_function(wrap_pyfunction!(credits_schema, m)?)?;
    m.add_function(wrap_pyfunction!(hazard_partial, m)?)?;
    m.add_function(wrap_pyfunction!(attribution_fit, m)?)?;
    m.add_function(wrap_pyfunction!(attribution_credits, m)?)?;
    m.add_function(wrap_pyfunction!(attribution_merge_totals, m)?)?;
    m.add_function(wrap_pyfunction!(rfm_scan, m)?)?;
    m.add_function(wrap_pyfunction!(rfm_merge_scan, m)?)?;
    m.add_function(wrap_pyfunction!(rfm_rows, m)?)?;
    m.add_function(wrap_pyfunction!(rfm_schema, m)?)?;
    m.add_function(wrap_pyfunction!(rfm_histogram, m)?)?;
    m.add_function(wrap_pyfunction!(clv_fit_histogram, m)?)?;
    Ok(())
}
