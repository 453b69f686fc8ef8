//! What the engagement job keeps of each comment without its text — a *digest* — and
//! the store of per-partition digests that lets a run over a comments table growing by
//! daily partitions read and score only the new partitions.
//!
//! A comment's class in the engagement job depends on the whole table (how often its
//! normalised text occurs, its author's comments across creators) and on the campaigns
//! (brand words), so scored rows cannot be reused part by part. What can be: everything
//! that depends on the comment alone — the hashes of its normalised text and author, its
//! sentiment class, its kind before copies are counted ([`eng::comment_base`]), which
//! brands and competitors it names, its post and time. The job counts copies and authors
//! over the digests of every partition in order, then classifies from them, so a run from
//! digests computes exactly what a run from the texts does (tests: incremental = full,
//! partitioned = one table).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, RecordBatch};
use rayon::prelude::*;
use roicast_data::{Dataset, Table};
use roicast_models::FxMap;
use roicast_models::engagement::{self as eng, CommentKind};
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use super::super::Ctx;
use super::super::sentiment::Scorer;
use crate::output::columns::col;

/// What is computed per comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Detail {
    /// Post, text and author hashes only (the counting pass of a streamed table).
    Hashes,
    /// Everything (the scoring pass, and the digests kept per partition).
    Full,
}

/// One comment without its text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Row {
    /// Index into [`Digest::post_ids`].
    pub post: u32,
    /// xxh3 of the normalised text ([`eng::normalise`]).
    pub text: u64,
    /// xxh3 of the author id, when there is one.
    pub author: Option<u64>,
    /// `created_at` (µs; 0 when missing).
    pub created_at: i64,
    /// End of this row's pattern hits in [`Digest::hits`] (they start where the previous
    /// row's end).
    pub hits_end: u32,
    /// Sentiment class (0 negative, 1 neutral, 2 positive).
    pub class: u8,
    /// The kind before copies are counted.
    pub base: CommentKind,
}

/// The digests of a batch or a partition of the comments table, in row order.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Digest {
    /// Distinct post ids, in first-seen order.
    pub post_ids: Vec<String>,
    /// One per comment row.
    pub rows: Vec<Row>,
    /// Ids of the [`Patterns`] each row's text contains, row after row.
    pub hits: Vec<u32>,
}

/// The brands and competitors a comment can name: distinct lower-case campaign brands
/// (sorted), then the competitors (sorted). A pattern id below [`Patterns::brands`] is a
/// brand.
#[derive(Debug, Clone)]
pub(super) struct Patterns {
    /// Lower-case brands, then competitors.
    pub texts: Vec<String>,
    /// How many of `texts` are brands.
    pub brands: usize,
    /// Lower-case brand and product words ([`eng::comment_base`]).
    pub product_words: Vec<String>,
}

impl Patterns {
    /// From the campaigns' lower-case brands (empty ones never match) and the competitors.
    pub fn new(brands: &[Option<String>], competitors: &[String], product_words: &[String]) -> Patterns {
        let mut b: Vec<String> = brands.iter().flatten().filter(|b| !b.is_empty()).cloned().collect();
        b.sort_unstable();
        b.dedup();
        let n = b.len();
        let mut c: Vec<String> = competitors.iter().filter(|c| !c.is_empty()).cloned().collect();
        c.sort_unstable();
        c.dedup();
        b.extend(c);
        let mut product_words = product_words.to_vec();
        product_words.sort_unstable();
        Patterns { texts: b, brands: n, product_words }
    }

    /// The pattern id of a lower-case brand.
    pub fn brand_id(&self, brand: &str) -> Option<u32> {
        self.texts[..self.brands].binary_search_by(|b| b.as_str().cmp(brand)).ok().map(|k| k as u32)
    }

    /// Whether any of `hits` is a competitor.
    pub fn names_competitor(&self, hits: &[u32]) -> bool {
        hits.iter().any(|&h| h as usize >= self.brands)
    }

    /// The ids of the patterns the lower-cased `text` contains, ascending.
    fn hits(&self, text: &str, out: &mut Vec<u32>) {
        if self.texts.is_empty() {
            return;
        }
        let lower = text.to_lowercase();
        out.extend((0..self.texts.len() as u32).filter(|&k| lower.contains(self.texts[k as usize].as_str())));
    }

    /// What a digest depends on besides the comment itself (part of a part's key).
    fn fingerprint(&self) -> String {
        format!(
            "brands={:?} competitors={:?} product_words={:?}",
            &self.texts[..self.brands],
            &self.texts[self.brands..],
            self.product_words
        )
    }
}

