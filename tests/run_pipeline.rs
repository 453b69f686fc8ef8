//! `roicast run --config`: reuse of unchanged outputs, identical files on a re-run, config
//! errors before any job, and the report rendered in headless Chromium (also with an
//! injection corpus in the data).

use std::path::{Path, PathBuf};
use std::process::Command;

use roicast_data::generate::{GenerateParams, Scenario, generate};
use roicast_data::validate::NoProgress;
use roicast_tests::{files_with_bytes, roicast};

/// A small world with planted monitoring events, so the report's "What changed" section
/// has alerts to show.
fn world(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    generate(&GenerateParams::new(Scenario::Small).seed(11).plant_events(true), &data, &NoProgress).unwrap();
    data
}

/// The headless browser the report tests render with.
fn chromium() -> &'static str {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
        .expect("Chromium is needed for this test: apt-get install chromium (.ci/run does)")
}

fn config(dir: &Path, body: &str) -> PathBuf {
    let p = dir.join("roicast.toml");
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn a_second_run_reuses_every_output_and_leaves_identical_files() {
    let dir = tempfile::tempdir().unwrap();
    world(dir.path());
    let cfg = config(dir.path(), "data = \"data\"\nout = \"results\"\n[forecast]\nbudget = 5000.0\n");
    let (code, _, stderr) = roicast(&["run", "--config", cfg.to_str().unwrap(), "-q"]);
    assert_eq!(code, 0, "{stderr}");
    let results = dir.path().join("results");
    let first: Vec<(String, Vec<u8>)> =
        files_with_bytes(&results).into_iter().filter(|(p, _)| !p.ends_with("manifest.json")).collect();
    assert!(first.iter().any(|(p, _)| p == "report.html"), "{:?}", first.iter().map(|x| &x.0).collect::<Vec<_>>());
    let (code, stdout, stderr) = roicast(&["run", "--config", cfg.to_str().unwrap(), "-q", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    for (job, rec) in v["jobs"].as_object().unwrap() {
        assert_eq!(rec["status"], "reused", "{job}: {rec}");
    }
    let second: Vec<(String, Vec<u8>)> =
        files_with_bytes(&results).into_iter().filter(|(p, _)| !p.ends_with("manifest.json")).collect();
    assert_eq!(first, second, "a re-run on unchanged inputs must give identical files");
    // Changing one setting re-runs that job (and what depends on it), not the others.
    let cfg = config(dir.path(), "data = \"data\"\nout = \"results\"\n[forecast]\nbudget = 7000.0\n");
    let (code, stdout, _) = roicast(&["run", "--config", cfg.to_str().unwrap(), "-q", "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["jobs"]["forecast"]["status"], "ran");
    assert_eq!(v["jobs"]["report"]["status"], "ran", "the report reads the forecast");
    for job in ["validate", "sentiment", "engagement", "attribution", "clv", "roi"] {
        assert_eq!(v["jobs"][job]["status"], "reused", "{job} does not depend on the forecast budget");
    }
}

#[test]
fn config_errors_stop_the_run_before_any_job() {
    let dir = tempfile::tempdir().unwrap();
    world(dir.path());
    let cases = [
        ("data = \"data\"\nout = \"results\"\n[attribution]\nlookbak = \"30d\"\n", "lookbak"),
        (
            "data = \"data\"\nout = \"results\"\n[attribution]\nlookback = \"thirty days\"\n",
            "lookback = \"thirty days\"",
        ),
        (
            "data = \"data\"\nout = \"results\"\n[clv]\nhorizon = \"12m\"\n",
            "write `12min` for 12 minutes or `12mo` for 12 months",
        ),
        ("data = \"data\"\nout = \"results\"\ncolour = \"blue\"\n", "colour"),
        ("data = \"nowhere\"\nout = \"results\"\n", "nowhere"),
    ];
    for (body, needle) in cases {
        let cfg = config(dir.path(), body);
        let (code, _, stderr) = roicast(&["run", "--config", cfg.to_str().unwrap()]);
        assert_eq!(code, 2, "{body}");
        assert!(stderr.contains(needle), "{body}: {stderr}");
        assert!(!dir.path().join("results").exists(), "{body}: a job ran");
    }
    // A missing input table: the job that needs it is named, and nothing runs.
    std::fs::remove_file(dir.path().join("data/costs.parquet")).unwrap();
    let cfg = config(dir.path(), "data = \"data\"\nout = \"results\"\n");
    let (code, _, stderr) = roicast(&["run", "--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("roi job needs the costs table"), "{stderr}");
    assert!(!dir.path().join("results").exists());
}

/// Renders the report in headless Chromium (Debian package `chromium`; `.ci/run`
/// installs it): no console errors, a screenshot per section, every chart drawn and
/// every table filled.
#[test]
fn the_report_renders_in_headless_chromium() {
    let chromium = chromium();
    let dir = tempfile::tempdir().unwrap();
    world(dir.path());
    let cfg = config(dir.path(), "data = \"data\"\nout = \"results\"\n");
    let (code, _, stderr) = roicast(&["run", "--config", cfg.to_str().unwrap(), "-q"]);
    assert_eq!(code, 0, "{stderr}");
    let report = dir.path().join("results/report.html");
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(!html.contains("http://") && !html.contains("https://"), "the report must not load anything");
    let url = format!("file://{}", report.display());
    let base =
        ["--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"];
    let profile = format!("--user-data-dir={}", dir.path().join("chrome-profile").display());
    let dom = Command::new(chromium)
        .args(base)
        .arg(&profile)
        .args(["--virtual-time-budget=2000", "--dump-dom", &url])
        .output()
        .unwrap();
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    let log = String::from_utf8_lossy(&dom.stderr);
    for bad in ["Uncaught", "CONSOLE(", "SyntaxError"] {
        assert!(!log.contains(bad), "console error in the report:\n{log}");
    }
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    // "What changed" comes first, with the alerts of the planted world and a small chart
    // of each series that fired.
    let changes = dom.find("<section id=\"changes\"").expect("a What changed section");
    assert!(changes < dom.find("<section id=\"overview\"").unwrap(), "What changed is at the top");
    let body = &dom[changes..changes + dom[changes..].find("</section>").unwrap()];
    assert!(body.contains("<table class=\"data sortable\" id=\"alerts\">"), "{body}");
    assert!(body.matches("<figure class=\"small\">").count() >= 3, "small multiples of the series that fired");
    assert!(body.contains("ctr drop") && body.contains("sentiment shift"), "the planted kinds are reported: {body}");
    let sections = [
        "changes",
        "overview",
        "creators",
        "costs",
        "funnel",
        "platforms",
        "attribution",
        "sentiment",
        "authenticity",
        "forecast",
        "methods",
    ];
    for (k, s) in sections.iter().enumerate() {
        let start = dom.find(&format!("<section id=\"{s}\"")).unwrap_or_else(|| panic!("section {s} missing"));
        let end = dom[start..].find("</section>").map_or(dom.len(), |e| start + e);
        let body = &dom[start..end];
        for svg in body.split("<svg").skip(1) {
            let svg = &svg[..svg.find("</svg>").unwrap()];
            assert!(svg.contains("<rect") || svg.contains("<polyline"), "{s}: an empty chart");
        }
        for t in body.split("<tbody>").skip(1) {
            let t = &t[..t.find("</tbody>").unwrap()];
            assert!(t.contains("<tr>") || *s == "authenticity", "{s}: a table without rows");
        }
        if *s != "methods" {
            assert!(body.contains("<svg") || body.contains("<table"), "{s}: neither chart nor table");
        }
        let shot = dir.path().join(format!("section-{k}-{s}.png"));
        let out = Command::new(chromium)
            .args(base)
            .arg(format!("--user-data-dir={}", dir.path().join(format!("chrome-profile-{k}")).display()))
            .args([
                "--window-size=1200,900",
                "--virtual-time-budget=1000",
                &format!("--screenshot={}", shot.display()),
                &format!("{url}?only={s}"),
            ])
            .output()
            .unwrap();
        let size = shot.metadata().map_or(0, |m| m.len());
        assert!(out.status.success() && size > 10_000, "{s}: blank or no screenshot ({size} bytes)");
        if k == 0
            && let Ok(keep) = std::env::var("ROICAST_REPORT_SCREENSHOT")
        {
            std::fs::copy(&shot, keep).unwrap();
        }
    }
}

/// A rejected row inside `roicast run` is exit 1 (the data's fault, not the run's), with
/// the reject itself on stderr and where the full list is; no later job runs.
#[test]
fn a_rejected_row_stops_the_run_with_exit_1_and_the_reject() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&GenerateParams::new(Scenario::Small).seed(11).format(roicast_data::Format::Csv), &data, &NoProgress)
        .unwrap();
    let orders = data.join("orders.csv");
    let text = std::fs::read_to_string(&orders).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let col = header.iter().position(|h| *h == "revenue").unwrap();
    let mut cells: Vec<String> = lines[3].split(',').map(str::to_owned).collect();
    cells[col] = "12,50".replace(',', ";");
    lines[3] = cells.join(",");
    std::fs::write(&orders, lines.join("\n") + "\n").unwrap();
    let cfg = config(dir.path(), "data = \"data\"\nout = \"results\"\n");
    let (code, stdout, stderr) = roicast(&["run", "--config", cfg.to_str().unwrap(), "-q"]);
    assert_eq!(code, 1, "stdout: {stdout}\nstderr: {stderr}");
    assert!(stderr.contains("the validate step of the run failed"), "{stderr}");
    assert!(stderr.contains("orders.csv: row 3, column `revenue`"), "{stderr}");
    assert!(stderr.contains("validation.json"), "the full list is named: {stderr}");
    let results = dir.path().join("results");
    assert!(results.join("validation").join("validation.json").exists());
    assert!(!results.join("sentiment").exists(), "no job runs after a rejected validation");
}

/// Strings from the data cannot run in the report: creator handles, campaign names,
/// comment texts, a creator's and a campaign's ids and the data and results folders' names
/// set to an injection corpus (script tags, event-handler attributes,
/// `javascript:` URLs, an SVG `<foreignObject>`, a `</script>` breakout for the embedded
/// data, a quote breakout, unicode bidi overrides) are rendered in headless Chromium; each
/// payload would set `data-pwned` on the page if it ran, and the dumped DOM must not have it.
#[test]
fn no_string_from_the_data_runs_in_the_report() {
    let chromium = chromium();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (code, _, stderr) = roicast(&[
        "generate",
        "--scenario",
        "small",
        "--seed",
        "11",
        "--file-format",
        "csv",
        "--out",
        data.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code, 0, "{stderr}");
    // `'data-p'+'wned'`: the attribute exists only if a payload ran, not as escaped text.
    let run = "document.body.setAttribute('data-p'+'wned','1')";
    let payloads = [
        format!("<script>{run}</script>"),
        format!("<img src=x onerror=\"{run}\">"),
        format!("\"><svg onload=\"{run}\">"),
        format!("javascript:{run}"),
        format!("<svg><foreignObject><iframe srcdoc=\"<script>parent.{run}</script>\"></iframe></foreignObject></svg>"),
        format!("</script><script>{run}</script>"),
        format!("';{run};//"),
        format!("\\u003cscript\\u003e{run}\\u003c/script\\u003e"),
        "\u{202E}lmth.tropeR\u{202C} \u{2066}isolated\u{2069}".to_owned(),
        format!("<a href=\"javascript:{run}\">click</a>"),
    ];
    let edit = |file: &str, column: &str| {
        let path = data.join(file);
        let mut r = csv::Reader::from_path(&path).unwrap();
        let headers = r.headers().unwrap().clone();
        let col = headers.iter().position(|h| h == column).unwrap();
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        let mut w = csv::Writer::from_path(&path).unwrap();
        w.write_record(&headers).unwrap();
        for (i, rec) in rows.iter().enumerate() {
            let mut f: Vec<String> = rec.iter().map(str::to_owned).collect();
            f[col] = payloads[i % payloads.len()].clone();
            w.write_record(&f).unwrap();
        }
        w.flush().unwrap();
    };
    edit("creators.csv", "handle");
    edit("campaigns.csv", "name");
    edit("comments.csv", "text");
    // Ids too: the first creator's and campaign's ids, replaced in every table that names
    // them, and the data folder's name. No comma, quote or slash,
    // so they survive as ids and as a file name; each would set `data-pwned` if it ran.
    let id_payload = |n: u8| format!("<img src=x{n} onerror=document.body.dataset.pwned=1>");
    let first = |file: &str, column: &str| {
        let mut r = csv::Reader::from_path(data.join(file)).unwrap();
        let col = r.headers().unwrap().iter().position(|h| h == column).unwrap();
        r.records().next().unwrap().unwrap()[col].to_owned()
    };
    let renames =
        [(first("creators.csv", "creator_id"), id_payload(1)), (first("campaigns.csv", "campaign_id"), id_payload(2))];
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "csv") {
            continue;
        }
        let mut r = csv::Reader::from_path(&path).unwrap();
        let headers = r.headers().unwrap().clone();
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        let mut w = csv::Writer::from_path(&path).unwrap();
        w.write_record(&headers).unwrap();
        for rec in &rows {
            let f: Vec<&str> =
                rec.iter().map(|v| renames.iter().find(|(old, _)| old == v).map_or(v, |(_, new)| new)).collect();
            w.write_record(&f).unwrap();
        }
        w.flush().unwrap();
    }
    let folder = format!("data{}", id_payload(3));
    std::fs::rename(&data, dir.path().join(&folder)).unwrap();
    // The results folder's name is shown in the report's header.
    let results = format!("results{}", id_payload(4));
    let cfg = config(dir.path(), &format!("data = \"{folder}\"\nout = \"{results}\"\n"));
    let (code, _, stderr) = roicast(&["run", "--config", cfg.to_str().unwrap(), "-q"]);
    assert_eq!(code, 0, "{stderr}");
    let report = dir.path().join(&results).join("report.html");
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("data-p'+'wned"), "the payloads reach the report (as text)");
    for n in [1, 2, 4] {
        assert!(html.contains(&format!("src=x{n} onerror")), "id or folder payload {n} reaches the report (as text)");
    }
    let dom = Command::new(chromium)
        .args(["--headless=new", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0"])
        .arg(format!("--user-data-dir={}", dir.path().join("chrome-profile").display()))
        .args(["--virtual-time-budget=3000", "--dump-dom", &file_url(&report)])
        .output()
        .unwrap();
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("<section id=\"creators\""), "the report rendered");
    assert!(!dom.contains("data-pwned"), "an injected script ran in the report");
    assert!(!dom.contains("<foreignobject") && !dom.contains("<foreignObject"), "markup from the data became elements");
}

/// A `file://` URL of `path`, every byte but unreserved ones and `/` percent-encoded.
fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for b in path.to_str().unwrap().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            url.push(char::from(b));
        } else {
            let _ = std::fmt::Write::write_fmt(&mut url, format_args!("%{b:02X}"));
        }
    }
    url
}
