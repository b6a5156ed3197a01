"""tf_gans: GAN (2014), Relativistic GANs and Progressive GANs in TensorFlow 2 / Keras 3."""

__version__ = '0.1.0'


def __getattr__(name):
  # Lazy, so `import tf_gans.registry` (and CLI --help) need not import TensorFlow.
  if name == 'GAN':
    from tf_gans.gan.model import GAN
    return GAN
  raise AttributeError(name)
