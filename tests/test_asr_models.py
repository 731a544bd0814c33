"""ASR acoustic models: shapes and receptive fields against their specifications,
named layers, the semi-orthogonal constraint, saved models and the YAML configs."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from sertl.config import ConfigError
from sertl.models import ConvNetConfig, TdnnConfig, build_model, load_model, save_model
from sertl.models.convnet import ConvBlock, FcBlock
from sertl.models.layers import BatchNorm, ContinuousDropout, constrain_semi_orthogonal
from sertl.models.tdnn import TdnnfLayer
from sertl.train.config import load_asr_config

REPO = Path(__file__).resolve().parents[1]
TDNN_1G_STRIDES = [0, 1, 1, 1, 0, 3, 3, 3, 3, 3, 3, 3, 3]


def small_tdnn(**overrides) -> TdnnConfig:
    """tdnn_1g's layout (strides, splice) at a width that runs fast."""
    values = dict(feat_dim=10, ivector_dim=3, hidden_dim=16, bottleneck_dim=4,
                  prefinal_dim=16, prefinal_bottleneck_dim=4)
    values.update(overrides)
    return TdnnConfig(**values)


def input_support(model: nn.Module, x: torch.Tensor, output_frame: int,
                  columns: slice = slice(None)) -> list[int]:
    """Input frames whose ``columns`` the given output frame depends on (by gradient)."""
    model.eval()
    for p in model.parameters():
        nn.init.normal_(p, std=0.3)
    x = x.clone().requires_grad_(True)
    model(x)[0, output_frame].sum().backward()
    grad = x.grad[0, :, columns].abs().sum(dim=1)
    return torch.nonzero(grad).flatten().tolist()


