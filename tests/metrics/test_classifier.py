"""The digit classifier learns real MNIST and is confident on digits, not on noise."""

import numpy as np

from tf_gans import data
from tf_gans.metrics import classifier


def test_classifier_on_real_mnist(mnist_dir):
  train = data.load_source(f'mnist_idx:{mnist_dir}', 'test', pad_to=32)
  held_out = data.load_source(f'mnist_idx:{mnist_dir}', 'train[:1000]', pad_to=32)
  model = classifier.train_digit_classifier(train, epochs=2)
  x = classifier.to_range(held_out.as_float(), (-1.0, 1.0))
  accuracy = np.mean(model.predict(x, verbose=0).argmax(1) == held_out.labels)
  assert accuracy > 0.95
  real = classifier.classifier_confidence(model, x)
  noise = classifier.classifier_confidence(
      model, np.random.default_rng(0).uniform(-1, 1, size=(500, 32, 32, 1)).astype(np.float32))
  assert real.fraction_confident > 0.8 and noise.fraction_confident < real.fraction_confident
  assert sum(real.label_histogram) == 1000 and min(real.label_histogram) > 50
