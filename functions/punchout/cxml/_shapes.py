"""Shapes: what the writer records of a document part, and how lxml builds the tree from them.

The writer walks the models in DTD order and records two lists per part: its *shape* (element
starts and ends, attributes whose values are taken as constant, and where each value goes) and its
*values* (texts, tails and the attributes that differ from line to line). ``build`` makes the tree
with lxml from both, element by element.

Order and cart lines repeat a handful of shapes (the same children, currency, language,
classification domain...). The first line of each shape is built element by element; every later
line of that shape is a copy of it (one C call for the whole subtree) with its own values set. A
line's shape is its cache key, so a copy can only be used for a line with exactly the same
elements, constant attributes and value slots; a wrong guess of what is constant costs speed
(more lines built element by element), never correctness.
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

Element = etree._Element
_SubElement = etree.SubElement


class _Token:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


# A str in a shape starts an element; a (name, value) tuple is a constant attribute of it.
END = _Token("END")  # closes the element last started
TEXT = _Token("TEXT")  # the next value is the text of the open element (None: no text)
TAIL = _Token("TAIL")  # the next value is the tail of the element last closed


class Var:
    """An attribute whose value is taken from the values, as it differs from one line to the next."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Var({self.name!r})"


class Line:
    """One order or cart line in the shape of its document: its own shape (the cache key) and values."""

    __slots__ = ("shape", "values")

    def __init__(self, shape: tuple[object, ...], values: list[str | None]) -> None:
        self.shape = shape
        self.values = values


# Where each value of a shape goes: (node index in document order, TEXT, TAIL or an attribute name).
_Slot = tuple[int, object]
# The first line built for a shape, its values, and its slots.
_Built = tuple[Element, list[str | None], list[_Slot]]


def build(parent: Element, shape: Sequence[object], values: Sequence[str | None]) -> None:
    """Build ``shape`` with ``values`` under ``parent``, copying repeated lines."""
    _build(parent, shape, values, {})


def _build(
    parent: Element, shape: Sequence[object], values: Sequence[str | None], lines: dict[tuple[object, ...], _Built]
) -> None:
    value = iter(values).__next__
    node = last = parent
    for token in shape:
        kind = token.__class__
        if kind is str:
            node = _SubElement(node, token)  # type: ignore[arg-type]
        elif token is END:
            last = node
            node = node.getparent()  # type: ignore[assignment]
        elif token is TEXT:
            node.text = value()
        elif kind is tuple:
            node.set(*token)  # type: ignore[misc]
        elif kind is Var:
            node.set(token.name, value())  # type: ignore[attr-defined, arg-type]
        elif token is TAIL:
            last.tail = value()
        elif kind is Line:
            _line(node, token, lines)  # type: ignore[arg-type]
        else:
            raise TypeError(f"Not a shape token: {token!r}")


def _line(parent: Element, line: Line, lines: dict[tuple[object, ...], _Built]) -> None:
    values = line.values
    built = lines.get(line.shape)
    if built is None:
        _build(parent, line.shape, values, lines)
        lines[line.shape] = (parent[-1], values, _slots(line.shape))
        return
    source, first, slots = built
    copy = source.__copy__()  # type: ignore[attr-defined]  # the whole subtree, in C; copy.copy adds a lookup
    parent.append(copy)
    # The copy has the first line's values: set only those that differ (units, currencies,
    # classifications and quantities often repeat), and make proxies only if a child needs one.
    nodes: list[Element] = []
    for index, value in enumerate(values):
        if value != first[index]:
            node, kind = slots[index]
            if node:
                if not nodes:
                    nodes = list(copy.iter())
                target = nodes[node]
            else:
                target = copy
            if kind is TEXT:
                target.text = value
            elif kind is TAIL:
                target.tail = value
            else:
                target.set(kind, value)  # type: ignore[arg-type]


def _slots(shape: tuple[object, ...]) -> list[_Slot]:
    """Where a shape's values go, by node index in document order (the order of ``iter()``)."""
    slots: list[_Slot] = []
    started = -1
    open_nodes: list[int] = []
    last = -1
    for token in shape:
        if token.__class__ is str:
            started += 1
            open_nodes.append(started)
        elif token is END:
            last = open_nodes.pop()
        elif token is TEXT:
            slots.append((open_nodes[-1], TEXT))
        elif token is TAIL:
            slots.append((last, TAIL))
        elif isinstance(token, Var):
            slots.append((open_nodes[-1], token.name))
    return slots
