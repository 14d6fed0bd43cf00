"""The PTBLexer.flex macros (CoreNLP v3.4.1) as POSIX `regex` patterns, for `reference_ptb`.

Written from the lexer's specification: `%caseless` widens literal letters only (`_ci`), never
character classes; `[:letter:]`, `[:digit:]`, `[:uppercase:]` are Java 8's Unicode 6.2 classes
(`reference_ptb_tables`). Names follow the lexer's macros.
"""

from __future__ import annotations

import regex

from mella_eval.protocols.reference_ptb_tables import DIGITS, LETTERS, UPPERCASE, char_class

def _ci(word: str) -> str:
    """A literal under JFlex %caseless: each cased letter matches its upper and lower forms."""
    out = []
    for ch in word:
        variants = {ch, ch.lower(), ch.upper()}
        out.append("[" + "".join(sorted(variants)) + "]" if len(variants) > 1 else regex.escape(ch))
    return "".join(out)


def _alt(*words: str) -> str:
    return "(?:" + "|".join(words) + ")"


def _cis(*words: str) -> str:
    return _alt(*(_ci(w) for w in words))


# ---------------------------------------------------------------- macros (PTBLexer.flex names)
# Java 8's isLetter / isDigit / isUpperCase (Unicode 6.2, BMP only: surrogates match none).
LETTER_CLASS = char_class(LETTERS)
DIGIT_CLASS = char_class(DIGITS)  # includes NKo U+07C0-U+07C9, which the lexer adds to DIGIT
UPPER_CLASS = char_class(UPPERCASE)
SPLET = "&[aeiouAEIOU]" + _cis("acute", "grave", "uml") + ";"
NAME = r"[A-Za-z][A-Za-z0-9_:.\-]*"
SGML = (r"<(?:[!?][A-Za-z\-][^>\r\n]*|" + NAME + r"(?:[ ]+(?:" + NAME + "|" + NAME
        + r"""[ ]*=[ ]*(?:'[^']*'|"[^"]*")))*[ ]*/?|/""" + NAME + r")[ ]*>")
SPMDASH = "(?:&" + _cis("MD", "mdash", "ndash") + ";|[\u0096\u0097\u2013\u2014\u2015])"
SPAMP = _ci("&amp;")
SPPUNC = "&(?:" + _cis("HT", "TL", "UR", "LR", "QC", "QL", "QR", "odq", "cdq") + "|#[0-9]+);"
SPACE = "[ \t\u00A0\u2000-\u200A\u3000]"
NEWLINE = "(?:\r\n|[\r\n\u2028\u2029\u000B\u000C\u0085])"
SPACENL = "(?:" + SPACE + "|" + NEWLINE + ")"
SENTEND = SPACENL + "(?:" + SPACENL + "|[" + UPPER_CLASS + "]|" + SGML + ")"
DIGIT = "[" + DIGIT_CLASS + "]"
DATE = DIGIT + r"{1,2}[\-/]" + DIGIT + r"{1,2}[\-/]" + DIGIT + "{2,4}"
NUM = "(?:" + DIGIT + "+|" + DIGIT + "*(?:[.:,\u00AD\u066B\u066C]" + DIGIT + "+)+)"
NUMBER = r"[\-+]?" + NUM
SUBSUPNUM = ("[\u207A\u207B\u208A\u208B]?(?:[\u2070\u00B9\u00B2\u00B3\u2074-\u2079]+"
             "|[\u2080-\u2089]+)")
