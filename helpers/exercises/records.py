"""What a self-check looks at, as plain data: the student's values and function results, recorded and restored.

The graded values (a tensor, an int, a tuple of tensors, ...) travel between processes as data only: a small JSON
description plus ``.npy`` arrays (written and read without pickle). The notebook's self-check and the instructor's
trusted checker both look at the *restored* value, so the two see exactly the same thing:

- :func:`snapshot` turns a value into ``(description, arrays)``;
- :func:`restore` turns them back into tensors, arrays and Python scalars (always on the CPU);
- :func:`save` / :func:`load` write and read them in a folder (``<key>.json`` and ``<key>.<i>.npy``).

:func:`load` treats the folder as hostile (it was written inside the grading sandbox): it opens only regular files
(no links, no FIFOs), caps their sizes, accepts numeric dtypes only and a small whitelist of descriptions.
"""
from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["Missing", "Unreadable", "Other", "RaisedError", "snapshot", "restore", "save", "load", "MAX_ARRAY_BYTES"]

#: Largest array recorded (bytes); a larger value is recorded as "too large".
MAX_ARRAY_BYTES = 256 * 2**20
MAX_JSON_BYTES = 2**20
MAX_ITEMS = 64
MAX_DEPTH = 4
MAX_STRING = 2000
_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,120}$")
_NUMERIC = set("biuf")  # numpy dtype kinds: bool, signed, unsigned, float


class Missing:
    """The value was not recorded (the variable did not exist, or the function was not called)."""

    def __init__(self, reason: str = "not recorded"):
        self.reason = reason

    def __repr__(self) -> str:
        return f"Missing({self.reason!r})"


class Unreadable(Missing):
    """The record exists but is not valid data (e.g. tampered with in the sandbox)."""


class Other:
    """A value of a type that is not recorded as data: only its type name is kept."""

    def __init__(self, type_name: str, detail: str = ""):
        self.type_name, self.detail = type_name, detail

    def __repr__(self) -> str:
        return f"<{self.type_name}{' ' + self.detail if self.detail else ''}>"


class RaisedError:
    """A student's function raised an exception instead of returning (recorded by the from-scratch sandbox)."""

    def __init__(self, type_name: str, name: str | None = None):
        self.type_name, self.name = type_name, name

    def __repr__(self) -> str:
        return f"RaisedError({self.type_name!r}, {self.name!r})"


def _type_name(value: Any) -> str:
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}" if cls.__module__ not in ("builtins", None) else cls.__qualname__


def snapshot(value: Any, _depth: int = 0) -> tuple[dict, list[np.ndarray]]:
    """``(description, arrays)`` of ``value``; never raises (unrecordable values become ``{"kind": "other"}``)."""
    arrays: list[np.ndarray] = []
    try:
        return _describe(value, arrays, _depth), arrays
    except Exception as error:  # a strange object: keep its type only
        return {"kind": "other", "type": _type_name(value)[:100], "detail": f"not readable ({type(error).__name__})"}, []


