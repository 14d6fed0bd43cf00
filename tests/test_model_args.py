"""--model-args: k=v items, Python literals, dicts and lists as values."""

import pytest

from mella_eval.config import parse_model_args
from mella_eval.errors import MellaError


def test_scalars_and_strings():
    assert parse_model_args("max_num_seqs=8,enforce_eager=True,gpu_memory_utilization=0.5,name=abc") == {
        "max_num_seqs": 8, "enforce_eager": True, "gpu_memory_utilization": 0.5, "name": "abc"}


def test_a_dict_value_keeps_its_commas():
    got = parse_model_args("processor_size={'shortest_edge': 784, 'longest_edge': 3136},max_num_seqs=8")
    assert got == {"processor_size": {"shortest_edge": 784, "longest_edge": 3136}, "max_num_seqs": 8}


def test_lists_and_quoted_commas():
    got = parse_model_args("limit=[1, 2],sep='a,b',nested={'k': [1, {'x': 2}]}")
    assert got == {"limit": [1, 2], "sep": "a,b", "nested": {"k": [1, {"x": 2}]}}


@pytest.mark.parametrize("spec", ["novalue", "=3", "a=1,,b"])
def test_bad_items_are_one_line_errors(spec):
    if spec == "a=1,,b":
        with pytest.raises(MellaError, match="expected key=value, got 'b'"):
            parse_model_args(spec)
    else:
        with pytest.raises(MellaError, match="expected key=value"):
            parse_model_args(spec)
