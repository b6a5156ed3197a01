"""Keras layers of ours: Maxout (GAN 2014); PGGAN ops land here too."""

from tf_gans.layers.maxout import Maxout
