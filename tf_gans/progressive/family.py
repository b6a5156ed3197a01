"""The progressive-growing family (PGGAN), as `tf_gans.training.run` and the commands see it."""

from tf_gans.progressive import data as data_lib
from tf_gans.progressive import loop
from tf_gans.progressive import model
from tf_gans.progressive.config import ProgressiveConfig
from tf_gans.training.family import FAMILIES, Family, RunGenerator

# Options of `tf_gans.train --model=pggan` that are not config fields (`tf_gans.progressive.smoke`).
CLI_OPTIONS = ('smoke', 'resolution')


def load_generator(cfg):
  """The run's G and Gs rebuilt in float32 (whatever the run trained in); Gs is the one
  evaluated and exported, as the original evaluates and ships Gs."""
  # pylint: disable=invalid-name
  dataset = data_lib.open_run_dataset(cfg)
  G, _, Gs = model.build_networks(cfg, dataset, dtype='float32', with_D=False)
  return RunGenerator({'G': G, 'Gs': Gs}, Gs, Gs.latent_size, 'normal', (-1.0, 1.0),
                      Gs.static_kwargs['label_size'], 'kimg', cfg.dataset, cfg.split, cfg.pad_to)


FAMILY = FAMILIES.register('pggan', Family('pggan', ProgressiveConfig, loop.ProgressiveRun,
                                           load_generator, cli_options=CLI_OPTIONS))
