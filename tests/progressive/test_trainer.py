"""ProgressiveTrainer: lod changes inside a phase never retrace; a new phase traces once."""

import numpy as np

from tf_gans.models import pggan
from tf_gans.progressive import trainer as trainer_lib


def test_lod_and_learning_rate_changes_do_not_retrace():
  kw = dict(resolution=16, num_channels=1, fmap_base=16, fmap_max=8, latent_size=8)
  G, Gs = pggan.G_paper(**kw, name='G'), pggan.G_paper(**kw, name='Gs')  # pylint: disable=invalid-name
  trainer = trainer_lib.ProgressiveTrainer(G, pggan.D_paper(**kw), Gs, np.zeros([1, 0], np.float32),
                                           seed=0)
  labels = np.zeros([4, 0], np.float32)
  rng = np.random.default_rng(0)

  def steps(lod, res):
    trainer.set_schedule(lod, 0.001 * (1 + lod), 0.002)
    reals = rng.integers(0, 256, [4, res, res, 1]).astype(np.uint8)
    trainer.d_step(reals, labels, res)
    trainer.g_step(4, res)

  # Working resolution 2**(R - floor(lod)): the fade 4x4 -> 8x8 and the 8x8 phase run at 8,
  # the fade 8x8 -> 16x16 at 16. Every lod of one working resolution shares one trace.
  for lod in (1.75, 1.5, 1.0):
    steps(lod, 8)
  for lod in (0.75, 0.5, 0.25):
    steps(lod, 16)
  d_fns, g_fns = trainer._d_steps, trainer._g_steps  # pylint: disable=protected-access
  assert sorted(d_fns) == [(8, 4), (16, 4)] and sorted(g_fns) == [(8, 4), (16, 4)]
  for fns in (d_fns, g_fns):
    assert all(fn.experimental_get_tracing_count() == 1 for fn in fns.values())
  # And the steps really ran at the lods that were set (G's lod variable follows).
  assert float(G.lod.numpy()) == 0.25 and float(Gs.lod.numpy()) == 0.25
