"""kit.compression_grid and the cnn-grid recipe: the plan, the learning-rate choice, saving and loading."""

import pytest
import torch
from torch import nn
from torch.ao.quantization import convert

from kit.compression_grid import (
    Member,
    chosen_lr,
    later_members,
    member_epochs,
    qat_ready,
    selection_members,
    tuned_way,
)
from kit.models.cnn import SmallCNN
from kit.recipes import RECIPES, WeightsMismatch
from kit.static_quantization import calibrate, select_engine

CONFIG = {"budgets": [0.5, 0.2], "lrs": [1e-3, 3e-3], "seeds": [4, 5, 6], "epochs": 3, "scratch_epochs": 6}


def test_the_plan_tunes_every_trained_way_with_the_same_tries_then_runs_every_way_on_every_seed():
    first = selection_members(CONFIG)
    # the dense model's recovery, then labels, distill and Scratch-E per budget: two learning rates each
    assert len(first) == 2 + 2 * 3 * 2 and {m.seed for m in first} == {4}
    assert [m for m in first if m.budget is None] == [Member(None, "labels", 1e-3, 4), Member(None, "labels", 3e-3, 4)]
    valid = {m.key: 0.5 for m in first}
    valid[Member(0, "labels", 3e-3, 4).key] = 0.9       # budget 0: labels prefer the larger rate
    valid[Member(1, "distill", 1e-3, 4).key] = 0.9      # budget 1: distill prefers the smaller one
    valid[Member(1, "scratch_e", 3e-3, 4).key] = 0.9
    assert chosen_lr(CONFIG, valid, 0, "labels") == 3e-3
    assert chosen_lr(CONFIG, valid, 0, "distill") == 1e-3   # a tie goes to the first candidate
    assert chosen_lr(CONFIG, valid, 1, "qat") == 1e-3       # QAT takes distill's rate ...
    assert chosen_lr(CONFIG, valid, 1, "scratch_b") == 3e-3  # ... and Scratch-B takes Scratch-E's
    later = later_members(CONFIG, valid)
    assert Member(0, "labels", 3e-3, 5) in later and Member(0, "labels", 3e-3, 6) in later
    assert Member(None, "labels", 1e-3, 5) in later and Member(None, "labels", 1e-3, 6) in later
    for way, lr in (("qat", 1e-3), ("scratch_b", 3e-3)):   # never tuned: every seed runs in the later stage
        assert [m for m in later if m.budget == 1 and m.way == way] == [Member(1, way, lr, s) for s in (4, 5, 6)]
    every = first + later
    for budget in (0, 1):   # equal seeds for every way
        for way in ("labels", "distill", "qat", "scratch_e", "scratch_b"):
            assert {m.seed for m in every if m.budget == budget and m.way == way} == {4, 5, 6}, (budget, way)
    assert len(later) == 2 + 2 * (3 * 2 + 2 * 3) and len({m.key for m in every}) == len(every)
    assert Member(0, "distill", 1e-3, 4).key == "b0-distill-lr0_001-s4"
    assert Member(None, "labels", 1e-3, 4).key == "dense-labels-lr0_001-s4"
    assert tuned_way("scratch_b") == "scratch_e" and tuned_way("labels") == "labels"
    with pytest.raises(ValueError, match="unknown recovery way"):
        tuned_way("scratch")


def test_scratch_e_trains_for_the_dense_epochs_and_scratch_b_for_the_dense_compute():
    from kit.channel_allocation import cnn_macs

    dense, small = (32, 64, 128, 256), [16, 32, 64, 128]
    assert member_epochs(Member(0, "labels", 1e-3, 0), small, dense, CONFIG) == 3
    assert member_epochs(Member(0, "qat", 1e-3, 0), small, dense, CONFIG) == 3
    assert member_epochs(Member(0, "scratch_e", 1e-3, 0), small, dense, CONFIG) == 6
    scratch_b = member_epochs(Member(0, "scratch_b", 1e-3, 0), small, dense, CONFIG)
    assert scratch_b == pytest.approx(6 * cnn_macs(dense) / cnn_macs(small))
    assert scratch_b * cnn_macs(small) == pytest.approx(6 * cnn_macs(dense))   # the same MACs in training


def test_recipe_config_refuses_a_bad_seed_and_names_its_folder_variant():
    recipe = RECIPES["cnn-grid"]
    assert recipe.variant(seed=0) == "" and recipe.variant(seed=7) == "seed7"
    assert recipe.config(True, "fashion-embedded", seed=7)["seeds"] == [7]
    full = recipe.config(False, "fashion-embedded", seed=7)
    assert full["seeds"] == [7, 8, 9]
    # Scratch-E: the dense model's own epochs; QUICK scales every run alike (recovery 3 -> 0.5, Scratch-E 6 -> 1)
    assert full["scratch_epochs"] == RECIPES["cnn-fashion"].config(False, "fashion-embedded")["epochs"]
    quick = recipe.config(True, "fashion-embedded")
    assert quick["scratch_epochs"] / quick["epochs"] == full["scratch_epochs"] / full["epochs"]
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="whole number"):
            recipe.config(True, "fashion-embedded", seed=bad)


