//! VADER (Hutto & Gilbert 2014), reproducing Python `vaderSentiment` 3.3.2 exactly.
//!
//! Every rule of the reference `SentimentIntensityAnalyzer.polarity_scores` is kept,
//! including its quirks, because parity to 1e−4 on every input is the contract:
//!
//! - emoji are replaced, code point by code point, by their description from
//!   `emoji_utf8_lexicon.txt` (a space is added before a description only when the
//!   previous character was not an ASCII space), and the descriptions are then scored
//!   as words;
//! - tokens are split on Python's `str.split()` whitespace and stripped of ASCII
//!   punctuation unless that leaves two characters or fewer (so `:)` survives);
//! - the "but" rule looks each sentiment up by *value* (`list.index`), so with repeated
//!   values it rescales the first occurrence several times — reproduced here;
//! - `round()` is Python's correctly rounded, ties-to-even decimal rounding.
//!
//! The scorer is allocation-free per call after warm-up (a thread-local scratch), looks
//! words up in one hash map whose keys borrow the lexicon compiled into the binary, and
//! skips the emoji pass for ASCII text.

use std::cell::RefCell;
use std::sync::OnceLock;

/// The VADER word lexicon (MIT, © C.J. Hutto), byte for byte from vaderSentiment 3.3.2.
pub const LEXICON: &str = include_str!("../../assets/vader/vader_lexicon.txt");
/// The VADER emoji lexicon (MIT, © C.J. Hutto), byte for byte from vaderSentiment 3.3.2.
pub const EMOJI_LEXICON: &str = include_str!("../../assets/vader/emoji_utf8_lexicon.txt");

const B_INCR: f64 = 0.293;
const B_DECR: f64 = -0.293;
const C_INCR: f64 = 0.733;
const N_SCALAR: f64 = -0.74;

const NEGATE: &[&str] = &[
    "aint",
    "arent",
    "cannot",
    "cant",
    "couldnt",
    "darent",
    "didnt",
    "doesnt",
    "ain't",
    "aren't",
    "can't",
    "couldn't",
    "daren't",
    "didn't",
    "doesn't",
    "dont",
    "hadnt",
    "hasnt",
    "havent",
    "isnt",
    "mightnt",
    "mustnt",
    "neither",
    "don't",
    "hadn't",
    "hasn't",
    "haven't",
    "isn't",
    "mightn't",
    "mustn't",
    "neednt",
    "needn't",
    "never",
    "none",
    "nope",
    "nor",
    "not",
    "nothing",
    "nowhere",
    "oughtnt",
    "shant",
    "shouldnt",
    "uhuh",
    "wasnt",
    "werent",
    "oughtn't",
    "shan't",
    "shouldn't",
    "uh-uh",
    "wasn't",
    "weren't",
    "without",
    "wont",
    "wouldnt",
    "won't",
    "wouldn't",
    "rarely",
    "seldom",
    "despite",
];

const BOOSTERS_UP: &[&str] = &[
    "absolutely",
    "amazingly",
    "awfully",
    "completely",
    "considerable",
    "considerably",
    "decidedly",
    "deeply",
    "effing",
    "enormous",
    "enormously",
    "entirely",
    "especially",
    "exceptional",
    "exceptionally",
    "extreme",
    "extremely",
    "fabulously",
    "flipping",
    "flippin",
    "frackin",
    "fracking",
    "fricking",
    "frickin",
    "frigging",
    "friggin",
    "fully",
    "fuckin",
    "fucking",
    "fuggin",
    "fugging",
    "greatly",
    "hella",
    "highly",
    "hugely",
    "incredible",
    "incredibly",
    "intensely",
    "major",
    "majorly",
    "more",
    "most",
    "particularly",
    "purely",
    "quite",
    "really",
    "remarkably",
    "so",
    "substantially",
    "thoroughly",
    "total",
    "totally",
    "tremendous",
    "tremendously",
    "uber",
    "unbelievably",
    "unusually",
    "utter",
    "utterly",
    "very",
];

