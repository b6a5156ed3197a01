"""Command-line tools that prepare external assets (e.g. pretrained weights) for tf_gans."""
