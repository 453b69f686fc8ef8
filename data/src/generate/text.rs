//! Comment texts in the style of creator comment sections, each with its true label.
//!
//! Texts are composed from hand-written phrase banks (slang, emoji, questions, product
//! mentions, sarcasm, spam, generic bot replies) with casing, elongation, punctuation
//! and emoji variations. The label is decided first and the text drawn to match it, so
//! the label is the ground truth of the synthetic world.

use crate::rng::Rng;

/// What a generated comment is, beyond its sentiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentKind {
    /// A genuine viewer's comment.
    Genuine,
    /// A bot or engagement-pod comment: generic, repeated across posts.
    Bot,
}

const POSITIVE: &[&str] = &[
    "this is fire",
    "she ate and left no crumbs",
    "obsessed with this",
    "need this in my life",
    "love the color on you",
    "this slaps",
    "best review i've seen",
    "you never miss",
    "absolutely stunning",
    "W product honestly",
    "just ordered mine",
    "been using it for a month and my skin is glowing",
    "okay this actually works",
    "10/10 would recommend",
    "the way this looks so good",
    "iconic as always",
    "living for this",
    "that glow tho",
    "so worth it",
    "thank you for the code, it worked!",
    "bought it because of you and no regrets",
    "my sister loves hers too",
    "finally an ad i don't hate",
    "this is the one",
    "slay",
    "ate",
    "lowkey the best thing i bought this year",
    "you convinced me, ordering now",
    "texture looks amazing",
    "the results are insane",
];

const NEGATIVE: &[&str] = &[
    "this aged like milk",
    "not worth the money",
    "broke me out so bad",
    "mid at best",
    "the code didn't work",
    "returned it after a week",
    "another ad smh",
    "it's giving scam",
    "L product",
    "so overpriced",
    "packaging came broken",
    "customer service never replied",
    "this ain't it",
    "you fell off",
    "nah this is fake",
    "waste of money honestly",
    "smells like chemicals",
    "unfollowing, too many ads",
    "did nothing for me",
    "shipping took a month",
    "mine arrived leaking",
    "the shade range is terrible",
    "stop selling us stuff",
    "worst purchase this year",
    "ratio",
];

const SARCASTIC: &[&str] = &[
    "wow great, another ad",
    "love how the code doesn't work",
    "sure, totally not paid to say that",
    "oh amazing, it broke on day two",
    "can't wait to waste my money",
];

const NEUTRAL: &[&str] = &[
    "what shade are you wearing?",
    "where did you get it?",
    "does it ship to canada?",
    "how long does shipping take",
    "is this vegan?",
    "price?",
    "link?",
    "which size did you get",
    "first",
    "what camera do you use",
    "does it work on oily skin?",
    "tag me in part 2",
    "when is the restock",
    "is it available in stores",
    "what's the song",
    "how much was it",
    "does the code work internationally?",
    "part 2 please",
    "what's in the box",
    "is this sponsored?",
];

const PRODUCTS: &[&str] = &[
    "serum",
    "cleanser",
    "moisturizer",
    "sunscreen",
    "lip oil",
    "bundle",
    "starter kit",
    "hoodie",
    "water bottle",
    "protein bar",
];

const POS_EMOJI: &[&str] = &["🔥", "😍", "❤️", "💅", "🙌", "✨", "💯", "👏", "🥰", "😭"];
const NEG_EMOJI: &[&str] = &["🙄", "🤮", "👎", "😒", "💀", "🥛", "😬"];
const NEU_EMOJI: &[&str] = &["🤔", "👀", "📦"];

const BOT: &[&str] = &[
    "nice 🔥",
    "great post",
    "love this ❤️",
    "amazing 😍",
    "follow back?",
    "check my page",
    "DM us to collab 💰",
    "🔥🔥🔥",
    "wow",
    "cool pic",
    "send pic to our page for a feature",
    "nice content",
    "👏👏👏",
    "beautiful ❤️❤️",
];

const FRIENDS: &[&str] = &["@jess", "@mike_k", "@sara.b", "@tomi", "@liv", "@dani", "@alex_r"];

/// The label of a bot comment (bots praise generically or advertise).
fn bot_label(text: &str) -> &'static str {
    if ["follow back?", "check my page", "DM us to collab 💰", "send pic to our page for a feature"].contains(&text) {
        "neutral"
    } else {
        "positive"
    }
}