def _describe(value: Any, arrays: list[np.ndarray], depth: int) -> dict:
    if isinstance(value, torch.Tensor):
        if value.layout != torch.strided:
            value = value.to_dense()
        description = {"kind": "tensor", "dtype": str(value.dtype).removeprefix("torch."),
                       "shape": list(value.shape), "requires_grad": bool(value.requires_grad),
                       "device": str(value.device.type)}
        if value.is_complex() or value.dtype in (torch.bfloat16,) or value.dtype.is_floating_point and value.element_size() < 2:
            array = value.detach().cpu().to(torch.float32).numpy()
            description["converted_from"] = description["dtype"]
        else:
            array = value.detach().cpu().numpy()
        return _add_array(description, array, arrays)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _NUMERIC:
            return {"kind": "other", "type": "numpy.ndarray", "detail": f"dtype {value.dtype.str[:20]}"}
        return _add_array({"kind": "ndarray", "shape": list(value.shape)}, np.ascontiguousarray(value), arrays)
    if isinstance(value, np.generic) and value.dtype.kind in _NUMERIC:
        return {"kind": "numpy_scalar", "value": value.item(), "dtype": value.dtype.str}
    if isinstance(value, bool):
        return {"kind": "bool", "value": value}
    if isinstance(value, int):
        if abs(value) > 2**62:
            return {"kind": "other", "type": "int", "detail": "too large"}
        return {"kind": "int", "value": value}
    if isinstance(value, float):
        return {"kind": "float", "value": value if math.isfinite(value) else repr(value)}
    if value is None:
        return {"kind": "none"}
    if isinstance(value, str):
        return {"kind": "str", "value": value[:MAX_STRING], "truncated": len(value) > MAX_STRING}
    if isinstance(value, (tuple, list)) and depth < MAX_DEPTH:
        kind = "tuple" if isinstance(value, tuple) else "list"
        if len(value) > MAX_ITEMS:
            return {"kind": "other", "type": type(value).__name__, "detail": f"of {len(value)} items"}
        return {"kind": kind, "items": [_describe(item, arrays, depth + 1) for item in value]}
    return {"kind": "other", "type": _type_name(value)[:100]}


def _add_array(description: dict, array: np.ndarray, arrays: list[np.ndarray]) -> dict:
    if array.nbytes > MAX_ARRAY_BYTES:
        return {"kind": "other", "type": description["kind"], "detail": f"too large ({array.nbytes / 2**20:.0f} MB)"}
    description["array"] = len(arrays)
    arrays.append(array)
    return description


def restore(description: dict, arrays: list[np.ndarray]) -> Any:
    """The value described (tensors on the CPU, with their dtype and ``requires_grad``)."""
    kind = description["kind"]
    if kind == "tensor":
        tensor = torch.from_numpy(np.array(arrays[description["array"]]))
        if description.get("converted_from") == "bfloat16":
            tensor = tensor.to(torch.bfloat16)
        if description["requires_grad"] and (tensor.is_floating_point() or tensor.is_complex()):
            tensor.requires_grad_(True)
        return tensor
    if kind == "ndarray":
        return np.array(arrays[description["array"]])
    if kind == "numpy_scalar":
        return np.dtype(description["dtype"]).type(description["value"])
    if kind in ("bool", "int", "str"):
        return description["value"]
    if kind == "float":
        return float(description["value"])
    if kind == "none":
        return None
    if kind == "tuple":
        return tuple(restore(item, arrays) for item in description["items"])
    if kind == "list":
        return [restore(item, arrays) for item in description["items"]]
    if kind == "raised":
        return RaisedError(description["type"], description.get("name"))
    if kind == "missing":
        return Missing(description.get("reason", "not recorded"))
    return Other(description.get("type", "?"), description.get("detail", ""))


def round_trip(value: Any) -> Any:
    """``restore(*snapshot(value))``: what the grader will see of ``value``."""
    return restore(*snapshot(value))


# ------------------------------------------------------------------------------------------------------------
# Files: <folder>/<key>.json and <folder>/<key>.<i>.npy


