"""Text normalisation shared by every scorer."""

import unicodedata


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)
