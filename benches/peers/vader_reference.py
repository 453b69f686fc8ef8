#!/usr/bin/env python3
"""Regenerates tests/fixtures/sentiment/vader_reference.csv: Python vaderSentiment 3.3.2's
polarity_scores on every creator comment, a 600-tweet sample of the Hutto & Gilbert (2014)
tweets, and hand-written edge cases aimed at each rule (capitals, boosters, negations,
"but", "least", idioms, special cases, punctuation, emoji, whitespace, non-English).

    bash benches/peers/setup.sh            # once
    benches/peers/.venv/bin/python benches/peers/vader_reference.py

roicast's VADER must match every row to 1e-4 (tests/tests/vader_parity.rs).
"""
import csv
import os
import sys

import vaderSentiment
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "tests", "fixtures", "sentiment")

EDGE_CASES = [
    # capitals and cap differential
    "GREAT product", "GREAT PRODUCT", "this is GREAT", "VERY good", "very GOOD", "Today SUX!",
    "I LOVE it but HATE the price", "NOT good", "ÉNORME SUCCÈS", "the BEST!!!",
    # boosters and dampeners, distance 1..3
    "extremely good", "extremely very good", "so so good", "kind of good", "sort of bad",
    "kinda good", "it is slightly bad", "barely good enough", "just enough good", "hella lit",
    "the most amazing thing", "really really really bad", "FRIGGIN AWESOME", "uber cool stuff",
    # negation
    "not good", "not very good", "not at all good", "isn't good", "wasn't bad", "never good",
    "never so good", "never this good", "without doubt good", "without good", "nothing good here",
    "can't complain", "dont like it", "ain't bad", "hasn't been great", "uh-uh not nice",
    "I don't think it's good", "no good", "no problem", "no love no hate", "no fun or joy",
    "no fun nor joy", "nope not happy", "seldom happy", "rarely sad", "despite the good parts",
    # but
    "good but bad", "bad but good", "good but good", "ok but not great", "great great but great",
    "fine fine fine but fine", "it was nice, but expensive", "but", "but good", "good but",
    "love it but love it but hate it",
    # least
    "least good", "at least good", "very least good", "the least bad option", "at least it's fine",
    # idioms and special cases
    "this is the shit", "that was the bomb", "what a bad ass car", "yeah right, great idea",
    "the kiss of death for sure", "a dress to die for", "my beating heart", "at the bus stop today",
    "kind of the bomb lol", "sort of the shit honestly", "this is not the bomb", "really the bomb",
    "sure the shit is good", "upper hand in the black",
    # punctuation emphasis
    "good!", "good!!", "good!!!!", "good!!!!!!!", "good?", "good??", "good???", "good?????",
    "bad!!!", "bad??", "ok?!?!", "!!!", "???", "wow!!! so bad???",
    # emoticons and punctuation stripping
    ":)", ":(", ":D", ":-)", ";)", "<3", "</3", ":'(", "xD", ":P", "(:", "):", "^_^", "-_-", "o_O",
    "good :)", "bad :(", "\"good\"", "'great'", "(happy)", "...sad...", "!!love!!", "a.b.c good",
    # emoji
    "🔥", "🔥🔥🔥", "this is fire 🔥🔥🔥", "😭", "😭😭 so good", "❤️", "❤", "❤️❤️❤️", "👍", "👎", "🙄",
    "💀", "🤮", "😂", "😍", "🥹", "💅", "✨", "🫶", "🙏", "good😍", "😍good", "a😍b", "😍 😍",
    "smile😀smile", "🇺🇸", "👩‍👩‍👧", "👍🏽", "©", "™ brand", "love ♥ you", "☹️ sad", "☺ ok",
    # whitespace and empties
    "", " ", "   ", "\t", "good\tbad", "good\nbad", "good\u00a0bad", "good\u2003great", "good\u001fbad",
    "  leading and trailing  ", "multiple   spaces   good",
    # non-English and mixed scripts
    "muy bueno", "c'est nul", "das ist gut", "とても良い", "очень хорошо", "جميل جدا", "😍 très joli",
    "ΣΟΦΟΣ good", "İstanbul is great", "STRASSE good",
    # numbers and misc
    "10/10", "0/10 would not recommend", "5 stars", "100%", "lol", "lmao", "rofl", "wtf", "omg",
    "ugh", "meh", "yay", "haha", "XOXO", "smh", "fml", "ftw",
    # longer comments
    "I bought this after watching your video and honestly it is not as good as you said, but the customer service was great.",
    "Not going to lie, I was skeptical at first but this serum has completely changed my skin!!!",
    "The shipping was slow, the box was damaged, and the product smelled weird. Never again.",
    "Kind of love it, kind of hate it. The colour is gorgeous but it fades after one wash :(",
    "WHY is nobody talking about how AMAZING this is??? I'm SO HAPPY with it!!!",
]


def main():
    analyzer = SentimentIntensityAnalyzer()
    texts = []
    seen = set()

    def add(source, text):
        if (source, text) in seen:
            return
        seen.add((source, text))
        texts.append((source, text))

    for t in EDGE_CASES:
        add("edge_case", t)
    with open(os.path.join(FIX, "creator_comments.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            add("creator_comments", row["text"])
    with open(os.path.join(FIX, "hutto_tweets.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if int(row["tweet_id"]) % 7 == 0:
                add("hutto_tweets", row["text"])
    out = os.path.join(FIX, "vader_reference.csv")
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["source", "text", "neg", "neu", "pos", "compound"])
        for source, text in texts:
            s = analyzer.polarity_scores(text)
            w.writerow([source, text, repr(s["neg"]), repr(s["neu"]), repr(s["pos"]), repr(s["compound"])])
    version = getattr(vaderSentiment, "__version__", None)
    print(f"wrote {len(texts)} rows to {out} (vaderSentiment {version or '3.3.2'}, Python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
