"""The checks of timm's own model suite (`tests/test_models.py` in timm's repository), for every registered UniRepLKNet:
pretrained cfgs, forward, backward, forward_features, features_only, forward_intermediates, FX feature extraction,
and TorchScript (marked as not supported, with the reason). Big variants are built on the meta device where only their
structure is checked, so the suite stays a few minutes on two cores."""
import math

import pytest
import timm
import torch
from timm.models import FeatureInfo

import rvm_nb.unireplknet  # noqa: F401  (registers the models)
from rvm_nb.unireplknet import UNIREPLKNET_PRETRAINED

ALL = [f'unireplknet_{v}' for v in UNIREPLKNET_PRETRAINED]
SMALL = ['unireplknet_a', 'unireplknet_f', 'unireplknet_p', 'unireplknet_n', 'unireplknet_t']  # built for real
FWD_SIZE, BWD_SIZE, FEAT_SIZE = 160, 128, 96  # timm's targets are 384 / 128 / 96; 160 keeps the forward cheap here


def _build(name, **kw):
    torch.manual_seed(0)
    return timm.create_model(name, pretrained=False, **kw)


def test_every_variant_is_registered_with_its_published_cfgs():
    assert timm.list_models('unireplknet_*') == sorted(ALL)
    for v, tags in UNIREPLKNET_PRETRAINED.items():
        for i, (tag, (size, classes, crop)) in enumerate(tags.items()):
            cfg = timm.get_pretrained_cfg(f'unireplknet_{v}.{tag}')
            assert (cfg.input_size, cfg.num_classes, cfg.crop_pct, cfg.pool_size) == ((3, size, size), classes, crop, (size // 32, size // 32))
            assert (cfg.mean, cfg.std, cfg.interpolation) == ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225), 'bicubic')
        assert timm.get_pretrained_cfg(f'unireplknet_{v}').tag == next(iter(tags))  # the first tag is the default


@pytest.mark.parametrize('name', ALL)
def test_model_default_cfgs_names_exist(name):
    """timm: `classifier` and `first_conv` of the cfg name weights of the model (checked on the meta device for all)."""
    with torch.device('meta'):
        model = _build(name)
    keys, cfg = model.state_dict().keys(), model.pretrained_cfg
    assert cfg['classifier'] + '.weight' in keys and cfg['first_conv'] + '.weight' in keys
    assert model.default_cfg['input_size'] == timm.get_pretrained_cfg(name).input_size


@pytest.mark.parametrize('name', SMALL)
def test_model_default_cfgs_shapes(name):
    """timm: forward_features is unpooled at the cfg's pool size; reset_classifier(0) pools to num_features;
    reset_classifier(0, '') returns the map."""
    model = _build(name).eval()
    x = torch.randn(1, *model.default_cfg['input_size'])
    pool = model.default_cfg['pool_size']
    with torch.no_grad():
        assert model.forward_features(x).shape[-2:] == pool
        model.reset_classifier(0)
        out = model(x)
        assert out.shape == (1, model.num_features)
        model.reset_classifier(0, '')
        out = model(x)
        assert out.ndim == 4 and out.shape[-2:] == pool and out.shape[1] == model.num_features


@pytest.mark.parametrize('name', SMALL)
def test_model_forward(name):
    model = _build(name).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, FWD_SIZE, FWD_SIZE))
    assert out.shape == (1, 1000) and not torch.isnan(out).any()


@pytest.mark.parametrize('name', ['unireplknet_a', 'unireplknet_t'])
def test_model_backward(name):
    """timm: 42 classes, train mode, batch 2: every parameter gets a gradient."""
    model = _build(name, num_classes=42).train()
    out = model(torch.randn(2, 3, BWD_SIZE, BWD_SIZE))
    out.mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert out.shape == (2, 42) and not missing and not torch.isnan(out).any(), missing


@pytest.mark.parametrize('name', SMALL)
def test_model_forward_features(name):
    model = _build(name, features_only=True).eval()
    channels = model.feature_info.channels()
    assert len(channels) == 4 and model.feature_info.reduction() == [4, 8, 16, 32]
    with torch.no_grad():
        outs = model(torch.randn(1, 3, FEAT_SIZE, FEAT_SIZE))
    assert [o.shape[1] for o in outs] == channels and not any(torch.isnan(o).any() for o in outs)


