"""Read and write the classifier's shared layers as a folder: manifest.json + one .npy per layer.

The layout is what `medfedpure fl export-shared --out DIR` writes:

    manifest.json   {"format": "medfedpure-shared-arrays", "version": 1, "names": [...], "files": [...], ...}
    0000.npy ...    float32, C order, one per name, in manifest order

Names are the workstation's weight names (e.g. ``body.block1.conv1.weight``). Only the shared layers are in it:
the workstation decides what travels (FedPer: ``body.*``; FedBN: no normalisation layers) and refuses any other
name, shape or dtype, so the ServerApp must start from exactly this set.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from flwr.app import Array, ArrayRecord

FORMAT = "medfedpure-shared-arrays"


def load_shared_arrays(folder: str | Path) -> ArrayRecord:
    """Load the folder as an ArrayRecord (insertion order = manifest order)."""
    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{folder}/manifest.json is not a {FORMAT} manifest")
    names, files = manifest["names"], manifest["files"]
    if len(names) != len(files) or len(set(names)) != len(names):
        raise ValueError(f"{folder}/manifest.json: names and files do not pair up")
    arrays: dict[str, Array] = {}
    for name, file in zip(names, files, strict=True):
        nd = np.load(folder / Path(file).name, allow_pickle=False)
        if nd.dtype != np.float32:
            raise ValueError(f"{name}: dtype {nd.dtype}, expected float32")
        arrays[name] = Array(np.ascontiguousarray(nd))
    return ArrayRecord(arrays)


def save_shared_arrays(record: ArrayRecord, folder: str | Path, extra: dict | None = None) -> None:
    """Write an ArrayRecord in the same layout (e.g. the final global shared layers)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names, files = [], []
    for i, (name, array) in enumerate(record.items()):
        file = f"{i:04d}.npy"
        np.save(folder / file, array.numpy().astype(np.float32, copy=False), allow_pickle=False)
        names.append(name)
        files.append(file)
    manifest = {"format": FORMAT, "version": 1, "names": names, "files": files, **(extra or {})}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
