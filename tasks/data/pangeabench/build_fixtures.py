"""Rebuild the PangeaBench schema fixtures in this folder (deterministic for a given Pillow).

    .venv/bin/python tasks/data/pangeabench/build_fixtures.py

For each task folder it writes
  data.jsonl            all rows, the real dataset's columns + one fixture-only column `_split`
                        (the hub split the row would come from; on the hub it is not a column)
  splits/<split>.jsonl  the same rows split by hub split, real columns only (no `_split`), so a
                        task can read one file per split like it reads one hub split per language
and a few derived images (MaRVL's side-by-side pairs; M3Exam's base64 strings are written inline).

Every text below was written for mella-eval and is CC0; the photographs are the public-domain /
CC0 ones of ../mella_sample (see its PROVENANCE.md). Images are referenced by relative path
(`../../mella_sample/images/x.jpg` from a task folder) wherever the real column can hold a path.
"""

from __future__ import annotations

import base64
import io
import json
import unicodedata
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parent / "mella_sample" / "images"


def img(name: str) -> str:
    """Path of a mella_sample image, relative to a task folder."""
    assert (SAMPLE / f"{name}.jpg").is_file(), name
    return f"../../mella_sample/images/{name}.jpg"


def struct(path: str) -> dict:
    """A `{bytes, path}` struct column (floschne/* datasets) holding a path instead of bytes."""
    return {"bytes": None, "path": path}


def _open(name: str) -> Image.Image:
    return Image.open(SAMPLE / f"{name}.jpg").convert("RGB")


def _save_jpeg(im: Image.Image, path: Path, quality: int = 85) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, format="JPEG", quality=quality, optimize=True)


def stack(left: str, right: str, out: Path, horizontal: bool = True, size: int = 128) -> None:
    """Side-by-side (or top/bottom) pair, like floschne/marvl's *_stacked_img columns."""
    a, b = _open(left), _open(right)
    if horizontal:
        a = a.resize((round(a.width * size / a.height), size), Image.LANCZOS)
        b = b.resize((round(b.width * size / b.height), size), Image.LANCZOS)
        canvas = Image.new("RGB", (a.width + b.width, size), "white")
        canvas.paste(a, (0, 0))
        canvas.paste(b, (a.width, 0))
    else:
        a = a.resize((size, round(a.height * size / a.width)), Image.LANCZOS)
        b = b.resize((size, round(b.height * size / b.width)), Image.LANCZOS)
        canvas = Image.new("RGB", (size, a.height + b.height), "white")
        canvas.paste(a, (0, 0))
        canvas.paste(b, (0, a.height))
    _save_jpeg(canvas, out)


def b64(name: str, size: int = 112) -> str:
    """Base64 JPEG string, the shape of PangeaBench-m3exam's image_0 .. image_9 columns."""
    im = _open(name)
    scale = size / max(im.size)
    im = im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=75, optimize=True)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _nfc(value):
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [_nfc(v) for v in value]
    if isinstance(value, dict):
        return {k: _nfc(v) for k, v in value.items()}
    return value


def _deeper(value):
    """Relative image paths one folder deeper (for splits/<split>.jsonl)."""
    if isinstance(value, str) and not value.startswith("/"):
        return "../" + value
    if isinstance(value, dict) and set(value) == {"bytes", "path"} and isinstance(value["path"], str):
        return {"bytes": value["bytes"], "path": "../" + value["path"]}
    return value


def write(task: str, rows: list[tuple[str, dict]], image_columns: list[str]) -> None:
    """rows: (hub split, row with the real columns in the real order)."""
    folder = HERE / task
    (folder / "splits").mkdir(parents=True, exist_ok=True)
    for old in (folder / "splits").glob("*.jsonl"):
        old.unlink()
    dump = lambda r: json.dumps(_nfc(r), ensure_ascii=False) + "\n"  # noqa: E731
    with (folder / "data.jsonl").open("w", encoding="utf-8") as fh:
        for split, row in rows:
            fh.write(dump({**row, "_split": split}))
    by_split: dict[str, list[dict]] = {}
    for split, row in rows:
        moved = {k: (_deeper(v) if k in image_columns else v) for k, v in row.items()}
        by_split.setdefault(split, []).append(moved)
    for split, split_rows in by_split.items():
        with (folder / "splits" / f"{split}.jsonl").open("w", encoding="utf-8") as fh:
            for row in split_rows:
                fh.write(dump(row))


# XM3600-style 16-hex-digit image ids, shared by every dataset that reuses an XM3600 image
# (xm3600, xm100, maxm) so the same photo has the same id everywhere, as in the real data.
HEX = {
    "astronaut": "9a1c3e5f7b2d4601",
    "coffee": "4c0ffee5a7b3d902",
    "chelsea": "ca7c4e15e0b1a903",
    "rocket": "f9a1c0de5b7e2d04",
    "camera": "ca3e7a1b2c3d4e05",
    "grace_hopper": "6a7ce0b1d2e3f406",
    "hubble_deep_field": "b0bb1e0d3e7f5a07",
    "retina": "7e71a0f1e2d3c408",
}


# --- xm3600: floschne/xm3600 ----------------------------------------------------------------

