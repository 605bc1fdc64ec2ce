from __future__ import annotations

import math

import numpy as np

from roadtest.archive import canonical_json, fingerprint


def test_sorted_keys_and_fixed_floats():
    a = canonical_json({"b": 0.1 + 0.2, "a": [1, np.float64(2.5)], "c": math.nan})
    assert a == '{"a":[1,2.5],"b":0.3,"c":null}'


def test_fingerprint_ignores_key_order_but_not_values():
    assert fingerprint({"x": 1, "y": [1, 2]}) == fingerprint({"y": [1, 2], "x": 1})
    assert fingerprint({"x": 1}) != fingerprint({"x": 1.0000001})
