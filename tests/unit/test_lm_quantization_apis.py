"""Chapter 9's table of torchao configs: each row behaves here as the table says (runs, raises which error, warns,
is missing, is an alias), and the dequantized weight of a weight-only config is the scheme the report names."""

from __future__ import annotations

import pytest
import torch

from kit import lm_quantization_apis as apis

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.mark.parametrize("row", apis.TABLE, ids=lambda row: row.name[:60])
def test_each_row_behaves_as_the_table_says(row):
    observed = apis.observe(row)
    assert observed.status == row.expected, (row.name, observed)
    if row.expected == apis.RAISES:
        assert observed.error == row.error, (row.name, observed)


def test_the_table_has_every_kind_of_row():
    kinds = {row.expected for row in apis.TABLE}
    assert {apis.RUNS, apis.RAISES, apis.WARNS, apis.MISSING, apis.ALIAS} <= kinds
    assert all(row.probe is not None for row in apis.TABLE if row.expected in (apis.RUNS, apis.RAISES, apis.WARNS))
    assert len({row.name for row in apis.TABLE}) == len(apis.TABLE)


def test_resolve_finds_and_misses():
    assert apis.resolve("torch.nn.Linear") is torch.nn.Linear
    assert apis.resolve("torch.nn.NoSuchLayer") is None
    assert apis.resolve("no_such_package.thing") is None


def weight(out_features: int = 64, in_features: int = 256) -> torch.Tensor:
    return torch.randn(out_features, in_features, generator=torch.Generator().manual_seed(2)) * 0.05


def test_int8_weight_only_is_symmetric_per_row_over_127_5():
    from torchao.quantization import Int8WeightOnlyConfig

    w = weight()
    scale = w.abs().amax(dim=1, keepdim=True) / 127.5
    codes = torch.clamp(torch.round(w * (1.0 / scale)), -128, 127)
    assert torch.equal(apis.dequantized_weight(w, Int8WeightOnlyConfig()), codes * scale)


@pytest.mark.parametrize("group", [32, 128])
def test_intx_int4_is_symmetric_per_group_over_7_5(group):
    from torchao.quantization import IntxWeightOnlyConfig, PerGroup

    w = weight()
    grouped = w.view(w.shape[0], -1, group)
    scale = grouped.abs().amax(dim=-1, keepdim=True) / 7.5
    codes = torch.clamp(torch.round(grouped * (1.0 / scale)), -8, 7)
    config = IntxWeightOnlyConfig(weight_dtype=torch.int4, granularity=PerGroup(group))
    assert torch.equal(apis.dequantized_weight(w, config), (codes * scale).view_as(w))


@pytest.mark.parametrize("group", [32, 128])
def test_prototype_int4_is_min_max_asymmetric_as_the_chapter_stores_it(group):
    from torchao.prototype.quantization.int4 import PrototypeInt4WeightOnlyConfig

    w = weight()
    grouped = w.view(w.shape[0], -1, group)
    low, high = grouped.amin(dim=-1, keepdim=True), grouped.amax(dim=-1, keepdim=True)
    scale = (high - low) / 15
    codes = torch.clamp(torch.round((grouped - low) / scale), 0, 15)
    ours = (scale * codes + low).view_as(w)
    theirs = apis.dequantized_weight(w, PrototypeInt4WeightOnlyConfig(group_size=group))
    torch.testing.assert_close(theirs, ours, rtol=0, atol=1e-6)


def test_dequantized_weight_refuses_a_vector():
    from torchao.quantization import Int8WeightOnlyConfig

    with pytest.raises(ValueError, match="out, in"):
        apis.dequantized_weight(torch.ones(8), Int8WeightOnlyConfig())
