//! The seed corpus: small valid inputs of every variant of every target, from the test
//! fixtures and a generated small world, each prefixed with its selector byte.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use roicast_data::Table;
use roicast_data::import::{IdKey, SOURCES};
use roicast_engine::jobs;

use crate::{CONFIG_KINDS, FILE_SEPARATOR, MODEL_KINDS, PATH_SEPARATORS, TABLE_FORMATS};

/// Rows kept of each table and path table: small seeds mutate faster.
const SEED_ROWS: usize = 6;

/// Writes the seed corpus under `out/<target>/` from the fixtures in `repo/tests/fixtures`
/// and a small world generated (with models trained on it) in `work`; returns the files.
///
/// # Errors
/// A fixture that cannot be read or a job that fails.
pub fn write_seeds(out: &Path, repo: &Path, work: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let mut seed = |target: &str, name: &str, selector: u8, body: &[u8]| -> anyhow::Result<()> {
        let dir = out.join(target);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(name);
        let mut bytes = vec![selector];
        bytes.extend_from_slice(body);
        std::fs::write(&path, bytes).with_context(|| format!("write {}", path.display()))?;
        written.push(path);
        Ok(())
    };
    let fixtures = repo.join("tests/fixtures");
    let ctx = jobs::Ctx::silent();

    // A small world, as CSV: every table's first rows in every format.
    let world = work.join("world");
    jobs::generate::run(
        &ctx,
        &jobs::generate::Config {
            scenario: roicast_data::generate::Scenario::Small,
            seed: 1,
            file_format: roicast_data::Format::Csv,
            out: world.clone(),
            force: true,
            exports: None,
            partitions: None,
            plant_events: false,
            inflation_study: false,
            weekly_season: false,
        },
    )?;
    let mut canonical = Vec::new();
    for &table in Table::ALL {
        let csv = world.join(format!("{}.csv", table.name()));
        if !csv.exists() {
            continue;
        }
        let (batches, rejects) = roicast_data::dataset::read_file(table, &csv)?;
        anyhow::ensure!(rejects.is_empty(), "{}: {rejects:?}", csv.display());
        let Some(first) = batches.first() else { continue };
        let head = first.slice(0, first.num_rows().min(SEED_ROWS));
        for (f, ext) in TABLE_FORMATS.iter().enumerate() {
            let file = work.join(format!("{}.{ext}", table.name()));
            let mut w = roicast_data::io::TableWriter::create(&file, &head.schema())?;
            w.write(&head)?;
            w.finish()?;
            seed("table", &format!("{}.{ext}", table.name()), crate::table_selector(table, f), &std::fs::read(&file)?)?;
            // The canonical importer's seed: the first three tables' CSV files.
            if *ext == "csv" && canonical.len() < 3 {
                canonical.push(std::fs::read(&file)?);
            }
        }
    }

    // Path tables: the fixture's first rows with each separator.
    let paths = std::fs::read_to_string(fixtures.join("attribution/paths.csv"))?;
    let head: Vec<&str> = paths.lines().take(SEED_ROWS + 1).collect();
    for (i, sep) in PATH_SEPARATORS.iter().enumerate() {
        let text = head.iter().map(|l| l.replace(" > ", sep)).collect::<Vec<_>>().join("\n");
        // A comma separator needs the path quoted.
        let text = if *sep == "," { quote_paths(&text) } else { text };
        seed("path_table", &format!("paths_sep{i}.csv"), u8::try_from(i)?, text.as_bytes())?;
    }
    // The optional columns left out, and a Markov chain of order 3.
    let short: String =
        head.iter().flat_map(|l| [l.splitn(3, ',').take(2).collect::<Vec<_>>().join(","), "\n".to_owned()]).collect();
    seed("path_table", "paths_two_columns.csv", 0, short.as_bytes())?;
    seed("path_table", "paths_order3.csv", u8::try_from(2 * PATH_SEPARATORS.len())?, head.join("\n").as_bytes())?;

    // Model files: a small sentiment model, and the attribution and forecast models
    // trained on the world; each raw and to be re-sealed.
    let sentiment = small_sentiment_model(&work.join("sentiment.json"))?;
    let attribution = work.join("attribution.json");
    jobs::attribute::train(
        &ctx,
        &jobs::attribute::TrainConfig {
            data: world.clone(),
            out: attribution.clone(),
            group_by: roicast_models::attribution::credits::GroupBy::default(),
            observation_end: None,
            use_sessions: true,
            max_iter: 50,
            tol: 1e-6,
            journeys_out: None,
        },
    )?;
    let forecast = work.join("forecast.json");
    jobs::forecast::train(
        &ctx,
        &jobs::forecast::TrainConfig {
            history: vec![world.join("campaign_history.csv")],
            learner: "ridge".to_owned(),
            out: forecast.clone(),
            cv: None,
            l2: 1.0,
            folds: 5,
            min_level_rows: 5,
        },
    )?;
    for (k, (name, bytes)) in
        MODEL_KINDS.iter().zip([sentiment, std::fs::read(&attribution)?, std::fs::read(&forecast)?]).enumerate()
    {
        let k = u8::try_from(k)?;
        seed("model", &format!("{name}.json"), k, &bytes)?;
        seed("model", &format!("{name}_resealed.json"), k + 3, &bytes)?;
    }

    // Configs: the demo pipeline, the shipped rate card, a tier table, the fixture plans
    // and mapping, and the world's campaign history.
    let history = std::fs::read_to_string(world.join("campaign_history.csv"))?;
    let history: String = history.lines().take(SEED_ROWS + 1).flat_map(|l| [l, "\n"]).collect();
    let plan_toml = "[[creators]]\ncreator_id = \"cr-ava\"\nplatform = \"instagram\"\nhandle = \"@ava.glow\"\nfollowers = 48200\n\
                     promo_codes = [\"AVA15\"]\nutm = [\"spring-glow-ava\"]\ncampaign_id = \"spring-25\"\n";
    let configs: [Vec<u8>; 7] = [
        // The demo's, without the files it names beside it (a seed stands alone).
        roicast_engine::cli::demo::DEMO_CONFIG
            .lines()
            .filter(|l| !["scenarios", "rate_card", "branded_search", "fx"].iter().any(|k| l.starts_with(k)))
            .flat_map(|l| [l, "\n"])
            .collect::<String>()
            .into_bytes(),
        roicast_models::engagement::DEFAULT_RATE_CARD_CSV.as_bytes().to_vec(),
        br#"[{"up_to": 10000, "rate": 0.10}, {"up_to": 50000, "rate": 0.12}, {"up_to": null, "rate": 0.15}]"#.to_vec(),
        std::fs::read(fixtures.join("import/affiliate/plan.csv"))?,
        plan_toml.as_bytes().to_vec(),
        std::fs::read(fixtures.join("import/affiliate/network_mapping.csv"))?,
        history.into_bytes(),
    ];
    for (k, body) in configs.iter().enumerate() {
        seed("config", CONFIG_KINDS[k], u8::try_from(k)?, body)?;
    }

    // Importers: each fixture export, the files of one source joined.
    for (source, files) in import_fixtures() {
        let mut body = Vec::new();
        for (i, f) in files.iter().enumerate() {
            if i > 0 {
                body.extend_from_slice(FILE_SEPARATOR);
            }
            body.extend_from_slice(&std::fs::read(fixtures.join("import").join(f))?);
        }
        let keys: &[IdKey] = if matches!(source, "stripe-subscriptions" | "hubspot-contacts" | "segment")
            || files[0] == "shopify/orders_api.json"
        {
            &[IdKey::Email, IdKey::CustomerId]
        } else {
            &[IdKey::Email]
        };
        for &key in keys {
            let stem = files[0].replace('/', "_");
            let name = if key == IdKey::Email { stem } else { format!("{stem}.customer-id") };
            seed("import", &name, crate::import_selector(source, key), &body)?;
        }
    }
    // No Salesforce export in the fixtures: a Data Loader export of `Contact` with its API
    // field names (as crm.rs documents them), fictitious people.
    let salesforce = "Id,FirstName,LastName,Email,Phone,CreatedDate,LeadSource\n\
                      0035e00000AbCdEAA1,Ana,Test,ana@example.com,,2024-05-01T10:00:00.000+0000,AVA15\n\
                      0035e00000AbCdFAA1,Bo,Test,,555-0100,2024-05-02T11:30:00.000+0000,Web\n";
    for key in [IdKey::Email, IdKey::CustomerId] {
        let name = if key == IdKey::Email { "salesforce_contacts.csv" } else { "salesforce_contacts.csv.customer-id" };
        seed("import", name, crate::import_selector("salesforce-contacts", key), salesforce.as_bytes())?;
    }
    seed(
        "import",
        "canonical_tables.csv",
        crate::import_selector("canonical", IdKey::Email),
        &canonical.join(FILE_SEPARATOR),
    )?;
    // Every importer has a seed.
    let seeded =
        |s: &str| matches!(s, "canonical" | "salesforce-contacts") || import_fixtures().iter().any(|(f, _)| *f == s);
    if let Some((s, _, _)) = SOURCES.iter().find(|(s, _, _)| !seeded(s)) {
        anyhow::bail!("importer {s} has no seed: add its fixture to import_fixtures");
    }
    Ok(written)
}

