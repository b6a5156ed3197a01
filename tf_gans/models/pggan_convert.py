"""Original PGGAN networks -> our Keras G, D, Gs (and back to disk).

Reference: github.com/tkarras/progressive_growing_of_gans `tfutil.py`
`Network` (`vars`: the variable names, shapes and creation order of the
'linear' template graph of `networks.py` `G_paper` / `D_paper`;
`__getstate__` / `__setstate__`: the pickle and its `static_kwargs`). Our
`G_paper` / `D_paper` keep every variable under its reference name and in its reference
shape (`tf_gans.models.pggan`), so converting is a checked copy: every array
of the source must land in one variable and every variable must get one
array, or the conversion stops and lists what was left over on each side.

`load_pickle_into` assigns an original pickle to networks the caller built
(resuming training from an original snapshot, as `train.py`'s `resume_*`).

Sources:
  * an original `network-*.pkl` / released `karras2018iclr-*.pkl` (read by the
    restricted unpickler of `pggan_pickle`: the networks' embedded source
    code is never executed; the nets are rebuilt from `build_func_name` and
    `static_kwargs`, which the pickle always carries);
  * a TF1 checkpoint of the original graph's variables (`G/<name>`, `D/<name>`,
    `Gs/<name>`), which has no `static_kwargs`: those are inferred from the
    variable shapes where they can be, and the rest come from the caller.

Output folder (`save_converted`): `pggan.json` (per network: the build
function and its static kwargs), `G.weights.h5`, `D.weights.h5`,
`Gs.weights.h5` (Keras weights, `load_converted` rebuilds the models) and
`Gs_savedmodel/` (the Gs SavedModel: latents[, labels] -> NHWC images in
[-1, 1], honouring the stored lod). The folder is written beside its final
place and renamed, so a failure never leaves half a conversion.
"""

import inspect
import json
import math
import os

import numpy as np

from tf_gans import atomic
from tf_gans.models import pggan
from tf_gans.models import pggan_pickle

NETWORK_NAMES = ('G', 'D', 'Gs')  # the order of every original pickle's tuple
BUILDERS = {'G_paper': pggan.G_paper, 'D_paper': pggan.D_paper}
CONVERTED_FILE = 'pggan.json'
SAVEDMODEL_DIR = 'Gs_savedmodel'


class ConversionError(ValueError):
  """The source does not fit the network it claims to be."""


def build_network(build_func_name, static_kwargs, name):
  """Our Keras network for a reference build function and its static kwargs."""
  if build_func_name not in BUILDERS:
    raise ConversionError(
        f'network {name!r} was built by {build_func_name!r}; only {sorted(BUILDERS)} '
        f'(the PGGAN paper networks) can be converted.')
  kwargs = {k: _plain(v) for k, v in static_kwargs.items()}
  return BUILDERS[build_func_name](**kwargs, name=name)


def check_reference_weights(model, arrays, source):
  """The variables `arrays` (reference name -> ndarray) would fill in `model`.

  Checks, assigns nothing: every source name must be one of the model's
  reference variables, every variable must have a source array, of its shape.

  Raises:
    ConversionError: a name exists on one side only (both lists are given),
      or a shape differs (each such variable is named with both shapes).
  """
  variables = model.reference_variables()
  unmapped_source = [k for k in arrays if k not in variables]
  unmapped_model = [k for k in variables if k not in arrays]
  if unmapped_source or unmapped_model:
    raise ConversionError(
        f'{source}: network {model.name!r} ({model.static_kwargs["resolution"]}x'
        f'{model.static_kwargs["resolution"]}) does not match the source variables. '
        f'In the source but not in our network: {unmapped_source or "none"}. '
        f'In our network but not in the source: {unmapped_model or "none"}. '
        f'Is this a different architecture or resolution?')
  bad = [f'{k}: source {tuple(np.shape(arrays[k]))}, ours {tuple(v.shape)}'
         for k, v in variables.items() if tuple(np.shape(arrays[k])) != tuple(v.shape)]
  if bad:
    raise ConversionError(f'{source}: network {model.name!r}: shapes differ: ' + '; '.join(bad))
  return variables


def _assign_checked(variables, arrays):
  for k, v in variables.items():
    v.assign(np.asarray(arrays[k], dtype=np.float32))


def assign_reference_weights(model, arrays, source):
  """Copies `arrays` (reference name -> ndarray) into `model`, all or nothing.

  Raises:
    ConversionError: see `check_reference_weights`; nothing is assigned then.
  """
  _assign_checked(check_reference_weights(model, arrays, source), arrays)


def networks_from_states(states, source):
  """(G, D, Gs) Keras models from the three pickled network states."""
  if len(states) != len(NETWORK_NAMES):
    raise ConversionError(f'{source}: expected the 3 networks (G, D, Gs), found {len(states)}.')
  nets = []
  for name, state in zip(NETWORK_NAMES, states):
    model = build_network(state.build_func_name, state.static_kwargs, name)
    assign_reference_weights(model, state.variables, f'{source} [{name}]')
    nets.append(model)
  return tuple(nets)


