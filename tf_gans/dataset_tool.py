"""Create and inspect PGGAN datasets: `python -m tf_gans.dataset_tool <command> ...`.

The command line of `tf_gans.data.dataset_writers` and
`tf_gans.data.tfrecords.tools`, which write and read the multi-resolution
TFRecords layout of the original PGGAN `dataset_tool.py` `TFRecordExporter`
and `dataset.py` `TFRecordDataset` (see `tf_gans.data.tfrecords`). Every
command of the original `dataset_tool.py` `execute_cmdline`, with its
arguments:

  display             <tfrecord_dir> [--out PNG] [--num_images 64]
  extract             <tfrecord_dir> <output_dir>
  compare             <tfrecord_dir_a> <tfrecord_dir_b> [--ignore_labels 0]
  create_mnist        <tfrecord_dir> <mnist_dir> [--split train|test]
  create_mnistrgb     <tfrecord_dir> <mnist_dir> [--num_images 1000000] [--random_seed 123]
  create_cifar10      <tfrecord_dir> <cifar10_dir>
  create_cifar100     <tfrecord_dir> <cifar100_dir>
  create_svhn         <tfrecord_dir> <svhn_dir>
  create_lsun         <tfrecord_dir> <lmdb_dir> [--resolution 256] [--max_images N]
  create_celeba       <tfrecord_dir> <celeba_dir> [--cx 89] [--cy 121]
  create_celebahq     <tfrecord_dir> <celeba_dir> <delta_dir> [--num_threads 4] [--num_tasks 100]
  create_from_images  <tfrecord_dir> <image_dir> [--shuffle 1]
  create_from_hdf5    <tfrecord_dir> <hdf5_filename> [--shuffle 1]

and ours:

  create_cifar10_tfds <tfrecord_dir> [--data_dir DIR]
  create_from_tfds    <tfrecord_dir> <tfds_name> [--split train] [--data_dir DIR]
                      [--resolution R]
  create_photo_crops  <tfrecord_dir> [--resolution 32] [--num_images 2000] [--seed 0]
  info                <tfrecord_dir>

Like the original, the create_* commands store the images in
`np.random.RandomState(123).shuffle(arange(N))` order (create_from_images and
create_from_hdf5 only with --shuffle 1, their default; create_mnistrgb and
create_lsun in source order), with one-hot float32 labels where the source
has classes. Every command writes into a temporary folder renamed at the
end, so a failure leaves nothing behind; an existing non-empty
<tfrecord_dir> is refused unless --overwrite. `display` prints each image's
index and label and saves a PNG grid (the original opens a cv2 window).
create_lsun needs `pip install lmdb`, create_celebahq `pip install
cryptography`, create_from_hdf5 h5py. Errors a user can fix print one line
on stderr and exit with status 2.

TFDS datasets are never downloaded: prepare them with `tfds build <name>` on
a machine with network access and pass --data_dir.

`create_photo_crops` makes the project's real-photo dataset without any
download: random square crops of the colour photographs shipped inside the
scikit-learn and scikit-image wheels (`dataset_writers.PHOTOS`).
"""

import argparse
import sys

from tf_gans import cli
from tf_gans.data.dataset_writers import create_celeba
from tf_gans.data.dataset_writers import create_celebahq
from tf_gans.data.dataset_writers import create_cifar10
from tf_gans.data.dataset_writers import create_cifar100
from tf_gans.data.dataset_writers import create_cifar10_tfds
from tf_gans.data.dataset_writers import create_from_hdf5
from tf_gans.data.dataset_writers import create_from_images
from tf_gans.data.dataset_writers import create_from_tfds
from tf_gans.data.dataset_writers import create_lsun
from tf_gans.data.dataset_writers import create_mnist
from tf_gans.data.dataset_writers import create_mnistrgb
from tf_gans.data.dataset_writers import create_photo_crops
from tf_gans.data.dataset_writers import create_svhn
from tf_gans.data.tfrecords.tools import compare
from tf_gans.data.tfrecords.tools import display
from tf_gans.data.tfrecords.tools import extract

_READ_COMMANDS = ('info', 'display', 'extract', 'compare')