fn elongate(word: &str, rng: &mut Rng) -> String {
    // Repeat the last vowel: "so" -> "sooo", "good" -> "goooood".
    match word.char_indices().rev().find(|(_, c)| "aeiou".contains(*c)) {
        Some((i, c)) => {
            let n = 2 + rng.index(4);
            let mut out = String::with_capacity(word.len() + n);
            out.push_str(&word[..i]);
            for _ in 0..n {
                out.push(c);
            }
            out.push_str(&word[i + c.len_utf8()..]);
            out
        }
        None => word.to_owned(),
    }
}

/// Draws a comment with `label` (or a bot comment) and returns `(text, label)`.
pub fn comment(rng: &mut Rng, label: &str, kind: CommentKind, brand: &str) -> (String, &'static str) {
    if kind == CommentKind::Bot {
        let t = *rng.pick(BOT);
        return (t.to_owned(), bot_label(t));
    }
    let (bank, emoji, out_label): (&[&str], &[&str], &'static str) = match label {
        "positive" => (POSITIVE, POS_EMOJI, "positive"),
        "negative" => {
            if rng.chance(0.2) {
                (SARCASTIC, NEG_EMOJI, "negative")
            } else {
                (NEGATIVE, NEG_EMOJI, "negative")
            }
        }
        _ => (NEUTRAL, NEU_EMOJI, "neutral"),
    };
    // Emoji-only comments carry the label by themselves.
    if out_label != "neutral" && rng.chance(0.08) {
        let e = *rng.pick(emoji);
        let n = 1 + rng.index(4);
        return (e.repeat(n), out_label);
    }
    let mut text = (*rng.pick(bank)).to_owned();
    if rng.chance(0.12) {
        let product = *rng.pick(PRODUCTS);
        text = match out_label {
            "positive" => {
                format!("the {brand} {product} is {}", if rng.chance(0.5) { "so good" } else { "everything" })
            }
            "negative" => {
                format!("the {brand} {product} {}", if rng.chance(0.5) { "is a scam" } else { "broke me out" })
            }
            _ => format!("is the {product} from {brand} worth it?"),
        };
    }
    if out_label == "positive" && rng.chance(0.15) {
        text = text.replacen("so ", &format!("{} ", elongate("so", rng)), 1);
        if rng.chance(0.5) {
            text.push(' ');
            text.push_str(&elongate("omg", rng));
        }
    }
    if rng.chance(0.07) {
        text = text.to_uppercase();
    } else if rng.chance(0.5) {
        let mut c = text.chars();
        if let Some(first) = c.next() {
            text = first.to_uppercase().chain(c).collect();
        }
    }
    if out_label != "neutral" && rng.chance(0.25) {
        text.push_str(if rng.chance(0.5) { "!!" } else { "!!!" });
    }
    if rng.chance(0.55) {
        let e = *rng.pick(emoji);
        text.push(' ');
        text.push_str(&e.repeat(1 + rng.index(3)));
    }
    if rng.chance(0.06) {
        text = format!("{} {text}", rng.pick(FRIENDS));
    }
    (text, out_label)
}

/// A reply to another comment.
pub fn reply(rng: &mut Rng, label: &str) -> (String, &'static str) {
    match label {
        "positive" => ((*rng.pick(&["same!!", "agreed 💯", "yesss", "right?? 😍", "fr"])).to_owned(), "positive"),
        "negative" => ((*rng.pick(&["same here 😒", "mine too, so annoying", "yeah avoid"])).to_owned(), "negative"),
        _ => (
            (*rng.pick(&["it's in the bio", "link in bio", "check the description", "i think it's $30"])).to_owned(),
            "neutral",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_vary_and_keep_their_label() {
        let mut rng = Rng::new(1, 0, 0);
        let mut texts = std::collections::HashSet::new();
        for label in ["positive", "negative", "neutral"] {
            for _ in 0..300 {
                let (t, l) = comment(&mut rng, label, CommentKind::Genuine, "Lumina");
                assert_eq!(l, label);
                assert!(!t.trim().is_empty());
                texts.insert(t);
            }
        }
        assert!(texts.len() > 400, "only {} distinct texts", texts.len());
    }

    #[test]
    fn elongation_repeats_the_last_vowel() {
        let mut rng = Rng::new(2, 0, 0);
        let e = elongate("so", &mut rng);
        assert!(e.starts_with("soo") && e.chars().all(|c| c == 's' || c == 'o'), "{e}");
    }
}
