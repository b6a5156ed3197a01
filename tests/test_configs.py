"""Every shipped flag file names real flags, registered names and a valid configuration."""

import dataclasses
import pathlib

import pytest

from tf_gans import losses, models
from tf_gans.progressive.config import ProgressiveConfig
from tf_gans.gan.config import RunConfig

CONFIGS = sorted((pathlib.Path(__file__).resolve().parents[1] / 'configs').rglob('*.cfg'))
GAN_CONFIGS = [p for p in CONFIGS if '--model=pggan' not in p.read_text()]
PGGAN_CONFIGS = [p for p in CONFIGS if '--model=pggan' in p.read_text()]
FIELDS = {f.name: f for f in dataclasses.fields(RunConfig)}
# --model selects the trainer; --resolution is the dataset check of tf_gans.progressive.flags.
PGGAN_FIELDS = dict({f.name: f for f in dataclasses.fields(ProgressiveConfig)},
                    model=dataclasses.field(default=''), resolution=dataclasses.field(default=0))


def parse_flagfile(path, fields=None):
  """--name=value / --name / --noname lines -> config keyword arguments."""
  fields = fields or FIELDS
  values = {}
  for line in path.read_text().splitlines():
    line = line.strip()
    if not line or line.startswith('#'):
      continue
    assert line.startswith('--'), f'{path}: {line!r} is not a flag'
    name, eq, raw = line[2:].partition('=')
    if not eq:  # boolean switch
      name, raw = (name[2:], 'false') if name.startswith('no') and name[2:] in fields else (name, 'true')
    assert name in fields, f'{path}: unknown flag --{name}'
    # The annotation (600 kimg is a float field); the default's type for non-fields.
    kind = fields[name].type or type(fields[name].default)
    if 'Optional[float]' in str(kind):
      kind = float
    if 'Optional[int]' in str(kind):
      kind = int
    if 'Optional[bool]' in str(kind):
      kind = bool
    if 'Optional[str]' in str(kind):
      kind = str
    values[name] = (raw == 'true') if kind is bool else kind(raw)
  return values


def test_there_are_configs():
  names = {p.name for p in CONFIGS}
  assert {'quickstart.cfg', 'gan_mnist.cfg', 'sgan_s1.cfg', 'ralsgan_s2.cfg', 'rasgan_cat64.cfg',
          'rasgan-paper_s1.cfg', 'sgan_tanh.cfg', 'ralsgan_cat256.cfg'} <= names
  assert len([p for p in CONFIGS if p.parent.name == 'rgan' and p.stem.endswith(('_s1', '_s2'))]) >= 16


