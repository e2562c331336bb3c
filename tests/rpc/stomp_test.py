"""STOMP frames, sans-IO: bytes in, frames out."""

from __future__ import annotations

import random

import pytest

from vdsm.rpc import stomp


def frame_bytes(command: str, headers: dict[str, str], body: bytes = b"",
                ) -> bytes:
    return stomp.encode(stomp.Frame(command, headers, body))


def test_round_trip():
    data = frame_bytes("SEND", {"destination": "a", "reply-to": "b"},
                       b'{"x": 1}')
    frames = stomp.Parser().feed(data)
    assert len(frames) == 1
    frame = frames[0]
    assert frame.command == "SEND"
    assert frame.headers["destination"] == "a"
    assert frame.headers["content-length"] == "8"
    assert frame.body == b'{"x": 1}'


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_split_frames(size):
    data = (frame_bytes("SEND", {"destination": "a"}, b"first")
            + b"\n\n" + frame_bytes("SEND", {"destination": "b"}, b"2nd"))
    parser = stomp.Parser()
    frames = []
    for i in range(0, len(data), size):
        frames += parser.feed(data[i:i + size])
    assert [f.body for f in frames] == [b"first", b"2nd"]
    assert [f.headers["destination"] for f in frames] == ["a", "b"]
    assert parser.heartbeats == 2


def test_heartbeats_only():
    parser = stomp.Parser()
    assert parser.feed(b"\n\r\n\n") == []
    assert parser.heartbeats == 3


def test_escaped_headers_round_trip():
    value = "a:b\\c\nd\re"
    data = frame_bytes("MESSAGE", {"x": value})
    assert b"a\\cb\\\\c\\nd\\re" in data
    frame = stomp.Parser().feed(data)[0]
    assert frame.headers["x"] == value


def test_connect_headers_not_unescaped():
    data = b"CONNECT\naccept-version:1.2\nlogin:a\\cb\n\n\0"
    frame = stomp.Parser().feed(data)[0]
    assert frame.headers["login"] == "a\\cb"


def test_undefined_escape():
    with pytest.raises(stomp.FrameError, match="escape"):
        stomp.Parser().feed(b"SEND\nx:a\\tb\n\n\0")


def test_crlf_lines():
    frame = stomp.Parser().feed(b"SEND\r\ndestination:a\r\n\r\nbody\0")[0]
    assert frame.headers == {"destination": "a"}
    assert frame.body == b"body"


def test_repeated_header_first_wins():
    frame = stomp.Parser().feed(b"SEND\nx:1\nx:2\n\n\0")[0]
    assert frame.headers["x"] == "1"


def test_body_with_nul_and_content_length():
    data = b"SEND\ncontent-length:3\n\na\0b\0"
    frame = stomp.Parser().feed(data)[0]
    assert frame.body == b"a\0b"


def test_missing_nul_waits_for_more():
    parser = stomp.Parser()
    assert parser.feed(b"SEND\n\nbody without end") == []
    assert parser.feed(b" yet\0")[0].body == b"body without end yet"


def test_content_length_lie():
    with pytest.raises(stomp.FrameError, match="content-length"):
        stomp.Parser().feed(b"SEND\ncontent-length:2\n\nabcdef\0")


def test_invalid_content_length():
    with pytest.raises(stomp.FrameError):
        stomp.Parser().feed(b"SEND\ncontent-length:-1\n\n\0")


def test_unknown_command():
    with pytest.raises(stomp.FrameError, match="unknown command"):
        stomp.Parser().feed(b"HELLO\n\n\0")


def test_header_without_colon():
    with pytest.raises(stomp.FrameError, match="colon"):
        stomp.Parser().feed(b"SEND\nnocolon\n\n\0")


def test_too_large_by_content_length():
    parser = stomp.Parser(max_size=100)
    with pytest.raises(stomp.FrameTooLarge):
        parser.feed(b"SEND\ncontent-length:1000\n\n")


def test_too_large_without_content_length():
    parser = stomp.Parser(max_size=100)
    parser.feed(b"SEND\n\n")
    with pytest.raises(stomp.FrameTooLarge):
        parser.feed(b"x" * 200)


def test_too_large_headers():
    parser = stomp.Parser(max_size=100)
    with pytest.raises(stomp.FrameTooLarge):
        parser.feed(b"SEND\n" + b"x:y\n" * 50)


def test_not_utf8_headers():
    with pytest.raises(stomp.FrameError, match="UTF-8"):
        stomp.Parser().feed(b"SEND\nx:\xff\n\n\0")


@pytest.mark.parametrize("prefix,verdict", [
    (b"", None),
    (b"CONN", None),
    (b"CONNECT", None),
    (b"CONNECT\n", True),
    (b"\nSEND\n", True),
    (b"SUBSCRIBE\r\n", True),
    (b"GET / HTTP/1.1", False),
    (b"\x16\x03\x01", False),
    (b"CONNECTX", False),
])
def test_detect(prefix, verdict):
    assert stomp.detect(prefix) is verdict


@pytest.mark.parametrize("value,expected", [
    (None, (0, 0)), ("", (0, 0)), ("0,0", (0, 0)),
    ("1000,5000", (1000, 5000)),
])
def test_parse_heartbeat(value, expected):
    assert stomp.parse_heartbeat(value) == expected


@pytest.mark.parametrize("value", ["x", "1", "1,2,3", "-1,0"])
def test_parse_heartbeat_invalid(value):
    with pytest.raises(stomp.FrameError):
        stomp.parse_heartbeat(value)


def test_fuzz_frames_or_frame_error():
    """Random bytes give frames or FrameError, never another exception."""
    rnd = random.Random(42)
    alphabet = b"SENDCONT\n\r:\\\0abc-length0123456789"
    for _ in range(3000):
        data = bytes(rnd.choice(alphabet) for _ in range(rnd.randint(0, 60)))
        try:
            stomp.Parser(max_size=1000).feed(data)
        except stomp.FrameError:
            pass


@pytest.mark.parametrize("value", ["a:b", "a\nb", "a\rb", "a\\b", "::",
                                   "\n\n"])
def test_header_needing_one_escape_round_trips(value):
    data = frame_bytes("MESSAGE", {"x": value, "y": "plain"})
    assert data.count(b"\n\n") == 1  # The head ends once: all escaped.
    frame = stomp.Parser().feed(data)[0]
    assert frame.headers["x"] == value
    assert frame.headers["y"] == "plain"


def test_header_name_escaped_too():
    frame = stomp.Parser().feed(frame_bytes("SEND", {"a:b": "1"}))[0]
    assert frame.headers == {"a:b": "1", "content-length": "0"}
