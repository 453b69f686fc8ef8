"""The peers of `roicast import instagram` at scale: read the same NDJSON media and
comments files into flat Arrow / polars tables with the columns roicast writes (ids,
times parsed from `+0000`, counts with string counts cast, the media and author ids
unnested). They do not map formats, hash authors, dedupe or check threads: a lower bound
on the work. Prints the row counts as JSON.
`pyarrow-comments` reads only the comments: pyarrow's JSON reader refuses the media file
(`like_count` is a number in one record and a string in the next, as exporters write it).
Usage: python import_platforms_peers.py pyarrow|pyarrow-comments|polars MEDIA.ndjson COMMENTS.ndjson
"""
import json
import sys

tool, media, comments = sys.argv[1], sys.argv[2], sys.argv[3]
if tool.startswith("pyarrow"):
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pj

    def ts(col):
        # pyarrow infers `…+0000` as a timestamp itself; strptime only what stayed text.
        if pa.types.is_timestamp(col.type):
            return pc.cast(col, pa.timestamp("us", tz="UTC"))
        return pc.strptime(col, format="%Y-%m-%dT%H:%M:%S%z", unit="us")

    n_media = 0
    if tool == "pyarrow":
        # like_count is a number or a string in the dump: asked for as text (pyarrow refuses).
        opts = pj.ParseOptions(explicit_schema=pa.schema([("like_count", pa.string())]), unexpected_field_behavior="infer")
        m = pj.read_json(media, parse_options=opts)
        m = pa.table({
            "post_id": m["id"],
            "published_at": ts(m["timestamp"]),
            "likes": pc.cast(pc.replace_substring(m["like_count"], ",", ""), pa.int64()),
            "comments": m["comments_count"],
            "owner": pc.struct_field(m["owner"], "id"),
        })
        n_media = m.num_rows
    c = pj.read_json(comments)
    c = pa.table({
        "comment_id": c["id"],
        "post_id": pc.struct_field(c["media"], "id"),
        "author_id": pc.struct_field(c["from"], "id"),
        "text": c["text"],
        "created_at": ts(c["timestamp"]),
        "likes": c["like_count"],
        "parent": c["parent_id"],
    })
    print(json.dumps({"tool": tool, "posts": n_media, "comments": c.num_rows}))
else:
    import polars as pl

    m = pl.read_ndjson(media, schema_overrides={"like_count": pl.Utf8}, infer_schema_length=1000)
    m = m.select(
        pl.col("id").alias("post_id"),
        pl.col("timestamp").str.to_datetime("%Y-%m-%dT%H:%M:%S%z").alias("published_at"),
        pl.col("like_count").cast(pl.Utf8).str.replace_all(",", "").cast(pl.Int64).alias("likes"),
        pl.col("comments_count").alias("comments"),
        pl.col("owner").struct.field("id").alias("owner"),
    )
    c = pl.read_ndjson(comments, infer_schema_length=1000)
    c = c.select(
        pl.col("id").alias("comment_id"),
        pl.col("media").struct.field("id").alias("post_id"),
        pl.col("from").struct.field("id").alias("author_id"),
        pl.col("text"),
        pl.col("timestamp").str.to_datetime("%Y-%m-%dT%H:%M:%S%z").alias("created_at"),
        pl.col("like_count").alias("likes"),
        pl.col("parent_id").alias("parent"),
    )
    print(json.dumps({"tool": tool, "posts": m.height, "comments": c.height}))
