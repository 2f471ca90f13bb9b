"""Alert delivery against a local HTTP server (http.server on 127.0.0.1, in a thread): the
body, retries counted on the server, timeouts, and a failed delivery that changes nothing
else."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from _monitor_worlds import GRAPH
from _monitor_worlds import draw as _draw
from sklearn.linear_model import LinearRegression

from causalinterp.cli import main
from causalinterp.errors import OptionError
from causalinterp.monitoring import monitor
from causalinterp.monitoring.delivery import deliver


class Hook:
    """A webhook that answers with ``statuses`` in turn (the last one from then on), after
    ``delay`` seconds, and keeps every body it got."""

    def __init__(self, statuses=(200,), delay: float = 0.0) -> None:
        self.statuses, self.delay, self.bodies = list(statuses), delay, []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.bodies.append((self.headers["Content-Type"], json.loads(body)))
                time.sleep(hook.delay)
                status = hook.statuses.pop(0) if len(hook.statuses) > 1 else hook.statuses[0]
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A client that timed out has gone when the answer is written: not worth a traceback.
        self.server.handle_error = lambda request, address: None
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T0?token=secret"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Hook:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def result():
    reference = _draw(800, 0)
    model = LinearRegression().fit(reference[["x"]], reference["y"])
    windows = {"stable": _draw(400, 1), "shifted": _draw(400, 2, 1.0)}
    return monitor(
        reference, windows, GRAPH, "y", model=model, max_shap_rows=100, n_bootstrap=50,
        progress=False,
    )  # fmt: skip


def test_one_body_per_run_with_every_alert(result):
    with Hook() as hook:
        delivery = deliver(result, hook.url, run="abc123")
    assert delivery.delivered and delivery.attempts == 1 and delivery.status == 200
    assert delivery.url.endswith("/hooks/T0") and "secret" not in json.dumps(delivery.to_dict())
    assert len(hook.bodies) == 1
    kind, body = hook.bodies[0]
    assert kind == "application/json"
    expected = [
        {"run": "abc123", "window": name, "kind": a.kind, "subject": a.subject,
         "value": pytest.approx(a.value, rel=1e-5), "threshold": a.threshold,
         "message": a.message}
        for name, a in result.alerts
    ]  # fmt: skip
    assert body["alerts"] == expected and len(expected) >= 3
    assert {a["window"] for a in body["alerts"]} == {"shifted"}  # the injected shift only
    assert body["run"]["alerts"] == len(expected) and body["run"]["exit_code"] == 1
    lines = body["text"].splitlines()  # Slack's field: a head line, then one per alert
    assert lines[0].startswith(f"causalinterp monitor: {len(expected)} alert(s) on y in 1 of 2")
    assert lines[1:] == [f"• [shifted] {a['kind']}: {a['message']}" for a in expected]


def test_a_run_without_alerts_posts_nothing(result):
    quiet = replace(result, windows=result.windows[:1])
    assert quiet.alerts == []
    with Hook() as hook:
        assert deliver(quiet, hook.url) is None
    assert hook.bodies == []


def test_server_errors_are_retried_then_reported(result):
    with Hook(statuses=(503,)) as hook:
        delivery = deliver(result, hook.url, retries=2, backoff=0.0)
    assert len(hook.bodies) == 3 == delivery.attempts
    assert not delivery.delivered and delivery.status == 503
    assert delivery.error.startswith("HTTP 503") and "failed after 3 attempt(s)" in delivery.line()


def test_a_server_that_recovers_gets_the_alerts(result):
    with Hook(statuses=(500, 502, 200)) as hook:
        delivery = deliver(result, hook.url, retries=3, backoff=0.0)
    assert delivery.delivered and delivery.attempts == 3 == len(hook.bodies)


def test_a_refused_request_is_not_retried(result):
    with Hook(statuses=(404,)) as hook:
        delivery = deliver(result, hook.url, retries=3, backoff=0.0)
    assert delivery.attempts == 1 == len(hook.bodies) and delivery.status == 404


def test_a_slow_server_times_out_each_attempt(result):
    with Hook(delay=3.0) as hook:
        started = time.perf_counter()
        delivery = deliver(result, hook.url, timeout=0.2, retries=1, backoff=0.0)
        took = time.perf_counter() - started
    assert not delivery.delivered and delivery.attempts == 2 == len(hook.bodies)
    assert delivery.error == "no answer within 0.2 s" and took < 2.5  # not the server's 3 s


def test_bad_webhook_urls_are_one_line_errors(result):
    for url in ("ftp://example.com/x", "hooks.example.com/x", "http:///path"):
        with pytest.raises(OptionError, match=r"^alert_webhook: .* is not an http\(s\) URL; pass"):
            deliver(result, url)


def test_cli_failed_delivery_changes_nothing_else(tmp_path, capsys):
    for name, frame in {"reference": _draw(800, 0), "shifted": _draw(400, 2, 1.0)}.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    argv = ["monitor", "--reference", str(tmp_path / "reference.csv"), "--graph", GRAPH]
    argv += ["--outcome", "y", "--current", str(tmp_path / "shifted.csv"), "--quiet"]
    argv += ["--max-shap-rows", "100", "--n-bootstrap", "50", "--history", str(tmp_path / "h.db")]
    with Hook(statuses=(500,)) as hook:
        code = main([*argv, "--out", str(tmp_path / "out"), "--alert-webhook", hook.url,
                     "--webhook-retries", "1", "--webhook-timeout", "5"])  # fmt: skip
    assert code == 1  # the alerts' status, delivered or not
    assert len(hook.bodies) == 2
    err = capsys.readouterr().err
    assert err.startswith("causalinterp: warning: alert_webhook: delivery to http://127.0.0.1:")
    assert "failed after 2 attempt(s) (HTTP 500" in err and err.count("\n") == 1
    assert "secret" not in err
    delivery = json.loads((tmp_path / "out" / "delivery.json").read_text())
    assert delivery["delivered"] is False and delivery["attempts"] == 2
    report = json.loads((tmp_path / "out" / "monitor.json").read_text())
    assert report["summary"]["alerts"] == len(hook.bodies[0][1]["alerts"]) > 0
    # The run was stored, and the body names it by its key in the database.
    from causalinterp.monitoring.history import read_history

    (stored,) = read_history(tmp_path / "h.db").runs
    assert hook.bodies[0][1]["run"]["key"] == stored.key
    # A URL that is not http(s) is refused before the work.
    assert main([*argv, "--out", str(tmp_path / "o2"), "--alert-webhook", "ftp://x/y"]) == 2
    assert "alert_webhook: 'ftp://x/y' is not an http(s) URL" in capsys.readouterr().err
    assert not (tmp_path / "o2").exists()
