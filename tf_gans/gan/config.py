"""`RunConfig`: everything that defines a GAN / RGAN run, saved as `<logdir>/run.json`.

Each field is a `tf_gans.train` flag, its help text beside it (`tf_gans.flags`
defines the flags from the fields). The CLI fills it from flags; tests and
notebooks build it directly. On `--resume` the saved
config is authoritative: only the fields in `RESUME_OVERRIDABLE` may change
(`tf_gans.training.runfile`).
"""

import dataclasses
from typing import Optional

from tf_gans.training import precision
from tf_gans.training.runfile import RunFileMixin, field

# What may differ on resume: how long to train and how to log / run it, never
# anything that changes the trajectory of the weights.
RESUME_OVERRIDABLE = ('steps', 'logdir', 'log_every', 'sample_every', 'checkpoint_every',
                      'keep_checkpoints', 'snapshot_every', 'export', 'progress', 'progress_every_s',
                      'strategy', 'jit_compile', 'steps_per_execution', 'fid_num_samples')


@dataclasses.dataclass
class RunConfig(RunFileMixin):
  """A GAN / RGAN training run. Each field is a `tf_gans.train` flag, help beside it."""
  FAMILY = 'gan'
  RESUME_OVERRIDABLE = RESUME_OVERRIDABLE
  ARCHITECTURE = ('model', 'spectral_norm', 'batch_norm_g', 'batch_norm_d', 'g_h_size', 'd_h_size',
                  'width')
  RENAMED = {'mixed_precision': ('dtype', {'': 'float32', 'mixed_float16': 'float16',
                                           'mixed_bfloat16': 'bfloat16'})}
  logdir: str = field(dataclasses.MISSING, 'Run folder: checkpoints, samples, TensorBoard, '
                      'export.')
  dataset: str = field('digits', 'Data (digits is built in; tfds never downloads).')
  split: str = field('train', 'Split, optionally sliced: train, test, train[:9000].')
  image_size: int = field(0, 'Resize folder images to this square size (0: keep; sizes must '
                          'agree).')
  data_dir: str = field('', 'TFDS data_dir for tfds:<name> (default: TFDS\'s).')
  pad_to: int = field(0, 'Zero-pad images to this square size (MNIST 28 -> 32).')
  sampling: str = field('epochs', 'epochs: shuffled passes; independent: each minibatch drawn on '
                        'its own (RGAN code).')
  model: str = field('mlp2014', 'Model (pggan: progressive growing, its flags are marked '
                     '[--model=pggan]).')
  spectral_norm: Optional[bool] = field(None, 'Model option: spectral normalization in D '
                                        '(default: the model\'s).')
  batch_norm_g: Optional[bool] = field(None, 'Model option: BatchNorm in G (default: the '
                                       'model\'s).')
  batch_norm_d: Optional[bool] = field(None, 'Model option: BatchNorm in D (default: the '
                                       'model\'s).')
  g_h_size: Optional[int] = field(None, 'Model option: DCGAN G width (default: the model\'s).')
  d_h_size: Optional[int] = field(None, 'Model option: DCGAN D width (default: the model\'s).')
  activation: Optional[str] = field(None, 'Model option: standard_cnn_32 hidden activations, '
                                    'relu or tanh (RGAN --Tanh_GD; default: the model\'s).')
  pac: Optional[int] = field(None, 'Model option: DCGAN PacGAN packing, D sees pac samples '
                             'stacked on the channel axis (RGAN 256x256 runs: 2; default: the '
                             'model\'s).')
  width: Optional[float] = field(None, 'Model option: standard_cnn_32 channel multiplier, every '
                                 'conv and Linear channel count scaled together, rounded, >= 1 '
                                 '(1.0: the paper\'s net; default: the model\'s).')
  loss: str = field('nonsaturating', 'Loss name in tf_gans.losses (e.g. nonsaturating, gan2014, '
                    'rasgan).')
  gradient_penalty: Optional[float] = field(None, 'WGAN-GP lambda added to the D loss of any '
                                            'loss (default: the loss\'s, 10 for wgan-gp).')
  d_steps: int = field(1, 'k: discriminator updates per generator update.')
  simultaneous: bool = field(False, 'Update D and G from one forward pass, as the 2014 MNIST '
                             'code (needs --d_steps=1).')
  pac_g_reuses_d_z: bool = field(False, 'The G step trains G on the last D step\'s noise (so on '
                                 'its fakes) instead of fresh noise, as the RGAN PacGAN script '
                                 'GAN_losses_iter_PAC.py does (the CAT 256x256 runs).')
  batch_size: int = field(100, 'm: global minibatch size of each update.')
  steps: int = field(5000, 'Training iterations (generator updates) in total.')
  seed: int = field(0, 'Seeds initialisation, noise, dropout and data order.')
  optimizer: str = field('adam', 'adam or sgd2014 (the 2014 momentum/decay schedule); '
                         'tf_gans.training.optimizers.')
  learning_rate: float = field(2e-4, 'Initial learning rate (D and G).')
  d_learning_rate: Optional[float] = field(None, 'D\'s learning rate if it differs (default: '
                                           '--learning_rate).')
  beta1: float = field(0.5, 'Adam beta_1.')
  beta2: float = field(0.999, 'Adam beta_2.')
  lr_decay_factor: float = field(1.000004, 'sgd2014: lr_t = lr / factor^t.')
  lr_min: float = field(1e-6, 'sgd2014: floor of the learning rate.')
  momentum_initial: float = field(0.5, 'sgd2014: momentum in epoch 1.')
  momentum_final: float = field(0.7, 'sgd2014: momentum once saturated.')
  momentum_saturate_epoch: int = field(250, 'sgd2014: epoch at which momentum reaches '
                                       '--momentum_final.')
  updates_per_epoch: int = field(0, 'sgd2014: updates per epoch for the momentum ramp (0: '
                                 'dataset size / batch).')
  strategy: str = field('default', 'tf.distribute strategy: default, mirrored (all local GPUs), '
                        'multi_worker (hosts from TF_CONFIG) or tpu.')
  jit_compile: bool = field(False, 'XLA-compile the train step (a GPU feature; on a 2-core CPU '
                            'the quickstart measured 0.8-2.4x per round, median 1.2x, after a '
                            '~17 s longer first step; PGGAN gains up to 32x32 and loses above).')
  steps_per_execution: int = field(0, 'Train steps per compiled call (Keras '
                                   'steps_per_execution; a divisor of --log_every). 0: sized so '
                                   'one call takes about a second. Same weights for every value; '
                                   'the progress line, signal stops and the divergence check act '
                                   'every this many steps. With several replicas (--strategy) it '
                                   'is 1.')
  dtype: str = field('float32', 'Compute precision of the nets (variables stay float32): '
                     'float32, float16 (GPUs; with loss scaling: a Keras LossScaleOptimizer per '
                     'D and G, PGGAN the reference\'s log2 schedule) or bfloat16 (faster on '
                     'recent CPUs). --mixed_precision is the same flag and takes the Keras '
                     'policy names (mixed_float16, mixed_bfloat16).')
  log_every: int = field(100, 'Steps per logging interval (scalars, progress).')
  sample_every: int = field(500, 'Steps between sample grids (multiple of --log_every).')
  checkpoint_every: int = field(1000, 'Steps between checkpoints (multiple of --log_every).')
  snapshot_every: int = field(0, 'Steps between generator snapshots kept for evaluation '
                              '(snapshots/; `evaluate --run`); 0: the last step only (multiple '
                              'of --log_every).')
  keep_checkpoints: int = field(3, 'Checkpoints to keep.')
  num_samples: int = field(64, 'Images in each sample grid.')
  fid_num_samples: int = field(0, 'Generated images the protocol\'s FID uses when the run is '
                               'evaluated (`evaluate --run` without --num_samples; the RGAN CAT '
                               'runs: 10000 at 64/128, 2000 at 256). 0: the metric\'s default.')
  export: bool = field(True, 'Export the generator SavedModel at the end.')
  progress: bool = field(True, 'Show a progress line (rate, ETA, losses).')
  progress_every_s: float = field(30.0, 'Seconds between progress lines when the output is a '
                                  'file or pipe (on a terminal the line is redrawn in place).')

  def __post_init__(self):
    self.dtype = precision.canonical(self.dtype)  # one spelling from here on

  def validate(self):
    """Raises ValueError naming the offending field (= flag) and what it expects."""
    positive = ('d_steps', 'batch_size', 'steps', 'log_every', 'sample_every', 'checkpoint_every',
                'keep_checkpoints', 'num_samples')
    for name in positive:
      if getattr(self, name) < 1:
        raise ValueError(f'--{name} must be >= 1, got {getattr(self, name)}.')
    if self.fid_num_samples < 0:
      raise ValueError(f'--fid_num_samples must be >= 0 (0: the metric\'s default), got '
                       f'{self.fid_num_samples}.')
    if self.simultaneous and self.d_steps != 1:
      raise ValueError(f'--simultaneous updates D and G from one forward pass, so it needs '
                       f'--d_steps=1, got --d_steps={self.d_steps}.')
    from tf_gans.gan import execution  # pylint: disable=import-outside-toplevel
    execution.check_requested(self.steps_per_execution, self.log_every)
    if self.snapshot_every < 0:
      raise ValueError(f'--snapshot_every must be >= 0 (0: the last step only), got '
                       f'{self.snapshot_every}.')
    for name in ('sample_every', 'checkpoint_every', 'snapshot_every'):
      if getattr(self, name) % self.log_every:
        raise ValueError(f'--{name}={getattr(self, name)} must be a multiple of '
                         f'--log_every={self.log_every}.')
    if self.learning_rate <= 0:
      raise ValueError(f'--learning_rate must be > 0, got {self.learning_rate}.')
    if self.gradient_penalty is not None and self.gradient_penalty < 0:
      raise ValueError(f'--gradient_penalty must be >= 0 (lambda), got {self.gradient_penalty}.')
    if self.d_learning_rate is not None and self.d_learning_rate <= 0:
      raise ValueError(f'--d_learning_rate must be > 0, got {self.d_learning_rate}.')
    if self.sampling not in ('epochs', 'independent'):
      raise ValueError(f'--sampling must be epochs or independent, got {self.sampling!r}.')
    if self.pad_to < 0:
      raise ValueError(f'--pad_to must be >= 0 (0: no padding), got {self.pad_to}.')
    if self.image_size < 0:
      raise ValueError(f'--image_size must be >= 0 (0: keep the images\' size), got {self.image_size}.')
    return self

  def model_options(self):
    """The model options the user set (None means the model's default)."""
    names = ('spectral_norm', 'batch_norm_g', 'batch_norm_d', 'g_h_size', 'd_h_size',
             'activation', 'pac', 'width')
    return {n: getattr(self, n) for n in names if getattr(self, n) is not None}
