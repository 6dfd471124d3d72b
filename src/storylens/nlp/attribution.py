"""Who said what, by rule: quoted segments and reported speech attached to a cue and a speaker mention.

Works on the language-neutral tokens of :mod:`storylens.nlp.backends` (spaCy or natasha dependency parses),
so the English and Russian back ends share one set of rules; only the word lists differ.
Speaker *mentions* are found here; turning them into names (pronouns, roles) is :mod:`speakers`' job.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from storylens.nlp.backends import Tok
from storylens.nlp.frames import Framed, colon_frame, sentence_frames
from storylens.nlp.lexicon import (
    EN_NEEDS_XCOMP,
    EN_PRONOUNS,
    EN_REPORT_NOUNS,
    EN_REPORT_VERBS,
    ROLE_WORDS,
    RU_PRONOUNS,
    RU_PRONOUNS_POSS,
    RU_REPORT_NOUNS,
    RU_REPORT_VERBS,
    RU_ROLE_WORDS,
    is_en_cue,
    is_ru_cue,
)
from storylens.nlp.marks import CLOSERS, Segment

SUBJ = frozenset({"nsubj", "nsubjpass", "nsubj:pass"})
HOP = frozenset({"advcl", "xcomp", "conj", "parataxis", "acl", "dep"})
COMP = frozenset({"ccomp"})
_ADJ_RIGHT = re.compile(r"^[\s,;:\u2013\u2014\u2012-]*$")
_ADJ_LEFT = re.compile(r"[,:\u2013\u2014-]\s*$")
CLOSE_MARKS = CLOSERS + '"'
_SENT_END = frozenset({".", "!", "?", "\u2026"})
_WORD = re.compile(r"\w+")
_REPORTED_MOOD = frozenset({"would", "could", "might", "should"})
_WORD_NOUNS = frozenset({"word", "message", "verdict", "line", "quote", "assessment", "answer", "reply", "response"})
_INNER = re.compile(r"(?P<p>[,.!?\u2026])\s+(?P<d1>[\u2014\u2013])\s+(?P<author>[^\u2014\u2013\u00ab\u00bb\"\u201c\u201d\n]{3,160}?)"
                    r"[,.]\s+[\u2014\u2013]\s+")
_BREAK = re.compile(r"(\w*)[.!?]['\"\u201d\u2019)]?\s+['\"\u201c\u2018(]?[A-Z\u0410-\u042f\u0401]")


def _sentence_break(s: str) -> bool:
    """A sentence ends inside ``s`` (not after a title or an initial: "Mr. Obama", "Charles G. Koch")."""
    from storylens.nlp.lexicon import TITLES

    return any(len(m.group(1)) > 1 and m.group(1).lower() not in TITLES for m in _BREAK.finditer(s))
# '“…,” Scott Pruitt, the Republican attorney general of Oklahoma, one of the states suing the EPA, said'
RIGHT_FRAME_WORDS = 20


@dataclass(slots=True)
class RawQuote:
    start: int
    end: int
    kind: str  # direct | partial | indirect
    cue: tuple[int, int] | None = None
    speaker: tuple[int, int] | None = None  # char span of the speaker mention
    inherit: str | None = None  # "para": from a neighbouring quote; "context": from the last speaker
    para: int = 0
    sent: int = 0
    segments: list[tuple[int, int]] | None = None
    continues: bool = False  # a multi-paragraph quote goes on in the next quote
    continued: bool = False  # … and this quote is where it goes on


class Frames:
    """Attribution rules over one article's tokens."""

    def __init__(self, text: str, toks: list[Tok], segments: list[Segment], ents: list[tuple[int, int, str]],
                 paras: list[tuple[int, int]]) -> None:
        self.text = text
        self.toks = toks
        self.segs = segments
        self.paras = paras
        self.starts = [t.start for t in toks]
        self.children: list[list[int]] = [[] for _ in toks]
        for i, t in enumerate(toks):
            if t.head != i and 0 <= t.head < len(toks):
                self.children[t.head].append(i)
        self.seg_of = [-1] * len(toks)
        seg_starts = [s.start for s in segments]
        for i, t in enumerate(toks):
            k = bisect.bisect_right(seg_starts, t.start) - 1
            if k >= 0 and t.start < segments[k].end:
                self.seg_of[i] = k
        self.ent_of: list[str] = [""] * len(toks)
        for s, e, lab in ents:
            for i in self.range(s, e):
                self.ent_of[i] = lab
        self.para_starts = [p[0] for p in paras]

    # ---- helpers ----------------------------------------------------------------------------------------
    def range(self, s: int, e: int) -> range:
        return range(bisect.bisect_left(self.starts, s), bisect.bisect_left(self.starts, e))

    def para_of(self, pos: int) -> int:
        return max(0, bisect.bisect_right(self.para_starts, pos) - 1)

    def is_cue(self, i: int, inside: bool = False) -> bool:
        t = self.toks[i]
        if self.seg_of[i] >= 0 and not inside:
            return False
        if t.lang == "ru":
            return t.pos in ("VERB", "ADJ") and is_ru_cue(t.lemma)
        return t.pos in ("VERB", "AUX") and is_en_cue(t.lemma)

    def subtree(self, i: int) -> tuple[int, int]:
        lo = hi = i
        stack = [i]
        seen = {i}
        while stack:
            j = stack.pop()
            lo, hi = min(lo, j), max(hi, j)
            for c in self.children[j]:
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
        return lo, hi

    def subject_of(self, v: int) -> int | None:
        t = self.toks[v]
        if t.dep == "acl" and t.text.lower().endswith("ing") and self.ent_of[t.head] in ("PERSON", "PER"):
            return t.head  # "footage of Ann Lee asking, “…”": the one who asks
        s = self._subject(v)
        if (s is None or not self.is_personish(s)) and self.toks[v].text.lower().endswith("ing"):
            # "…, saying clearly:" belongs to the one who speaks, not to the nearest clause's subject
            u = v
            for _ in range(5):
                if self.toks[u].head == u:
                    break
                u = self.toks[u].head
                s2 = self._subject(u)
                if s2 is not None and self.is_personish(s2):
                    return s2
        return s

    def _subject(self, v: int) -> int | None:
        for _ in range(4):
            for c in self.children[v]:
                if self.toks[c].dep in SUBJ and self.seg_of[c] < 0:
                    return c
            if self.toks[v].dep in HOP and self.toks[v].head != v:
                v = self.toks[v].head
            else:
                return None
        return None

    def np_span(self, i: int, limit: tuple[int, int] | None = None) -> tuple[int, int]:
        """Char span of the noun phrase headed by token ``i``: its subtree, cut at quotes and long clauses."""
        lo, hi = self.subtree(i)
        if limit:  # the limit cuts the phrase, never its head ("according to," Baker said: the head lies past it)
            lo, hi = min(max(lo, limit[0]), i), max(min(hi, limit[1]), i)
        # stay out of quotes and stop at the first comma after the head unless an apposition follows
        for j in range(i, hi + 1):
            t = self.toks[j]
            if self.seg_of[j] >= 0 or (j > i and (t.dep in ("relcl", "acl") or t.text in (":", ";", "(")
                                                  or (t.text == "," and j + 1 <= hi and self.toks[j + 1].lemma in
                                                      ("which", "who", "whom", "whose", "where", "когда", "который"))
                                                  or (t.pos == "ADP" and t.lemma not in ("of",) and
                                                      self.toks[i].pos == "PROPN" and t.head == i))):
                hi = j - 1
                break
        for j in range(i, lo - 1, -1):
            if self.seg_of[j] >= 0:
                lo = j + 1
                break
        if hi - lo > 14:
            hi = max(i, lo + 14)
        while hi > lo and self.toks[hi].pos == "PUNCT":
            hi -= 1
        while lo < hi and self.toks[lo].pos == "PUNCT":
            lo += 1
        if hi < lo:  # the head itself is quoted: the head alone, never an inverted span
            lo = hi = i
        return self.toks[lo].start, self.toks[hi].end

    def is_personish(self, i: int) -> bool:
        t = self.toks[i]
        if self.ent_of[i] in ("PERSON", "PER"):
            return True
        if t.pos == "PRON" and (t.lemma in EN_PRONOUNS or t.lemma in RU_PRONOUNS) and t.lemma not in ("i", "we"):
            return True
        return t.lemma in ROLE_WORDS or t.lemma in RU_ROLE_WORDS

    def speaker_from_verb(self, v: int, frame: tuple[int, int] | None = None) -> tuple[int, int] | None:
        s = self.subject_of(v)
        if s is not None:
            return self.np_span(s)
        if frame is None:
            return None
        # '“…,” Flynn, a top surrogate, said Thursday': a person named before the verb inside the frame
        for j in range(frame[0], v):
            if self.ent_of[j] in ("PERSON", "PER") and self.seg_of[j] < 0:
                return self.np_span(j, (frame[0], v - 1))
        # "said Lee" without a parse link: the first nominal after the verb inside the frame
        for j in range(v + 1, frame[1] + 1):
            if self.ent_of[j] in ("DATE", "TIME"):
                continue
            t = self.toks[j]
            if self.seg_of[j] >= 0:
                break
            if t.pos in ("PROPN", "PRON", "NOUN") and t.lemma not in ("that", "что"):
                h = j
                while self.toks[h].head != h and frame[0] <= self.toks[h].head <= frame[1] \
                        and self.toks[h].head != v and self.toks[self.toks[h].head].pos in ("PROPN", "NOUN"):
                    h = self.toks[h].head
                return self.np_span(h, frame)
        return None

    def words_between(self, a: int, b: int) -> bool:
        return bool(_WORD.search(self.text[a:b]))

    # ---- frames around a quoted segment --------------------------------------------------------------------
    def right_frame(self, k: int) -> tuple[int, int] | None:
        seg = self.segs[k]
        j = bisect.bisect_left(self.starts, seg.end)
        if j >= len(self.toks):
            return None
        p_end = self.paras[self.para_of(seg.start)][1]
        nxt = self.segs[k + 1].start if k + 1 < len(self.segs) else len(self.text)
        # skip punctuation; the first word must follow directly (", he said", "”, – he stressed")
        while j < len(self.toks) and self.toks[j].pos == "PUNCT" and self.toks[j].start < min(p_end, nxt):
            j += 1
        if j >= len(self.toks) or self.toks[j].start >= min(p_end, nxt):
            return None
        if not _ADJ_RIGHT.match(self.text[seg.end:self.toks[j].start]):
            return None
        hi = j
        while hi + 1 < len(self.toks) and self.toks[hi + 1].start < min(p_end, nxt) and hi - j < 30:
            if self.toks[hi].text in _SENT_END:
                break
            hi += 1
        return j, hi

    def left_frame(self, k: int) -> tuple[int, int] | None:
        seg = self.segs[k]
        hi = bisect.bisect_left(self.starts, seg.start) - 1
        if hi < 0:
            return None
        p_start = self.paras[self.para_of(seg.start)][0]
        prev_end = self.segs[k - 1].end if k > 0 else 0
        floor = max(p_start, prev_end)
        if self.toks[hi].start < floor:
            return None
        if not _ADJ_LEFT.search(self.text[floor:seg.start]):
            return None
        lo = hi
        while lo - 1 >= 0 and self.toks[lo - 1].start >= floor and hi - lo < 40:
            if self.toks[lo - 1].text in _SENT_END:
                break
            lo -= 1
        return lo, hi

    def cue_in(self, lo: int, hi: int, reverse: bool = False, max_words: int = 12) -> int | None:
        rng = range(hi, lo - 1, -1) if reverse else range(lo, hi + 1)
        n = 0
        for i in rng:
            if self.is_cue(i):
                return i
            if self.toks[i].pos != "PUNCT":
                n += 1
            if n > max_words:
                return None
        return None

    def attribute_from_frame(self, q: RawQuote, frame: tuple[int, int], v: int | None) -> bool:
        """Attribute ``q`` from the words around it: the cue verb ``v`` found in the frame (its subject is the
        speaker), else an "according to X" phrase in it.  True when the quote got a cue and speaker."""
        if v is not None:
            q.cue = (self.toks[v].start, self.toks[v].end)
            q.speaker = self.speaker_from_verb(v, frame)
            return True
        acc = self.according_to(*frame)
        if acc is not None:
            q.cue = (self.toks[acc[0]].start, self.toks[acc[1]].end)
            q.speaker = self.np_span(acc[2], frame)
            return True
        return False

    def according_to(self, lo: int, hi: int) -> tuple[int, int, int] | None:
        """'according to X' / 'по словам X' inside tokens lo..hi: (cue start tok, cue end tok, speaker tok)."""
        for i in range(lo, hi):
            a, b = self.toks[i].lemma, self.toks[i + 1].lemma
            if (self.toks[i].text.lower() == "according" and b == "to") or (a == "по" and b in ("слово", "словам", "данные")):
                for j in range(i + 2, min(hi + 1, i + 8)):
                    if self.toks[j].pos in ("PROPN", "NOUN", "PRON") and self.seg_of[j] < 0:
                        h = j
                        while self.toks[h].head != h and i + 1 < self.toks[h].head <= hi \
                                and self.toks[self.toks[h].head].pos in ("PROPN", "NOUN"):
                            h = self.toks[h].head
                        return i, i + 1, h
        return None

    # ---- quotes ------------------------------------------------------------------------------------------
    def quotes(self) -> list[RawQuote]:
        out: list[RawQuote] = []
        merged_into: dict[int, RawQuote] = {}
        for k, seg in enumerate(self.segs):
            if k in merged_into:
                continue
            content = self.text[seg.cstart:seg.cend]
            n_words = len(_WORD.findall(content))
            if n_words < 2:
                continue
            q = RawQuote(seg.cstart, seg.cend, "direct", para=self.para_of(seg.start), continues=seg.continues,
                         continued=seg.continued)
            first = bisect.bisect_left(self.starts, seg.cstart)
            q.sent = self.toks[first].sent if first < len(self.toks) else 0
            if self.inner_frame(q):
                out.append(q)
                continue
            label = colon_frame(self.text, seg.cstart, seg.cend)
            if label is not None and self.text[label.source[0]:label.source[1]].isupper() \
                    and len(self.text[label.source[0]:label.source[1]]) > 2:
                # a transcript in marks: '"PENCE: Well, look, …' is Pence's, the label is not part of it
                q.start, q.speaker = label.start, label.source
                out.append(q)
                continue
            attributed = False
            colon = self.text[:seg.start].rstrip().endswith(":")
            rf = self.right_frame(k) if not colon and not (content[:1].islower() and self._governed(first, seg)) \
                else None
            if rf is not None and re.search(r"[.!?\u2026]$", content) and self.text[seg.end:seg.end + 1] != ",":
                # "…end." Lee said that …: a new sentence, not the frame of this quote
                v0 = self.cue_in(*rf, max_words=RIGHT_FRAME_WORDS)
                if v0 is None or any(self.toks[c].dep in COMP and c > v0 and self.seg_of[c] < 0
                                     for c in self.children[v0]):
                    rf = None
            if rf is not None:
                attributed = self.attribute_from_frame(q, rf, self.cue_in(*rf, max_words=RIGHT_FRAME_WORDS))
                if attributed:
                    for j in self.continuation(k):
                        q.segments = (q.segments or [(seg.cstart, seg.cend)]) + [(self.segs[j].cstart,
                                                                                  self.segs[j].cend)]
                        q.end = self.segs[j].cend
                        merged_into[j] = q
            if not attributed:
                lf = self.left_frame(k)
                if lf is not None:
                    attributed = self.attribute_from_frame(q, lf, self.cue_in(*lf, reverse=True))
                    if not attributed and colon:
                        # "Ann Lee, Port Authority chair: «…»"
                        for i in range(lf[0], lf[1] + 1):
                            if self.ent_of[i] in ("PERSON", "PER", "ORG"):
                                e = i
                                while e + 1 <= lf[1] and self.ent_of[e + 1] == self.ent_of[i]:
                                    e += 1
                                q.speaker = (self.toks[i].start, self.toks[e].end)
                                attributed = True
                                break
                        # "He disagreed: “…”": the verb that introduces the quote, its subject the speaker
                        v = next((i for i in range(lf[1], lf[0] - 1, -1) if self.toks[i].pos == "VERB"), None)
                        subj = self._subject(v) if v is not None and not attributed else None
                        if v is not None and subj is not None and self.is_personish(subj):
                            q.cue = (self.toks[v].start, self.toks[v].end)
                            q.speaker = self.np_span(subj)
                            attributed = True
            if attributed and q.speaker is not None and q.start > q.speaker[1] and content[:1].islower():
                q.kind = "partial"  # "По словам Волковой, «армия выполнила …»": a fragment after its attribution
            if not attributed and colon:
                rf = self.right_frame(k)
                if rf is not None and not re.search(r"[.!?\u2026]$", content):
                    v = self.cue_in(*rf)
                    if v is not None:
                        q.cue = (self.toks[v].start, self.toks[v].end)
                        q.speaker = self.speaker_from_verb(v, rf)
                        attributed = True
            if not attributed and self._embedded(seg, q, first, n_words) is None:
                continue
            out.append(q)
        return out

    def _widen_to_clause(self, q: RawQuote, seg: Segment, child: int) -> None:
        """A fragment that a cue verb governs ('agreed that Clinton is in “good enough health”'): the attribution
        is the verb's clause, the fragment its quoted words (a segment)."""
        if self.seg_of[child] >= 0:
            return
        lo, hi = self.subtree(child)
        if hi - lo > 60:
            return
        clause = self._clause(lo, hi, ("that",))
        if clause is None:
            return
        s, e = clause
        e = max(e, seg.end) if s <= seg.start < e else e
        if s <= q.start and q.end <= e:
            q.segments = [(q.start, q.end)]
            q.start, q.end = s, e

    def _governed(self, first: int, seg: Segment) -> bool:
        """A fragment inside the clause of a cue verb before it ('Flynn said Trump was “absolutely right” when
        he said …'): that verb attributes it, not the words after it."""
        i, hops = first, 0
        while i < len(self.toks) and hops < 12:
            h = self.toks[i].head
            if h == i:
                return False
            i, hops = h, hops + 1
            if self.seg_of[i] < 0 and self.toks[i].end <= seg.start and self.is_cue(i):
                return True
        return False

    def inner_frame(self, q: RawQuote) -> bool:
        """«Мы готовы к диалогу, — сказал посол, — но не на любых условиях»: the author's words between dashes
        inside one pair of marks.  Splits ``q`` into its two parts and attributes it from those words."""
        m = _INNER.search(self.text, q.start, q.end)
        if m is None:
            return False
        lo = bisect.bisect_left(self.starts, m.start("author"))
        hi = bisect.bisect_left(self.starts, m.end("author")) - 1
        v = next((i for i in range(lo, hi + 1) if self.is_cue(i, inside=True)), None)
        if v is None:
            return False
        q.segments = [(q.start, m.start() + (0 if m.group("p") == "," else 1)), (m.end(), q.end)]
        q.cue = (self.toks[v].start, self.toks[v].end)
        sub = self._subject(v)
        if sub is not None and lo <= sub <= hi:
            q.speaker = self.np_span(sub, (lo, hi))
        else:  # «…, — сказал посол Андрей Лебедев, — …»: the words after the verb
            j = next((i for i in range(v + 1, hi + 1) if self.toks[i].pos in ("PROPN", "NOUN", "PRON")), None)
            q.speaker = (self.toks[j].start, self.toks[hi].end) if j is not None else None
            if q.speaker is not None:
                e = q.speaker[1]
                while e > q.speaker[0] and not self.text[e - 1].isalnum():
                    e -= 1
                q.speaker = (q.speaker[0], e)
        return True

    def continuation(self, k: int) -> list[int]:
        """The segments after segment ``k`` that are the same attribution (PolNeAR's convention, and one
        statement for a reader): ``"A," he said, "B."`` (the attribution interrupts one sentence) and
        ``"A," he said. "B."`` (the quote goes on in the next sentence with no attribution of its own).  A
        segment with a frame of its own, in another paragraph, or after other words is not."""
        out: list[int] = []
        if k + 1 >= len(self.segs):
            return out
        seg, j = self.segs[k], k + 1
        # '“A,” Flynn said on Fox News’s “Fox and Friends.” “B.”': a title inside the frame is not the next part
        while j + 1 < len(self.segs) and self.words_between(seg.end, self.segs[j].start) \
                and not _sentence_break(self.text[seg.end:self.segs[j].start]) \
                and is_title_like(self.text[self.segs[j].cstart:self.segs[j].cend]) \
                and "\n" not in self.text[seg.end:self.segs[j + 1].start]:
            j += 1
        nxt = self.segs[j]
        gap = self.text[seg.end:nxt.start]
        if "\n" in gap or len(gap) > 300 or not self.words_between(seg.end, nxt.start):
            return out
        if _sentence_break(gap.rstrip(" \"'\u201c\u201e\u00ab\u2018")[:-1]):
            return out  # "A," Lee said. He disagreed: "B.": another sentence, another attribution
        if sum(1 for i in self.range(seg.end, nxt.start) if self.is_cue(i)) >= 2:
            return out  # "A," Trump said, adding later, "B.": a second cue, a second attribution
        if re.search(r"(?:[,:\u2013\u2014]|,\s+(?:but|and))\s*$", gap) and not re.search(r"[.!?]\s*$", gap):
            out.append(j)  # "A," he said, "B."; "A," he said, but "B."
        elif re.search(r"[.!?][)\]\"\u201d\u2019\u00bb]?\s*$", gap) and not self.text[nxt.cstart:nxt.cstart + 1].islower():
            # "A," he said. "B.": the gap is the attribution's one sentence, and B has no cue of its own
            idx = [i for i in self.range(seg.end, nxt.start) if self.toks[i].pos != "PUNCT"]
            if len({self.toks[i].sent for i in idx}) != 1:
                return out
            rf = self.right_frame(j)
            if rf is not None and self.text[self.segs[j].end:self.toks[rf[0]].start].strip() in ("", ",") \
                    and self.cue_in(*rf, max_words=RIGHT_FRAME_WORDS) is not None:
                return out
            out.append(j)
        return out

    def _embedded(self, seg: Segment, q: RawQuote, first: int, n_words: int) -> bool | None:
        """A quote inside a sentence; returns None when it should be dropped (a title, a name)."""
        before = bisect.bisect_left(self.starts, seg.start) - 1
        p_start = self.paras[q.para][0]
        sent_words_before = before >= 0 and self.toks[before].start >= p_start \
            and self.toks[before].sent == q.sent and self.toks[before].text not in _SENT_END
        content = self.text[seg.cstart:seg.cend]
        lower = content[:1].islower()
        if sent_words_before and is_title_like(content):
            return None  # "on “Fox News Sunday,”", "called her “Miss Piggy”": a title or a name in marks
        if sent_words_before and not lower and self.toks[before].pos in ("NOUN", "PROPN", "NUM", "DET"):
            return None  # «фильм «Весна на Заречной улице»», "his 1994 “Contract with America”": a name
        if not sent_words_before:
            q.inherit = "para"  # a quote opening its sentence, with no frame: a neighbour's speaker
            return True
        if lower:
            q.kind = "partial"
        # up the tree from inside the quote to the first verb outside it
        i = first
        hops = 0
        path: list[int] = []
        while i < len(self.toks) and hops < 12:
            path.append(i)
            h = self.toks[i].head
            if h == i:
                break
            i = h
            hops += 1
        anc = [x for x in path if self.seg_of[x] < 0]
        for a in anc:
            if self.is_cue(a):
                q.cue = (self.toks[a].start, self.toks[a].end)
                q.speaker = self.speaker_from_verb(a)
                if q.speaker is not None:
                    if lower:
                        self._widen_to_clause(q, seg, path[path.index(a) - 1])
                    return True
        sent_toks = [j for j in range(max(0, before - 60), min(len(self.toks), before + 60))
                     if self.toks[j].sent == q.sent]
        cues = [j for j in sent_toks if self.is_cue(j)]
        if cues:
            v = min(cues, key=lambda j: abs(self.toks[j].start - seg.start))
            sp = self.speaker_from_verb(v)
            if sp is not None:
                q.cue = (self.toks[v].start, self.toks[v].end)
                q.speaker = sp
                return True
        for a in anc:
            if self.toks[a].pos in ("VERB", "AUX"):
                s = self.subject_of(a)
                if s is not None and self.is_personish(s):
                    q.speaker = self.np_span(s)
                    return True
        if not lower and n_words < 4:
            return None  # "the “Arrogant” ad", a name in marks
        q.inherit = "context"
        return True

    # ---- reported speech -----------------------------------------------------------------------------------
    def indirect(self, direct: list[RawQuote]) -> list[RawQuote]:
        out: list[RawQuote] = []
        stance: list[RawQuote] = []
        spans = [(q.start, q.end) for q in direct]
        # a partial quote does not use up its cue: "said that “a bomb” had gone off" reports the whole clause
        cues_used = {q.cue for q in direct if q.cue and q.kind != "partial"}
        for v, t in enumerate(self.toks):
            # ("the leaders are expected to agree": a passive stance verb's subject is not its source)
            report = t.pos == "VERB" and (t.lemma in RU_REPORT_VERBS if t.lang == "ru" else t.lemma in EN_REPORT_VERBS) \
                and self.seg_of[v] < 0 \
                and not any(self.toks[c].dep in ("nsubjpass", "auxpass", "nsubj:pass") for c in self.children[v])
            if not (self.is_cue(v) or report) or (t.start, t.end) in cues_used:
                continue
            comps = [c for c in self.children[v] if self.toks[c].dep in COMP and self.seg_of[c] < 0]
            h = t.head
            mid = False
            if comps:
                lo, hi = self.subtree(comps[0])
            elif t.dep == "parataxis" and h != v and self.seg_of[h] < 0 and self.is_cue(v):
                # "Lenox was a juggernaut, Mr. Clarke said, until …" / "…, officials said.": the clause it interrupts
                lo, hi = self.subtree(h)
                vlo, vhi = self.subtree(v)
                if vlo <= lo:
                    lo = vhi + 1
                elif vhi >= hi:
                    hi = vlo - 1
                elif not (lo < vlo and vhi < hi):
                    continue
                mid = True
            elif report:
                span = self._object_content(v)
                if span is None:
                    continue
                lo, hi = span
            else:
                continue
            if v in range(lo, hi + 1) and not mid:
                continue
            clause = self._clause(lo, hi, ("that", "что"))
            if clause is None:
                continue
            s, e = clause
            for g in self.segs:  # never end or start inside a quote: take it whole
                if g.start < e < g.end:
                    e = g.end
                if g.start < s < g.end:
                    s = g.start
            if self._mostly_quoted(s, e, spans):
                continue
            sp = self.speaker_from_verb(v)
            if sp is None:
                continue
            if self.text[sp[0]:sp[1]].lower() in ("it", "this", "that", "there", "это"):
                sp = None  # "It was announced that …": an attribution without a source
            q = RawQuote(s, e, "indirect", cue=(t.start, t.end), speaker=sp, para=self.para_of(s), sent=t.sent)
            if report and not self.is_cue(v):
                stance.append(q)
            else:
                out.append(q)
        # "his claim that …": a report noun with a that-clause; its source is the possessor or the subject of
        # the verb that takes the noun ("Trump repeated the claim that …")
        for n, t in enumerate(self.toks):
            nouns = RU_REPORT_NOUNS if t.lang == "ru" else EN_REPORT_NOUNS
            if t.pos != "NOUN" or t.lemma not in nouns or self.seg_of[n] >= 0:
                continue
            # "заявление о том, что …": the clause hangs from "том"
            heads = [n] + [c for c in self.children[n] if self.toks[c].lemma == "тот" and c > n]
            cl = [c for h in heads for c in self.children[h] if c > n and self.toks[c].dep in ("acl", "ccomp", "appos")
                  and any(self.toks[m].lemma in ("that", "что") and self.toks[m].dep == "mark"
                          for m in self.children[c])]
            if not cl:
                continue
            clause = self._clause(*self.subtree(cl[0]), ("that", "что"))
            if clause is None:
                continue
            s, e = clause
            if self._mostly_quoted(s, e, spans):
                continue
            poss = [c for c in self.children[n] if self.toks[c].dep == "poss"
                    or (self.toks[c].dep == "det" and self.toks[c].lemma in RU_PRONOUNS_POSS)]
            src: tuple[int, int] | None = None
            if poss:
                src = self.np_span(poss[0])
            elif t.dep in ("dobj", "obj") and t.head != n:
                subj = self.subject_of(t.head)
                src = self.np_span(subj) if subj is not None else None
            stance.append(RawQuote(s, e, "indirect", cue=(t.start, t.end), speaker=src, para=self.para_of(s),
                                   sent=t.sent))
        # a stance verb inside what someone is reported to have said is part of that report, not a new one
        inside = [(q.start, q.end) for q in out] + spans
        out.extend(q for q in stance if q.cue is not None
                   and not any(a <= q.cue[0] and q.cue[1] <= b for a, b in inside))
        # "according to X, <clause>"
        for i in range(len(self.toks) - 1):
            if self.toks[i].text.lower() != "according":
                continue
            acc = self.according_to(i, min(len(self.toks) - 1, i + 1 + 8))
            if acc is None or acc[0] != i or self.seg_of[i] >= 0 or self.toks[i].lang == "ru":
                continue  # (Russian «по словам X, …» is a phrase frame: :mod:`frames`)
            sent = self.toks[i].sent
            idx = [j for j in range(max(0, i - 80), min(len(self.toks), i + 80)) if self.toks[j].sent == sent]
            alo, ahi = self.subtree(i)
            rest = [j for j in idx if (j < alo or j > ahi) and self.toks[j].pos != "PUNCT"]
            if len(rest) < 3:
                continue
            s, e = self.toks[rest[0]].start, self.toks[rest[-1]].end
            if self._mostly_quoted(s, e, spans):
                continue
            out.append(RawQuote(s, e, "indirect", cue=(self.toks[i].start, self.toks[i + 1].end),
                                speaker=self.np_span(acc[2], (acc[1], ahi)), para=self.para_of(s), sent=sent))
        return out

    def phrased(self, sents: list[tuple[int, int]], direct: list[RawQuote], is_person: Callable[[int, int], bool],
                found_before: list[RawQuote]) -> list[RawQuote]:
        """Attributions framed by a phrase ("As Lee put it, …", «По мнению Волковой, …») and "Name: …" paragraphs.
        A frame around a quote that has no speaker yet gives it one instead of a second attribution."""
        out: list[RawQuote] = []
        spans = [(q.start, q.end) for q in direct]
        found: list[Framed] = []
        for s, e in sents:
            first = bisect.bisect_left(self.starts, s)
            ru = first < len(self.toks) and self.toks[first].lang == "ru"
            found.extend(sentence_frames(self.text, s, e, ru))
        for ps, pe in self.paras:
            f = colon_frame(self.text, ps, pe)
            if f is not None and is_person(*f.source):
                found.append(f)
        for f in found:
            if self._mostly_quoted(f.start, f.end, [(q.start, q.end) for q in found_before]):
                continue  # «Как сообщил Смирнов, …»: the verb's clause has it already
            inside = [q for q in direct if f.start <= q.start < f.end]
            if self._mostly_quoted(f.start, f.end, spans):
                for q in inside:
                    if q.speaker is None:
                        q.speaker, q.cue, q.inherit = f.source, f.cue, None
                continue
            t = bisect.bisect_left(self.starts, f.start)
            out.append(RawQuote(f.start, f.end, "indirect", cue=f.cue, speaker=f.source, para=self.para_of(f.start),
                                sent=self.toks[t].sent if t < len(self.toks) else 0))
        return out

    def named_after(self, direct: list[RawQuote]) -> None:
        """A quote with no frame whose source the next sentence names: '“…” That was the verdict of Mayor Tom
        Baker.', '“…” The words came from Baker.' (a report noun and "of/from/by" a person)."""
        for q in direct:
            if q.speaker is not None or q.cue is not None:
                continue
            j = bisect.bisect_left(self.starts, q.end)
            while j < len(self.toks) and (self.toks[j].pos == "PUNCT" or self.seg_of[j] >= 0):
                j += 1
            if j >= len(self.toks) or self.toks[j].sent == q.sent or self.para_of(self.toks[j].start) != q.para \
                    or self.words_between(q.end, self.toks[j].start):
                continue
            sent = self.toks[j].sent
            for i in range(j, len(self.toks)):
                t = self.toks[i]
                if t.sent != sent:
                    break
                if t.lemma not in ("of", "from", "by") or self.seg_of[i] >= 0:
                    continue
                noun = t.head
                objs = [c for c in self.children[i] if self.toks[c].dep in ("pobj", "obj", "nmod")]
                if objs and self.is_personish(objs[0]) and self.toks[objs[0]].pos != "PRON" and (
                        self.toks[noun].lemma in EN_REPORT_NOUNS | _WORD_NOUNS
                        or (self.toks[noun].lemma == "come" and self._subject(noun) is not None
                            and self.toks[self._subject(noun) or 0].lemma in EN_REPORT_NOUNS | _WORD_NOUNS)):
                    q.speaker = self.np_span(objs[0])
                    cue = noun if self.toks[noun].lemma != "come" else self._subject(noun) or noun
                    q.cue = (self.toks[cue].start, self.toks[cue].end)
                    q.inherit = None
                    break

    def continue_reported(self, quotes: list[RawQuote], sents: list[tuple[int, int]]) -> None:
        """Reported speech that goes on in the next sentences of its paragraph: "He said the bridge was finished.
        It would cost less …" — a sentence with no cue and no quote of its own whose verb is in the reported
        mood (would, could, might, should) continues the attribution before it."""
        ends = [e for _, e in sents]
        for q in quotes:
            if q.kind != "indirect" or q.cue is None:
                continue
            k = bisect.bisect_left(ends, q.end)
            while k + 1 < len(sents) and not self.words_between(q.end, sents[k][1]):
                s, e = sents[k + 1]
                idx = list(self.range(s, e))
                if not idx or self.para_of(s) != q.para or self.toks[idx[0]].lang == "ru" \
                        or any(self.seg_of[i] >= 0 or self.is_cue(i) for i in idx):
                    break
                root = next((i for i in idx if self.toks[i].dep == "root"), None)
                if root is None or not any(self.toks[c].dep == "aux" and self.toks[c].lemma in _REPORTED_MOOD
                                           for c in self.children[root]):
                    break
                subj = self._subject(root)
                if subj is not None and self.ent_of[subj] in ("PERSON", "PER"):
                    break  # a new actor: the writer's own sentence
                q.end = self.toks[idx[-1]].end if self.toks[idx[-1]].pos != "PUNCT" else self.toks[idx[-2]].end
                k += 1

    def _clause(self, lo: int, hi: int, marks: tuple[str, ...]) -> tuple[int, int] | None:
        """Character span of the reported clause in tokens lo..hi, its opening punctuation, conjunction and
        ``marks`` ("that") and its closing punctuation trimmed; None when fewer than three tokens remain."""
        while lo <= hi and (self.toks[lo].pos in ("PUNCT", "SCONJ") or self.toks[lo].lemma in marks):
            lo += 1
        while hi >= lo and self.toks[hi].pos == "PUNCT":
            hi -= 1
        if hi - lo < 1:
            return None  # one word is not a clause; two are ("prices rose", «больница переполнена»)
        return self.toks[lo].start, self.toks[hi].end

    def _object_content(self, v: int) -> tuple[int, int] | None:
        """Tokens of what a stance verb reports when it takes no clause: its object, infinitive, predicate or
        "for/on/about/to/as" phrase ("cited derogatory comments", "called for a review", "wants to triple …")."""
        t = self.toks[v]
        kids = [c for c in self.children[v] if c > v and self.seg_of[c] < 0]
        deps = {"dobj", "obj", "xcomp", "oprd", "dative", "attr", "ccomp"}
        take = [c for c in kids if self.toks[c].dep in deps
                or (self.toks[c].dep == "prep" and self.toks[c].lemma in ("for", "on", "about", "to", "as", "of"))
                # «призвал к диалогу», «выступил против санкций», «высказался за переговоры»
                or (self.toks[c].dep == "obl" and t.lang == "ru" and any(
                    self.toks[m].dep == "case" and self.toks[m].lemma in ("к", "за", "против", "о", "об")
                    for m in self.children[c]))]
        if not take:
            return None
        if t.lemma in EN_NEEDS_XCOMP and not any(self.toks[c].dep == "xcomp" for c in take):
            return None
        spans = [self.subtree(c) for c in take]
        return min(a for a, _ in spans), max(b for _, b in spans)

    @staticmethod
    def _mostly_quoted(s: int, e: int, spans: list[tuple[int, int]]) -> bool:
        cov = sum(max(0, min(e, qe) - max(s, qs)) for qs, qe in spans)
        return cov >= 0.5 * (e - s)


