"""Parsing XML a client sent, with a bound on its depth.

    root = xmltree.fromstring(text)     # an ElementTree Element

ElementTree parses a document nested 200,000 deep without complaint, but
what comes next does not survive it: serialising recurses in Python
(RecursionError), ``copy.deepcopy`` recurses in C (the process dies of a
stack overflow). ``fromstring`` stops at ``MAX_DEPTH`` open elements, the
default limit of libxml2 (libvirt's parser), with ``TooDeep``, a
``ParseError``, so callers treat it as any malformed document.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

MAX_DEPTH = 256


class TooDeep(ET.ParseError):
    """The document nests elements deeper than the limit."""


class _Builder(ET.TreeBuilder):
    def __init__(self, max_depth: int) -> None:
        super().__init__()
        self._depth = 0
        self._max_depth = max_depth

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        self._depth += 1
        if self._depth > self._max_depth:
            raise TooDeep(f"elements nested deeper than {self._max_depth}")
        return super().start(tag, attrs)

    def end(self, tag: str) -> ET.Element:
        self._depth -= 1
        return super().end(tag)


def fromstring(text: str, max_depth: int = MAX_DEPTH) -> ET.Element:
    parser = ET.XMLParser(target=_Builder(max_depth))
    parser.feed(text)
    return parser.close()
