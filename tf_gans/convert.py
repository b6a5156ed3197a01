"""Convert original PGGAN networks: `python -m tf_gans.convert --pkl=<file> --out=<dir>`.

Reads an original PGGAN pickle (`network-snapshot-*.pkl`, the released
`karras2018iclr-*.pkl`) without the original code and without TF1 (its source
is never executed), or a TF1 checkpoint of the original graph's variables
(`--tf1_checkpoint=<prefix>`), builds our Keras G, D and Gs, copies every
variable (refusing if anything is left unmapped on either side) and writes
`<out>/{G,D,Gs}.weights.h5`, `<out>/pggan.json` and the Gs SavedModel
`<out>/Gs_savedmodel/` (latents[, labels] -> NHWC images in [-1, 1]).
See `tf_gans.models.pggan_convert`.
"""

import json

from absl import flags

from tf_gans import cli

flags.DEFINE_string('pkl', None, 'Original PGGAN pickle holding (G, D, Gs).')
flags.DEFINE_string('tf1_checkpoint', None,
                    'Prefix of a TF1 checkpoint with variables G/..., D/..., Gs/... (instead of --pkl).')
flags.DEFINE_string('g_kwargs', None,
                    'JSON dict of G_paper static kwargs a TF1 checkpoint cannot tell '
                    '(e.g. \'{"fmap_base": 4096}\'); only with --tf1_checkpoint.')
flags.DEFINE_string('d_kwargs', None,
                    'JSON dict of D_paper static kwargs (e.g. \'{"mbstd_group_size": 16}\'); '
                    'only with --tf1_checkpoint.')
flags.DEFINE_string('out', None, 'Folder to write the converted networks to.')
flags.DEFINE_bool('overwrite', False, 'Replace --out if it exists.')
flags.mark_flags_as_required(['out'])
FLAGS = flags.FLAGS


def _json_flag(name):
  value = FLAGS[name].value
  if value is None:
    return None
  try:
    parsed = json.loads(value)
  except json.JSONDecodeError as e:
    raise ValueError(f'--{name} must be a JSON dict, got {value!r}: {e}') from e
  if not isinstance(parsed, dict):
    raise ValueError(f'--{name} must be a JSON dict, got {value!r}.')
  return parsed


def main(argv):
  if len(argv) > 1:
    cli.fail(ValueError(f'unexpected arguments {argv[1:]}; flags take the form --name=value.'))
  if bool(FLAGS.pkl) == bool(FLAGS.tf1_checkpoint):
    cli.fail(ValueError('give exactly one of --pkl and --tf1_checkpoint.'))
  if FLAGS.pkl and (FLAGS.g_kwargs or FLAGS.d_kwargs):
    cli.fail(ValueError('--g_kwargs/--d_kwargs apply to --tf1_checkpoint only: a pickle '
                        'carries its own static kwargs.'))
  import os  # pylint: disable=import-outside-toplevel
  if os.path.exists(FLAGS.out) and not FLAGS.overwrite:  # before any expensive work
    cli.fail(FileExistsError(f'--out={FLAGS.out} exists already; pass --overwrite to replace it.'))
  from tf_gans.models import pggan_convert  # pylint: disable=import-outside-toplevel
  try:
    g_kwargs, d_kwargs = _json_flag('g_kwargs'), _json_flag('d_kwargs')
    if FLAGS.pkl:
      source = FLAGS.pkl
      nets = pggan_convert.load_official_pickle(source)
    else:
      source = FLAGS.tf1_checkpoint
      nets = pggan_convert.load_tf1_checkpoint(source, g_kwargs, d_kwargs)
    out = pggan_convert.save_converted(nets, FLAGS.out, overwrite=FLAGS.overwrite, source=source)
  except cli.USER_ERRORS as e:
    cli.fail(e)
  for name, model in zip(pggan_convert.NETWORK_NAMES, nets):
    count = sum(int(v.shape.num_elements()) for v in model.reference_variables().values())
    s = model.static_kwargs
    print(f'{name}: {len(model.reference_variables())} variables, {count:,} values, '
          f'{s["resolution"]}x{s["resolution"]}x{s["num_channels"]}, label_size '
          f'{s["label_size"]}, fused_scale {s["fused_scale"]}, lod {float(model.lod.numpy()):g}')
  print(f'Wrote {out} (G/D/Gs weights, pggan.json, Gs SavedModel in {pggan_convert.SAVEDMODEL_DIR}/).')


if __name__ == '__main__':
  cli.run(main)