def xm3600() -> None:
    def row(name, captions, tokenized):
        return {
            "image_id": HEX[name],
            "image": struct(img(name)),
            "captions": captions,
            "captions_tokenized": tokenized,
            "captions_tokenized_lowercase": [t.lower() for t in tokenized],
            "image_locale": "en",
        }

    rows = [
        ("ar", row("astronaut",
                   ["رائدة فضاء تبتسم وهي ترتدي بدلة فضاء برتقالية أمام العلم الأمريكي.",
                    "امرأة ببدلة فضاء برتقالية تقف بجانب مجسم لمكوك فضائي وأمامها خوذة سوداء."],
                   ["رائدة فضاء تبتسم وهي ترتدي بدلة فضاء برتقالية أمام العلم الأمريكي .",
                    "امرأة ببدلة فضاء برتقالية تقف بجانب مجسم لمكوك فضائي وأمامها خوذة سوداء ."])),
        ("ar", row("coffee",
                   ["فنجان إسبريسو أحمر على صحن أحمر فوق طاولة خشبية.",
                    "فنجان قهوة صغير وبجانبه ملعقة فضية على الصحن."],
                   ["فنجان إسبريسو أحمر على صحن أحمر فوق طاولة خشبية .",
                    "فنجان قهوة صغير وبجانبه ملعقة فضية على الصحن ."])),
        ("cs", row("chelsea",
                   ["Detailní záběr na mourovatou kočku se zelenýma očima.",
                    "Hnědá pruhovaná kočka se dívá kousek vedle objektivu."],
                   ["Detailní záběr na mourovatou kočku se zelenýma očima .",
                    "Hnědá pruhovaná kočka se dívá kousek vedle objektivu ."])),
        ("cs", row("rocket",
                   ["Bílá raketa stojí za soumraku na startovací rampě.",
                    "Raketa mezi vysokými příhradovými věžemi večer před startem."],
                   ["Bílá raketa stojí za soumraku na startovací rampě .",
                    "Raketa mezi vysokými příhradovými věžemi večer před startem ."])),
        ("th", row("camera",
                   ["ชายสวมเสื้อโค้ทสีเข้มกำลังมองผ่านกล้องบนขาตั้งกลางสนามหญ้า",
                    "ภาพขาวดำของช่างภาพที่กำลังถ่ายภาพด้วยกล้องบนขาตั้งสามขา"],
                   ["ชาย สวม เสื้อโค้ท สี เข้ม กำลัง มอง ผ่าน กล้อง บน ขาตั้ง กลาง สนามหญ้า",
                    "ภาพ ขาวดำ ของ ช่างภาพ ที่ กำลัง ถ่ายภาพ ด้วย กล้อง บน ขาตั้ง สาม ขา"])),
        ("th", row("astronaut",
                   ["นักบินอวกาศหญิงในชุดอวกาศสีส้มยิ้มอยู่หน้าธงชาติอเมริกา",
                    "ผู้หญิงสวมชุดอวกาศสีส้มยืนข้างโมเดลกระสวยอวกาศ"],
                   ["นักบินอวกาศ หญิง ใน ชุด อวกาศ สี ส้ม ยิ้ม อยู่ หน้า ธงชาติ อเมริกา",
                    "ผู้หญิง สวม ชุด อวกาศ สี ส้ม ยืน ข้าง โมเดล กระสวยอวกาศ"])),
    ]
    write("xm3600", rows, ["image"])


# --- xm100: neulab/PangeaBench-xm100 ----------------------------------------------------------

def xm100() -> None:
    def row(name, caption):
        return {"image_id": HEX[name], "image": img(name), "caption": caption}

    rows = [
        ("ko", row("coffee", "빨간 잔에 담긴 에스프레소가 나무 탁자 위의 빨간 받침 접시에 놓여 있다.")),
        ("ko", row("hubble_deep_field", "검은 우주 공간에 크고 작은 은하 수천 개가 흩어져 있다.")),
        ("ru", row("coffee", "Чашка эспрессо на красном блюдце стоит на деревянном столе.")),
        ("ru", row("grace_hopper", "Пожилая женщина в тёмной военно-морской форме и фуражке на фоне флага.")),
        ("th", row("hubble_deep_field", "กาแล็กซีหลากสีจำนวนมากกระจายอยู่ในอวกาศสีดำ")),
        ("th", row("coffee", "ถ้วยเอสเปรสโซสีแดงวางอยู่บนจานรองบนโต๊ะไม้")),
    ]
    write("xm100", rows, ["image"])


# --- cvqa: neulab/PangeaBench-cvqa (copy of afaji/cvqa) -------------------------------------

