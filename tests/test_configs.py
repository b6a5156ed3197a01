"""Every shipped flag file names real flags, registered names and a valid configuration."""

import dataclasses
import pathlib

import pytest

from tf_gans import losses, models
from tf_gans.progressive.config import ProgressiveConfig
from tf_gans.training.config import RunConfig

CONFIGS = sorted((pathlib.Path(__file__).resolve().parents[1] / 'configs').rglob('*.cfg'))
GAN_CONFIGS = [p for p in CONFIGS if '--model=pggan' not in p.read_text()]
PGGAN_CONFIGS = [p for p in CONFIGS if '--model=pggan' in p.read_text()]
FIELDS = {f.name: f for f in dataclasses.fields(RunConfig)}
# --model selects the trainer; --resolution is the dataset check of tf_gans.progressive.flags.
PGGAN_FIELDS = dict({f.name: f for f in dataclasses.fields(ProgressiveConfig)},
                    model=dataclasses.field(default=''), resolution=dataclasses.field(default=0))


def parse_flagfile(path, fields=None):
  """--name=value / --name / --noname lines -> config keyword arguments."""
  fields = fields or FIELDS
  values = {}
  for line in path.read_text().splitlines():
    line = line.strip()
    if not line or line.startswith('#'):
      continue
    assert line.startswith('--'), f'{path}: {line!r} is not a flag'
    name, eq, raw = line[2:].partition('=')
    if not eq:  # boolean switch
      name, raw = (name[2:], 'false') if name.startswith('no') and name[2:] in fields else (name, 'true')
    assert name in fields, f'{path}: unknown flag --{name}'
    default = fields[name].default
    kind = type(default) if default is not None else (bool if raw in ('true', 'false') else str)
    if 'Optional[float]' in str(fields[name].type):
      kind = float
    if 'Optional[int]' in str(fields[name].type):
      kind = int
    values[name] = (raw == 'true') if kind is bool else kind(raw)
  return values


def test_there_are_configs():
  names = {p.name for p in CONFIGS}
  assert {'quickstart.cfg', 'gan_mnist.cfg', 'sgan_s1.cfg', 'ralsgan_s2.cfg', 'rasgan_cat64.cfg'} <= names
  assert len([p for p in CONFIGS if p.parent.name == 'rgan' and p.stem.endswith(('_s1', '_s2'))]) >= 16


@pytest.mark.parametrize('path', GAN_CONFIGS, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_config_is_valid(path):
  cfg = RunConfig(logdir='unused', **parse_flagfile(path)).validate()
  assert cfg.loss in losses.LOSSES
  assert cfg.model in models.names()


@pytest.mark.parametrize('path', PGGAN_CONFIGS, ids=lambda p: p.name)
def test_pggan_config_is_valid_and_reaches_full_resolution(path):
  values = parse_flagfile(path, PGGAN_FIELDS)
  resolution = values.pop('resolution')
  assert values.pop('model') == 'pggan'
  cfg = ProgressiveConfig(logdir='unused', **values).validate()
  # The schedule must cover every phase up to the config's resolution (no silent partial run).
  cfg.check_schedule(resolution.bit_length() - 1, path.name)
  assert not cfg.allow_partial_schedule


def test_pggan_1024_is_the_reference_celebahq_config():
  """Original `config.py`: the active CelebA-HQ 1024 run (`-preset-v2-1gpu`, `-fp32`)."""
  cfg = ProgressiveConfig(logdir='unused', **{
      k: v for k, v in parse_flagfile(CONFIGS[0].parent / 'pggan_1024.cfg', PGGAN_FIELDS).items()
      if k not in ('model', 'resolution')})
  tables = cfg.tables()
  assert tables['G_lrate_dict'] == tables['D_lrate_dict'] == {1024: 0.0015}
  assert tables['max_minibatch_per_gpu'] == {256: 16, 512: 8, 1024: 4}
  assert tables['minibatch_dict'] == {4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4}
  assert (cfg.lod_training_kimg, cfg.lod_transition_kimg, cfg.total_kimg) == (600, 600, 12000)
  assert (cfg.G_smoothing, cfg.D_repeats, cfg.minibatch_repeats) == (0.999, 1, 4)


@pytest.mark.parametrize('gpus', [2, 4, 8])
def test_pggan_multi_gpu_presets_split_every_minibatch_over_their_gpus(gpus):
  """Original `config.py`, presets `-preset-v2-2gpus` / `-4gpus` / `-8gpus`."""
  cfg = ProgressiveConfig(logdir='unused', **{
      k: v for k, v in parse_flagfile(CONFIGS[0].parent / f'pggan_1024_{gpus}gpus.cfg',
                                      PGGAN_FIELDS).items() if k not in ('model', 'resolution')})
  assert cfg.strategy == 'mirrored' and cfg.total_kimg == 12000
  seen = {}
  for kimg in range(0, 12000, 300):
    sched = cfg.schedule(kimg * 1000, 10, num_gpus=gpus)
    cfg.check_minibatch(sched, gpus)  # whole stddev groups of 4 on every GPU
    seen[sched.resolution] = sched.minibatch
  base = {2: 8, 4: 16, 8: 32}[gpus]
  assert seen[4] == {2: 256, 4: 512, 8: 512}[gpus]
  # 1024: the base minibatch, capped at 4 per GPU.
  assert seen[1024] == min(base, 4 * gpus)
  assert cfg.tables()['G_lrate_dict'][1024] == {2: 0.002, 4: 0.003, 8: 0.003}[gpus]
