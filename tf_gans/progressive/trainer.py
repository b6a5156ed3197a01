"""One PGGAN training step at a time: D step + Gs update, G step, Adam resets.

Reference: shared/reference/pggan.md section 6 (train.py: `process_reals`,
the loop, Adam, the Gs moving average), section 5 (losses) and pitfalls 9-11.

Working resolution. Each step runs G and D at the schedule's resolution
2**(R - floor(lod)) (`GPaper(..., resolution=r)`, `DPaper(..., resolution=r)`),
where the reference nearest-upsamples reals and G's output to full size and
D box-pools them back: the two are the same function (tested), so a
low-resolution phase costs what that resolution costs. The gradient-penalty
norm is rescaled by 2**-floor(lod) to equal the reference's full-size norm
(see `tf_gans.progressive.loss`). Each resolution traces its step functions
once; `lod`, the learning rates and the optimizer resets are variables and
never retrace.

Randomness (z, alpha, mirror flips, G's labels) is stateless, drawn from
(seed, step counter, slot), so a resumed run draws what the straight run
would have drawn.

Replicas (`tf.distribute`; reference: the per-GPU towers of train.py). The
minibatch is global; each replica trains on its rows (`tf_gans.training.replicas.Shard`, strided rows) with the
draws of the global minibatch, its loss is its share of the global mean, the
optimizer sums the replicas' gradients, and one update (or one skip) applies
everywhere, so R replicas take the one-device step.
"""

import keras
import numpy as np
import tensorflow as tf

from tf_gans.layers import pggan as pgl
from tf_gans.progressive import loss as loss_lib
from tf_gans.training import replicas

# The reference's fp16 loss scaling (log2 of the scale): start, step up, step down.
LOSS_SCALE_INIT, LOSS_SCALE_INC, LOSS_SCALE_DEC = 64.0, 0.0005, 1.0

# Stream slots of the stateless draws: (seed, step, slot) (`replicas.pggan_seed`).
_Z_D, _ALPHA, _MIRROR, _Z_G, _LABELS_G = range(5)


def adam(learning_rate=0.001):
  """The reference optimizer: Adam(beta1 0, beta2 0.99, epsilon 1e-8), epsilon-hat form."""
  return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=0.0, beta_2=0.99,
                               epsilon=1e-8)


def process_reals(x, lod, flip=None):
  """Reference `process_reals` at working resolution: uint8 -> [-1, 1], mirror, fade.

  x * 2/255 - 1; samples where the bool [N, 1, 1, 1] `flip` is set are flipped
  along their width (mirror_augment: p = 0.5 each); then
  x = lerp(x, up2(down2(x)), lod - floor(lod)) (FadeLOD). The reference's
  final UpscaleLOD is the working-resolution no-op.
  """
  x = tf.cast(x, tf.float32) * (2.0 / 255.0) - 1.0
  if flip is not None:
    x = tf.where(flip, tf.reverse(x, axis=[2]), x)
  alpha = lod - tf.floor(lod)
  if x.shape[1] > 1:
    x = pgl.lerp(x, pgl.upscale2d(pgl.downscale2d(x)), alpha)
  return x