def load_official_pickle(path):
  """(G, D, Gs) Keras models from an original PGGAN pickle, in the pickle's order.

  The pickle's embedded source code is never executed (a restricted unpickler
  reads only arrays and the network state; see `pggan_pickle`). Each model's
  `lod` is the pickle's; assign it to change the level of detail.
  """
  return networks_from_states(pggan_pickle.load_network_states(path), path)


# Static kwargs that change a network's function without changing any
# variable's name or shape (the shapes check the others: resolution,
# num_channels, label_size, fmap_*, latent_size, fused_scale). `dtype`,
# `structure` and `is_template_graph` change how the same function is
# computed, not the function, and may differ.
FUNCTION_KWARGS = ('normalize_latents', 'use_wscale', 'use_pixelnorm', 'pixelnorm_epsilon',
                   'use_leakyrelu', 'mbstd_group_size')


def _kwarg_mismatches(model, build_func_name, pickled_kwargs):
  """'name: pickle X, ours Y' for each of FUNCTION_KWARGS that differs."""
  defaults = {k: p.default for k, p in
              inspect.signature(BUILDERS[build_func_name]).parameters.items()
              if p.default is not inspect.Parameter.empty}
  ours = model.static_kwargs
  out = []
  for k in FUNCTION_KWARGS:
    if k not in defaults:  # not an argument of this build function
      continue
    theirs = _plain(pickled_kwargs.get(k, defaults[k]))
    if theirs != ours[k]:
      out.append(f'{k}: pickle {theirs!r}, ours {ours[k]!r}')
  return out


def load_pickle_into(path, G, D, Gs):  # pylint: disable=invalid-name
  """Assigns an original `(G, D, Gs)` network pickle to our existing G, D, Gs.

  For starting training from an original network, as the original `train.py`
  `train_progressive_gan(resume_run_id, resume_snapshot, resume_kimg)` does
  with `misc.load_pkl` on a `network-snapshot-KKKKKK.pkl` (which holds the
  tuple (G, D, Gs)). Unlike `load_official_pickle`, the networks are not
  rebuilt from the pickle's static kwargs: `G`, `D`, `Gs` are our `GPaper`,
  `DPaper`, `GPaper` built by the caller with matching arguments, and every
  one of their reference variables (the weights, and `lod`) gets the pickle's
  array. The file is read by the restricted unpickler of `pggan_pickle` (its
  embedded code is never run). All three networks are checked before any
  variable is assigned, so a refusal leaves G, D and Gs as they were.

  Args:
    path: the pickle file.
    G, D, Gs: our networks (`pggan.G_paper`, `pggan.D_paper`, `pggan.G_paper`).

  Returns:
    The three pickled `pggan_pickle.NetworkState`s, in the file's order.

  Raises:
    FileNotFoundError: no such file.
    pggan_pickle.PickleFormatError: not a readable, safe version-2 network
      pickle.
    ConversionError (a ValueError): the file does not hold 3 networks, a
      network was built by another function than ours, a variable is missing
      on one side or differs in shape (the variable is named), or one of
      `FUNCTION_KWARGS` differs (the kwarg is named).
  """
  path = os.fspath(path)
  states = pggan_pickle.load_network_states(path)
  if len(states) != len(NETWORK_NAMES):
    raise ConversionError(f'{path}: expected the 3 networks (G, D, Gs), found {len(states)}.')
  checked = []
  for name, model, state in zip(NETWORK_NAMES, (G, D, Gs), states):
    source = f'{path} [{name}]'
    func = 'D_paper' if name == 'D' else 'G_paper'
    want_cls = pggan.DPaper if name == 'D' else pggan.GPaper
    if not isinstance(model, want_cls):
      raise ConversionError(f'{source}: our {name} is a {type(model).__name__}, expected a '
                            f'{want_cls.__name__} (pggan.{func}).')
    if state.build_func_name != func:
      raise ConversionError(f'{source}: the pickled {name} was built by '
                            f'{state.build_func_name!r}, expected {func!r}.')
    mismatches = _kwarg_mismatches(model, func, state.static_kwargs)
    if mismatches:
      raise ConversionError(f'{source}: network {model.name!r} is built with other arguments '
                            f'than the pickle\'s: ' + '; '.join(mismatches))
    checked.append((check_reference_weights(model, state.variables, source), state.variables))
  for variables, arrays in checked:
    _assign_checked(variables, arrays)
  return states


