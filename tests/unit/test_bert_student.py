"""The smaller BERT of chapter 6: a student cut from the teacher's layers, distilled on cached logits."""

import pytest
import torch

from kit.models.bert import student_from_layers
from kit.train.distill import distill_pairs
from kit.train.pairs import pair_logits


def tiny_bert(layers=4, seed=0):
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=layers, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32, num_labels=2)
    return BertForSequenceClassification(config).eval()


def tiny_pairs(n=24, length=10):
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(5, 50, (n, length), generator=generator)
    return {"input_ids": ids, "token_type_ids": torch.zeros_like(ids), "attention_mask": torch.ones_like(ids),
            "labels": torch.randint(0, 2, (n,), generator=generator)}


def test_student_keeps_the_chosen_layers_and_leaves_the_teacher_alone():
    teacher = tiny_bert()
    student = student_from_layers(teacher, [0, 3])
    assert len(student.bert.encoder.layer) == 2 and student.config.num_hidden_layers == 2
    assert len(teacher.bert.encoder.layer) == 4 and teacher.config.num_hidden_layers == 4
    for kept, original in zip(student.bert.encoder.layer, (teacher.bert.encoder.layer[0],
                                                           teacher.bert.encoder.layer[3]), strict=True):
        for a, b in zip(kept.parameters(), original.parameters(), strict=True):
            assert torch.equal(a, b) and a is not b          # copied, not shared
    assert torch.equal(student.classifier.weight, teacher.classifier.weight)
    inputs = {k: v for k, v in tiny_pairs().items() if k != "labels"}
    assert student(**inputs).logits.shape == (24, 2)


@pytest.mark.parametrize("layers", [[], [3, 0], [1, 1], [0, 4], [-1]])
def test_bad_layer_choices_are_refused(layers):
    with pytest.raises(ValueError, match="increasing indices of the teacher's 4 encoder layers"):
        student_from_layers(tiny_bert(), layers)


def test_distilled_student_moves_towards_the_teacher():
    encoded = tiny_pairs()
    cached = torch.randn(24, 2, generator=torch.Generator().manual_seed(3)) * 3    # a confident "teacher"
    student = student_from_layers(tiny_bert(), [0])

    def gap():
        return torch.nn.functional.kl_div(pair_logits(student, encoded).log_softmax(-1), cached.softmax(-1),
                                          reduction="batchmean")

    before = gap()
    history = distill_pairs(student, encoded, cached, alpha=1.0, temperature=1.0, epochs=30, batch_size=8, lr=3e-3,
                            desc=None)
    after = gap()
    assert len(history.losses) == 90 and after < 0.5 * before


def test_distill_pairs_refuses_logits_of_other_pairs():
    teacher = tiny_bert()
    encoded = tiny_pairs()
    with pytest.raises(ValueError, match="teacher logits for 24 pairs"):
        distill_pairs(student_from_layers(teacher, [0]), encoded, torch.zeros(5, 2), desc=None)
    with pytest.raises(ValueError, match="temperature"):
        distill_pairs(student_from_layers(teacher, [0]), encoded, torch.zeros(24, 2), temperature=0, desc=None)


def test_distill_pairs_with_length_buckets_and_alpha_zero_is_the_labels_only_student():
    encoded = tiny_pairs()
    encoded["attention_mask"][:12, 6:] = 0       # half the pairs are shorter
    cached = torch.randn(24, 2, generator=torch.Generator().manual_seed(3))
    students = [student_from_layers(tiny_bert(), [0]) for _ in range(2)]
    torch.manual_seed(5)                         # the same dropout masks in both runs
    first = distill_pairs(students[0], encoded, cached, alpha=0.0, epochs=2, batch_size=6, desc=None, bucket=True)
    torch.manual_seed(5)
    second = distill_pairs(students[1], encoded, torch.zeros(24, 2), alpha=0.0, epochs=2, batch_size=6, desc=None,
                           bucket=True)
    assert len(first.losses) == 8 and first.losses == pytest.approx(second.losses)   # the teacher plays no part


def test_students_are_stored_with_the_shared_word_embeddings_once(tmp_path):
    from safetensors import safe_open
    from transformers import AutoTokenizer

    from kit.models.bert import minilm_folder
    from kit.recipes import RECIPES

    recipe = RECIPES["bert-student"]
    config = recipe.config(True, "verses")
    assert recipe.variant() == "" and recipe.variant(seed=7) == "seed7"
    assert recipe.config(True, "verses", seed=7)["seeds"][0] == 7
    teacher = tiny_bert()
    students = torch.nn.ModuleDict()
    for i, (seed, way) in enumerate((s, w) for s in config["seeds"] for w in config["ways"]):
        student = recipe._student(teacher, config)
        assert not student.get_input_embeddings().weight.requires_grad
        with torch.no_grad():
            student.classifier.weight.add_(i)             # each student its own weights
        students[recipe.member(way, seed)] = student
    recipe.save(students, AutoTokenizer.from_pretrained(minilm_folder()), tmp_path)
    with safe_open(str(tmp_path / "model.safetensors"), "pt") as stored:
        assert sum("word_embeddings" in k for k in stored.keys()) == 1
    loaded, _ = recipe.load(tmp_path, config)
    assert list(loaded) == list(students)
    for key, student in students.items():
        for (name, a), b in zip(student.state_dict().items(), loaded[key].state_dict().values(), strict=True):
            assert torch.equal(a, b), (key, name)
    (tmp_path / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(Exception, match="readable students"):
        recipe.load(tmp_path, config)


def test_teacher_logits_by_length_come_back_in_the_pairs_order():
    encoded = tiny_pairs()
    encoded["attention_mask"][::3, 4:] = 0       # every third pair is shorter
    teacher = tiny_bert()
    assert torch.allclose(pair_logits(teacher, encoded, batch_size=5, by_length=True),
                          pair_logits(teacher, encoded, batch_size=5), atol=1e-5)
