"""Evaluation metrics for generators (numpy; importing this package does not import TensorFlow)."""