def infer_static_kwargs(g_arrays, d_arrays):
  """The static kwargs a TF1 checkpoint's shapes determine, for G and for D.

  Resolution (from the number of ToRGB layers), num_channels, label_size,
  latent_size, fused_scale, and whether D has the minibatch-stddev channel.
  fmap_base / fmap_decay / fmap_max and the boolean options are not
  recorded in a checkpoint: pass them if they differ from the defaults.
  """
  torgb = [k for k in g_arrays if k.startswith('ToRGB_lod') and k.endswith('/weight')]
  if not torgb or '4x4/Dense/weight' not in g_arrays or '4x4/Dense1/weight' not in d_arrays:
    raise ConversionError('the checkpoint does not hold PGGAN G_paper/D_paper variables '
                          '(no ToRGB_lod*/weight, 4x4/Dense/weight or 4x4/Dense1/weight).')
  resolution = 2 ** (len(torgb) + 1)
  num_channels = int(g_arrays['ToRGB_lod0/weight'].shape[-1])
  label_size = int(d_arrays['4x4/Dense1/weight'].shape[-1]) - 1
  latent_size = int(g_arrays['4x4/Dense/weight'].shape[0]) - label_size
  common = {'resolution': resolution, 'num_channels': num_channels, 'label_size': label_size}
  g = dict(common, latent_size=latent_size,
           fused_scale=any(k.endswith('/Conv0_up/weight') for k in g_arrays) or resolution == 4)
  d = dict(common, fused_scale=any(k.endswith('/Conv1_down/weight') for k in d_arrays))
  conv_in = int(d_arrays['4x4/Conv/weight'].shape[2])
  conv_out = int(d_arrays['4x4/Conv/weight'].shape[3])
  if conv_in == conv_out:  # no minibatch-stddev channel
    d['mbstd_group_size'] = 0
  return g, d


def load_tf1_checkpoint(prefix, g_kwargs=None, d_kwargs=None):
  """(G, D, Gs) from a TF1 checkpoint of the original graph's variables.

  Args:
    prefix: the checkpoint prefix (`.../model.ckpt`), variables named
      `G/<reference name>`, `D/...`, `Gs/...`.
    g_kwargs, d_kwargs: static kwargs that the shapes cannot tell (e.g.
      fmap_base, mbstd_group_size, use_pixelnorm); override the inferred ones.
  """
  nets = pggan_pickle.read_tf1_checkpoint(prefix)
  missing = [n for n in NETWORK_NAMES if n not in nets]
  if missing:
    raise ConversionError(f'{prefix}: no variables under {missing} (found {sorted(nets)}); '
                          f'expected G/..., D/... and Gs/....')
  g_inferred, d_inferred = infer_static_kwargs(nets['G'], nets['D'])
  kwargs = {'G': {**g_inferred, **(g_kwargs or {})}, 'D': {**d_inferred, **(d_kwargs or {})}}
  kwargs['Gs'] = kwargs['G']
  out = []
  for name in NETWORK_NAMES:
    func = 'D_paper' if name == 'D' else 'G_paper'
    model = build_network(func, kwargs[name], name)
    assign_reference_weights(model, nets[name], f'{prefix} [{name}]')
    out.append(model)
  return tuple(out)


def save_converted(nets, out_dir, overwrite=False, source=None):
  """Writes G/D/Gs Keras weights, `pggan.json` and the Gs SavedModel, atomically."""
  from tf_gans.models import savedmodel  # pylint: disable=import-outside-toplevel
  out_dir = os.path.abspath(out_dir)
  with atomic.AtomicFolder(out_dir, overwrite, label='Output folder') as tmp:
    meta = {'source': source, 'networks': {}}
    for name, model in zip(NETWORK_NAMES, nets):
      func = 'D_paper' if isinstance(model, pggan.DPaper) else 'G_paper'
      kwargs = {k: _plain(v) for k, v in model.static_kwargs.items()}
      meta['networks'][name] = {'build_func_name': func, 'static_kwargs': kwargs,
                                'lod': float(model.lod.numpy())}
      model.save_weights(os.path.join(tmp, f'{name}.weights.h5'))
    with open(os.path.join(tmp, CONVERTED_FILE), 'w') as f:
      json.dump(meta, f, indent=2)
    gs = nets[NETWORK_NAMES.index('Gs')]
    savedmodel.export_generator(gs, gs.latent_size, 'normal', (-1.0, 1.0),
                                os.path.join(tmp, SAVEDMODEL_DIR),
                                label_size=gs.static_kwargs['label_size'])
  return out_dir


def is_converted(path):
  return os.path.exists(os.path.join(path, CONVERTED_FILE))


def load_converted(path):
  """(G, D, Gs) from a folder written by `save_converted`."""
  meta_file = os.path.join(path, CONVERTED_FILE)
  if not os.path.exists(meta_file):
    raise FileNotFoundError(f'{path} is not a converted PGGAN folder (no {CONVERTED_FILE}); '
                            f'write one with `python -m tf_gans.convert --pkl=... --out={path}`.')
  with open(meta_file) as f:
    meta = json.load(f)
  nets = []
  for name in NETWORK_NAMES:
    spec = meta['networks'][name]
    model = build_network(spec['build_func_name'], spec['static_kwargs'], name)
    model.load_weights(os.path.join(path, f'{name}.weights.h5'))
    nets.append(model)
  return tuple(nets)


def _plain(value):
  """numpy scalars (as pickles hold them) -> Python values, for JSON and kwargs."""
  if isinstance(value, np.generic):
    return value.item()
  if isinstance(value, float) and math.isnan(value):
    raise ConversionError('a static kwarg is NaN.')
  return value
