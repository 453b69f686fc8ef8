"""Writes an Instagram Graph API dump at scale for benches/peers/import_platforms.sh.

accounts.ndjson: N_ACCOUNTS account objects; media.ndjson: N_MEDIA media objects, one a
line, each with owner, counts and nested lifetime insights (reach, views on videos, saved,
shares), `like_count` as a string with a separator on one media in five, `+0000` timestamps and a `fetched_at`; comments.ndjson:
N_COMMENTS comments, one a line, with `media{id}`, `from{id, username}`, text (emoji and
non-Latin scripts among them), `like_count`, and one in ten a reply (`parent_id`).
Synthetic: every id, handle and text is generated here. Standard library only.
Usage: python platform_bench_data.py OUT_DIR N_MEDIA N_COMMENTS
"""
import json
import random
import sys
from datetime import datetime, timedelta, timezone

out, n_media, n_comments = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
n_accounts = 1000
rng = random.Random(20261201)
t0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
words = ["love", "this", "so", "good", "where", "buy", "need", "wow", "omg", "serum", "glow", "routine",
         "😍", "🔥", "✨", "ルーティン", "最高", "شكرا", "très", "bien", "genial", "❤️"]

with open(f"{out}/accounts.ndjson", "w") as f:
    for a in range(n_accounts):
        f.write(json.dumps({"id": f"1784{a:013d}", "username": f"creator_{a}", "followers_count": rng.randint(1000, 2_000_000),
                            "follows_count": rng.randint(10, 5000), "media_count": rng.randint(50, 3000)}) + "\n")

kinds = [("VIDEO", "REELS"), ("VIDEO", "STORY"), ("CAROUSEL_ALBUM", "FEED"), ("IMAGE", "FEED")]
with open(f"{out}/media.ndjson", "w") as f:
    for m in range(n_media):
        a = rng.randrange(n_accounts)
        mt, pt = kinds[rng.randrange(4)]
        published = t0 + timedelta(seconds=rng.randrange(365 * 86400))
        reach = rng.randint(100, 500_000)
        likes = reach // rng.randint(8, 40)
        insights = [{"name": "reach", "period": "lifetime", "values": [{"value": reach}], "id": f"179{m:014d}/insights/reach/lifetime"}]
        if mt == "VIDEO":
            insights.append({"name": "views", "period": "lifetime", "values": [{"value": reach * 2}], "id": f"179{m:014d}/insights/views/lifetime"})
        insights.append({"name": "saved", "period": "lifetime", "values": [{"value": likes // 10}], "id": f"179{m:014d}/insights/saved/lifetime"})
        insights.append({"name": "shares", "period": "lifetime", "values": [{"value": likes // 20}], "id": f"179{m:014d}/insights/shares/lifetime"})
        rec = {"id": f"179{m:014d}", "caption": "new post #ad" if m % 7 == 0 else "a day in my life",
               "media_type": mt, "media_product_type": pt,
               "timestamp": published.strftime("%Y-%m-%dT%H:%M:%S+0000"),
               "permalink": f"https://www.instagram.com/p/{m:011d}/",
               "like_count": likes if m % 5 else f"{likes:,}", "comments_count": likes // 30,
               "owner": {"id": f"1784{a:013d}"}, "username": f"creator_{a}",
               "fetched_at": (published + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
               "insights": {"data": insights}}
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")

with open(f"{out}/comments.ndjson", "w") as f:
    for c in range(n_comments):
        m = rng.randrange(n_media)
        rec = {"id": f"180{c:014d}", "text": " ".join(rng.choice(words) for _ in range(rng.randint(1, 12))),
               "timestamp": (t0 + timedelta(seconds=rng.randrange(365 * 86400))).strftime("%Y-%m-%dT%H:%M:%S+0000"),
               "like_count": rng.randint(0, 50), "media": {"id": f"179{m:014d}"},
               "from": {"id": f"u{rng.randrange(2_000_000)}", "username": f"user{rng.randrange(2_000_000)}"}}
        if c % 10 == 9:
            rec["parent_id"] = f"180{c - 1:014d}"
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
