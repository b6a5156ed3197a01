"""Every network switch of the original `config.py` is a `ProgressiveConfig` field and flag
with the original's default, reaches G_paper / D_paper through `build_networks`, changes
what the nets compute, and is part of the architecture a resume keeps; run files written
before the switches existed load with the original's values."""

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tf_gans.layers import pggan as pgl
from tf_gans.models import pggan
from tf_gans.progressive import config as config_lib
from tf_gans.progressive import data as data_lib
from tf_gans.progressive import model

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# field -> (network function, its argument, the original config.py switch or None).
SWITCHES = {
    'use_wscale': ('G_paper/D_paper', 'use_wscale', '-nowscale'),
    'use_pixelnorm': ('G_paper', 'use_pixelnorm', '-nopixelnorm'),
    'use_leakyrelu': ('G_paper', 'use_leakyrelu', '-noleakyrelu'),
    'normalize_latents': ('G_paper', 'normalize_latents', None),
    'pixelnorm_epsilon': ('G_paper', 'pixelnorm_epsilon', '-fp16'),
    'mbstd_group_size': ('D_paper', 'mbstd_group_size', '-preset-v1-1gpu'),
    'fused_scale': ('G_paper/D_paper', 'fused_scale', None),
}
# Fields of the original schedule / training loop and their config.py presets.
PRESETS = {'lod_initial_resolution': '-nogrowing', 'G_smoothing': '-nosmoothing',
           'minibatch_repeats': '-norepeat', 'reset_opt_for_new_lod': '-noreset',
           'max_label_size': '-cond'}
NEW_FIELDS = ('use_pixelnorm', 'use_leakyrelu', 'normalize_latents', 'pixelnorm_epsilon')


def _dataset():
  images = np.random.default_rng(0).integers(0, 256, [8, 8, 8, 3]).astype(np.uint8)
  return data_lib.ArrayLods(images, name='tiny')


DATASET = _dataset()


def _cfg(**switches):
  return config_lib.ProgressiveConfig(logdir='', dataset='unused', fmap_base=32, fmap_max=16,
                                      latent_size=8, **switches).validate()


def _g(**switches):
  G, _, _ = model.build_networks(_cfg(**switches), DATASET, with_D=False)  # pylint: disable=invalid-name
  return G


def _copy(dst, src):
  theirs = src.reference_variables()
  for name, variable in dst.reference_variables().items():
    variable.assign(theirs[name])
  return dst


def _randomize(net, seed=0, positive=False):
  rng = np.random.default_rng(seed)
  for name, variable in net.reference_variables().items():
    if name != 'lod':
      value = rng.normal(size=variable.shape).astype(np.float32)
      variable.assign(np.abs(value) if positive else value)
  return net


LATENTS = np.random.default_rng(1).normal(size=[4, 8]).astype(np.float32)


def test_every_switch_is_a_field_with_the_originals_default_and_its_name():
  fields = {f.name: f for f in dataclasses.fields(config_lib.ProgressiveConfig)}
  cfg = config_lib.ProgressiveConfig(logdir='')
  g_kwargs, d_kwargs = cfg.network_kwargs(DATASET)
  for name, (function, argument, preset) in SWITCHES.items():
    help_text = fields[name].metadata['help']
    assert f'{function}({argument}=' in help_text, name
    if preset:
      assert preset in help_text, name
    assert name in config_lib.ARCHITECTURE, name
    # The defaults reach the nets as the original networks.py defaults.
    for kwargs, defaults in ((g_kwargs, pggan.G_DEFAULTS), (d_kwargs, pggan.D_DEFAULTS)):
      if argument in defaults:
        assert kwargs[argument] == defaults[argument], (name, kwargs[argument])
  for name, preset in PRESETS.items():
    assert preset in fields[name].metadata['help'], name
  assert cfg.lod_initial_resolution == 4 and cfg.max_label_size == 0  # TrainingSchedule, dataset
  # 0 means the original's epsilon: G_paper's 1e-8, or config.py -fp16's 1e-4 in float16.
  assert cfg.resolved_pixelnorm_epsilon() == 1e-8
  assert dataclasses.replace(cfg, dtype='float16').resolved_pixelnorm_epsilon() == 1e-4
  assert dataclasses.replace(cfg, dtype='float16',
                             pixelnorm_epsilon=1e-6).resolved_pixelnorm_epsilon() == 1e-6
  with pytest.raises(ValueError, match='--pixelnorm_epsilon must be >= 0'):
    _cfg(pixelnorm_epsilon=-1.0)
  with pytest.raises(ValueError, match='--max_label_size must be >= -1'):
    _cfg(max_label_size=-2)


