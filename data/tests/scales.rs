//! One scale for audience quality: 0–100, as the scorecard writes it and vendors show it.
//! A history or candidates file on the old 0–1 scale is refused row by row with a hint.

use std::fmt::Write as _;

use roicast_data::Table;
use roicast_data::dataset::read_file;

fn history(aq: &[&str]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("campaign_history.csv");
    let mut text =
        String::from("creator_id,platform,started_at,followers,posts,engagement_rate,cost,revenue,audience_quality\n");
    for (i, a) in aq.iter().enumerate() {
        writeln!(text, "c{i},tiktok,2025-0{}-01T00:00:00Z,1000,2,0.05,100,150,{a}", i + 1).unwrap();
    }
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn audience_quality_is_read_on_the_0_to_100_scale() {
    let (_dir, path) = history(&["87.5", "100", "0", "1", ""]);
    let (batches, rejects) = read_file(Table::CampaignHistory, &path).unwrap();
    assert!(rejects.is_empty(), "{rejects:?}");
    assert_eq!(batches.iter().map(arrow_array::RecordBatch::num_rows).sum::<usize>(), 5);
}

#[test]
fn a_0_to_1_fraction_or_an_out_of_range_score_is_refused_with_the_reason() {
    let (_dir, path) = history(&["0.87", "87", "140"]);
    let (_, rejects) = read_file(Table::CampaignHistory, &path).unwrap();
    assert_eq!(rejects.len(), 2, "{rejects:?}");
    assert_eq!(rejects[0].row, Some(1));
    assert_eq!(rejects[0].column, "audience_quality");
    assert!(rejects[0].reason.contains("looks like a 0–1 fraction (multiply by 100)"), "{}", rejects[0].reason);
    assert_eq!(rejects[1].row, Some(3));
    assert!(rejects[1].reason.contains("must be in [0, 100]"), "{}", rejects[1].reason);
}
