"""Build the embedded MRPC-format paraphrase set in kit/assets/verse-pairs from two Bible translations.

Sources (public domain), read from Debian's SWORD modules: the King James Version
(`sword-text-kjv`, module engKJV2006eb) and the World English Bible (`sword-text-web`,
engWEB2015eb); both are installed here with apt when missing and run as root.

- positive (Quality 1): the same verse in both translations;
- negative (Quality 0): a verse in one translation and, in the other, the verse of the same book
  most similar to it by TF-IDF cosine (a hard negative: same names, same topic);
- positives are drawn from the freest translations and negatives are the closest look-alikes, so
  word overlap alone does not separate the classes (a bag-of-words baseline is reported);
- MRPC's sizes and balance: 3,668 train / 408 dev / 1,725 test pairs, 67.5 % positive;
- split by chapter (a hash of the reference), so no chapter feeds two splits, and a sentence that
  recurs elsewhere (parallel passages, refrains) is kept only when all its occurrences share a split;
- which translation comes first is random, and the ids are opaque numbers, so neither gives the answer.

    python data_scripts/build_verse_pairs.py
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_scripts.asset_checksums import update_checksums  # noqa: E402
from data_scripts.sword import MODULES, Key, module_verses  # noqa: E402
from kit.data.mrpc import SentencePair, read_mrpc, write_mrpc  # noqa: E402
from kit.paths import assets_dir  # noqa: E402

SIZES = {"train": 3668, "dev": 408, "test": 1725}
POSITIVE_SHARE = 0.675
MIN_WORDS, MAX_WORDS = 8, 45
SEED = 2026
FREEST_SHARE = 0.35  # positives are drawn from this share of verses with the freest translation
PACKAGES = {"engKJV2006eb": "sword-text-kjv", "engWEB2015eb": "sword-text-web"}


def ensure_modules() -> None:
    missing = [pkg for mod, pkg in PACKAGES.items() if not (MODULES / mod).is_dir()]
    if missing and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True)
    missing = [pkg for mod, pkg in PACKAGES.items() if not (MODULES / mod).is_dir()]
    if missing:
        sys.exit(f"SWORD modules missing: sudo apt-get install {' '.join(missing)}")


def split_of(key: Key) -> str:
    """Deterministic chapter-level split: 10 % dev, 30 % test, 60 % train of the chapters."""
    bucket = int(hashlib.sha256(f"{key[0]}.{key[1]}".encode()).hexdigest(), 16) % 100
    return "dev" if bucket < 10 else "test" if bucket < 40 else "train"


def opaque_id(translation: str, key: Key) -> str:
    return str(int(hashlib.sha256(f"{translation}:{key}".encode()).hexdigest(), 16) % 9_000_000 + 1_000_000)


def usable(text: str) -> bool:
    return MIN_WORDS <= len(text.split()) <= MAX_WORDS


def normalised(text: str) -> str:
    return " ".join(text.lower().replace("\u2019", "'").split())


def build() -> dict[str, list[SentencePair]]:
    kjv, web = module_verses("engKJV2006eb"), module_verses("engWEB2015eb")
    keys = sorted(k for k in kjv.keys() & web.keys() if usable(kjv[k]) and usable(web[k]))
    # A sentence repeated elsewhere in the Bible (parallel passages, refrains) must not cross splits.
    splits_of_text: dict[str, set[str]] = defaultdict(set)
    for key in keys:
        for text in (kjv[key], web[key]):
            splits_of_text[normalised(text)].add(split_of(key))
    keys = [k for k in keys if all(len(splits_of_text[normalised(t)]) == 1 for t in (kjv[k], web[k]))]
    by_split_book: dict[tuple[str, str], list[Key]] = defaultdict(list)
    for key in keys:
        by_split_book[split_of(key), key[0]].append(key)
    positive_cosine, negatives = similarities(by_split_book, kjv, web)
    rng = random.Random(SEED)
    texts = {"KJV": kjv, "WEB": web}
    result = {}
    for split, size in SIZES.items():
        candidates = [k for (s, _), ks in sorted(by_split_book.items()) if s == split for k in ks]
        n_pos = round(size * POSITIVE_SHARE)
        # Positives from the freest translations (lowest TF-IDF cosine), negatives from the closest
        # look-alikes (highest): word overlap alone must not separate the classes.
        by_freedom = sorted(candidates, key=lambda k: positive_cosine[k])
        positives = rng.sample(by_freedom[: int(len(by_freedom) * FREEST_SHARE)], n_pos)
        chosen = set(positives)
        rest = sorted((k for k in candidates if k not in chosen and k in negatives), key=lambda k: -negatives[k][1])
        pairs = [(1, ("KJV", k), ("WEB", k)) for k in positives]
        pairs += [(0, ("KJV", k), ("WEB", negatives[k][0])) for k in rest[: size - n_pos]]
        if len(pairs) < size:
            raise RuntimeError(f"{split}: only {len(pairs)} pairs could be built, {size} wanted")
        rng.shuffle(pairs)
        rows = []
        for label, first, second in pairs:
            if rng.random() < 0.5:
                first, second = second, first
            rows.append(SentencePair(label, opaque_id(*first), opaque_id(*second), texts[first[0]][first[1]],
                                     texts[second[0]][second[1]]))
        result[split] = rows
    return result


def similarities(by_split_book, kjv: dict, web: dict) -> tuple[dict[Key, float], dict[Key, tuple[Key, float]]]:
    """TF-IDF cosine of each verse's two translations, and each KJV verse's closest other WEB verse
    of the same book and split (skipping verses whose WEB text repeats its own)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    keys = [k for ks in by_split_book.values() for k in ks]
    vectorizer = TfidfVectorizer().fit([kjv[k] for k in keys] + [web[k] for k in keys])
    positive, negative = {}, {}
    for book_keys in by_split_book.values():
        a = vectorizer.transform([kjv[k] for k in book_keys])
        b = vectorizer.transform([web[k] for k in book_keys])
        scores = (a @ b.T).toarray()
        texts = [normalised(web[k]) for k in book_keys]
        for i, key in enumerate(book_keys):
            positive[key] = float(scores[i, i])
            for j in scores[i].argsort()[::-1]:
                if j != i and texts[j] != texts[i]:
                    negative[key] = (book_keys[j], float(scores[i, j]))
                    break
    return positive, negative


