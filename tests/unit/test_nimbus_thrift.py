"""The Thrift reading and writing of host/nimbus.py, on bytes laid out as Thrift's binary
protocol lays them out (checked end to end against Apache's Nimbus in the e2e tier)."""

from __future__ import annotations

import struct

import pytest

from bundler.onhost.host import nimbus

pytestmark = pytest.mark.unit


def field(kind: int, fid: int, payload: bytes) -> bytes:
    return struct.pack("!bh", kind, fid) + payload


def string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!i", len(raw)) + raw


STOP = struct.pack("!b", nimbus.STOP)


def test_a_call_is_a_framed_strict_message_with_its_arguments() -> None:
    framed = nimbus._message("getTopologyInfo", nimbus._string_field(1, "t-1"))
    size = struct.unpack("!i", framed[:4])[0]
    assert size == len(framed) - 4
    body = nimbus._Reader(framed[4:])
    assert body.unpack("!I") == nimbus.VERSION_1 | nimbus.CALL
    assert body.string() == "getTopologyInfo"
    assert body.unpack("!i") == 0
    assert body.struct() == {1: "t-1"}


def test_kill_options_nest_as_a_struct() -> None:
    args = nimbus._string_field(1, "smoke")
    options = field(nimbus.I32, 1, struct.pack("!i", 0)) + STOP
    args += struct.pack("!bh", nimbus.STRUCT, 2) + options
    assert nimbus._Reader(args + STOP).struct() == {1: "smoke", 2: {1: 0}}


def test_maps_lists_and_struct_keys_are_read_generically() -> None:
    stream_id = field(nimbus.STRING, 1, string("exclaim1")) + field(
        nimbus.STRING, 2, string("default")
    )
    inner = struct.pack("!bbi", nimbus.STRUCT, nimbus.I64, 1) + stream_id + STOP
    inner += struct.pack("!q", 40)
    acked = struct.pack("!bbi", nimbus.STRING, nimbus.MAP, 1) + string(":all-time") + inner
    data = field(nimbus.MAP, 1, acked)
    data += field(nimbus.LIST, 2, struct.pack("!bi", nimbus.I32, 2) + struct.pack("!ii", 3, 4))
    data += field(nimbus.BOOL, 3, b"\x01") + field(nimbus.DOUBLE, 4, struct.pack("!d", 1.5))
    found = nimbus._Reader(data + STOP).struct()
    key = ((1, "exclaim1"), (2, "default"))
    assert found == {1: {":all-time": {key: 40}}, 2: [3, 4], 3: True, 4: 1.5}


def test_counts_sum_the_all_time_window_without_system_streams() -> None:
    stats = {":all-time": {"default": 20, "__ack_ack": 7}, "600": {"default": 5}}
    assert nimbus._count(stats) == 20
    assert nimbus._count(None) == 0


def test_an_answer_that_ends_early_is_an_error_not_a_crash() -> None:
    with pytest.raises(nimbus.NimbusError, match="ends early"):
        nimbus._Reader(field(nimbus.STRING, 1, struct.pack("!i", 10) + b"abc")).struct()
    with pytest.raises(nimbus.NimbusError, match="Thrift type"):
        nimbus._Reader(field(9, 1, b"")).struct()
