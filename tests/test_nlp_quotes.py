"""Quote forms on sentences written for these tests: marks, split and multi-paragraph quotes, colon and dash
attribution, partial and indirect quotes, pronouns, roles, organisations; stray marks never swallow the text."""

from __future__ import annotations

from storylens.model import Article
from storylens.nlp import EntityResolver, analyze
from storylens.nlp.marks import find_segments
from storylens.settings import NlpSettings


def run(text: str) -> Article:
    a = Article(id="t", source="t", text=text, language="en")
    analyze([a], NlpSettings())
    return a


def by_text(a: Article, start: str) -> tuple[str, str | None, str]:
    q = next(q for q in a.quotes if q.text.startswith(start))
    return q.kind, q.speaker.name if q.speaker else None, q.text


def test_marks_of_every_kind() -> None:
    for o, c in [("\u201c", "\u201d"), ("\u00ab", "\u00bb"), ("\u201e", "\u201c"), ('"', '"'), ("\u2018", "\u2019")]:
        a = run(f"Prime Minister Jane Doe spoke on Tuesday. {o}We will build the bridge next year,{c} Doe said.")
        assert by_text(a, "We will build")[:2] == ("direct", "Jane Doe"), (o, a.quotes)


def test_split_quote_is_one_quote_and_dash_attribution() -> None:
    a = run("Mayor Tom Baker opened the plant. \u201cWe are strong,\u201d he added, \u201cand we are ready.\u201d\n"
            "\u201cThe work starts today\u201d, \u2013 he stressed.")
    kind, who, text = by_text(a, "We are strong")
    assert (kind, who) == ("direct", "Tom Baker") and "and we are ready" in text
    assert by_text(a, "The work starts")[:2] == ("direct", "Tom Baker")


def test_colon_partial_indirect_role_and_org() -> None:
    a = run("Acme Corp chief executive John Smith met investors on Monday.\n"
            "John Smith, Acme Corp chief executive: \u00abWe will not sell the company. Our plan is working.\u00bb\n"
            "Smith described the offer as \u201ctoo low to consider\u201d.\n"
            "The Acme chief said that the board agreed with him.\n"
            "The Kremlin said that it had no comment on the deal.")
    assert by_text(a, "We will not sell")[:2] == ("direct", "John Smith")
    assert by_text(a, "too low")[:2] == ("partial", "John Smith")
    assert by_text(a, "the board agreed")[:2] == ("indirect", "John Smith")
    assert by_text(a, "it had no comment")[:2] == ("indirect", "Kremlin")


def test_multi_paragraph_quote_keeps_speaker() -> None:
    a = run("Senator Mary Jones spoke at length.\n\u201cWe have waited long enough.\n"
            "\u201cNow the vote must come,\u201d she said.")
    assert by_text(a, "We have waited")[1] == "Mary Jones"
    assert by_text(a, "Now the vote")[1] == "Mary Jones"


def test_stray_marks_never_swallow_the_article() -> None:
    text = ("He said \u201cthis never closes.\n" + "Plain line without quotes.\n" * 50
            + "\u00bb stray closer and \" lone mark. Then \u201ca real quote here,\u201d she said. \u201e")
    segs = find_segments(text)
    assert all("Plain line" not in text[s.cstart:s.cend] for s in segs)
    a = run(text)
    assert all(q.end - q.start < 200 for q in a.quotes if q.kind != "indirect")
    assert any(q.text.startswith("a real quote here") for q in a.quotes)
    run("\u201c\u201d\u00ab\u00bb\"\"'' \u201c \u201d")  # no crash on marks alone
    run("")


def test_aliases_across_articles_and_no_merge_on_ambiguity() -> None:
    a1 = run("Hillary Clinton spoke in Ohio. Clinton said the economy was improving.")
    a2 = run("Bill Clinton visited Iowa. Donald trump was in Texas.")
    a3 = run("Clinton said nothing. Trump said he would win.\nDonald Trump spoke later.")
    r = EntityResolver()
    r.resolve([a1, a2])
    r.resolve([a3])
    ents = {e.name: e for e in r.entities()}
    assert "Hillary Clinton" in ents and "Bill Clinton" in ents
    assert ents["Donald Trump"].aliases.count("Donald trump") == 1
    # "Clinton" alone in a3 is ambiguous across the store: it must not join either Clinton
    c = next(m for m in a3.entities if m.text == "Clinton")
    assert c.entity_id not in (ents["Hillary Clinton"].id, ents["Bill Clinton"].id)


def _indirect(a: Article) -> dict[str, tuple[str | None, str | None]]:
    return {q.text: (q.speaker.text if q.speaker else None, q.cue.text if q.cue else None)
            for q in a.quotes if q.kind == "indirect"}


def test_reported_speech_beyond_that_clauses() -> None:
    a = run("The bridge will close in May, according to city engineer Ann Lee.\n"
            "Mayor Tom Baker cited rising repair costs. He wants to rebuild the bridge by 2030.\n"
            "Taxes will rise next year, officials said.\n"
            "The tunnel was a success, Baker said, until the flood of 1998.")
    ind = _indirect(a)
    assert ind["The bridge will close in May"] == ("city engineer Ann Lee", "according to")
    assert ind["rising repair costs"] == ("Mayor Tom Baker", "cited")
    assert ind["to rebuild the bridge by 2030"] == ("He", "wants")
    assert ind["Taxes will rise next year"] == ("officials", "said")
    assert any(t.startswith("The tunnel was a success") and ind[t] == ("Baker", "said") for t in ind)


def test_stance_verbs_skip_passives_and_nested_reports() -> None:
    a = run("The council is expected to approve the plan. Baker said the council does not seek to delay it.")
    ind = _indirect(a)
    assert not any(t.startswith("to approve") for t in ind)  # "is expected": no source
    assert list(ind) == ["the council does not seek to delay it"]


def test_titles_in_marks_are_not_quotes_but_fragments_are() -> None:
    a = run("Baker appeared on \u201cFace the Nation\u201d on Sunday and called the plan \u201ctoo costly\u201d.\n"
            "Baker said that the plan was \u201ca waste of money\u201d for the city.")
    texts = [q.text for q in a.quotes]
    assert "Face the Nation" not in texts
    assert "too costly" in texts
    # the fragment and the reported clause around it are one attribution: the clause's span, the quoted words
    # as its text and segment
    q = next(q for q in a.quotes if "a waste of money" in q.text)
    assert q.kind == "partial" and q.text == "a waste of money"
    assert a.text[q.start:q.end] == "the plan was \u201ca waste of money\u201d for the city"
    assert [(g.start, g.end) for g in q.segments] == [(a.text.index("a waste"), a.text.index("\u201d for"))]
    assert len([x for x in a.quotes if x.start <= q.start < x.end]) == 1


def test_transcript_in_marks_labels_and_continued_paragraphs() -> None:
    a = run("Mayor Tom Baker spoke to host Ann Lee on Sunday. Partial transcript:\n"
            "\"LEE: Will the bridge open in May?\n"
            "\"BAKER: It will open in May. The deck is finished.\n"
            "\"The railings come next week.\n"
            "\"LEE: Thank you, Mayor.\"")
    got = {q.text[:12]: q.speaker.name if q.speaker else None for q in a.quotes}
    assert got["Will the bri"] == "Ann Lee" and got["It will open"] == "Tom Baker"
    assert got["The railings"] == "Tom Baker"  # the continued paragraph is still Baker's
    assert not any(q.text.startswith(("LEE:", "BAKER:")) for q in a.quotes)
