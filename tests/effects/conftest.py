"""The name table's coverage of the draft writers' enums, shared by test_names.py and printed
as a report line at the end of every run that collects tests/effects."""

from __future__ import annotations

from dataclasses import dataclass

import pycapcut.metadata as cc_meta
import pyJianYingDraft.metadata as jy_meta
import pytest

from draftrender.effects.names import Match, resolve

ENUMS = {
    "transition": ("TransitionType",),
    "animation": ("IntroType", "OutroType", "GroupAnimationType", "TextIntro", "TextOutro", "TextLoopAnim"),
}
WRITERS = {"pyJianYingDraft": jy_meta, "pycapcut": cc_meta}


@dataclass(frozen=True)
class Coverage:
    family: str
    writer: str
    matches: dict[str, Match]

    @property
    def by_keyword(self) -> int:
        return sum(1 for m in self.matches.values() if m.keyword)

    @property
    def share(self) -> float:
        return self.by_keyword / len(self.matches)

    def line(self) -> str:
        return (f"{self.writer} {self.family} names: {len(self.matches)}, {self.by_keyword} by keyword "
                f"({self.share:.0%}), {len(self.matches) - self.by_keyword} by the default")


def enum_names(module, enum: str) -> set[str]:
    return {getattr(m.value, "name", None) or m.value.title for m in getattr(module, enum)}


def coverage() -> list[Coverage]:
    out = []
    for writer, module in WRITERS.items():
        for family, enums in ENUMS.items():
            names = set().union(*(enum_names(module, e) for e in enums))
            out.append(Coverage(family, writer, {n: resolve(family, n) for n in sorted(names)}))
    return out


@pytest.fixture(scope="session")
def name_coverage() -> list[Coverage]:
    return coverage()


def pytest_terminal_summary(terminalreporter):
    if not any("tests/effects" in str(item) for item in terminalreporter.stats.get("passed", []) +
               terminalreporter.stats.get("failed", [])):
        return
    terminalreporter.write_sep("-", "effect name table")
    for c in coverage():
        terminalreporter.write_line(c.line())