def bag_of_words_baseline(splits: dict[str, list[SentencePair]]) -> dict[str, float]:
    """Logistic regression on TF-IDF cosine, word overlap and length ratio: the bar BERT must clear."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    vectorizer = TfidfVectorizer().fit([t for p in splits["train"] for t in (p.text1, p.text2)])

    def features(pairs: list[SentencePair]) -> np.ndarray:
        a = vectorizer.transform([p.text1 for p in pairs])
        b = vectorizer.transform([p.text2 for p in pairs])
        cosine = np.asarray(a.multiply(b).sum(axis=1)).ravel()
        rows = []
        for p, c in zip(pairs, cosine, strict=True):
            w1, w2 = set(p.text1.lower().split()), set(p.text2.lower().split())
            rows.append([c, len(w1 & w2) / len(w1 | w2), min(len(w1), len(w2)) / max(len(w1), len(w2))])
        return np.array(rows)

    model = LogisticRegression().fit(features(splits["train"]), [p.label for p in splits["train"]])
    out = {}
    for split in ("dev", "test"):
        predicted = model.predict(features(splits[split]))
        truth = [p.label for p in splits[split]]
        out[f"{split}_accuracy"] = round(float(accuracy_score(truth, predicted)), 4)
        out[f"{split}_f1"] = round(float(f1_score(truth, predicted)), 4)
    return out


def main() -> None:
    ensure_modules()
    splits = build()
    out = assets_dir() / "verse-pairs"
    out.mkdir(parents=True, exist_ok=True)
    for split, pairs in splits.items():
        write_mrpc(out / f"{split}.tsv", pairs)
        assert read_mrpc(out / f"{split}.tsv") == pairs
        share = sum(p.label for p in pairs) / len(pairs)
        print(f"{split}: {len(pairs)} pairs, {share:.1%} positive")
    stats = {"sizes": {s: len(p) for s, p in splits.items()}, "baseline": bag_of_words_baseline(splits)}
    print("bag-of-words baseline (logistic regression on TF-IDF cosine, overlap, length ratio):", stats["baseline"])
    (out / "stats.json").write_text(json.dumps(stats, indent=1) + "\n")
    update_checksums()


if __name__ == "__main__":
    main()