class _Parser(argparse.ArgumentParser):
  """argparse whose usage errors are one line on stderr and exit status 2."""

  def error(self, message):
    cli.fail(ValueError(f'{message} (see --help)'))


def _build_parser():
  parser = _Parser(prog='python -m tf_gans.dataset_tool',
                   description='Create, extract and inspect multi-resolution TFRecords '
                               'datasets (PGGAN layout).')
  commands = parser.add_subparsers(dest='command', required=True, parser_class=_Parser)

  def command(name, help_text, *positionals):
    sub = commands.add_parser(name, help=help_text, description=help_text)
    if name != 'compare':
      sub.add_argument('tfrecord_dir', help='Dataset folder' + (
          '.' if name in _READ_COMMANDS else ' to create.'))
    for positional, text in positionals:
      sub.add_argument(positional, help=text)
    if name not in _READ_COMMANDS:
      sub.add_argument('--overwrite', action='store_true',
                       help='Replace tfrecord_dir if it exists and is not empty.')
    return sub

  sub = command('display', 'Print the labels of the first images and save them as a PNG grid.')
  sub.add_argument('--out', default=None, help='PNG of the grid (default <tfrecord_dir>-display.png).')
  sub.add_argument('--num_images', type=int, default=64)
  command('extract', 'Every full-resolution image as img%%08d.png, in file order.',
          ('output_dir', 'Folder to write the PNG files into.'))
  sub = command('compare', 'Count identical images and labels of two datasets.',
                ('tfrecord_dir_a', 'First dataset folder.'),
                ('tfrecord_dir_b', 'Second dataset folder.'))
  sub.add_argument('--ignore_labels', type=int, default=0, choices=(0, 1))
  sub = command('create_mnist', 'MNIST IDX files, padded to 32x32, one-hot labels.',
                ('mnist_dir', 'Folder holding the (gzipped) IDX files.'))
  sub.add_argument('--split', default='train', choices=('train', 'test'))
  sub = command('create_mnistrgb', 'Three random MNIST digits as R, G, B (no labels).',
                ('mnist_dir', 'Folder holding the (gzipped) IDX files.'))
  sub.add_argument('--num_images', type=int, default=1000000)
  sub.add_argument('--random_seed', type=int, default=123)
  command('create_cifar10', 'CIFAR-10 from its python batches data_batch_1..5.',
          ('cifar10_dir', 'The cifar-10-batches-py folder.'))
  command('create_cifar100', 'CIFAR-100 from its python file train (fine labels).',
          ('cifar100_dir', 'The cifar-100-python folder.'))
  command('create_svhn', "SVHN from the original's pickles train_1..3.pkl.",
          ('svhn_dir', 'Folder holding train_1.pkl, train_2.pkl, train_3.pkl.'))
  sub = command('create_lsun', 'One LSUN category from its LMDB (pip install lmdb).',
                ('lmdb_dir', 'The category LMDB folder, e.g. car_lmdb.'))
  sub.add_argument('--resolution', type=int, default=256)
  sub.add_argument('--max_images', type=int, default=None)
  sub = command('create_celeba', 'CelebA 128x128 crops of img_align_celeba_png.',
                ('celeba_dir', 'Folder holding img_align_celeba_png/.'))
  sub.add_argument('--cx', type=int, default=89, help='Centre x of the crop (default: 89).')
  sub.add_argument('--cy', type=int, default=121, help='Centre y of the crop (default: 121).')
  sub = command('create_celebahq', 'CelebA-HQ 1024x1024 from CelebA and the deltas '
                '(pip install cryptography).',
                ('celeba_dir', 'Folder holding img_celeba/ and Anno/list_landmarks_celeba.txt.'),
                ('delta_dir', 'Folder holding deltas*.zip and image_list.txt.'))
  sub.add_argument('--num_threads', type=int, default=4)
  sub.add_argument('--num_tasks', type=int, default=100)
  sub = command('create_from_images', 'All PNG/JPEG/BMP images of a folder.',
                ('image_dir', 'Folder of square power-of-two images of one size.'))
  sub.add_argument('--shuffle', type=int, default=1, choices=(0, 1),
                   help='1: RandomState(123) order (default); 0: sorted file names.')
  sub = command('create_from_hdf5', 'A legacy PGGAN HDF5 archive (h5py).',
                ('hdf5_filename', 'The .h5 file; labels from <name>-labels.npy if present.'))
  sub.add_argument('--shuffle', type=int, default=1, choices=(0, 1),
                   help='1: RandomState(123) order (default); 0: archive order.')
  sub = command('create_cifar10_tfds', 'CIFAR-10 training set from a prepared TFDS data_dir.')
  sub.add_argument('--data_dir', default=None, help='TFDS data folder (default: TFDS default).')
  sub = command('create_from_tfds', 'One split of a prepared TFDS image dataset.',
                ('tfds_name', 'TFDS name, e.g. cifar10, mnist, celeb_a.'))
  sub.add_argument('--split', default='train')
  sub.add_argument('--data_dir', default=None, help='TFDS data folder (default: TFDS default).')
  sub.add_argument('--resolution', type=int, default=None,
                   help='Centre-crop and resize every image to this square size.')
  sub = command('create_photo_crops', 'Random crops of offline real photographs.')
  sub.add_argument('--resolution', type=int, default=32)
  sub.add_argument('--num_images', type=int, default=2000)
  sub.add_argument('--seed', type=int, default=0)
  command('info', 'Describe an existing dataset folder.')
  return parser