/// The fixture exports of each source (under tests/fixtures/import), in import order.
fn import_fixtures() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("shopify-orders", vec!["shopify/orders_export.csv"]),
        ("shopify-orders", vec!["shopify/orders_api.json"]),
        ("magento-orders", vec!["magento/sales_order_grid.csv"]),
        ("magento-orders", vec!["magento/orders_rest.json"]),
        ("ga4", vec!["ga4/events_20240501.ndjson"]),
        ("segment", vec!["segment/events.ndjson"]),
        ("stripe-subscriptions", vec!["stripe/subscriptions.csv"]),
        ("hubspot-contacts", vec!["hubspot/contacts.csv"]),
        ("impact", vec!["affiliate/impact_actions.csv"]),
        ("awin", vec!["affiliate/awin_transactions.json"]),
        ("affiliate-csv", vec!["affiliate/network_report.csv"]),
        ("instagram", vec!["instagram/account.json", "instagram/media.json", "instagram/comments.json"]),
        ("instagram", vec!["instagram/business_suite.csv", "instagram/insights.ndjson"]),
        ("tiktok", vec!["tiktok/user_info.json", "tiktok/video_list.json", "tiktok/comments.ndjson"]),
        ("tiktok", vec!["tiktok/studio.csv"]),
        ("youtube", vec!["youtube/channels.json", "youtube/videos.json", "youtube/comment_threads.json"]),
        ("youtube", vec!["youtube/report.json", "youtube/table_data.csv"]),
    ]
}

