"""Plain-text helpers, one concern per module, shared by the stages: which alphabet a text is in
(:mod:`~storylens.text.scripts`), transliteration (:mod:`~storylens.text.translit`), word tokens and stems
(:mod:`~storylens.text.tokens`), stop words (:mod:`~storylens.text.stopwords`) and sentence spans
(:mod:`~storylens.text.sentences`).  They depend on nothing but :mod:`storylens.model`."""