@pytest.mark.parametrize('name', SMALL)
def test_model_forward_intermediates(name):
    """timm's contract, as its suite checks it, plus the argument semantics."""
    model = _build(name).eval()
    info = FeatureInfo(model.feature_info, len(model.feature_info))
    x = torch.randn(1, 3, FEAT_SIZE, FEAT_SIZE)
    with torch.no_grad():
        final, inter = model.forward_intermediates(x)
        assert len(inter) == len(info.channels())
        for c, r, o in zip(info.channels(), info.reduction(), inter):
            assert o.shape[1] == c and o.shape[2] <= math.ceil(FEAT_SIZE / r) + 1 and not torch.isnan(o).any()
        assert torch.allclose(final, model.forward_features(x))
        last2 = model.forward_intermediates(x, indices=2, intermediates_only=True)  # an int: the last n
        assert [o.shape[1] for o in last2] == info.channels()[2:] and torch.equal(last2[1], inter[3])
        picked = model.forward_intermediates(x, indices=[0, -1], intermediates_only=True)
        assert torch.equal(picked[0], inter[0]) and torch.equal(picked[1], inter[3])
        early, feats = model.forward_intermediates(x, indices=[1], stop_early=True)
        assert torch.equal(early, inter[1]) and torch.equal(feats[0], inter[1])  # stopped after stage 1
        nhwc = model.forward_intermediates(x, output_fmt='NHWC', intermediates_only=True)
        assert torch.equal(nhwc[2], inter[2].permute(0, 2, 3, 1))
    with pytest.raises(ValueError, match="output_fmt must be 'NCHW' or 'NHWC'"):
        model.forward_intermediates(x, output_fmt='NLC')


def test_norm_applies_the_encoder_taps_norms():
    """In features mode (the seed's encoder), `norm=True` passes every stage output through its own norm{i}."""
    from rvm_nb.unireplknet import unireplknet
    torch.manual_seed(0)
    model = unireplknet('a', features_only=True).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        raw = model.forward_intermediates(x, intermediates_only=True)
        normed = model.forward_intermediates(x, norm=True, intermediates_only=True)
        for i, (r, n) in enumerate(zip(raw, normed)):
            assert torch.equal(n, getattr(model, f'norm{i}')(r))
        assert all(torch.equal(a, b) for a, b in zip(model(x), normed))


def test_prune_intermediate_layers():
    model = _build('unireplknet_a').eval()
    x = torch.randn(1, 3, FEAT_SIZE, FEAT_SIZE)
    with torch.no_grad():
        full = model.forward_intermediates(x, intermediates_only=True)
        kept = model.prune_intermediate_layers(indices=[0, 1])
        assert kept == [0, 1] and len(model.stages) == 2 and model.num_features == 80
        final, inter = model.forward_intermediates(x, indices=[0, 1])
        assert torch.equal(inter[1], full[1]) and torch.equal(final, full[1])
        assert model(x).shape == (1, 80, 12, 12)  # the head went with the pruned stages


@pytest.mark.parametrize('name', ['unireplknet_a', 'unireplknet_n'])
def test_model_forward_fx(name):
    """timm's FX feature extraction (torch.fx graph of the network) gives the same taps as eager."""
    from timm.models import create_feature_extractor
    model = _build(name).eval()
    fx = create_feature_extractor(model, return_nodes={f'stages.{i}': f's{i}' for i in range(4)})
    x = torch.randn(1, 3, FEAT_SIZE, FEAT_SIZE)
    with torch.no_grad():
        got, ref = fx(x), model.forward_intermediates(x, intermediates_only=True)
    for i in range(4): torch.testing.assert_close(got[f's{i}'], ref[i])


def test_torchscript_is_marked_unsupported():
    model = _build('unireplknet_a').eval()
    with pytest.raises(RuntimeError, match='UniRepLKNet is not TorchScript-able .* use torch.export'):
        torch.jit.script(model)
