"""Reference protocol for XM100 captions and MaXM's ROUGE-L / CIDEr (neulab/Pangea commit ecc4403).

Reimplements `lmms_eval/tasks/xm100/utils.py` (`xm100_process_result`, `normalize`,
`xm100_aggregation_result`) with its `xm100_<lang>.yaml`, and the ROUGE-L / CIDEr branch of
`lmms_eval/tasks/maxm/utils.py` `maxm_aggregate_results_v2`. The pipeline the reference runs:
string image id -> int (letters a-z -> 1-26), a COCO index keyed by that int, pycocoevalcap's
PTB tokenisation (`reference_ptb`, Java-free), then pycocoevalcap's own Bleu(4), Rouge, Cider
(pure Python) and, where `java` is installed, its Meteor 1.5 (Java). Scores stay on
pycocoevalcap's scale for XM100 (0-1; CIDEr about 0-10); MaXM's are x100, as the reference returns.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import unicodedata

from mella_eval.errors import MellaError
from mella_eval.protocols.reference_ptb import ptb_tokenize, tokenize_captions

__all__ = ["XM100_GENERATION", "XM100_PROMPT", "XM100_METRICS", "ptb_tokenize", "xm100_prompt",
           "xm100_normalize", "xm100_corpus_scores", "maxm_corpus_scores", "reference_image_id",
           "java_meteor_available"]

# xm100_<lang>.yaml: identical in all 36 languages but the prompt (note top_p: 0, not 1.0).
XM100_GENERATION = {"max_new_tokens": 128, "temperature": 0, "top_p": 0, "num_beams": 1,
                    "do_sample": False}
XM100_PROMPT = "Provide a one-sentence caption for the provided image in {language}."
XM100_PROMPT_EN = "Provide a one-sentence caption for the provided image."  # xm100_en.yaml
XM100_LANGUAGE_NAMES = {
    "ar": "Arabic", "bn": "Bengali", "cs": "Czech", "da": "Danish", "de": "German", "el": "Greek",
    "en": "English", "es": "Spanish", "fa": "Persian", "fi": "Finnish", "fil": "Filipino",
    "fr": "French", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian",
    "id": "Indonesian", "it": "Italian", "ja": "Japanese", "ko": "Korean", "mi": "Maori",
    "nl": "Dutch", "no": "Norwegian", "pl": "Polish", "pt": "Portuguese", "quz": "Quechua",
    "ro": "Romanian", "ru": "Russian", "sv": "Swedish", "sw": "Swahili", "te": "Telugu",
    "th": "Thai", "tr": "Turkish", "uk": "Ukrainian", "vi": "Vietnamese", "zh": "Chinese"}
XM100_METRICS = ("Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "METEOR", "ROUGE_L", "CIDEr")
# MaXM splits (mella-eval's "he" is the split "iw"); its ROUGE-L / CIDEr ignore the language.
MAXM_LANGS = ("en", "fr", "hi", "he", "iw", "ro", "th", "zh")


def _check_xm100_lang(lang: str) -> None:
    if lang not in XM100_LANGUAGE_NAMES:
        raise MellaError(f"xm100: no reference task for language {lang!r} (it has "
                         f"{', '.join(sorted(XM100_LANGUAGE_NAMES))})")


def xm100_prompt(row: dict, lang: str) -> str:
    """`doc_to_text` of xm100_<lang>.yaml: a fixed instruction; the row is not used."""
    _check_xm100_lang(lang)
    return XM100_PROMPT_EN if lang == "en" else XM100_PROMPT.format(
        language=XM100_LANGUAGE_NAMES[lang])


def reference_image_id(image_id: str) -> int:
    """`xm100_process_result` / `maxm_process_results`: each letter c becomes str(ord(c) - 96)
    ("a" -> "1" ... "z" -> "26"), then int(). Hex ids map a-f to single digits, so "a" and "1"
    collide position by position ("1a" and "11" are both 11); with 16-character random hex ids a
    collision is ~4e-16 per pair. Upper-case letters give negative numbers ("A" -> "-31"), which
    int() refuses unless the "-" leads: the reference crashes there, so we do too."""
    text = "".join(str(ord(c) - 96) if c.isalpha() else c for c in str(image_id))
    try:
        return int(text)
    except ValueError:
        raise MellaError(f"image id {image_id!r}: the reference's letter-to-digit rule gives "
                         f"{text!r}, not an integer (the reference crashes here)") from None


def _spacy_char_join(text: str) -> str:
    """What `"".join(w.text for w in Chinese()(text))` returns with spaCy 3's default "char"
    segmenter: each non-space character is a token that owns one following U+0020, and
    `w.text` drops it; any other whitespace stays (its own token)."""
    out = []
    for i, ch in enumerate(text):
        if ch == " " and i > 0 and not text[i - 1].isspace():
            continue
        out.append(ch)
    return "".join(out)


def xm100_normalize(prediction: str, tasks: str) -> str:
    """`normalize(result, args)`: it tests substrings of the `--tasks` command-line string.

    - "xm100_zh" in tasks: spaCy Chinese tokens re-joined with "" (spaces after characters
      vanish; `_spacy_char_join`). Running the group `--tasks xm100` never matches, and
      `--tasks xm100_zh,xm100_en` applies it to the English predictions too.
    - "xm100_jp" in tasks: never true for the real task names (Japanese is `xm100_ja`), so
      Japanese predictions are never segmented. Reproducing it would need SudachiPy: refused.
    - "xm100_th" in tasks: spaCy Thai tokens (PyThaiNLP newmm, every token including spaces,
      no trailing-space flags) re-joined with "": the text unchanged.
    - then NFC, always. References are never normalised."""
    if "xm100_jp" in tasks:
        raise MellaError("xm100: a --tasks string containing 'xm100_jp' would run spaCy's "
                         "Japanese (SudachiPy) segmentation, which is not reproduced")
    if "xm100_zh" in tasks:
        prediction = _spacy_char_join(prediction)
    return unicodedata.normalize("NFC", prediction)


def _scorers():
    try:
        from pycocoevalcap.bleu.bleu import Bleu
        from pycocoevalcap.cider.cider import Cider
        from pycocoevalcap.rouge.rouge import Rouge
    except ImportError:
        raise MellaError("the reference XM100/MaXM caption metrics need pycocoevalcap: "
                         "pip install 'pycocoevalcap>=1.2'") from None
    return Bleu, Rouge, Cider


def java_meteor_available() -> bool:
    """pycocoevalcap's METEOR is meteor-1.5.jar: it needs `java` and the jar in the wheel."""
    if shutil.which("java") is None:
        return False
    try:
        import pycocoevalcap.meteor.meteor as meteor_module
    except ImportError:
        return False
    from pathlib import Path
    return (Path(meteor_module.__file__).parent / meteor_module.METEOR_JAR).is_file()