def cvqa() -> None:
    def row(n, name, subset, q, tq, opts, topts, label, category):
        return {
            "image": img(name),
            "ID": f"90000000000000000{n:02d}_0",
            "Subset": subset,
            "Question": q,
            "Translated Question": tq,
            "Options": opts,
            "Translated Options": topts,
            "Label": label,
            "Category": category,
            "Image Type": "External",
            "Image Source": f"scikit-image / matplotlib sample data ({name}); see ../mella_sample/PROVENANCE.md",
            "License": "CC0 1.0" if name in ("coffee", "chelsea", "camera", "retina") else "Public domain",
        }

    ko, ru, id_ = "('Korean', 'South Korea')", "('Russian', 'Russia')", "('Indonesian', 'Indonesia')"
    # Minangkabau: a CVQA language mella_eval may lack (the hook warns and skips it then)
    min_ = "('Minangkabau', 'Indonesia')"
    rows = [
        ("test", row(1, "coffee", ko, "사진 속 잔에 담긴 음료는 무엇입니까?", "What is the drink in the cup in the picture?",
                     ["녹차", "에스프레소", "식혜", "우유"], ["Green tea", "Espresso", "Sikhye", "Milk"], 1,
                     "Cooking and Food")),
        ("test", row(2, "chelsea", ko, "사진 속 동물은 무엇입니까?", "What animal is in the picture?",
                     ["강아지", "토끼", "고양이", "호랑이"], ["Puppy", "Rabbit", "Cat", "Tiger"], 2,
                     "Plants and Animals")),
        ("test", row(3, "rocket", ru, "Что изображено в центре фотографии?", "What is shown in the centre of the photo?",
                     ["Телебашня", "Ракета на стартовой площадке", "Маяк", "Самолёт"],
                     ["TV tower", "A rocket on the launch pad", "Lighthouse", "Airplane"], 1,
                     "Vehicles and Transportation")),
        ("test", row(4, "camera", ru, "Какой предмет стоит на штативе перед мужчиной?",
                     "What object stands on the tripod in front of the man?",
                     ["Фотоаппарат", "Телескоп", "Микрофон", "Фонарь"],
                     ["Camera", "Telescope", "Microphone", "Lantern"], 0,
                     "Objects, Materials, and Clothing")),
        ("test", row(5, "coffee", id_, "Apa warna cangkir kopi pada gambar ini?",
                     "What colour is the coffee cup in this picture?",
                     ["Putih", "Hijau", "Biru", "Merah"], ["White", "Green", "Blue", "Red"], 3,
                     "Cooking and Food")),
        ("test", row(6, "astronaut", id_, "Bendera negara apa yang terlihat di belakang astronaut itu?",
                     "Which country's flag can be seen behind the astronaut?",
                     ["Indonesia", "Amerika Serikat", "Jepang", "Rusia"],
                     ["Indonesia", "United States", "Japan", "Russia"], 1,
                     "People and Everyday Life")),
        ("test", row(7, "coffee", min_, "Apo nan ado di dalam cangkia tu?",
                     "What is inside the cup?",
                     ["Teh", "Kopi", "Susu", "Aia"], ["Tea", "Coffee", "Milk", "Water"], 1,
                     "Cooking and Food")),
    ]
    write("cvqa", rows, ["image"])


# --- marvl: neulab/PangeaBench-marvl (+ a floschne/marvl-shaped file with the two images) ------

MARVL_PAIRS = {  # pair -> (left, right)
    "coffee-chelsea": ("coffee", "chelsea"),
    "rocket-astronaut": ("rocket", "astronaut"),
    "camera-grace_hopper": ("camera", "grace_hopper"),
}

MARVL_ROWS = [
    # (split, id, pair, hypothesis, English hypothesis, label, chapter, concept)
    ("id", "id-0", "coffee-chelsea",
     "Gambar kiri menunjukkan secangkir kopi, sedangkan gambar kanan menunjukkan seekor kucing.",
     "The left image shows a cup of coffee, while the right image shows a cat.", True,
     "Food and beverages", "kopi"),
    ("id", "id-1", "rocket-astronaut",
     "Kedua gambar menunjukkan hewan peliharaan.",
     "Both images show pets.", False, "Animals", "hewan peliharaan"),
    ("tr", "tr-0", "rocket-astronaut",
     "Sol resimde fırlatma rampasında bir roket, sağ resimde ise turuncu giysili bir astronot var.",
     "The left image has a rocket on a launch pad and the right image an astronaut in an orange suit.",
     True, "Science and technology", "roket"),
    ("tr", "tr-1", "coffee-chelsea",
     "Her iki resimde de bir fincan kahve görülüyor.",
     "A cup of coffee can be seen in both images.", False, "Food and beverages", "kahve"),
    ("zh", "zh-0", "camera-grace_hopper",
     "左图中的男人正在用三脚架上的相机拍照，右图是一位穿制服的女性。",
     "The man in the left image is taking a photo with a camera on a tripod; the right image is a woman in uniform.",
     True, "People", "摄影"),
    ("zh", "zh-1", "coffee-chelsea",
     "右图中有一只狗。",
     "There is a dog in the right image.", False, "Animals", "狗"),
    # en: NLVR2 (validation) in the same dataset and schema, split `en` (the reference's nlvr2 task)
    ("en", "en-0", "coffee-chelsea",
     "The left image contains a cup of coffee and the right image contains a cat.",
     "The left image contains a cup of coffee and the right image contains a cat.", True,
     "NLVR2", "coffee"),
    ("en", "en-1", "camera-grace_hopper",
     "Both images show a man standing behind a camera.",
     "Both images show a man standing behind a camera.", False, "NLVR2", "camera"),
]

MARVL_PROMPT = "<image>\nDoes the content of the image support the given text? Text: {h}\nOptions: (a) false (b) true"


