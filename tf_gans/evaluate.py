"""Evaluate an exported generator:
`python -m tf_gans.evaluate --model=<export dir> --metric=parzen --data=mnist_idx:<dir> ...`.

Metrics are registered by name in `METRICS`; each takes the loaded SavedModel
and the flags and returns a JSON-able dict.
"""

import numpy as np

from absl import app
from absl import flags

from tf_gans import cli
from tf_gans.registry import Registry

flags.DEFINE_string('model', None, 'Generator SavedModel folder (a run\'s export/generator).')
flags.DEFINE_string('metric', 'parzen',
                    'Metric: parzen (GAN 2014 protocol) or digit_confidence (share of samples a digit '
                    'classifier trained on --data/--split labels with probability >= 0.9).')
flags.DEFINE_integer('pad_to', 0, 'Zero-pad --data images to this size (MNIST 28 -> 32), as in training.')
flags.DEFINE_string('data', 'digits', 'Reference data: digits, mnist_idx:<dir>, folder:<path>, tfds:<name>.')
flags.DEFINE_string('split', 'test', 'Split of --data to evaluate on, optionally sliced (test[:1000]).')
flags.DEFINE_string('valid_split', None,
                    'Parzen: split of --data on which sigma is chosen (the protocol: 1000 held-out '
                    'training images, e.g. train[9000:10000]). Exclusive with --sigma.')
flags.DEFINE_float('sigma', None, 'Parzen: fixed kernel width instead of the validation search.')
flags.DEFINE_integer('num_samples', 10000, 'Generator samples (Parzen: the kernel centres).')
flags.DEFINE_integer('seed', 0, 'Seed of the generator samples.')
flags.DEFINE_string('out', None, 'Write the result as JSON here.')
flags.DEFINE_integer('classifier_epochs', 2,
                     'digit_confidence: epochs of classifier training on --data/--split.')
flags.DEFINE_string('reference_split', None,
                    'digit_confidence: also score the real images of this split of --data '
                    '(held out from the classifier, e.g. train[:10000]) as the real-data reference.')
flags.DEFINE_string('centres', 'model',
                    'Parzen kernel centres: model (--num_samples generator samples), '
                    'data:<split> (real images of --data: the upper reference) or uniform '
                    '(--num_samples uniform-noise images: the lower reference).')
flags.register_validator(
    'centres', lambda c: c in ('model', 'uniform') or c.startswith('data:'),
    message='--centres must be model, uniform or data:<split>.')
flags.register_multi_flags_validator(
    ['model', 'centres'], lambda f: f['centres'] != 'model' or f['model'],
    message='--model is required when --centres=model.')
flags.register_validator('num_samples', lambda n: n >= 1, message='--num_samples must be >= 1.')
flags.register_multi_flags_validator(
    ['metric', 'valid_split', 'sigma'],
    lambda f: f['metric'] != 'parzen' or (f['valid_split'] is None) != (f['sigma'] is None),
    message='Parzen needs exactly one of --valid_split (sigma chosen on it) or --sigma.')
FLAGS = flags.FLAGS
METRICS = Registry('metric')


def generator_samples(module, num, seed, batch=1000):
  """`num` samples in [0, 1] from an export's `sample` signature, in batches."""
  sample = module.signatures['sample']
  out = []
  for start in range(0, num, batch):
    n = min(batch, num - start)
    out.append(sample(seed=seed + start, num=n)['images'].numpy())
  return np.concatenate(out)


def _load(f, split):
  from tf_gans import data as data_lib  # pylint: disable=import-outside-toplevel
  options = {'pad_to': f.pad_to} if f.pad_to else {}
  return data_lib.load_source(f.data, split=split, **options)


@METRICS.register('digit_confidence')
def digit_confidence(module, f):
  """Trains the digit classifier on --data/--split (labelled) and scores --num_samples samples."""
  from tf_gans.metrics import classifier  # pylint: disable=import-outside-toplevel
  source = _load(f, f.split)
  model = classifier.train_digit_classifier(source, epochs=f.classifier_epochs, seed=f.seed)
  samples = generator_samples(module, f.num_samples, f.seed)
  result = classifier.classifier_confidence(model, classifier.to_range(samples, (-1.0, 1.0)))
  out = {'metric': 'digit_confidence', 'data': f.data, 'split': f.split, 'model': f.model,
         'num_samples': f.num_samples, **result.to_dict()}
  if f.reference_split:
    real = _load(f, f.reference_split).as_float()[:f.num_samples]
    reference = classifier.classifier_confidence(model, classifier.to_range(real, (-1.0, 1.0)))
    out['real_reference'] = {'split': f.reference_split, 'num_images': len(real),
                             **reference.to_dict()}
  return out


@METRICS.register('parzen')
def parzen(module, f):
  """Parzen-window log-likelihood, GAN 2014 Table 1 protocol (tf_gans.metrics.parzen)."""
  from tf_gans.metrics import parzen as parzen_lib  # pylint: disable=import-outside-toplevel
  test = _load(f, f.split).as_float()
  valid = _load(f, f.valid_split).as_float() if f.valid_split else None
  if f.centres == 'model':
    centres = generator_samples(module, f.num_samples, f.seed)
  elif f.centres == 'uniform':
      centres = np.random.default_rng(f.seed).uniform(size=(f.num_samples,) + test.shape[1:])
  else:
    centres = _load(f, f.centres[len('data:'):]).as_float()
  result = parzen_lib.parzen_evaluate(centres, test, valid=valid, sigma=f.sigma)
  return {'metric': 'parzen', 'data': f.data, 'split': f.split, 'valid_split': f.valid_split,
          'centres': f.centres, 'model': f.model,
          **result.to_dict()}


def main(argv):
  del argv
  from tf_gans.training import export  # pylint: disable=import-outside-toplevel
  try:
    metric = METRICS.get(FLAGS.metric)
    module = export.load_generator(FLAGS.model) if FLAGS.centres == 'model' else None
    result = metric(module, FLAGS)
  except cli.USER_ERRORS as e:
    cli.fail(e)
  cli.print_json(result, FLAGS.out)


if __name__ == '__main__':
  app.run(main)