FRAC = "(?:" + DIGIT + "{1,4}[- \u00A0])?" + DIGIT + r"{1,4}(?:\\?/|\u2044)" + DIGIT + "{1,4}"
FRAC2 = "[\u00BC\u00BD\u00BE\u2153-\u215E]"
DOLSIGN = r"(?:[A-Z]*\$|#)"
DOLSIGN2 = "[\u00A2\u00A3\u00A4\u00A5\u0080\u20A0\u20AC\u060B\u0E3F\u20A4\uFFE0\uFFE1\uFFE5\uFFE6]"
# Combining marks and letters Java did not count as letters, listed in the lexer's LETTER.
LETTER_EXTRA = ("\u00AD\u0237-\u024F\u02C2-\u02C5\u02D2-\u02DF\u02E5-\u02FF\u0300-\u036F"
                "\u0370-\u037D\u0384\u0385\u03CF\u03F6\u03FC-\u03FF\u0483-\u0487\u04CF"
                "\u04F6-\u04FF\u0510-\u0525\u055A-\u055F\u0591-\u05BD\u05BF\u05C1\u05C2\u05C4"
                "\u05C5\u05C7\u0615-\u061A\u063B-\u063F\u064B-\u065E\u0670\u06D6-\u06EF"
                "\u06FA-\u06FF\u070F\u0711\u0730-\u074F\u0750-\u077F\u07A6-\u07B1\u07CA-\u07F5"
                "\u07FA\u0900-\u0903\u093C\u093E-\u094E\u0951-\u0955\u0962-\u0963\u0981-\u0983"
                "\u09BC-\u09C4\u09C7\u09C8\u09CB-\u09CD\u09D7\u09E2\u09E3\u0A01-\u0A03\u0A3C"
                "\u0A3E-\u0A4F\u0A81-\u0A83\u0ABC-\u0ACF\u0B82\u0BBE-\u0BC2\u0BC6-\u0BC8"
                "\u0BCA-\u0BCD\u0C01-\u0C03\u0C3E-\u0C56\u0D3E-\u0D44\u0D46-\u0D48\u0E30-\u0E3A"
                "\u0E47-\u0E4E\u0EB1-\u0EBC\u0EC8-\u0ECD")
LETTER = "(?:[" + LETTER_CLASS + LETTER_EXTRA + "]|" + SPLET + ")"
LETDIG = "(?:" + LETTER + "|" + DIGIT + ")"
WORD = LETTER + LETDIG + "*(?:[.!?]" + LETTER + LETDIG + "*)*"
FILENAME_EXT = _cis("bat", "bmp", "c", "class", "cgi", "cpp", "dll", "doc", "docx", "exe", "gif",
                    "gz", "h", "htm", "html", "jar", "java", "jpeg", "jpg", "mov", "mp3", "pdf",
                    "php", "pl", "png", "ppt", "ps", "py", "sql", "tar", "txt", "wav", "x", "xml",
                    "zip")
FILENAME = LETDIG + "+(?:[.]" + LETDIG + "+)*(?:[.]" + FILENAME_EXT + ")"
APOS = "(?:['\u0092\u2019]|" + _ci("&apos;") + ")"
APOSETCETERA = "(?:" + APOS + "|[`\u0091\u2018\u201B])"
HYPHEN = "[-_\u058A\u2010\u2011]"
JLETDIG = "[" + LETTER_CLASS + DIGIT_CLASS + "]"  # [:letter:]|[:digit:]
THING = ("(?:[dDoOlL]" + APOSETCETERA + JLETDIG + ")?" + JLETDIG + "+(?:" + HYPHEN
         + "(?:[dDoOlL]" + APOSETCETERA + JLETDIG + ")?" + JLETDIG + "+)*")
THINGA = "[A-Z]+(?:(?:[+&]|" + SPAMP + ")[A-Z]+)+"
THING3 = r"[A-Za-z0-9]+(?:-[A-Za-z]+){0,2}(?:\\?/[A-Za-z0-9]+(?:-[A-Za-z]+){0,2}){1,2}"
ACRO_SPECIAL = ("(?:" + _cis("Canada", "Sino", "Korean", "EU", "Japan", "non") + "-" + _ci("U.S")
                + "|" + _ci("U.S.-") + _alt(_ci("U.K"), _ci("U.S.S.R")) + ")")
ACRO = r"(?:[A-Za-z](?:\.[A-Za-z])*|" + ACRO_SPECIAL + ")"
ACRO2 = r"(?:[A-Za-z](?:\.[A-Za-z])+|" + ACRO_SPECIAL + ")"
HTHING = r"[A-Za-z0-9][A-Za-z0-9.,\u00AD]*(?:-(?:[A-Za-z0-9\u00AD]+|" + ACRO2 + r"\.))+"
REDAUX = APOS + "(?:[msdMSD]|" + _cis("re", "ve", "ll") + ")"
SWORD = "[A-Za-z\u00AD]*[A-MO-Za-mo-z]\u00AD*"
SREDAUX = _ci("n") + APOSETCETERA + _ci("t")
L = "[" + LETTER_CLASS + "]"
APOWORD = _alt(
    APOS + _ci("n") + APOS + "?", "[lLdDjJ]" + APOS, *(_ci(w) + APOS for w in
                                                        ("Dunkin", "somethin", "ol")),
    APOS + _ci("em"), "[A-HJ-XZn]" + APOSETCETERA + L + "{2}" + L + "*",
    APOS + "[2-9]0" + _ci("s"), APOS + _ci("til") + _ci("l") + "?",
    L + L + "*[aeiouyAEIOUY]" + APOSETCETERA + "[aeiouA-Z]" + L + "*", APOS + _ci("cause"),
    _ci("cont'd") + r"\.?", *(_ci(w) for w in ("'twas", "nor'easter", "c'mon", "e'er",
                                               "s'mores", "ev'ry", "li'l", "nat'l")),
    _ci("O") + APOSETCETERA + _ci("o"))
