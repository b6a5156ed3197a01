"""`RunConfig`: everything that defines a GAN / RGAN run, saved as `<logdir>/run.json`.

The CLI fills it from flags; tests build it directly. On `--resume` the saved
config is authoritative: only the fields in `RESUME_OVERRIDABLE` may change
(`tf_gans.training.runfile`).
"""

import dataclasses
from typing import Optional

from tf_gans.training.runfile import RUN_FILE, RunFileMixin  # pylint: disable=unused-import

MIXED_PRECISION_POLICIES = ('', 'mixed_float16', 'mixed_bfloat16')
# What may differ on resume: how long to train and how to log / run it, never
# anything that changes the trajectory of the weights.
RESUME_OVERRIDABLE = ('steps', 'logdir', 'log_every', 'sample_every', 'checkpoint_every',
                      'keep_checkpoints', 'snapshot_every', 'export', 'progress', 'progress_every_s', 'strategy', 'jit_compile',
                      'steps_per_execution')


@dataclasses.dataclass
class RunConfig(RunFileMixin):
  """A GAN / RGAN training run. Field names match the `tf_gans.train` flags."""
  FAMILY = 'gan'
  RESUME_OVERRIDABLE = RESUME_OVERRIDABLE
  ARCHITECTURE = ('model', 'spectral_norm', 'batch_norm_g', 'batch_norm_d', 'g_h_size', 'd_h_size',
                  'width')
  logdir: str
  dataset: str = 'digits'
  split: str = 'train'
  image_size: int = 0
  data_dir: str = ''
  pad_to: int = 0
  sampling: str = 'epochs'
  model: str = 'mlp2014'
  spectral_norm: Optional[bool] = None
  batch_norm_g: Optional[bool] = None
  batch_norm_d: Optional[bool] = None
  g_h_size: Optional[int] = None
  d_h_size: Optional[int] = None
  activation: Optional[str] = None   # standard_cnn_32: relu | tanh (RGAN --Tanh_GD)
  pac: Optional[int] = None          # dcgan_*: PacGAN packing of D's input (RGAN *_PAC.py: 2)
  width: Optional[float] = None      # standard_cnn_32: channel-count multiplier (1.0: the paper's)
  loss: str = 'nonsaturating'
  gradient_penalty: Optional[float] = None
  d_steps: int = 1
  simultaneous: bool = False
  batch_size: int = 100
  steps: int = 5000
  seed: int = 0
  optimizer: str = 'adam'
  learning_rate: float = 2e-4
  d_learning_rate: Optional[float] = None
  beta1: float = 0.5
  beta2: float = 0.999
  lr_decay_factor: float = 1.000004
  lr_min: float = 1e-6
  momentum_initial: float = 0.5
  momentum_final: float = 0.7
  momentum_saturate_epoch: int = 250
  updates_per_epoch: int = 0
  strategy: str = 'default'
  jit_compile: bool = False
  steps_per_execution: int = 0      # train steps per compiled call (0: ~1 s of steps)
  mixed_precision: str = ''          # '', 'mixed_float16' or 'mixed_bfloat16'
  log_every: int = 100
  sample_every: int = 500
  checkpoint_every: int = 1000
  snapshot_every: int = 0           # generator snapshots for evaluation (0: the last step only)
  keep_checkpoints: int = 3
  num_samples: int = 64
  export: bool = True
  progress: bool = True
  progress_every_s: float = 30.0   # plain progress lines when not on a terminal

  def validate(self):
    """Raises ValueError naming the offending field (= flag) and what it expects."""
    positive = ('d_steps', 'batch_size', 'steps', 'log_every', 'sample_every', 'checkpoint_every',
                'keep_checkpoints', 'num_samples')
    for name in positive:
      if getattr(self, name) < 1:
        raise ValueError(f'--{name} must be >= 1, got {getattr(self, name)}.')
    if self.mixed_precision not in MIXED_PRECISION_POLICIES:
      raise ValueError(f'--mixed_precision must be one of {", ".join(MIXED_PRECISION_POLICIES[1:])} '
                       f'(or empty for float32), got {self.mixed_precision!r}.')
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
