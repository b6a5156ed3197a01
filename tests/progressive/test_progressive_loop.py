"""The progressive loop: resumable on the same trajectory, artefacts, and bad input."""

import dataclasses
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from conftest import PGGAN_BLOCKS, blocks_images
from tf_gans.progressive import smoke
from tf_gans.progressive import config as config_lib
from tf_gans.progressive import data as data_lib
from tf_gans.progressive import loop
from tf_gans.progressive import model


def _dataset():
  """The blocks in memory: the same stream as the straight run's TFRecords folder."""
  return data_lib.ArrayLods(blocks_images(), name='blocks')


def _cfg(logdir, **kw):
  # 16x16: 4x4 for 32 images, fade to 8x8, 8x8, fade to 16x16, then 16x16.
  args = dict(PGGAN_BLOCKS, logdir=str(logdir), dataset='unused', progress=False)
  return config_lib.ProgressiveConfig(**{**args, **kw})


@pytest.fixture
def straight(pggan_straight):
  """The whole schedule, trained once per session (tests/conftest.py)."""
  return pggan_straight


def _state(logdir, checkpoint=''):
  """A checkpoint's tensors: the latest, or `checkpoint` ('ckpt-128': at 128 images)."""
  reader = tf.train.load_checkpoint(os.path.join(logdir, 'checkpoints', checkpoint))
  return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
          if not k.startswith('_CHECKPOINTABLE') and 'save_counter' not in k}


def test_kill_and_resume_continues_the_same_trajectory(tmp_path, straight):
  data = _dataset()
  quiet = lambda *a, **k: None
  assert straight.cur_nimg == 192 and straight.lod == 0.0
  # Stop mid-fade (96 images: lod 1.0 -> the 16x16 fade starts at 128), then resume.
  first = loop.train(_cfg(tmp_path / 'b', total_kimg=0.096, allow_partial_schedule=True),
                     dataset=data, log=quiet)
  assert first.cur_nimg == 96 and first.lod == pytest.approx(1.0)
  resumed = loop.train(_cfg(tmp_path / 'b'), resume=True, dataset=data, explicit=('total_kimg',),
                       log=quiet)
  assert resumed.cur_nimg == 192
  a, b = _state(straight.logdir), _state(tmp_path / 'b')
  assert sorted(a) == sorted(b)
  gs_keys = [k for k in a if k.startswith('Gs/')]
  assert gs_keys and any('data_pos' in k for k in a) and any('G_opt' in k for k in a)
  for k in a:
    np.testing.assert_allclose(b[k], a[k], rtol=1e-5, atol=1e-6, err_msg=k)


def test_artefacts_and_export(straight):
  result = straight
  names = sorted(os.listdir(result.logdir))
  assert {'reals.png', 'fakes000000.png', 'run.json', 'history.csv', 'loss_curves.png',
          'tensorboard'} <= set(names)
  assert json.load(open(os.path.join(result.logdir, 'run.json')))['family'] == 'pggan'
  assert len([n for n in names if n.startswith('fakes')]) >= 3  # one per tick, sub-kimg names
  # G's grid beside Gs's while Gs (beta 0.999) is mostly its initialisation.
  assert 'fakes000000.064_G.png' in names
  rows = open(os.path.join(result.logdir, 'history.csv')).read().splitlines()
  header = rows[0].split(',')
  assert header[0] == 'kimg' and {'D_loss', 'G_loss', 'lod', 'minibatch', 'G_lrate',
                                  'images_per_sec', 'gradient_penalty'} <= set(header)
  assert [float(r.split(',')[0]) for r in rows[1:]] == [0.064, 0.128, 0.192]  # one row per tick
  saved = tf.saved_model.load(result.export_dir)
  z = np.random.default_rng(0).standard_normal([2, 8]).astype(np.float32)
  assert saved.signatures['serving_default'](latents=z)['images'].shape == (2, 16, 16, 3)


def test_resume_refuses_a_changed_architecture(tmp_path, straight):
  data = _dataset()
  with pytest.raises(ValueError, match=r'change the architecture: --fmap_max=16 \(run has 8\)'):
    loop.train(_cfg(straight.logdir, fmap_max=16), resume=True, dataset=data, explicit=('fmap_max',))
  # The checkpoint check names each mismatched reference variable.
  other = model.PGGAN(dataclasses.replace(_cfg(tmp_path / 'x'), fmap_max=16, fmap_base=16), data)
  ckpt = tf.train.latest_checkpoint(os.path.join(straight.logdir, 'checkpoints'))
  with pytest.raises(ValueError, match=r"G/4x4/Dense/weight: checkpoint \(8, 128\), ours \(16, 256\)"):
    model.check_checkpoint_shapes(ckpt, {'G': other.G, 'D': other.D})