/// Quotes the first field of each data line (a path holding the comma separator).
fn quote_paths(text: &str) -> String {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if i == 0 {
            out.push(line.to_owned());
            continue;
        }
        // The three numeric fields are the last three; the path is everything before.
        let mut parts: Vec<&str> = line.rsplitn(4, ',').collect();
        parts.reverse();
        out.push(format!("\"{}\",{}", parts[0], parts[1..].join(",")));
    }
    out.join("\n")
}

/// A sealed sentiment model of a few weights (the shipped one is 700 kB: too large a seed).
fn small_sentiment_model(path: &Path) -> anyhow::Result<Vec<u8>> {
    use roicast_models::sentiment::features::FeatureOptions;
    let weights = vec![(0, [0.5, 0.0, -0.5]), (1, [-0.5, 0.0, 0.5]), (2, [-1.0, 0.1, 1.0]), (1000, [0.2, -0.1, 0.0])];
    let model = roicast_models::sentiment::LinearSentiment::new(FeatureOptions::default(), 1.0, [0.0; 3], weights)?;
    let file = roicast_models::ModelFile::new(
        roicast_models::sentiment::linear::model_kind(),
        serde_json::json!({"seed": 1}),
        vec!["vader_neg".to_owned(), "vader_pos".to_owned(), "vader_compound".to_owned()],
        "sha256:fuzz-seed",
        model,
    );
    Ok(file.to_bytes(path)?)
}
