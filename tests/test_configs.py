"""Every shipped flag file names real flags, registered names and a valid configuration."""

import dataclasses
import pathlib

import pytest

from tf_gans import losses, models
from tf_gans.training.config import RunConfig

CONFIGS = sorted((pathlib.Path(__file__).resolve().parents[1] / 'configs').rglob('*.cfg'))
FIELDS = {f.name: f for f in dataclasses.fields(RunConfig)}


def parse_flagfile(path):
  """--name=value / --name / --noname lines -> RunConfig keyword arguments."""
  values = {}
  for line in path.read_text().splitlines():
    line = line.strip()
    if not line or line.startswith('#'):
      continue
    assert line.startswith('--'), f'{path}: {line!r} is not a flag'
    name, eq, raw = line[2:].partition('=')
    if not eq:  # boolean switch
      name, raw = (name[2:], 'false') if name.startswith('no') and name[2:] in FIELDS else (name, 'true')
    assert name in FIELDS, f'{path}: unknown flag --{name}'
    default = FIELDS[name].default
    kind = type(default) if default is not None else (bool if raw in ('true', 'false') else str)
    if 'Optional[float]' in str(FIELDS[name].type):
      kind = float
    if 'Optional[int]' in str(FIELDS[name].type):
      kind = int
    values[name] = (raw == 'true') if kind is bool else kind(raw)
  return values


def test_there_are_configs():
  names = {p.name for p in CONFIGS}
  assert {'quickstart.cfg', 'gan_mnist.cfg', 'sgan_s1.cfg', 'ralsgan_s2.cfg', 'rasgan_cat64.cfg'} <= names
  assert len([p for p in CONFIGS if p.parent.name == 'rgan' and p.stem.endswith(('_s1', '_s2'))]) >= 16


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_config_is_valid(path):
  cfg = RunConfig(logdir='unused', **parse_flagfile(path)).validate()
  assert cfg.loss in losses.LOSSES
  assert cfg.model in models.names()
