"""Command-line options of judge reliability (repeats, swapped orders, panels) and their values
for RunConfig. cli.py adds them with `add_judge_reliability_args(judge_group)`; config.py takes
its fields from `judge_reliability_fields(args)`."""

from __future__ import annotations

import argparse
import math

from mella_eval.errors import MellaError

MAX_REPEATS = 20


def add_judge_reliability_args(parser) -> None:
    """--judge-repeats, --judge-temperature, --judge-swap/--no-judge-swap, --judge-panel."""
    parser.add_argument("--judge-repeats", type=int, default=1, metavar="K",
                        help="ask every judgement K times and report their mean and agreement "
                             "(Krippendorff's alpha, share of identical labels); default 1")
    parser.add_argument("--judge-temperature", type=float, metavar="T",
                        help="judge sampling temperature (default: the rubric's generation.temperature)")
    parser.add_argument("--judge-swap", action=argparse.BooleanOptionalAction, default=None,
                        help="judge a pairwise rubric's two answers in both orders and report the "
                             "position-bias rate (default: on for pairwise rubrics)")
    parser.add_argument("--judge-panel", metavar="FILE",
                        help="YAML list of judges (model, backend, base_url, api_key_env, model_args) "
                             "that all grade every answer; the panel mean is reported")


def judge_reliability_fields(args) -> dict:
    """RunConfig fields from the parsed arguments (defaults where cli.py lacks the options)."""
    from mella_eval.judge_panel import load_panel

    repeats = getattr(args, "judge_repeats", 1)
    temperature = getattr(args, "judge_temperature", None)
    panel_file = getattr(args, "judge_panel", None)
    if not 1 <= repeats <= MAX_REPEATS:
        raise MellaError(f"--judge-repeats must be in 1..{MAX_REPEATS}, got {repeats}")
    if temperature is not None and not (math.isfinite(temperature) and 0 <= temperature <= 2):
        raise MellaError(f"--judge-temperature must be in [0, 2], got {temperature}")
    fields = {"judge_repeats": repeats, "judge_temperature": temperature,
              "judge_swap": getattr(args, "judge_swap", None), "judge_panel": ()}
    if panel_file:
        if getattr(args, "judge_model", None):
            raise MellaError("give either --judge-model or --judge-panel, not both "
                             "(a panel file lists every judge)")
        fields["judge_panel"] = load_panel(panel_file)
    return fields


def panel_label(panel) -> str:
    """What stands for --judge-model when a panel judges."""
    return "panel:" + "+".join(j.name for j in panel)
