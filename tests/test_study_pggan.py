"""A study whose cells are PGGAN runs: configs/studies/pggan_tiny.study through the runner."""

import csv
import os
import pathlib

from absl import flags

from tf_gans import study as study_lib
from tf_gans.progressive.config import ProgressiveConfig
from tf_gans.studies import spec

ROOT = pathlib.Path(__file__).resolve().parents[1]


# The study file's runs, shorter and narrower: the claim is that the runner trains, evaluates
# and tabulates PGGAN cells, not what they learn.
SHORTER = ('fmap_base=16;fmap_max=8;total_kimg=0.512;lod_training_kimg=0.128;'
           'lod_transition_kimg=0.128;tick_kimg_base=0.256;network_snapshot_ticks=1')


def _pggan_study(study_dir, seeds):
  values = flags.FlagValues()
  lines = values.read_flags_from_files(
      [f'--flagfile={ROOT / "configs" / "studies" / "pggan_tiny.study"}'], force_gnu=True)
  get = lambda name: [l.split('=', 1)[1] for l in lines if l.startswith(f'--{name}=')]
  return spec.make_study(str(study_dir), str(ROOT / get('base_flagfile')[0]), get('cell'), seeds,
                         get('metric')[0], get('metric_key')[0], get('set')[0] + ';' + SHORTER,
                         get('eval')[0])


def test_a_pggan_study_runs_its_cells_and_tabulates_them(tmp_path):
  study = _pggan_study(tmp_path / 'study', seeds=[0])
  cfg = study.config(study.cells[1], 0)
  assert isinstance(cfg, ProgressiveConfig) and cfg.lod_initial_resolution == 8
  assert cfg.seed == 0 and cfg.total_kimg == 0.512 and not cfg.export and cfg.minibatch_base == 16
  messages = []
  study_lib.run_study(study, log=messages.append)
  for cell in ('progressive', 'full_resolution'):
    logdir = tmp_path / 'study' / cell / 'seed0'
    assert (logdir / 'run.json').exists() and (logdir / 'metrics.jsonl').exists()
  with open(tmp_path / 'study' / 'results.csv') as f:
    rows = {r['cell']: r for r in csv.DictReader(f)}
  assert set(rows) == {'progressive', 'full_resolution'}
  for row in rows.values():  # the Parzen log-likelihood at each network snapshot (kimg)
    at = [k for k in row if k.startswith('mean@')]
    assert len(at) == 2 and at[-1] == 'mean@0.512' and float(row['last_mean']) < 0
    assert row['last_step'] == '0.512' and all(row[k] for k in at)
  # Each run's values went into runs.csv, by kimg, its last snapshot final.
  with open(tmp_path / 'study' / 'runs.csv') as f:
    runs = list(csv.DictReader(f))
  assert [(r['cell'], r['unit'], r['position'], r['status']) for r in runs] == [
      (cell, 'kimg', kimg, status) for cell in ('progressive', 'full_resolution')
      for kimg, status in (('0.256', 'snapshot'), ('0.512', 'final'))]
  assert all(float(r['parzen/mean']) < 0 for r in runs)
  for r in runs:   # one seed: the table's last value is the run's final value
    if r['status'] == 'final':
      assert rows[r['cell']]['last_mean'] == f'{float(r["parzen/mean"]):.6g}'
  # A second call finds every run finished and recorded: nothing retrains.
  again = []
  study_lib.run_study(study, log=again.append)
  assert sum('skipped, finished (0.512 kimg, its final values in' in m for m in again) == 2, again
  assert os.path.exists(tmp_path / 'study' / 'full_resolution' / 'samples.png')  # a Gs grid
