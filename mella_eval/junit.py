"""JUnit XML for `mella-eval compare`: CI dashboards show each (task, lang, metric) as a test."""

from __future__ import annotations

from pathlib import Path

from mella_eval.paired_bootstrap import DEFAULT_MAX_DROP, Comparison
from mella_eval.results import atomic_write_text


def write_junit(path: Path, comparisons: list[Comparison], args, reasons: list[str] | None = None) -> None:
    """One testcase per (task, lang, metric), a <failure> for each regression; when the runs
    cannot be compared, one testcase `comparable` with an <error> carrying the reasons."""
    import xml.etree.ElementTree as ET

    suite = ET.Element("testsuite", name="mella-eval compare")
    props = ET.SubElement(suite, "properties")
    for name, value in (("baseline", args.baseline), ("candidate", args.candidate),
                        ("alpha", args.alpha), ("n_boot", args.n_boot), ("seed", args.seed),
                        ("max_drop", ",".join(args.max_drop or [str(DEFAULT_MAX_DROP)]))):
        ET.SubElement(props, "property", name=name, value=str(value))
    failures = errors = 0
    if reasons is not None:
        case = ET.SubElement(suite, "testcase", classname="mella_eval.compare", name="comparable", time="0")
        error = ET.SubElement(case, "error", message="runs cannot be compared", type="NotComparable")
        error.text = "\n".join(reasons)
        errors = 1
    for c in comparisons:
        case = ET.SubElement(suite, "testcase", classname=f"{c.task}.{c.lang}", name=c.metric, time="0")
        detail = (f"{c.metric} {c.task}/{c.lang}: baseline {c.fmt(c.baseline)}, candidate "
                  f"{c.fmt(c.candidate)}, delta {c.fmt(c.delta, True)} (CI [{c.fmt(c.ci_low, True)}, "
                  f"{c.fmt(c.ci_high, True)}], p={c.p_worse:.4f}, n={c.n}); max drop {c.max_drop:g}, "
                  f"alpha {c.alpha:g}")
        if c.regressed:
            failures += 1
            failure = ET.SubElement(case, "failure", type="regression",
                                    message=f"worse by {c.fmt(c.worse_by)} > max drop {c.max_drop:g}")
            failure.text = detail
        else:
            ET.SubElement(case, "system-out").text = f"{c.verdict}: {detail}"
    count = len(comparisons) + (1 if reasons is not None else 0)
    suite.set("tests", str(count))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", "0")
    root = ET.Element("testsuites", name="mella-eval", tests=str(count), failures=str(failures),
                      errors=str(errors))
    root.append(suite)
    ET.indent(root)
    atomic_write_text(path, '<?xml version="1.0" encoding="UTF-8"?>\n'
                      + ET.tostring(root, encoding="unicode") + "\n")
