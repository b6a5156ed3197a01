"""TF-GAN 2.1.0 as a test-time oracle on TF 2.21: its losses and eval submodules, nothing else.

Why a shim. `import tensorflow_gan` runs `tensorflow_gan/python/__init__.py`,
which imports `estimator` and `train`; both subclass or call `tf.estimator`
(`tf.estimator.SessionRunHook`, `tf.compat.v1.estimator`), which TF 2.16
removed, so the package does not import on TF >= 2.16. The modules the
cross-checks need do not touch the estimator at all:

  tensorflow_gan.python.losses.losses_impl      -> contrib_utils, tf
  tensorflow_gan.python.eval.classifier_metrics -> eval_utils, tf, tensorflow_probability
  tensorflow_gan.python.eval.sliced_wasserstein -> contrib_utils, numpy, tf

How. `load()` registers four bare package modules in `sys.modules` --
`tensorflow_gan`, `tensorflow_gan.python`, `tensorflow_gan.python.losses`,
`tensorflow_gan.python.eval` -- each with `__path__` set to the installed
package's folder, so Python finds the submodules there but never runs those
packages' `__init__.py` files. Then it imports the leaf modules above under
their real names (their own absolute imports, e.g. `from tensorflow_gan.python
import contrib_utils`, resolve through the same bare packages). No attribute of
`tf` is patched (the previous fixture stubbed `tf.estimator`, which also needed
tensorflow_hub, see below), and nothing here is reachable from `tf_gans/`
(tests/test_tfgan_losses.py asserts the library never names tensorflow_gan).

The bare packages stay registered for the rest of the test process (the leaf
modules hold references to them); each carries `TFGAN_ORACLE_STUB = True`. A
later plain `import tensorflow_gan` in the same process gets the bare package,
not TF-GAN's public API: use `load()`.

What does not import on TF 2.21 (so is not offered here):
  * `tensorflow_gan.python.estimator`, `.train` (and hence the package
    `__init__`): `tf.estimator` is gone (AttributeError at import).
  * `tensorflow_gan.python.eval.inception_metrics` (and hence the
    `tensorflow_gan.python.eval` package `__init__`): it imports
    tensorflow_hub 0.16.1, whose `__init__` imports `pkg_resources`, which
    the installed setuptools (>= 81) no longer ships; and its Inception graph
    would be downloaded from TF-Hub at run time, which these machines cannot
    reach. Our Inception / FID parity is checked elsewhere
    (tests/metrics/test_inception.py, the TorchScript copy of the TF graph).
Everything the cross-checks use is in the three leaf modules.

The returned object mirrors TF-GAN's public spelling for what it offers:
  tfgan.losses.<fn>                     every name in losses_impl.__all__
  tfgan.eval.<fn>                       classifier_metrics.__all__ + sliced_wasserstein.__all__
  tfgan.eval.sliced_wasserstein         the module (its private helpers: laplacian_pyramid,
                                        _sliced_wasserstein, _normalize_patches, ...)
  tfgan.eval.classifier_metrics         the module
  tfgan.losses.losses_impl              the module
  tfgan.__version__                     '2.1.0' (tensorflow_gan/python/version.py)
"""

import functools
import importlib
import importlib.util
import os
import sys
import types

_BARE_PACKAGES = ('', 'python', 'python/losses', 'python/eval')
_LEAVES = {
    'losses_impl': 'tensorflow_gan.python.losses.losses_impl',
    'classifier_metrics': 'tensorflow_gan.python.eval.classifier_metrics',
    'sliced_wasserstein': 'tensorflow_gan.python.eval.sliced_wasserstein',
}


class TFGANMissing(ImportError):
  """tensorflow_gan (or a dependency of the leaf modules) is not installed."""


def _package_root():
  """The installed tensorflow_gan folder, found without running its __init__."""
  existing = sys.modules.get('tensorflow_gan')
  if existing is not None and getattr(existing, 'TFGAN_ORACLE_STUB', False):
    return existing.__path__[0]
  if existing is not None:
    raise ImportError('tensorflow_gan is already imported for real; tfgan_oracle expects to '
                      'be the only way it is loaded in the test process.')
  spec = importlib.util.find_spec('tensorflow_gan')   # a top-level spec: __init__ is not run
  if spec is None or not spec.submodule_search_locations:
    raise TFGANMissing('tensorflow_gan is not installed (pip install -e ".[test]").')
  return list(spec.submodule_search_locations)[0]


def _register_bare_packages(root):
  for rel in _BARE_PACKAGES:
    name = 'tensorflow_gan' + ('.' + rel.replace('/', '.') if rel else '')
    if name in sys.modules:
      continue
    folder = os.path.join(root, *rel.split('/')) if rel else root
    module = types.ModuleType(name, f'Bare package for {folder} (tests/tfgan_oracle.py): '
                                    'its __init__.py is deliberately not run.')
    module.__path__ = [folder]
    module.__package__ = name
    module.TFGAN_ORACLE_STUB = True
    sys.modules[name] = module
    if '.' in name:                       # so tensorflow_gan.python.losses etc. resolve as attributes
      parent, _, child = name.rpartition('.')
      setattr(sys.modules[parent], child, module)


def _namespace(name, modules, extra):
  ns = types.SimpleNamespace(**extra)
  for module in modules:
    for symbol in module.__all__:
      setattr(ns, symbol, getattr(module, symbol))
  ns.__name__ = name
  return ns


@functools.lru_cache(maxsize=None)
def load():
  """TF-GAN's losses and eval functions (see the module docstring), loaded once.

  Raises:
    TFGANMissing: tensorflow_gan or tensorflow_probability is not installed.
    Any other exception: the modules are installed but fail to import (a real
      breakage, which the caller should report, not skip).
  """
  root = _package_root()
  if importlib.util.find_spec('tensorflow_probability') is None:
    raise TFGANMissing('tensorflow_probability is not installed (pip install -e ".[test]").')
  _register_bare_packages(root)
  leaves = {short: importlib.import_module(full) for short, full in _LEAVES.items()}
  losses = _namespace('tfgan.losses', [leaves['losses_impl']],
                      {'losses_impl': leaves['losses_impl']})
  evaluation = _namespace('tfgan.eval', [leaves['classifier_metrics'],
                                         leaves['sliced_wasserstein']],
                          {'classifier_metrics': leaves['classifier_metrics'],
                           'sliced_wasserstein': leaves['sliced_wasserstein']})
  version = importlib.import_module('tensorflow_gan.python.version').__version__
  return types.SimpleNamespace(losses=losses, eval=evaluation, __version__=version)
