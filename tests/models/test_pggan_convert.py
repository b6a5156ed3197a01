"""Converter checks that need no oracle: all-or-nothing copies, inference, the output folder."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from tf_gans.models import pggan
from tf_gans.models import pggan_convert

SMALL = dict(resolution=16, num_channels=3, fmap_base=64, fmap_max=32)


def randomized(model, seed):
  rng = np.random.default_rng(seed)
  arrays = {}
  for name, v in model.reference_variables().items():
    if name != 'lod':
      v.assign(rng.standard_normal(v.shape).astype(np.float32))
    arrays[name] = v.numpy()
  return arrays


def test_copy_is_exact_and_lists_leftovers_on_both_sides():
  src = pggan.G_paper(**SMALL)
  arrays = randomized(src, 0)
  dst = pggan.G_paper(**SMALL)
  pggan_convert.assign_reference_weights(dst, arrays, 'test')
  for name, v in dst.reference_variables().items():
    np.testing.assert_array_equal(v.numpy(), arrays[name])

  bigger = pggan.G_paper(**dict(SMALL, resolution=32))
  before = {k: v.numpy() for k, v in bigger.reference_variables().items()}
  with pytest.raises(pggan_convert.ConversionError) as e:
    pggan_convert.assign_reference_weights(bigger, dict(arrays, extra=np.zeros(1)), 'x.pkl')
  msg = str(e.value)
  assert 'x.pkl' in msg and "'extra'" in msg and "'32x32/Conv1/weight'" in msg
  assert "'ToRGB_lod3/weight'" in msg  # present in the 32x32 net only
  for k, v in bigger.reference_variables().items():  # all or nothing: nothing was assigned
    np.testing.assert_array_equal(v.numpy(), before[k])


def test_shape_mismatch_names_the_variable():
  arrays = randomized(pggan.G_paper(**SMALL), 1)
  other = pggan.G_paper(**dict(SMALL, fmap_max=16))
  with pytest.raises(pggan_convert.ConversionError, match=r'4x4/Conv/weight: source \(3, 3, 32, 32\), '
                     r'ours \(3, 3, 16, 16\)'):
    pggan_convert.assign_reference_weights(other, arrays, 'test')


def test_unknown_build_function_is_refused():
  with pytest.raises(pggan_convert.ConversionError, match="'G_mnist'.*G_paper"):
    pggan_convert.build_network('G_mnist', {}, 'G')


@pytest.mark.parametrize('fused', [True, False])
def test_static_kwargs_inferred_from_shapes(fused):
  kw = dict(SMALL, label_size=4, fused_scale=fused, latent_size=24)
  g = randomized(pggan.G_paper(**kw), 2)
  d = randomized(pggan.D_paper(**{k: v for k, v in kw.items() if k != 'latent_size'}), 3)
  g_kw, d_kw = pggan_convert.infer_static_kwargs(g, d)
  assert g_kw == dict(resolution=16, num_channels=3, label_size=4, latent_size=24, fused_scale=fused)
  assert d_kw == dict(resolution=16, num_channels=3, label_size=4, fused_scale=fused)
  d_no_mbstd = randomized(pggan.D_paper(**dict(SMALL, mbstd_group_size=0)), 4)
  assert pggan_convert.infer_static_kwargs(g, d_no_mbstd)[1]['mbstd_group_size'] == 0


def test_saved_folder_reloads_and_exports_gs(tmp_path):
  kw = dict(SMALL, label_size=2)
  nets = (pggan.G_paper(**kw, name='G'), pggan.D_paper(**kw), pggan.G_paper(**kw, name='Gs'))
  for i, net in enumerate(nets):
    randomized(net, 10 + i)
  nets[2].lod.assign(0.5)
  out = pggan_convert.save_converted(nets, tmp_path / 'conv', source='unit test')
  meta = json.loads((tmp_path / 'conv' / 'pggan.json').read_text())
  assert meta['networks']['D']['build_func_name'] == 'D_paper'
  assert meta['networks']['Gs']['lod'] == 0.5
  with pytest.raises(FileExistsError, match='--overwrite'):
    pggan_convert.save_converted(nets, out)

  g2, d2, gs2 = pggan_convert.load_converted(out)
  assert float(gs2.lod.numpy()) == 0.5
  z = np.random.default_rng(0).standard_normal([4, nets[2].latent_size]).astype(np.float32)
  labels = np.eye(2, dtype=np.float32)[[0, 1, 1, 0]]
  want = nets[2]([z, labels]).numpy()
  np.testing.assert_array_equal(gs2([z, labels]).numpy(), want)
  x = np.random.default_rng(1).standard_normal([4, 16, 16, 3]).astype(np.float32)
  np.testing.assert_array_equal(d2(x)[0].numpy(), nets[1](x)[0].numpy())

  saved = tf.saved_model.load(os.path.join(out, 'Gs_savedmodel'))
  got = saved.signatures['serving_default'](latents=z, labels=labels)['images'].numpy()
  np.testing.assert_allclose(got, want, atol=1e-6)
  grid = saved.signatures['generate'](seed=tf.constant(3, tf.int64), num=tf.constant(5))['images']
  assert grid.dtype == tf.uint8 and grid.shape == (5, 16, 16, 3)


def test_load_converted_names_a_wrong_folder(tmp_path):
  with pytest.raises(FileNotFoundError, match='not a converted PGGAN folder'):
    pggan_convert.load_converted(str(tmp_path))


def test_pggan_does_not_import_the_converter():
  # pggan_convert builds on pggan; an import back would make the two a cycle.
  import ast  # pylint: disable=import-outside-toplevel
  with open(pggan.__file__) as f:
    tree = ast.parse(f.read())
  imported = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      imported.update(a.name for a in node.names)
    elif isinstance(node, ast.ImportFrom):
      imported.update(f'{node.module}.{a.name}' for a in node.names)
  assert not {name for name in imported if 'pggan_convert' in name}
  assert not hasattr(pggan, 'load_official_pickle')  # it is pggan_convert.load_official_pickle


# --- load_pickle_into: an original (G, D, Gs) snapshot into nets we built
# (train.py's resume_run_id / resume_snapshot / resume_kimg).

RESUME_KW = dict(resolution=16, num_channels=3, fmap_base=16, fmap_max=8)


def original_state(model, build_func_name, static_kwargs):
  """`tfutil.Network.__getstate__` of `model`'s weights (version 2)."""
  from official_ports.pggan_tf1 import pickle_io  # pylint: disable=import-outside-toplevel
  return {'version': 2, 'name': model.name, 'static_kwargs': dict(static_kwargs),
          'build_module_src': pickle_io.DEFAULT_BUILD_MODULE_SRC,
          'build_func_name': build_func_name,
          'variables': [(n, v.numpy()) for n, v in model.reference_variables().items()]}


