//! Input that looks fine and is not: a column named twice is refused, not guessed at.

use roicast_data::Table;
use roicast_data::dataset::read_file;

#[test]
fn a_column_named_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.csv");
    std::fs::write(
        &path,
        "order_id,customer_id,ordered_at,revenue,currency,revenue\no1,c1,2025-01-01T00:00:00Z,10,USD,12\n",
    )
    .unwrap();
    let (_, rejects) = read_file(Table::Orders, &path).unwrap();
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert_eq!(rejects[0].column, "revenue");
    assert!(rejects[0].reason.contains("appears twice (columns 4 and 6)"), "{}", rejects[0].reason);
}