def test_build_networks_passes_every_switch():
  switches = dict(use_wscale=False, use_pixelnorm=False, use_leakyrelu=False,
                  normalize_latents=False, pixelnorm_epsilon=1e-3, mbstd_group_size=2,
                  fused_scale=False)
  G, D, Gs = model.build_networks(_cfg(**switches), DATASET)  # pylint: disable=invalid-name
  for net in (G, Gs):
    for name, value in switches.items():
      if name in pggan.G_DEFAULTS:
        assert net.static_kwargs[name] == value, name
  assert D.static_kwargs['use_wscale'] is False and D.static_kwargs['fused_scale'] is False
  assert D.static_kwargs['mbstd_group_size'] == 2


def test_pixelnorm_runs_after_every_g_layer_only_when_on(monkeypatch):
  calls = []
  original = pgl.pixel_norm
  monkeypatch.setattr(pgl, 'pixel_norm', lambda x, *a, **k: calls.append(1) or original(x, *a, **k))
  counts = {}
  for use_pixelnorm in (True, False):
    for normalize_latents in (True, False):
      G = _g(use_pixelnorm=use_pixelnorm, normalize_latents=normalize_latents)  # pylint: disable=invalid-name
      calls.clear()
      G(LATENTS)
      counts[use_pixelnorm, normalize_latents] = len(calls)
  # 8x8: the latents, then 4x4 Dense and Conv, 8x8 Conv0 and Conv1 (after each activation).
  assert counts == {(True, True): 5, (True, False): 4, (False, True): 1, (False, False): 0}
  on = _randomize(_g())
  off = _copy(_g(use_pixelnorm=False), on)
  assert np.abs(on(LATENTS).numpy() - off(LATENTS).numpy()).max() > 1e-3


def test_normalize_latents_makes_g_blind_to_the_latents_scale():
  on = _randomize(_g())
  off = _copy(_g(normalize_latents=False), on)
  np.testing.assert_allclose(on(3.0 * LATENTS).numpy(), on(LATENTS).numpy(), atol=1e-5)
  assert np.abs(off(3.0 * LATENTS).numpy() - off(LATENTS).numpy()).max() > 1e-3
  np.testing.assert_allclose(off(LATENTS / np.sqrt(np.mean(LATENTS ** 2, 1, keepdims=True)
                                               + 1e-8)).numpy(), on(LATENTS).numpy(), atol=1e-5)


def test_use_leakyrelu_false_is_relu_in_g():
  leaky = _randomize(_g())
  relu = _copy(_g(use_leakyrelu=False), leaky)
  assert np.abs(leaky(LATENTS).numpy() - relu(LATENTS).numpy()).max() > 1e-3
  # Where no activation input is negative the two agree: only the negative side differs.
  _randomize(leaky, positive=True)
  _copy(relu, leaky)
  positive = np.abs(LATENTS)
  np.testing.assert_allclose(relu(positive).numpy(), leaky(positive).numpy(), rtol=1e-5)


def test_use_wscale_false_uses_the_weights_as_they_are():
  scaled = _randomize(_g(fused_scale=True))
  plain = _g(use_wscale=False, fused_scale=True)
  # He initialisation without runtime scaling: weights of std gain / sqrt(fan_in).
  fan_in = 9 * plain.nf(1)
  std = float(np.std(plain.reference_variables()['4x4/Conv/weight'].numpy()))
  assert abs(std - np.sqrt(2.0 / fan_in)) < 0.2 * np.sqrt(2.0 / fan_in)
  # The same function when the plain net holds the scaled net's runtime weights.
  for scope in scaled._scope_names:  # pylint: disable=protected-access
    (s_op, s_bias), (p_op, p_bias) = scaled.scope_layers(scope), plain.scope_layers(scope)
    p_op.weight.assign(s_op.runtime_weight())
    p_bias.bias.assign(s_bias.bias)
  np.testing.assert_allclose(plain(LATENTS).numpy(), scaled(LATENTS).numpy(), atol=1e-5)


