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
