"""Stage: gbnf back-end — check GBNF text the way llama.cpp will (and a little stricter).

``check_gbnf(text)`` returns a list of human-readable problems (empty = OK): syntax (lark parser
in :mod:`pegtool.gbnf.syntax`), rule names (``[a-zA-Z0-9-]+``), a ``root`` rule, duplicate and
undefined rules, escapes, empty classes, repetition bounds (``m <= 2000``; ``n > 2000`` silently
means unbounded in llama.cpp, so it is reported too), llama.cpp's "rules x repetitions > 2000"
limit, and left recursion. Left recursion is checked with full nullability (llama.cpp only
follows rules with a literally empty alternative), so anything accepted here passes llama.cpp's
check and cannot loop in its stack machine.
"""

from __future__ import annotations

import re

from pegtool.gbnf.syntax import Group, Item, Lit, Parsed, Rule, RuleRef, parse_gbnf

MAX_REPETITION = 2000
_VALID_NAME = re.compile(r"[a-zA-Z0-9-]+")


def check_gbnf(text: str) -> list[str]:
    """Problems llama.cpp would reject (or silently change) in ``text``; ``[]`` means OK."""
    parsed = parse_gbnf(text)
    if not parsed.rules and parsed.errors:
        return parsed.errors
    errors = list(parsed.errors)
    errors += _check_names(parsed)
    errors += _RepetitionCheck().run(parsed.rules)
    if not errors:
        errors += left_recursion(parsed.rules)
    return errors


def _check_names(parsed: Parsed) -> list[str]:
    errors: list[str] = []
    defined: dict[str, int] = {}
    for rule in parsed.rules:
        if not _VALID_NAME.fullmatch(rule.name):
            errors.append(f"line {rule.line}: invalid rule name {rule.name!r} (only [a-zA-Z0-9-] allowed)")
        if rule.name in defined:
            errors.append(
                f"line {rule.line}: rule {rule.name!r} defined twice (first at line {defined[rule.name]})"
            )
        defined.setdefault(rule.name, rule.line)
    if "root" not in defined:
        errors.append("no 'root' rule")
    for rule in parsed.rules:
        for ref in _refs(rule.alts):
            if ref.name not in defined:
                errors.append(f"line {ref.line}: undefined rule {ref.name!r} (referenced in {rule.name!r})")
            elif not _VALID_NAME.fullmatch(ref.name):
                errors.append(f"line {ref.line}: invalid rule name {ref.name!r} in a reference")
    return errors


def _refs(alts: list[list[Item]]) -> list[RuleRef]:
    out: list[RuleRef] = []
    for seq in alts:
        for item in seq:
            if isinstance(item.atom, RuleRef):
                out.append(item.atom)
            elif isinstance(item.atom, Group):
                out += _refs(item.atom.alts)
    return out


class _RepetitionCheck:
    """Bounds, plus llama.cpp's limit on (symbols created by the repeated group) x (repetitions);
    symbol ids are counted in source order exactly as llama.cpp's parser creates them."""

    def __init__(self) -> None:
        self.ids = 0
        self.names: set[str] = set()
        self.errors: list[str] = []
        self.rule = ""

    def run(self, rules: list[Rule]) -> list[str]:
        for rule in rules:
            self.rule = rule.name
            self._name(rule.name)
            self._alts(rule.alts)
        return self.errors

    def _name(self, name: str) -> None:
        if name not in self.names:
            self.names.add(name)
            self.ids += 1

    def _alts(self, alts: list[list[Item]]) -> None:
        for seq in alts:
            for item in seq:
                self._item(item)

    def _item(self, item: Item) -> None:
        n_prev = 1
        if isinstance(item.atom, RuleRef):
            self._name(item.atom.name)
        elif isinstance(item.atom, Group):
            before = self.ids
            self.ids += 1
            self._alts(item.atom.alts)
            n_prev = max(1, self.ids - before)
        for lo, hi in item.reps:
            n_prev = self._rep(lo, hi, n_prev)

    def _rep(self, lo: int, hi: int | None, n_prev: int) -> int:
        where = f"rule {self.rule!r}"
        if lo > MAX_REPETITION:
            self.errors.append(f"{where}: repetition minimum {lo} > {MAX_REPETITION}")
            return n_prev
        if hi is not None and hi > MAX_REPETITION:
            self.errors.append(
                f"{where}: repetition maximum {hi} > {MAX_REPETITION} (llama.cpp makes it unbounded)"
            )
            hi = None
        if hi is not None and hi < lo:
            self.errors.append(f"{where}: repetition {{{lo},{hi}}} has max < min")
            return n_prev
        total = hi if hi else (lo if lo > 0 else 1)
        if n_prev * total > MAX_REPETITION:
            self.errors.append(
                f"{where}: a group creating {n_prev} rules repeated {total} times exceeds llama.cpp's "
                f"limit of {MAX_REPETITION}; move the group into its own rule"
            )
        self.ids += 1 if hi is None else hi - lo
        return n_prev * total


