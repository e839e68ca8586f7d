"""The map's note on where the camera pointed says an angle read from the video to a tenth
of a degree, as the reading printed before it ("heading offset +5.2 +-5.0 deg"), not to
six figures ("heading from track bearing +5.19078 deg")."""

from __future__ import annotations

from geo.mapping import DEFAULT_PITCH_DEG, pointing_note


def test_angles_read_from_the_video_are_said_to_a_tenth_of_a_degree():
    note = pointing_note("track bearing", 5.19078, "default -45 deg", -47.4839)
    assert note == "heading from track bearing +5.2 deg, pitch -47.5 deg (set for telemetry without gimbal pitch)"


def test_typed_angles_keep_their_own_figures_and_no_offset_says_none():
    assert pointing_note("track bearing", 0.0, "default -45 deg", -30.0) == (
        "heading from track bearing, pitch -30 deg (set for telemetry without gimbal pitch)")
    assert pointing_note("telemetry", 3.0, "gimbal", DEFAULT_PITCH_DEG) == "heading from telemetry, pitch from gimbal"
    assert "(assumed: the telemetry gives none" in pointing_note("track bearing", 0.0, "default -45 deg",
                                                                  DEFAULT_PITCH_DEG)