def test_tdnn_1g_conf_is_the_specified_network():
    _, config = load_asr_config(REPO / "conf/asr/tdnn_1g.yaml")
    assert config.type == "tdnn" and config.layer_type == "tdnnf"
    assert config.time_strides == TDNN_1G_STRIDES
    assert config.input_splice == [-1, 0, 1]
    assert (config.feat_dim, config.ivector_dim, config.hidden_dim) == (40, 100, 1024)
    assert config.frame_subsampling_factor == 3
    model = build_model(config, 100)
    names = [f"tdnn{i}" for i in range(1, 14)] + ["prefinal", "output"]
    assert model.layer_names() == names
    assert (model.left_context, model.right_context, model.subsampling) == (28, 28, 3)
    assert model.input_dim == 140
    layers = model.layers
    assert layers["tdnn1"].affine.weight.shape == (1024, 40, 3)
    assert layers["tdnn1"].ivector.weight.shape == (1024, 100, 1)
    for i, stride in enumerate(TDNN_1G_STRIDES[1:], start=2):
        layer = layers[f"tdnn{i}"]
        assert isinstance(layer, TdnnfLayer)
        assert layer.linear.weight.shape[:2] == (config.bottleneck_dim, 1024)
        assert layer.affine.weight.shape[:2] == (1024, config.bottleneck_dim)
        # full-rate layers keep their stride; from tdnn5 on the sequence is subsampled by 3
        kernel = 1 if stride == 0 else 2
        assert layer.linear.kernel_size == (kernel,)
        if stride:
            assert layer.linear.dilation == ((stride,) if i < 5 else (stride // 3,))
        assert isinstance(layer.bn, BatchNorm) and not layer.bn.affine
        assert isinstance(layer.dropout, ContinuousDropout)
        assert layer.bypass_scale == pytest.approx(0.66)
    assert layers["prefinal"].affine.weight.shape[:2] == (1024, 256)
    assert layers["output"].weight.shape[:2] == (100, 256)
    with torch.no_grad():
        out = model.eval()(torch.randn(2, 150 + 56, 140))
    assert out.shape == (2, 50, 100)


@pytest.mark.parametrize("frames", [30, 31, 32])
def test_tdnn_output_count_is_ceil_frames_over_subsampling(frames):
    model = build_model(small_tdnn(), 7).eval()
    out = model(torch.randn(3, frames + 56, 13))
    assert out.shape == (3, math.ceil(frames / 3), 7)


@pytest.mark.parametrize("layer_type", ["tdnnf", "tdnn"])
def test_tdnn_receptive_field_matches_strides(layer_type):
    torch.manual_seed(0)
    model = build_model(small_tdnn(layer_type=layer_type), 5)
    frames = 30
    x = torch.randn(1, frames + 56, 13)
    for k in (0, 4, 9):
        # output k belongs to central frame 3k, i.e. input frame 3k + 28
        assert input_support(model, x, k, slice(0, 10)) == list(range(3 * k, 3 * k + 57))


def test_tdnn_without_ivectors_and_other_layouts():
    config = small_tdnn(ivector_dim=0, time_strides=[0, 2, 0, 2], frame_subsampling_factor=2,
                        input_splice=[-2, 0, 2])
    model = build_model(config, 4)
    assert model.input_dim == 10
    assert (model.left_context, model.right_context, model.subsampling) == (6, 6, 2)
    torch.manual_seed(0)
    x = torch.randn(1, 20 + 12, 10)
    assert input_support(model, x, 3) == [12 + d for d in range(-6, 7, 2)]  # frame 2*3+6


def test_tdnn_forward_until_a_named_layer():
    model = build_model(small_tdnn(), 6).eval()
    x = torch.randn(2, 30 + 56, 13)
    assert model(x, until="tdnn12").shape == (2, 10 + 2, 16)
    assert model(x, until="prefinal").shape == (2, 10, 4)
    assert model.layer_context("tdnn12") == (25, 25, 3)
    assert model.layer_context("tdnn4") == (4, 4, 1)
    assert model(x, until="tdnn4").shape == (2, 30 + 56 - 8, 16)
    with pytest.raises(ValueError, match="no layer 'tdnn14'.*tdnn13, prefinal, output"):
        model(x, until="tdnn14")


def test_convnet_matches_fayek_table():
    _, config = load_asr_config(REPO / "conf/asr/convnet_fayek.yaml")
    assert config == ConvNetConfig()  # the conf spells out the paper's values
    model = build_model(config, 61)
    assert model.layer_names() == ["conv1", "conv2", "fc1", "fc2", "fc3", "output"]
    conv1, conv2 = model.layers["conv1"], model.layers["conv2"]
    assert isinstance(conv1, ConvBlock) and isinstance(conv2, ConvBlock)
    assert conv1[0].weight.shape == (64, 1, 5, 4) and conv2[0].weight.shape == (128, 64, 3, 3)
    for block in (conv1, conv2):
        assert isinstance(block[1], BatchNorm) and isinstance(block[2], nn.ReLU)
        assert (block[3].kernel_size, block[3].stride) == (2, 2)
    # 31 x 40 -> conv 27 x 37 -> pool 14 x 19 -> conv 12 x 17 -> pool 6 x 9
    assert model.layers["fc1"][0].weight.shape == (1024, 128 * 6 * 9)
    for name in ("fc1", "fc2", "fc3"):
        block = model.layers[name]
        assert isinstance(block, FcBlock) and block[0].out_features == 1024
        assert isinstance(block[1], BatchNorm) and block[3].p == pytest.approx(0.6)
    assert model.layers["output"].out_features == 61
    assert (model.left_context, model.right_context, model.subsampling) == (15, 15, 1)
    # He initialisation: weight std ~ sqrt(2 / fan_in)
    fc2 = model.layers["fc2"][0].weight
    assert fc2.std().item() == pytest.approx(math.sqrt(2 / 1024), rel=0.05)
    decay = {id(p): g["weight_decay"] for g in model.weight_decay_groups() for p in g["params"]}
    assert decay[id(conv1[0].weight)] == decay[id(conv2[0].weight)] == pytest.approx(1e-3)
    assert decay[id(model.layers["fc1"][0].weight)] == 0.0
    out = model.eval()(torch.randn(2, 8 + 30, 40))
    assert out.shape == (2, 8, 61)
    assert model(torch.randn(2, 8 + 30, 40), until="fc2").shape == (2, 8, 1024)


def test_convnet_receptive_field_is_31_frames():
    torch.manual_seed(0)
    config = ConvNetConfig(conv_channels=[4, 4], fc_dims=[8], dropout=0.0)
    model = build_model(config, 3)
    x = torch.randn(1, 6 + 30, 40)
    assert input_support(model, x, 2) == list(range(2, 2 + 31))


def test_semi_orthogonal_constraint_converges_to_scaled_identity():
    torch.manual_seed(0)
    weight = torch.randn(16, 48, 2) * 0.3
    weight[:4] *= 3.0  # far from orthogonal
    for _ in range(30):
        constrain_semi_orthogonal(weight)
    m = weight.reshape(16, -1)
    p = m @ m.t()
    scale = p.trace() / 16
    assert torch.allclose(p / scale, torch.eye(16), atol=1e-4)
    tall = torch.randn(40, 10, 1)  # more rows than columns: constrains M^T M
    for _ in range(30):
        constrain_semi_orthogonal(tall)
    q = tall.reshape(40, 10).t() @ tall.reshape(40, 10)
    assert torch.allclose(q / (q.trace() / 10), torch.eye(10), atol=1e-4)


def test_tdnn_applies_the_constraint_every_period_steps():
    model = build_model(small_tdnn(orthonormal_period=2), 4)
    linear = model.layers["tdnn3"].linear.weight
    with torch.no_grad():
        linear.mul_(torch.linspace(0.5, 2.0, linear.shape[0])[:, None, None])
    before = linear.detach().clone()
    model.after_optimizer_step(1)
    assert torch.equal(linear, before)
    model.after_optimizer_step(2)
    assert not torch.equal(linear, before)


def test_saved_model_round_trip(tmp_path):
    model = build_model(small_tdnn(), 5)
    for p in model.parameters():
        nn.init.normal_(p, std=0.1)
    model.eval()
    desc = {"feature_type": "mfcc_hires", "feat_dim": 10, "ivector_dim": 3}
    save_model(tmp_path / "final.pt", model, desc, [f"t{i}" for i in range(5)], None)
    loaded, saved = load_model(tmp_path / "final.pt")
    x = torch.randn(1, 10 + 56, 13)
    assert torch.allclose(loaded(x), model(x))
    assert saved["input"] == desc and saved["num_targets"] == 5
    assert saved["model_config"]["type"] == "tdnn"
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a sertl acoustic model"):
        load_model(tmp_path / "other.pt")


@pytest.mark.parametrize("name", ["tdnn_1g", "tdnn_small", "convnet_fayek", "convnet_small"])
def test_shipped_confs_load_and_build(name):
    config, model_config = load_asr_config(REPO / f"conf/asr/{name}.yaml")
    model = build_model(model_config, 10)
    assert model.layer_names()[-1] == "output"
    assert config.training.num_epochs >= 1


@pytest.mark.parametrize("section,key", [("model", "bottlenek_dim"), ("training", "lr_shedule"),
                                         ("data", "chunk_widht"), (None, "modle")])
def test_unknown_config_key_is_an_error_naming_file_and_key(tmp_path, section, key):
    text = (REPO / "conf/asr/tdnn_small.yaml").read_text()
    if section:
        text = text.replace(f"{section}:\n", f"{section}:\n  {key}: 1\n", 1)
    else:
        text += f"{key}: 1\n"
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=rf"{path}.*unknown key '.*{key}'"):
        load_asr_config(path)


def test_unknown_model_type_and_bad_values_are_errors(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model:\n  type: lstm\n")
    with pytest.raises(ConfigError, match=r"bad.yaml.*'lstm' is not one of \['tdnn', 'convnet'\]"):
        load_asr_config(path)
    path.write_text("model:\n  type: tdnn\n  time_strides: [1, 1]\n")
    with pytest.raises(ConfigError, match="time_strides\\[0\\] must be 0"):
        load_asr_config(path)
    path.write_text("model:\n  type: tdnn\ntraining:\n  dropout_schedule: '0,x@0.5,0'\n")
    with pytest.raises(ConfigError, match="cannot read 'x@0.5'"):
        load_asr_config(path)
