"""Create PGGAN datasets: `python -m tf_gans.dataset_tool <command> <tfrecord_dir> ...`.

The command line of `tf_gans.data.dataset_writers`, which writes the
multi-resolution TFRecords layout of the original PGGAN `dataset_tool.py`
`TFRecordExporter` and `dataset.py` `TFRecordDataset` (see
`tf_gans.data.tfrecords`), with the original tool's command shape:

  create_from_images  <tfrecord_dir> <image_dir> [--shuffle 1]
  create_mnist        <tfrecord_dir> <idx_dir> [--split train|test]
  create_cifar10      <tfrecord_dir> [--data_dir DIR]
  create_from_tfds    <tfrecord_dir> <tfds_name> [--split train] [--data_dir DIR]
                      [--resolution R]
  create_photo_crops  <tfrecord_dir> [--resolution 32] [--num_images 2000] [--seed 0]
  info                <tfrecord_dir>

Like the original, the create_* commands store the images in
`np.random.RandomState(123).shuffle(arange(N))` order (create_from_images
only with --shuffle 1, its default), with one-hot float32 labels where the
source has classes. Every command writes into a temporary folder renamed at
the end, so a failure leaves nothing behind; an existing non-empty
<tfrecord_dir> is refused unless --overwrite. Errors a user can fix print one
line on stderr and exit with status 2.

TFDS datasets are never downloaded: prepare them with `tfds build <name>` on
a machine with network access and pass --data_dir.

`create_photo_crops` makes the project's real-photo dataset without any
download: random square crops of the colour photographs shipped inside the
scikit-learn and scikit-image wheels (`dataset_writers.PHOTOS`).
"""

import argparse
import sys

from tf_gans import cli
from tf_gans.data.dataset_writers import create_cifar10
from tf_gans.data.dataset_writers import create_from_images
from tf_gans.data.dataset_writers import create_from_tfds
from tf_gans.data.dataset_writers import create_mnist
from tf_gans.data.dataset_writers import create_photo_crops


class _Parser(argparse.ArgumentParser):
  """argparse whose usage errors are one line on stderr and exit status 2."""

  def error(self, message):
    cli.fail(ValueError(f'{message} (see --help)'))


def _build_parser():
  parser = _Parser(prog='python -m tf_gans.dataset_tool',
                   description='Create multi-resolution TFRecords datasets (PGGAN layout).')
  commands = parser.add_subparsers(dest='command', required=True, parser_class=_Parser)

  def command(name, help_text):
    sub = commands.add_parser(name, help=help_text, description=help_text)
    sub.add_argument('tfrecord_dir', help='Dataset folder to create.')
    if name != 'info':
      sub.add_argument('--overwrite', action='store_true',
                       help='Replace tfrecord_dir if it exists and is not empty.')
    return sub

  sub = command('create_from_images', 'All PNG/JPEG/BMP images of a folder.')
  sub.add_argument('image_dir', help='Folder of square power-of-two images of one size.')
  sub.add_argument('--shuffle', type=int, default=1, choices=(0, 1),
                   help='1: RandomState(123) order (default); 0: sorted file names.')
  sub = command('create_mnist', 'MNIST IDX files, padded to 32x32, one-hot labels.')
  sub.add_argument('idx_dir', help='Folder holding the (gzipped) IDX files.')
  sub.add_argument('--split', default='train', choices=('train', 'test'))
  sub = command('create_cifar10', 'CIFAR-10 training set from a prepared TFDS data_dir.')
  sub.add_argument('--data_dir', default=None, help='TFDS data folder (default: TFDS default).')
  sub = command('create_from_tfds', 'One split of a prepared TFDS image dataset.')
  sub.add_argument('tfds_name', help='TFDS name, e.g. cifar10, mnist, celeb_a.')
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


def _run(args):
  """Runs one parsed command; returns the text to print."""
  if args.command == 'info':
    from tf_gans.data import tfrecords  # pylint: disable=import-outside-toplevel
    return tfrecords.MultiResDataset(args.tfrecord_dir).describe()
  common = dict(overwrite=args.overwrite)
  if args.command == 'create_from_images':
    summary = create_from_images(args.tfrecord_dir, args.image_dir, bool(args.shuffle), **common)
  elif args.command == 'create_mnist':
    summary = create_mnist(args.tfrecord_dir, args.idx_dir, args.split, **common)
  elif args.command == 'create_cifar10':
    summary = create_cifar10(args.tfrecord_dir, args.data_dir, **common)
  elif args.command == 'create_from_tfds':
    summary = create_from_tfds(args.tfrecord_dir, args.tfds_name, args.split, args.data_dir,
                               args.resolution, **common)
  else:
    summary = create_photo_crops(args.tfrecord_dir, args.resolution, args.num_images,
                                 args.seed, **common)
  return summary.report()


def main(argv=None):
  args = _build_parser().parse_args(argv)
  try:
    text = _run(args)
  except (*cli.USER_ERRORS, OSError) as error:  # OSError: unreadable files.
    cli.fail(error)
  print(text)


if __name__ == '__main__':
  main(sys.argv[1:])
