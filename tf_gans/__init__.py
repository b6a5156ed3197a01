"""tf_gans: GAN (2014), Relativistic GANs and Progressive GANs in TensorFlow 2 / Keras 3.

    import tf_gans
    gan = tf_gans.GAN.from_model('mlp2014', image_shape=(8, 8, 1), loss='rasgan')
    gan.fit(images, batch_size=64, epochs=1)        # images in the model's value range
    samples = gan.generate(16)

    pggan = tf_gans.PGGAN(dataset='digits', fmap_base=64, fmap_max=16, ...)
    pggan.train_rounds(10); samples = pggan.generate(16)

Everything below is imported on first use (`import tf_gans` and the CLIs' --help
do not import TensorFlow): `GAN`, `PGGAN`, `RunConfig`, `ProgressiveConfig`,
`run_training` (a whole run into a folder, any family) and the packages `losses`,
`models`, `data`, `layers`, `metrics`, `gan`, `progressive`, `training`.
"""

import importlib

__version__ = '0.1.0'

_NAMES = {
    'GAN': ('tf_gans.gan.model', 'GAN'),
    'PGGAN': ('tf_gans.progressive.model', 'PGGAN'),
    'RunConfig': ('tf_gans.gan.config', 'RunConfig'),
    'ProgressiveConfig': ('tf_gans.progressive.config', 'ProgressiveConfig'),
    'run_training': ('tf_gans.api', 'run_training'),
}
_PACKAGES = ('losses', 'models', 'data', 'layers', 'metrics', 'gan', 'progressive', 'training')

__all__ = sorted(_NAMES) + list(_PACKAGES)


def __getattr__(name):
  if name in _NAMES:
    module, attr = _NAMES[name]
    return getattr(importlib.import_module(module), attr)
  if name in _PACKAGES:
    return importlib.import_module(f'tf_gans.{name}')
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__():
  return sorted(list(globals()) + __all__)
