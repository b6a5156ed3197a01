"""Losses, by job (as compare_gan keeps `loss_lib` apart from `penalty_lib`):

  gan       the GAN 2014 / RGAN / LSGAN / hinge / WGAN loss pairs and the `LOSSES`
            registry (`--loss=name`)
  penalty   the WGAN-GP gradient penalty every model uses
  pggan     PGGAN's D and G terms (WGAN-GP + drift + AC-GAN labels)

Nothing here imports the trainers: a loss is a function of tensors.
"""

from tf_gans.losses.gan import LOSSES, LossPair, get, global_batch_mean  # noqa: F401
from tf_gans.losses.penalty import (gradient_penalty, penalty_from_mixed,  # noqa: F401
                                    sample_interpolation_weights)


def names():
  """The registered GAN / RGAN loss names."""
  return LOSSES.names()
