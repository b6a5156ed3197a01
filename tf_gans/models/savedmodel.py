"""Generator export as a self-contained SavedModel.

Signatures (loadable with `tf.saved_model.load` alone, no tf_gans import):
  serving_default: latents float32 [N, latent_dim] -> {'images': float32 NHWC in value_range}
                   (conditional generators, label_size > 0: latents and labels float32
                   [N, label_size])
  generate:        seed int64 [], num int32 [] -> {'images': uint8 NHWC}
  sample:          seed int64 [], num int32 [] -> {'images': float32 NHWC in [0, 1]}
                   (unquantised, for metrics such as the Parzen estimate)
The `generate` noise is `tf_gans.latents.sample(dist, [num, latent_dim], [seed, -1])`,
the same stream the training grids use; a conditional generator gets uniformly random
one-hot labels from the same seed.
"""

import os

import tensorflow as tf

from tf_gans import atomic
from tf_gans import latents as latents_lib

GENERATE_STREAM = -1  # second seed word of the fixed-seed (grid / export) noise


def fixed_latents(distribution, num, latent_dim, seed):
  """Noise of the fixed-seed stream: the same for grids, export and `generate`."""
  seed = tf.stack([tf.cast(seed, tf.int64), tf.constant(GENERATE_STREAM, tf.int64)])
  return latents_lib.sample(distribution, [num, latent_dim], seed)


class GeneratorModule(tf.Module):
  """What gets saved: G plus the metadata a loader needs."""

  def __init__(self, generator, latent_dim, latent_distribution, value_range, label_size=0):
    super().__init__(name='tf_gans_generator')
    self._label_size = label_size
    self.label_size = tf.Variable(label_size, trainable=False, dtype=tf.int32, name='label_size')
    self.generator = generator
    self.latent_dim = tf.Variable(latent_dim, trainable=False, dtype=tf.int32, name='latent_dim')
    self.value_range = tf.Variable(value_range, trainable=False, dtype=tf.float32, name='value_range')
    self._dist, self._dim, self._range = latent_distribution, latent_dim, tuple(value_range)
    self.latent_distribution = tf.Variable(latent_distribution, trainable=False, name='latent_distribution')
    latent_spec = tf.TensorSpec([None, latent_dim], tf.float32, name='latents')
    if label_size:
      self.serve = tf.function(self._serve_labels, input_signature=[
          latent_spec, tf.TensorSpec([None, label_size], tf.float32, name='labels')])
    else:
      self.serve = tf.function(self._serve, input_signature=[latent_spec])
    seed_num = [tf.TensorSpec([], tf.int64, name='seed'), tf.TensorSpec([], tf.int32, name='num')]
    self.generate = tf.function(self._generate, input_signature=seed_num)
    self.sample = tf.function(self._sample, input_signature=seed_num)

  def _serve(self, latents):
    return {'images': tf.cast(self.generator(latents, training=False), tf.float32)}

  def _serve_labels(self, latents, labels):
    return {'images': tf.cast(self.generator([latents, labels], training=False), tf.float32)}

  def _sample(self, seed, num):
    latents = fixed_latents(self._dist, num, self._dim, seed)
    if self._label_size:
      classes = tf.random.stateless_uniform(
          [num], tf.stack([tf.cast(seed, tf.int64), tf.constant(GENERATE_STREAM - 1, tf.int64)]),
          maxval=self._label_size, dtype=tf.int32)
      images = self._serve_labels(latents, tf.one_hot(classes, self._label_size))['images']
    else:
      images = self._serve(latents)['images']
    lo, hi = self._range
    return {'images': tf.clip_by_value((images - lo) / (hi - lo), 0.0, 1.0)}

  def _generate(self, seed, num):
    unit = self._sample(seed, num)['images']
    return {'images': tf.cast(tf.round(unit * 255.0), tf.uint8)}


class InMemoryExport:
  """What `load_generator` gives for a saved export, for a generator in memory: the same
  signatures ('serving_default', 'generate', 'sample'), the same metadata a loaded
  export carries (`label_size`, `latent_dim`, `latent_distribution`, `value_range`,
  here as plain Python values), and its static `image_shape` (H, W, C) or None. Traced
  once; the generator's weights are read at each call, so a checkpoint or snapshot
  restored into it later is what it samples.

  The metadata is what `tf_gans.metrics.evaluation.generate_with_labels` reads to feed
  a conditional generator given labels (the original `util_scripts.evaluate_metrics`
  runs Gs on the labels of the last reals minibatches), so an in-memory run generator
  (`evaluate --run`) is fed exactly as its saved export would be."""

  def __init__(self, generator, latent_dim, latent_distribution, value_range, label_size=0):
    module = GeneratorModule(generator, latent_dim, latent_distribution, value_range, label_size)
    self.module = module
    self.label_size = int(label_size)
    self.latent_dim = int(latent_dim)
    self.latent_distribution = str(latent_distribution)
    self.value_range = tuple(float(v) for v in value_range)
    self.signatures = {'serving_default': module.serve.get_concrete_function(),
                       'generate': module.generate.get_concrete_function(),
                       'sample': module.sample.get_concrete_function()}
    try:
      shape = tuple(generator.output_shape[1:])
    except (AttributeError, TypeError, ValueError):
      shape = ()
    self.image_shape = shape if len(shape) == 3 and None not in shape else None


def export_generator(generator, latent_dim, latent_distribution, value_range, out_dir,
                     overwrite=False, label_size=0):
  """Writes the SavedModel to `out_dir` atomically.

  The model is written beside `out_dir` first and renamed into place
  (`tf_gans.atomic.AtomicFolder`), so `out_dir` never holds half an export.

  Raises:
    FileExistsError: `out_dir` exists and `overwrite` is False.
  """
  out_dir = os.path.abspath(out_dir)
  with atomic.AtomicFolder(out_dir, overwrite, label='Export folder') as tmp:
    module = GeneratorModule(generator, latent_dim, latent_distribution, value_range, label_size)
    tf.saved_model.save(module, tmp, signatures={'serving_default': module.serve,
                                                 'generate': module.generate,
                                                 'sample': module.sample})
  return out_dir


def load_generator(path):
  """Loads an export; raises a clear error when `path` is not one."""
  if not os.path.exists(os.path.join(path, 'saved_model.pb')):
    raise FileNotFoundError(
        f'{path} is not a SavedModel export (no saved_model.pb); export one with '
        f'`python -m tf_gans.export --logdir=<run> --out=<dir>` or train with tf_gans.train.')
  return tf.saved_model.load(path)
