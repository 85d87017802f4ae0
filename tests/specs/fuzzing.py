"""Seeded mutation fuzzing of ``podium validate``: a valid spec and command line, mutated the ways a
hostile or careless submitter would (hostile values at random keys, broken text and bytes, alias
bombs, deep nesting, duplicate keys, odd ``extends``, ``--set`` items), run in this process.

Every case must end in exit 0 or exit 2; on exit 2 every stderr line is ``error: <where>: ...``
naming the spec file, a file it names, or ``--set``; nothing may raise (a traceback) and the
secret in the environment may appear in no output. Shared by the default test (a few hundred
cases) and ``tests/perf/fuzz.py`` (thousands, with a tally of how each ended).
"""
from __future__ import annotations

import contextlib
import copy
import io
import os
import random
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

SECRET = "podium-fuzz-secret-7f3a"  # set as PODIUM_SECRET while fuzzing: no output may contain it
SECRET_VAR = "PODIUM_SECRET"

BASE: dict[str, Any] = {
    "name": "fuzz",
    "track": "env",  # `${oc.${track}:X}` spells oc.env
    "dataset": {"name": "digits", "params": {"test_fraction": 0.2}},
    "model": {"name": "small_cnn", "params": {"width": 8, "dropout": 0.1}},
    "task": {"name": "distillation", "params": {"method": "student_only", "epochs": 2, "lr": 0.05}},
    "metrics": ["accuracy"],
    "matrix": {"task.params.method": ["student_only", "vanilla_kd"]},
    "seeds": [0, 1],
}

RESOLVERS = [
    "${oc.env:PODIUM_SECRET}", "${oc.${track}:PODIUM_SECRET}", "x-${oc.env:PODIUM_SECRET}-y", "${oc.env:PODIUM_SECRET,none}",
    "${oc.decode:'${oc.env:PODIUM_SECRET}'}", "${oc.create:{a: 1}}", "${oc.select:track}", "${oc.dict.keys:dataset}",
    "${oc.env:${name}}", "${task.params.${oc.env:PODIUM_SECRET}}", "${ oc.env : PODIUM_SECRET }", "${oc.deprecated:track}",
    "${oc.${name}.env:PODIUM_SECRET}", "${env:PODIUM_SECRET}", "${oc.coerce:${oc.env:PODIUM_SECRET}}", "$${oc.env:PODIUM_SECRET}",
    "${oc.env:PODIUM_SECRET}${oc.env:PODIUM_SECRET}", "${${track}:PODIUM_SECRET}",
]
VALUES: list[Any] = [
    *RESOLVERS, None, "", "???", "\\${oc.env:PODIUM_SECRET}", "${track}", "${nowhere.at.all}", "${", "}", "${a", 2**63, -(2**63) - 1,
    2**32, -1, 0, 1e308, float("inf"), float("nan"), True, [], {}, [[[]]], {"a": {"b": {"c": None}}}, "x" * 5000,
    "<script>alert(1)</script>", "a|b`c`", "\u202e\u0000\ufeff", "ünïcode", [1, "two", None], {"name": 3}, 10**30,
]
KEYS = ["name", "track", "dataset", "dataset.name", "dataset.params", "dataset.params.test_fraction", "model", "model.name",
        "model.params.width", "task", "task.name", "task.params.method", "task.params.epochs", "task.params.lr", "metrics",
        "metrics[0]", "matrix", "seeds", "seeds[0]", "device", "timeout_s", "resources", "resources.cpus", "extends",
        "published", "plugins", "kind", "check", "method_card", "unknown_key", "task.params.teacher"]


@dataclass(frozen=True)
class Case:
    """One fuzzed invocation: the spec file's bytes, extra files beside it, and the command line."""

    text: bytes
    extra: dict[str, bytes]
    sets: tuple[str, ...]
    flags: tuple[str, ...]
    how: str  # which mutation made it


def cases(seed: int, count: int) -> list[Case]:
    """``count`` cases from a seeded stream: the same seed gives the same cases."""
    rng = random.Random(seed)
    return [_case(rng) for _ in range(count)]


def _case(rng: random.Random) -> Case:
    spec = copy.deepcopy(BASE)
    how = rng.choice(list(MUTATIONS))
    text, extra, sets, flags = MUTATIONS[how](rng, spec)
    return Case(text, extra, tuple(sets), tuple(flags), how)


def _dump(spec: Any) -> bytes:
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True).encode("utf-8")


def _put(spec: dict[str, Any], key: str, value: Any) -> None:
    """Set a dotted key (``a.b``, ``a[0]``) in plain data, making mappings on the way."""
    node: Any = spec
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", key)
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part.startswith("["):
            index = int(part[1:-1])
            if not isinstance(node, list) or index >= len(node):
                return
            if last:
                node[index] = value
            else:
                node = node[index]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                if not isinstance(node.get(part), (dict, list)):
                    node[part] = {}
                node = node[part]
        else:
            return


