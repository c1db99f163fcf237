"""Shapes: what the writer records of a document part, and how lxml builds the tree from them.

The writer walks the models in DTD order and records two lists per part: its *shape* (element
starts and ends, attributes whose values are taken as constant, and where each value goes) and its
*values* (texts, tails and the attributes that differ from line to line). ``Builder`` makes the
tree with lxml from both, element by element, as the writer goes.

Order and cart lines repeat a handful of shapes (the same children, currency, language,
classification domain...). The first line of each shape is built element by element; every later
line of that shape is a copy of a template made from it (one C call for the whole subtree) with
its own values set. A line's shape is its cache key, so a copy can only be used for a line with
exactly the same elements, constant attributes and value slots; a wrong guess of what is constant
costs speed (more lines built element by element), never correctness.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


class Qualified:
    """Starts an element declaring namespace prefixes, as its source did (markup a buyer sent in a
    BuyerCookie): lxml would otherwise name the namespaces ns0, ns1..."""

    __slots__ = ("nsmap", "tag")

    def __init__(self, tag: str, nsmap: dict[str | None, str]) -> None:
        self.tag = tag
        self.nsmap = nsmap

    def __repr__(self) -> str:
        return f"Qualified({self.tag!r}, {self.nsmap!r})"


class Leaf:
    """An element with no attributes nor children whose text is the next value: one token for three."""

    __slots__ = ("tag",)

    def __init__(self, tag: str) -> None:
        self.tag = tag

    def __repr__(self) -> str:
        return f"Leaf({self.tag!r})"


class Builder:
    """Builds a document under ``root`` as the writer records it, part after part.

    ``add`` takes any part (it may open elements that a later part closes); ``line`` takes one whole
    line, and copies the template of its shape when an earlier line had that shape.
    """

    __slots__ = ("ancestors", "last", "lines", "node")

    def __init__(self, root: Element) -> None:
        self.node = self.last = root
        # The open elements' proxies, kept alive: getparent() would make each one anew.
        self.ancestors: list[Element] = []
        # By shape: the first line built (then the template made from it for the second line),
        # the first line's values, and where the values go (worked out for the second line).
        self.lines: dict[tuple[object, ...], list[Any]] = {}

    def add(self, shape: Sequence[object], values: Sequence[str | None]) -> None:
        self.node, self.last = _build(self.node, self.ancestors, self.last, shape, values)

    def line(self, shape: tuple[object, ...], values: Sequence[str | None]) -> None:
        parent = self.node
        built = self.lines.get(shape)
        if built is None:
            _build(parent, [], parent, shape, values)
            self.lines[shape] = [parent[-1], list(values), None]
            return
        template, first, slots = built
        if slots is None:  # the second line of this shape: make the template the others copy
            slots = built[2] = _slots(shape)
            template = built[0] = _template(template, slots)
        texts, tails, attributes = slots
        line = template.__copy__()  # the whole subtree, in C; copy.copy would add a lookup
        parent.append(line)
        nodes = list(line.iter())
        for node, index in texts:
            nodes[node].text = values[index]
        for node, index in tails:
            nodes[node].tail = values[index]
        # Attributes are dearer to set than texts, and quantities often repeat: set them only
        # when they differ from the first line's (which the template has).
        for node, name, index in attributes:
            value = values[index]
            if value != first[index]:
                nodes[node].set(name, value)


def _build(
    node: Element, ancestors: list[Element], last: Element, shape: Sequence[object], values: Sequence[str | None]
) -> tuple[Element, Element]:
    """Build ``shape`` from ``node``, element by element; the open element and the last closed one after."""
    value = iter(values).__next__
    for token in shape:
        kind = token.__class__
        if kind is str:
            ancestors.append(node)
            node = _SubElement(node, token)  # type: ignore[arg-type]
        elif token is END:
            last = node
            node = ancestors.pop()
        elif kind is tuple:
            node.set(*token)  # type: ignore[misc]
        elif token is TEXT:
            node.text = value()
        elif kind is Leaf:
            last = _SubElement(node, token.tag)  # type: ignore[attr-defined]
            last.text = value()
        elif kind is Var:
            node.set(token.name, value())  # type: ignore[attr-defined, arg-type]
        elif kind is Qualified:
            ancestors.append(node)
            node = _SubElement(node, token.tag, nsmap=token.nsmap)  # type: ignore[attr-defined]
        elif token is TAIL:
            last.tail = value()
        else:
            raise TypeError(f"Not a shape token: {token!r}")
    return node, last


# Where a shape's values go: texts and tails as (node index, value index), attributes as (node
# index, name, value index). Node indexes are in document order, the order of ``iter()``.
_Slots = tuple[list[tuple[int, int]], list[tuple[int, int]], list[tuple[int, str, int]]]


def _slots(shape: tuple[object, ...]) -> _Slots:
    texts: list[tuple[int, int]] = []
    tails: list[tuple[int, int]] = []
    attributes: list[tuple[int, str, int]] = []
    started = -1
    open_nodes: list[int] = []
    last = -1
    value = 0
    for token in shape:
        if token.__class__ is str or token.__class__ is Qualified:
            started += 1
            open_nodes.append(started)
            continue
        if token.__class__ is Leaf:
            started += 1
            last = started
            texts.append((started, value))
        elif token is END:
            last = open_nodes.pop()
            continue
        elif token is TEXT:
            texts.append((open_nodes[-1], value))
        elif token is TAIL:
            tails.append((last, value))
        elif isinstance(token, Var):
            attributes.append((open_nodes[-1], token.name, value))
        else:  # a constant attribute
            continue
        value += 1
    return texts, tails, attributes


def _template(line: Element, slots: _Slots) -> Element:
    """A copy of ``line`` without its texts and tails, which every copy of it sets anew: copying them
    too would only make nodes to throw away. Its attributes stay, to keep their order."""
    template: Element = line.__copy__()  # type: ignore[attr-defined]  # (copy.copy: one more import)
    nodes = list(template.iter())
    texts, tails, _ = slots
    for node, _index in texts:
        nodes[node].text = None
    for node, _index in tails:
        nodes[node].tail = None
    return template