def marvl() -> None:
    folder = HERE / "marvl"
    for pair, (left, right) in MARVL_PAIRS.items():
        stack(left, right, folder / "images" / f"{pair}.h.jpg", horizontal=True)
        stack(left, right, folder / "images" / f"{pair}.v.jpg", horizontal=False)
    rows = [
        (split, {
            "id": rid,
            "image": f"images/{pair}.h.jpg",
            "conversations": [
                {"from": "human", "value": MARVL_PROMPT.format(h=hyp)},
                {"from": "gpt", "value": "true" if label else "false"},
            ],
        })
        for split, rid, pair, hyp, _en, label, _ch, _co in MARVL_ROWS
    ]
    write("marvl", rows, ["image"])

    # floschne/marvl shape (what the earliest Pangea code read the stacked pair from)
    alt = folder / "floschne_marvl"
    alt.mkdir(exist_ok=True)
    with (alt / "data.jsonl").open("w", encoding="utf-8") as fh:
        for split, rid, pair, hyp, hyp_en, label, chapter, concept in MARVL_ROWS:
            left, right = MARVL_PAIRS[pair]
            r = {
                "id": rid,
                "hypothesis": hyp,
                "hypo_en": hyp_en,
                "language": split,
                "label": label,
                "chapter": chapter,
                "concept": concept,
                "annotator_info": {"age": None, "annotator_id": None, "country_of_birth": None,
                                   "country_of_residence": None, "gender": None},
                "left_img_id": left,
                "right_img_id": right,
                "left_img": struct("../" + img(left)),
                "right_img": struct("../" + img(right)),
                "resized_left_img": struct("../" + img(left)),
                "resized_right_img": struct("../" + img(right)),
                "vertically_stacked_img": struct(f"../images/{pair}.v.jpg"),
                "horizontally_stacked_img": struct(f"../images/{pair}.h.jpg"),
            }
            fh.write(json.dumps(_nfc(r), ensure_ascii=False) + "\n")


# --- xgqa: neulab/PangeaBench-xgqa (copy of floschne/xgqa) -----------------------------------

def xgqa() -> None:
    def row(q, a, full, image_id, name):
        return {"question": q, "answer": a, "full_answer": full, "image_id": image_id, "image": struct(img(name))}

    rows = [
        ("ko", row("숟가락은 컵의 오른쪽에 있나요?", "yes", "Yes, the spoon is to the right of the cup.", "n9000001", "coffee")),
        ("ko", row("이 동물은 무엇인가요?", "cat", "The animal is a cat.", "n9000002", "chelsea")),
        ("ru", row("Какого цвета ракета?", "white", "The rocket is white.", "n9000003", "rocket")),
        ("ru", row("Мужчина в шляпе?", "no", "No, the man is not wearing a hat.", "n9000004", "camera")),
        ("de", row("Welche Farbe hat der Anzug?", "orange", "The suit is orange.", "n9000005", "astronaut")),
        ("de", row("Steht die Tasse auf einer Untertasse?", "yes", "Yes, the cup is on a saucer.", "n9000001", "coffee")),
    ]
    write("xgqa", rows, ["image"])


# --- maxm: neulab/PangeaBench-maxm (copy of floschne/maxm) -----------------------------------

def maxm() -> None:
    def row(lang, name, n, q, answers, processed, captions):
        return {
            "image_id": HEX[name],
            "image_url": f"https://scikit-image.org/docs/stable/api/skimage.data.html ({name})",
            "image": struct(img(name)),
            "image_locale": "en",
            "image_captions": captions,
            "question_id": f"{HEX[name]}-{lang}-{n}",
            "question": q,
            "answers": answers,
            "processed_answers": processed,
            "language": lang,
            "is_collection": False,
            "method": "manual",
        }

    th_coffee = ["ถ้วยเอสเปรสโซสีแดงวางอยู่บนจานรองบนโต๊ะไม้", "ถ้วยกาแฟสีแดงกับช้อนสีเงินบนจานรอง"]
    fr_rocket = ["Une fusée blanche sur son pas de tir au crépuscule.", "Une fusée entourée de hautes tours métalliques."]
    fr_cat = ["Gros plan sur un chat tigré aux yeux verts."]
    zh_hubble = ["黑色太空中散布着成千上万个星系。"]
    zh_rocket = ["黄昏时分，一枚白色火箭矗立在发射台上。"]
    rows = [
        ("th", row("th", "coffee", 0, "ถ้วยกาแฟเป็นสีอะไร", ["สีแดง", "แดง"], ["สีแดง", "แดง"], th_coffee)),
        ("th", row("th", "coffee", 1, "มีช้อนวางอยู่บนจานรองหรือไม่", ["มี", "ใช่"], ["มี", "ใช่"], th_coffee)),
        ("fr", row("fr", "rocket", 0, "Que voit-on au centre de la photo ?",
                   ["une fusée", "fusée", "une fusée sur son pas de tir"],
                   ["une fusée", "fusée", "une fusée sur son pas de tir"], fr_rocket)),
        ("fr", row("fr", "chelsea", 0, "Quel animal voit-on sur la photo ?", ["un chat", "chat"], ["un chat", "chat"], fr_cat)),
        ("zh", row("zh", "hubble_deep_field", 0, "图片中是什么？", ["星系", "许多星系", "太空"], ["星系", "许多星系", "太空"], zh_hubble)),
        ("zh", row("zh", "rocket", 0, "火箭是什么颜色的？", ["白色", "白"], ["白色", "白"], zh_rocket)),
    ]
    write("maxm", rows, ["image"])


