"""Prepare CAT face crops: `python -m tf_gans.prepare_cats --input=<CAT dir> --output=<dir>`.

Writes `<output>/cats_bigger_than_SxS/` for each of `--sizes` as the Relativistic
GAN code's `preprocess_cat_dataset.py` does (see `tf_gans.data.cats`). Train on
one with `--dataset=folder:<output>/cats_bigger_than_64x64`.

The reference also deletes 134 outlier images; list them in a file for
`--exclude` (whitespace-separated names, `#` comments).
"""

from absl import flags

from tf_gans import cli

flags.DEFINE_string('input', None, 'Folder with the CAT dataset\'s X.jpg and X.jpg.cat files.')
flags.DEFINE_string('output', None, 'Folder in which cats_bigger_than_SxS/ folders are written.')
flags.DEFINE_list('sizes', ['64', '128', '256'],
                  'Output sizes S: crops with min(h, w) >= S are resized to S x S.')
flags.DEFINE_string('exclude', None,
                    'File naming images to leave out (e.g. the reference\'s 134 outliers).')
flags.DEFINE_enum('image_format', 'jpeg', ['jpeg', 'png'],
                  'jpeg: X.jpg at quality 95, as the reference; png: lossless X.png.')
flags.DEFINE_bool('skip_bad_files', False,
                  'Skip and report malformed .cat files and unreadable images instead of failing.')
flags.mark_flags_as_required(['input', 'output'])
FLAGS = flags.FLAGS


def _parse_sizes(values):
  try:
    return [int(value) for value in values]
  except ValueError as e:
    raise ValueError(f'--sizes must be integers such as 64,128,256, got {",".join(values)}.') from e


def main(argv):
  del argv
  from tf_gans.data import cats  # pylint: disable=import-outside-toplevel
  try:
    exclude = cats.read_exclude_file(FLAGS.exclude) if FLAGS.exclude else ()
    summary = cats.prepare_cats(FLAGS.input, FLAGS.output, sizes=_parse_sizes(FLAGS.sizes),
                                exclude=exclude, image_format=FLAGS.image_format,
                                skip_bad_files=FLAGS.skip_bad_files)
  except (*cli.USER_ERRORS, OSError) as e:  # OSError: an unreadable image.
    cli.fail(e)
  print(summary.report())


if __name__ == '__main__':
  cli.run(main)
