"""evaluate --run takes from the run what the original util_scripts.evaluate_metrics takes
from the run's config.txt (misc.load_dataset_for_previous_run): its data, mirror_augment
and, for a conditional Gs, the labels of the reals it reads."""

import os
import types

import numpy as np
import pytest

from tf_gans import families
from tf_gans.data import dataset_writers
from tf_gans.gan.config import RunConfig
from tf_gans.metrics import evaluation
from tf_gans.metrics import presets
from tf_gans.metrics import run_eval
from tf_gans.progressive import config as config_lib
from tf_gans.training import runfile
from tf_gans.training import snapshots


def quiet(*_, **__):
  pass


def test_default_options_take_the_runs_mirror_augment_and_sample_count():
  rg = types.SimpleNamespace(data='tfrecords:x', split='train', pad_to=0)
  mirrored = config_lib.ProgressiveConfig(logdir='x', mirror_augment=True)
  opts = run_eval.default_options(evaluation.Options(), rg, (), mirrored)
  assert (opts.data, opts.split, opts.mirror_augment, opts.num_samples) == (
      'tfrecords:x', 'train', True, evaluation.Options().num_samples)
  typed = evaluation.Options(mirror_augment=False, num_samples=500)
  assert not run_eval.default_options(typed, rg, ('mirror_augment',), mirrored).mirror_augment
  plain = config_lib.ProgressiveConfig(logdir='x')
  assert not run_eval.default_options(evaluation.Options(mirror_augment=True), rg, (),
                                      plain).mirror_augment
  assert not run_eval.default_options(evaluation.Options(), rg, (),
                                      RunConfig(logdir='x')).mirror_augment
  # A run config carrying the protocol's sample count (RGAN CAT: 10000 / 2000) is used
  # unless --num_samples is typed.
  counted = RunConfig(logdir='x', fid_num_samples=2000)  # configs/rgan/cat/*_cat256.cfg
  assert getattr(counted, run_eval.RUN_SAMPLE_COUNT_FIELD) == 2000
  opts = run_eval.default_options(evaluation.Options(), rg, (), counted)
  assert opts.num_samples == opts.num_images == 2000  # num_images: fid-rgan's typed count
  assert run_eval.default_options(typed, rg, ('num_samples',), counted).num_samples == 500


@pytest.fixture(scope='module')
def conditional_run(tmp_path_factory):
  """An untrained PGGAN run on a 16x16 set with 3-wide multi-hot labels; the run used 2
  of them (max_label_size=2) and mirror augment; one snapshot. (logdir, labels)."""
  tmp_path = tmp_path_factory.mktemp('conditional')
  rng = np.random.default_rng(1)
  images = rng.integers(0, 256, [40, 16, 16, 3]).astype(np.uint8)
  labels = rng.integers(0, 2, [40, 3]).astype(np.float32)
  data = tmp_path / 'data'
  dataset_writers.write_arrays(str(data), images, labels, progress=False)
  logdir = tmp_path / 'run'
  logdir.mkdir()
  cfg = config_lib.ProgressiveConfig(
      logdir=str(logdir), dataset=f'tfrecords:{data}', max_label_size=2, mirror_augment=True,
      fmap_base=16, fmap_max=8, fmap_decay=0.0, mbstd_group_size=4, progress=False,
      export=False)
  cfg.save(os.path.join(logdir, runfile.RUN_FILE))
  rg, _ = families.load_generator(str(logdir))
  assert rg.label_size == 2
  snapshots.Snapshots(str(logdir), 'pggan', rg.nets).write(0.032)
  return logdir, labels


def _spy(monkeypatch):
  """Records the label rows fed to Gs by the presets and the sizes of mirrored batches."""
  fed, flipped = [], []
  generate, mirror = presets.generate_with_labels, presets.mirror_augment
  monkeypatch.setattr(presets, 'generate_with_labels', lambda module, seed, rows: (
      fed.append(np.array(rows)), generate(module, seed, rows))[1])
  monkeypatch.setattr(presets, 'mirror_augment', lambda batch, r: (
      flipped.append(len(batch)), mirror(batch, r))[1])
  return fed, flipped