# --- xmmmu: neulab/PangeaBench-xmmmu ---------------------------------------------------------

def xmmmu() -> None:
    def row(rid, question, options, answer, qtype, images, subfield, img_type, difficulty="Easy"):
        r = {"id": rid, "question": question, "options": options, "explanation": ""}
        for i in range(1, 8):
            r[f"image_{i}"] = img(images[i - 1]) if i <= len(images) else None
        r.update({"img_type": img_type, "answer": answer, "topic_difficulty": difficulty,
                  "question_type": qtype, "subfield": subfield})
        return r

    rows = [
        ("ar", row("validation_Basic_Medical_Science_1001",
                   "<image 1> أيّ جزء من الجسم تُظهره هذه الصورة الطبية؟",
                   "['قاع العين (الشبكية)', 'القلب', 'الرئة', 'الكلية']", "A", "multiple-choice",
                   ["retina"], "Anatomy", "['Medical Images']")),
        ("ar", row("validation_Mechanical_Engineering_1002",
                   "<image 1> كم عدد الأبراج الشبكية المعدنية الظاهرة حول الصاروخ؟",
                   "['2', '3', '4', '5']", "C", "multiple-choice",
                   ["rocket"], "Mechanical Design", "['Photographs']")),
        ("fr", row("validation_Geography_1003",
                   "Voici deux images : <image 1> et <image 2>. Laquelle montre des objets astronomiques ?",
                   "['La première image', 'La seconde image', 'Les deux', 'Aucune des deux']", "B",
                   "multiple-choice", ["chelsea", "hubble_deep_field"], "Physical Geography",
                   "['Photographs']", "Medium")),
        ("fr", row("validation_Art_1004",
                   "<image 1> Combien de personnes voit-on sur cette photographie ?",
                   "[]", "1", "open", ["camera"], "Photography", "['Photographs']")),
        ("ja", row("validation_Agriculture_1005",
                   "<image 1> この写真の飲み物は何ですか？",
                   "['緑茶', 'エスプレッソ', 'オレンジジュース', '牛乳']", "B", "multiple-choice",
                   ["coffee"], "Food Science", "['Photographs']")),
        ("ja", row("validation_Design_1006",
                   "<image 1> 写真の人物が着ている服は何色ですか？",
                   "['青', 'オレンジ', '緑', '黒']", "B", "multiple-choice",
                   ["astronaut"], "Industrial Design", "['Photographs']")),
    ]
    write("xmmmu", rows, [f"image_{i}" for i in range(1, 8)])


# --- m3exam: neulab/PangeaBench-m3exam -------------------------------------------------------

def m3exam() -> None:
    cache: dict[str, str] = {}

    def row(language, category, question, options, answer, images, background=()):
        r = {"language": language, "subject_category": category, "question_text": question,
             "options": options, "answer_text": answer, "background_description": list(background)}
        for i in range(10):
            if i < len(images):
                cache.setdefault(images[i], b64(images[i]))
                r[f"image_{i}"] = cache[images[i]]
            else:
                r[f"image_{i}"] = "None"
        return r

    rows = [
        ("thai", row("thai", "natural-science",
                     "(image)[image-1.png] จากภาพ สิ่งที่ตั้งอยู่กลางภาพคืออะไร",
                     ["(1) เครื่องบิน", "(2) จรวด", "(3) ประภาคาร", "(4) กังหันลม"], "2", ["rocket"])),
        ("thai", row("thai", "natural-science",
                     "(image)[image-1.png] สัตว์ในภาพจัดอยู่ในกลุ่มใด",
                     ["(1) สัตว์เลื้อยคลาน", "(2) สัตว์ปีก", "(3) สัตว์เลี้ยงลูกด้วยนม", "(4) สัตว์สะเทินน้ำสะเทินบก"],
                     "3", ["chelsea"])),
        ("vietnamese", row("vietnamese", "natural-science",
                           "Quan sát hai hình sau: (image)[image-1.png] (image)[image-2.png] Hình nào chụp một con mèo?",
                           ["A. Hình 1", "B. Hình 2", "C. Cả hai hình", "D. Không hình nào"], "B",
                           ["coffee", "chelsea"])),
        ("vietnamese", row("vietnamese", "math",
                           "(image)[image-1.png] Trong hình có bao nhiêu tháp thép bao quanh tên lửa?",
                           ["A. 2", "B. 3", "C. 4", "D. 5"], "C", ["rocket"])),
        ("english", row("english", "social-science",
                        "(image)[image-1.png] The photograph shows a woman in an orange suit. What is her most likely profession?",
                        ["(1) Chef", "(2) Astronaut", "(3) Teacher", "(4) Farmer"], "2", ["astronaut"])),
        ("english", row("english", "math",
                        "(image)[image-1.png] Thandi buys the drink shown in the picture and two more of the same. How much does she pay?",
                        ["(1) R15", "(2) R30", "(3) R45", "(4) R60"], "3", ["coffee"],
                        background=["A café sells one cup of espresso for R15."])),
    ]
    write("m3exam", rows, [])  # image_0 .. image_9 are base64 strings, not paths


