"""Our own tf.compat.v1 ports of the original TF1 graphs: the oracle for tests.

What each port holds and what the tests compare: docs/usage.md, "The oracle".
"""
