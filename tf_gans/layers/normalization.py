"""Normalization layers that behave like the PyTorch ones of the RGAN code.

Reference: github.com/AlexiaJM/RelativisticGAN `code/GAN_losses_iter.py`
(the RGAN training script, "the reference" below): its training loop never
calls `.eval()`, so BatchNorm is never put in eval mode, and its `DCGAN_G` /
`DCGAN_D` wrap layers in `torch.nn.utils.spectral_norm` with the torch
defaults.

`BatchStatsNormalization`: batch normalization that always normalises with the
statistics of the current batch. The RGAN code never calls `.eval()`, so its
BatchNorm layers use batch statistics in every forward pass, including the
sample grids and the FID images (batches of 100). Keras' `BatchNormalization`
switches to the moving statistics when `training` is falsy (or the layer is
frozen), so an exported generator called with `training=False` would differ
from the reference; this layer ignores `training` for the normalisation itself.

`SpectralNorm`: torch's `nn.utils.spectral_norm` (defaults n_power_iterations=1,
eps=1e-12, dim=0). `keras.layers.SpectralNormalization` (Keras 3.15) is not
used because it is materially different: in training mode it *overwrites* the
wrapped layer's kernel with W / sigma (`kernel.assign(...)`), so the trainable
variable is the normalised kernel, the optimizer updates it directly, and the
gradient lacks the d(1/sigma)/dW term that torch back-propagates through sigma
into the raw `weight_orig`; in inference mode it uses whatever the kernel holds
after the last optimizer step, which is not normalised. It also has no stored
v, starts u from TruncatedNormal(0.02) and normalises with eps 1e-7.
"""

import math

import keras
from keras import ops
from keras.src.backend.common import stateless_scope

PYTORCH_BN_EPS = 1e-5
PYTORCH_BN_MOMENTUM = 0.1           # torch: running = (1 - m) running + m batch.
KERAS_BN_MOMENTUM = 1.0 - PYTORCH_BN_MOMENTUM
PYTORCH_SN_EPS = 1e-12


@keras.saving.register_keras_serializable(package='tf_gans')
class BatchStatsNormalization(keras.layers.BatchNormalization):
  """Batch normalization that always uses the current batch's statistics.

  Faithful to the RGAN reference, whose networks stay in PyTorch training mode
  all the time: y = gamma * (x - mean_B) / sqrt(var_B + eps) + beta, with the
  biased batch variance over every axis but `axis`, whatever `training` is and
  whether or not the layer is trainable. So a generator exported and called
  with `training=False` gives the reference's samples.

  The moving statistics are still kept (updated on `training=True` calls, as
  torch updates `running_mean` / `running_var` in training mode) but never used
  to normalise; they exist only for inspection. Unlike torch, the moving
  variance is updated with the biased batch variance.

  Defaults are torch's: epsilon 1e-5, momentum 0.1 in torch's convention,
  which is Keras' momentum 0.9.
  """

  def __init__(self, axis=-1, momentum=KERAS_BN_MOMENTUM, epsilon=PYTORCH_BN_EPS,
               **kwargs):
    if kwargs.get('renorm'):
      raise ValueError('BatchStatsNormalization does not support renorm.')
    super().__init__(axis=axis, momentum=momentum, epsilon=epsilon, **kwargs)

  def call(self, inputs, training=None, mask=None):
    if mask is not None:
      raise ValueError('BatchStatsNormalization does not support masks.')
    compute_dtype = keras.backend.result_type(inputs.dtype, 'float32')
    x = ops.cast(inputs, compute_dtype)
    axis = self.axis % len(x.shape)
    axes = [i for i in range(len(x.shape)) if i != axis]
    mean, variance = ops.moments(x, axes=axes, synchronized=self.synchronized)
    if training:
      m = self.momentum
      self.moving_mean.assign(
          ops.cast(self.moving_mean, compute_dtype) * m + mean * (1.0 - m))
      self.moving_variance.assign(
          ops.cast(self.moving_variance, compute_dtype) * m + variance * (1.0 - m))
    gamma = ops.cast(self.gamma, compute_dtype) if self.scale else None
    beta = ops.cast(self.beta, compute_dtype) if self.center else None
    y = ops.batch_normalization(x, mean, variance, axis=axis, offset=beta,
                                scale=gamma, epsilon=self.epsilon)
    return ops.cast(y, self.compute_dtype)


