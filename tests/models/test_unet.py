"""The classic U-Net: shapes, odd sizes, gradient flow, configuration."""

from __future__ import annotations

import pytest
import torch

from lungnet.models import UNet


@pytest.mark.parametrize("size", [(32, 32), (64, 48), (37, 51), (1, 1), (17, 64)])
@pytest.mark.parametrize("in_channels", [1, 3])
def test_output_has_input_size_and_one_logit_channel(size, in_channels):
    model = UNet(in_channels=in_channels, base_channels=4, depth=3)
    out = model(torch.randn(2, in_channels, *size))
    assert out.shape == (2, 1, *size)
    assert out.dtype == torch.float32


def test_odd_sizes_are_padded_not_resampled():
    # A size that needs padding gives the same logits as the padded input cropped back,
    # i.e. padding only adds pixels beyond the image; nothing inside is resampled.
    torch.manual_seed(0)
    model = UNet(base_channels=4, depth=2).eval()
    x = torch.randn(1, 1, 30, 30)
    padded = torch.nn.functional.pad(x, (0, 2, 0, 2), mode="replicate")
    with torch.no_grad():
        assert torch.allclose(model(x), model(padded)[..., :30, :30], atol=1e-6)


def test_default_matches_the_seed_architecture():
    model = UNet()
    assert model.config == {
        "in_channels": 1,
        "out_channels": 1,
        "base_channels": 64,
        "depth": 4,
        "norm": "none",
    }
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert model.size_multiple == 16
    assert model.inc[0].out_channels == 64
    assert model.downs[-1][2].out_channels == 1024
    assert isinstance(model.outc, torch.nn.Conv2d) and model.outc.kernel_size == (1, 1)


def test_batch_norm_follows_every_convolution_and_replaces_its_bias():
    model = UNet(base_channels=4, depth=2, norm="batch")
    convs = [
        m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)
    ]
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(norms) == len(convs) and all(c.bias is None for c in convs)
    assert UNet(**model.config).config["norm"] == "batch"


def test_unknown_norm_is_refused():
    with pytest.raises(ValueError, match="norm"):
        UNet(norm="group")


def test_gradient_reaches_every_parameter():
    torch.manual_seed(0)
    model = UNet(in_channels=3, base_channels=4, depth=3)
    loss = model(torch.randn(2, 3, 32, 32)).square().mean()
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.count_nonzero(p.grad) > 0, name


def test_config_rebuilds_an_identical_network():
    model = UNet(in_channels=5, out_channels=2, base_channels=8, depth=2)
    clone = UNet(**model.config)
    clone.load_state_dict(model.state_dict())
    x = torch.randn(1, 5, 16, 16)
    with torch.no_grad():
        assert torch.equal(model(x), clone(x))


def test_channels_last_gives_the_same_logits():
    torch.manual_seed(0)
    model = UNet(base_channels=4, depth=2).eval()
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        ref = model(x)
        model = model.to(memory_format=torch.channels_last)
        out = model(x.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(ref, out, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"in_channels": 0}, "in_channels must be an int >= 1"),
        ({"depth": 0}, "depth must be an int >= 1"),
        ({"base_channels": 2.5}, "base_channels must be an int"),
        ({"out_channels": True}, "out_channels must be an int"),
        ({"depth": 2, "deep_supervision": 2}, r"deep_supervision must be an int in 0..1"),
        ({"deep_supervision": -1}, "deep_supervision must be an int"),
    ],
)
def test_invalid_parameters_are_refused_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        UNet(**kwargs)


def test_wrong_input_channels_are_refused():
    with pytest.raises(ValueError, match=r"expects input \(B, 3, H, W\)"):
        UNet(in_channels=3, base_channels=4, depth=2)(torch.randn(1, 1, 16, 16))


def test_deep_supervision_adds_one_output_per_coarser_level_of_the_expanding_path():
    net = UNet(in_channels=3, base_channels=4, depth=3, deep_supervision=2).eval()
    x = torch.randn(2, 3, 50, 37)  # not a multiple of 8: padded inside, cropped back
    levels = net.forward_levels(x)
    assert [tuple(o.shape) for o in levels] == [(2, 1, 50, 37), (2, 1, 25, 19), (2, 1, 13, 10)]
    assert torch.equal(levels[0], net(x))


def test_deep_supervision_heads_hold_the_only_extra_weights_and_forward_ignores_them():
    plain = UNet(base_channels=4, depth=3)
    deep = UNet(base_channels=4, depth=3, deep_supervision=2)
    extra = set(deep.state_dict()) - set(plain.state_dict())
    assert extra and all(name.startswith("aux_heads.") for name in extra)
    deep.load_state_dict(plain.state_dict(), strict=False)
    x = torch.randn(1, 1, 32, 32)
    assert torch.equal(deep.eval()(x), plain.eval()(x))


def test_config_names_deep_supervision_only_when_it_is_on():
    assert "deep_supervision" not in UNet(base_channels=4).config
    config = UNet(base_channels=4, deep_supervision=1).config
    assert config["deep_supervision"] == 1
    assert UNet(**config).config == config