const BOOSTERS_DOWN: &[&str] = &[
    "almost",
    "barely",
    "hardly",
    "kinda",
    "kindof",
    "kind-of",
    "less",
    "little",
    "marginal",
    "marginally",
    "occasional",
    "occasionally",
    "partly",
    "scarce",
    "scarcely",
    "slight",
    "slightly",
    "somewhat",
    "sorta",
    "sortof",
    "sort-of",
];

/// The two-word dampeners of the reference booster dict ("just enough", "kind of",
/// "sort of"); they only ever match through the idiom n-gram check.
const BOOSTER_BIGRAMS: [[&str; 2]; 3] = [["just", "enough"], ["kind", "of"], ["sort", "of"]];

/// `SPECIAL_CASES` of the reference; one-word keys ("badass") can never match there
/// (every looked-up sequence has two or three words), so they are left out.
const SPECIAL_BIGRAMS: [([&str; 2], f64); 6] = [
    (["the", "shit"], 3.0),
    (["the", "bomb"], 3.0),
    (["bad", "ass"], 1.5),
    (["bus", "stop"], 0.0),
    (["yeah", "right"], -2.0),
    (["beating", "heart"], 3.5),
];
const SPECIAL_TRIGRAMS: [([&str; 3], f64); 2] = [(["kiss", "of", "death"], -1.5), (["to", "die", "for"], 3.0)];

/// VADER's scores for one text, as `vaderSentiment` returns them (rounded the same way).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Polarity {
    /// Share of negative valence, rounded to 3 decimals.
    pub neg: f64,
    /// Share of neutral tokens, rounded to 3 decimals.
    pub neu: f64,
    /// Share of positive valence, rounded to 3 decimals.
    pub pos: f64,
    /// Normalised sum of valences in [−1, 1], rounded to 4 decimals.
    pub compound: f64,
}

pub use crate::FxMap;

/// What the scorer knows about one lower-cased word.
#[derive(Debug, Clone, Copy, Default)]
struct WordInfo {
    /// Lexicon valence, if the word is in the lexicon.
    valence: Option<f64>,
    /// Booster scalar (0 when the word is not a booster; no booster has value 0).
    booster: f64,
    /// `negated([word])` of the reference: in NEGATE, or contains "n't".
    negates: bool,
}

/// The VADER analyser: the parsed lexicons. Build once ([`Vader::get`]) and share.
#[derive(Debug)]
pub struct Vader {
    words: FxMap<&'static str, WordInfo>,
    emoji: FxMap<char, &'static str>,
}

