"""Matches request paths against Functions route templates such as `runs/{run}`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

PARAMETER = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::[^}?]*)?(\??)\}")


@dataclass(frozen=True)
class RouteTemplate:
    template: str
    pattern: re.Pattern[str]

    @classmethod
    def parse(cls, template: str) -> RouteTemplate:
        regex, position = [], 0
        for match in PARAMETER.finditer(template):
            regex.append(re.escape(template[position : match.start()]))
            catch_all, name, optional = match.groups()
            body = ".*" if catch_all else "[^/]+"
            regex.append(f"(?P<{name}>{body}){'?' if optional else ''}")
            position = match.end()
        regex.append(re.escape(template[position:]))
        return cls(template, re.compile("^" + "".join(regex) + "$", re.IGNORECASE))

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.match(path)
        if found is None:
            return None
        return {k: unquote(v) for k, v in found.groupdict().items() if v is not None}
