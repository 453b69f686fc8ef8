"""Read-and-group peers for `roicast import ga4` (benches/peers/import_ga4.sh).

Reads the same GA4 BigQuery NDJSON files, one at a time as roicast does, and does the
least a sessions importer must: parse every event, take `ga_session_id` out of the nested
`event_params`, count the distinct sessions (user_pseudo_id × ga_session_id) over all files
and sum the revenue of `purchase` events. Prints one JSON line: tool, events, sessions,
revenue, seconds.
"""
import json
import sys
import time

tool, files = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
events, revenue = 0, 0.0
if tool == "pyarrow":
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pj

    keys = []
    for f in files:
        t = pj.read_json(f)
        events += t.num_rows
        params = t["event_params"].combine_chunks()
        flat = pc.list_flatten(params)
        parent = pc.list_parent_indices(params)
        is_sid = pc.equal(flat.field("key"), "ga_session_id")
        sid = pc.filter(flat.field("value").field("int_value"), is_sid)
        users = pc.take(t["user_pseudo_id"], pc.filter(parent, is_sid))
        keys.append(pa.table({"u": users, "s": sid}))
        purchase = pc.equal(t["event_name"], "purchase")
        rev = pc.sum(pc.filter(t["ecommerce"].combine_chunks().field("purchase_revenue"), purchase)).as_py()
        revenue += rev or 0.0
    sessions = pa.concat_tables(keys).group_by(["u", "s"]).aggregate([]).num_rows
else:
    import polars as pl

    keys = []
    for f in files:
        df = pl.read_ndjson(f, infer_schema_length=None)
        events += df.height
        keys.append(
            df.select("user_pseudo_id", "event_params")
            .explode("event_params")
            .unnest("event_params")
            .filter(pl.col("key") == "ga_session_id")
            .select(pl.col("user_pseudo_id"), pl.col("value").struct.field("int_value").alias("sid"))
        )
        revenue += df.filter(pl.col("event_name") == "purchase").select(pl.col("ecommerce").struct.field("purchase_revenue").sum()).item() or 0.0
    sessions = pl.concat(keys).unique().height
print(json.dumps({"tool": tool, "events": events, "sessions": sessions, "revenue": revenue, "seconds": time.perf_counter() - t0}))
