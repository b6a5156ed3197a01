"""`GAN(keras.Model)`: the adversarial game as a Keras `train_step`.

One `train_step` is one iteration of Algorithm 1 (Goodfellow et al. 2014):
  k times: a fresh real minibatch and fresh noise; descend the D loss;
  then:    fresh noise (or, with `g_reuses_d_z`, the last D step's noise, as
           the RGAN code's PacGAN script); when the G loss looks at real data
           (the relativistic losses), the critic on a fresh real minibatch
           (`LossPair.g_real_batch='fresh'`) or on the last D step's one,
           under the updated D (`'last_d_batch'`: the paper-era RaLSGAN);
           descend the G loss.
With `simultaneous=True` it is instead what the 2014 MNIST code did: one
forward pass, both gradients at the pre-update parameters, both applied.

With a gradient penalty (WGAN-GP; `compile(gradient_penalty=lambda)` or a
loss whose default has one) every D loss gets lambda * E[(||grad C(x_hat)|| - 1)^2]
on interpolates x_hat = u x_r + (1 - u) x_f of that step's real and fake batches.
A D that packs its input (PacGAN, `tf_gans.models.dcgan.packing_of`) gets the
penalty as the RGAN PAC script computes it: one u per packed sample, the norm
over the packed sample.

The data pipeline delivers all real minibatches of one iteration as one
batch of `real_batches_per_step * m` images, which the step splits.

Distribution: under a `tf.distribute` strategy each replica computes losses
as means over its local minibatch and scales them by 1/num_replicas, so the
summed gradients equal those of the global-batch mean. Noise is drawn for the
global batch from a stateless seed (seed, step, slot) and each replica takes
its contiguous slice, so a step on R replicas sees exactly the noise of a step
on one. The interpolation weights u are drawn the same way, from a second
stream (`tf_gans.training.replicas`: `gan_seed`, `contiguous_rows`).

The relativistic average losses' minibatch means (m_r, m_f) are global: each
replica all-reduces its sum and count (`losses.global_batch_mean`), so R
replicas optimise the one-device objective (tested for rasgan, ralsgan,
rahinge, ralsgan-paper under MirroredStrategy).
"""

import keras
import tensorflow as tf

from tf_gans import latents as latents_lib
from tf_gans import losses as losses_lib
from tf_gans.models import dcgan
from tf_gans.training import loss_scale as loss_scale_lib
from tf_gans.training import replicas


