"""One PGGAN training step at a time: D step + Gs update, G step, Adam resets.

Reference: the original `train.py` (`process_reals`, `train_progressive_gan`:
the D and G steps, the Gs moving average, `reset_opt_for_new_lod`), its
`tfutil.py` `Optimizer` (Adam, fp16 loss scaling, skipping non-finite
steps) and `loss.py` (`D_wgangp_acgan`, `G_wgan_acgan`).

Working resolution. Each step runs G and D at the schedule's resolution
2**(R - floor(lod)) (`GPaper(..., resolution=r)`, `DPaper(..., resolution=r)`),
where the reference nearest-upsamples reals and G's output to full size and
D box-pools them back: the two are the same function (tested), so a
low-resolution phase costs what that resolution costs. The gradient-penalty
norm is rescaled by 2**-floor(lod) to equal the reference's full-size norm
(see `tf_gans.losses.pggan`). Each resolution traces its step functions
once; `lod`, the learning rates and the optimizer resets are variables and
never retrace.

Randomness (z, alpha, mirror flips, G's labels) is stateless, drawn from
(seed, step counter, slot) (`tf_gans.training.replicas.pggan_seed`), so a
resumed run draws what the straight run would have drawn.

Replicas (`tf.distribute`; reference: the per-GPU towers of `train.py`). The
minibatch is global; each replica trains on its strided rows
(`tf_gans.training.replicas.Shard`) with the draws of the global minibatch,
its loss is its share of the global mean, the optimizer sums the replicas'
gradients, and one update (or one skip) applies everywhere, so R replicas
take the one-device step. Under several workers the loop hands each worker
only its replicas' rows of the minibatch (`d_step(..., num_workers=W)`,
`tf_gans.training.replicas.WorkerRows`); the draws are still of the global
minibatch.

Layout (after NVlabs stylegan2-ada-pytorch `training/loss.py`
`accumulate_gradients`, one function per phase in reading order). `_d_step`
reads in one screen as the reference's D step: `inputs` (process_reals and
the draws z, mixing factors, mirror flips), `forward_backward` (the tape, G
forward, the loss terms of `loss.py` `D_wgangp_acgan`, the gradients), then
apply-if-finite, the loss-scale update, the Gs moving average and the
counters; `_g_step` likewise (`G_wgan_acgan`). `inputs` and
`forward_backward` are what every replica runs, written as for one device;
how they run (`strategy.run`, each replica's rows `replicas.Shard`, XLA per
replica, the update applied or skipped on every replica together, the global
means of the terms) is `_on_replicas`, one call below the step. `d_step` and
`g_step` keep one traced step per (resolution, minibatch).
"""

import numpy as np
import tensorflow as tf

from tf_gans.layers import pggan as pgl
from tf_gans.losses import pggan as loss_lib
from tf_gans.training import loss_scale as loss_scale_lib
from tf_gans.training import optimizers
from tf_gans.training import replicas

# Stream slots of the stateless draws: (seed, step, slot) (`replicas.pggan_seed`).
_Z_D, _ALPHA, _MIRROR, _Z_G, _LABELS_G = range(5)


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


