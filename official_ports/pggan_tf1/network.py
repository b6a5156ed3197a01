"""A small `tfutil.Network` for the oracle: template graph, state, run().

Reference: github.com/tkarras/progressive_growing_of_gans `tfutil.py`, class
`Network` (`_init_graph`, `get_output_for`, `run`, `__getstate__`). A
`Network` builds its build function's 'linear' template under
`variable_scope(name)` in the given session's graph (so variable creation
order is the pickle order), keeps `vars` (local name -> variable, in creation
order), and runs the 'recursive' runtime graph (or any structure) with
`run()`, honouring the stored `lod`. `get_state()` / `from_state()` use the
pickle's version-2 state dict.
"""

import collections

import numpy as np
import tensorflow as tf

from official_ports.pggan_tf1 import networks

tf1 = tf.compat.v1


def new_session():
  """A fresh graph and a Session on it (graph mode, independent of eager)."""
  graph = tf.Graph()
  return tf1.Session(graph=graph)


class Network:
  """One network (G_paper or D_paper) in a TF1 graph."""

  def __init__(self, name, build_func_name, session, **static_kwargs):
    self.name = name
    self.build_func_name = build_func_name
    self.static_kwargs = dict(static_kwargs)
    self.session = session
    self._func = networks.BUILD_FUNCS[build_func_name]
    self._run_cache = {}
    self._assign = {}
    graph = session.graph
    with graph.as_default():
      self.input_templates = self._placeholders('template')
      with tf1.variable_scope(name, reuse=tf1.AUTO_REUSE) as scope:
        self.scope = scope.name
        out = self._func(*self.input_templates, is_template_graph=True, **self.static_kwargs)
      self.output_templates = list(out) if isinstance(out, tuple) else [out]
      prefix = self.scope + '/'
      self.vars = collections.OrderedDict(
          (v.name[len(prefix):-2], v) for v in tf1.global_variables() if v.name.startswith(prefix))
      self.trainables = collections.OrderedDict(
          (v.name[len(prefix):-2], v) for v in tf1.trainable_variables()
          if v.name.startswith(prefix))
      session.run(tf1.variables_initializer(list(self.vars.values())))

  def _placeholders(self, tag):
    if self.build_func_name == 'G_paper':
      return [tf1.placeholder(tf.float32, name=f'{tag}_latents_in'),
              tf1.placeholder(tf.float32, name=f'{tag}_labels_in')]
    return [tf1.placeholder(tf.float32, name=f'{tag}_images_in')]

  def get_output_for(self, *inputs, **dynamic_kwargs):
    """Builds the network on `inputs` (reusing the variables); returns its outputs."""
    with tf1.variable_scope(self.scope, reuse=True):
      return self._func(*inputs, **{**self.static_kwargs, **dynamic_kwargs})

  def run(self, *arrays, **dynamic_kwargs):
    """Evaluates the network on numpy inputs (NCHW images); numpy outputs."""
    key = tuple(sorted(dynamic_kwargs.items()))
    if key not in self._run_cache:
      with self.session.graph.as_default():
        ins = self._placeholders('run')
        out = self.get_output_for(*ins, **dynamic_kwargs)
        self._run_cache[key] = (ins, list(out) if isinstance(out, tuple) else [out])
    ins, outs = self._run_cache[key]
    result = self.session.run(outs, dict(zip(ins, arrays)))
    return result[0] if len(result) == 1 else tuple(result)

  def get_vars(self):
    """OrderedDict local name -> numpy value, in creation order."""
    values = self.session.run(list(self.vars.values()))
    return collections.OrderedDict(zip(self.vars, values))

  def set_vars(self, values):
    """Assigns numpy values by local name (every name must be a variable)."""
    feeds, ops = {}, []
    with self.session.graph.as_default():
      for name, value in values.items():
        if name not in self._assign:
          v = self.vars[name]
          ph = tf1.placeholder(v.dtype.base_dtype, v.shape)
          self._assign[name] = (ph, tf1.assign(v, ph))
        ph, op = self._assign[name]
        feeds[ph] = np.asarray(value)
        ops.append(op)
    self.session.run(ops, feeds)

  def randomize(self, seed, lod=None):
    """Gives every trainable variable N(0, 1) values from `seed` (biases too)."""
    rng = np.random.RandomState(seed)
    values = {name: rng.standard_normal(v.shape).astype(np.float32)
              for name, v in self.trainables.items()}
    if lod is not None:
      values['lod'] = np.float32(lod)
    self.set_vars(values)

  def get_state(self, build_module_src=''):
    """The pickle's version-2 state dict."""
    return {'version': 2, 'name': self.name, 'static_kwargs': dict(self.static_kwargs),
            'build_module_src': build_module_src, 'build_func_name': self.build_func_name,
            'variables': list(self.get_vars().items())}

  @classmethod
  def from_state(cls, state, session, name=None):
    net = cls(name or state['name'], state['build_func_name'], session, **state['static_kwargs'])
    net.set_vars(dict(state['variables']))
    return net
