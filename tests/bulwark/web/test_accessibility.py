"""Accessibility that can be read off the pages and the stylesheet: every form control of every
page has a label (a <label for>, an enclosing <label>, or aria-label), and every text colour of
the stylesheet meets WCAG's 4.5:1 contrast on the backgrounds it is shown on. Keyboard use is
walked in Chromium by test_operator_walk.py (tab to the main action, focus visible)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client

from bulwark.audits.risks import RiskException
from bulwark.audits.targets import Assignment
from bulwark.policies.models import Policy
from tests.bulwark.web.test_operator_pages import an_exception
from tests.bulwark.world import PASSWORD, World

CSS = Path(__file__).resolve().parents[3] / "platform/bulwark/web/static/web/bulwark.css"
UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}


class Controls(HTMLParser):
    """Form controls and the ids labels point at."""

    def __init__(self) -> None:
        super().__init__()
        self.labelled_ids: set[str] = set()
        self.controls: list[tuple[str, dict[str, str | None], bool]] = []  # tag, attrs, in label
        self._open_labels = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "label":
            self._open_labels += 1
            if values.get("for"):
                self.labelled_ids.add(str(values["for"]))
        elif tag in ("select", "textarea") or (
            tag == "input" and (values.get("type") or "text") not in UNLABELLED_TYPES
        ):
            self.controls.append((tag, values, self._open_labels > 0))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._open_labels = max(0, self._open_labels - 1)

    def unlabelled(self) -> list[str]:
        return [
            f"<{tag} name={values.get('name')!r} id={values.get('id')!r}>"
            for tag, values, inside in self.controls
            if not inside
            and values.get("id") not in self.labelled_ids
            and not values.get("aria-label")
            and not values.get("aria-labelledby")
        ]


@pytest.fixture
def world_with_rows(world: World) -> World:
    """The world with an exception and an assignment, so their pages have rows."""
    built = world
    an_exception(built, "a_admin")
    Assignment.objects.create(
        policy=Policy.objects.get(policy_id="tiny_policy"), group=built.a.group, levels=[1]
    )
    return built


def pages(world: World) -> list[str]:
    a = world.a
    failed = a.audit.results.filter(status="failed").first() or a.result
    exception = RiskException.objects.get()
    return [
        "/",
        "/hosts/",
        f"/hosts/{a.host.pk}/",
        f"/audits/{a.audit.pk}/",
        f"/audits/{a.audit.pk}/results/{failed.pk}/",
        "/reports/",
        "/alerts/",
        "/settings/",
        "/widgets/new/",
        "/manage/hosts/",
        "/manage/hosts/new/",
        f"/manage/hosts/{a.host.pk}/",
        "/manage/credentials/new/",
        f"/manage/credentials/{a.credential.pk}/",
        "/manage/schedules/new/",
        "/manage/import/",
        "/manage/groups/",
        "/manage/groups/new/",
        f"/manage/groups/{a.group.pk}/",
        "/manage/policies/",
        "/manage/assignments/new/",
        f"/manage/assignments/{Assignment.objects.get().pk}/",
        "/exceptions/",
        f"/exceptions/{exception.pk}/",
    ]


def test_every_form_control_of_every_page_has_a_label(world_with_rows: World) -> None:
    anonymous = Controls()
    anonymous.feed(Client().get("/login/").content.decode())
    problems = {"/login/": anonymous.unlabelled()} if anonymous.unlabelled() else {}
    assert anonymous.controls, "the sign-in page has no controls?"
    client = Client()
    assert client.login(username="root", password=PASSWORD)
    seen = 0
    for url in pages(world_with_rows):
        answer = client.get(url)
        assert answer.status_code == 200, url
        parser = Controls()
        parser.feed(answer.content.decode())
        seen += len(parser.controls)
        if parser.unlabelled():
            problems[url] = parser.unlabelled()
    assert problems == {}
    assert seen > 50  # the walk met the forms


# -- contrast -------------------------------------------------------------------------------------

# The surfaces text sits on: the page, cards and tables, table headers; the header bar is dark.
LIGHT = ("#f5f7f8", "#ffffff", "#eceff1")
DARK = ("#263238",)
BODY_TEXT = "#263238"


def luminance(colour: str) -> float:
    value = colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def ratio(first: str, second: str) -> float:
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def rules() -> list[tuple[str, dict[str, str]]]:
    text = re.sub(r"/\*.*?\*/", "", CSS.read_text(), flags=re.S)
    variables = dict(re.findall(r"(--[\w-]+)\s*:\s*(#[0-9a-fA-F]{3,6})", text))
    found = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", text):
        declarations = {}
        for name, value in re.findall(r"([\w-]+)\s*:\s*([^;]+)", body):
            value = re.sub(r"var\((--[\w-]+)\)", lambda m: variables[m.group(1)], value.strip())
            colour = re.search(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b", value)
            if colour and name in ("color", "background", "background-color"):
                declarations["background" if name != "color" else "color"] = colour.group(0)
        if declarations:
            found.append((" ".join(selector.split()), declarations))
    return found


def test_the_ratio_is_wcags() -> None:
    assert ratio("#000000", "#ffffff") == pytest.approx(21)
    assert ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # WCAG's famous grey


def test_every_text_colour_has_a_contrast_of_at_least_4_5_to_1() -> None:
    pairs = []
    for selector, values in rules():
        colour, background = values.get("color"), values.get("background")
        if colour and background:
            pairs.append((selector, colour, background))
        elif colour:
            dark = "header" in selector or "muted-light" in selector
            pairs += [(selector, colour, b) for b in (DARK if dark else LIGHT)]
        elif background and selector.startswith((".badge", "th", ".tile", ".card", "body")):
            pairs.append((selector, BODY_TEXT, background))  # body text on this background
    assert len(pairs) > 20
    low = [(s, c, b, round(ratio(c, b), 2)) for s, c, b in pairs if ratio(c, b) < 4.5]
    assert low == []