# --- m_llava_bench: neulab/PangeaBench-multilingual-llava-bench ------------------------------

def m_llava_bench() -> None:
    captions = {
        "coffee": "A red espresso cup with golden crema on a matching red saucer, a silver teaspoon beside it, on a worn wooden table.",
        "rocket": "A white rocket on a launch pad at dusk, between four lattice towers; yellow lights glow at the base.",
        "chelsea": "Close-up of a brown tabby cat with yellow-green eyes, a pink nose and long white whiskers.",
        "camera": "Black-and-white photo of a young man in a long dark coat and gloves looking through a camera on a tripod in a grassy field; buildings and a dome on the horizon.",
        "hubble_deep_field": "Hubble eXtreme Deep Field: thousands of galaxies of different shapes and colours on a black background.",
        "astronaut": "Official NASA portrait of a smiling astronaut in an orange launch suit, a helmet in front of her, the US flag and a space shuttle model behind her.",
    }
    qid = {"coffee": 0, "rocket": 1, "chelsea": 2, "camera": 3, "hubble_deep_field": 4, "astronaut": 5}

    def row(name, question, answer, category):
        return {"question_id": qid[name], "image": img(name), "question": question, "caption": captions[name],
                "image_id": name, "gpt_answer": answer, "category": category}

    rows = [
        ("ar", row("coffee", "ما الموجود داخل الفنجان؟",
                   "يحتوي الفنجان على قهوة إسبريسو تعلوها رغوة ذهبية (كريما). الفنجان أحمر اللون وموضوع على صحن أحمر، وبجانبه ملعقة صغيرة فضية.",
                   "conv")),
        ("ar", row("rocket", "صف هذه الصورة بالتفصيل.",
                   "تُظهر الصورة صاروخًا أبيض طويلًا قائمًا على منصة إطلاق عند الغسق. يحيط به أربعة أبراج شبكية معدنية: برجان طويلان على الطرفين وبرجان أقرب إلى الصاروخ. السماء زرقاء داكنة، وتتلألأ أضواء صفراء عند قاعدة المنصة.",
                   "detail")),
        ("ru", row("chelsea", "Какого цвета глаза у кошки?",
                   "У кошки жёлто-зелёные глаза.", "conv")),
        ("ru", row("camera", "Чем, скорее всего, занимается этот человек и зачем ему штатив?",
                   "Мужчина, по всей видимости, фотографирует или снимает что-то вдали на открытом поле. Штатив держит камеру неподвижно, поэтому кадр получается чётким, без смазывания, особенно при длинной выдержке или при съёмке удалённых объектов.",
                   "complex")),
        ("zh", row("hubble_deep_field", "请详细描述这张图片。",
                   "这张图片展示了漆黑的太空中分布着成千上万个星系。它们大小不一、颜色各异：有的呈红色或橙色的椭圆形，有的是蓝白色的旋涡状。这看起来是哈勃空间望远镜拍摄的深空视场。",
                   "detail")),
        ("zh", row("astronaut", "照片中的人可能从事什么职业？请说明理由。",
                   "她很可能是一名宇航员。她身穿橙色的航天服，面前放着头盔，背景里有美国国旗和航天飞机模型，这些都是美国宇航局宇航员官方肖像的典型元素。",
                   "complex")),
    ]
    write("m_llava_bench", rows, ["image"])


# --- xchatbench: neulab/PangeaBench-xchat ----------------------------------------------------

def rubric(criteria, s1, s2, s3, s4, s5):
    return {"criteria": criteria, "score1_description": s1, "score2_description": s2,
            "score3_description": s3, "score4_description": s4, "score5_description": s5}


RUBRIC_RETINA = rubric(
    "Does the response correctly identify the optic disc, the retinal blood vessels and the macula in the fundus photograph and explain the function of each?",
    "The response recognises an eye or a medical image but names none of the structures correctly.",
    "The response names one structure (for example the blood vessels) but not its function, or confuses the optic disc with the macula.",
    "The response identifies two of the three structures with a basic explanation of their functions.",
    "The response identifies the optic disc, the vessels and the macula and explains their functions, but misses a detail such as the blind spot or the fovea.",
    "The response identifies all three structures, explains each function accurately, and mentions details such as the blind spot at the optic disc and the fovea at the centre of the macula.")
RUBRIC_ROCKET = rubric(
    "Does the response revise the initial inference appropriately when the new information is added?",
    "The response ignores the added information and simply repeats that the rocket is about to launch.",
    "The response mentions the added information but draws an unsupported conclusion from it.",
    "The response weakens the inference but does not explain why the absence of people and the time of day are not decisive.",
    "The response explains that an evacuated pad is normal before a launch and that launches also happen at dusk, but does not say what evidence would settle the question.",
    "The response explains why neither fact settles the question, weakens the conclusion to a likely but uncertain launch, and names evidence (exhaust, flame, countdown) that would settle it.")