def save(folder: Path, key: str, value: Any = None, *, description: dict | None = None, extra: dict | None = None) -> None:
    """Record ``value`` (or a ready ``description`` without arrays) under ``key`` in ``folder``."""
    if not _KEY.match(key):
        raise ValueError(f"key must match {_KEY.pattern}, got {key!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays: list[np.ndarray] = []
    if description is None:
        description, arrays = snapshot(value)
    for index, array in enumerate(arrays):
        with open(folder / f"{key}.{index}.npy", "wb") as f:
            np.save(f, array, allow_pickle=False)
    record = {"value": description, "arrays": len(arrays), **(extra or {})}
    (folder / f"{key}.json.tmp").write_text(json.dumps(record))
    os.replace(folder / f"{key}.json.tmp", folder / f"{key}.json")  # the JSON last: a record is complete or absent


def _read_regular(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path`` if it is a regular file (not a link, FIFO or device) of at most ``max_bytes``."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        import stat

        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{path.name} is not a regular file")
        if info.st_size > max_bytes:
            raise ValueError(f"{path.name} is larger than {max_bytes} bytes")
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise ValueError(f"{path.name} grew beyond {max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def load(folder: Path, key: str) -> tuple[Any, dict]:
    """``(value, record)`` recorded under ``key``; ``Missing`` if absent, ``Unreadable`` if not valid data."""
    if not _KEY.match(key):
        raise ValueError(f"key must match {_KEY.pattern}, got {key!r}")
    folder = Path(folder)
    path = folder / f"{key}.json"
    if not os.path.lexists(path):
        return Missing(), {}
    try:
        record = json.loads(_read_regular(path, MAX_JSON_BYTES))
        if not isinstance(record, dict) or not isinstance(record.get("arrays"), int):
            raise ValueError("not a record")
        n_arrays = record["arrays"]
        if not 0 <= n_arrays <= MAX_ITEMS:
            raise ValueError("too many arrays")
        description = _validated(record.get("value"), n_arrays, 0)
        arrays = []
        for index in range(n_arrays):
            raw = _read_regular(folder / f"{key}.{index}.npy", MAX_ARRAY_BYTES + 4096)
            import io

            array = np.load(io.BytesIO(raw), allow_pickle=False)
            if not isinstance(array, np.ndarray) or array.dtype.kind not in _NUMERIC or array.dtype.fields:
                raise ValueError("an array is not numeric")
            arrays.append(array)
        _check_arrays(description, arrays)
        return restore(description, arrays), record
    except Exception as error:  # anything malformed: the record does not count
        return Unreadable(f"unreadable record ({type(error).__name__})"), {}


_SCALAR_TYPES = {"bool": bool, "int": int, "str": str}


def _validated(description: Any, n_arrays: int, depth: int) -> dict:
    """``description`` if it is one of the shapes :func:`snapshot` writes, else ValueError."""
    if not isinstance(description, dict) or depth > MAX_DEPTH:
        raise ValueError("bad description")
    kind = description.get("kind")
    if kind in ("tensor", "ndarray"):
        index = description.get("array")
        if not isinstance(index, int) or not 0 <= index < n_arrays:
            raise ValueError("bad array index")
        if kind == "tensor" and not isinstance(description.get("requires_grad"), bool):
            raise ValueError("bad requires_grad")
        return description
    if kind in _SCALAR_TYPES:
        value = description.get("value")
        if not isinstance(value, _SCALAR_TYPES[kind]) or (kind == "int" and isinstance(value, bool)):
            raise ValueError("bad scalar")
        if kind == "str" and len(value) > MAX_STRING:
            raise ValueError("string too long")
        return description
    if kind == "float":
        value = description.get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError("bad float")
        float(value)
        return description
    if kind == "numpy_scalar":
        if not isinstance(description.get("value"), (int, float, bool)) or np.dtype(str(description.get("dtype"))).kind not in _NUMERIC:
            raise ValueError("bad numpy scalar")
        return description
    if kind in ("tuple", "list"):
        items = description.get("items")
        if not isinstance(items, list) or len(items) > MAX_ITEMS:
            raise ValueError("bad items")
        return {"kind": kind, "items": [_validated(item, n_arrays, depth + 1) for item in items]}
    if kind in ("none", "missing"):
        return {"kind": kind, "reason": str(description.get("reason", ""))[:200]}
    if kind in ("other", "raised"):
        return {"kind": kind, "type": str(description.get("type", "?"))[:100],
                "detail": str(description.get("detail", ""))[:100],
                "name": str(description["name"])[:100] if description.get("name") is not None else None}
    raise ValueError(f"unknown kind {kind!r}")


def _check_arrays(description: dict, arrays: list[np.ndarray]) -> None:
    if description["kind"] in ("tensor", "ndarray"):
        array = arrays[description["array"]]
        if "shape" in description and list(array.shape) != list(description["shape"]):
            raise ValueError("shape does not match its array")
    for item in description.get("items", []) or []:
        _check_arrays(item, arrays)