def _unit_normal(shape, dtype=None):
  """u ~ N(0, I), scaled to unit L2 norm (torch's initial u and v)."""
  x = keras.random.normal(shape, dtype=dtype or 'float32')
  return _l2_normalize(x, PYTORCH_SN_EPS)


def _l2_normalize(x, eps):
  """x / max(||x||_2, eps), as torch.nn.functional.normalize."""
  return x / ops.maximum(ops.sqrt(ops.sum(ops.square(x))), eps)


@keras.saving.register_keras_serializable(package='tf_gans')
class SpectralNorm(keras.layers.Wrapper):
  """Spectral normalization of a layer's kernel, as torch's `spectral_norm`.

  The wrapped layer's `kernel` stays the raw, trainable weight (torch's
  `weight_orig`); each call runs the layer with W / sigma(W), where
  sigma = u^T W_mat v and W_mat is the kernel reshaped to (out, fan_in) (here
  Keras' (..., out) kernel is reshaped to (fan_in, out), i.e. W_mat transposed
  with its columns permuted; sigma does not depend on that). u and v are
  non-trainable weights initialised to normalised N(0, I) draws.

  On a `training=True` call: `power_iterations` times v <- normalize(W_mat^T u),
  u <- normalize(W_mat v) (no gradient), store u and v, then use them for sigma;
  the gradient flows through sigma into W. On any other call u and v are used
  as stored, without an update (torch in eval mode).

  Args:
    layer: a built or unbuilt layer with a `kernel` whose last axis is the
      output axis (Conv2D, Dense). Conv2DTranspose kernels end with the *input*
      axis and are refused.
    power_iterations: power iterations per training call (torch default 1).
    eps: lower bound of the norm when normalising u and v (torch default 1e-12).
  """

  def __init__(self, layer, power_iterations=1, eps=PYTORCH_SN_EPS, **kwargs):
    super().__init__(layer, **kwargs)
    if power_iterations < 1:
      raise ValueError(f'power_iterations must be >= 1, got {power_iterations}.')
    if isinstance(layer, keras.layers.Conv2DTranspose):
      raise ValueError('SpectralNorm needs a kernel whose last axis is the output '
                       'axis; Conv2DTranspose kernels end with the input axis.')
    self.power_iterations = power_iterations
    self.eps = eps

  def build(self, input_shape=None):
    super().build(input_shape)
    kernel = getattr(self.layer, 'kernel', None)
    if kernel is None:
      raise ValueError(f'{type(self.layer).__name__} has no kernel to normalise.')
    out = kernel.shape[-1]
    fan_in = math.prod(kernel.shape[:-1])
    self.u = self.add_weight(name='u', shape=(out,), initializer=_unit_normal,
                             trainable=False, aggregation='only_first_replica')
    self.v = self.add_weight(name='v', shape=(fan_in,), initializer=_unit_normal,
                             trainable=False, aggregation='only_first_replica')

  def normalized_kernel(self, training=False):
    """W / sigma(W); with `training`, updates u and v by power iteration first."""
    kernel = self.layer.kernel
    w = ops.convert_to_tensor(kernel)
    w_mat = ops.reshape(w, (-1, kernel.shape[-1]))   # (fan_in, out) = W_mat^T.
    u, v = ops.convert_to_tensor(self.u), ops.convert_to_tensor(self.v)
    if training:
      for _ in range(self.power_iterations):
        v = _l2_normalize(ops.matmul(w_mat, u), self.eps)
        u = _l2_normalize(ops.matmul(v, w_mat), self.eps)
      u, v = ops.stop_gradient(u), ops.stop_gradient(v)
      self.u.assign(u)
      self.v.assign(v)
    sigma = ops.sum(u * ops.matmul(v, w_mat))
    return w / sigma

  def call(self, inputs, training=None):
    kernel = self.layer.kernel
    mapping = [(kernel, self.normalized_kernel(bool(training)))]
    outer = stateless_scope.get_stateless_scope()
    if outer is not None:   # keep what an enclosing stateless call maps.
      for var in self.layer.variables:
        value = outer.get_current_value(var)
        if var is not kernel and value is not None:
          mapping.append((var, value))
    with keras.StatelessScope(state_mapping=mapping):
      return self.layer(inputs)

  def compute_output_shape(self, input_shape):
    return self.layer.compute_output_shape(input_shape)

  def get_config(self):
    return {**super().get_config(), 'power_iterations': self.power_iterations,
            'eps': self.eps}
