"""Our own tf.compat.v1 ports of the original TF1 graphs: the oracle for tests (see README.md)."""