def test_d_switches_change_its_variables():
  def d_of(**switches):
    _, D, _ = model.build_networks(_cfg(**switches), DATASET)  # pylint: disable=invalid-name
    return D
  on, off = d_of(), d_of(mbstd_group_size=0)
  conv = lambda d: d.reference_variables()['4x4/Conv/weight'].shape[2]  # input channels
  assert conv(on) == on.nf(1) + 1 and conv(off) == off.nf(1)  # + the stddev feature map
  assert '8x8/Conv1_down/weight' in on.reference_variables()
  assert '8x8/Conv1/weight' in d_of(fused_scale=False).reference_variables()


def test_an_old_run_file_loads_with_the_originals_switches(tmp_path):
  path = str(tmp_path / 'run.json')
  _cfg(use_pixelnorm=False).save(path)
  with open(path) as f:
    raw = json.load(f)
  for name in NEW_FIELDS:  # a run file written before these fields existed
    del raw[name]
  with open(path, 'w') as f:
    json.dump(raw, f)
  old = config_lib.ProgressiveConfig.load(path).validate()
  assert (old.use_pixelnorm, old.use_leakyrelu, old.normalize_latents) == (True, True, True)
  g_kwargs, _ = old.network_kwargs(DATASET)
  for name in ('use_pixelnorm', 'use_leakyrelu', 'normalize_latents', 'pixelnorm_epsilon'):
    assert g_kwargs[name] == pggan.G_DEFAULTS[name], name
  # What such a run built before: G_paper with its defaults, i.e. the same nets.
  assert old.network_kwargs(DATASET) == _cfg().network_kwargs(DATASET)


def test_resume_refuses_to_change_a_switch():
  cfg = _cfg()
  for name, value in (('use_pixelnorm', False), ('use_leakyrelu', False),
                      ('normalize_latents', False), ('pixelnorm_epsilon', 1e-4)):
    with pytest.raises(ValueError, match=f'would change the architecture: --{name}='):
      cfg.resumed_with({name: value})
  assert cfg.resumed_with({'use_pixelnorm': True}).use_pixelnorm  # the saved value: fine


def test_the_switches_are_train_flags(tmp_path):
  """The real absl flags (generated from the fields), as `tf_gans.train` parses them: a
  flag file's switches, then command-line ones."""
  flagfile = tmp_path / 'switches.cfg'
  flagfile.write_text('--model=pggan\n--nouse_pixelnorm\n--nouse_wscale\n--mbstd_group_size=0\n'
                      '--nofused_scale\n--lod_initial_resolution=128\n--max_label_size=-1\n')
  script = (
      'import sys\n'
      'from absl import flags\n'
      'from tf_gans import flags as tf_flags\n'
      'from tf_gans.progressive.config import ProgressiveConfig\n'
      'tf_flags.define_train_flags(require_logdir=False)\n'
      'flags.FLAGS(["x", "--logdir=l", "--flagfile=" + sys.argv[1], "--nouse_leakyrelu",\n'
      '             "--nonormalize_latents", "--pixelnorm_epsilon=1e-4"])\n'
      'cfg, given = tf_flags.config_from_flags(ProgressiveConfig)\n'
      'print(cfg.use_pixelnorm, cfg.use_wscale, cfg.mbstd_group_size, cfg.fused_scale,\n'
      '      cfg.lod_initial_resolution, cfg.max_label_size, cfg.use_leakyrelu,\n'
      '      cfg.normalize_latents, cfg.pixelnorm_epsilon)\n')
  out = subprocess.run([sys.executable, '-c', script, str(flagfile)], cwd=REPO,
                       capture_output=True, text=True, check=True,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'))
  assert out.stdout.split() == ['False', 'False', '0', 'False', '128', '-1', 'False', 'False',
                                '0.0001']


def test_switches_keep_float16_nets_buildable():
  g_kwargs, _ = _cfg(dtype='float16').network_kwargs(DATASET)
  assert g_kwargs['pixelnorm_epsilon'] == 1e-4
  G = pggan.G_paper(**g_kwargs)  # pylint: disable=invalid-name
  assert G(LATENTS).dtype == tf.float16