RUBRIC_HUBBLE = rubric(
    "Does the response explain that the objects are galaxies and give correct reasons for their different colours?",
    "The response calls the objects stars or planets and gives no reason for the colours.",
    "The response says the objects are galaxies but gives an incorrect reason for the colours.",
    "The response says the objects are galaxies and gives one correct reason for the colours (stellar populations or redshift).",
    "The response gives both reasons (young hot stars versus old cool stars, and cosmological redshift) but does not mention foreground stars.",
    "The response explains that nearly every object is a galaxy, gives both reasons for the colours and notes the few foreground stars with diffraction spikes.")
RUBRIC_CAMERA = rubric(
    "Does the response analyse the composition and tonal choices of the photograph?",
    "The response describes the content of the photograph without any analysis of composition or tone.",
    "The response mentions one compositional element but misreads it or does not relate it to the effect.",
    "The response discusses the placement of the subject and the black-and-white tones, with limited explanation of their effect.",
    "The response analyses the off-centre subject, the tripod lines and the tonal contrast, but misses the role of the low horizon and open space.",
    "The response analyses subject placement, leading lines of the tripod, the low horizon and open space, and how the grey scale emphasises the dark coat against the bright sky.")
RUBRIC_CAT = rubric(
    "Does the response explain the meaning of the idiom correctly and relate it to the photograph?",
    "The response translates the idiom literally without explaining its meaning.",
    "The response explains the idiom partly or incorrectly, or does not connect it to the photograph.",
    "The response explains the idiom correctly but relates it to the photograph only superficially.",
    "The response explains the idiom and relates it to the cat in the photograph, but misses the exaggeration or the humour.",
    "The response explains the idiom (being so busy that one would accept help even from a cat), relates it to the photograph and explains the exaggeration and the contrast with the calm cat.")
RUBRIC_COFFEE = rubric(
    "Does the response use the visual evidence to test the inference that someone has just finished the coffee?",
    "The response accepts the inference without looking at the cup.",
    "The response questions the inference but cites no visual evidence.",
    "The response notes that the cup is still full, but does not draw a clear conclusion.",
    "The response notes the full cup and the crema and rejects the inference, but ignores the unused spoon.",
    "The response rejects the inference using the nearly full cup, the intact crema and the unused spoon, and states the more likely alternative that the coffee has not been drunk yet.")

SYSTEM = "You are helpful visual-language assistant."


