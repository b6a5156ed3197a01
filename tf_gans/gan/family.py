"""The GAN 2014 / RGAN family, as `tf_gans.training.run` and the commands see it."""

from tf_gans import models
from tf_gans.gan import loop
from tf_gans.gan.config import RunConfig
from tf_gans.training.family import FAMILIES, Family, RunGenerator


def load_generator(cfg):
  """The run's G rebuilt from its config (weights as initialised: restore a checkpoint or
  snapshot into `nets`)."""
  source = loop.load_data(cfg)
  nets = models.build(cfg.model, source.image_shape, pixel_mean=source.pixel_mean(),
                      **cfg.model_options())
  return RunGenerator({'G': nets.generator}, nets.generator, nets.latent_dim,
                      nets.latent_distribution, tuple(nets.value_range), 0, 'step',
                      cfg.dataset, cfg.split, cfg.pad_to)


FAMILY = FAMILIES.register('gan', Family('gan', RunConfig, loop.GanRun, load_generator))
