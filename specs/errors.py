"""The error a user's spec mistake raises: one line per problem, naming the file and the key path."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec: where (file, dotted key path) and what was expected."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"


class SpecError(Exception):
    """A spec (or a command-line override) is wrong; nothing has run. The CLI exits 2 with its lines."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def one(cls, file: str, path: str, message: str) -> "SpecError":
        return cls([Problem(file, path, message)])
