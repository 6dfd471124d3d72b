"""Reader for web archives (``.warc`` / ``.warc.gz``, warcio): HTML responses only, streamed record by record
(the size limit applies to each record, not to the archive)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from storylens.ingest._common import InputError, decode_html, too_big
from storylens.model import RawDocument, ReadError
from storylens.settings import IngestSettings

HTML_TYPES = ("text/html", "application/xhtml")


def read_warc_file(path: Path, settings: IngestSettings) -> Iterator[RawDocument | ReadError]:
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    try:
        fh = path.open("rb")
    except OSError as e:
        yield ReadError(str(path), f"cannot read {path}: {e.strerror or e}")
        return
    n = 0
    with fh:
        head = fh.read(8)
        fh.seek(0)
        if not head:
            yield ReadError(str(path), f"file {path} is empty")
            return
        if not (head.startswith(b"WARC/") or head.startswith(b"\x1f\x8b")):
            yield ReadError(str(path), f"{path} is not a WARC archive (no 'WARC/' header)")
            return
        try:
            for n, record in enumerate(ArchiveIterator(fh), 1):
                if record.rec_type != "response":
                    continue
                http = record.http_headers
                ctype = (http.get_header("Content-Type") or "") if http else ""
                if not ctype.lower().startswith(HTML_TYPES):
                    continue
                status = http.get_statuscode() if http else "200"
                uri = record.rec_headers.get_header("WARC-Target-URI")
                source = f"{path}#{n}"
                if status and not str(status).startswith("2"):
                    continue
                body = record.content_stream().read(settings.max_bytes + 1)
                if len(body) > settings.max_bytes:
                    yield ReadError(source, too_big(f"WARC record {n} ({uri})", len(body), settings.max_bytes))
                    continue
                declared = None
                if "charset=" in ctype.lower():
                    declared = ctype.lower().split("charset=", 1)[1].split(";")[0].strip()
                try:
                    html = decode_html(body, f"WARC record {n} ({uri})", declared)
                except InputError as e:
                    yield ReadError(source, str(e))
                    continue
                yield RawDocument(source=source, url=uri, html=html,
                                  meta={"fetched": record.rec_headers.get_header("WARC-Date")})
            if n == 0:
                yield ReadError(str(path), f"{path} holds no WARC records")
        except ArchiveLoadFailed as e:
            yield ReadError(str(path) if n == 0 else f"{path}#{n}", f"not a readable WARC archive: {e}")
        except Exception as e:  # noqa: BLE001 - a truncated archive keeps the records read so far
            yield ReadError(f"{path}#{n}", f"WARC archive unreadable after record {n}: {type(e).__name__}: {e}")