def test_a_conditional_mirrored_pggan_run_is_evaluated_as_the_original(conditional_run,
                                                                       monkeypatch):
  # Gs (untrained) gets the label rows of the last reals pass cut to 2 components, and
  # the reals are flipped as the run's were.
  logdir, labels = conditional_run
  fed, flipped = _spy(monkeypatch)
  rows = run_eval.evaluate_run(str(logdir), ['swd-16k'], evaluation.Options(
      num_images=12, progress=False, warmup=False), log=quiet)
  row = [r for r in rows if r.get('kimg') == 0.032][0]
  assert 'errors' not in row and np.isfinite(row['swd-16k/SWDx1e3_avg'])
  assert flipped == [12, 12]  # both reals passes mirrored (one minibatch of 256 each)
  # 12 < 256 images: one minibatch per pass, the second pass continues at record 12.
  np.testing.assert_array_equal(np.concatenate(fed), labels[12:24, :2])
  # The plain metrics sample Gs on the labels of their reals (the first images of the
  # split, in order), not the export's random one-hot labels.
  asked = []
  labels_for = run_eval.RealLabelled.labels_for
  monkeypatch.setattr(run_eval.RealLabelled, 'labels_for', lambda self, seed, num: (
      asked.append(labels_for(self, seed, num)), asked[-1])[1])
  rows = run_eval.evaluate_run(str(logdir), ['swd'], evaluation.Options(
      num_samples=16, progress=False), log=quiet)
  row = [r for r in rows if r.get('metrics') == ['swd']][0]
  assert 'errors' not in row and row['swd/num_images'] == 16
  np.testing.assert_array_equal(np.concatenate(asked), labels[:16, :2])


def test_evaluate_cli_takes_the_runs_mirror_augment_unless_typed(conditional_run, monkeypatch):
  from tests.inprocess_cli import run_main  # pylint: disable=import-outside-toplevel
  logdir, labels = conditional_run
  fed, flipped = _spy(monkeypatch)
  for typed, expected in (([], [8, 8]), (['--nomirror_augment'], [])):
    (logdir / run_eval.METRICS_FILE).unlink(missing_ok=True)  # else the snapshot is done
    del flipped[:], fed[:]
    out = run_main('evaluate', f'--run={logdir}', '--metrics=swd-16k', '--num_samples=8',
                   '--noprogress', *typed)
    assert out.returncode == 0, out.stderr[-2000:]
    assert flipped == expected
    np.testing.assert_array_equal(np.concatenate(fed), labels[8:16, :2])


def test_real_labelled_samples_are_the_conditional_exports_on_those_labels(monkeypatch):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from tf_gans.models import pggan  # pylint: disable=import-outside-toplevel
  from tf_gans.models import savedmodel  # pylint: disable=import-outside-toplevel
  gs = pggan.G_paper(num_channels=3, resolution=8, label_size=3, fmap_base=32, fmap_max=16,
                     latent_size=8)
  module = savedmodel.InMemoryExport(gs, 8, 'normal', (-1.0, 1.0), label_size=3)
  rows = np.eye(3, dtype=np.float32)[[0, 2, 1, 1, 0]]
  labelled = run_eval.RealLabelled(module, rows, seed=10)
  got = labelled.signatures['generate'](seed=13, num=4)['images'].numpy()  # samples 3..6
  np.testing.assert_array_equal(
      got, evaluation.generate_with_labels(module, 13, rows[[3, 4, 0, 1]]))
  unit = labelled.signatures['sample'](seed=13, num=4)['images'].numpy()
  np.testing.assert_array_equal(np.round(unit * 255).astype(np.uint8), got)
  plain = savedmodel.InMemoryExport(tf.keras.Sequential([tf.keras.layers.Dense(4)]), 3,
                                    'uniform', (0, 1))
  assert run_eval.real_labelled(plain, evaluation.Options()) is plain
  # Data that cannot give the labels is refused, naming it.
  from tf_gans.data import source as source_lib  # pylint: disable=import-outside-toplevel
  monkeypatch.setitem(source_lib.DATASETS._entries, 'unlabelled',  # pylint: disable=protected-access
                      lambda arg, split, **_: source_lib.ArraySource(
                          'unlabelled', np.zeros([4, 8, 8, 3], np.uint8), 1 / 255))
  with pytest.raises(ValueError, match=r'takes 3 labels but --data=unlabelled .* has none'):
    run_eval.real_labelled(module, evaluation.Options(data='unlabelled', split='train'))
  monkeypatch.setitem(source_lib.DATASETS._entries, 'two_labels',  # pylint: disable=protected-access
                      lambda arg, split, **_: source_lib.ArraySource(
                          'two', np.zeros([4, 8, 8, 3], np.uint8), 1 / 255, np.ones([4, 2])))
  with pytest.raises(ValueError, match=r'takes 3 label components but --data=two_labels has 2'):
    run_eval.real_labelled(module, evaluation.Options(data='two_labels', split='train'))
