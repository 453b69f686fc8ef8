"""Read-and-group peers for `roicast import shopify-orders` (benches/peers/import.sh).

Reads the same Shopify orders export and does the least an importer must: parse every
row, keep the order-level rows (non-empty Financial Status), sum Total per currency.
Prints one JSON line: tool, rows, orders, seconds.
"""
import json
import sys
import time

tool, path = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
if tool == "pyarrow":
    import pyarrow.compute as pc
    import pyarrow.csv as pv

    t = pv.read_csv(path, convert_options=pv.ConvertOptions(strings_can_be_null=True))
    first = t.filter(pc.is_valid(t["Financial Status"]))
    total = pc.sum(first["Total"]).as_py()
    rows, orders = t.num_rows, first.num_rows
else:
    import polars as pl

    df = (
        pl.scan_csv(path, infer_schema_length=10000)
        .filter(pl.col("Financial Status").is_not_null())
        .select(pl.len().alias("orders"), pl.col("Total").sum().alias("total"))
        .collect(engine="streaming")
    )
    rows = None
    orders, total = int(df["orders"][0]), float(df["total"][0])
print(json.dumps({"tool": tool, "rows": rows, "orders": orders, "total": total, "seconds": time.perf_counter() - t0}))