def write_snapshot(path, nets, protocol=4, numpy_names='1.x', kwargs=RESUME_KW):
  from official_ports.pggan_tf1 import pickle_io  # pylint: disable=import-outside-toplevel
  states = [original_state(m, f, kwargs) for m, f in zip(nets, ('G_paper', 'D_paper', 'G_paper'))]
  path.write_bytes(pickle_io.dumps(states, protocol=protocol, numpy_names=numpy_names))
  return path


def gdgs(seed, **overrides):
  kw = dict(RESUME_KW, **overrides)
  nets = (pggan.G_paper(**kw, name='G'), pggan.D_paper(**kw, name='D'),
          pggan.G_paper(**kw, name='Gs'))
  for i, net in enumerate(nets):
    randomized(net, seed + i)
  return nets


@pytest.mark.parametrize('protocol, numpy_names', [(4, '1.x'), (5, '1.x'), (5, 'installed'),
                                                   (2, 'installed')])
def test_load_pickle_into_assigns_every_variable(tmp_path, protocol, numpy_names):
  src = gdgs(20)
  src[2].lod.assign(1.5)
  path = write_snapshot(tmp_path / 'network-snapshot-006000.pkl', src, protocol, numpy_names)
  dst = gdgs(40)  # other weights
  assert not np.array_equal(dst[0].reference_variables()['4x4/Dense/weight'].numpy(),
                            src[0].reference_variables()['4x4/Dense/weight'].numpy())
  states = pggan_convert.load_pickle_into(path, *dst)
  assert [s.name for s in states] == ['G', 'D', 'Gs']
  for s, d in zip(src, dst):
    want = s.reference_variables()
    got = d.reference_variables()
    assert list(got) == list(want)
    for n in want:
      np.testing.assert_array_equal(got[n].numpy(), want[n].numpy(), err_msg=f'{d.name} {n}')
  assert float(dst[2].lod.numpy()) == 1.5
  z = np.random.default_rng(0).standard_normal([2, src[2].latent_size]).astype(np.float32)
  np.testing.assert_array_equal(dst[2](z).numpy(), src[2](z).numpy())


def test_load_pickle_into_refuses_another_architecture_naming_the_variable(tmp_path):
  path = write_snapshot(tmp_path / 'snap.pkl', gdgs(50))
  g, gs = pggan.G_paper(**RESUME_KW, name='G'), pggan.G_paper(**RESUME_KW, name='Gs')
  d = pggan.D_paper(**dict(RESUME_KW, fmap_max=4), name='D')  # fmap_max differs
  before = [{n: v.numpy() for n, v in m.reference_variables().items()} for m in (g, d, gs)]
  with pytest.raises(ValueError, match=r'snap.pkl \[D\]: network .D.: shapes differ: .*'
                     r'4x4/Conv/weight: source \(3, 3, 9, 8\), ours \(3, 3, 5, 4\)') as e:
    pggan_convert.load_pickle_into(path, g, d, gs)
  assert isinstance(e.value, pggan_convert.ConversionError)
  # All three are checked first: G (which fits) was not assigned either.
  for m, b in zip((g, d, gs), before):
    for n, v in m.reference_variables().items():
      np.testing.assert_array_equal(v.numpy(), b[n], err_msg=n)


def test_load_pickle_into_refuses_other_function_arguments_and_roles(tmp_path):
  path = write_snapshot(tmp_path / 'snap.pkl', gdgs(60))
  g, d, gs = gdgs(70, use_wscale=False)
  with pytest.raises(ValueError, match=r'\[G\]: .* other arguments .*use_wscale: pickle True, '
                     r'ours False'):
    pggan_convert.load_pickle_into(path, g, d, gs)
  g, d, gs = gdgs(70, mbstd_group_size=8)  # D only; same shapes as 4
  with pytest.raises(ValueError, match=r'\[D\]: .*mbstd_group_size: pickle 4, ours 8'):
    pggan_convert.load_pickle_into(path, g, d, gs)
  g, d, gs = gdgs(70)
  with pytest.raises(ValueError, match=r'\[D\]: our D is a GPaper, expected a DPaper'):
    pggan_convert.load_pickle_into(path, g, g, gs)
  pggan_convert.load_pickle_into(str(path), g, d, gs)  # a str path, the right nets: fine
  with pytest.raises(FileNotFoundError):
    pggan_convert.load_pickle_into(tmp_path / 'none.pkl', g, d, gs)