def _nullable_rules(rules: list[Rule]) -> dict[str, bool]:
    """The nullable rules (least fixpoint, with a work list: a rule is looked at again only when
    a rule it refers to became nullable, so a long chain of rules costs linear time)."""
    known = {r.name: False for r in rules}
    users: dict[str, list[int]] = {}
    for idx, r in enumerate(rules):
        for ref in _refs(r.alts):
            users.setdefault(ref.name, []).append(idx)
    work = list(range(len(rules) - 1, -1, -1))
    while work:
        r = rules[work.pop()]
        if not known[r.name] and _alts_nullable(r.alts, known):
            known[r.name] = True
            work.extend(users.get(r.name, ()))
    return known


def _alts_nullable(alts: list[list[Item]], known: dict[str, bool]) -> bool:
    return any(all(_item_nullable(i, known) for i in seq) for seq in alts)


def _item_nullable(item: Item, known: dict[str, bool]) -> bool:
    if any(lo == 0 for lo, _ in item.reps):
        return True
    atom = item.atom
    if isinstance(atom, Lit):
        return not atom.chars
    if isinstance(atom, RuleRef):
        return known.get(atom.name, False)
    if isinstance(atom, Group):
        return _alts_nullable(atom.alts, known)
    return False


def _first_refs(alts: list[list[Item]], known: dict[str, bool]) -> set[str]:
    out: set[str] = set()
    for seq in alts:
        for item in seq:
            if isinstance(item.atom, RuleRef):
                out.add(item.atom.name)
            elif isinstance(item.atom, Group):
                out |= _first_refs(item.atom.alts, known)
            if not _item_nullable(item, known):
                break
    return out


def left_recursion(rules: list[Rule]) -> list[str]:
    """One message per left-recursive cycle (nullable-aware)."""
    known = _nullable_rules(rules)
    graph = {r.name: sorted(_first_refs(r.alts, known)) for r in rules}
    errors: list[str] = []
    state: dict[str, int] = {}  # 1 = in progress, 2 = done
    for start in graph:
        cycle = _find_cycle(start, graph, state)
        if cycle:
            errors.append("left recursion: " + " -> ".join(cycle))
    errors += _nullable_repeats(rules, known)
    return errors


def _find_cycle(start: str, graph: dict[str, list[str]], state: dict[str, int]) -> list[str] | None:
    if state.get(start):
        return None
    path, stack = [start], [iter(graph.get(start, []))]
    state[start] = 1
    while stack:
        nxt = next(stack[-1], None)
        if nxt is None:
            state[path.pop()] = 2
            stack.pop()
        elif state.get(nxt) == 1:
            return path[path.index(nxt) :] + [nxt]
        elif not state.get(nxt):
            state[nxt] = 1
            path.append(nxt)
            stack.append(iter(graph.get(nxt, [])))
    return None


def _nullable_repeats(rules: list[Rule], known: dict[str, bool]) -> list[str]:
    """``x*`` / ``x+`` / ``x{m,}`` with a nullable ``x`` is left-recursive after llama.cpp's rewrite."""
    errors: list[str] = []

    def visit(alts: list[list[Item]], rule: str) -> None:
        for seq in alts:
            for item in seq:
                inner = Item(item.atom, [])
                if any(hi is None or hi > MAX_REPETITION for _, hi in item.reps) and _item_nullable(
                    inner, known
                ):
                    errors.append(
                        f"left recursion: rule {rule!r} repeats something that can match the empty string"
                    )
                if isinstance(item.atom, Group):
                    visit(item.atom.alts, rule)

    for r in rules:
        visit(r.alts, r.name)
    return errors
