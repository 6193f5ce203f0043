"""RFC 6587 framing: octet counting and LF framing detected per connection, partial and over-long frames."""

from __future__ import annotations

from dagster_project.collect.framing import KEPT_OF_OVERSIZED, Framer

MSG = b"<34>1 2003-10-11T22:14:15.003Z host su - ID47 - 'su root' failed"


def octet(message: bytes) -> bytes:
    return f"{len(message)} ".encode() + message


def test_octet_counted_frames_and_a_partial_one_left_unconsumed() -> None:
    data = octet(MSG) + octet(b"<13>second\nwith a newline") + octet(MSG)[:10]
    framer = Framer()
    frames, used = framer.split(data)
    assert [f.data for f in frames] == [MSG, b"<13>second\nwith a newline"]
    assert used == len(data) - 10 and framer.mode == "octet"
    again, used_again = framer.split(data[used:] + octet(MSG)[10:])
    assert [f.data for f in again] == [MSG] and used_again == len(octet(MSG))


def test_lf_framing_keeps_the_unterminated_tail_until_more_arrives_or_the_peer_closes() -> None:
    framer = Framer()
    frames, used = framer.split(b"<13>a\r\n\n<13>b\n<13>c")
    assert [f.data for f in frames] == [b"<13>a", b"<13>b"] and used == len(b"<13>a\r\n\n<13>b\n")
    assert framer.mode == "lf"
    assert [f.data for f in framer.finish(b"<13>c")] == [b"<13>c"]


def test_a_line_starting_with_digits_is_not_taken_for_an_octet_count() -> None:
    line = b"2024-03-27T13:06:56Z host sshd[1]: hello"
    frames, used = Framer().split(line + b"\n" + octet(MSG))
    assert frames[0].data == line


def test_an_octet_connection_recovers_from_a_frame_without_a_length() -> None:
    framer = Framer()
    frames, _ = framer.split(octet(MSG) + b"<13>no length\n" + octet(MSG))
    assert [f.data for f in frames] == [MSG, b"<13>no length", MSG]


def test_oversized_frames_are_cut_flagged_and_skipped() -> None:
    framer = Framer(max_frame=10_000)
    big = b"x" * 20_000
    frames, used = framer.split(f"{len(big)} ".encode() + big[:12_000])
    assert len(frames) == 1 and frames[0].error and len(frames[0].data) == KEPT_OF_OVERSIZED
    frames, used = framer.split(big[12_000:] + octet(MSG))
    assert [f.data for f in frames] == [MSG] and used == 8_000 + len(octet(MSG))
    lf = Framer(max_frame=10_000)
    frames, used = lf.split(b"<13>" + b"y" * 12_000)
    assert frames[0].error and used == 12_004
    frames, _ = lf.split(b"yyy\n<13>next\n")
    assert [f.data for f in frames] == [b"<13>next"]


def test_a_connection_closed_inside_an_octet_frame_is_a_reject_not_a_loss() -> None:
    framer = Framer()
    framer.split(octet(MSG))
    (cut,) = framer.finish(b"50 <13>only part")
    assert cut.error and "closed inside" in cut.error
