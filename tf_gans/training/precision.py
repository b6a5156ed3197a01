"""Compute precision of a run: one name in every config, mapped to Keras in one place.

A run's `dtype` is the compute precision of its nets: 'float32', 'float16' or
'bfloat16'; variables, losses and optimizer state stay float32. Under float16
a loss scale guards the gradients (GAN / RGAN: a Keras `LossScaleOptimizer`
per net; PGGAN: the reference's log2 schedule, `tf_gans.training.loss_scale`).
The flag takes the Keras policy spellings too (`--mixed_precision=mixed_float16`,
'' for float32): `canonical` maps them once, when a value enters a config.
No TensorFlow here: the flags and run files use it.
"""

PRECISIONS = ('float32', 'float16', 'bfloat16')
_SPELLINGS = {'': 'float32', 'mixed_float16': 'float16', 'mixed_bfloat16': 'bfloat16'}


def canonical(value, flag='--dtype'):
  """'float16', 'mixed_float16' -> 'float16'; '' -> 'float32'; ValueError naming `flag`."""
  name = _SPELLINGS.get(value, value)
  if name not in PRECISIONS:
    raise ValueError(f'{flag} must be one of {", ".join(PRECISIONS)} (or the Keras policy names '
                     f'mixed_float16 / mixed_bfloat16), got {value!r}.')
  return name


def keras_policy(dtype):
  """The Keras dtype policy of a run's `dtype`: 'float32', 'mixed_float16' or 'mixed_bfloat16'."""
  return dtype if dtype == 'float32' else f'mixed_{dtype}'
