"""Our tf.compat.v1 port of the official PGGAN networks and pickle format (the oracle).

  networks.py   the NCHW ops, G_paper and D_paper ('linear' and 'recursive')
  network.py    a small tfutil.Network: template graph, vars, run(), state
  pickle_io.py  the original pickle format (write / read) and TF1 checkpoints
"""
