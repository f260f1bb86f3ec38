"""Quoting for the few names and values that must be pasted into SQL text (everything else is a parameter)."""

from __future__ import annotations


def ident(name: str) -> str:
    """A double-quoted SQL identifier (a quote inside is doubled)."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A single-quoted SQL string literal (a quote inside is doubled), e.g. a file path for ATTACH or COPY."""
    return "'" + value.replace("'", "''") + "'"


def column_definitions(ddl: str) -> list[tuple[str, str]]:
    """(name, type) of each column of a table definition "a varchar, b decimal(18, 2) not null, ..."; the
    type keeps its constraints. Used to add the columns a newer version defines to an older table."""
    parts, depth, current = [], 0, ""
    for char in ddl:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [(p.strip().split(None, 1)[0], p.strip().split(None, 1)[1]) for p in parts if p.strip()]