def _run(args):  # pylint: disable=too-many-return-statements
  """Runs one parsed command; returns the text to print."""
  a = args
  if a.command == 'info':
    from tf_gans.data import tfrecords  # pylint: disable=import-outside-toplevel
    return tfrecords.MultiResDataset(a.tfrecord_dir).describe()
  if a.command == 'display':
    return display(a.tfrecord_dir, a.out, a.num_images)
  if a.command == 'extract':
    return f'Extracted {extract(a.tfrecord_dir, a.output_dir)} images to {a.output_dir}.'
  if a.command == 'compare':
    return compare(a.tfrecord_dir_a, a.tfrecord_dir_b, bool(a.ignore_labels)).report()
  common = dict(overwrite=a.overwrite)
  creators = {
      'create_mnist': lambda: create_mnist(a.tfrecord_dir, a.mnist_dir, a.split, **common),
      'create_mnistrgb': lambda: create_mnistrgb(a.tfrecord_dir, a.mnist_dir, a.num_images,
                                                 a.random_seed, **common),
      'create_cifar10': lambda: create_cifar10(a.tfrecord_dir, a.cifar10_dir, **common),
      'create_cifar100': lambda: create_cifar100(a.tfrecord_dir, a.cifar100_dir, **common),
      'create_svhn': lambda: create_svhn(a.tfrecord_dir, a.svhn_dir, **common),
      'create_lsun': lambda: create_lsun(a.tfrecord_dir, a.lmdb_dir, a.resolution, a.max_images,
                                         **common),
      'create_celeba': lambda: create_celeba(a.tfrecord_dir, a.celeba_dir, a.cx, a.cy, **common),
      'create_celebahq': lambda: create_celebahq(a.tfrecord_dir, a.celeba_dir, a.delta_dir,
                                                 a.num_threads, a.num_tasks, **common),
      'create_from_images': lambda: create_from_images(a.tfrecord_dir, a.image_dir,
                                                       bool(a.shuffle), **common),
      'create_from_hdf5': lambda: create_from_hdf5(a.tfrecord_dir, a.hdf5_filename,
                                                   bool(a.shuffle), **common),
      'create_cifar10_tfds': lambda: create_cifar10_tfds(a.tfrecord_dir, a.data_dir, **common),
      'create_from_tfds': lambda: create_from_tfds(a.tfrecord_dir, a.tfds_name, a.split,
                                                   a.data_dir, a.resolution, **common),
      'create_photo_crops': lambda: create_photo_crops(a.tfrecord_dir, a.resolution,
                                                       a.num_images, a.seed, **common),
  }
  return creators[a.command]().report()


def main(argv=None):
  args = _build_parser().parse_args(argv)
  try:
    text = _run(args)
  except (*cli.USER_ERRORS, OSError, ImportError) as error:  # OSError: unreadable files.
    cli.fail(error)
  print(text)


if __name__ == '__main__':
  main(sys.argv[1:])
