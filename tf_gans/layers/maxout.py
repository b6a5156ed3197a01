"""Maxout (Goodfellow et al. 2013), the hidden unit of the GAN 2014 discriminator."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package='tf_gans')
class Maxout(keras.layers.Layer):
  """An affine map to `units * pieces` values, then a max over each unit's pieces.

  As in Pylearn2's `Maxout` layer (used by the GAN 2014 MNIST discriminator,
  240 units x 5 pieces): output unit i is the max of affine outputs
  i*pieces ... i*pieces + pieces - 1 (consecutive groups).

  Args:
    units: number of output units.
    pieces: affine pieces per unit.
    kernel_initializer, bias_initializer: for the [in, units*pieces] kernel and
      the [units*pieces] bias.
  """

  def __init__(self, units, pieces, kernel_initializer='glorot_uniform',
               bias_initializer='zeros', **kwargs):
    super().__init__(**kwargs)
    if units < 1 or pieces < 1:
      raise ValueError(f'Maxout needs units >= 1 and pieces >= 1, got {units}, {pieces}.')
    self.units = units
    self.pieces = pieces
    self.kernel_initializer = keras.initializers.get(kernel_initializer)
    self.bias_initializer = keras.initializers.get(bias_initializer)

  def build(self, input_shape):
    self.kernel = self.add_weight(
        name='kernel', shape=(input_shape[-1], self.units * self.pieces),
        initializer=self.kernel_initializer)
    self.bias = self.add_weight(
        name='bias', shape=(self.units * self.pieces,),
        initializer=self.bias_initializer)

  def call(self, inputs):
    z = ops.matmul(inputs, self.kernel) + self.bias
    z = ops.reshape(z, (-1, self.units, self.pieces))
    return ops.max(z, axis=-1)

  def compute_output_shape(self, input_shape):
    return (input_shape[0], self.units)

  def get_config(self):
    return {
        **super().get_config(), 'units': self.units, 'pieces': self.pieces,
        'kernel_initializer': keras.initializers.serialize(self.kernel_initializer),
        'bias_initializer': keras.initializers.serialize(self.bias_initializer),
    }
