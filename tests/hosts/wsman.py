"""SOAP envelopes of WS-Management for the test server: reading requests, writing answers."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
_DURATION = re.compile(r"^PT(\d+(?:\.\d+)?)S$")


@dataclass
class Envelope:
    """The parts of a request the server acts on."""

    root: ET.Element
    action: str
    message_id: str
    shell_id: str | None
    command_id: str | None
    operation_timeout: float
    stream_end: bool

    def text(self, path: str) -> str:
        found = self.root.find(f"s:Body//{path}", NS)
        return (found.text or "") if found is not None else ""


def parse_envelope(body: bytes) -> Envelope:
    """Read a request; ValueError when it is not a WS-Management envelope."""
    try:
        root = ET.fromstring(body)  # noqa: S314 - test server, input from our own tests
    except ET.ParseError as exc:
        raise ValueError(f"not XML: {exc}") from None
    header = root.find("s:Header", NS)
    if root.tag != f"{{{NS['s']}}}Envelope" or header is None:
        raise ValueError("not a SOAP 1.2 envelope")
    action = header.findtext("a:Action", "", NS)
    message_id = header.findtext("a:MessageID", "", NS)
    if not action or not message_id:
        raise ValueError("Action and MessageID are required")
    shell_id = None
    for selector in header.iterfind("w:SelectorSet/w:Selector", NS):
        if selector.get("Name") == "ShellId":
            shell_id = selector.text
    command_id = None
    for element in root.iter():
        if element.get("CommandId"):
            command_id = element.get("CommandId")
            break
    timeout = _DURATION.match(header.findtext("w:OperationTimeout", "PT60S", NS) or "")
    stream = root.find("s:Body/rsp:Send/rsp:Stream", NS)
    return Envelope(
        root=root,
        action=action,
        message_id=message_id,
        shell_id=shell_id,
        command_id=command_id,
        operation_timeout=min(float(timeout.group(1)) if timeout else 60.0, 120.0),
        stream_end=stream is not None and stream.get("End", "false").lower() == "true",
    )


def _envelope(action: str, relates_to: str | None, body: str) -> bytes:
    relates = f"<a:RelatesTo>{relates_to}</a:RelatesTo>" if relates_to else ""
    names = " ".join(f'xmlns:{k}="{v}"' for k, v in NS.items())
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xml:lang="en-US" {names}>'
        f"<s:Header><a:Action>{action}</a:Action><a:MessageID>uuid:{uuid.uuid4()}</a:MessageID>"
        "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
        f"{relates}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def respond(request: Envelope, action: str, body: str) -> tuple[int, bytes]:
    """A 200 answer to `request`; `action` is the response action's last part."""
    base = TRANSFER if action in ("CreateResponse", "DeleteResponse") else SHELL
    return 200, _envelope(f"{base}/{action}", request.message_id, body)


def fault(
    request: Envelope | None, code: str, subcode: str, wsman_code: int, text: str
) -> tuple[int, bytes]:
    """A SOAP fault the way Windows sends them (HTTP 500, a WSManFault with its code)."""
    body = (
        f"<s:Fault><s:Code><s:Value>{code}</s:Value><s:Subcode><s:Value>{subcode}</s:Value>"
        f'</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{text}</s:Text></s:Reason>'
        f'<s:Detail><f:WSManFault Code="{wsman_code}" Machine="bulwark-test">'
        f"<f:Message>{text}</f:Message></f:WSManFault></s:Detail></s:Fault>"
    )
    relates = request.message_id if request else None
    action = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
    return 500, _envelope(action, relates, body)