def _hostile_value(rng: random.Random, spec: dict[str, Any]):
    for _ in range(rng.randint(1, 3)):
        _put(spec, rng.choice(KEYS), copy.deepcopy(rng.choice(VALUES)))
    return _dump(spec), {}, [], []


def _delete_key(rng: random.Random, spec: dict[str, Any]):
    top = rng.choice(list(spec))
    if isinstance(spec[top], dict) and spec[top] and rng.random() < 0.5:
        spec[top].pop(rng.choice(list(spec[top])))
    else:
        spec.pop(top)
    return _dump(spec), {}, [], []


def _broken_text(rng: random.Random, spec: dict[str, Any]):
    text = bytearray(_dump(spec))
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(text) + 1)
        kind = rng.random()
        if kind < 0.3:
            text[at:] = text[at:][: rng.randint(0, 40)]  # truncated
        elif kind < 0.6:
            text[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 6)))  # any bytes, UTF-8 or not
        else:
            text[at:at] = rng.choice([b"\t", b": ", b"- ", b"[", b"{", b"&a ", b"*a", b"!!python/object:os.system ", b"\n  ", b"'", b"%YAML 1.1\n---\n"])
    return bytes(text), {}, [], []


def _alias_bomb(rng: random.Random, spec: dict[str, Any]):
    width, depth = rng.randint(2, 12), rng.randint(3, 14)
    lines = [f"b0: &b0 [{', '.join(['x'] * width)}]"]
    for i in range(1, depth):
        items = ", ".join([f"*b{i - 1}"] * width)
        lines.append(f"b{i}: &b{i} [{items}]" if rng.random() < 0.7 else f"b{i}: &b{i} {{{', '.join(f'k{j}: *b{i - 1}' for j in range(width))}}}")
    where = rng.choice(["method_card", "dataset.params", "task.params", "unknown"])
    bomb = "\n".join(lines) + "\n"
    body = _dump(spec).decode()
    if where == "unknown":
        return (bomb + body).encode(), {}, [], []
    key = where.split(".")[-1]
    return (body + f"{key}_bomb:\n" + "".join(f"  {line}\n" for line in lines)).encode(), {}, [], []


