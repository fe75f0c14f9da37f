"""The SWORD zText reader used to build the verse pairs, on a small synthetic module."""

import struct
import zlib

import pytest

from data_scripts.sword import SwordFormatError, plain_text, verses


def write_module(folder, testament, slots):
    """Write slots (strings) as one zlib block, with the .bzs/.bzv/.bzz layout."""
    folder.mkdir(parents=True, exist_ok=True)
    block = b""
    records = []
    for text in slots:
        data = text.encode()
        records.append(struct.pack("<IIH", 0, len(block), len(data)))
        block += data
    compressed = zlib.compress(block)
    (folder / f"{testament}.bzz").write_bytes(compressed)
    (folder / f"{testament}.bzs").write_bytes(struct.pack("<III", 0, len(compressed), len(block)))
    (folder / f"{testament}.bzv").write_bytes(b"".join(records))


def test_verses_are_numbered_from_chapter_markers(tmp_path):
    write_module(tmp_path, "ot", [
        "",
        '<milestone type="x-importer"/>',
        '<div osisID="Gen" sID="b1" type="book"/><title type="main">The First Book</title>',
        '<chapter n="1" osisID="Gen.1" sID="Gen.1"/>',
        "In the <w lemma=\"strong:H1\">beginning</w>.",
        "",  # an empty slot is still verse 2
        'Third<note placement="foot">a footnote</note> verse \u00b6 here .',
        '<chapter eID="Gen.1"/><div eID="b1" type="book"/>',  # trailing end markers close the book
        '<div osisID="Exod" sID="b2" type="book"/> Exodus introduction',
        '<chapter n="1" osisID="Exod.1" sID="Exod.1"/>',
        "<l level=\"1\"/>Now these<l level=\"2\"/>are the names.",
    ])
    found = dict(verses(tmp_path))
    assert found == {
        ("Gen", 1, 1): "In the beginning.",
        ("Gen", 1, 3): "Third verse here.",
        ("Exod", 1, 1): "Now these are the names.",
    }


def test_plain_text_drops_titles_and_notes():
    markup = '<title type="psalm">A Psalm</title>\u201c <w>Yahweh</w>,\u201d he said<note>x</note>.'
    assert plain_text(markup) == "\u201cYahweh,\u201d he said."


def test_malformed_index_is_reported(tmp_path):
    write_module(tmp_path, "nt", ["a"])
    (tmp_path / "nt.bzv").write_bytes(b"\x00" * 7)
    with pytest.raises(SwordFormatError, match="multiples"):
        list(verses(tmp_path))