def _global_minibatch(reals, num_workers):
  """Rows of the global minibatch of which `reals` is one of `num_workers` equal shares."""
  n = tf.shape(reals)[0]
  return n * num_workers if num_workers > 1 else n


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
      Adam is not reset at lod changes; see `_gradient_pairs`).
    jit_compile: compile the D and G steps with XLA (a GPU feature: on CPU it
      is slower from 64x64 up, see `python -m tf_gans.benchmark --pggan_train`);
      with several replicas, each replica's forward and backward pass.
    loss_scaling: the reference's fp16 loss scaling (`tfutil.py` `Optimizer`,
      `tf_gans.training.loss_scale.Log2LossScale`): per optimizer a log2
      scale variable (`D_log2_scale`, `G_log2_scale`), initially 64, +0.0005
      after each applied step and -1 after a step skipped for non-finite
      gradients; the float32 loss is multiplied by 2**scale, the gradients
      divided by it.
    strategy: a `tf.distribute.Strategy` (default: the current one); G, D and
      Gs must have been built under its scope. Each step splits the global
      minibatch over the replicas (strided rows, `replicas.Shard`), draws z,
      alpha and the flips for the whole minibatch (so the draws do not depend on the replica count),
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
      self.G_opt = optimizers.build('pggan_adam', None, 'G')
      self.D_opt = optimizers.build('pggan_adam', None, 'D')
      self.G_opt.build(G.trainable_variables)
      self.D_opt.build(D.trainable_variables)
      self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name='step')
      self.cur_nimg = tf.Variable(0, dtype=tf.int64, trainable=False, name='cur_nimg')
      self.D_loss_scale = loss_scale_lib.Log2LossScale('D_log2_scale', loss_scaling)
      self.G_loss_scale = loss_scale_lib.Log2LossScale('G_log2_scale', loss_scaling)
      # Updates skipped for non-finite gradients since this trainer was built (not
      # checkpointed: a tick's count goes to history.csv; the reference's autosummary
      # `TrainD/overflow_frequency`, `TrainG/overflow_frequency`).
      self.D_skipped = tf.Variable(0, dtype=tf.int64, trainable=False, name='D_skipped')
      self.G_skipped = tf.Variable(0, dtype=tf.int64, trainable=False, name='G_skipped')
    self.D_log2_scale = self.D_loss_scale.log2_scale
    self.G_log2_scale = self.G_loss_scale.log2_scale
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

  # The steps (traced once per resolution; `d_step`, `g_step`).
  def _d_step(self, reals_uint8, labels, resolution, grad_scale, num_workers=1):
    """The D step: `train.py` `train_progressive_gan` runs `[D_train_op, Gs_update_op]`.

    On each replica (the reference's per-GPU tower), its rows of the global minibatch:
      reals = process_reals(reals): [0, 255] -> [-1, 1], mirror flips, lod fade;
      latents ~ N(0, 1), mixing_factors ~ U[0, 1) (and flips): stateless, (seed, step, slot);
      fakes = G(latents, labels); `loss.py` `D_wgangp_acgan`:
      D_loss = E[D(fakes)] - E[D(reals)] + wgan_epsilon E[D(reals)^2]
        + wgan_lambda / wgan_target^2 E[(||grad D(mixed)|| - wgan_target)^2]
        + cond_weight (xent(labels, D(reals)) + xent(labels, D(fakes)))   (AC-GAN),
        mixed = reals + (fakes - reals) * mixing_factors, the norm scaled by grad_scale;
      gradients of D_loss / R (its share of the mean) * 2**D_log2_scale, / 2**D_log2_scale.
    Then `tfutil.py` `Optimizer.apply_updates`: the replicas' gradients summed, Adam
    applied unless one is non-finite on any replica (`tf.cond(grad_ok, apply, no_op)`: a
    skipped update leaves the weights, Adam's moments and its step count as they were;
    D_skipped += 1), D_log2_scale += 0.0005 if applied else -1; `Gs_update_op` (run
    either way): Gs <- G + (Gs - G) * G_smoothing; step += 1, cur_nimg += minibatch.
    """
    G, D, loss_scale = self.G, self.D, self.D_loss_scale
    minibatch = _global_minibatch(reals_uint8, num_workers)

    def inputs(shard):   # shard(draw), shard.local(reals): this replica's rows (`replicas.Shard`)
      flip = None
      if self.mirror_augment:
        flip = shard(tf.random.stateless_uniform([minibatch, 1, 1, 1], self._seed(_MIRROR)) < 0.5)
      reals = process_reals(shard.local(reals_uint8), tf.cast(D.lod, tf.float32), flip)
      latents = shard(self._latents(minibatch, _Z_D))
      mixing_factors = shard(tf.random.stateless_uniform([minibatch, 1, 1, 1], self._seed(_ALPHA)))
      return (reals, shard.local(tf.cast(labels, tf.float32)), latents, mixing_factors,
              loss_scale.scale)   # 2**D_log2_scale (or None), also the penalty's; outside XLA

    def forward_backward(reals, labels, latents, mixing_factors, scale):
      with tf.GradientTape() as tape:
        fakes = G(self._generator_inputs(latents, labels), resolution=resolution)
        D_loss, terms = loss_lib.d_wgangp_acgan(
            D, reals, fakes, labels, mixing_factors, resolution=resolution,
            grad_scale=grad_scale, loss_scale=scale, **self.loss_kwargs)
        scaled = loss_scale.scale_loss(D_loss / self.strategy.num_replicas_in_sync)
      grads = loss_scale.unscale(tape.gradient(scaled, D.trainable_variables))
      return dict(terms, D_loss=D_loss), grads

    with self.strategy.scope():
      terms, applied = self._on_replicas(inputs, forward_backward, self.D_opt, D, num_workers)
      loss_scale.update(applied)
      self.D_skipped.assign_add(1 - tf.cast(applied, tf.int64))
      with tf.name_scope('GsUpdate'):   # `Gs.setup_as_moving_average_of`; a profiler stage
        for gs, g in zip(self.Gs.trainable_variables, G.trainable_variables):
          gs.assign(g + (gs - g) * self.G_smoothing)
        self.Gs.lod.assign(G.lod)   # beta 0 for lod
      self.step.assign_add(1)
      self.cur_nimg.assign_add(tf.cast(minibatch, tf.int64))
    return dict(terms, D_applied=applied)

  def _g_step(self, minibatch, resolution):
    """The G step: `train.py` `train_progressive_gan` runs `G_train_op`.

    On each replica, its rows of the global minibatch's stateless draws (seed, step, slot):
      latents ~ N(0, 1); labels = random rows of the label table
      (`dataset.py` `get_random_labels_tf`); fakes = G(latents, labels);
      `loss.py` `G_wgan_acgan`: G_loss = -E[D(fakes)] + cond_weight xent(labels, D(fakes));
      gradients of G_loss / R * 2**G_log2_scale, / 2**G_log2_scale.
    Then `tfutil.py` `Optimizer.apply_updates` as in the D step, with G_log2_scale
    (G_skipped += 1 when skipped); step += 1. Gs moves with the D step, as in the reference.
    """
    G, D, loss_scale = self.G, self.D, self.G_loss_scale

    def inputs(shard):   # `shard`: this replica's rows of the global draws
      rows = tf.random.stateless_uniform([minibatch], self._seed(_LABELS_G), maxval=tf.shape(
          self.label_table)[0], dtype=tf.int32)
      labels = shard(tf.gather(self.label_table, rows)[:, :self.label_size])
      return shard(self._latents(minibatch, _Z_G)), labels

    def forward_backward(latents, labels):
      with tf.GradientTape() as tape:
        fakes = G(self._generator_inputs(latents, labels), resolution=resolution)
        G_loss, terms = loss_lib.g_wgan_acgan(
            D, fakes, labels, resolution=resolution,
            cond_weight=self.loss_kwargs.get('cond_weight', 1.0))
        scaled = loss_scale.scale_loss(G_loss / self.strategy.num_replicas_in_sync)
      grads = loss_scale.unscale(tape.gradient(scaled, G.trainable_variables))
      return {f'G_{k}': v for k, v in terms.items()} | dict(G_loss=G_loss), grads

    with self.strategy.scope():
      terms, applied = self._on_replicas(inputs, forward_backward, self.G_opt, G)
      loss_scale.update(applied)
      self.G_skipped.assign_add(1 - tf.cast(applied, tf.int64))
      self.step.assign_add(1)
    return dict(terms, G_applied=applied)

  # Plumbing of the steps.
  def _on_replicas(self, inputs, forward_backward, optimizer, net, num_workers=1):
    """Runs a step's replica part on every replica; its (terms, applied), once.

    On each replica (`strategy.run`; reference: `train.py`'s per-GPU towers):
    `forward_backward(*inputs(shard))` on the replica's rows (`replicas.Shard`;
    `num_workers` as in `d_step`), XLA-compiled per replica with `jit_compile`
    and replicas (`replicas.replica_jit`: XLA cannot span the strategy; on one
    replica the whole step is compiled, `_step_jit`); then the update of
    `net`'s variables by `optimizer` (which sums the replicas' gradients),
    skipped on every replica if one's gradients are non-finite
    (`replicas.apply_if_finite`); the terms' means over the global minibatch.
    """
    jit = self.jit_compile and self.replicated

    def replica():
      shard = replicas.Shard(num_workers)
      terms, grads = replicas.replica_jit(forward_backward, jit)(*inputs(shard))
      applied = replicas.apply_if_finite(optimizer, self._gradient_pairs(grads, net))
      return shard.global_mean(terms), applied

    out = self.strategy.run(replica)  # all-reduced: the same on every replica
    return tf.nest.map_structure(lambda v: self.strategy.experimental_local_results(v)[0], out)

  @property
  def replicated(self):
    return self.strategy.num_replicas_in_sync > 1

  @property
  def _step_jit(self):
    """XLA over the whole step on one replica. With replicas, XLA cannot span the
    strategy (each replica's variables live on its own device), so only each
    replica's forward and backward pass is compiled (`_on_replicas`); the
    update is not."""
    return self.jit_compile and not self.replicated

  def _gradient_pairs(self, grads, net):
    """(gradient, variable) pairs for the optimizer.

    Variables of levels the working resolution does not build get no
    gradient. The reference's graph holds them inside untaken `tf.cond`
    branches, so TF1 hands Adam zeros for them: with beta1 = 0 a zero gradient
    leaves the weight unchanged and only decays Adam's second moment, which
    the reset at every lod change discards before the variable is used. So
    they are left out, unless resets are off (`zero_fill_unused`), where the
    decay would matter and zeros are applied as in the reference.
    """
    return [(g if g is not None else tf.zeros_like(v), v)
            for g, v in zip(grads, net.trainable_variables)
            if g is not None or self.zero_fill_unused]

  def skipped_updates(self):
    """(D, G): updates skipped for non-finite gradients since this trainer was built."""
    return int(self.D_skipped.numpy()), int(self.G_skipped.numpy())

  def loss_scale_variables(self):
    """{name: variable} of the loss scales to checkpoint ({} without loss scaling)."""
    if not self.loss_scaling:
      return {}
    return {'D_log2_scale': self.D_log2_scale, 'G_log2_scale': self.G_log2_scale}

  def loss_scale_values(self):
    """{name: float} of the current log2 loss scales, for monitoring."""
    return {k: float(v.numpy()) for k, v in self.loss_scale_variables().items()}

  def _check_minibatch(self, minibatch):
    count = self.strategy.num_replicas_in_sync
    if minibatch % count:
      raise ValueError(f'a minibatch of {minibatch} does not split evenly over {count} '
                       f'replicas.')

  def d_step(self, reals_uint8, labels, resolution, num_workers=1):
    """One D update (and the Gs update that runs with it) on a global real minibatch.

    num_workers: 1 (default): `reals_uint8` and `labels` are the global
      minibatch (each worker holds all of it; its replicas keep their rows).
      W > 1: they are this worker's share of a global minibatch W times
      larger, the rows `replicas.WorkerRows.of_strategy(self.strategy)`
      selects (`ArrayLods.images(..., rows=...)` batched by minibatch / W);
      each local replica takes its rows of the share (`Shard.local`), the
      rows it would take of the global minibatch, so the step is the same.
    """
    num_workers = int(num_workers)
    key = (resolution, int(reals_uint8.shape[0]))
    if num_workers > 1:
      key += (num_workers,)
    if key not in self._d_steps:
      self._check_minibatch(key[1] * num_workers)
      lod_top = self.D.lod_top(resolution)  # floor(lod) while this resolution trains
      self._d_steps[key] = tf.function(
          lambda x, y: self._d_step(x, y, resolution, 2.0 ** -lod_top, num_workers),
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
