#!/usr/bin/env python3
"""Writes the .npy shards both benchmark sides read: MLP features/labels and LM tokens."""
import sys
import numpy as np

out = sys.argv[1]
rng = np.random.default_rng(0)
import os
os.makedirs(f"{out}/mlp", exist_ok=True)
os.makedirs(f"{out}/lm", exist_ok=True)
labels = rng.integers(0, 10, size=4096)
templates = rng.standard_normal((10, 128)).astype(np.float32)
features = templates[labels] + rng.standard_normal((4096, 128)).astype(np.float32)
np.save(f"{out}/mlp/train.features.npy", features.astype(np.float32))
np.save(f"{out}/mlp/train.labels.npy", labels.astype(np.int64))
starts = rng.integers(0, 256, size=2048)
tokens = np.concatenate([(s + np.arange(65) * (1 + s % 3)) % 256 for s in starts])
np.save(f"{out}/lm/tokens.npy", tokens.astype(np.int64))
