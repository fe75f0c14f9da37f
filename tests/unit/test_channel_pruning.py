"""kit.channel_pruning: channels physically leave the CNN, the kept ones compute exactly what they did."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from kit.channel_pruning import channel_importance, check_keep, kept_channels, slimmed
from kit.models.cnn import SmallCNN


def trained_looking_cnn(seed=0):
    torch.manual_seed(seed)
    model = SmallCNN(widths=(8, 12, 16, 20))
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):   # statistics as training leaves them
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return model.eval()


def flops(model, x):
    with FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops()


def test_keeping_every_channel_changes_nothing():
    model, x = trained_looking_cnn(), torch.randn(5, 1, 32, 32)
    assert torch.allclose(slimmed(model, [8, 12, 16, 20])(x), model(x), atol=1e-6)


def test_removing_dead_channels_is_exact_and_cheaper():
    model, x = trained_looking_cnn(), torch.randn(5, 1, 32, 32)
    dead = {0: [1, 5], 1: [0, 3, 7, 11], 2: [2], 3: [4, 9, 19]}
    with torch.no_grad():   # a channel whose BatchNorm outputs a constant <= 0 is zero after the ReLU
        for block, channels in dead.items():
            bn = model.features[2 * block][1]
            bn.weight[channels] = 0.0
            bn.bias[channels] = -1.0
    keep = [w - len(dead[b]) for b, w in enumerate(model.widths)]
    small = slimmed(model, keep, criterion="bn-scale")
    assert small.widths == tuple(keep)
    assert torch.allclose(small(x), model(x), atol=1e-5)
    for block, channels in dead.items():
        kept = kept_channels(model, keep, "bn-scale")[block].tolist()
        assert not set(kept) & set(channels)
    assert flops(small, x) < 0.8 * flops(model, x)
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in model.parameters())


def test_the_original_model_is_left_alone():
    model = trained_looking_cnn()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    slimmed(model, [4, 6, 8, 10])
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_l1_keeps_the_largest_filters():
    model = trained_looking_cnn()
    with torch.no_grad():
        model.features[0][0].weight[3] *= 100
    assert 3 in kept_channels(model, [1, 12, 16, 20])[0].tolist()
    assert channel_importance(model, 0).argmax() == 3


@pytest.mark.parametrize("keep,words", [([8, 12, 16], "one channel count per conv block"),
                                        ([0, 12, 16, 20], "block 0 has 8 channels: keep from 1 to 8"),
                                        ([8, 13, 16, 20], "block 1 has 12 channels"),
                                        ([8, 12, 16.5, 20], "block 2"), ("8,12", "one channel count")])
def test_bad_keep_names_the_fix(keep, words):
    with pytest.raises(ValueError, match=words):
        check_keep(trained_looking_cnn(), keep)


def test_unknown_criterion_and_block():
    with pytest.raises(ValueError, match="choose one of l1, bn-scale"):
        channel_importance(trained_looking_cnn(), 0, "taylor")
    with pytest.raises(ValueError, match="conv blocks 0 to 3, not 4"):
        channel_importance(trained_looking_cnn(), 4)