impl Digest {
    /// Appends the digests of a batch of the comments table; `dict` maps this digest's
    /// post ids to their index.
    pub fn append_batch(
        &mut self,
        dict: &mut FxMap<String, u32>,
        b: &RecordBatch,
        detail: Detail,
        scorer: &Scorer,
        patterns: &Patterns,
    ) {
        let t = Table::Comments;
        let texts = col(b, t, "text").as_string::<i32>();
        let post_ids = col(b, t, "post_id").as_string::<i32>();
        let authors = col(b, t, "author_id").as_string::<i32>();
        let parents = col(b, t, "parent_comment_id").as_string::<i32>();
        let created = col(b, t, "created_at").as_primitive::<TimestampMicrosecondType>();
        // Rows with their hits; `post` and `hits_end` are set below, in order.
        let rows: Vec<(Row, Vec<u32>)> = (0..b.num_rows())
            .into_par_iter()
            .with_min_len(1024)
            .map(|i| {
                let raw = texts.value(i);
                let text = xxh3_64(eng::normalise(raw).as_bytes());
                let author = authors.is_valid(i).then(|| xxh3_64(authors.value(i).as_bytes()));
                let created_at = if created.is_valid(i) { created.value(i) } else { 0 };
                let row = Row { post: 0, text, author, created_at, hits_end: 0, class: 1, base: CommentKind::Generic };
                if detail == Detail::Hashes {
                    return (row, Vec::new());
                }
                let class = scorer.score(raw).class as u8;
                let base = eng::comment_base(raw, parents.is_valid(i), &patterns.product_words);
                let mut hits = Vec::new();
                patterns.hits(raw, &mut hits);
                (Row { class, base, ..row }, hits)
            })
            .collect();
        self.rows.reserve(rows.len());
        for (i, (mut row, hits)) in rows.into_iter().enumerate() {
            // A missing post id reads as "": never a post, so never counted.
            let id = post_ids.value(i);
            row.post = if let Some(&k) = dict.get(id) {
                k
            } else {
                let k = self.post_ids.len() as u32;
                self.post_ids.push(id.to_owned());
                dict.insert(id.to_owned(), k);
                k
            };
            self.hits.extend(hits);
            row.hits_end = self.hits.len() as u32;
            self.rows.push(row);
        }
    }

    /// The hits of row `r`.
    pub fn row_hits(&self, r: usize) -> &[u32] {
        let start = if r == 0 { 0 } else { self.rows[r - 1].hits_end as usize };
        &self.hits[start..self.rows[r].hits_end as usize]
    }

    const MAGIC: &'static [u8] = b"roicast comment digest 1\n";

    /// The digest as bytes (little-endian; see [`Digest::from_bytes`]).
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::MAGIC.len() + 16 + self.rows.len() * 34 + self.hits.len() * 4);
        out.extend_from_slice(Self::MAGIC);
        out.extend_from_slice(&(self.post_ids.len() as u64).to_le_bytes());
        for id in &self.post_ids {
            out.extend_from_slice(&(id.len() as u64).to_le_bytes());
            out.extend_from_slice(id.as_bytes());
        }
        out.extend_from_slice(&(self.rows.len() as u64).to_le_bytes());
        for r in &self.rows {
            out.extend_from_slice(&r.post.to_le_bytes());
            out.extend_from_slice(&r.text.to_le_bytes());
            out.extend_from_slice(&r.author.unwrap_or(0).to_le_bytes());
            out.push(u8::from(r.author.is_some()));
            out.extend_from_slice(&r.created_at.to_le_bytes());
            out.extend_from_slice(&r.hits_end.to_le_bytes());
            out.push(r.class);
            out.push(kind_code(r.base));
        }
        out.extend_from_slice(&(self.hits.len() as u64).to_le_bytes());
        for h in &self.hits {
            out.extend_from_slice(&h.to_le_bytes());
        }
        out
    }

    /// Reads [`Digest::to_bytes`]; `None` for anything else (the caller scores the
    /// partition again).
    fn from_bytes(bytes: &[u8]) -> Option<Digest> {
        let mut r = Reader(bytes.strip_prefix(Self::MAGIC)?);
        let n_posts = usize::try_from(r.u64()?).ok()?;
        let mut post_ids = Vec::with_capacity(n_posts.min(bytes.len()));
        for _ in 0..n_posts {
            let len = usize::try_from(r.u64()?).ok()?;
            post_ids.push(String::from_utf8(r.take(len)?.to_vec()).ok()?);
        }
        let n_rows = usize::try_from(r.u64()?).ok()?;
        let mut rows = Vec::with_capacity(n_rows.min(bytes.len() / 34));
        for _ in 0..n_rows {
            let post = r.u32()?;
            let text = r.u64()?;
            let author = r.u64()?;
            let has_author = r.u8()? == 1;
            let created_at = r.u64()?.cast_signed();
            let hits_end = r.u32()?;
            let class = r.u8()?;
            let base = kind_of(r.u8()?)?;
            if post as usize >= n_posts || class > 2 {
                return None;
            }
            rows.push(Row { post, text, author: has_author.then_some(author), created_at, hits_end, class, base });
        }
        let n_hits = usize::try_from(r.u64()?).ok()?;
        let mut hits = Vec::with_capacity(n_hits.min(bytes.len() / 4));
        for _ in 0..n_hits {
            hits.push(r.u32()?);
        }
        let ends_ok = rows.windows(2).all(|w| w[0].hits_end <= w[1].hits_end)
            && rows.last().is_none_or(|l| l.hits_end as usize == hits.len());
        (r.0.is_empty() && ends_ok).then_some(Digest { post_ids, rows, hits })
    }
}

