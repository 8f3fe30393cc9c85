"""Byte lists between the Swift host and Python: each item followed by a NUL byte.

The host passes argv, environment and path lists as one ``bytes`` each, so non-UTF-8 arguments,
paths and variables reach pytest unchanged.
"""

from typing import List


def split(blob: bytes) -> List[bytes]:
    return blob.split(b"\0")[:-1] if blob else []


def join(items: List[bytes]) -> bytes:
    return b"".join(item + b"\0" for item in items)
