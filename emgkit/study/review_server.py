"""``emgkit review OUT --serve``: the review page on 127.0.0.1, saving marks to the overrides
table.

A standard-library HTTP server bound to 127.0.0.1 on a free port. ``GET /?token=T`` serves the
page; ``POST /overrides?token=T`` with ``{"rows": [...]}`` replaces the overrides table named
by ``[study] overrides``: the rows are written to a temporary file, read back with the strict
parser :func:`emgkit.study.review.read_overrides` and only then moved into place (atomically,
:func:`emgkit._files.write_text`), so the table on disk is always one ``emgkit run`` accepts.
Requests without the random token, from another origin, or to another path are refused.
"""

from __future__ import annotations

import json
import secrets
import tempfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from .._files import write_text
from ..errors import ConfigError, EmgkitError
from .review import COLUMNS, read_overrides
from .review_page import (
    overrides_text,
    review_data,
    review_html,
    run_record,
    several_recordings,
)

#: largest request body accepted (bytes)
MAX_BODY = 8 << 20


def check_rows(rows, *, path, participants, muscles, excluded=(), recordings=()):
    """The overrides table text of ``rows`` after the strict check of ``emgkit run``.

    Parameters
    ----------
    rows : list of dict
        Rows with the columns of :data:`emgkit.study.review.COLUMNS` (strings).
    path : path-like
        The overrides table (named in error messages).
    participants, muscles, excluded, recordings
        As for :func:`emgkit.study.review.read_overrides`.

    Returns
    -------
    str
        The TSV text.

    Raises
    ------
    ConfigError
        A row the parser refuses (naming the line, column and value).
    """
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ConfigError("The marks must be a list of rows (objects with "
                          f"{', '.join(COLUMNS)}).")
    text = overrides_text([{c: str(r.get(c, "")) for c in COLUMNS} for r in rows])
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / Path(path).name
        probe.write_text(text, encoding="utf-8")
        try:
            read_overrides(probe, participants=participants, muscles=muscles,
                           excluded=excluded, recordings=recordings)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace(str(probe), str(path))) from None
    return text


def check_new_trials(rows, *, data, path):
    """Refuse a row that names a trial its participant's results do not have, unless the
    table already held it (a stale mark the page shows and keeps): ``emgkit run`` would
    refuse it.

    Parameters
    ----------
    rows : list of dict
        The rows posted (string cells).
    data : dict
        :func:`emgkit.study.review_page.review_data` as served (its ``participants`` with
        their ``trials``, its ``rows``: the table when the page was loaded).
    path : path-like
        The overrides table (named in error messages).

    Raises
    ------
    ConfigError
        Naming the line, the participant and the trials it has.
    """
    from .._ids import participant_label

    have = {p["id"]: set(p["trials"]) for p in data["participants"] if p.get("trials")}
    known = {tuple(str(r.get(c, "")) for c in COLUMNS) for r in data.get("rows", [])}
    for line, row in enumerate(rows, start=2):
        cells = tuple(str(row.get(c, "")) for c in COLUMNS)
        trial = cells[1].strip()
        if cells in known or not (trial.isascii() and trial.isdigit()):
            continue  # kept as it was, or left to the strict parser
        try:
            pid = participant_label(cells[0].split("_")[0]) + (
                cells[0][cells[0].index("_"):] if "_" in cells[0] else "")
        except EmgkitError:
            continue
        if pid in have and int(trial) not in have[pid]:
            span = f"{min(have[pid])}–{max(have[pid])}"
            raise ConfigError(f"{path} line {line}: trial {trial} of {pid} is not in its "
                              f"results (trials {span}); emgkit run would refuse the row.")


def make_server(root, *, port=0):
    """The review server of a results folder (not yet serving).

    Parameters
    ----------
    root : path-like
        A results folder of ``emgkit run`` whose config names ``[study] overrides``.
    port : int
        0 for a free port.

    Returns
    -------
    server : ThreadingHTTPServer
        Bound to 127.0.0.1; ``server.url`` is the page's address with its token.

    Raises
    ------
    ConfigError
        The run's config names no overrides table.
    """
    from .results import run_participants

    data = review_data(root)
    if not data["overrides"]:
        raise ConfigError(f"The config of {root} names no overrides table; add "
                          f"overrides = \"overrides.tsv\" to its [study] section (the file "
                          f"is created by the first mark), or review without --serve and "
                          f"use the download button.")
    path = Path(data["overrides"])
    from .outdir import check_file_target

    check_file_target(path, inputs=[Path(root) / "run.json"], reads=[root], force=True,
                      what="[study] overrides")
    token = secrets.token_urlsafe(16)
    ids = [str(p) for p in run_participants(root)["participant_id"]]
    run = run_record(root)
    excluded = (run.get("config", {}).get("study", {}) or {}).get("exclude_participants") or []
    state = {"data": data}
    recordings = several_recordings(run)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _send(self, code, body, ctype="text/plain; charset=utf-8"):
            raw = body.encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(raw)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(raw)

        def _allowed(self):
            url = urlsplit(self.path)
            if not secrets.compare_digest(parse_qs(url.query).get("token", [""])[0], token):
                self._send(403, "wrong or missing token")
                return None
            origin = self.headers.get("Origin")
            host = self.headers.get("Host", "")
            if origin is not None and origin != f"http://{host}" or \
                    host.split(":")[0] not in ("127.0.0.1", "localhost"):
                self._send(403, "only pages served here may post marks")
                return None
            return url.path

        def do_GET(self):
            where = self._allowed()
            if where is None:
                return
            if where not in ("/", "/index.html"):
                self._send(404, "not found")
                return
            state["data"] = review_data(root)  # the table as it is now
            self._send(200, review_html(state["data"], token=token),
                       "text/html; charset=utf-8")

        def do_POST(self):
            where = self._allowed()
            if where is None:
                return
            if where != "/overrides":
                self._send(404, "not found")
                return
            try:
                size = int(self.headers.get("Content-Length", "0"))
                if not 0 < size <= MAX_BODY:
                    raise ConfigError(f"request body of {size} bytes; send 1 to {MAX_BODY}.")
                body = json.loads(self.rfile.read(size).decode("utf-8"))
                if not isinstance(body, dict) or "rows" not in body:
                    raise ConfigError('The request body must be a JSON object {"rows": '
                                      '[...]} (the marks the review page sends).')
                rows = body["rows"]
                if isinstance(rows, list) and all(isinstance(r, dict) for r in rows):
                    check_new_trials(rows, data=state["data"], path=path)
                text = check_rows(rows, path=path, participants=ids,
                                  muscles=data["muscles"], excluded=excluded,
                                  recordings=recordings)
                write_text(text, path)
            except RecursionError:  # JSON nested deeper than the parser's stack
                self._send(400, "The request body is nested too deeply to be marks.")
                return
            except (ValueError, EmgkitError) as exc:
                self._send(400, str(exc))
                return
            self._send(200, f"saved {len(rows)} rows to {path}")

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.url = f"http://127.0.0.1:{server.server_address[1]}/?token={token}"
    server.overrides = path
    return server


def serve(root):
    """Serve the review of ``root`` until Ctrl-C (prints the address)."""
    server = make_server(root)
    print(f"emgkit review: open {server.url}\nmarks are saved to {server.overrides}; "
          f"Ctrl-C stops the server.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped.")
    finally:
        server.server_close()
    return 0


__all__ = ["MAX_BODY", "check_new_trials", "check_rows", "make_server", "serve"]