def _coco_gts_res(items: list, task: str, last_prediction: bool) -> tuple[dict, dict]:
    """The `gts` / `res` dicts the reference builds through pycocotools' COCO index: keyed by
    the int image id in first-appearance order; references pooled over rows sharing an id."""
    if not items:
        raise MellaError(f"{task}: no predictions to score (the reference crashes on none)")
    gts: dict[int, list[str]] = {}
    res: dict[int, list[str]] = {}
    for image_id, prediction, references in items:
        key = reference_image_id(image_id)
        gts.setdefault(key, []).extend(str(r) for r in references)
        res.setdefault(key, []).append(prediction)
    if last_prediction:  # maxm: "for k, v in res.items(): if len(v) > 1: res[k] = [v[-1]]"
        res = {k: v[-1:] for k, v in res.items()}
    else:
        for key, preds in res.items():
            if len(preds) > 1:
                raise MellaError(f"{task}: {len(preds)} predictions share the reference image id "
                                 f"{key} (pycocoevalcap asserts one per image: the reference "
                                 "crashes here)")
    return gts, res


def _tokenized(gts: dict, res: dict, task: str) -> tuple[dict, dict]:
    gts, res = tokenize_captions(gts), tokenize_captions(res)
    if gts.keys() != res.keys():  # a line shift made by a caption ran past the last one
        raise MellaError(f"{task}: PTB tokenisation lost captions (pycocoevalcap's scorers "
                         "assert equal keys: the reference crashes here)")
    return gts, res


def _quiet(scorer, gts: dict, res: dict):
    with contextlib.redirect_stdout(io.StringIO()):  # Bleu prints its length ratios
        score, _ = scorer.compute_score(gts, res)
    return score


def xm100_corpus_scores(items: list[tuple[str, str, list[str]]], lang: str, *,
                        tasks: str | None = None, meteor: bool | None = None) -> dict:
    """The (task, lang) scores of `xm100_<lang>`: items are (image_id, prediction, references).

    `tasks` is the reference run's `--tasks` string; default "xm100_<lang>" (one task per run,
    as PangeaBench's scripts launch them); "xm100" reproduces a group run (no normalisation).
    Returns Bleu_1..Bleu_4, ROUGE_L (0-1) and CIDEr (0-10 scale) and, when Java's METEOR runs
    (`meteor=None`: if `java` is on PATH; True: required; False: never), METEOR (0-1)."""
    _check_xm100_lang(lang)
    tasks = f"xm100_{lang}" if tasks is None else tasks
    rows = [(i, xm100_normalize(p, tasks), refs) for i, p, refs in items]
    gts, res = _tokenized(*_coco_gts_res(rows, f"xm100_{lang}", last_prediction=False),
                          f"xm100_{lang}")
    Bleu, Rouge, Cider = _scorers()
    bleu = _quiet(Bleu(4), gts, res)
    scores = {f"Bleu_{n}": float(bleu[n - 1]) for n in range(1, 5)}
    scores["ROUGE_L"] = float(_quiet(Rouge(), gts, res))
    scores["CIDEr"] = float(_quiet(Cider(), gts, res))
    run_meteor = java_meteor_available() if meteor is None else meteor
    if run_meteor:
        scores["METEOR"] = _java_meteor(gts, res)
    return scores


def _java_meteor(gts: dict, res: dict) -> float:
    if not java_meteor_available():
        raise MellaError("METEOR as the reference computes it needs Java (pycocoevalcap runs "
                         "meteor-1.5.jar): install a JRE or score without METEOR")
    from pycocoevalcap.meteor.meteor import Meteor
    return float(Meteor().compute_score(gts, res)[0])  # its __del__ stops the Java process


def maxm_corpus_scores(items: list[tuple[str, str, list[str]]], lang: str) -> dict:
    """`maxm_aggregate_results_v2` for "rouge_l" and "cider": items are (image_id, prediction,
    gold answers), one per question, in dataset order. The reference keys by image id, so the
    answers of all questions about one image are pooled as its references and only the last of
    their predictions is scored; predictions and answers are not normalised. Both x100."""
    if lang not in MAXM_LANGS:
        raise MellaError(f"maxm: no reference task for language {lang!r} (it has "
                         f"{', '.join(MAXM_LANGS)})")
    gts, res = _tokenized(*_coco_gts_res(items, f"maxm_{lang}", last_prediction=True),
                          f"maxm_{lang}")
    _, Rouge, Cider = _scorers()
    return {"rouge_l": 100 * float(_quiet(Rouge(), gts, res)),
            "cider": 100 * float(_quiet(Cider(), gts, res))}
