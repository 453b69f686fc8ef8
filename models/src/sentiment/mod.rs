//! Comment sentiment: VADER reproduced exactly ([`vader`]), and the fast features
//! ([`features`]) and calibrated multinomial linear model ([`linear`]) that replace it
//! on creator comments.

pub mod features;
pub mod language;
pub mod linear;
#[cfg(feature = "minilm")]
pub mod minilm;
pub mod vader;

pub use linear::{CLASSES, LinearSentiment};
pub use vader::{Polarity, Vader};

/// Common English function words, for [`looks_non_english`].
const ENGLISH_WORDS: &[&str] = &[
    "a", "about", "all", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did",
    "do", "does", "for", "from", "get", "got", "had", "has", "have", "he", "her", "here", "him", "his", "how", "i",
    "if", "im", "in", "is", "it", "its", "just", "like", "me", "my", "need", "no", "not", "now", "of", "on", "one",
    "or", "our", "out", "please", "pls", "she", "so", "that", "the", "their", "them", "then", "there", "they", "this",
    "to", "too", "u", "up", "us", "was", "we", "were", "what", "when", "where", "which", "who", "why", "will", "with",
    "would", "yes", "you", "your", "omg", "lol", "love", "good", "great", "bad", "wow",
];

/// A cheap language check for run summaries: `true` when a text is probably not
/// English — mostly non-Latin letters, or three or more words none of which is a
/// common English word or in VADER's lexicon. Emoji-only and very short texts count as
/// English (they carry no language).
#[must_use]
pub fn looks_non_english(text: &str) -> bool {
    let (letters, non_latin, words, english) = english_counts(text);
    if letters == 0 {
        return false;
    }
    non_latin * 2 > letters || (words >= 3 && english == 0)
}

/// [`ENGLISH_WORDS`] as a set.
static ENGLISH: std::sync::LazyLock<rustc_hash::FxHashSet<&'static str>> =
    std::sync::LazyLock::new(|| ENGLISH_WORDS.iter().copied().collect());

/// Letters, non-Latin letters, words and English words (common function words or VADER
/// lexicon entries) of a text.
#[must_use]
pub fn english_counts(text: &str) -> (usize, usize, usize, usize) {
    let (mut letters, mut non_latin) = (0usize, 0usize);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        // Latin letters: ASCII plus Latin-1 Supplement / Latin Extended-A/B.
        if !(c.is_ascii() || ('\u{c0}'..='\u{24f}').contains(&c)) {
            non_latin += 1;
        }
    }
    let english_words = &*ENGLISH;
    let vader = Vader::get();
    let mut words = 0usize;
    let mut english = 0usize;
    // One buffer for every word's lower-case form, apostrophes dropped (no allocation per
    // word: this runs on every comment).
    let mut lower = String::with_capacity(32);
    for w in text.split(|c: char| !(c.is_alphanumeric() || c == '\'')).filter(|w| w.chars().any(char::is_alphabetic)) {
        words += 1;
        lower.clear();
        for c in w.chars().filter(|&c| c != '\'') {
            if c.is_ascii() {
                lower.push(c.to_ascii_lowercase());
            } else {
                lower.extend(c.to_lowercase());
            }
        }
        if english_words.contains(lower.as_str()) || vader.valence(&lower).is_some() {
            english += 1;
        }
    }
    (letters, non_latin, words, english)
}

#[cfg(test)]
mod tests {
    use super::looks_non_english;

    #[test]
    fn language_check_flags_other_scripts_and_wordy_non_english() {
        for t in ["とても良い", "очень хорошо", "das ist wirklich schön", "c'est vraiment nul ça"] {
            assert!(looks_non_english(t), "{t}");
        }
        for t in ["this is fire 🔥", "🔥🔥", "", "W", "slay queen", "muy bueno", "the package arrived broken"] {
            assert!(!looks_non_english(t), "{t}");
        }
    }
}