def _parts(q: RawQuote) -> list[tuple[int, int]]:
    return list(q.segments) if q.segments else [(q.start, q.end)]


def one_per_attribution(text: str, direct: list[RawQuote], indirect: list[RawQuote],
                        words: Sequence[tuple[int, int, int]] = ()) -> list[RawQuote]:
    """One quote per attribution, as PolNeAR annotates and as a reader counts them.

    * words in marks inside a reported clause ("said that voting fraud is “a big problem”") belong to that
      clause's attribution: one quote of kind ``partial`` spanning the clause, its quoted words as ``segments``;
    * fragments of one sentence with one cue and speaker ("called him a “liar” and a “bully”") are one quote
      with a segment per fragment.
    """
    taken: set[int] = set()
    out: list[RawQuote] = []
    for c in indirect:
        # a quote with a cue of its own inside the clause ("…, saying: «…»") is an attribution of its own: the
        # clause ends before that cue
        for q in direct:
            if q.kind == "direct" and q.cue is not None and q.cue != c.cue and c.start < q.cue[0] < c.end \
                    and c.start <= q.start < c.end:
                c.end = min(c.end, q.cue[0])
        while c.end > c.start and not text[c.end - 1].isalnum() and text[c.end - 1] not in CLOSE_MARKS:
            c.end -= 1
        for ws, _we, mark_end in words:  # a clause never ends inside marks: «…назвал ситуацию «катастрофической»»
            if c.start <= ws < c.end < mark_end:
                c.end = mark_end
        inside = [q for q in direct if id(q) not in taken and c.start <= q.start and q.end <= c.end]
        marked = [(ws, we) for ws, we, _ in words if c.start <= ws and we <= c.end]
        if marked and not inside:
            c.kind = "partial"
            c.segments = marked
        if inside:
            c.segments = sorted([p for q in inside for p in _parts(q)] + marked)
            taken.update(id(q) for q in inside)
            quoted = sum(e - s for q in inside for s, e in _parts(q))
            c.kind = "direct" if all(q.kind == "direct" for q in inside) and quoted >= 0.8 * (c.end - c.start) \
                else "partial"
            if c.speaker is None:
                c.speaker = next((q.speaker for q in inside if q.speaker is not None), None)
                c.cue = c.cue or next((q.cue for q in inside if q.cue is not None), None)
        out.append(c)
    out.extend(q for q in direct if id(q) not in taken)
    merged: list[RawQuote] = []
    for q in sorted(out, key=lambda q: (q.start, q.end)):
        last = merged[-1] if merged else None
        if last is not None and q.kind == last.kind == "partial" and q.sent == last.sent and q.start >= last.end \
                and q.speaker is not None and q.speaker == last.speaker \
                and (q.cue == last.cue or q.cue is None or last.cue is None):
            last.segments = _parts(last) + _parts(q)
            last.end = q.end
            continue
        merged.append(q)
    return merged


_TITLE_SMALL = frozenset(["a", "an", "the", "of", "in", "on", "to", "for", "with", "and", "or", "at", "by", "from", "as", "is", "vs"])


def is_title_like(content: str) -> bool:
    """A short phrase whose words are capitalised (small words aside): a title, a programme, a nickname."""
    words = re.findall(r"[^\W\d_][\w'\u2019-]*|\d+", content)
    if not words or len(words) > 6:
        return False
    big = [w for w in words if w.lower() not in _TITLE_SMALL or w is words[0]]
    return all(w[0].isupper() or w[0].isdigit() for w in big) and any(w[0].isupper() for w in big)


def cue_test(lang: str) -> Callable[[str], bool]:
    return is_ru_cue if lang == "ru" else is_en_cue
