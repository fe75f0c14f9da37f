"""Checks for chapter 4 (dynamic quantization of a BERT sentence-pair classifier)."""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from kit.exercises import NotYet, exercise, forbidden
from kit.exercises.answers import expect_function

_PAIRS = [
    ("The cat sat on the mat.", "A cat was sitting on the mat."),
    ("Quantization stores weights as 8-bit integers!", "Weights become int8."),
    ("He said, “Nobody knows.”", "Nobody knew what he meant, he said"),
]


@exercise("04-always-paraphrase")
def _always_paraphrase(answer: Any) -> str:
    expect_function(answer, "always_paraphrase(p) returning (f1, accuracy)")
    for p in (0.68, 0.5, 0.9):
        try:
            f1, accuracy = answer(p)
        except (TypeError, ValueError):
            raise NotYet("return a pair: (f1, accuracy).") from None
        if not math.isclose(accuracy, p, rel_tol=1e-6):
            raise NotYet(f"for p = {p}: the model is right exactly on the paraphrases, so accuracy is p.")
        if not math.isclose(f1, 2 * p / (1 + p), rel_tol=1e-6):
            raise NotYet(f"for p = {p}: recall is 1 (every paraphrase is found) and precision is p; "
                         "F1 is their harmonic mean 2PR / (P + R).")
    return ("Right: at MRPC's 68 % paraphrases, saying 'paraphrase' every time scores F1 0.81 and accuracy "
            "0.68 — read every model's F1 and accuracy against this baseline, not against 0.")


@cache
def _tokenizer() -> Any:
    from transformers import AutoTokenizer

    from kit.models.bert import minilm_folder

    return AutoTokenizer.from_pretrained(minilm_folder(), local_files_only=True)


@exercise("04-encode-pair")
def _encode_pair(answer: Any) -> str:
    expect_function(answer, "encode_pair(tokenizer, a, b) returning (input_ids, token_type_ids)")
    tokenizer = _tokenizer()
    for a, b in _PAIRS:
        expected = tokenizer(a, b)
        try:
            with forbidden((type(tokenizer), "__call__"), (type(tokenizer), "encode"),
                           reason="build the encoding yourself from tokenizer.tokenize, convert_tokens_to_ids, "
                                  "cls_token_id and sep_token_id; tokenizer(a, b) is what this exercise rebuilds."):
                ids, types = answer(tokenizer, a, b)
        except (TypeError, ValueError):
            raise NotYet("return a pair of lists: (input_ids, token_type_ids).") from None
        ids, types = [int(i) for i in ids], [int(t) for t in types]
        if ids != expected["input_ids"]:
            got = tokenizer.convert_ids_to_tokens(ids)[:6]
            raise NotYet(f"for {a!r} / {b!r} your ids start {got}: [CLS], the tokens of a, [SEP], the tokens "
                         "of b, [SEP] (tokenizer.tokenize, then convert_tokens_to_ids).")
        if types != expected["token_type_ids"]:
            raise NotYet("token_type_ids are 0 for [CLS], a and its [SEP], then 1 for b and the final [SEP].")
    return "Your encoding matches tokenizer(a, b) on three pairs: this is all the removed GLUE helper did."


@exercise("04-amdahl")
def _amdahl(answer: Any) -> str:
    expect_function(answer, "overall_ratio(linear_share, linear_speedup)")
    for share, speedup in ((0.8, 4.0), (0.5, 2.0), (0.95, 3.0), (1.0, 4.0)):
        expected = (1 - share) + share / speedup
        got = answer(share, speedup)
        if not isinstance(got, (int, float)) or not math.isclose(got, expected, rel_tol=1e-6):
            raise NotYet(f"for share {share} and speed-up {speedup}x: the other {1 - share:.0%} of the time stays "
                         "as it was; only the Linear share is divided by the speed-up.")
    return (f"Right: even infinitely fast Linear layers leave the other time — with 80 % in Linear, the ratio "
            f"cannot go below {1 - 0.8:.2f}.")