def xchatbench() -> None:
    def row(task, idx, name, text, reference, rub, checklist, caption):
        return {"capability": "vision", "task": task, "instance_idx": idx, "system_prompt": SYSTEM,
                "input": text, "reference_answer": reference, "score_rubric": rub,
                "atomic_checklist": checklist, "background_knowledge": [], "caption": caption,
                "image": img(name)}

    rows = [
        ("korean", row("science_figure_explanation", 0, "retina",
                       "의학 교과서에 실린 이 사진에서 주요 구조들을 찾아 이름을 말하고, 각 구조의 기능을 설명해 주세요.",
                       "이 사진은 눈의 안쪽 바닥을 찍은 안저 사진입니다. 왼쪽의 밝은 노란색 원형 부분은 시신경 유두로, 망막의 신경섬유가 모여 시신경이 되어 눈을 빠져나가는 곳입니다. 이곳에는 빛을 감지하는 세포가 없어서 맹점이 됩니다. 시신경 유두에서 뻗어 나가는 붉은 혈관들은 망막 동맥과 정맥으로, 망막에 산소와 영양분을 공급하고 노폐물을 운반합니다. 사진 가운데의 약간 어두운 부분은 황반이며, 그 중심에 있는 중심와에는 원뿔세포가 빽빽하게 모여 있어 가장 선명한 시력과 색각을 담당합니다.",
                       RUBRIC_RETINA,
                       ["Does the response identify the bright yellow disc as the optic disc?",
                        "Does the response explain that the optic disc is where the optic nerve leaves the eye and forms the blind spot?",
                        "Does the response identify the branching red lines as retinal arteries and veins that supply the retina?",
                        "Does the response identify the darker central area as the macula with the fovea responsible for sharp central vision?"],
                       "A colour fundus photograph of a healthy left eye: an orange-red retina, a bright yellow optic disc on the left with branching arteries and veins, a darker macula near the centre, all inside a black circular frame.")),
        ("korean", row("defeasible_reasoning", 0, "rocket",
                       "이 사진만 보면 로켓이 곧 발사될 것처럼 보입니다. 그런데 사진이 해 질 녘에 찍혔고 발사대 주변에 사람이 한 명도 보이지 않는다는 정보가 더해진다면, 이 추론은 어떻게 달라질까요? 이유와 함께 설명해 주세요.",
                       "사진에는 격자형 탑 사이의 발사대에 흰색 로켓이 수직으로 서 있고 조명이 켜져 있어, 처음에는 발사가 임박했다고 추론하기 쉽습니다. 하지만 발사 직전에는 안전을 위해 발사대 주변의 인원이 모두 철수하므로, 사람이 보이지 않는다는 사실은 발사 준비와 모순되지 않습니다. 해 질 녘이라는 점도 결정적이지 않습니다. 로켓은 목표 궤도와 발사 가능 시간대에 따라 저녁이나 밤에도 발사되기 때문입니다. 따라서 두 정보만으로는 발사가 곧 이루어진다고 단정할 수 없고, 배기 연기나 화염, 카운트다운 같은 단서가 없으므로 '발사를 앞두고 대기 중일 가능성이 높지만 확실하지는 않다'는 정도로 결론을 약하게 바꾸는 것이 적절합니다.",
                       RUBRIC_ROCKET,
                       ["Does the response note that the rocket stands upright on the pad with the lights on?",
                        "Does the response explain that launch pads are evacuated before a launch?",
                        "Does the response explain that launches can happen at dusk or at night?",
                        "Does the response weaken the conclusion instead of confirming or rejecting it outright?"],
                       "A white rocket standing on a launch pad at dusk between lattice lightning towers, lights glowing at its base.")),
        ("english", row("science_figure_explanation", 1, "hubble_deep_field",
                        "This image was taken by a space telescope. Explain what the objects in it are and why some of them look red while others look blue.",
                        "Almost every point of light in this deep-field image is a distant galaxy, not a star. The colours have two main causes. Blue-white galaxies, often spiral or irregular, are full of young, hot, massive stars that shine mostly in blue light. Red or orange ones are either elliptical galaxies dominated by old, cool stars, or very distant galaxies whose light has been stretched to longer, redder wavelengths by the expansion of the universe (cosmological redshift); some of those we see as they were billions of years ago. The few objects with sharp cross-shaped diffraction spikes are foreground stars in our own Milky Way.",
                        RUBRIC_HUBBLE,
                        ["Does the response identify most objects as galaxies?",
                         "Does the response link blue colours to young, hot stars?",
                         "Does the response link red colours to old stars or to cosmological redshift?",
                         "Does the response mention foreground stars with diffraction spikes?"],
                        "The Hubble eXtreme Deep Field: thousands of galaxies of different shapes, sizes and colours scattered across a black background.")),
        ("english", row("art_explanation", 0, "camera",
                        "Explain how the photographer used composition and tone in this black-and-white photograph.",
                        "The photographer sets the subject, a man bent over a camera on a tripod, in the left half of the frame, leaving open space to the right in the direction he is looking, which gives the picture a sense of purpose and depth. The splayed legs of the tripod form strong diagonal lines that lead the eye up to the camera and the man's face. A low horizon with small distant buildings and a dome makes the field feel wide and places the figure against a large, bright sky. In black and white, the dark coat stands out sharply against the pale sky and the mid-grey grass, so tonal contrast rather than colour separates the subject from the background.",
                        RUBRIC_CAMERA,
                        ["Does the response discuss the off-centre placement of the man?",
                         "Does the response mention the tripod legs as leading lines?",
                         "Does the response mention the low horizon or open space?",
                         "Does the response explain the tonal contrast between the dark coat and the bright sky?"],
                        "Black-and-white photo of a young man in a long dark coat and gloves bending to look through a camera on a tripod in a grassy field; buildings and a dome on the horizon.")),
        ("japanese", row("figurative_speech_explanation", 0, "chelsea",
                         "「猫の手も借りたい」という日本語の表現を、この写真と関連づけて説明してください。",
                         "「猫の手も借りたい」は、とても忙しくて、誰でもいいから手伝ってほしいという意味のことわざです。写真には緑がかった黄色の目をしたトラ柄の猫が写っていますが、猫は人間の仕事を手伝うことはできません。そんな猫の手でさえ借りたいほど忙しい、という誇張がこの表現の面白さです。写真の猫がのんびりとカメラの方を見ている様子は、忙しい人間との対比になっていて、表現のユーモアを一層引き立てています。",
                         RUBRIC_CAT,
                         ["Does the response explain that the idiom means being extremely busy?",
                          "Does the response point out that a cat cannot actually help with work?",
                          "Does the response relate the idiom to the cat in the photograph?",
                          "Does the response mention the contrast between the calm cat and a busy person?"],
                         "Close-up of a brown tabby cat with yellow-green eyes, a pink nose and long white whiskers, looking slightly past the camera.")),
        ("japanese", row("defeasible_reasoning", 1, "coffee",
                         "この写真だけを見ると、誰かがコーヒーを飲み終えたところだと思うかもしれません。写真の様子から、この推論は正しいと言えますか？",
                         "いいえ、正しいとは言えません。カップにはクレマが浮いたエスプレッソがまだほぼいっぱいに入っていて、スプーンも使われないままソーサーの上に置かれています。したがって、飲み終えたところではなく、まだ飲み始めていない可能性の方が高いと考えられます。",
                         RUBRIC_COFFEE,
                         ["Does the response note that the cup is nearly full?",
                          "Does the response mention the crema on the espresso?",
                          "Does the response mention the unused spoon on the saucer?",
                          "Does the response conclude that the coffee has probably not been drunk yet?"],
                         "A red espresso cup with golden crema on a matching red saucer, a silver teaspoon beside it, on a worn wooden table.")),
    ]
    write("xchatbench", rows, ["image"])


def main() -> None:
    for build in (xm3600, xm100, cvqa, marvl, xgqa, maxm, xmmmu, m3exam, m_llava_bench, xchatbench):
        build()


if __name__ == "__main__":
    main()
