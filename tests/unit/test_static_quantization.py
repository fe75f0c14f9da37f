"""kit.static_quantization and kit.quantization_apis: the checked static-quantization steps, their clear
errors, int8 save/reload, and the deprecation table chapter 5 prints."""

import warnings

import pytest
import torch
from torch import nn
from torch.ao.quantization import get_default_qconfig, prepare

from kit import quantization_apis
from kit import static_quantization as sq
from kit.checkpoints import CheckpointCorrupted, CheckpointMismatch
from kit.measure import time_by_module
from kit.models.cnn import SmallCNN

pytestmark = pytest.mark.filterwarnings("ignore:Please use quant_min and quant_max:UserWarning")
WIDTHS = (4, 8, 8, 16)


@pytest.fixture()
def cnn():
    torch.manual_seed(0)
    model = SmallCNN(widths=WIDTHS).train()
    model(torch.randn(16, 1, 32, 32))   # non-trivial BatchNorm statistics
    return model.eval()


def batches(count=2):
    return [torch.randn(8, 1, 32, 32) for _ in range(count)]


def test_unsupported_engine_names_the_available_ones():
    with pytest.raises(ValueError, match=r"'tpu' is not available.*x86"):
        sq.select_engine("tpu")
    assert sq.select_engine("x86") == "x86" and torch.backends.quantized.engine == "x86"


def test_calibration_batches_are_checked_and_seeded():
    images = torch.randn(100, 1, 32, 32)
    first, again = sq.calibration_batches(images, 3, 10, seed=1), sq.calibration_batches(images, 3, 10, seed=1)
    assert len(first) == 3 and all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    with pytest.raises(ValueError, match="at least one batch"):
        sq.calibration_batches(images, 0)
    with pytest.raises(ValueError, match="need 128 images but only 100"):
        sq.calibration_batches(images, 2, 64)


def test_calibrating_with_no_batches_or_an_unprepared_model_says_what_to_do(cnn):
    prepared = prepare(_with_qconfig(sq.quantizable(cnn)))
    with pytest.raises(ValueError, match="at least one batch of representative inputs"):
        sq.calibrate(prepared, [])
    with pytest.raises(ValueError, match=r"no observers.*prepare\(model\)"):
        sq.calibrate(cnn, batches())


def test_converting_an_unprepared_or_uncalibrated_model_is_refused(cnn):
    with pytest.raises(ValueError, match="convert needs a prepared model"):
        sq.convert_calibrated(sq.quantizable(cnn))
    prepared = prepare(_with_qconfig(sq.quantizable(cnn)))
    with pytest.raises(ValueError, match="never calibrated"):
        sq.convert_calibrated(prepared)
    sq.calibrate(prepared, batches())
    assert "quantized" in type(sq.convert_calibrated(prepared)[1].features[0][0]).__module__


def test_quantize_static_stays_close_to_the_float_model(cnn):
    x = torch.randn(16, 1, 32, 32)
    int8 = sq.quantize_static(cnn, get_default_qconfig("x86"), [x])
    with torch.inference_mode():
        assert sq.sqnr_db(cnn(x), int8(x)) > 15
    with pytest.raises(TypeError, match="SmallCNN"):
        sq.quantizable(nn.Linear(2, 2))


def test_sqnr():
    y = torch.tensor([3.0, 4.0])
    assert sq.sqnr_db(y, y) == float("inf")
    assert sq.sqnr_db(y, y * 0.9) == pytest.approx(20.0)


def test_fixed_batch_logits_pad_the_last_batch():
    seen = []

    def only_eight(x):
        assert len(x) == 8
        seen.append(len(x))
        return x.flatten(1)[:, :3]

    images = torch.randn(20, 1, 2, 2)
    out = sq.logits_in_fixed_batches(only_eight, images, 8)
    assert out.shape == (20, 3) and torch.equal(out, images.flatten(1)[:, :3]) and seen == [8, 8, 8]


def test_int8_save_and_reload_and_the_wrong_skeleton(cnn, tmp_path):
    qconfig = get_default_qconfig("x86")
    int8 = sq.quantize_static(cnn, qconfig, batches())
    path = sq.save_int8(int8, tmp_path / "cnn.pt", widths=WIDTHS, classes=10, engine="x86")
    assert not list(tmp_path.glob("*.tmp"))
    reloaded = sq.load_int8(path, sq.int8_skeleton(WIDTHS, 10, qconfig))
    x = torch.randn(4, 1, 32, 32)
    with torch.inference_mode():
        assert torch.equal(reloaded(x), int8(x))
    with pytest.raises(CheckpointMismatch, match=r"widths \[4, 8, 8, 16\].*int8_skeleton\(widths=\[4, 8, 8, 16\]"):
        sq.load_int8(path, sq.int8_skeleton((8, 16, 16, 32), 10, qconfig))
    torch.save(cnn.state_dict(), tmp_path / "float.pt")
    with pytest.raises(CheckpointMismatch, match="not written by kit.static_quantization.save_int8"):
        sq.load_int8(tmp_path / "float.pt", sq.int8_skeleton(WIDTHS, 10, qconfig))
    (tmp_path / "broken.pt").write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointCorrupted, match="save it again"):
        sq.load_int8(tmp_path / "broken.pt", sq.int8_skeleton(WIDTHS, 10, qconfig))
    with pytest.raises(FileNotFoundError, match="save_int8"):
        sq.load_int8(tmp_path / "absent.pt", sq.int8_skeleton(WIDTHS, 10, qconfig))


@pytest.mark.parametrize("row", quantization_apis.TABLE,
                         ids=[r.old.rsplit(".", 1)[-1] for r in quantization_apis.TABLE])
def test_the_deprecation_table_matches_the_installed_torch(row):
    assert quantization_apis.observed_status(row) == row.expected
    assert quantization_apis.replacement_available(row)


def test_a_replacement_that_does_not_import_is_reported():
    row = quantization_apis.TABLE[0]
    gone = quantization_apis.ApiRow(row.old, row.expected, row.replacement, ("torchao.quantization.no_such_api",))
    assert not quantization_apis.replacement_available(gone)
    assert not quantization_apis.replacement_available(quantization_apis.ApiRow(row.old, row.expected, "words", ()))


def test_time_by_module_covers_every_leaf(cnn):
    times = time_by_module(cnn, torch.randn(2, 1, 32, 32), runs=2, warmup=1)
    leaves = {n for n, m in cnn.named_modules() if n and not list(m.children())}
    assert set(times) == leaves | {""} and times[""] >= sum(v for k, v in times.items() if k) * 0.9
    with pytest.raises(ValueError, match="runs must be at least 1"):
        time_by_module(cnn, torch.randn(1, 1, 32, 32), runs=0)


def _with_qconfig(model):
    model.qconfig = get_default_qconfig("x86")
    return model


def test_no_stray_warnings_from_the_table():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        for row in quantization_apis.TABLE:
            quantization_apis.observed_status(row)   # records its warnings instead of raising them
