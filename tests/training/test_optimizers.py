import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_gans.gan.config import RunConfig
from tf_gans.progressive.config import ProgressiveConfig
from tf_gans.training import optimizers


def test_learning_rate_schedule_matches_the_2014_formula():
  lr = optimizers.FlooredExponentialDecay(0.1, 1.000004, 1e-6)
  for t in (0, 1, 125000, 500000, 3_000_000):
    np.testing.assert_allclose(float(lr(t)), max(0.1 / 1.000004 ** t, 1e-6), rtol=1e-5)
  # goodfeli/adversarial `mnist.yaml` (ExponentialDecay 1.000004, min_lr 1e-6, 500 updates
  # per epoch): 0.0607 after 250 epochs, 0.0135 after 1000 epochs.
  assert round(float(lr(125000)), 4) == 0.0607
  assert round(float(lr(500000)), 4) == 0.0135


def test_momentum_ramp_per_epoch():
  mu = lambda t: float(optimizers.momentum_at(t, 500, 0.5, 0.7, 250))
  assert mu(0) == pytest.approx(0.5) and mu(499) == pytest.approx(0.5)   # epoch 1
  assert mu(500) == pytest.approx(0.5 + 0.2 / 249)                       # epoch 2
  assert mu(249 * 500) == pytest.approx(0.7) and mu(10 ** 7) == pytest.approx(0.7)


def test_scheduled_sgd_is_classical_momentum():
  cfg = RunConfig(logdir='', optimizer='sgd2014', learning_rate=0.1, updates_per_epoch=2,
                  momentum_saturate_epoch=3)
  opt = optimizers.build(cfg.optimizer, cfg, 'd')
  var = keras.Variable(np.array([1.0, -2.0], np.float32))
  theta, v = np.array([1.0, -2.0]), np.zeros(2)
  grads = [np.array([0.5, 1.0]), np.array([-1.0, 2.0]), np.array([0.3, 0.3]),
           np.array([1.0, 1.0]), np.array([2.0, -1.0])]
  for t, g in enumerate(grads):
    opt.apply_gradients([(tf.constant(g, tf.float32), var)])
    lr = max(0.1 / 1.000004 ** t, 1e-6)
    mu = 0.5 + 0.2 * min(max((t // 2) / 2, 0), 1)
    v = mu * v - lr * g
    theta = theta + v
    np.testing.assert_allclose(var.numpy(), theta, rtol=1e-5)


def test_unknown_optimizer():
  with pytest.raises(KeyError, match='adam, sgd2014'):
    optimizers.build('rmsprop', RunConfig(logdir=''), 'd')


def test_adam_reads_the_run_config_and_d_learning_rate():
  cfg = RunConfig(logdir='', learning_rate=2e-4, d_learning_rate=4e-4, beta1=0.5, beta2=0.9)
  d_opt, g_opt = optimizers.build('adam', cfg, 'd'), optimizers.build('adam', cfg, 'g')
  assert float(d_opt.learning_rate) == pytest.approx(4e-4)
  assert float(g_opt.learning_rate) == pytest.approx(2e-4)
  assert (g_opt.beta_1, g_opt.beta_2, g_opt.epsilon) == (0.5, 0.9, 1e-8)
  assert (d_opt.name, g_opt.name) == ('d_adam', 'g_adam')


def test_sgd2014_epoch_length_from_the_run_when_the_config_leaves_it_zero():
  cfg = RunConfig(logdir='', optimizer='sgd2014', learning_rate=0.1)
  assert optimizers.build('sgd2014', cfg, 'g', updates_per_epoch=600).updates_per_epoch == 600
  cfg = RunConfig(logdir='', optimizer='sgd2014', learning_rate=0.1, updates_per_epoch=7)
  assert optimizers.build('sgd2014', cfg, 'g', updates_per_epoch=600).updates_per_epoch == 7


def test_pggan_adam_is_the_reference_optimizer():
  cfg = ProgressiveConfig(logdir='', G_lrate_base=0.0015, D_lrate_base=0.002)
  g_opt, d_opt = optimizers.build('pggan_adam', cfg, 'G'), optimizers.build('pggan_adam', cfg, 'D')
  # original config.py: G_opt = D_opt = EasyDict(beta1=0.0, beta2=0.99, epsilon=1e-8)
  assert (g_opt.beta_1, g_opt.beta_2, g_opt.epsilon) == (0.0, 0.99, 1e-8)
  assert float(g_opt.learning_rate) == pytest.approx(0.0015)
  assert float(d_opt.learning_rate) == pytest.approx(0.002)