def tiny_grid():
    select_engine("x86")
    torch.manual_seed(0)
    keeps = [[4, 4, 4, 4]]
    float_member = SmallCNN(10, widths=(4, 4, 4, 4)).eval()
    dense_member = SmallCNN(10, widths=(6, 6, 8, 8)).eval()
    prepared = qat_ready(SmallCNN(10, widths=(4, 4, 4, 4)), "x86")
    calibrate(prepared, [torch.randn(4, 1, 32, 32)])
    qat_member = convert(prepared.eval())
    models = nn.ModuleDict({"b0-distill-lr0_001-s0": float_member, "b0-qat-lr0_001-s0": qat_member,
                            "dense-labels-lr0_001-s0": dense_member})
    grid = {"drops": [[0, 0.5, 0.1]], "keeps": keeps, "dense_widths": [6, 6, 8, 8], "chosen_lr": {},
            "members": [{"key": k} for k in models]}
    return models, grid


def test_a_saved_grid_loads_back_to_the_same_outputs(tmp_path):
    recipe = RECIPES["cnn-grid"]
    config = recipe.config(True, "fashion-embedded")
    models, grid = tiny_grid()
    recipe.save(models, grid, tmp_path)
    loaded, loaded_grid = recipe.load(tmp_path, config)
    assert loaded_grid == grid
    x = torch.randn(3, 1, 32, 32)
    with torch.no_grad():
        for key in models:
            assert torch.equal(models[key](x), loaded[key](x)), key


def test_a_grid_with_missing_or_misshapen_weights_is_reported(tmp_path):
    recipe = RECIPES["cnn-grid"]
    config = recipe.config(True, "fashion-embedded")
    models, grid = tiny_grid()
    recipe.save(models, grid, tmp_path)
    bigger = dict(grid, keeps=[[8, 4, 4, 4]])
    (tmp_path / "grid.json").write_text(__import__("json").dumps(bigger))
    with pytest.raises(WeightsMismatch, match="does not fit its shape"):
        recipe.load(tmp_path, config)
    (tmp_path / "qat_int8.pt").write_bytes(b"not a torch file")
    with pytest.raises(WeightsMismatch, match="readable grid"):
        recipe.load(tmp_path, config)


def test_an_interrupted_grid_resumes_after_its_last_finished_model(tmp_path, monkeypatch, capsys):
    """Models finished before an interruption (QAT's int8 ones included) are kept and not trained again."""
    import kit.compression_grid as grid_module
    from kit.train.resume import ResumeFile

    recipe = RECIPES["cnn-grid"]
    config = recipe.config(True, "fashion-embedded")
    trained = []

    def fake_member(member, keep, data, logits, config_, desc=None):
        if len(trained) == 8 and not fake_member.resumed:   # after the first QAT model
            raise KeyboardInterrupt("stopped by the test")
        trained.append(member.key)
        torch.manual_seed(len(trained))
        if member.way == "qat":
            prepared = qat_ready(SmallCNN(10, widths=tuple(keep)), "x86")
            calibrate(prepared, [torch.randn(2, 1, 32, 32)])
            return convert(prepared.eval())
        return SmallCNN(10, widths=tuple(keep)).eval()

    fake_member.resumed = False
    monkeypatch.setattr(grid_module, "train_member", fake_member)
    monkeypatch.setattr(grid_module, "plan_shapes", lambda data, config_: ({(0, 0.5): 0.1}, [[4, 4, 4, 4]] * 2))
    monkeypatch.setattr(grid_module, "accuracy", lambda model, x, y: 0.5, raising=False)
    monkeypatch.setattr("kit.train.classify.accuracy", lambda model, x, y: 0.5)
    monkeypatch.setattr(type(recipe), "_teacher", lambda self, config_: type("T", (), {"model": SmallCNN(10)})())
    monkeypatch.setattr("kit.distillation.teacher_logits", lambda teacher, images: torch.zeros(len(images), 10))
    resume = ResumeFile(tmp_path / "grid.resume.pt", config)
    model, extra = recipe.build(config)
    with pytest.raises(KeyboardInterrupt):
        recipe.train(model, extra, config, resume=resume)
    assert len(trained) == 8 and resume.path.is_file()
    assert trained[0].startswith("dense-") and trained[-1].startswith("b0-qat-")
    fake_member.resumed = True
    model, extra = recipe.build(config)
    result = recipe.train(model, extra, config, resume=ResumeFile(tmp_path / "grid.resume.pt", config))
    assert "resuming the grid: 8 models already trained" in capsys.readouterr().out
    # 7 selection runs (the dense model's and 3 ways x 2 budgets), then QAT and Scratch-B per budget; none twice
    assert len(trained) == 11 and len(set(trained)) == 11
    assert set(model.keys()) == set(trained) and len(result.metrics) == 22
    assert extra["dense_widths"] == [32, 64, 128, 256] and set(extra["epochs"]) == set(trained)
