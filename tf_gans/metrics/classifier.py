"""A small digit classifier, for judging digit samples (and, later, a classifier score).

RGAN issue, "proof it learns": a GAN trained on MNIST should produce samples
that a classifier trained on the same data labels with confidence. The
classifier sees images in the GAN's value range, so generator samples feed
straight in.
"""

import dataclasses

import keras
import numpy as np


def build_digit_classifier(image_shape, num_classes=10):
  """Conv(32)-pool-Conv(64)-pool-Dense(128)-Dense(num_classes) logits, NHWC."""
  return keras.Sequential([
      keras.Input(tuple(image_shape)),
      keras.layers.Conv2D(32, 3, padding='same', activation='relu'),
      keras.layers.MaxPooling2D(),
      keras.layers.Conv2D(64, 3, padding='same', activation='relu'),
      keras.layers.MaxPooling2D(),
      keras.layers.Flatten(),
      keras.layers.Dense(128, activation='relu'),
      keras.layers.Dropout(0.3),
      keras.layers.Dense(num_classes),
  ], name='digit_classifier')


def to_range(images01, value_range):
  lo, hi = value_range
  return images01 * (hi - lo) + lo


def train_digit_classifier(source, value_range=(-1.0, 1.0), epochs=2, batch_size=64, seed=0):
  """Trains the classifier on an `ArraySource` with labels; returns the Keras model."""
  classes = source.class_indices()  # refuses multi-hot label rows, naming the source
  if classes is None:
    raise ValueError(f'Source {source.name!r} has no labels to train a classifier on.')
  keras.utils.set_random_seed(seed)
  model = build_digit_classifier(source.image_shape, source.label_size or int(classes.max()) + 1)
  model.compile(keras.optimizers.Adam(1e-3),
                keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=['accuracy'])
  model.fit(to_range(source.as_float(), value_range), classes, epochs=epochs,
            batch_size=batch_size, verbose=0)
  return model


@dataclasses.dataclass
class Confidence:
  """How a classifier sees a batch of samples."""
  fraction_confident: float   # share of samples whose top probability >= threshold
  mean_top_probability: float
  label_histogram: list       # how many samples got each label
  threshold: float

  def to_dict(self):
    return dataclasses.asdict(self)


def classifier_confidence(model, images, threshold=0.9, batch_size=256):
  """Top-class probabilities of `images` (already in the classifier's value range)."""
  logits = model.predict(images, batch_size=batch_size, verbose=0)
  probs = np.exp(logits - logits.max(axis=1, keepdims=True))
  probs /= probs.sum(axis=1, keepdims=True)
  top = probs.max(axis=1)
  hist = np.bincount(probs.argmax(axis=1), minlength=probs.shape[1])
  return Confidence(float(np.mean(top >= threshold)), float(top.mean()), hist.tolist(), threshold)
