"""The shared CNN: shapes, clear errors, and that eager-mode static quantization works on it as it is."""

import warnings

import pytest
import torch
from torch import nn

from kit.models.cnn import SmallCNN, fusable_triples


def test_shapes_and_size():
    model = SmallCNN()
    assert model(torch.zeros(3, 1, 32, 32)).shape == (3, 10)
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)          # global pooling: any size >= 8
    assert 300_000 < sum(p.numel() for p in model.parameters()) < 1_000_000
    assert SmallCNN(widths=(8, 16)).widths == (8, 16)


@pytest.mark.parametrize(("kwargs", "message"), [({"classes": 1}, "at least 2 classes"),
                                                  ({"widths": (8, 0)}, "positive channel counts"),
                                                  ({"widths": ()}, "positive channel counts")])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SmallCNN(**kwargs)


def test_wrong_input_names_the_expected_shape():
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        SmallCNN()(torch.zeros(2, 3, 32, 32))


def test_fused_model_computes_the_same_function_and_quantizes():
    from torch.ao.quantization import DeQuantStub, QuantStub, convert, fuse_modules, get_default_qconfig, prepare

    torch.manual_seed(0)
    cnn = SmallCNN(widths=(8, 16, 16, 32))
    cnn.train()
    cnn(torch.randn(16, 1, 32, 32))          # give BatchNorm non-trivial running statistics
    model = nn.Sequential(QuantStub(), cnn, DeQuantStub()).eval()
    x = torch.randn(4, 1, 32, 32)
    reference = model(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message="Please use quant_min and quant_max")  # x86 qconfig's reduce_range
        fused = fuse_modules(model, fusable_triples(cnn, prefix="1."))
        assert torch.allclose(fused(x), reference, atol=1e-4)        # BN folded into the conv: same function
        fused.qconfig = get_default_qconfig("x86")
        prepared = prepare(fused)
        prepared(torch.randn(32, 1, 32, 32))                         # calibrate
        quantized = convert(prepared)
    first = quantized[1].features[0][0]
    assert type(first).__name__ == "ConvReLU2d" and "quantized" in type(first).__module__
    out = quantized(x)
    assert out.shape == (4, 10) and out.dtype == torch.float32