/// Python's `str.isspace()` for one character: Unicode `White_Space` plus the ASCII
/// information separators U+001C..U+001F.
#[inline]
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()` (whitespace).
fn py_strip(s: &str) -> &str {
    s.trim_matches(py_space)
}

fn is_titlecase(c: char) -> bool {
    matches!(c as u32, 0x01C5 | 0x01C8 | 0x01CB | 0x01F2 | 0x1F88..=0x1F8F | 0x1F98..=0x1F9F | 0x1FA8..=0x1FAF | 0x1FBC | 0x1FCC | 0x1FFC)
}

/// Python's `str.isupper()`: at least one cased character and no lower- or title-case one.
#[inline]
fn py_isupper(s: &str) -> bool {
    if s.is_ascii() {
        let b = s.as_bytes();
        return b.iter().any(u8::is_ascii_uppercase) && !b.iter().any(u8::is_ascii_lowercase);
    }
    let mut cased = false;
    for c in s.chars() {
        if c.is_lowercase() || is_titlecase(c) {
            return false;
        }
        if c.is_uppercase() {
            cased = true;
        }
    }
    cased
}

/// Python's `round(x, digits)` for `digits` 3 or 4: correctly rounded, ties to even.
#[inline]
fn py_round(x: f64, digits: i32) -> f64 {
    let scale = if digits == 3 { 1e3 } else { 1e4 };
    let y = x * scale;
    let frac = y - y.floor();
    if (frac - 0.5).abs() > 1e-7 {
        return y.round() / scale;
    }
    // Near a tie: decide on the exact binary value, as CPython does.
    let s = format!("{x:.prec$}", prec = digits as usize);
    s.parse().expect("formatted float parses")
}

/// Per-thread reusable buffers, so scoring allocates nothing after warm-up.
#[derive(Default)]
struct Scratch {
    text: String,
    lower: String,
    /// Lower-cased token byte ranges in `lower`.
    lowers: Vec<(u32, u32)>,
    info: Vec<WordInfo>,
    upper: Vec<bool>,
    sentiments: Vec<f64>,
}

/// The borrowed token buffers of one call.
struct Scratch2<'a> {
    lower: &'a String,
    lowers: &'a Vec<(u32, u32)>,
    info: &'a Vec<WordInfo>,
    upper: &'a Vec<bool>,
    sentiments: &'a mut Vec<f64>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl Vader {
    /// The shared analyser over the lexicons compiled into the binary.
    pub fn get() -> &'static Vader {
        static VADER: OnceLock<Vader> = OnceLock::new();
        VADER.get_or_init(Vader::new)
    }

    fn new() -> Vader {
        let mut words: FxMap<&'static str, WordInfo> = FxMap::default();
        // make_lex_dict: later duplicates win.
        for line in LEXICON.trim_end_matches('\n').split('\n') {
            if line.is_empty() {
                continue;
            }
            let mut fields = py_strip(line).split('\t');
            let word = fields.next().expect("split yields one field");
            let measure: f64 = fields
                .next()
                .and_then(|m| m.parse().ok())
                .expect("the compiled-in VADER lexicon has a valence on every line");
            words.entry(word).or_default().valence = Some(measure);
        }
        for w in BOOSTERS_UP {
            words.entry(w).or_default().booster = B_INCR;
        }
        for w in BOOSTERS_DOWN {
            words.entry(w).or_default().booster = B_DECR;
        }
        for w in NEGATE {
            words.entry(w).or_default().negates = true;
        }
        let mut emoji: FxMap<char, &'static str> = FxMap::default();
        for line in EMOJI_LEXICON.trim_end_matches('\n').split('\n') {
            let mut fields = py_strip(line).split('\t');
            let key = fields.next().expect("split yields one field");
            let description = fields.next().expect("the compiled-in emoji lexicon has a description on every line");
            let mut chars = key.chars();
            // Only single code points can ever match the reference's per-character lookup.
            if let (Some(c), None) = (chars.next(), chars.next()) {
                emoji.insert(c, description);
            }
        }
        Vader { words, emoji }
    }

    /// Number of entries in the word lexicon (after duplicate keys collapse).
    #[must_use]
    pub fn lexicon_len(&self) -> usize {
        self.words.values().filter(|w| w.valence.is_some()).count()
    }

    /// The lexicon valence of a lower-case word, if any.
    #[must_use]
    pub fn valence(&self, word: &str) -> Option<f64> {
        self.words.get(word).and_then(|w| w.valence)
    }

    /// The emoji lexicon's description of one code point, if any.
    #[must_use]
    pub fn emoji_description(&self, c: char) -> Option<&'static str> {
        self.emoji.get(&c).copied()
    }

    /// `polarity_scores(text)` of vaderSentiment 3.3.2.
    #[must_use]
    pub fn polarity_scores(&self, text: &str) -> Polarity {
        SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut scratch) => self.score_with(text, &mut scratch),
            // Re-entrant use on one thread (never in roicast): fall back to fresh buffers.
            Err(_) => self.score_with(text, &mut Scratch::default()),
        })
    }

    fn info(&self, lower: &str) -> WordInfo {
        if let Some(&info) = self.words.get(lower) {
            if info.negates || !lower.contains("n't") {
                return info;
            }
            return WordInfo { negates: true, ..info };
        }
        WordInfo { valence: None, booster: 0.0, negates: lower.contains("n't") }
    }

    fn score_with(&self, text: &str, s: &mut Scratch) -> Polarity {
        let Scratch { text: buf, lower: lower_buf, lowers, info: infos, upper, sentiments, .. } = s;
        // 1. Emoji to descriptions (the reference walks code points). ASCII text has no
        //    emoji (the lexicon has no ASCII keys) and is used as it is.
        let replaced: &str = if text.is_ascii() {
            text
        } else {
            buf.clear();
            let mut prev_space = true;
            for c in text.chars() {
                if let Some(description) = if c.is_ascii() { None } else { self.emoji.get(&c) } {
                    if !prev_space {
                        buf.push(' ');
                    }
                    buf.push_str(description);
                    prev_space = false;
                } else {
                    buf.push(c);
                    prev_space = c == ' ';
                }
            }
            buf
        };
        let stripped = py_strip(replaced);

        // 2. Tokens: split on whitespace, strip punctuation unless that leaves <= 2 chars.
        lowers.clear();
        lower_buf.clear();
        infos.clear();
        upper.clear();
        let mut add_token = |raw: &str| {
            let trimmed = raw.trim_matches(|c: char| c.is_ascii_punctuation());
            let lstart = lower_buf.len();
            let token = if raw.is_ascii() {
                let token = if trimmed.len() <= 2 { raw } else { trimmed };
                lower_buf.push_str(token);
                lower_buf[lstart..].make_ascii_lowercase();
                upper.push(
                    token.bytes().any(|b| b.is_ascii_uppercase()) && !token.bytes().any(|b| b.is_ascii_lowercase()),
                );
                token
            } else {
                let token = if trimmed.chars().nth(2).is_none() { raw } else { trimmed };
                lower_buf.push_str(&token.to_lowercase());
                upper.push(py_isupper(token));
                token
            };
            let _ = token;
            lowers.push((lstart as u32, lower_buf.len() as u32));
            infos.push(self.info(&lower_buf[lstart..]));
        };
        if stripped.is_ascii() {
            for raw in stripped.split(|c: char| c.is_ascii_whitespace() || matches!(c, '\u{0b}' | '\u{1c}'..='\u{1f}'))
            {
                if !raw.is_empty() {
                    add_token(raw);
                }
            }
        } else {
            for raw in stripped.split(py_space) {
                if !raw.is_empty() {
                    add_token(raw);
                }
            }
        }
        let n = lowers.len();
        let all_caps = upper.iter().filter(|u| **u).count();
        let is_cap_diff = all_caps > 0 && all_caps < n;
        let s = Scratch2 { lower: lower_buf, lowers, info: infos, upper, sentiments };

        let lower = |k: usize| -> &str {
            let (a, b) = s.lowers[k];
            &s.lower[a as usize..b as usize]
        };

        // 3. Valence of every token.
        s.sentiments.clear();
        for i in 0..n {
            let info = s.info[i];
            if info.booster != 0.0 || (i + 1 < n && lower(i) == "kind" && lower(i + 1) == "of") {
                s.sentiments.push(0.0);
                continue;
            }
            let Some(base) = info.valence else {
                s.sentiments.push(0.0);
                continue;
            };
            let mut valence = base;
            if lower(i) == "no" && i != n - 1 && s.info[i + 1].valence.is_some() {
                valence = 0.0;
            }
            if (i > 0 && lower(i - 1) == "no")
                || (i > 1 && lower(i - 2) == "no")
                || (i > 2 && lower(i - 3) == "no" && matches!(lower(i - 1), "or" | "nor"))
            {
                valence = base * N_SCALAR;
            }
            if s.upper[i] && is_cap_diff {
                if valence > 0.0 {
                    valence += C_INCR;
                } else {
                    valence -= C_INCR;
                }
            }
            for start_i in 0..3 {
                if i > start_i && s.info[i - (start_i + 1)].valence.is_none() {
                    let j = i - (start_i + 1);
                    // scalar_inc_dec
                    let mut scalar = 0.0;
                    if s.info[j].booster != 0.0 {
                        scalar = s.info[j].booster;
                        if valence < 0.0 {
                            scalar *= -1.0;
                        }
                        if s.upper[j] && is_cap_diff {
                            if valence > 0.0 {
                                scalar += C_INCR;
                            } else {
                                scalar -= C_INCR;
                            }
                        }
                    }
                    if start_i == 1 && scalar != 0.0 {
                        scalar *= 0.95;
                    }
                    if start_i == 2 && scalar != 0.0 {
                        scalar *= 0.9;
                    }
                    valence += scalar;
                    valence = negation_check(valence, &lower, s.info, start_i, i);
                    if start_i == 2 {
                        valence = special_idioms_check(valence, &lower, n, i);
                    }
                }
            }
            // _least_check ("least" is not in the lexicon, so its lexicon test always passes).
            if i > 1 && lower(i - 1) == "least" {
                if lower(i - 2) != "at" && lower(i - 2) != "very" {
                    valence *= N_SCALAR;
                }
            } else if i > 0 && lower(i - 1) == "least" {
                valence *= N_SCALAR;
            }
            s.sentiments.push(valence);
        }

        // 4. _but_check, with the reference's lookup-by-value.
        if let Some(bi) = (0..n).find(|&k| lower(k) == "but") {
            for k in 0..n {
                let value = s.sentiments[k];
                let si = s.sentiments.iter().position(|v| *v == value).expect("value is in the list");
                if si < bi {
                    s.sentiments[si] = value * 0.5;
                } else if si > bi {
                    s.sentiments[si] = value * 1.5;
                }
            }
        }

        score_valence(s.sentiments, stripped)
    }
}

fn negation_check<'a>(
    valence: f64,
    lower: &impl Fn(usize) -> &'a str,
    info: &[WordInfo],
    start_i: usize,
    i: usize,
) -> f64 {
    let so_this = |w: &str| w == "so" || w == "this";
    match start_i {
        0 => {
            if info[i - 1].negates {
                return valence * N_SCALAR;
            }
        }
        1 => {
            if lower(i - 2) == "never" && so_this(lower(i - 1)) {
                return valence * 1.25;
            } else if lower(i - 2) == "without" && lower(i - 1) == "doubt" {
                return valence;
            } else if info[i - 2].negates {
                return valence * N_SCALAR;
            }
        }
        _ => {
            if (lower(i - 3) == "never" && so_this(lower(i - 2))) || so_this(lower(i - 1)) {
                return valence * 1.25;
            } else if lower(i - 3) == "without" && (lower(i - 2) == "doubt" || lower(i - 1) == "doubt") {
                return valence;
            } else if info[i - 3].negates {
                return valence * N_SCALAR;
            }
        }
    }
    valence
}

fn special_idioms_check<'a>(mut valence: f64, lower: &impl Fn(usize) -> &'a str, n: usize, i: usize) -> f64 {
    let bigram =
        |a: usize, b: usize| SPECIAL_BIGRAMS.iter().find(|(k, _)| k[0] == lower(a) && k[1] == lower(b)).map(|(_, v)| v);
    let trigram = |a: usize, b: usize, c: usize| {
        SPECIAL_TRIGRAMS.iter().find(|(k, _)| k[0] == lower(a) && k[1] == lower(b) && k[2] == lower(c)).map(|(_, v)| v)
    };
    // onezero, twoonezero, twoone, threetwoone, threetwo: first match wins.
    let first = bigram(i - 1, i)
        .or_else(|| trigram(i - 2, i - 1, i))
        .or_else(|| bigram(i - 2, i - 1))
        .or_else(|| trigram(i - 3, i - 2, i - 1))
        .or_else(|| bigram(i - 3, i - 2));
    if let Some(v) = first {
        valence = *v;
    }
    if n - 1 > i
        && let Some(v) = bigram(i, i + 1)
    {
        valence = *v;
    }
    if n - 1 > i + 1
        && let Some(v) = trigram(i, i + 1, i + 2)
    {
        valence = *v;
    }
    // n_grams [threetwoone, threetwo, twoone] in BOOSTER_DICT: only two-word keys exist.
    for (a, b) in [(i - 3, i - 2), (i - 2, i - 1)] {
        if BOOSTER_BIGRAMS.iter().any(|k| k[0] == lower(a) && k[1] == lower(b)) {
            valence += B_DECR;
        }
    }
    valence
}

// No extra crate for counting two bytes in a short comment.
#[allow(clippy::naive_bytecount)]
fn score_valence(sentiments: &[f64], text: &str) -> Polarity {
    if sentiments.is_empty() {
        return Polarity::default();
    }
    let mut sum_s = 0.0;
    for s in sentiments {
        sum_s += s;
    }
    let bytes = text.as_bytes();
    let ep = bytes.iter().filter(|b| **b == b'!').count().min(4);
    let qm = bytes.iter().filter(|b| **b == b'?').count();
    let ep_amplifier = ep as f64 * 0.292;
    let qm_amplifier = if qm > 1 { if qm <= 3 { qm as f64 * 0.18 } else { 0.96 } } else { 0.0 };
    let punct = ep_amplifier + qm_amplifier;
    if sum_s > 0.0 {
        sum_s += punct;
    } else if sum_s < 0.0 {
        sum_s -= punct;
    }
    let compound = (sum_s / (sum_s * sum_s + 15.0).sqrt()).clamp(-1.0, 1.0);
    let mut pos_sum = 0.0;
    let mut neg_sum = 0.0;
    let mut neu_count = 0u32;
    for &s in sentiments {
        if s > 0.0 {
            pos_sum += s + 1.0;
        }
        if s < 0.0 {
            neg_sum += s - 1.0;
        }
        if s == 0.0 {
            neu_count += 1;
        }
    }
    if pos_sum > f64::abs(neg_sum) {
        pos_sum += punct;
    } else if pos_sum < f64::abs(neg_sum) {
        neg_sum -= punct;
    }
    let total = pos_sum + f64::abs(neg_sum) + f64::from(neu_count);
    Polarity {
        neg: py_round((neg_sum / total).abs(), 3),
        neu: py_round((f64::from(neu_count) / total).abs(), 3),
        pos: py_round((pos_sum / total).abs(), 3),
        compound: py_round(compound, 4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, neg: f64, neu: f64, pos: f64, compound: f64) {
        let p = Vader::get().polarity_scores(text);
        assert_eq!((p.neg, p.neu, p.pos, p.compound), (neg, neu, pos, compound), "{text}");
    }

    /// The examples printed by `python -m vaderSentiment.vaderSentiment` (3.3.2).
    #[test]
    fn reference_module_examples() {
        check("VADER is smart, handsome, and funny.", 0.0, 0.254, 0.746, 0.8316);
        check("VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!", 0.0, 0.294, 0.706, 0.9469);
        check("VADER is not smart, handsome, nor funny.", 0.646, 0.354, 0.0, -0.7424);
        check("At least it isn't a horrible book.", 0.0, 0.678, 0.322, 0.431);
        check("Make sure you :) or :D today!", 0.0, 0.294, 0.706, 0.8633);
        check("Catch utf-8 emoji such as 💘 and 💋 and 😁", 0.0, 0.583, 0.417, 0.875);
        check("Not bad at all", 0.0, 0.513, 0.487, 0.431);
        check("", 0.0, 0.0, 0.0, 0.0);
    }

    #[test]
    fn python_rounding_ties_to_even_on_exact_binary_value() {
        assert_eq!(py_round(0.0625, 3), 0.062);
        assert_eq!(py_round(0.0005, 3), 0.001);
        assert_eq!(py_round(0.00125, 4), 0.0013);
        assert_eq!(py_round(-0.43105, 4), -0.431);
    }

    #[test]
    fn python_string_predicates() {
        assert!(py_isupper("SUX!"));
        assert!(!py_isupper("123"));
        assert!(!py_isupper("ǅX"));
        assert!(py_space('\u{1f}') && py_space('\u{a0}') && !py_space('\u{200b}'));
    }
}
