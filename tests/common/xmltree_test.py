"""xmltree.fromstring: ElementTree's tree, with a bound on depth."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET

import pytest

from vdsm.common import xmltree


def nested(depth: int) -> str:
    return "<x>" * depth + "</x>" * depth


def test_same_tree_as_elementtree():
    text = ("<domain xmlns:o='http://ovirt.org/vm/1.0' a='1'>t<o:vm>"
            "<o:k>v</o:k></o:vm><!-- c --><b/>tail</domain>")
    assert ET.tostring(xmltree.fromstring(text)) == \
        ET.tostring(ET.fromstring(text))


def test_depth_at_the_limit_parses():
    root = xmltree.fromstring(nested(xmltree.MAX_DEPTH))
    copy.deepcopy(root)
    ET.tostring(root)


@pytest.mark.parametrize("depth", [xmltree.MAX_DEPTH + 1, 200_000])
def test_deeper_is_a_parse_error(depth):
    with pytest.raises(ET.ParseError, match="nested deeper than 256"):
        xmltree.fromstring(nested(depth))


def test_malformed_still_a_parse_error():
    with pytest.raises(ET.ParseError):
        xmltree.fromstring("<a><b></a>")