def test_bad_schedules_and_resolutions(tmp_path):
  with pytest.raises(ValueError, match=r'--total_kimg=0.1 ends before the schedule reaches full '
                                       r'resolution \(16x16 of unused at 0.128 kimg'):
    loop.train(_cfg(tmp_path, total_kimg=0.1), dataset=_dataset())
  with pytest.raises(ValueError, match='--minibatch_dict: resolution 6 is not a power of 2'):
    _cfg(tmp_path, minibatch_dict='4:16,6:8').validate()
  with pytest.raises(ValueError, match='--G_lrate_dict: expected res:value pairs'):
    _cfg(tmp_path, G_lrate_dict='1024=0.1').validate()
  with pytest.raises(FileNotFoundError, match='no folder nowhere'):
    data_lib.open_dataset('tfrecords:nowhere')
  with pytest.raises(ValueError, match=r'--resolution=64, but digits holds 8x8 images'):
    loop.train(dataclasses.replace(_cfg(tmp_path), dataset='digits'), resolution=64)
  assert not os.path.exists(tmp_path / 'run.json')


def test_smoke_config_visits_every_resolution():
  cfg = smoke.smoke_config(_cfg('x', total_kimg=12000), 10)
  sched = [cfg.schedule(n, 10) for n in range(0, int(cfg.total_kimg * 1000) + 1, 16)]
  assert {s.resolution for s in sched} == {4, 8, 16, 32, 64, 128, 256, 512, 1024}
  assert sched[-1].lod == 0.0 and cfg.fmap_max == 8
  assert any(s.lod != int(s.lod) for s in sched)  # the fades are visited too


def test_mirrored_run_follows_the_single_device_trajectory(tmp_path, straight):
  # The schedule up to the end of the 8x8 fade (4x4, the fade, the Adam reset at its
  # start, data positions, Gs) over two logical CPUs: minibatch 8 = 4 per replica; the
  # checkpoint equals the one-device run's at that point (the straight run's, saved at
  # 64 images). Each phase costs a trace per replica: to the 16x16 fade (128 images) this
  # took ~50 s; the multi-worker test (test_progressive_multi_worker) goes through 8x8.
  # (Not much further: GAN training amplifies float reordering, 1e-7 -> 1e-2 in ~40 more
  # steps here, as it would any other reordering.)
  quiet = lambda *a, **k: None
  kw = dict(total_kimg=0.064, allow_partial_schedule=True)
  two = loop.train(_cfg(tmp_path / 'two', strategy='mirrored', **kw), dataset=_dataset(), log=quiet)
  assert two.cur_nimg == 64 and two.export_dir
  a, b = _state(straight.logdir, 'ckpt-64'), _state(two.logdir)
  assert sorted(a) == sorted(b)
  for k in a:
    np.testing.assert_allclose(b[k], a[k], rtol=1e-4, atol=2e-5, err_msg=k)


def test_minibatch_that_the_stddev_groups_cannot_split_is_refused(tmp_path):
  with pytest.raises(ValueError, match=r'gives 6 images per replica \(12 over 2\), not a multiple '
                     r'of --mbstd_group_size=4'):
    loop.train(_cfg(tmp_path / 'g', strategy='mirrored', minibatch_base=12), dataset=_dataset(),
               log=lambda *a, **k: None)
  assert not os.path.exists(tmp_path / 'g' / 'checkpoints' / 'checkpoint')


def _write_original_pickle(path, nets):
  """(G, D, Gs) in the original's network pickle format (our official_ports writer)."""
  from official_ports.pggan_tf1 import pickle_io  # pylint: disable=import-outside-toplevel
  states = [{'version': 2, 'name': net.name, 'static_kwargs': {},
             'build_module_src': pickle_io.DEFAULT_BUILD_MODULE_SRC, 'build_func_name': func,
             'variables': [(n, v.numpy()) for n, v in net.reference_variables().items()]}
            for net, func in zip(nets, ('G_paper', 'D_paper', 'G_paper'))]
  path.write_bytes(pickle_io.dumps(states, protocol=5, numpy_names='installed'))
  return path


def test_training_starts_from_an_original_network_pickle(tmp_path):
  data = _dataset()
  src = model.PGGAN(_cfg(tmp_path / 'src', seed=11), data)  # other weights than seed 3's
  pkl = _write_original_pickle(tmp_path / 'network-snapshot-000000.pkl', (src.G, src.D, src.Gs))
  quiet = lambda *a, **k: None
  # Nothing left to train at K = total: the run's networks are the pickle's.
  kw = dict(resume_pkl=str(pkl), resume_kimg=0.128)
  same = loop.train(_cfg(tmp_path / 'same', total_kimg=0.128, **kw), dataset=data, log=quiet)
  state = _state(same.logdir)
  assert same.cur_nimg == 128
  for net, keras_net in (('G', src.G), ('D', src.D), ('Gs', src.Gs)):
    for v in keras_net.trainable_variables:
      got = [state[k] for k in state if k.startswith(f'{net}/') and state[k].shape == v.shape
             and np.array_equal(state[k], v.numpy())]
      assert got, f'{net} {v.path} not restored from the pickle'
  # The schedule continues at K: 16x16 at lod 0 (the fades before K are not replayed).
  more = loop.train(_cfg(tmp_path / 'more', total_kimg=0.16, **kw), dataset=data, log=quiet)
  assert more.cur_nimg == 160 and more.lod == 0.0
  with pytest.raises(ValueError, match='--resume_kimg applies to --resume_pkl'):
    _cfg(tmp_path / 'x', resume_kimg=1.0).validate()
