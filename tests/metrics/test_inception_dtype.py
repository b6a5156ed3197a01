"""The bfloat16-vs-float32 FID Inception benchmark (tf_gans.bench.inception_dtype): its FID
change on known features, and its bfloat16 network on a random-weights Inception."""

import numpy as np
import pytest

from tf_gans.bench import inception_dtype
from tf_gans.metrics import inception


@pytest.fixture(scope='module')
def nets():
  """A random-weights FID Inception and its bfloat16 copy (no weights file needed)."""
  model = inception.build_fid_inception()
  return {'float32': model, 'bfloat16': inception_dtype.bfloat16_model(model)}


@pytest.mark.parametrize('method', ['sqrtm', 'eigh'])
def test_fid_change_of_a_mean_shift_is_the_change_of_the_mean_term(method):
  rng = np.random.default_rng(0)
  a32 = rng.normal(size=[200, 6])
  b32 = rng.normal(0.5, 2.0, size=[150, 6])
  shift = np.array([0.3, -0.1, 0.0, 0.2, 0.05, -0.4])
  (result,) = inception_dtype.fid_change(a32, b32, a32 + shift, b32, methods=[method]).values()
  # The covariances are unchanged: only ||mu_a - mu_b||^2 moves.
  d = a32.mean(0) - b32.mean(0)
  expected = (d + shift) @ (d + shift) - d @ d
  assert result['fid_bfloat16'] - result['fid_float32'] == pytest.approx(expected, rel=1e-6)
  assert result['relative_change'] == pytest.approx(abs(expected) / result['fid_float32'],
                                                    rel=1e-6)
  (same,) = inception_dtype.fid_change(a32, b32, a32, b32, methods=[method]).values()
  assert same['relative_change'] == 0.0


def test_feature_diffs():
  out = inception_dtype.feature_diffs(np.array([[1.0, -2.0]]), np.array([[1.5, -2.0]]))
  assert out == dict(max_abs_diff=0.5, mean_abs_diff=0.25, mean_abs_feature=1.5)


def test_bfloat16_network_computes_in_bfloat16_with_the_float32_weights(nets):
  net = nets['bfloat16']
  conv = net.get_layer('mixed_10.tower_2.conv.conv2d')
  assert conv.compute_dtype == 'bfloat16' and conv.variable_dtype == 'float32'
  assert net.get_layer('pool_3').compute_dtype == 'float32'
  assert net.outputs[0].dtype == 'float32'
  ours, theirs = inception.graph_variables(net), inception.graph_variables(nets['float32'])
  assert set(ours) == set(theirs)
  for name, v in ours.items():
    np.testing.assert_array_equal(v.numpy(), theirs[name].numpy(), err_msg=name)


def test_extract_times_both_networks_and_their_features_agree(nets):
  rng = np.random.default_rng(1)
  a = rng.integers(0, 256, [4, 40, 40, 3]).astype(np.uint8)
  b = rng.integers(0, 256, [2, 40, 40, 3]).astype(np.uint8)
  feats, rates = inception_dtype.extract(nets, a, b, chunk=2, batch_size=2,
                                         log=lambda *_, **__: None)
  assert {k: len(v) for k, v in rates.items()} == {'float32': 3, 'bfloat16': 3}
  assert all(r > 0 for v in rates.values() for r in v)
  f32, f16 = feats['float32'], feats['bfloat16']
  assert f32['a'].shape == f16['a'].shape == (4, 2048) and f16['b'].shape == (2, 2048)
  assert f16['a'].dtype == np.float32
  np.testing.assert_array_equal(f32['a'], inception.inception_features(nets['float32'], a, 2))
  # bfloat16 keeps 8 significant bits: features within a few percent of float32, not equal.
  for which in 'ab':
    diff = np.abs(f16[which] - f32[which])
    assert 0 < diff.mean() < 0.05 * np.abs(f32[which]).mean()


def test_summarize_reports_medians_fid_changes_and_the_decision():
  rng = np.random.default_rng(2)
  a, b = rng.normal(size=[40, 5]), rng.normal(1.0, 1.5, size=[30, 5])
  labels = (np.arange(40) % 10, np.arange(30) % 10)
  shift = np.full(5, 0.01)
  feats = {'float32': {'a': a, 'b': b}, 'bfloat16': {'a': a + shift, 'b': b}}
  rates = {'float32': [1.0, 3.0, 2.0], 'bfloat16': [2.0, 8.0, 4.0]}
  report = inception_dtype.summarize(feats, rates, methods=['eigh'], split_labels=labels)
  assert report['images_per_sec'] == {'float32': 2.0, 'bfloat16': 4.0}
  assert report['bfloat16_over_float32'] == 2.0 and report['rounds'] == 3
  assert report['fid']['a_vs_b']['num_images'] == [40, 30]
  assert report['fid']['a_digits_0_4_vs_b_digits_5_9']['num_images'] == [20, 15]
  whole = inception_dtype.fid_change(a, b, a + shift, b, ['eigh'])['eigh']
  assert report['fid']['a_vs_b']['eigh'] == whole
  changes = [c['eigh']['relative_change'] for c in report['fid'].values()]
  assert report['max_relative_fid_change'] == max(changes) > 0
  assert report['offer_bfloat16'] == (max(changes) < 1e-3)
  same = inception_dtype.summarize({'float32': feats['float32'], 'bfloat16': feats['float32']},
                                   rates, methods=['eigh'])
  assert same['offer_bfloat16'] and same['max_relative_fid_change'] == 0.0
  assert same['features']['max_abs_diff'] == 0.0


def test_chunk_must_be_a_multiple_of_the_batch(nets):
  with pytest.raises(ValueError, match='multiple of the batch'):
    inception_dtype.extract(nets, np.zeros([4, 8, 8]), np.zeros([4, 8, 8]), chunk=3,
                            batch_size=2)
