"""lungnet.options: one declaration per setting gives the flag, its help, and its check."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import pytest

from lungnet.errors import ConfigError
from lungnet.options import add_options, check_options, config_from_args, option


@dataclass
class _Settings:
    data_dir: str = option(help="input folder", aliases=("-i", "--input"), required=True)
    batch_size: int = option(8, help="slices per step", minimum=1)
    fraction: float | None = option(0.5, help="share", above=0, below=1)
    loss: str = option("bce", help="loss", choices=("bce", "dice"))
    augment: bool = option(True, help="augment")
    hidden: int = option(3, help="not a flag", on_command_line=False)

    def __post_init__(self) -> None:
        check_options(self)


def _parse(*argv: str) -> _Settings:
    parser = argparse.ArgumentParser()
    add_options(parser, _Settings)
    return config_from_args(_Settings, parser.parse_args(argv))


def test_each_field_is_a_dashed_flag_with_its_underscore_spelling_and_aliases():
    assert _parse("-i", "d").data_dir == "d"
    assert _parse("--data_dir", "d", "--batch_size", "4").batch_size == 4
    settings = _parse("--input", "d", "--batch-size", "2", "--no-augment", "--fraction", "none")
    assert (settings.batch_size, settings.augment, settings.fraction) == (2, False, None)
    assert settings.hidden == 3


def test_fields_off_the_command_line_get_no_flag():
    with pytest.raises(SystemExit):
        _parse("-i", "d", "--hidden", "4")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"batch_size": 0}, r"batch_size \(--batch-size\) must be >= 1, got 0"),
        ({"fraction": 1.0}, r"fraction \(--fraction\) must be < 1, got 1.0"),
        ({"fraction": 0.0}, r"fraction \(--fraction\) must be > 0, got 0.0"),
        ({"loss": "focal"}, r"loss \(--loss\) must be one of bce, dice, got 'focal'"),
    ],
)
def test_values_out_of_range_are_config_errors_naming_the_flag(values, message):
    with pytest.raises(ConfigError, match=message):
        _Settings(data_dir="d", **values)


def test_a_recipe_fills_the_settings_left_unset_and_explicit_ones_win():
    from lungnet.engine.config import RECIPES, TrainConfig

    seed = TrainConfig(data_dir="d")
    assert (
        seed.loss,
        seed.norm,
        seed.context_slices,
        seed.augment_intensity,
        seed.tumor_sampling,
    ) == ("bce", "none", 0, False, "slice")
    ours = TrainConfig(data_dir="d", recipe="lungnet", loss="bce")
    assert ours.loss == "bce"  # given explicitly
    assert ours.norm == RECIPES["lungnet"]["norm"] and ours.context_slices == 1
    with pytest.raises(ConfigError, match="recipe"):
        TrainConfig(data_dir="d", recipe="fast")


def test_the_lungnet_recipe_deep_supervision_fits_a_shallower_u_net():
    from lungnet.engine.config import TrainConfig

    assert TrainConfig(data_dir="d").deep_supervision == 0
    assert TrainConfig(data_dir="d", recipe="lungnet").deep_supervision == 2
    assert TrainConfig(data_dir="d", recipe="lungnet", depth=2).deep_supervision == 1
    assert TrainConfig(data_dir="d", recipe="lungnet", deep_supervision=0).deep_supervision == 0


@pytest.mark.parametrize(
    ("field", "flag"),
    [("fov_crop", "--fov-crop"), ("mirror", "--mirror"), ("tumor_fade", "--tumor-fade")],
)
def test_cut_and_mirrored_training_slices_come_from_the_recipe_and_are_probabilities(field, flag):
    from lungnet.engine.config import RECIPES, TrainConfig

    assert getattr(TrainConfig(data_dir="d"), field) == 0.0
    assert getattr(TrainConfig(data_dir="d", recipe="lungnet"), field) == RECIPES["lungnet"][field]
    explicit = TrainConfig(data_dir="d", recipe="lungnet", **{field: 0.25})
    assert getattr(explicit, field) == 0.25
    with pytest.raises(ConfigError, match=rf"{field} \({flag}\) must be <= 1"):
        TrainConfig(data_dir="d", **{field: 1.5}).check()


def test_the_recipe_reaches_training_from_the_command_line():
    from lungnet.commands.train import add_arguments
    from lungnet.engine.config import TrainConfig

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["-i", "d", "--recipe", "lungnet", "--augment-intensity"])
    config = config_from_args(TrainConfig, args)
    assert config.recipe == "lungnet" and config.loss == "bce_dice"
    assert config.augment is False  # the recipe's
    assert config.tumor_sampling == "lesion"  # the recipe's
    assert config.augment_intensity is True  # given explicitly