fn kind_code(k: CommentKind) -> u8 {
    match k {
        CommentKind::Meaningful => 0,
        CommentKind::Generic => 1,
        CommentKind::EmojiOnly => 2,
        CommentKind::MentionOnly => 3,
        CommentKind::Duplicate => 4,
    }
}

fn kind_of(code: u8) -> Option<CommentKind> {
    Some(match code {
        0 => CommentKind::Meaningful,
        1 => CommentKind::Generic,
        2 => CommentKind::EmojiOnly,
        3 => CommentKind::MentionOnly,
        4 => CommentKind::Duplicate,
        _ => return None,
    })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }
}

/// Digests kept beside the engagement outputs, one per comments partition.
pub(super) const PARTS: &str = "parts";
/// Their index: one [`PartRecord`] per partition, in the table's order.
const PARTS_INDEX: &str = "parts.json";

/// One partition's digest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct PartRecord {
    /// The partition, relative to the comments table's folder.
    input: String,
    /// SHA-256 of the partition's file, the sentiment model, the campaigns' brands and
    /// product words, the competitors and roicast's version.
    key: String,
    /// The digest file under `parts/`.
    part: String,
    /// Its SHA-256.
    part_sha256: String,
    /// Comment rows in it.
    rows: u64,
}

/// What a run did with each comments partition (paths relative to the table).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Partitions {
    /// Partitions read and digested by this run.
    pub scored: Vec<String>,
    /// Partitions whose digest an earlier run wrote and this run kept.
    pub reused: Vec<String>,
}

/// The digests of a partitioned comments table, written under `dir` (`…/parts`).
pub(super) struct Store {
    /// The digest files, in the table's order.
    pub files: Vec<PathBuf>,
    /// What was scored and reused.
    pub partitions: Partitions,
}

/// Digests every partition of the comments table into `dir`, keeping those of `reuse`
/// (a previous run's `parts` folder) whose key is unchanged.
pub(super) fn build_store(
    ctx: &Ctx,
    dataset: &Dataset,
    (scorer, model_name): (&Scorer, &str),
    patterns: &Patterns,
    reuse: &Path,
    dir: &Path,
) -> anyhow::Result<Store> {
    use roicast_data::validate::Progress as _;
    use sha2::Digest as _;
    let table_dir = dataset.root().join(Table::Comments.name());
    let previous: Vec<PartRecord> =
        std::fs::read(reuse.join(PARTS_INDEX)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    std::fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))?;
    let fingerprint = patterns.fingerprint();
    let files = dataset.disk_files(Table::Comments);
    let mut index = Vec::with_capacity(files.len());
    let mut partitions = Partitions::default();
    ctx.progress.stage("comments partitions (new ones read)", files.len() as u64);
    for f in files {
        ctx.progress.advance(1);
        let rel = f.strip_prefix(&table_dir).unwrap_or(f).to_string_lossy().replace('\\', "/");
        let key = crate::output::part_key(&[
            dataset.sha256(f)?.as_str(),
            model_name,
            fingerprint.as_str(),
            env!("CARGO_PKG_VERSION"),
            "digest 1",
        ]);
        let part = format!("{}.digest", rel.replace('/', "__"));
        let target = dir.join(&part);
        let kept = previous
            .iter()
            .find(|p| p.input == rel && p.key == key)
            .filter(|p| roicast_data::sha256_file(&reuse.join(&p.part)).is_ok_and(|h| h == p.part_sha256));
        if let Some(p) = kept {
            crate::output::keep_part(&reuse.join(&p.part), &target)?;
            index.push(p.clone());
            partitions.reused.push(rel);
            continue;
        }
        let mut digest = Digest::default();
        let mut dict = FxMap::default();
        dataset.only_file(Table::Comments, f).stream::<anyhow::Error>(Table::Comments, |b| {
            digest.append_batch(&mut dict, b, Detail::Full, scorer, patterns);
            Ok(())
        })?;
        let bytes = digest.to_bytes();
        roicast_data::io::write_bytes_atomic(&target, &bytes)?;
        index.push(PartRecord {
            input: rel.clone(),
            key,
            part,
            part_sha256: roicast_data::hex(&sha2::Sha256::digest(&bytes)),
            rows: digest.rows.len() as u64,
        });
        partitions.scored.push(rel);
    }
    let index_bytes = serde_json::to_vec_pretty(&index).expect("the index serialises");
    roicast_data::io::write_bytes_atomic(&dir.join(PARTS_INDEX), &index_bytes)?;
    Ok(Store { files: index.iter().map(|p| dir.join(&p.part)).collect(), partitions })
}

