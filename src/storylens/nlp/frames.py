"""Attributions framed by a fixed phrase rather than by a verb's clause, found on the text of each sentence.

* a source phrase opening or closing the sentence: "According to Lee, …", "As Lee put it, …", "In Lee's view, …",
  "In the words of Lee,
  …", "…, as Lee said."; «По мнению Волковой, …», «Как заявил Смирнов, …», «По оценке Минфина, …», «…, считает
  Смирнов.» is the verb case of :mod:`attribution`;
* a name and a colon opening a paragraph, the convention of headlines and transcripts: "Baker: the bridge is
  finished", "PENCE: Well, look, …".

Each gives the content (the rest of the sentence), the cue words and the source mention; the caller decides
whether the source is a person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = r"(?:[A-Z\u0410-\u042f\u0401][\w.\u2019'-]*\s+){0,4}[A-Z\u0410-\u042f\u0401][\w\u2019'-]*"
_PRON = r"(?:he|she|they|we|I|он|она|они|мы|я)"
_SRC = rf"(?:(?:the|a|an)\s+)?(?:[\w-]+\s+){{0,5}}?{_NAME}|{_PRON}"
_EN_VERBS = (r"(?:put\s+it|puts\s+it|said|says|noted|notes|explained|explains|wrote|writes|argued|argues|"
             r"observed|observes|recalled|recalls|told\s+\w+|tweeted|added|warned|described\s+it)")
# opening the sentence: "As Lee put it, …"; "In Lee's view, …"; "In the view of Lee, …"
_EN_OPEN = [
    re.compile(rf"^(?P<cue>According\s+to)\s+(?P<src>{_SRC})\s*,\s+"),
    re.compile(rf"^As\s+(?P<src>{_SRC})\s+(?P<cue>{_EN_VERBS})(?:\s+\w+){{0,4}}?\s*,\s+"),
    re.compile(rf"^(?P<cue0>In)\s+(?P<src>{_SRC})(?:['\u2019]s?)\s+(?P<cue>view|opinion|words|estimation|judgment|"
               rf"judgement|telling|account|assessment)\s*,\s+"),
    re.compile(rf"^(?P<cue0>In)\s+the\s+(?P<cue>view|opinion|words|estimation|judgment|assessment)\s+of\s+"
               rf"(?P<src>{_SRC})\s*,\s+"),
]
# closing it: "…, as Lee put it."
_EN_CLOSE = re.compile(rf",\s+as\s+(?P<src>{_SRC})\s+(?P<cue>{_EN_VERBS})(?:\s+\w+){{0,6}}?\s*[.!?]?$")
_RU_WORD = r"[А-ЯЁ][а-яё-]+"
_RU_SRC = rf"(?:[а-яё-]+\s+){{0,4}}?(?:{_RU_WORD}\s+){{0,2}}{_RU_WORD}|[а-яё-]+(?:\s+[а-яё-]+){{0,3}}"
_RU_OPEN = [
    re.compile(rf"^(?P<cue>По\s+(?:мнению|словам|оценке|оценкам|данным|убеждению|признанию|информации))\s+"
               rf"(?P<src>{_RU_SRC})\s*,\s+"),
    re.compile(rf"^(?P<cue>С\s+точки\s+зрения)\s+(?P<src>{_RU_SRC})\s*,\s+"),
    re.compile(r"^Как\s+(?P<cue>[а-яё]+(?:л|ла|ли|ет|ит|ют|ят))\s+(?P<src>" + _RU_SRC + r")\s*,\s+"),
]
_COLON = re.compile(rf"(?P<src>{_NAME})\s*:\s+(?=\S)")


@dataclass(slots=True)
class Framed:
    start: int  # content
    end: int
    cue: tuple[int, int]
    source: tuple[int, int]


def _content_end(text: str, s: int, e: int) -> int:
    while e > s and (text[e - 1].isspace() or text[e - 1] in ".!?;:,"):
        e -= 1
    return e


def sentence_frames(text: str, s: int, e: int, russian: bool) -> list[Framed]:
    """Phrase-framed attributions in the sentence text[s:e]."""
    sent = text[s:e]
    out: list[Framed] = []
    for rx in _RU_OPEN if russian else _EN_OPEN:
        m = rx.match(sent)
        if m is None:
            continue
        cs = s + m.start("cue0") if "cue0" in rx.groupindex and m.group("cue0") else s + m.start("cue")
        ce = _content_end(text, s + m.end(), e)
        if len(re.findall(r"\w+", text[s + m.end():ce])) >= 2:
            out.append(Framed(s + m.end(), ce, (cs, s + m.end("cue")), (s + m.start("src"), s + m.end("src"))))
        return out
    if not russian:
        m = _EN_CLOSE.search(sent)
        if m is not None and len(re.findall(r"\w+", sent[:m.start()])) >= 3:
            out.append(Framed(s, s + m.start(), (s + m.start("cue"), s + m.end("cue")),
                              (s + m.start("src"), s + m.end("src"))))
    return out


def colon_frame(text: str, s: int, e: int) -> Framed | None:
    """"Name: content" opening the paragraph text[s:e] (the caller checks that the name is a person's)."""
    m = _COLON.match(text, s, e)
    if m is None or len(re.findall(r"\w+", text[m.end():e])) < 3:
        return None
    return Framed(m.end(), _content_end(text, m.end(), e), (m.end("src"), m.end("src") + 1),
                  (m.start("src"), m.end("src")))
