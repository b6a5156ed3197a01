"""Training machinery: optimizers, strategies, checkpoints, callbacks, export, the loop."""
