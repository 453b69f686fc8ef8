//! A key index spilled to disk finds the same duplicates as the in-memory one.

use roicast_data::Dataset;
use roicast_data::generate::{GenerateParams, Scenario, generate};
use roicast_data::validate::{NoProgress, validate, validate_with};

const TP_HEADER: &str = "touch_id,user_id,ts,channel,creator_id,campaign_id,platform,interaction,tracking_method\n";

fn rejects(r: &roicast_data::validate::ValidationReport) -> Vec<String> {
    let mut v: Vec<String> = r.rejects.iter().map(ToString::to_string).collect();
    v.sort();
    v
}

#[test]
fn a_spilled_key_index_reports_the_same_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let tp = dir.path().join("touchpoints");
    std::fs::create_dir_all(&tp).unwrap();
    let row = |id: &str| format!("{id},u1,2025-01-01T00:00:00Z,search,,,,click,utm\n");
    let mut a = String::from(TP_HEADER);
    for i in 0..40 {
        a.push_str(&row(&format!("t{i}")));
    }
    a.push_str(&row("t3")); // a duplicate within the file
    let mut b = String::from(TP_HEADER);
    for i in 40..60 {
        b.push_str(&row(&format!("t{i}")));
    }
    b.push_str(&row("t7")); // and across files
    b.push_str(&row("t45"));
    std::fs::write(tp.join("a.csv"), a).unwrap();
    std::fs::write(tp.join("b.csv"), b).unwrap();
    let ds = Dataset::open(dir.path()).unwrap();
    let memory = validate(&ds, &NoProgress).unwrap();
    let spilled = validate_with(&ds, &NoProgress, 5).unwrap();
    assert_eq!(memory.rejects.len(), 3, "{:?}", rejects(&memory));
    assert_eq!(rejects(&memory), rejects(&spilled));
    let t = |r: &roicast_data::validate::ValidationReport| {
        r.tables.iter().find(|t| t.table == roicast_data::Table::Touchpoints).unwrap().rejected_rows
    };
    assert_eq!(t(&memory), 3);
    assert_eq!(t(&spilled), 3);
    let text = rejects(&spilled).join("\n");
    assert!(text.contains("row 41, column `touch_id`: duplicate key: same as row 4 (value `t3`)"), "{text}");
    assert!(text.contains("same as row 8 of another file of `touchpoints` (value `t7`)"), "{text}");
    assert!(text.contains("row 22, column `touch_id`: duplicate key: same as row 6 (value `t45`)"), "{text}");
}

#[test]
fn a_clean_world_validates_the_same_with_every_index_spilled() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("w");
    generate(&GenerateParams::new(Scenario::Small).seed(5), &data, &NoProgress).unwrap();
    let ds = Dataset::open(&data).unwrap();
    let memory = validate(&ds, &NoProgress).unwrap();
    let spilled = validate_with(&ds, &NoProgress, 100).unwrap();
    assert!(memory.ok && spilled.ok);
    assert_eq!(serde_json::to_string(&memory.tables).unwrap(), serde_json::to_string(&spilled.tables).unwrap());
}