class ProgressiveTrainer(tf.Module):
  """Owns G, D, Gs, their optimizers and the step counter; runs the steps.

  Args:
    G, D, Gs: `GPaper`, `DPaper`, `GPaper` (Gs starts as a copy of G).
    label_table: float32 [num_images, label_size] (rows G's labels are drawn from).
    seed: the run's seed.
    G_smoothing: Gs beta (0.999); 0 makes Gs a copy of G.
    loss_kwargs: wgan_lambda, wgan_epsilon, wgan_target, cond_weight.
    mirror_augment: flip reals at random.
    zero_fill_unused: give Adam zero gradients for unused levels (set it when
      Adam is not reset at lod changes; see `_apply_if_finite`).
    jit_compile: compile the D and G steps with XLA (a GPU feature: on CPU it
      is slower from 64x64 up, see `python -m tf_gans.benchmark --pggan_train`);
      with several replicas, each replica's forward and backward pass.
    loss_scaling: the reference's fp16 loss scaling (pggan.md section 5): per
      optimizer a log2 scale variable, initially 64, +0.0005 after each
      applied step and -1 after a step skipped for non-finite gradients; the
      float32 loss is multiplied by 2**scale, the gradients divided by it.
    strategy: a `tf.distribute.Strategy` (default: the current one); G, D and
      Gs must have been built under its scope. Each step splits the global
      minibatch over the replicas (`tf_gans.training.replicas.Shard`, strided rows), draws z, alpha and the flips for
      the whole minibatch (so the draws do not depend on the replica count),
      sums the replicas' gradients of their share of the global mean loss and
      applies one update everywhere, skipped everywhere if any replica's
      gradient is non-finite.
  """
  # pylint: disable=invalid-name

  def __init__(self, G, D, Gs, label_table, seed, G_smoothing=0.999, loss_kwargs=None,
               mirror_augment=False, zero_fill_unused=False, jit_compile=False,
               loss_scaling=False, strategy=None):
    super().__init__(name='progressive_trainer')
    self.strategy = strategy or tf.distribute.get_strategy()
    self.G, self.D, self.Gs = G, D, Gs
    for net in (G, D, Gs):
      if not all(self.strategy.extended.variable_created_in_scope(v.value)
                 for v in net.variables):
        raise ValueError(f'{net.name} was not built under the strategy\'s scope; build G, D and '
                         f'Gs inside `with strategy.scope():`.')
    with self.strategy.scope():
      self.G_opt, self.D_opt = adam(), adam()
      self.G_opt.build(G.trainable_variables)
      self.D_opt.build(D.trainable_variables)
      self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name='step')
      self.cur_nimg = tf.Variable(0, dtype=tf.int64, trainable=False, name='cur_nimg')
      self.D_log2_scale = tf.Variable(LOSS_SCALE_INIT, trainable=False, name='D_log2_scale')
      self.G_log2_scale = tf.Variable(LOSS_SCALE_INIT, trainable=False, name='G_log2_scale')
    self.seed = int(seed)
    self.G_smoothing = float(G_smoothing)
    self.loss_kwargs = dict(loss_kwargs or {})
    self.mirror_augment = bool(mirror_augment)
    self.zero_fill_unused = bool(zero_fill_unused)
    self.jit_compile = bool(jit_compile)
    self.loss_scaling = bool(loss_scaling)
    self.label_size = int(label_table.shape[1])
    self.label_table = tf.constant(label_table if len(label_table) else
                                   np.zeros([1, self.label_size], np.float32), tf.float32)
    g_vars, gs_vars = G.trainable_variables, Gs.trainable_variables
    mismatch = [(a.path, b.path) for a, b in zip(g_vars, gs_vars) if a.shape != b.shape]
    if len(g_vars) != len(gs_vars) or mismatch:
      raise ValueError(f'Gs must have G\'s architecture; differing variables: {mismatch[:3]}.')
    self._d_steps, self._g_steps = {}, {}
    self.last_terms = {}

  # Stateless randomness.
  def _seed(self, slot):
    return replicas.pggan_seed(self.seed, self.step, slot)

  def _latents(self, n, slot):
    return tf.random.stateless_normal([n, self.G.latent_size], self._seed(slot))

  def _generator_inputs(self, latents, labels):
    return [latents, labels] if self.label_size else latents

  # The steps (traced once per resolution). Each runs once per replica on its
  # share of the global minibatch; the counters, loss scales and Gs are updated
  # once, in cross-replica context, after the replicas' optimizer steps.
  def _d_replica(self, reals_uint8, labels, resolution, grad_scale):
    shard = replicas.Shard()
    n = tf.shape(reals_uint8)[0]  # the global minibatch
    lod = tf.cast(self.D.lod, tf.float32)
    flip = None
    if self.mirror_augment:
      flip = shard(tf.random.stateless_uniform([n, 1, 1, 1], self._seed(_MIRROR)) < 0.5)
    reals = process_reals(shard(reals_uint8), lod, flip)
    labels = shard(tf.cast(labels, tf.float32))
    latents = shard(self._latents(n, _Z_D))
    alpha = shard(tf.random.stateless_uniform([n, 1, 1, 1], self._seed(_ALPHA)))
    scale = self._loss_scale(self.D_log2_scale)

    def forward_backward(reals, labels, latents, alpha):
      with tf.GradientTape() as tape:
        fakes = self.G(self._generator_inputs(latents, labels), resolution=resolution)
        loss, terms = loss_lib.d_wgangp_acgan(self.D, reals, fakes, labels, alpha,
                                              resolution=resolution, grad_scale=grad_scale,
                                              loss_scale=scale, **self.loss_kwargs)
        # Every term is a per-sample mean: a replica's share of the global mean is its
        # local mean / R, and the optimizer sums the replicas' gradients.
        replica_loss = loss / shard.count
      grads = self._scaled_gradients(tape, replica_loss, self.D.trainable_variables, scale)
      return dict(terms, D_loss=loss), grads

    terms, grads = self._replica_jit(forward_backward)(reals, labels, latents, alpha)
    applied = self._apply_if_finite(self.D_opt, grads, self.D.trainable_variables)
    return shard.global_mean(terms), applied

  def _d_step(self, reals_uint8, labels, resolution, grad_scale):
    with self.strategy.scope():
      terms, applied = self._run(self._d_replica, reals_uint8, labels, resolution, grad_scale)
      self._update_scale(self.D_log2_scale, applied)
      self._update_gs()
      self.step.assign_add(1)
      self.cur_nimg.assign_add(tf.cast(tf.shape(reals_uint8)[0], tf.int64))
    return dict(terms, D_applied=applied)

  def _g_replica(self, minibatch, resolution):
    shard = replicas.Shard()
    rows = tf.random.stateless_uniform([minibatch], self._seed(_LABELS_G), maxval=tf.shape(
        self.label_table)[0], dtype=tf.int32)
    labels = shard(tf.gather(self.label_table, rows)[:, :self.label_size])
    latents = shard(self._latents(minibatch, _Z_G))
    scale = self._loss_scale(self.G_log2_scale)

    def forward_backward(latents, labels):
      with tf.GradientTape() as tape:
        fakes = self.G(self._generator_inputs(latents, labels), resolution=resolution)
        loss, terms = loss_lib.g_wgan_acgan(
            self.D, fakes, labels, resolution=resolution,
            cond_weight=self.loss_kwargs.get('cond_weight', 1.0))
        replica_loss = loss / shard.count
      grads = self._scaled_gradients(tape, replica_loss, self.G.trainable_variables, scale)
      return {f'G_{k}': v for k, v in terms.items()} | dict(G_loss=loss), grads

    terms, grads = self._replica_jit(forward_backward)(latents, labels)
    applied = self._apply_if_finite(self.G_opt, grads, self.G.trainable_variables)
    return shard.global_mean(terms), applied

  def _g_step(self, minibatch, resolution):
    with self.strategy.scope():
      terms, applied = self._run(self._g_replica, minibatch, resolution)
      self._update_scale(self.G_log2_scale, applied)
      self.step.assign_add(1)
    return dict(terms, G_applied=applied)

  @property
  def replicated(self):
    return self.strategy.num_replicas_in_sync > 1

  def _replica_jit(self, fn):
    """`fn` XLA-compiled per replica when replicated (see `_step_jit`)."""
    return tf.function(fn, jit_compile=True) if self.jit_compile and self.replicated else fn

  @property
  def _step_jit(self):
    """XLA over the whole step on one replica. With replicas, XLA cannot span the
    strategy (each replica's variables live on its own device), so only each
    replica's forward and backward pass is compiled; the update is not."""
    return self.jit_compile and not self.replicated

  def _run(self, replica_fn, *args):
    """replica_fn(*args) on every replica; its (already all-reduced) outputs, once."""
    out = self.strategy.run(lambda: replica_fn(*args))
    return tf.nest.map_structure(lambda v: self.strategy.experimental_local_results(v)[0], out)

  def _loss_scale(self, log2_scale):
    """2**log2_scale with loss scaling, else None."""
    return tf.pow(2.0, log2_scale) if self.loss_scaling else None

  def _scaled_gradients(self, tape, loss, variables, scale):
    """d loss / d variables; with a loss `scale`, of loss * scale, divided by scale."""
    if scale is None:
      return tape.gradient(loss, variables)
    # d(loss * scale) = scale as the upstream gradient (the tape has closed).
    grads = tape.gradient(loss, variables, output_gradients=tf.cast(scale, loss.dtype))
    return [None if g is None else tf.cast(g, tf.float32) / scale for g in grads]

  def loss_scale_variables(self):
    """{name: variable} of the loss scales to checkpoint ({} without loss scaling)."""
    if not self.loss_scaling:
      return {}
    return {'D_log2_scale': self.D_log2_scale, 'G_log2_scale': self.G_log2_scale}

  def loss_scale_values(self):
    """{name: float} of the current log2 loss scales, for monitoring."""
    return {k: float(v.numpy()) for k, v in self.loss_scale_variables().items()}

  def _update_scale(self, log2_scale, applied):
    if self.loss_scaling:
      log2_scale.assign_add(tf.where(applied, LOSS_SCALE_INC, -LOSS_SCALE_DEC))

  def _apply_if_finite(self, optimizer, grads, variables):
    """Applies the update unless a gradient is non-finite (reference: skipped).

    Variables of levels the working resolution does not build get no
    gradient. The reference's graph holds them inside untaken `tf.cond`
    branches, so TF1 hands Adam zeros for them: with beta1 = 0 a zero gradient
    leaves the weight unchanged and only decays Adam's second moment, which
    the reset at every lod change discards before the variable is used. So
    they are left out, unless resets are off (`zero_fill_unused`), where the
    decay would matter and zeros are applied as in the reference.
    """
    pairs = [(g if g is not None else tf.zeros_like(v), v) for g, v in zip(grads, variables)
             if g is not None or self.zero_fill_unused]
    finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g, _ in pairs])
    ctx = tf.distribute.get_replica_context()
    if ctx.num_replicas_in_sync > 1:  # all replicas must take the same branch
      bad = ctx.all_reduce(tf.distribute.ReduceOp.SUM, 1.0 - tf.cast(finite, tf.float32))
      finite = tf.equal(bad, 0.0)

    def apply():
      optimizer.apply_gradients(pairs)
      return tf.constant(True)

    def skip():
      return tf.constant(False)

    if tf.__internal__.distribute.strategy_supports_no_merge_call():
      return tf.cond(finite, apply, skip)

    # MirroredStrategy: apply_gradients calls merge_call, which cannot sit in a cond
    # inside a replica; decide in cross-replica context (as Keras' LossScaleOptimizer).
    def cross_replica(distribution, finite, grads):
      def apply_all():
        distribution.extended.call_for_each_replica(
            lambda g: optimizer.apply_gradients(zip(g, [v for _, v in pairs])), args=(grads,))
        return tf.constant(True)
      return tf.cond(distribution.experimental_local_results(finite)[0], apply_all, skip)

    return ctx.merge_call(cross_replica, args=(finite, [g for g, _ in pairs]))

  def _update_gs(self):
    """Gs <- G + (Gs - G) * beta for trainables; lod copied (beta 0). Reference section 4."""
    beta = self.G_smoothing
    for gs, g in zip(self.Gs.trainable_variables, self.G.trainable_variables):
      gs.assign(g + (gs - g) * beta)
    self.Gs.lod.assign(self.G.lod)

  def _check_minibatch(self, minibatch):
    replicas = self.strategy.num_replicas_in_sync
    if minibatch % replicas:
      raise ValueError(f'a minibatch of {minibatch} does not split evenly over {replicas} '
                       f'replicas.')

  def d_step(self, reals_uint8, labels, resolution):
    """One D update (and the Gs update that runs with it) on a global real minibatch."""
    key = (resolution, int(reals_uint8.shape[0]))
    if key not in self._d_steps:
      self._check_minibatch(key[1])
      lod_top = self.D.lod_top(resolution)  # floor(lod) while this resolution trains
      self._d_steps[key] = tf.function(
          lambda x, y: self._d_step(x, y, resolution, 2.0 ** -lod_top),
          jit_compile=self._step_jit)
    out = self._d_steps[key](reals_uint8, labels)
    self.last_terms.update(out)
    return out

  def g_step(self, minibatch, resolution):
    """One G update on fresh latents and labels drawn from the label table."""
    key = (resolution, minibatch)
    if key not in self._g_steps:
      self._check_minibatch(minibatch)
      self._g_steps[key] = tf.function(lambda: self._g_step(minibatch, resolution),
                                       jit_compile=self._step_jit)
    out = self._g_steps[key]()
    self.last_terms.update(out)
    return out

  def set_schedule(self, lod, G_lrate, D_lrate):
    """Assigns lod (G and D; Gs follows in the Gs update) and the learning rates."""
    with self.strategy.scope():
      self.G.lod.assign(lod)
      self.D.lod.assign(lod)
      self.G_opt.learning_rate.assign(G_lrate)
      self.D_opt.learning_rate.assign(D_lrate)

  def reset_optimizers(self):
    """Zeroes Adam's moments and step counts (reference: reset_opt_for_new_lod)."""
    with self.strategy.scope():
      for opt in (self.G_opt, self.D_opt):
        for v in opt.variables:
          if 'learning_rate' not in v.path:
            v.assign(tf.zeros_like(v))