def _deep(rng: random.Random, spec: dict[str, Any]):
    depth = rng.choice([65, 100, 1000, 20000])
    style = rng.random()
    if style < 0.5:
        value = "[" * depth + "]" * depth
    elif style < 0.8:
        value = "{a: " * depth + "1" + "}" * depth
    else:
        return (_dump(spec).decode() + "deep:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(min(depth, 500)))).encode(), {}, [], []
    return (_dump(spec).decode() + f"deep: {value}\n").encode(), {}, [], []


def _duplicate(rng: random.Random, spec: dict[str, Any]):
    body = _dump(spec).decode()
    lines = body.splitlines()
    top = [line for line in lines if line and not line.startswith((" ", "-"))]
    line = rng.choice(top)
    if rng.random() < 0.5:
        return (body + line + ("\n" if ":" in line and not line.rstrip().endswith(":") else " {}\n")).encode(), {}, [], []
    return body.replace("params:\n", "params:\n    epochs: 1\n    epochs: 2\n", 1).encode(), {}, [], []


def _extends(rng: random.Random, spec: dict[str, Any]):
    extra: dict[str, bytes] = {}
    target = rng.choice([
        "/etc/passwd", "~/.bashrc", "/dev/zero", "/tmp", "base.yaml", "spec.yaml", "a\x00b.yaml", "x/" * 600 + "y.yaml",
        "base.json", "../" * 30 + "etc/hosts.yaml", 5, ["base.yaml"], {"a": 1}, "chain0.yaml", "missing.yaml",
    ])
    if target == "base.yaml":
        base = copy.deepcopy(BASE)
        _put(base, rng.choice(["model", "task", "matrix", "metrics", "dataset.params"]), rng.choice([[1, 2], "text", 3, {"x": 1}]))
        extra["base.yaml"] = _dump(base)
    if target == "chain0.yaml":
        for i in range(20):
            extra[f"chain{i}.yaml"] = f"extends: chain{i + 1}.yaml\n".encode()
        extra["chain20.yaml"] = _dump(BASE)
    child = {"extends": target, "name": "child"}
    if rng.random() < 0.5:
        child["model"] = rng.choice([[1], {"params": [1]}, "x", {"name": "small_cnn", "params": {"width": "wide"}}])
    return _dump(child), extra, [], []


def _sets(rng: random.Random, spec: dict[str, Any]):
    sets = []
    for _ in range(rng.randint(1, 3)):
        key = rng.choice([*KEYS, "seeds[0]", "seeds.0", "a..b", "[x]", "matrix[task.params.method]", "=", "", "task.params.method"])
        value = rng.choice([*RESOLVERS, "[1, 2", "{a: 1}", "[&a [1,1,1,1,1,1,1,1], [*a,*a,*a,*a]]", "!!binary aGk=", "5", "-1",
                            "4294967296", "9" * 30, "", "null", "[]", "'${track}'"])
        sets.append(f"{key}={value}" if rng.random() < 0.9 else key)
    return _dump(spec), {}, sets, []


def _matrix_explosion(rng: random.Random, spec: dict[str, Any]):
    keys = ["task.params.lr", "task.params.epochs", "model.params.width", "model.params.dropout", "task.params.margin"]
    spec["matrix"] = {key: list(range(1, rng.randint(2, 60))) for key in rng.sample(keys, rng.randint(2, 5))}
    flags = ["--max-runs", str(rng.choice([1, 10, 2000]))] if rng.random() < 0.5 else []
    return _dump(spec), {}, [], flags


def _huge_numbers(rng: random.Random, spec: dict[str, Any]):
    number = rng.choice(["9" * 30, "-" + "9" * 25, "0x" + "f" * 20, "9" * 5000, "1e400", "-.inf", ".nan", "0o777777777777777777777777", "1_000_000_000_000_000_000_000"])
    key = rng.choice(["seeds: [{}]", "task:\n  name: distillation\n  params: {{epochs: {}}}", "timeout_s: {}", "unknown: {}"])
    body = _dump({k: v for k, v in spec.items() if not (key.startswith(k + ":"))}).decode()
    return (body + key.format(number) + "\n").encode(), {}, [], []


MUTATIONS: dict[str, Callable[[random.Random, dict[str, Any]], tuple[bytes, dict[str, bytes], list[str], list[str]]]] = {
    "hostile value": _hostile_value, "deleted key": _delete_key, "broken text": _broken_text, "alias bomb": _alias_bomb,
    "deep nesting": _deep, "duplicate key": _duplicate, "extends": _extends, "--set": _sets, "matrix explosion": _matrix_explosion,
    "huge number": _huge_numbers,
}


@dataclass(frozen=True)
class Outcome:
    case: Case
    code: int | None  # None: it raised
    out: str
    err: str
    seconds: float
    problem: str | None  # what is wrong with how it ended, if anything


def run_case(case: Case, folder: Path, main: Callable[[list[str]], int]) -> Outcome:
    """Write the case's files into ``folder`` and run ``podium validate`` on it in this process."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "spec.yaml"
    spec.write_bytes(case.text)
    for name, data in case.extra.items():
        (folder / name).write_bytes(data)
    argv = ["validate", str(spec), *(item for s in case.sets for item in ("--set", s)), *case.flags]
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    code: int | None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except BaseException as raised:  # a traceback: the finding
        code = None
        err.write(f"{type(raised).__name__}: {raised}")
    seconds = time.perf_counter() - started
    return Outcome(case, code, out.getvalue(), err.getvalue(), seconds, _judge(code, out.getvalue(), err.getvalue(), folder))


def _judge(code: int | None, out: str, err: str, folder: Path) -> str | None:
    if code is None:
        return f"raised: {err[:300]}"
    if SECRET in out or SECRET in err:
        return "the secret reached the output"
    if code == 0:
        bad = [line for line in out.splitlines() if not line.startswith(("ok: ", "note: "))]
        return f"exit 0 with unexpected output {bad[:2]}" if bad else None
    if code != 2:
        return f"exit {code}"
    lines = err.splitlines()
    if not lines:
        return "exit 2 without a message"
    for line in lines:
        if not line.startswith("error: "):
            return f"a line that is not an error line: {line[:200]!r}"
        where = line.removeprefix("error: ")
        if not (where.startswith(str(folder)) or where.startswith("--set")):
            return f"an error that names no file: {line[:200]!r}"
    return None


def tally(outcomes: list[Outcome]) -> Counter[str]:
    """How the cases ended: ``ok``, ``refused: <first words of the message>``, or the problem."""
    counts: Counter[str] = Counter()
    for outcome in outcomes:
        if outcome.problem:
            counts[f"PROBLEM {outcome.problem[:60]}"] += 1
        elif outcome.code == 0:
            counts["ok"] += 1
        else:
            message = outcome.err.splitlines()[0].split(": ", 3)[-1]
            counts["refused: " + " ".join(re.sub(r"'[^']*'|\d+", "_", message).split()[:4])] += 1
    return counts


@contextlib.contextmanager
def secret_in_environment():
    """The fuzzing secret in the environment (what a resolver would read), removed afterwards."""
    before = os.environ.get(SECRET_VAR)
    os.environ[SECRET_VAR] = SECRET
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(SECRET_VAR, None)
        else:
            os.environ[SECRET_VAR] = before