APOWORD2 = _ci("y") + APOS
FULLURL = _ci("http") + _ci("s") + r"?://[^ \t\n\f\r\"<>|(){}]+[^ \t\n\f\r\"<>|.!?(){},-]"
# [^...,-_$]: ",-_" is a range in the lexer's class (0x2C-0x5F: digits, A-Z, ./:;<=>?@[\]^).
LIKELYURL = (r"(?:(?:" + _ci("www") + r"\.(?:[^ \t\n\f\r\"<>|.!?(){},]+\.)+[a-zA-Z]{2,4})|"
             r"(?:(?:[^ \t\n\f\r\"`'<>|.!?(){},-_$]+\.)+" + _cis("com", "net", "org", "edu")
             + r"))(?:/[^ \t\n\f\r\"<>|()]+[^ \t\n\f\r\"<>|.!?(){},-])?")
EMAIL = ("(?:" + _ci("&lt;") + "|<)?[a-zA-Z0-9][^ \t\n\f\r\"<>|()\u00A0{}]*@"
         "(?:[^ \t\n\f\r\"<>|(){}.\u00A0]+\\.)*(?:[^ \t\n\f\r\"<>|(){}.\u00A0]+)(?:"
         + _ci("&gt;") + "|>)?")
TWITTER = "(?:@[a-zA-Z_][a-zA-Z_0-9]*|#" + LETTER + "+)"
ABMONTH = _cis("Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec")
ABDAYS = _cis("Mon", "Tue", "Tues", "Wed", "Thu", "Thurs", "Fri")


def _first_upper(word: str) -> str:
    """`[A]rk`: a class (case-sensitive) then caseless letters."""
    return "[" + word[0] + "]" + _ci(word[1:])


ABSTATE = _alt(*(_first_upper(w[1:]) if w.startswith("^") else _ci(w) for w in (
    "Ala", "Ariz", "^Az", "^Ark", "Calif", "Colo", "Conn", "Ct", "Dak", "^Del", "Fla", "Ga", "^Ill",
    "Ind", "Kan", "Kans", "Ky", "^La", "^Mass", "Md", "Mich", "Minn", "^Miss", "Mo", "Mont",
    "Neb", "Nev", "Okla", "^Ore", "^Pa", "Penn", "Tenn", "^Tex", "Va", "Vt", "^Wash", "Wis",
    "Wisc", "Wyo")))
ABCOMP = _alt(_ci("Inc"), _ci("Co") + _ci("s") + "?", _ci("Corp"),
              _ci("P") + _ci("p") + "?" + _ci("t") + "[ye]" + _ci("s") + "?",
              *(_ci(w) for w in ("Ltd", "Plc", "Rt", "Bancorp", "Bhd", "Assn", "Univ", "Intl",
                                 "Sys")))
ABNUM = _cis("tel", "est", "ext", "sq")
ABPTIT = _alt(_ci("Jr"), _ci("Sr"), _ci("Bros"), _cis("Ed", "Ph") + r"\." + _ci("D"),
              *(_ci(w) for w in ("Blvd", "Rd", "Esq")))
ABBREV1 = (_alt(ABMONTH, ABDAYS, ABSTATE, ABCOMP, ABNUM, ABPTIT, _cis("etc", "al", "seq", "Bldg"))
           + r"\.")


def _opt_s(word: str) -> str:
    return _ci(word) + _ci("s") + "?"


ABTITLE = _alt(
    _ci("Mr"), _ci("Mrs"), _ci("Ms"), _first_upper("Miss"), _opt_s("Dr"), _opt_s("Prof"),
    _opt_s("Sen"), _opt_s("Rep"), _opt_s("Atty"), *(_ci(w) for w in (
        "Lt", "Col", "Gen", "Messrs")), _opt_s("Gov"), *(_ci(w) for w in (
        "Adm", "Rev", "Maj", "Sgt", "Cpl", "Pvt", "Capt")), _ci("St") + _ci("e") + "?",
    *(_ci(w) for w in ("Ave", "Pres", "Lieut", "Hon", "Brig")),
    _ci("C") + _ci("o") + "?" + _ci("mdr"), _ci("Pfc"), _ci("Spc"), _opt_s("Supt"),
    *(_ci(w) for w in ("Det", "Mt", "Ft", "Adj", "Adv", "Asst", "Assoc", "Ens", "Insp", "Mlle",
                       "Mme", "Msgr", "Sfc")))