class GAN(keras.Model):
  """A generator and a discriminator trained against each other with `fit()`.

  Args:
    generator: Keras model, latents -> images.
    discriminator: Keras model, images -> logits [N, 1].
    latent_dim: size of z.
    latent_distribution: name in `tf_gans.latents.LATENTS`.
    d_steps: k, discriminator updates per generator update (Algorithm 1).
    simultaneous: update D and G from one forward pass (the 2014 MNIST code);
      requires d_steps == 1.
    seed: seeds the noise; with the step counter it fixes every z drawn.
    g_reuses_d_z: the G step trains G on the noise of the iteration's last D
      step instead of fresh noise, as `code/GAN_losses_iter_PAC.py` of the RGAN
      code does (its G step packs the D step's `fake` tensor, c6cbdc9 line
      661). G(z) is computed again from that z inside the G step's tape: G's
      weights have not changed since the D step and its BatchNorm uses batch
      statistics, so the images and G's gradient are the original's (only
      BatchNorm's unused moving statistics see the batch twice).
  """

  def __init__(self, generator, discriminator, latent_dim, latent_distribution='normal',
               d_steps=1, simultaneous=False, seed=0, g_reuses_d_z=False, **kwargs):
    super().__init__(**kwargs)
    if d_steps < 1:
      raise ValueError(f'd_steps (k) must be >= 1, got {d_steps}.')
    if simultaneous and d_steps != 1:
      raise ValueError(f'simultaneous updates use one forward pass, so d_steps must be 1, '
                       f'got {d_steps}.')
    latents_lib.LATENTS.get(latent_distribution)  # fail early on a bad name
    self.generator = generator
    self.discriminator = discriminator
    self.latent_dim = latent_dim
    self.latent_distribution = latent_distribution
    self.d_steps = d_steps
    self.simultaneous = simultaneous
    self.seed = int(seed)
    self.g_reuses_d_z = bool(g_reuses_d_z)
    # PacGAN: the D input's packing, which the gradient penalty follows.
    self.pac = dcgan.packing_of(discriminator)
    # Iterations done (generator updates); drives the noise seeds and the data position.
    self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name='step',
                            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
    self.d_loss_tracker = keras.metrics.Mean(name='d_loss')
    self.g_loss_tracker = keras.metrics.Mean(name='g_loss')
    self.d_real_tracker = keras.metrics.Mean(name='d_real')
    self.d_fake_tracker = keras.metrics.Mean(name='d_fake')
    self.gp_tracker = keras.metrics.Mean(name='gradient_penalty')
    self.loss_pair = None
    self.gp_weight = 0.0
    self.built = True  # G and D are built; fit() must not call call() on data.

  def compile(self, d_optimizer, g_optimizer, loss='nonsaturating', gradient_penalty=None,
              **kwargs):
    """Args: d_optimizer, g_optimizer: Keras optimizers; loss: a name in
    `tf_gans.losses.LOSSES` or a `LossPair`; gradient_penalty: the WGAN-GP
    lambda added to the D loss (None: the loss's default, 10 for wgan-gp);
    kwargs go to `keras.Model.compile` (e.g. `jit_compile`)."""
    super().compile(**kwargs)
    self.d_optimizer = d_optimizer
    self.g_optimizer = g_optimizer
    self.loss_pair = losses_lib.get(loss) if isinstance(loss, str) else loss
    if gradient_penalty is None:
      gradient_penalty = self.loss_pair.default_gradient_penalty
    if gradient_penalty < 0:
      raise ValueError(f'gradient_penalty must be >= 0, got {gradient_penalty}.')
    self.gp_weight = float(gradient_penalty)

  @classmethod
  def from_model(cls, model, image_shape, loss='nonsaturating', learning_rate=2e-4, beta1=0.5,
                 beta2=0.999, gradient_penalty=None, d_steps=1, seed=0, **model_options):
    """A compiled GAN of the registered nets `model` (`tf_gans.models`) for images of
    `image_shape` (H, W, C), trained with `loss` and Adam (the RGAN paper's setup 1:
    lr 2e-4, betas (0.5, 0.999)); `model_options` are the model's own (e.g.
    `spectral_norm=True`). Train with `fit(images, batch_size=m)`."""
    from tf_gans import models  # pylint: disable=import-outside-toplevel
    nets = models.build(model, tuple(image_shape), **model_options)
    gan = cls(nets.generator, nets.discriminator, nets.latent_dim, nets.latent_distribution,
              d_steps=d_steps, seed=seed)
    gan.value_range = tuple(nets.value_range)
    adam = lambda name: keras.optimizers.Adam(learning_rate, beta_1=beta1, beta_2=beta2,
                                              epsilon=1e-8, name=name)
    gan.compile(adam('d_adam'), adam('g_adam'), loss=loss, gradient_penalty=gradient_penalty)
    return gan

  def fit(self, x=None, y=None, batch_size=None, **kwargs):
    """Keras `fit`, where `batch_size` is m, the minibatch of each D and G update.

    One train step consumes `real_batches_per_step` real minibatches (k D
    steps, plus one for a G step that draws its own, `LossPair.g_draws_real`).
    Given arrays, the GAN feeds `batch_size * real_batches_per_step` rows a
    step itself (default m: 32). A
    `tf.data.Dataset` must already yield that many rows an element
    (`tf_gans.data.make_dataset(..., batch_size=m * gan.real_batches_per_step,
    minibatch_size=m)`); its rows are split into the minibatches in order.
    """
    if self.loss_pair is None:
      raise ValueError('compile() the GAN (optimizers and a loss) before fit().')
    if isinstance(x, tf.data.Dataset) or x is None:
      if batch_size is not None:
        raise ValueError('batch_size applies to array input; a dataset must yield '
                         'm * gan.real_batches_per_step rows per element.')
    else:
      batch_size = (batch_size or 32) * self.real_batches_per_step
    return super().fit(x, y, batch_size=batch_size, **kwargs)

  def generate(self, num, seed=0):
    """`num` samples of G on latents drawn with `seed` (the run's latent distribution), as
    a numpy array in G's output range."""
    latents = latents_lib.sample(self.latent_distribution, [num, self.latent_dim], (seed, 0))
    return self.generator(latents, training=False).numpy()

  @property
  def real_batches_per_step(self):
    """How many real minibatches one iteration consumes: k, plus one when the G step
    draws its own (`LossPair.g_real_batch == 'fresh'`); 1 for simultaneous updates."""
    if self.simultaneous:
      return 1
    draws = self.loss_pair is not None and self.loss_pair.g_draws_real
    return self.d_steps + (1 if draws else 0)

  @property
  def metrics(self):
    trackers = [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker, self.d_fake_tracker]
    return trackers + ([self.gp_tracker] if self.gp_weight else [])

  def call(self, latents, training=False):
    return self.generator(latents, training=training)

  def _slot_seed(self, slot, stream=0):
    """Stateless seed of minibatch `slot` of this step; streams: 0 noise, 1 GP weights."""
    return replicas.gan_seed(self.seed, self.step.read_value(), self.d_steps, slot, stream)

  def sample_latents(self, num, slot):
    """Noise for minibatch `slot` of the current step, [num, latent_dim] per replica."""
    seed = self._slot_seed(slot)
    return replicas.contiguous_rows(lambda n: latents_lib.sample(
        self.latent_distribution, [n, self.latent_dim], seed), num)

  @property
  def d_loss_scale(self):
    """D's loss scale (`tf_gans.training.loss_scale`; dynamic under mixed_float16)."""
    return loss_scale_lib.KerasLossScale(self.d_optimizer)

  @property
  def g_loss_scale(self):
    """G's loss scale."""
    return loss_scale_lib.KerasLossScale(self.g_optimizer)

  def _d_loss(self, x, fake, c_real, c_fake, slot):
    """The D loss plus, when enabled, the gradient penalty (in float32)."""
    d_loss = self.loss_pair.d_loss(c_real, c_fake)
    if not self.gp_weight:
      return d_loss, d_loss
    seed = self._slot_seed(slot, stream=1)
    # One u per D input: per image, or per packed sample (PacGAN).
    u = replicas.contiguous_rows(lambda n: losses_lib.sample_interpolation_weights(n, seed),
                                 tf.shape(x)[0] // self.pac)
    # mixed_float16: D's loss scale also guards the penalty's inner gradient (build the
    # optimizer before the first step: `tf_gans.gan.loop.build_gan`).
    gp = losses_lib.gradient_penalty(self.discriminator, x, fake, u, self.gp_weight,
                                     loss_scale=self.d_loss_scale.scale, pac=self.pac)
    # A scale that overflows float16 makes gp inf: the optimizer skips that step and
    # halves its scale, so only finite penalties are averaged into the metric (an inf
    # metric would stop the run as diverged).
    finite = tf.math.is_finite(gp)
    self.gp_tracker.update_state(tf.where(finite, gp, 0.0),
                                 sample_weight=tf.cast(finite, tf.float32))
    return d_loss, d_loss + gp

  def train_step(self, data):
    real = data[0] if isinstance(data, (tuple, list)) else data
    chunks = self.real_batches_per_step
    m = tf.shape(real)[0] // chunks
    minibatch = lambda i: real[i * m:(i + 1) * m]
    ctx = tf.distribute.get_replica_context()
    inv_replicas = 1.0 / (ctx.num_replicas_in_sync if ctx else 1)
    G, D = self.generator, self.discriminator
    d_scale, g_scale = self.d_loss_scale, self.g_loss_scale

    if self.simultaneous:
      x = minibatch(0)
      with tf.GradientTape(persistent=True) as tape:
        c_real = D(x, training=True)
        fake = G(self.sample_latents(m, 0), training=True)
        c_fake = D(fake, training=True)
        d_loss, d_total = self._d_loss(x, fake, c_real, c_fake, 0)
        g_loss = self.loss_pair.g_loss(c_real, c_fake)
        d_scaled = d_scale.scale_loss(d_total * inv_replicas)
        g_scaled = g_scale.scale_loss(g_loss * inv_replicas)
      d_grads = d_scale.unscale(tape.gradient(d_scaled, D.trainable_variables))
      g_grads = g_scale.unscale(tape.gradient(g_scaled, G.trainable_variables))
      del tape
      self.d_optimizer.apply_gradients(zip(d_grads, D.trainable_variables))
      self.g_optimizer.apply_gradients(zip(g_grads, G.trainable_variables))
    else:
      for i in range(self.d_steps):
        x = minibatch(i)
        fake = G(self.sample_latents(m, i), training=True)
        with tf.GradientTape() as tape:
          c_real = D(x, training=True)
          c_fake = D(fake, training=True)
          d_loss, d_total = self._d_loss(x, fake, c_real, c_fake, i)
          d_scaled = d_scale.scale_loss(d_total * inv_replicas)
        grads = d_scale.unscale(tape.gradient(d_scaled, D.trainable_variables))
        self.d_optimizer.apply_gradients(zip(grads, D.trainable_variables))
      # The G step's noise: fresh (slot k), or the last D step's (slot k - 1).
      z_slot = self.d_steps - 1 if self.g_reuses_d_z else self.d_steps
      # The G step's real minibatch: its own (the last chunk), or the last D step's (x).
      x_g = minibatch(chunks - 1) if self.loss_pair.g_draws_real else x
      with tf.GradientTape() as tape:
        c_fake_g = D(G(self.sample_latents(m, z_slot), training=True), training=True)
        # Only the relativistic losses look at real logits here, of the D the D steps
        # just updated (on the fakes first, then the reals, as the reference); the others
        # ignore c_real. D's weights are not updated in this step.
        c_real_g = D(x_g, training=True) if self.loss_pair.g_needs_real else c_real
        g_loss = self.loss_pair.g_loss(c_real_g, c_fake_g)
        g_scaled = g_scale.scale_loss(g_loss * inv_replicas)
      grads = g_scale.unscale(tape.gradient(g_scaled, G.trainable_variables))
      self.g_optimizer.apply_gradients(zip(grads, G.trainable_variables))

    self.step.assign_add(1)
    self.d_loss_tracker.update_state(d_loss)
    self.g_loss_tracker.update_state(g_loss)
    self.d_real_tracker.update_state(tf.reduce_mean(tf.sigmoid(tf.cast(c_real, tf.float32))))
    self.d_fake_tracker.update_state(tf.reduce_mean(tf.sigmoid(tf.cast(c_fake, tf.float32))))
    logs = {m.name: m.result() for m in self.metrics}
    if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
      # Keras 3 reduces train_step outputs across workers with reduce(MEAN, axis=0),
      # which needs an axis to reduce: give the scalars one (the result is a scalar).
      logs = {k: tf.reshape(v, [1]) for k, v in logs.items()}
    return logs
