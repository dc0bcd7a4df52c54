"""HTML: one self-contained page (inline CSS and script, no external asset) readable offline.

The page shows the hosts, the category summary and every result, with filters by status, host
and text. Everything that comes from a host or a policy is escaped; the Content-Security-Policy
allows only this page's own style and its one script (by hash), nothing from the network.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

from workers.exports.model import FAILED, NOT_APPLICABLE, PASSED, Run, iso

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1d232a}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #dde;padding:4px 6px;
text-align:left;vertical-align:top}th{background:#f3f4f7}
.s-passed{color:#1a7f37}.s-failed{color:#c62828;font-weight:600}.s-not_applicable{color:#667}
.s-other{color:#8a6d00}.s-error{color:#c62828;font-weight:600}
.filters{display:flex;gap:1em;flex-wrap:wrap;margin:.8em 0}
details pre{white-space:pre-wrap;background:#f6f8fa;padding:6px;margin:4px 0}
.num{text-align:right}
"""

# Filters rows by data-* attributes; reads only this page.
SCRIPT = """
(function(){
  var status=document.getElementById('f-status'),host=document.getElementById('f-host'),
      text=document.getElementById('f-text'),count=document.getElementById('f-count');
  function apply(){
    var s=status.value,h=host.value,t=text.value.toLowerCase(),shown=0;
    document.querySelectorAll('tr.result').forEach(function(row){
      var ok=(!s||row.dataset.status===s)&&(!h||row.dataset.host===h)&&
             (!t||row.textContent.toLowerCase().indexOf(t)>=0);
      row.hidden=!ok; if(ok){shown++;}
    });
    count.textContent=shown+' shown';
  }
  [status,host,text].forEach(function(el){
    el.addEventListener('input',apply);el.addEventListener('change',apply);
  });
  apply();
})();
"""

LABELS = {PASSED: "passed", FAILED: "failed", NOT_APPLICABLE: "not applicable"}


def content_security_policy() -> str:
    """Nothing from the network; inline style, and only this page's script (by hash)."""
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    return f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'"


def _status_class(status: str) -> str:
    return f"s-{status}" if status in LABELS else "s-other"


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} %"


def render(run: Run) -> bytes:
    e = escape
    statuses = run.statuses()
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{content_security_policy()}">',
        f"<title>{e(run.title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{e(run.title)}</h1>",
        f"<p>Generated {e(iso(run.generated_at))} by Bulwark.</p>",
        "<h2>Hosts</h2><table><thead><tr><th>host</th><th>address</th><th>system</th>"
        + "".join(f'<th class="num">{e(LABELS.get(s, s))}</th>' for s in statuses)
        + '<th class="num">score</th></tr></thead><tbody>',
    ]
    for host in run.hosts:
        counts = host.counts()
        if host.audited:
            cells = "".join(f'<td class="num">{counts[s]}</td>' for s in statuses)
            cells += f'<td class="num">{_score(host.score)}</td>'
        else:
            span = len(statuses) + 1
            cells = f'<td class="s-error" colspan="{span}">not audited: {e(host.error)}</td>'
        parts.append(
            f"<tr><td>{e(host.name)}</td><td>{e(host.address)}</td>"
            f"<td>{e(host.os)}</td>{cells}</tr>"
        )
    parts.append("</tbody></table><h2>By category</h2><table><thead><tr><th>category</th>")
    parts += [f'<th class="num">{e(LABELS.get(s, s))}</th>' for s in statuses]
    parts.append('<th class="num">score</th></tr></thead><tbody>')
    for row in run.categories():
        cells = "".join(f'<td class="num">{row.counts[s]}</td>' for s in statuses)
        parts.append(
            f'<tr><td>{e(row.category)}</td>{cells}<td class="num">{_score(row.score)}</td></tr>'
        )
    parts.append("</tbody></table><h2>Results</h2>")
    parts.append(
        '<div class="filters"><label>status <select id="f-status"><option value="">all</option>'
    )
    parts += [f'<option value="{e(s)}">{e(LABELS.get(s, s))}</option>' for s in statuses]
    parts.append('</select></label><label>host <select id="f-host"><option value="">all</option>')
    parts += [f'<option value="{e(h.name)}">{e(h.name)}</option>' for h in run.hosts]
    parts.append(
        '</select></label><label>search <input id="f-text" type="search"></label>'
        '<span id="f-count"></span></div>'
    )
    parts.append(
        "<table><thead><tr><th>host</th><th>policy</th><th>check</th><th>title</th>"
        "<th>status</th><th>category</th></tr></thead><tbody>"
    )
    for host, result in run.results():
        details = ""
        texts = [
            ("Reason", result.reason),
            ("Evidence", "\n".join(result.evidence)),
            ("Rationale", result.rationale),
            ("Remediation", result.remediation),
        ]
        shown = [(label, text) for label, text in texts if text.strip()]
        if shown:
            body = "".join(f"<b>{label}</b><pre>{e(text.strip())}</pre>" for label, text in shown)
            details = f"<details><summary>details</summary>{body}</details>"
        status_class = _status_class(result.status)
        parts.append(
            f'<tr class="result" data-status="{e(result.status)}" data-host="{e(host.name)}">'
            f"<td>{e(host.name)}</td><td>{e(result.policy_id)}</td><td>{e(result.check_id)}</td>"
            f"<td>{e(result.title)}{details}</td>"
            f'<td class="{status_class}">{e(LABELS.get(result.status, result.status))}</td>'
            f"<td>{e(result.category)}</td></tr>"
        )
    parts.append(f"</tbody></table><script>{SCRIPT}</script></body></html>\n")
    return "\n".join(parts).encode("utf-8")