ABCOMP2 = _alt(_ci("Invt"), _ci("Elec"), _ci("Natl"), _ci("M") + "[ft]" + _ci("g"), _ci("Dept"))
ABBREV4 = _alt(ABTITLE, *(_ci(w) for w in ("vs", "Alex", "Wm", "Jos", "Cie", "a.k.a", "cf",
                                           "TREAS", "Ph")), ACRO, ABCOMP2)
ABBREV2 = ABBREV4 + r"\."
ACRONYM = ACRO + r"\."
ABBREV3 = _cis("ca", "fig", "figs", "prop", "no", "nos", "art", "bldg", "pp", "op") + r"\."
PHONE = (r"(?:\([0-9]{2,3}\)[ \u00A0]?|(?:\+\+?)?(?:[0-9]{2,4}[\- \u00A0])?[0-9]{2,4}"
         r"[\- \u00A0])[0-9]{3,4}[\- \u00A0]?[0-9]{3,5}|(?:(?:\+\+?)?[0-9]{2,4}\.)?[0-9]{2,4}\."
         r"[0-9]{3,4}\.[0-9]{3,5}")
LDOTS = r"(?:\.{3,5}|(?:\.[ \u00A0]){2,4}\.|[\u0085\u2026])"
QUOTES = ("(?:" + APOS + "|''|[`\u2018\u2019\u201A\u201B\u201C\u201D\u0091\u0092\u0093\u0094"
          "\u201E\u201F\u2039\u203A\u00AB\u00BB]{1,2})")
DBLQUOT = '(?:"|' + _ci("&quot;") + ")"
TBSPEC = _alt("-" + _cis("RRB", "LRB", "RCB", "LCB", "RSB", "LSB") + "-", _ci("C.D.s"), _ci("pro-"),
              _ci("anti-"), _ci("S") + "(?:&|" + SPAMP + ")" + _ci("P-500"),
              _ci("S") + "(?:&|" + SPAMP + ")" + _ci("Ls"), _ci("Cap") + APOS + _ci("n"),
              _ci("c") + APOS + _ci("est"))
TBSPEC2 = APOS + "[0-9][0-9]"
SMILEY = r"[<>]?[:;=][\-o*']?[()DPdpO\\{@|\[\]]"
X = _ci("x")
ASIANSMILEY = _alt(
    r"[\^x=~<>]\.\[\^" + X + r"=~<>\]", r"[\-\^x=~<>']_[\-\^x=~<>']",
    r"\([\-\^x=~<>'][_.]?[\-\^x=~<>']\)", r"\([\^x=~<>']-[\^x=~<>'`]\)")
MISCSYMBOL = ("[+%&~\\^|\\\\\u00A6\u00A7\u00A8\u00A9\u00AC\u00AE\u00AF\u00B0-\u00BA\u00D7\u00F7"
              "\u0387\u05BE\u05C0\u05C3\u05C6\u05F3\u05F4\u0600-\u0603\u0606-\u060A\u060C\u0614"
              "\u061B\u061E\u066A\u066D\u0703-\u070D\u07F6\u07F7\u07F8\u0964\u0965\u0E4F\u1FBD"
              "\u2016\u2017\u2020-\u2023\u2030-\u2038\u203B\u203E-\u2042\u2044\u207A-\u207F"
              "\u208A-\u208E\u2100-\u214F\u2190-\u21FF\u2200-\u2BFF\u3012\u30FB\uFF01-\uFF0F"
              "\uFF1A-\uFF20\uFF3B-\uFF40\uFF5B-\uFF65]")
INSENTP = "[,;:\u3001]"
ACRONYM_NEXT = _alt(*("[" + w[0] + "]" + _ci(w[1:]) for w in (
    "About", "According", "Additionally", "After", "An", "A", "As", "At", "But", "Earlier", "He",
    "Her", "Here", "However", "If", "In", "It", "Last", "Many", "More", "Mr.", "Ms.", "Now",
    "Once", "One", "Other", "Our", "She", "Since", "So", "Some", "Such", "That", "The", "Their",
    "Then", "There", "These", "They", "This", "We", "When", "While", "What", "Yet", "You")), SGML)
