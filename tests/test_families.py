"""tf_gans.families: the commands' view of a run through its family (generate, export)."""

import numpy as np
import pytest

from tf_gans import families
from tf_gans.models import savedmodel


def test_a_run_folder_samples_as_its_export(trained_run):
  module, where = families.generator_module(trained_run.logdir)
  assert where == 'step 20' and module.image_shape == (8, 8, 1)
  exported = savedmodel.load_generator(trained_run.export_dir)
  ours = module.signatures['generate'](seed=3, num=6)['images'].numpy()
  theirs = exported.signatures['generate'](seed=3, num=6)['images'].numpy()
  assert ours.dtype == np.uint8 and ours.shape == (6, 8, 8, 1)
  np.testing.assert_array_equal(ours, theirs)  # the final checkpoint is the exported G
  latents = np.random.RandomState(0).randn(2, int(exported.latent_dim.numpy())).astype(np.float32)
  np.testing.assert_allclose(module.signatures['serving_default'](latents=latents)['images'],
                             exported.signatures['serving_default'](latents=latents)['images'],
                             atol=1e-6)


def test_a_folder_without_a_run_is_named(tmp_path):
  assert not families.is_run(str(tmp_path)) and families.is_run(None) is False
  with pytest.raises(FileNotFoundError, match='not a tf_gans run folder'):
    families.generator_module(str(tmp_path))


def test_export_a_pggan_run_mid_training_and_a_chosen_snapshot(tmp_path):
  from tf_gans.progressive.config import ProgressiveConfig  # pylint: disable=import-outside-toplevel
  from tf_gans.progressive import loop  # pylint: disable=import-outside-toplevel
  from tf_gans.training import snapshots  # pylint: disable=import-outside-toplevel
  cfg = ProgressiveConfig(logdir=str(tmp_path / 'run'), dataset='digits', fmap_base=16,
                          fmap_max=8, latent_size=8, minibatch_base=8, lod_training_kimg=0.064,
                          lod_transition_kimg=0.064, total_kimg=0.128, tick_kimg_base=0.064,
                          tick_kimg_dict='',
                          network_snapshot_ticks=1, export=False, progress=False)
  loop.train(cfg, log=lambda *_: None)  # no export of its own: the run is as if unfinished
  assert not (tmp_path / 'run' / 'export').exists()
  path, where = families.export_run(cfg.logdir, str(tmp_path / 'last'))
  assert where == '0.128 kimg'
  last = savedmodel.load_generator(path)
  images = last.signatures['generate'](seed=1, num=3)['images'].numpy()
  assert images.shape == (3, 8, 8, 1)
  first = snapshots.list_snapshots(cfg.logdir)[0][0]
  assert first < 0.128
  path, where = families.export_run(cfg.logdir, str(tmp_path / 'first'), snapshot=first)
  assert where == f'{first:.3f} kimg'
  earlier = savedmodel.load_generator(path).signatures['generate'](seed=1, num=3)['images']
  assert not np.array_equal(earlier.numpy(), images)  # Gs moved between the two
  with pytest.raises(ValueError, match='no snapshot there'):
    families.export_run(cfg.logdir, str(tmp_path / 'none'), snapshot=0.5)


def test_every_family_option_is_a_train_flag():
  from tf_gans import flags as flags_lib  # pylint: disable=import-outside-toplevel
  assert families.get('pggan').cli_options == flags_lib.PGGAN_OPTIONS
  assert families.get('gan').cli_options == ()
  assert {f.config_class for f in map(families.get, ('gan', 'pggan'))} == set(
      flags_lib.CONFIG_CLASSES)