@pytest.mark.parametrize('path', GAN_CONFIGS, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_config_is_valid(path):
  cfg = RunConfig(logdir='unused', **parse_flagfile(path)).validate()
  assert cfg.loss in losses.LOSSES
  assert cfg.model in models.names()


@pytest.mark.parametrize('path', PGGAN_CONFIGS, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_pggan_config_is_valid_and_reaches_full_resolution(path):
  values = parse_flagfile(path, PGGAN_FIELDS)
  resolution = values.pop('resolution', None)
  assert values.pop('model') == 'pggan'
  cfg = ProgressiveConfig(logdir='unused', **values).validate()
  if resolution is None:  # a built-in dataset (here, offline): its own resolution
    from tf_gans.progressive import data as data_lib  # pylint: disable=import-outside-toplevel
    resolution = 2 ** data_lib.open_dataset(cfg.dataset, cfg.split, cfg.pad_to).resolution_log2
  # The schedule must cover every phase up to the config's resolution (no silent partial run).
  cfg.check_schedule(resolution.bit_length() - 1, path.name)
  assert not cfg.allow_partial_schedule


def test_pggan_1024_is_the_reference_celebahq_config():
  """Original `config.py`: the active CelebA-HQ 1024 run (`-preset-v2-1gpu`, `-fp32`)."""
  cfg = ProgressiveConfig(logdir='unused', **{
      k: v for k, v in parse_flagfile(CONFIGS[0].parent / 'pggan_1024.cfg', PGGAN_FIELDS).items()
      if k not in ('model', 'resolution')})
  tables = cfg.tables()
  assert tables['G_lrate_dict'] == tables['D_lrate_dict'] == {1024: 0.0015}
  assert tables['max_minibatch_per_gpu'] == {256: 16, 512: 8, 1024: 4}
  assert tables['minibatch_dict'] == {4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4}
  assert (cfg.lod_training_kimg, cfg.lod_transition_kimg, cfg.total_kimg) == (600, 600, 12000)
  assert (cfg.G_smoothing, cfg.D_repeats, cfg.minibatch_repeats) == (0.999, 1, 4)


@pytest.mark.parametrize('gpus', [2, 4, 8])
def test_pggan_multi_gpu_presets_split_every_minibatch_over_their_gpus(gpus):
  """Original `config.py`, presets `-preset-v2-2gpus` / `-4gpus` / `-8gpus`."""
  cfg = ProgressiveConfig(logdir='unused', **{
      k: v for k, v in parse_flagfile(CONFIGS[0].parent / f'pggan_1024_{gpus}gpus.cfg',
                                      PGGAN_FIELDS).items() if k not in ('model', 'resolution')})
  assert cfg.strategy == 'mirrored' and cfg.total_kimg == 12000
  seen = {}
  for kimg in range(0, 12000, 300):
    sched = cfg.schedule(kimg * 1000, 10, num_gpus=gpus)
    cfg.check_minibatch(sched, gpus)  # whole stddev groups of 4 on every GPU
    seen[sched.resolution] = sched.minibatch
  base = {2: 8, 4: 16, 8: 32}[gpus]
  assert seen[4] == {2: 256, 4: 512, 8: 512}[gpus]
  # 1024: the base minibatch, capped at 4 per GPU.
  assert seen[1024] == min(base, 4 * gpus)
  assert cfg.tables()['G_lrate_dict'][1024] == {2: 0.002, 4: 0.003, 8: 0.003}[gpus]


# ------------------------------------------------------------- PGGAN paper Table 1, no growing

CONFIGS_DIR = pathlib.Path(__file__).resolve().parents[1] / 'configs'
TABLE1_DIR = CONFIGS_DIR / 'pggan_table1'
# The original Theano config.py section 6.1 (the rows the code can express); Table 1 is
# cumulative: row -> (the row above it, the fields its one addition switches).
TABLE1_STEPS = {
    'e': ('d', {'mbstd_group_size'}),                                 # + Minibatch stddev
    'f': ('e', {'use_wscale', 'G_lrate_base', 'D_lrate_base'}),       # + Equalized learning rate
    'g': ('f', {'use_pixelnorm'}),                                    # + Pixelwise normalization
}
# Section 6.1's setup against the code's defaults: the smaller networks, 800 kimg phases,
# 10000 kimg, the Theano networks' unfused scaling, the data (and the whole-minibatch
# stddev of 16 where it is on).
TABLE1_SETUP = {'dataset', 'mirror_augment', 'fmap_base', 'fused_scale', 'lod_training_kimg',
                'lod_transition_kimg', 'total_kimg'}
# Row (d), revised training parameters: the setup without the three later additions.
TABLE1_D_OFF = {'mbstd_group_size', 'use_wscale', 'G_lrate_base', 'D_lrate_base', 'use_pixelnorm'}


def pggan_config(path):
  return ProgressiveConfig(logdir='unused', **{
      k: v for k, v in parse_flagfile(path, PGGAN_FIELDS).items() if k not in ('model',
                                                                               'resolution')})


def differences(a, b):
  return {f.name for f in dataclasses.fields(ProgressiveConfig)
          if getattr(a, f.name) != getattr(b, f.name)}


def table1(row, data):
  return pggan_config(TABLE1_DIR / f'{data}_{row}.cfg')


def test_table1_rows_are_the_expressible_ones_for_both_datasets():
  assert sorted(p.name for p in TABLE1_DIR.glob('*.cfg')) == sorted(
      f'{data}_{row}.cfg' for data in ('bedroom', 'celeba') for row in 'defg')
  for path in TABLE1_DIR.glob('*.cfg'):
    text = path.read_text()
    row = path.stem.split('_')[1]
    assert text.startswith(f'# PGGAN paper Table 1, row ({row}) '), path.name
    assert '--resolution=128' in text.splitlines()
  # The rows that cannot be expressed are named, with why, in the nearest row's comment.
  assert '(a)-(c)' in (TABLE1_DIR / 'celeba_d.cfg').read_text()
  assert '(e*)' in (TABLE1_DIR / 'celeba_e.cfg').read_text()
  assert '(h)' in (TABLE1_DIR / 'celeba_g.cfg').read_text()


@pytest.mark.parametrize('data', ['celeba', 'bedroom'])
@pytest.mark.parametrize('row', sorted(TABLE1_STEPS))
def test_table1_row_differs_from_the_row_above_in_exactly_its_switches(row, data):
  above, switches = TABLE1_STEPS[row]
  assert differences(table1(row, data), table1(above, data)) == switches


@pytest.mark.parametrize('data', ['celeba', 'bedroom'])
def test_table1_rows_against_the_codes_defaults(data):
  defaults = ProgressiveConfig(logdir='unused')
  setup = TABLE1_SETUP - ({'mirror_augment'} if data == 'bedroom' else set())  # default False
  d, e, f, g = (table1(row, data) for row in 'defg')
  # (d): the setup with every later contribution off; (g): the setup with all of them on.
  assert differences(d, defaults) == setup | TABLE1_D_OFF
  assert differences(g, defaults) == setup | {'mbstd_group_size'}
  assert d.mbstd_group_size <= 1 and not d.use_wscale and not d.use_pixelnorm
  assert (d.G_lrate_base, d.D_lrate_base) == (e.G_lrate_base, e.D_lrate_base) == (1e-4, 1e-4)
  assert (f.G_lrate_base, f.D_lrate_base) == (1e-3, 1e-3) and f.use_wscale
  # Theano's stddev over the whole minibatch: one group of the minibatch at every resolution.
  assert e.mbstd_group_size == e.minibatch_base == 16 and not e.tables()['minibatch_dict']
  assert (g.fmap_base, g.fused_scale, g.total_kimg) == (2048, False, 10000)
  assert g.lod_training_kimg == g.lod_transition_kimg == 800
  assert g.mirror_augment == (data == 'celeba')


def test_table1_datasets_differ_only_in_the_data():
  for row in 'defg':
    assert differences(table1(row, 'celeba'), table1(row, 'bedroom')) == {'dataset',
                                                                          'mirror_augment'}


@pytest.mark.parametrize('name', ['pggan_1024_nogrowing.cfg', 'pggan_digits_nogrowing.cfg'])
def test_nogrowing_configs_train_at_full_resolution_from_the_start(name):
  path = CONFIGS_DIR / name
  cfg = pggan_config(path)
  resolution = parse_flagfile(path, PGGAN_FIELDS).get('resolution')
  if resolution is None:  # built-in data: its own resolution
    from tf_gans.progressive import data as data_lib  # pylint: disable=import-outside-toplevel
    resolution = 2 ** data_lib.open_dataset(cfg.dataset, cfg.split, cfg.pad_to).resolution_log2
  assert cfg.lod_initial_resolution == resolution
  r_log2 = resolution.bit_length() - 1
  for kimg in (0, 0.4, cfg.total_kimg / 2, cfg.total_kimg):
    sched = cfg.schedule(kimg * 1000, r_log2)
    assert (sched.lod, sched.resolution) == (0, resolution)
  if name == 'pggan_1024_nogrowing.cfg':  # the original's -nogrowing on its active config
    base = pggan_config(CONFIGS_DIR / 'pggan_1024.cfg')
    assert differences(cfg, base) == {'lod_initial_resolution', 'lod_training_kimg',
                                      'lod_transition_kimg', 'total_kimg'}
    assert (cfg.lod_training_kimg, cfg.lod_transition_kimg, cfg.total_kimg) == (0, 0, 10000)


# ---------------------------------------------------------------- what the comments say


def comment_lines(path):
  return [line[1:].strip() for line in path.read_text().splitlines() if line.startswith('#')]


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: str(p.relative_to(CONFIGS_DIR)))
def test_comments_have_no_cut_sentences(path):
  # A line ending a sentence is not followed by one starting mid-sentence (a lowercase word).
  lines = comment_lines(path)
  for before, after in zip(lines, lines[1:]):
    first = after.split(' ', 1)[0]
    assert not (before.endswith('.') and first.isalpha() and first.islower()), (
        f'{path.name}: {after!r} continues no sentence')


def dataset_tool_commands(path):
  """(command, arguments) of each `dataset_tool create_*` line in a flag file's comments."""
  import re  # pylint: disable=import-outside-toplevel
  text = ' '.join(comment_lines(path)).replace(' \\ ', ' ')
  text = re.sub(r'<[^>]*>', 'X', text).replace('[', '').replace(']', '')
  found = []
  for piece in text.split('dataset_tool ')[1:]:
    command, *rest = piece.split()
    if not command.startswith('create_'):
      continue
    args = []
    for token in rest:
      if not (token == 'X' or token.startswith(('--', 'datasets/'))):
        break
      args.append(token.rstrip('.,;'))
      if token.endswith(('.', ';')):  # the sentence ends
        break
    found.append((command, args))
  return found


@pytest.mark.parametrize('path', PGGAN_CONFIGS, ids=lambda p: str(p.relative_to(CONFIGS_DIR)))
def test_dataset_tool_commands_in_comments_parse_and_write_the_configs_dataset(path):
  from tf_gans import dataset_tool  # pylint: disable=import-outside-toplevel
  dataset = parse_flagfile(path, PGGAN_FIELDS)['dataset']
  for command, args in dataset_tool_commands(path):
    parsed = dataset_tool._build_parser().parse_args([command, *args])  # pylint: disable=protected-access
    assert f'tfrecords:{parsed.tfrecord_dir}' == dataset, path.name


def test_lsun_config_uses_the_originals_100k_set():
  path = CONFIGS_DIR / 'pggan_lsun_256.cfg'
  assert parse_flagfile(path, PGGAN_FIELDS)['dataset'].endswith('-100k')
  (command, args), = dataset_tool_commands(path)
  assert command == 'create_lsun' and '--max_images=100000' in args and '--resolution=256' in args


def test_cifar10_config_names_the_dataset_tool_commands_it_means():
  (original, args), (tfds, _) = dataset_tool_commands(CONFIGS_DIR / 'pggan_cifar10.cfg')
  assert (original, len(args), tfds) == ('create_cifar10', 2, 'create_cifar10_tfds')


def test_gan_mnist_comment_says_which_50000_images():
  text = ' '.join(comment_lines(CONFIGS_DIR / 'gan_mnist.cfg'))
  assert parse_flagfile(CONFIGS_DIR / 'gan_mnist.cfg')['dataset'] == 'tfds:mnist'
  assert 'first 50,000 training' not in text and 'shuffled' in text
  assert '--dataset=mnist_idx:' in text and '--split=train[:50000]' in text


# ---------------------------------------------------------------- RGAN paper configs vs the scripts

RGAN_DIR = pathlib.Path(__file__).resolve().parents[1] / 'configs' / 'rgan'
LOSS_CODES = {1: 'sgan', 2: 'lsgan', 3: 'wgan-gp', 4: 'hinge', 5: 'rsgan', 6: 'rasgan',
              7: 'ralsgan', 8: 'rahinge'}   # GAN_losses_iter.py --loss_D
PAPER_FORMS = {6: 'rasgan-paper', 7: 'ralsgan-paper'}   # first commit's codes 12 and 15
# Script values a config deliberately does not copy; its comment must say how to reproduce them.
KNOWN_DEVIATIONS = {'stable.sh:39': ('lr_D', '--d_learning_rate=1.0')}   # "--lr_D 0001" typo

# The official scripts, transcribed: code/<script>:<line> -> that `python ...` line's arguments
# (all but --seed 1, which every line sets, --print_every, which changes only the log, and
# --input_folder, the cats folder the configs' --dataset names). github.com/AlexiaJM/RelativisticGAN, code/stable.sh and code/unstable.sh.
SCRIPT_LINES = {
    'stable.sh:5':
        'GAN_losses_iter.py --loss_D 1 --image_size 32 --lr_D .0002 --lr_G .0002 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 50000 --spectral True',
    'stable.sh:7':
        'GAN_losses_iter.py --loss_D 2 --image_size 32 --lr_D .0002 --lr_G .0002 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 50000 --spectral True',
    'stable.sh:9':
        'GAN_losses_iter.py --loss_D 3 --image_size 32 --lr_D .0002 --lr_G .0002 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 50000 --spectral True',
    'stable.sh:11':
        'GAN_losses_iter.py --loss_D 4 --image_size 32 --lr_D .0002 --lr_G .0002 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 50000 --spectral True',
    'stable.sh:13':
        'GAN_losses_iter.py --loss_D 5 --image_size 32 --lr_D .0002 --lr_G .0002 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 50000 --spectral True',
    'stable.sh:15':
        'GAN_losses_iter.py --loss_D 6 --image_size 32 --lr_D .0002 --lr_G .0002 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 50000 --spectral True',
    'stable.sh:17':
        'GAN_losses_iter.py --loss_D 7 --image_size 32 --lr_D .0002 --lr_G .0002 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 50000 --spectral True',
    'stable.sh:19':
        'GAN_losses_iter.py --loss_D 8 --image_size 32 --lr_D .0002 --lr_G .0002 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 50000 --spectral True',
    'stable.sh:21':
        'GAN_losses_iter.py --loss_D 5 --image_size 5 --lr_D .0002 --lr_G .0002 --batch_size 32 '
        '--Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 50000 --spectral True --grad_penalty True',
    'stable.sh:23':
        'GAN_losses_iter.py --loss_D 6 --image_size 6 --lr_D .0002 --lr_G .0002 --batch_size 32 '
        '--Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 50000 --spectral True --grad_penalty True',
    'stable.sh:27':
        'GAN_losses_iter.py --loss_D 1 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 5 --arch 1 --beta1 .50 --beta2 .9 --CIFAR10 True --n_iter 100000 '
        '--gen_every 50000 --spectral True',
    'stable.sh:29':
        'GAN_losses_iter.py --loss_D 2 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 5 --arch 1 --beta1 .50 --beta2 .9 --CIFAR10 True --n_iter 100000 '
        '--gen_every 50000 --spectral True',
    'stable.sh:31':
        'GAN_losses_iter.py --loss_D 3 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 5 --arch 1 --beta1 .50 --beta2 .9 --CIFAR10 True --n_iter 100000 '
        '--gen_every 50000 --spectral True',
    'stable.sh:33':
        'GAN_losses_iter.py --loss_D 4 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 5 --arch 1 --beta1 .50 --beta2 .9 --CIFAR10 True --n_iter 100000 '
        '--gen_every 50000 --spectral True',
    'stable.sh:35':
        'GAN_losses_iter.py --loss_D 5 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 5 --arch 1 --beta1 .50 --beta2 .9 --CIFAR10 True --n_iter 100000 '
        '--gen_every 50000 --spectral True',
    'stable.sh:37':
        'GAN_losses_iter.py --loss_D 6 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 5 --arch 1 --beta1 .50 --beta2 .9 --CIFAR10 True --n_iter 100000 '
        '--gen_every 50000 --spectral True',
    'stable.sh:39':
        'GAN_losses_iter.py --loss_D 7 --image_size 32 --lr_D 0001 --lr_G .0001 --batch_size 32 '
        '--Diters 5 --arch 1 --beta1 .50 --beta2 .9 --CIFAR10 True --n_iter 100000 --gen_every '
        '50000 --spectral True',
    'stable.sh:41':
        'GAN_losses_iter.py --loss_D 8 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 5 --arch 1 --beta1 .50 --beta2 .9 --CIFAR10 True --n_iter 100000 '
        '--gen_every 50000 --spectral True',
    'stable.sh:43':
        'GAN_losses_iter.py --loss_D 5 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 5 --arch 1 --beta1 .50 --beta2 .9 --CIFAR10 True --n_iter 100000 '
        '--gen_every 50000 --spectral True --grad_penalty True',
    'unstable.sh:5':
        'GAN_losses_iter.py --loss_D 1 --image_size 32 --lr_D .001 --lr_G .001 --batch_size 32 '
        '--Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000',
    'unstable.sh:7':
        'GAN_losses_iter.py --loss_D 2 --image_size 32 --lr_D .001 --lr_G .001 --batch_size 32 '
        '--Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000',
    'unstable.sh:9':
        'GAN_losses_iter.py --loss_D 3 --image_size 32 --lr_D .001 --lr_G .001 --batch_size 32 '
        '--Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000',
    'unstable.sh:11':
        'GAN_losses_iter.py --loss_D 4 --image_size 32 --lr_D .001 --lr_G .001 --batch_size 32 '
        '--Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000',
    'unstable.sh:13':
        'GAN_losses_iter.py --loss_D 5 --image_size 32 --lr_D .001 --lr_G .001 --batch_size 32 '
        '--Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000',
    'unstable.sh:15':
        'GAN_losses_iter.py --loss_D 6 --image_size 32 --lr_D .001 --lr_G .001 --batch_size 32 '
        '--Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000',
    'unstable.sh:17':
        'GAN_losses_iter.py --loss_D 7 --image_size 32 --lr_D .001 --lr_G .001 --batch_size 32 '
        '--Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000',
    'unstable.sh:19':
        'GAN_losses_iter.py --loss_D 8 --image_size 32 --lr_D .001 --lr_G .001 --batch_size 32 '
        '--Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000',
    'unstable.sh:23':
        'GAN_losses_iter.py --loss_D 1 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .9 --beta2 .9 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000',
    'unstable.sh:25':
        'GAN_losses_iter.py --loss_D 2 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .9 --beta2 .9 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000',
    'unstable.sh:27':
        'GAN_losses_iter.py --loss_D 3 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .9 --beta2 .9 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000',
    'unstable.sh:29':
        'GAN_losses_iter.py --loss_D 4 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .9 --beta2 .9 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000',
    'unstable.sh:31':
        'GAN_losses_iter.py --loss_D 5 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .9 --beta2 .9 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000',
    'unstable.sh:33':
        'GAN_losses_iter.py --loss_D 6 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .9 --beta2 .9 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000',
    'unstable.sh:35':
        'GAN_losses_iter.py --loss_D 7 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .9 --beta2 .9 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000',
    'unstable.sh:37':
        'GAN_losses_iter.py --loss_D 8 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .9 --beta2 .9 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000',
    'unstable.sh:41':
        'GAN_losses_iter.py --loss_D 1 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000 --no_batch_norm_G True --no_batch_norm_D True',
    'unstable.sh:43':
        'GAN_losses_iter.py --loss_D 2 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000 --no_batch_norm_G True --no_batch_norm_D True',
    'unstable.sh:45':
        'GAN_losses_iter.py --loss_D 3 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000 --no_batch_norm_G True --no_batch_norm_D True',
    'unstable.sh:47':
        'GAN_losses_iter.py --loss_D 4 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000 --no_batch_norm_G True --no_batch_norm_D True',
    'unstable.sh:49':
        'GAN_losses_iter.py --loss_D 5 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000 --no_batch_norm_G True --no_batch_norm_D True',
    'unstable.sh:51':
        'GAN_losses_iter.py --loss_D 6 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000 --no_batch_norm_G True --no_batch_norm_D True',
    'unstable.sh:53':
        'GAN_losses_iter.py --loss_D 7 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000 --no_batch_norm_G True --no_batch_norm_D True',
    'unstable.sh:55':
        'GAN_losses_iter.py --loss_D 8 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000 --no_batch_norm_G True --no_batch_norm_D True',
    'unstable.sh:59':
        'GAN_losses_iter.py --loss_D 1 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000 --Tanh_GD True',
    'unstable.sh:61':
        'GAN_losses_iter.py --loss_D 2 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000 --Tanh_GD True',
    'unstable.sh:63':
        'GAN_losses_iter.py --loss_D 3 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000 --Tanh_GD True',
    'unstable.sh:65':
        'GAN_losses_iter.py --loss_D 4 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000 --Tanh_GD True',
    'unstable.sh:67':
        'GAN_losses_iter.py --loss_D 5 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000 --Tanh_GD True',
    'unstable.sh:69':
        'GAN_losses_iter.py --loss_D 6 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000 --Tanh_GD True',
    'unstable.sh:71':
        'GAN_losses_iter.py --loss_D 7 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000 --Tanh_GD True',
    'unstable.sh:73':
        'GAN_losses_iter.py --loss_D 8 --image_size 32 --lr_D .0001 --lr_G .0001 --batch_size '
        '32 --Diters 1 --arch 1 --beta1 .50 --beta2 .999 --CIFAR10 True --n_iter 100000 '
        '--gen_every 10000 --Tanh_GD True',
    'unstable.sh:78':
        'GAN_losses_iter.py --loss_D 1 --image_size 64 --lr_D .0002 --lr_G .0002 --batch_size '
        '64 --Diters 1 --arch 0 --beta1 .50 --beta2 .999 --n_iter 100000 --gen_every 10000 '
        '--G_h_size 64 --D_h_size 64 --gen_extra_images 10000',
    'unstable.sh:81':
        'GAN_losses_iter.py --loss_D 5 --image_size 64 --lr_D .0002 --lr_G .0002 --batch_size '
        '32 --Diters 1 --arch 0 --beta1 .50 --beta2 .999 --n_iter 100000 --gen_every 10000 '
        '--G_h_size 64 --D_h_size 64 --gen_extra_images 10000',
    'unstable.sh:83':
        'GAN_losses_iter.py --loss_D 6 --image_size 64 --lr_D .0002 --lr_G .0002 --batch_size '
        '32 --Diters 1 --arch 0 --beta1 .50 --beta2 .999 --n_iter 100000 --gen_every 10000 '
        '--G_h_size 64 --D_h_size 64 --gen_extra_images 10000',
    'unstable.sh:86':
        'GAN_losses_iter.py --loss_D 2 --image_size 64 --lr_D .0002 --lr_G .0002 --batch_size '
        '64 --Diters 1 --arch 0 --beta1 .50 --beta2 .999 --n_iter 100000 --gen_every 10000 '
        '--G_h_size 64 --D_h_size 64 --gen_extra_images 10000',
    'unstable.sh:88':
        'GAN_losses_iter.py --loss_D 7 --image_size 64 --lr_D .0002 --lr_G .0002 --batch_size '
        '32 --Diters 1 --arch 0 --beta1 .50 --beta2 .999 --n_iter 100000 --gen_every 10000 '
        '--G_h_size 64 --D_h_size 64 --gen_extra_images 10000',
    'unstable.sh:91':
        'GAN_losses_iter.py --loss_D 4 --image_size 64 --lr_D .0002 --lr_G .0002 --batch_size '
        '32 --Diters 1 --arch 0 --beta1 .50 --beta2 .999 --n_iter 100000 --gen_every 10000 '
        '--G_h_size 64 --D_h_size 64 --gen_extra_images 10000',
    'unstable.sh:93':
        'GAN_losses_iter.py --loss_D 8 --image_size 64 --lr_D .0002 --lr_G .0002 --batch_size '
        '32 --Diters 1 --arch 0 --beta1 .50 --beta2 .999 --n_iter 100000 --gen_every 10000 '
        '--G_h_size 64 --D_h_size 64 --gen_extra_images 10000',
    'unstable.sh:96':
        'GAN_losses_iter.py --loss_D 5 --image_size 64 --lr_D .0002 --lr_G .0002 --batch_size '
        '32 --Diters 1 --arch 0 --beta1 .50 --beta2 .999 --n_iter 100000 --gen_every 10000 '
        '--G_h_size 64 --D_h_size 64 --gen_extra_images 10000 --grad_penalty True',
    'unstable.sh:98':
        'GAN_losses_iter.py --loss_D 6 --image_size 64 --lr_D .0002 --lr_G .0002 --batch_size '
        '32 --Diters 1 --arch 0 --beta1 .50 --beta2 .999 --n_iter 100000 --gen_every 10000 '
        '--G_h_size 64 --D_h_size 64 --gen_extra_images 10000 --grad_penalty True',
    'unstable.sh:104':
        'GAN_losses_iter.py --loss_D 1 --image_size 128 --lr_D .0002 --lr_G .0002 --batch_size '
        '32 --Diters 1 --arch 0 --beta1 .50 --beta2 .999 --n_iter 20000 --gen_every 10000 '
        '--G_h_size 64 --D_h_size 64 --gen_extra_images 10000',
    'unstable.sh:107':
        'GAN_losses_iter.py --loss_D 5 --image_size 128 --lr_D .0002 --lr_G .0002 --batch_size '
        '32 --Diters 1 --arch 0 --beta1 .50 --beta2 .999 --n_iter 100000 --gen_every 10000 '
        '--G_h_size 64 --D_h_size 64 --gen_extra_images 10000',
    'unstable.sh:109':
        'GAN_losses_iter.py --loss_D 6 --image_size 128 --lr_D .0002 --lr_G .0002 --batch_size '
        '32 --Diters 1 --arch 0 --beta1 .50 --beta2 .999 --n_iter 100000 --gen_every 10000 '
        '--G_h_size 64 --D_h_size 64 --gen_extra_images 10000',
    'unstable.sh:112':
        'GAN_losses_iter.py --loss_D 2 --image_size 128 --lr_D .0002 --lr_G .0002 --batch_size '
        '32 --Diters 1 --arch 0 --beta1 .50 --beta2 .999 --n_iter 100000 --gen_every 10000 '
        '--G_h_size 64 --D_h_size 64 --gen_extra_images 10000',
    'unstable.sh:114':
        'GAN_losses_iter.py --loss_D 7 --image_size 128 --lr_D .0002 --lr_G .0002 --batch_size '
        '32 --Diters 1 --arch 0 --beta1 .50 --beta2 .999 --n_iter 100000 --gen_every 10000 '
        '--G_h_size 64 --D_h_size 64 --gen_extra_images 10000',
    'unstable.sh:120':
        'GAN_losses_iter_PAC.py --loss_D 1 --image_size 256 --lr_D .0002 --lr_G .0002 '
        '--batch_size 32 --Diters 1 --arch 0 --beta1 .50 --beta2 .999 --n_iter 100000 '
        '--gen_every 10000 --G_h_size 32 --D_h_size 32 --gen_extra_images 2000',
    'unstable.sh:123':
        'GAN_losses_iter_PAC.py --loss_D 5 --image_size 256 --lr_D .0002 --lr_G .0002 '
        '--batch_size 32 --Diters 1 --arch 0 --beta1 .50 --beta2 .999 --n_iter 100000 '
        '--gen_every 10000 --G_h_size 32 --D_h_size 32 --gen_extra_images 2000',
    'unstable.sh:125':
        'GAN_losses_iter_PAC.py --loss_D 6 --image_size 256 --lr_D .0002 --lr_G .0002 '
        '--batch_size 32 --Diters 1 --arch 0 --beta1 .50 --beta2 .999 --n_iter 100000 '
        '--gen_every 10000 --G_h_size 32 --D_h_size 32 --gen_extra_images 2000',
    'unstable.sh:129':
        'GAN_losses_iter_PAC.py --loss_D 2 --image_size 256 --lr_D .0002 --lr_G .0002 '
        '--batch_size 32 --Diters 1 --arch 0 --beta1 .50 --beta2 .999 --n_iter 100000 '
        '--gen_every 10000 --G_h_size 32 --D_h_size 32 --gen_extra_images 2000',
    'unstable.sh:131':
        'GAN_losses_iter_PAC.py --loss_D 7 --image_size 256 --lr_D .0002 --lr_G .0002 '
        '--batch_size 32 --Diters 1 --arch 0 --beta1 .50 --beta2 .999 --n_iter 100000 '
        '--gen_every 10000 --G_h_size 32 --D_h_size 32 --gen_extra_images 2000',
    'unstable.sh:135':
        'GAN_losses_iter_PAC.py --loss_D 3 --image_size 256 --lr_D .0002 --lr_G .0002 '
        '--batch_size 32 --Diters 1 --arch 0 --beta1 .50 --beta2 .999 --n_iter 100000 '
        '--gen_every 10000 --G_h_size 32 --D_h_size 32 --gen_extra_images 2000',
    'unstable.sh:138':
        'GAN_losses_iter_PAC.py --loss_D 1 --image_size 256 --lr_D .0002 --lr_G .0002 '
        '--batch_size 32 --Diters 1 --arch 0 --beta1 .50 --beta2 .999 --n_iter 100000 '
        '--gen_every 10000 --G_h_size 32 --D_h_size 32 --gen_extra_images 2000 --spectral True',
}
# Every RGAN flag file -> (the script line it reproduces, the loss form: the current code's
# "corrected" one or the "paper" one the paper ran, loss codes 12 / 15 of the first commit).
RGAN_CONFIGS = {
    'cat/hinge_cat64.cfg': ('unstable.sh:91', 'corrected'),
    'cat/lsgan_cat128.cfg': ('unstable.sh:112', 'corrected'),
    'cat/lsgan_cat256.cfg': ('unstable.sh:129', 'corrected'),
    'cat/lsgan_cat64.cfg': ('unstable.sh:86', 'corrected'),
    'cat/rahinge_cat64.cfg': ('unstable.sh:93', 'corrected'),
    'cat/ralsgan-paper_cat128.cfg': ('unstable.sh:114', 'paper'),
    'cat/ralsgan-paper_cat256.cfg': ('unstable.sh:131', 'paper'),
    'cat/ralsgan-paper_cat64.cfg': ('unstable.sh:88', 'paper'),
    'cat/ralsgan_cat128.cfg': ('unstable.sh:114', 'corrected'),
    'cat/ralsgan_cat256.cfg': ('unstable.sh:131', 'corrected'),
    'cat/ralsgan_cat64.cfg': ('unstable.sh:88', 'corrected'),
    'cat/rasgan-paper_cat128.cfg': ('unstable.sh:109', 'paper'),
    'cat/rasgan-paper_cat256.cfg': ('unstable.sh:125', 'paper'),
    'cat/rasgan-paper_cat64.cfg': ('unstable.sh:83', 'paper'),
    'cat/rasgan-paper_gp_cat64.cfg': ('unstable.sh:98', 'paper'),
    'cat/rasgan_cat128.cfg': ('unstable.sh:109', 'corrected'),
    'cat/rasgan_cat256.cfg': ('unstable.sh:125', 'corrected'),
    'cat/rasgan_cat64.cfg': ('unstable.sh:83', 'corrected'),
    'cat/rasgan_gp_cat64.cfg': ('unstable.sh:98', 'corrected'),
    'cat/rsgan_cat128.cfg': ('unstable.sh:107', 'corrected'),
    'cat/rsgan_cat256.cfg': ('unstable.sh:123', 'corrected'),
    'cat/rsgan_cat64.cfg': ('unstable.sh:81', 'corrected'),
    'cat/rsgan_gp_cat64.cfg': ('unstable.sh:96', 'corrected'),
    'cat/sgan_cat128.cfg': ('unstable.sh:104', 'corrected'),
    'cat/sgan_cat256.cfg': ('unstable.sh:120', 'corrected'),
    'cat/sgan_cat64.cfg': ('unstable.sh:78', 'corrected'),
    'cat/sgan_spectral_cat256.cfg': ('unstable.sh:138', 'corrected'),
    'cat/wgan-gp_cat256.cfg': ('unstable.sh:135', 'corrected'),
    'hinge_s1.cfg': ('stable.sh:11', 'corrected'),
    'hinge_s2.cfg': ('stable.sh:33', 'corrected'),
    'lsgan_s1.cfg': ('stable.sh:7', 'corrected'),
    'lsgan_s2.cfg': ('stable.sh:29', 'corrected'),
    'rahinge_s1.cfg': ('stable.sh:19', 'corrected'),
    'rahinge_s2.cfg': ('stable.sh:41', 'corrected'),
    'ralsgan_s1.cfg': ('stable.sh:17', 'corrected'),
    'ralsgan_s2.cfg': ('stable.sh:39', 'corrected'),
    'rasgan_gp_s1.cfg': ('stable.sh:23', 'corrected'),
    'rasgan_s1.cfg': ('stable.sh:15', 'corrected'),
    'rasgan_s2.cfg': ('stable.sh:37', 'corrected'),
    'rsgan_gp_s1.cfg': ('stable.sh:21', 'corrected'),
    'rsgan_gp_s2.cfg': ('stable.sh:43', 'corrected'),
    'rsgan_s1.cfg': ('stable.sh:13', 'corrected'),
    'rsgan_s2.cfg': ('stable.sh:35', 'corrected'),
    'sgan_s1.cfg': ('stable.sh:5', 'corrected'),
    'sgan_s2.cfg': ('stable.sh:27', 'corrected'),
    'table1_stable/hinge_s1.cfg': ('stable.sh:11', 'corrected'),
    'table1_stable/hinge_s2.cfg': ('stable.sh:33', 'corrected'),
    'table1_stable/lsgan_s1.cfg': ('stable.sh:7', 'corrected'),
    'table1_stable/lsgan_s2.cfg': ('stable.sh:29', 'corrected'),
    'table1_stable/rahinge_s1.cfg': ('stable.sh:19', 'corrected'),
    'table1_stable/rahinge_s2.cfg': ('stable.sh:41', 'corrected'),
    'table1_stable/ralsgan-paper_s1.cfg': ('stable.sh:17', 'paper'),
    'table1_stable/ralsgan-paper_s2.cfg': ('stable.sh:39', 'paper'),
    'table1_stable/rasgan-paper_gp_s1.cfg': ('stable.sh:23', 'paper'),
    'table1_stable/rasgan-paper_s1.cfg': ('stable.sh:15', 'paper'),
    'table1_stable/rasgan-paper_s2.cfg': ('stable.sh:37', 'paper'),
    'table1_stable/rsgan_gp_s1.cfg': ('stable.sh:21', 'corrected'),
    'table1_stable/rsgan_gp_s2.cfg': ('stable.sh:43', 'corrected'),
    'table1_stable/rsgan_s1.cfg': ('stable.sh:13', 'corrected'),
    'table1_stable/rsgan_s2.cfg': ('stable.sh:35', 'corrected'),
    'table1_stable/sgan_s1.cfg': ('stable.sh:5', 'corrected'),
    'table1_stable/sgan_s2.cfg': ('stable.sh:27', 'corrected'),
    'table1_stable/wgan-gp_s1.cfg': ('stable.sh:9', 'corrected'),
    'table1_stable/wgan-gp_s2.cfg': ('stable.sh:31', 'corrected'),
    'table2_unstable/hinge_betas09.cfg': ('unstable.sh:29', 'corrected'),
    'table2_unstable/hinge_lr1e-3.cfg': ('unstable.sh:11', 'corrected'),
    'table2_unstable/hinge_nobn.cfg': ('unstable.sh:47', 'corrected'),
    'table2_unstable/hinge_tanh.cfg': ('unstable.sh:65', 'corrected'),
    'table2_unstable/lsgan_betas09.cfg': ('unstable.sh:25', 'corrected'),
    'table2_unstable/lsgan_lr1e-3.cfg': ('unstable.sh:7', 'corrected'),
    'table2_unstable/lsgan_nobn.cfg': ('unstable.sh:43', 'corrected'),
    'table2_unstable/lsgan_tanh.cfg': ('unstable.sh:61', 'corrected'),
    'table2_unstable/rahinge_betas09.cfg': ('unstable.sh:37', 'corrected'),
    'table2_unstable/rahinge_lr1e-3.cfg': ('unstable.sh:19', 'corrected'),
    'table2_unstable/rahinge_nobn.cfg': ('unstable.sh:55', 'corrected'),
    'table2_unstable/rahinge_tanh.cfg': ('unstable.sh:73', 'corrected'),
    'table2_unstable/ralsgan-paper_betas09.cfg': ('unstable.sh:35', 'paper'),
    'table2_unstable/ralsgan-paper_lr1e-3.cfg': ('unstable.sh:17', 'paper'),
    'table2_unstable/ralsgan-paper_nobn.cfg': ('unstable.sh:53', 'paper'),
    'table2_unstable/ralsgan-paper_tanh.cfg': ('unstable.sh:71', 'paper'),
    'table2_unstable/ralsgan_betas09.cfg': ('unstable.sh:35', 'corrected'),
    'table2_unstable/ralsgan_lr1e-3.cfg': ('unstable.sh:17', 'corrected'),
    'table2_unstable/ralsgan_nobn.cfg': ('unstable.sh:53', 'corrected'),
    'table2_unstable/ralsgan_tanh.cfg': ('unstable.sh:71', 'corrected'),
    'table2_unstable/rasgan-paper_betas09.cfg': ('unstable.sh:33', 'paper'),
    'table2_unstable/rasgan-paper_lr1e-3.cfg': ('unstable.sh:15', 'paper'),
    'table2_unstable/rasgan-paper_nobn.cfg': ('unstable.sh:51', 'paper'),
    'table2_unstable/rasgan-paper_tanh.cfg': ('unstable.sh:69', 'paper'),
    'table2_unstable/rasgan_betas09.cfg': ('unstable.sh:33', 'corrected'),
    'table2_unstable/rasgan_lr1e-3.cfg': ('unstable.sh:15', 'corrected'),
    'table2_unstable/rasgan_nobn.cfg': ('unstable.sh:51', 'corrected'),
    'table2_unstable/rasgan_tanh.cfg': ('unstable.sh:69', 'corrected'),
    'table2_unstable/rsgan_betas09.cfg': ('unstable.sh:31', 'corrected'),
    'table2_unstable/rsgan_lr1e-3.cfg': ('unstable.sh:13', 'corrected'),
    'table2_unstable/rsgan_nobn.cfg': ('unstable.sh:49', 'corrected'),
    'table2_unstable/rsgan_tanh.cfg': ('unstable.sh:67', 'corrected'),
    'table2_unstable/sgan_betas09.cfg': ('unstable.sh:23', 'corrected'),
    'table2_unstable/sgan_lr1e-3.cfg': ('unstable.sh:5', 'corrected'),
    'table2_unstable/sgan_nobn.cfg': ('unstable.sh:41', 'corrected'),
    'table2_unstable/sgan_tanh.cfg': ('unstable.sh:59', 'corrected'),
    'table2_unstable/wgan-gp_betas09.cfg': ('unstable.sh:27', 'corrected'),
    'table2_unstable/wgan-gp_lr1e-3.cfg': ('unstable.sh:9', 'corrected'),
    'table2_unstable/wgan-gp_nobn.cfg': ('unstable.sh:45', 'corrected'),
    'table2_unstable/wgan-gp_tanh.cfg': ('unstable.sh:63', 'corrected'),
    'wgan-gp_s1.cfg': ('stable.sh:9', 'corrected'),
    'wgan-gp_s2.cfg': ('stable.sh:31', 'corrected'),
}


def script_args(key):
  program, *tokens = SCRIPT_LINES[key].split()
  assert all(t.startswith('--') for t in tokens[0::2]), key
  return program, {name[2:]: value for name, value in zip(tokens[0::2], tokens[1::2])}


def expected_values(key, form):
  """The RunConfig values the script line `key` means (with the loss `form`)."""
  program, a = script_args(key)
  code, pac = int(a['loss_D']), program == 'GAN_losses_iter_PAC.py'
  want = {
      'loss': PAPER_FORMS[code] if form == 'paper' else LOSS_CODES[code],
      'gradient_penalty': 10.0 if a.get('grad_penalty') == 'True' else None,
      'batch_size': int(a['batch_size']) * (2 if pac else 1),   # PAC: 2B images, B pairs
      'steps': int(a['n_iter']), 'd_steps': int(a['Diters']),
      'learning_rate': float(a['lr_G']), 'd_learning_rate': float(a['lr_D']),
      'beta1': float(a['beta1']), 'beta2': float(a['beta2']),
      'seed': 1, 'optimizer': 'adam', 'sampling': 'independent',
      'snapshot_every': int(a['gen_every']),
      'spectral_norm': a.get('spectral') == 'True',
      'batch_norm_g': a.get('no_batch_norm_G') != 'True',
      'batch_norm_d': a.get('no_batch_norm_D') != 'True',
      'activation': 'tanh' if a.get('Tanh_GD') == 'True' else 'relu',
      'pac': 2 if pac else 1,
  }
  if a['arch'] == '1':
    assert a.get('CIFAR10') == 'True'
    want.update(model='standard_cnn_32', dataset='tfds:cifar10', split='train', image_size=0)
  else:
    size = int(a['image_size'])
    want.update(model=f'dcgan_{size}', image_size=size, g_h_size=int(a['G_h_size']),
                d_h_size=int(a['D_h_size']),
                dataset=f'folder:data/cats_bigger_than_{size}x{size}')
  return want


# What a config leaves unset means the model's / RunConfig's default.
UNSET = {'gradient_penalty': None, 'batch_norm_g': True, 'batch_norm_d': True, 'activation': 'relu',
         'pac': 1, 'spectral_norm': False, 'image_size': 0, 'd_learning_rate': None}


@pytest.mark.parametrize('rel', sorted(RGAN_CONFIGS))
def test_rgan_config_matches_its_official_script_line(rel):
  path = RGAN_DIR / rel
  key, form = RGAN_CONFIGS[rel]
  script, line = key.split(':')
  program, args = script_args(key)
  text = path.read_text()
  first = text.splitlines()[0]
  assert first.startswith(f'# Official code/{script} line {line} ({program} --loss_D {args["loss_D"]}'), first
  values = parse_flagfile(path)
  want = expected_values(key, form)
  if key in KNOWN_DEVIATIONS:
    field, how = KNOWN_DEVIATIONS[key]
    assert how in text, f'{rel}: the comment must say how to reproduce the script\'s {field}'
    want['d_learning_rate'] = None
  elif want['d_learning_rate'] == want['learning_rate']:
    want['d_learning_rate'] = None
  if want['model'] == 'standard_cnn_32':
    # The standard CNN defaults to spectral norm: its configs say which they use.
    assert 'spectral_norm' in values, rel
  got = {name: values.get(name, UNSET.get(name)) for name in want}
  assert got == want
  # The FID sample count of the line (gen_extra_images, default 50000), for evaluate --metrics=fid-rgan.
  extra = int(args.get('gen_extra_images', 50000))
  assert '--metrics=fid-rgan' in text
  assert values.get('fid_num_samples', 0) == (extra if extra != 50000 else 0), rel


def test_every_rgan_config_has_a_table_row_and_every_script_line_a_config():
  on_disk = {str(p.relative_to(RGAN_DIR)) for p in RGAN_DIR.rglob('*.cfg')}
  assert on_disk == set(RGAN_CONFIGS)
  assert {key for key, _ in RGAN_CONFIGS.values()} == set(SCRIPT_LINES)
  assert len([k for k in SCRIPT_LINES if k.startswith('stable')]) == 19
  assert len([k for k in SCRIPT_LINES if k.startswith('unstable')]) == 53
  for key in SCRIPT_LINES:
    forms = {form for k, form in RGAN_CONFIGS.values() if k == key}
    code = int(script_args(key)[1]['loss_D'])
    # RaSGAN / RaLSGAN lines come in both forms; the others only in the current code's.
    assert forms == ({'corrected', 'paper'} if code in PAPER_FORMS else {'corrected'}), key
  # Table 1 as the paper ran it: all 19 stable.sh lines, paper-era forms only.
  table1 = {rel: v for rel, v in RGAN_CONFIGS.items() if rel.startswith('table1_stable/')}
  assert {k for k, _ in table1.values()} == {k for k in SCRIPT_LINES if k.startswith('stable')}
  assert all(form == 'paper' or int(script_args(k)[1]['loss_D']) not in PAPER_FORMS
             for k, form in table1.values())
  # The corrected-form stable grid keeps its paths (configs/rgan/<loss>_<setup>.cfg).
  top = {rel for rel in RGAN_CONFIGS if '/' not in rel}
  assert len(top) == 19 and {'rsgan_s1.cfg', 'rasgan_s1.cfg', 'ralsgan_s2.cfg'} <= top
  # Table 2: 8 losses (+ 2 paper forms) x the 4 unstable CIFAR-10 setups.
  table2 = [rel for rel in RGAN_CONFIGS if rel.startswith('table2_unstable/')]
  assert len(table2) == 40
  assert {rel.rsplit('_', 1)[1] for rel in table2} == {'lr1e-3.cfg', 'betas09.cfg', 'nobn.cfg',
                                                       'tanh.cfg'}
  # The CAT runs: every CAT line at 64, 128 and 256 (the PacGAN-2 runs).
  cat = [rel for rel in RGAN_CONFIGS if rel.startswith('cat/')]
  assert {rel.rsplit('_', 1)[1] for rel in cat} == {'cat64.cfg', 'cat128.cfg', 'cat256.cfg'}
  assert all('--pac=2' in (RGAN_DIR / rel).read_text() for rel in cat if rel.endswith('256.cfg'))
