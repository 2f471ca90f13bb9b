"""Alert delivery: one JSON POST per run with alerts, to a webhook (Slack, Teams, a pager ...).

The body lists every alert (``run``, ``window``, ``kind``, ``subject``, ``value``,
``threshold``, ``message``) and carries a Slack-compatible ``text`` field, so the same URL
works for an incoming Slack webhook and for a service that reads the alerts. Each attempt has a
timeout; a connection error, a timeout, HTTP 429 or a 5xx is retried after 1, 2, 4 ... seconds;
other 4xx answers are not (the request itself is wrong). A failed delivery is returned as a
:class:`Delivery` with its error: it never raises and never changes the run's exit status.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from causalinterp._io import write_texts_atomic
from causalinterp.errors import OptionError, first_line

#: Alerts listed in the ``text`` field (all of them are in ``alerts``).
TEXT_ALERTS = 20
_RETRIED = (429, 500, 502, 503, 504)


@dataclass(frozen=True)
class Delivery:
    """What became of one webhook delivery.

    Attributes
    ----------
    url : str
        The webhook, without its query string (which often holds a token).
    delivered : bool
        True when an attempt got a 2xx answer.
    attempts : int
        Requests sent (1 + the retries used).
    status : int or None
        The last HTTP status (None when no answer came).
    error : str or None
        Why the last attempt failed; None when delivered.
    alerts : int
        Alerts in the body.
    """

    url: str
    delivered: bool
    attempts: int
    status: int | None
    error: str | None
    alerts: int

    def to_dict(self) -> dict[str, Any]:
        """The delivery.json data."""
        return {
            "url": self.url,
            "delivered": self.delivered,
            "attempts": self.attempts,
            "status": self.status,
            "error": self.error,
            "alerts": self.alerts,
        }

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write delivery.json into ``out_dir`` (created); returns ``{"json": path}``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"
        (written,) = write_texts_atomic({out / "delivery.json": text})
        return {"json": written}

    def line(self) -> str:
        """One line for the terminal."""
        if self.delivered:
            return f"{self.alerts} alert(s) delivered to {self.url} (HTTP {self.status})"
        return (
            f"alert_webhook: delivery to {self.url} failed after {self.attempts} attempt(s) "
            f"({self.error}); the alerts are still in monitor.json and monitor.md"
        )


def check_webhook(url: str) -> str:
    """``url`` if it is an http(s) URL with a host; else a one-line :class:`OptionError`.

    Examples
    --------
    >>> check_webhook("https://hooks.example.com/T0/B0/x")
    'https://hooks.example.com/T0/B0/x'
    """
    parts = urlsplit(str(url))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OptionError(
            f"alert_webhook: {str(url)!r} is not an http(s) URL; pass e.g. "
            "https://hooks.slack.com/services/T000/B000/XXXX"
        )
    return str(url)


def _shown(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def payload(result: Any, run: str | None = None) -> dict[str, Any]:
    """The JSON body for ``result`` (a MonitorResult): ``run``, ``alerts[]`` and ``text``.

    ``run`` identifies the run: its key in the history database when it was stored there.
    """
    document = result.to_dict()
    alerts = [
        {"run": run, "window": window["name"], **alert}
        for window in document["windows"]
        for alert in window["alerts"]
    ]
    windows = document["windows"]
    alerted = sum(1 for w in windows if w["alerts"])
    head = (
        f"causalinterp monitor: {len(alerts)} alert(s) on {document['outcome']} in {alerted} "
        f"of {len(windows)} window(s) (model {document['model']}"
        + (f", run {run}" if run else "")
        + ")"
    )
    lines = [head]
    lines += [f"• [{a['window']}] {a['kind']}: {a['message']}" for a in alerts[:TEXT_ALERTS]]
    if len(alerts) > TEXT_ALERTS:
        lines.append(f"… and {len(alerts) - TEXT_ALERTS} more")
    return {
        "text": "\n".join(lines),
        "run": {
            "key": run,
            "outcome": document["outcome"],
            "model": document["model"],
            "windows": len(windows),
            "alerts": len(alerts),
            "exit_code": document["summary"]["exit_code"],
        },
        "alerts": alerts,
    }


def deliver(
    result: Any,
    url: str,
    *,
    timeout: float = 10.0,
    retries: int = 3,
    run: str | None = None,
    backoff: float = 1.0,
) -> Delivery | None:
    """POST the run's alerts to ``url``; None when the run has no alert (nothing is sent).

    Parameters
    ----------
    result : MonitorResult
    url : str
        An http(s) webhook.
    timeout : float
        Seconds one attempt may take (option ``webhook_timeout``).
    retries : int
        Further attempts after a retryable failure (option ``webhook_retries``).
    run : str, optional
        The run's key (its history key), named in the body.
    backoff : float
        Seconds before the first retry; doubled for each next one.

    Returns
    -------
    Delivery or None
        Never raises for a failed delivery: the failure is in the result.
    """
    check_webhook(url)
    if not result.alerts:
        return None
    body = json.dumps(payload(result, run), ensure_ascii=False).encode("utf-8")
    attempts, status, error = 0, None, None
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        attempts += 1
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "causalinterp"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                status = answer.status
            return Delivery(_shown(url), True, attempts, status, None, len(result.alerts))
        except urllib.error.HTTPError as failure:
            status, error = failure.code, f"HTTP {failure.code} {failure.reason}"
            if failure.code not in _RETRIED:
                break
        except TimeoutError:
            status, error = None, f"no answer within {timeout:g} s"
        except (urllib.error.URLError, OSError) as failure:
            reason = getattr(failure, "reason", failure)
            if isinstance(reason, TimeoutError):
                error = f"no answer within {timeout:g} s"
            else:
                error = first_line(reason if isinstance(reason, BaseException) else failure)
            status = None
    return Delivery(_shown(url), False, attempts, status, error, len(result.alerts))


__all__ = ["Delivery", "check_webhook", "deliver", "payload"]
