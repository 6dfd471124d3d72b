"""The probes of issue 13, each on sentences written for it: constructions that found nothing, found half of the
attribution, or gave a quote to the wrong person before."""

from __future__ import annotations

from storylens.model import Article, Quote
from storylens.nlp import analyze
from storylens.settings import NlpSettings


def run(text: str, lang: str = "en") -> Article:
    a = Article(id="t", source="t", text=text, language=lang)
    analyze([a], NlpSettings())
    return a


def covering(a: Article, words: str) -> Quote:
    at = a.text.index(words)
    found = [q for q in a.quotes if q.start <= at and at + len(words) <= q.end]
    assert len(found) == 1, (words, [(q.text, q.kind, q.start, q.end) for q in a.quotes])
    return found[0]


def name(q: Quote) -> str | None:
    return q.speaker.name if q.speaker else None


def test_as_x_put_it() -> None:
    a = run("Mayor Ann Lee opened the bridge on Monday. As Lee put it, the city finally has its crossing.")
    q = covering(a, "the city finally has its crossing")
    assert (q.kind, name(q)) == ("indirect", "Ann Lee")
    assert q.cue is not None and "put" in q.cue.text
    assert "As Lee put it" not in q.text


def test_in_x_view() -> None:
    a = run("Engineer Ann Lee inspected the bridge. In Lee's view, the deck is too narrow for trucks.")
    q = covering(a, "the deck is too narrow for trucks")
    assert (q.kind, name(q)) == ("indirect", "Ann Lee")
    assert "view" not in q.text


def test_reported_speech_goes_on_in_the_next_sentence() -> None:
    a = run("Mayor Tom Baker spoke on Monday. He said the bridge was finished. "
            "It would cost less than planned and would open to traffic in May.\n"
            "The weather was mild.")
    q = covering(a, "the bridge was finished")
    assert name(q) == "Tom Baker"
    q2 = covering(a, "would open to traffic in May")
    assert name(q2) == "Tom Baker" and q2.kind == "indirect"
    assert not any("weather" in x.text for x in a.quotes)


def test_speaker_named_in_the_next_sentence() -> None:
    a = run("The bridge opened on Monday.\n"
            "\u201cWe finished the bridge two months early and under budget.\u201d Mayor Tom Baker said this to "
            "reporters at the opening.")
    q = covering(a, "We finished the bridge")
    assert (q.kind, name(q)) == ("direct", "Tom Baker")
    a = run("The bridge opened on Monday.\n"
            "\u201cWe finished the bridge two months early and under budget.\u201d That was the verdict of Mayor "
            "Tom Baker at the opening.")
    q = covering(a, "We finished the bridge")
    assert (q.kind, name(q)) == ("direct", "Tom Baker")
    assert q.cue is not None and q.cue.text == "verdict"


def test_unquoted_colon_attribution() -> None:
    a = run("Mayor Tom Baker opened the bridge on Monday.\nBaker: the bridge is finished and open to traffic.")
    q = covering(a, "the bridge is finished and open to traffic")
    assert name(q) == "Tom Baker"
    assert "Baker:" not in q.text


def test_pronoun_gender_keeps_a_quote_from_the_wrong_person() -> None:
    a = run("Council member Tom Baker and engineer Ann Lee met on Monday.\n"
            "\u201cWe will open the bridge in May,\u201d Ann Lee said. He disagreed: \u201cThe bridge will not open "
            "before July.\u201d")
    assert name(covering(a, "We will open the bridge")) == "Ann Lee"
    assert name(covering(a, "The bridge will not open")) == "Tom Baker"


def test_they_and_we_resolve_to_the_group() -> None:
    a = run("The Lindfield Teachers Union met on Sunday.\n"
            "\u201cWe will strike on Monday if the talks fail,\u201d they said in a statement.")
    assert name(covering(a, "We will strike")) == "Lindfield Teachers Union"
    a = run("The Lindfield Teachers Union met on Sunday.\n"
            "After the meeting we asked the union about the talks. \u201cNo comment,\u201d we were told.")
    # "we" in the writer's voice is the outlet, not anyone in the article: never a name from the text
    q = covering(a, "No comment")
    assert name(q) != "Lindfield Teachers Union"


def test_i_of_the_writer_is_the_byline() -> None:
    a = run("By Ann Lee\n"
            "I asked the mayor about the bridge on Monday. I said the deck was too narrow for trucks, and he agreed.")
    q = covering(a, "the deck was too narrow")
    assert q.speaker is not None and q.speaker.text == "I" and name(q) == "Ann Lee"
    a = run("I asked the mayor about the bridge on Monday. I said the deck was too narrow for trucks.")
    assert name(covering(a, "the deck was too narrow")) is None  # no byline: the writer is nobody we know


def test_i_inside_a_quote_is_its_speaker() -> None:
    a = run("Ann Lee chairs the council.\n"
            "\u201cI said it then and I say it now: the bridge is too narrow,\u201d Lee said.\n"
            "I asked her whether the bridge would open in May. She said the opening would be in July.")
    assert name(covering(a, "the bridge is too narrow")) == "Ann Lee"
    assert name(covering(a, "the opening would be in July")) == "Ann Lee"
