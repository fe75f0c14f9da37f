from kit.exercises import evaluate


def test_always_paraphrase():
    assert evaluate("04-always-paraphrase", lambda p: (2 * p / (1 + p), p)).passed
    swapped = evaluate("04-always-paraphrase", lambda p: (p, 2 * p / (1 + p)))
    assert swapped.status == "not yet" and "accuracy is p" in swapped.message
    assert "harmonic mean" in evaluate("04-always-paraphrase", lambda p: (p, p)).message
    assert evaluate("04-always-paraphrase", lambda p: p).status == "not yet"


def right_encode(tokenizer, a, b):
    first, second = tokenizer.tokenize(a), tokenizer.tokenize(b)
    ids = [tokenizer.cls_token_id, *tokenizer.convert_tokens_to_ids(first), tokenizer.sep_token_id,
           *tokenizer.convert_tokens_to_ids(second), tokenizer.sep_token_id]
    return ids, [0] * (len(first) + 2) + [1] * (len(second) + 1)


def test_encode_pair():
    assert evaluate("04-encode-pair", right_encode).passed
    def no_cls(t, a, b):
        ids, types = right_encode(t, a, b)
        return ids[1:], types[1:]

    def all_zero(t, a, b):
        ids, _ = right_encode(t, a, b)
        return ids, [0] * len(ids)

    missing = evaluate("04-encode-pair", no_cls)
    assert missing.status == "not yet" and "[CLS]" in missing.message
    all_zero = evaluate("04-encode-pair", all_zero)
    assert "token_type_ids" in all_zero.message


def test_encode_pair_cannot_call_the_tokenizer_on_the_pair():
    from kit.exercises.bert_quantization import _tokenizer

    def shortcut(t, a, b):
        encoded = t(a, b)
        return encoded["input_ids"], encoded["token_type_ids"]

    def encode_shortcut(t, a, b):
        ids = t.encode(a, b)
        return ids, [0] * len(ids)

    for wrong in (shortcut, encode_shortcut):
        verdict = evaluate("04-encode-pair", wrong)
        assert verdict.status == "not yet" and "tokenizer.tokenize" in verdict.message
    tokenizer = _tokenizer()
    assert tokenizer("a", "b")["input_ids"][0] == tokenizer.cls_token_id      # the tokenizer works again afterwards
    assert "__call__" not in vars(type(tokenizer))                            # and its class is as it was


def test_amdahl():
    assert evaluate("04-amdahl", lambda share, speedup: 1 - share + share / speedup).passed
    assert "stays" in evaluate("04-amdahl", lambda share, speedup: 1 / speedup).message
    assert evaluate("04-amdahl", "0.4").status == "not yet"
