"""The GAN 2014 / RGAN family: a Keras `GAN` model whose `train_step` is Algorithm 1.

  model       `GAN(keras.Model)`: the train step (k D steps, then G)
  config      `GanConfig`: a run's fields (= the `tf_gans.train` flags)
  optimizers  Adam and the 2014 SGD schedule, built from the config
  loop        a run: data -> nets -> `fit` over the logging intervals
  callbacks   grids, checkpoints, snapshots, stops and the divergence check as Keras callbacks
  execution   train steps per compiled call
  restore     a run's generator and discriminator back from its checkpoint
  family      how `tf_gans.training.run` drives this family
"""


def __getattr__(name):
  # Lazy: `tf_gans.gan.config` (and --help) must not import TensorFlow.
  if name == 'GAN':
    from tf_gans.gan.model import GAN  # pylint: disable=import-outside-toplevel
    return GAN
  raise AttributeError(name)
