"""Model registry: name -> builder returning a `GanNets`.

A builder is `build(image_shape, pixel_mean=None, **options) -> GanNets`;
`image_shape` is the data's (H, W, C), `pixel_mean` the data's per-pixel mean
in [0, 1] (some papers initialise from it) and `options` the model's own
switches (e.g. `spectral_norm`); a builder refuses options it does not know.
Adding a paper's nets means adding a module that registers its builder here.
A builder's optional `family` attribute names the training stack that trains
it (`family(name)`): 'gan' by default, 'pggan' for the progressive nets.
"""

import dataclasses

from tf_gans.registry import Registry

MODELS = Registry('model')


@dataclasses.dataclass
class GanNets:
  """A generator / discriminator pair and what the rest of the code must know.

  Attributes:
    generator: Keras model, latents [N, latent_dim] -> images [N, H, W, C].
    discriminator: Keras model, images -> logits [N, 1].
    latent_dim: size of z.
    latent_distribution: a name in `tf_gans.latents.LATENTS`.
    value_range: (low, high) of the generator's output and of the data fed to D.
  """
  generator: object
  discriminator: object
  latent_dim: int
  latent_distribution: str
  value_range: tuple


def build(name, image_shape, pixel_mean=None, **options):
  """Builds the registered model `name` for images of `image_shape`."""
  _import_all()
  return MODELS.get(name)(image_shape, pixel_mean=pixel_mean, **options)


def check_options(model, options, allowed):
  """Raises ValueError naming any option of `options` not in `allowed`."""
  unknown = sorted(set(options) - set(allowed))
  if unknown:
    valid = ', '.join(sorted(allowed)) or 'none'
    raise ValueError(f'Model {model!r} does not take option(s) {", ".join(unknown)}; '
                     f'its options: {valid}.')


def names():
  _import_all()
  return MODELS.names()


def family(name):
  """The training stack a registered model trains with: 'gan' (GAN 2014 / RGAN nets,
  `tf_gans.gan.loop`) unless its builder says otherwise (`builder.family`, e.g.
  'pggan' for progressive growing, `tf_gans.progressive.loop`)."""
  _import_all()
  return getattr(MODELS.get(name), 'family', 'gan')


def _import_all():
  # Registration happens on import; keep this list in step with the modules.
  # pylint: disable=unused-import,import-outside-toplevel
  from tf_gans.models import dcgan
  from tf_gans.models import mlp2014
  from tf_gans.models import pggan
  from tf_gans.models import standard_cnn
