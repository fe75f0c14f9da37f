"""Checkpoints made from others: the store ensures the upstream ones, hands them over, and a retrained teacher
makes its student out of date."""

from __future__ import annotations

import hashlib

import pytest
import torch
from torch import nn

from kit.checkpoints import ensure, folder_for, verify
from kit.errors import CheckpointMismatch, CheckpointMissing
from kit.recipes import RECIPES, Recipe, Trained, UpstreamSpec


class Teacher(Recipe):
    name = "tiny-teacher"
    description = "a linear layer to learn from"
    data_choices = ("ones",)
    trainings = 0

    def config(self, quick, data, **options):
        return {"data": data, "seed": 0}

    def fingerprint(self, config):
        return "ones-v1"

    def build(self, config):
        return nn.Linear(3, 2), None

    def train(self, model, extra, config, resume=None):
        type(self).trainings += 1
        with torch.no_grad():
            model.weight.fill_(float(type(self).trainings))
        return Trained({"score": 1.0}, [1.0], 0.01)


class Student(Teacher):
    name = "tiny-student"
    description = "a copy of its teacher"
    received: list[str] = []

    def config(self, quick, data, **options):
        return {"data": data, "seed": 0, "teacher": "tiny-teacher", "quick": quick}

    def upstream(self, config):
        return {"teacher": UpstreamSpec(config["teacher"], quick=config["quick"], data=config["data"])}

    def build(self, config, upstream=None):
        model = nn.Linear(3, 2)
        model.load_state_dict(self.handed(upstream, "teacher", config).model.state_dict())
        return model, None

    def load(self, folder, config):   # loading needs no teacher
        from safetensors.torch import load_file

        model = nn.Linear(3, 2)
        model.load_state_dict(load_file(folder / "model.safetensors"))
        return model.eval(), None

    def train(self, model, extra, config, resume=None, upstream=None):
        type(self).received.append(upstream["teacher"].name)
        return Trained({"score": 0.5}, [0.5], 0.01)


@pytest.fixture
def pair(tmp_path, monkeypatch):
    monkeypatch.setenv("KIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KIT_PROGRESS", "off")
    Teacher.trainings, Student.received = 0, []
    monkeypatch.setitem(RECIPES, "tiny-teacher", Teacher())
    monkeypatch.setitem(RECIPES, "tiny-student", Student())


def test_the_store_trains_the_teacher_first_and_hands_it_over(pair):
    student = ensure("tiny-student", quick=True)
    assert Teacher.trainings == 1 and Student.received == ["tiny-teacher"]
    assert folder_for("tiny-teacher", quick=True).is_dir()
    assert torch.equal(student.model.weight, torch.ones(2, 3))
    teacher = verify("tiny-teacher", quick=True)
    expected = hashlib.sha256(("ones-v1" + teacher["checksum"]).encode()).hexdigest()[:16]
    assert student.manifest["data_fingerprint"] == expected   # the data's and the teacher's, as before
    assert not ensure("tiny-student", quick=True).trained_now and Student.received == ["tiny-teacher"]


def test_a_retrained_teacher_makes_its_student_out_of_date(pair):
    ensure("tiny-student")
    ensure("tiny-teacher", force=True)
    with pytest.raises(CheckpointMismatch, match=r"from another tiny-teacher checkpoint than the one stored now "
                                                 r"\(it was retrained\), or on other data than the ones data here"):
        verify("tiny-student")
    assert ensure("tiny-student", force=True).trained_now


def test_a_recipe_called_without_its_upstream_says_how_to_train_it(pair):
    recipe = RECIPES["tiny-student"]
    with pytest.raises(CheckpointMissing, match=r"made from the tiny-teacher checkpoint.*ensure\('tiny-student'\)"):
        recipe.build(recipe.config(False, "ones"))