/// Reads a digest file the store wrote.
pub(super) fn read(path: &Path) -> anyhow::Result<Digest> {
    let bytes = std::fs::read(path).with_context(|| format!("failed to read {}", path.display()))?;
    Digest::from_bytes(&bytes).with_context(|| format!("{}: not a comment digest this roicast wrote", path.display()))
}

/// The store's files as a job lists its outputs: the digests and their index.
pub(super) fn store_outputs(store: &Store, dir: &Path) -> Vec<PathBuf> {
    let mut out = store.files.clone();
    out.push(dir.join(PARTS_INDEX));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest() -> Digest {
        let mut d = Digest { post_ids: vec!["p1".into(), "p2".into()], ..Digest::default() };
        let rows = [
            (0, 11, Some(7), 1_000, 2, CommentKind::Meaningful, vec![0, 2]),
            (1, 12, None, -5, 0, CommentKind::EmojiOnly, vec![]),
            (0, 11, Some(u64::MAX), 0, 1, CommentKind::MentionOnly, vec![1]),
        ];
        for (post, text, author, created_at, class, base, hits) in rows {
            d.hits.extend(hits);
            d.rows.push(Row { post, text, author, created_at, hits_end: d.hits.len() as u32, class, base });
        }
        d
    }

    #[test]
    fn a_digest_reads_back_as_written_and_anything_else_is_refused() {
        let d = digest();
        let bytes = d.to_bytes();
        assert_eq!(Digest::from_bytes(&bytes), Some(digest()));
        assert_eq!(d.row_hits(0), &[0, 2]);
        assert!(d.row_hits(1).is_empty());
        assert_eq!(d.row_hits(2), &[1]);
        // Truncated, extended, wrong magic, a class out of range: refused, never misread.
        assert_eq!(Digest::from_bytes(&bytes[..bytes.len() - 1]), None);
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(Digest::from_bytes(&longer), None);
        assert_eq!(Digest::from_bytes(b"roicast comment digest 2\n"), None);
        let class_at = Digest::MAGIC.len() + 8 + (8 + 2) * 2 + 8 + (4 + 8 + 8 + 1 + 8 + 4);
        let mut bad = bytes;
        assert_eq!(bad[class_at], 2);
        bad[class_at] = 3;
        assert_eq!(Digest::from_bytes(&bad), None);
    }

    #[test]
    fn patterns_find_brands_and_competitors_in_any_case() {
        let p = Patterns::new(
            &[Some("glowco".into()), None, Some(String::new()), Some("glowco".into()), Some("acme labs".into())],
            &["rivalskin".into()],
            &["glowco".into()],
        );
        assert_eq!(p.texts, ["acme labs", "glowco", "rivalskin"]);
        assert_eq!((p.brand_id("glowco"), p.brand_id("rivalskin")), (Some(1), None));
        let mut hits = Vec::new();
        p.hits("Loving my GlowCo serum more than RivalSkin — ÀCME LABS next", &mut hits);
        assert_eq!(hits, [1, 2]);
        assert!(p.names_competitor(&hits) && !p.names_competitor(&hits[..1]));
        hits.clear();
        p.hits("ACME LABS!", &mut hits);
        assert_eq!(hits, [0]);
    }
}
