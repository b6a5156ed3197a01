"""The run file and the resume policy every model shares."""

import dataclasses
import json

import pytest

from tf_gans.progressive.config import ProgressiveConfig
from tf_gans.training import runfile
from tf_gans.gan.config import RunConfig


def test_every_run_file_name_and_form_written_so_far_resumes(tmp_path):
  # Before the one-stack change: pggan_run.json, and run.json without `family`.
  old_pggan, old_gan = tmp_path / 'pggan', tmp_path / 'gan'
  old_pggan.mkdir()
  old_gan.mkdir()
  fields = dataclasses.asdict(ProgressiveConfig(logdir=str(old_pggan), fmap_base=512))
  (old_pggan / 'pggan_run.json').write_text(json.dumps(fields))
  (old_gan / 'run.json').write_text(json.dumps(dataclasses.asdict(RunConfig(logdir='x', steps=7))))
  assert runfile.locate(old_pggan)[1] == 'pggan' and runfile.locate(old_gan)[1] == 'gan'
  pg = runfile.resolve(ProgressiveConfig(logdir=str(old_pggan)), resume=True)
  assert pg.fmap_base == 512  # the saved value, not the default 8192
  assert runfile.resolve(RunConfig(logdir=str(old_gan)), resume=True).steps == 7
  # Written now: one name, with the family.
  path = tmp_path / 'new.json'
  pg.save(str(path))
  assert json.loads(path.read_text())['family'] == 'pggan'
  assert ProgressiveConfig.load(str(path)) == pg


def test_only_typed_flags_override_a_resumed_run(tmp_path):
  saved = RunConfig(logdir=str(tmp_path), steps=100, seed=5, loss='rsgan')
  saved.save(str(tmp_path / 'run.json'))
  flags_cfg = RunConfig(logdir=str(tmp_path), steps=300)  # seed 0, loss default: not typed
  got = runfile.resolve(flags_cfg, resume=True, explicit=('steps',))
  assert (got.steps, got.seed, got.loss) == (300, 5, 'rsgan')
  with pytest.raises(ValueError, match=r"--seed=0 \(run has 5\)"):
    runfile.resolve(flags_cfg, resume=True, explicit=('steps', 'seed'))
  with pytest.raises(ValueError, match='holds a gan run, not a pggan run'):
    runfile.resolve(ProgressiveConfig(logdir=str(tmp_path)), resume=True)
  with pytest.raises(FileExistsError, match=r'continue it with `python -m tf_gans.train --resume '
                                            r'--logdir='):
    runfile.resolve(flags_cfg, resume=False)
  assert runfile.saved_value(str(tmp_path), 'strategy') == 'default'
