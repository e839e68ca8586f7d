"""engine.video on tiny generated videos: true PTS, VFR, rotation, random access, errors."""

import numpy as np
import pytest

from core.errors import VideoError
from engine.video import VideoReader, iter_frames, probe_video, select_frame_indices, write_video

VFR_PTS = [0.0, 0.1, 0.2, 0.35, 0.4, 0.6, 0.65, 0.7, 0.9, 1.0]


def _images(n, h=48, w=64):
    """Flat frames whose grey level encodes the index, with a white top-left marker."""
    images = []
    for i in range(n):
        image = np.full((h, w, 3), 8 * i, dtype=np.uint8)
        image[:16, :16] = 255
        images.append(image)
    return images


def _grey(frame):
    return float(frame.image[-8:, -8:].mean())  # away from the marker


@pytest.fixture(scope="module")
def cfr_video(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "cfr.mp4"
    return write_video(path, _images(10), fps=10.0, creation_time_utc=1714564800.0)


@pytest.fixture(scope="module")
def vfr_video(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "vfr.mp4"
    return write_video(path, _images(10), pts_s=VFR_PTS)


@pytest.fixture(scope="module")
def long_gop_video(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "gop.mp4"
    return write_video(path, _images(30), fps=30.0, gop=8)


def test_probe_reads_size_rate_count_duration_and_creation_time(cfr_video):
    info = probe_video(cfr_video)
    assert (info.width_px, info.height_px, info.frame_count) == (64, 48, 10)
    assert info.fps == pytest.approx(10.0)
    assert info.duration_s == pytest.approx(1.0)
    assert info.creation_time_utc == pytest.approx(1714564800.0)
    assert info.rotation_deg == 0 and info.codec == "h264"
    assert info.as_dict()["pts_s"] == pytest.approx([i / 10 for i in range(10)])


def test_frames_carry_true_timestamps_of_a_variable_rate_video(vfr_video):
    frames = list(iter_frames(vfr_video))
    assert [f.index for f in frames] == list(range(10))
    assert [f.pts_s for f in frames] == pytest.approx(VFR_PTS, abs=1e-3)
    assert [_grey(f) for f in frames] == pytest.approx([8 * i for i in range(10)], abs=3)
    assert frames[0].image.shape == (48, 64, 3) and frames[0].image.dtype == np.uint8
    assert probe_video(vfr_video).creation_time_utc is None


def test_fps_selection_samples_time_evenly_on_vfr(vfr_video):
    chosen = [f.index for f in iter_frames(vfr_video, fps=5.0)]
    # ticks at 0, .2, .4, .6, .8, 1.0 -> first frame at or after each
    assert chosen == [0, 2, 4, 5, 8, 9]


def test_stride_selection_and_start_index(cfr_video):
    assert [f.index for f in iter_frames(cfr_video, stride=3)] == [0, 3, 6, 9]
    assert [f.index for f in iter_frames(cfr_video, stride=3, start_index=4)] == [6, 9]


def test_select_frame_indices_edge_cases():
    assert select_frame_indices([0.0, 0.5, 1.0], fps=100.0) == [0, 1, 2]
    assert select_frame_indices([i / 30 for i in range(61)], fps=2.0) == [0, 15, 30, 45, 60]
    # a rate far past the video's: every frame, reached in one step per frame (a tick at a
    # time, --fps 1e9 on a 6 s clip ran for minutes)
    assert select_frame_indices([i / 5 for i in range(30)], fps=1e12) == list(range(30))
    assert select_frame_indices([i / 30 for i in range(301)], fps=3.0) == list(range(0, 301, 10))
    with pytest.raises(ValueError, match="either stride or fps"):
        select_frame_indices([0.0], stride=2, fps=1.0)
    with pytest.raises(ValueError, match="stride must be >= 1"):
        select_frame_indices([0.0], stride=0)
    with pytest.raises(ValueError, match="positive"):
        select_frame_indices([0.0], fps=0.0)


def test_random_access_matches_sequential_decoding(long_gop_video):
    with VideoReader(long_gop_video) as reader:
        sequential = {f.index: f.image.copy() for f in reader.iter_frames()}
        for index in [17, 3, 29, 0, 9, 8, 24, 25, 26]:
            frame = reader.frame_at(index)
            assert frame.index == index
            assert frame.pts_s == pytest.approx(index / 30, abs=1e-3)
            assert np.array_equal(frame.image, sequential[index]), index


def test_sequential_reads_do_not_seek(long_gop_video, monkeypatch):
    with VideoReader(long_gop_video) as reader:
        seeks = []
        original = reader._seek_before
        monkeypatch.setattr(reader, "_seek_before", lambda *a, **k: (seeks.append(a), original(*a, **k)))
        frames = list(reader.iter_frames(range(0, 30, 2)))
        assert len(frames) == 15 and len(seeks) == 1  # only the first positioning
        reader.frame_at(5)  # backwards: one seek to the keyframe before it
        assert len(seeks) == 2
        reader.frame_at(25)  # far ahead: skip to the keyframe at 24
        assert len(seeks) == 3


def test_rotation_metadata_is_applied(tmp_path):
    path = write_video(tmp_path / "rot.mp4", _images(3), fps=10.0, rotation_deg=90)
    info = probe_video(path)
    assert info.rotation_deg == 90
    assert (info.width_px, info.height_px) == (48, 64)
    frame = next(iter_frames(path))
    assert frame.image.shape == (64, 48, 3) and (frame.width_px, frame.height_px) == (48, 64)
    # 90 degrees counter-clockwise: the top-left marker ends up bottom-left.
    assert frame.image[-8:, :8].mean() > 200 and frame.image[:8, :8].mean() < 60


def test_missing_file_is_named(tmp_path):
    with pytest.raises(VideoError, match="nothere.mp4.*does not exist"):
        probe_video(tmp_path / "nothere.mp4")


def test_non_video_file_is_named(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("this is a text file, not a video\n" * 20)
    with pytest.raises(VideoError, match="notes.mp4"):
        probe_video(path)


def test_an_empty_video_file_is_said_to_be_empty(tmp_path):
    """It got FFmpeg's "Invalid data found when processing input", as a damaged file does."""
    path = tmp_path / "DJI_0001.MP4"
    path.write_bytes(b"")
    with pytest.raises(VideoError, match=r"DJI_0001.MP4' is empty \(0 bytes\)"):
        probe_video(path)


def test_truncated_video_is_named(cfr_video, tmp_path):
    data = cfr_video.read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match="cut.mp4"):
        list(iter_frames(path))


def test_an_mp4_cut_off_before_its_index_says_so_and_a_text_file_does_not(cfr_video, tmp_path):
    """A recording stopped by a full card (or a copy stopped) has its frames but not the
    index written at the end of the file: FFmpeg says only "Invalid data"; the message
    says what that likely is and what to do. A text file named .mp4 gets no such hint."""
    data = cfr_video.read_bytes()
    moov, mdat = data.find(b"moov"), data.find(b"mdat")
    assert 0 < mdat < moov  # the index after the frames, as a camera writes it
    path = tmp_path / "DJI_0042.MP4"
    path.write_bytes(data[: moov - 4])
    with pytest.raises(VideoError, match=r"DJI_0042\.MP4.*not a readable video.*cut off.*copy it from the card again"):
        probe_video(path)
    text = tmp_path / "notes.mp4"
    text.write_text("this is a text file, not a video\n" * 20)
    with pytest.raises(VideoError) as caught:
        probe_video(text)
    assert "cut off" not in str(caught.value)


def test_the_frame_a_short_stream_ends_before_is_counted_from_1(cfr_video, tmp_path):
    """A video cut short with its index up front lists frames its stream no longer holds:
    the message names the frame asked for as a person counts it (from 1), as every other
    message does."""
    from tests.video_helpers import cut_short

    import re

    for keep in (0.8, 0.95):  # the first frame fails as the reader opens; a later one, the stream ended
        video = cut_short(cfr_video, tmp_path / f"cut{keep}.mp4", keep=keep)
        reached = 0
        with pytest.raises(VideoError) as caught:
            with VideoReader(video) as reader:
                for reached in range(reader.frame_count):  # read in order, as an analysis does
                    reader.frame_at(reached)
        message = str(caught.value)
        named = re.search(r"frame (\d+) (of \d+ )?\(counted from 1", message)
        assert named and int(named.group(1)) == reached + 1, message
        assert (reached > 0) is (keep == 0.95)  # (both ways of failing seen)


def test_audio_only_file_has_no_video_stream(tmp_path):
    import av

    path = tmp_path / "sound.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), dtype=np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with pytest.raises(VideoError, match="sound.wav.*no video stream"):
        probe_video(path)


def test_frame_at_out_of_range(cfr_video):
    with VideoReader(cfr_video) as reader, pytest.raises(IndexError, match="frames 0..9"):
        reader.frame_at(10)


def test_unknown_codec_is_named_with_a_conversion_hint(cfr_video, tmp_path):
    # The same MP4 with its codec's four-character code changed to one FFmpeg does not know.
    data = cfr_video.read_bytes()
    assert b"avc1" in data
    path = tmp_path / "odd codec.mp4"
    path.write_bytes(data.replace(b"avc1", b"zzzz"))
    with pytest.raises(VideoError, match=r"odd codec\.mp4.*codec.*ffmpeg -i"):
        probe_video(path)
    with pytest.raises(VideoError, match="codec"):
        list(iter_frames(path))


def test_a_file_ffmpeg_cannot_read_is_named_without_errno_noise(tmp_path):
    path = tmp_path / "fake.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    with pytest.raises(VideoError, match="fake.mp4.*not a readable video") as caught:
        probe_video(path)
    assert "Errno" not in str(caught.value)


@pytest.mark.parametrize("name", ["photo.jpg", "photo.mp4"])
def test_a_still_image_is_refused_as_not_a_video(tmp_path, name):
    from PIL import Image

    path = tmp_path / name
    Image.fromarray(np.full((48, 64, 3), 90, dtype=np.uint8)).save(path, format="JPEG")
    with pytest.raises(VideoError, match=rf"{name}.*still image, not a video"):
        probe_video(path)


def _hevc_10bit(path, images, *, fps=30.0, keyint=8):
    """H.265 in 10 bits with B-frames and a long GOP, as many DJI drones record (HLG,
    D-Log, and H.265 at any colour mode)."""
    import av

    try:
        av.codec.Codec("libx265", "w")
    except av.codec.codec.UnknownCodecError:  # a PyAV build without x265
        pytest.skip("this PyAV has no H.265 encoder")
    container = av.open(str(path), mode="w")
    stream = container.add_stream("libx265", rate=int(fps))
    stream.height, stream.width = images[0].shape[:2]
    stream.pix_fmt = "yuv420p10le"
    stream.options = {"x265-params": f"log-level=error:keyint={keyint}:bframes=3"}
    for image in images:
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p10le")
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return path


def test_a_10_bit_h265_video_reads_as_8_bit_rgb_in_any_order(tmp_path):
    images = _images(24)
    path = _hevc_10bit(tmp_path / "DJI_0001.MP4", images)
    info = probe_video(path)
    assert (info.width_px, info.height_px, info.frame_count) == (64, 48, 24)
    with VideoReader(path) as reader:
        sequential = {f.index: f.image.copy() for f in reader.iter_frames()}
        assert all(image.dtype == np.uint8 and image.shape == (48, 64, 3) for image in sequential.values())
        # each frame is the one written: its grey level, within what the encoding loses
        assert [round(_grey(reader.frame_at(i)) / 8) for i in range(24)] == list(range(24))
        for index in [17, 3, 23, 0, 9, 8]:  # random access across keyframes and B-frames
            assert np.array_equal(reader.frame_at(index).image, sequential[index]), index


def test_an_mkv_cut_short_lists_the_frames_its_length_promises(tmp_path):
    """Matroska writes no frame count, only its stream's length: an MKV copied halfway was
    analysed as "complete", with nothing said of its second half."""
    from tests.video_helpers import first_half, noise_video

    whole = noise_video(tmp_path / "whole.mkv")
    info = probe_video(whole)
    assert (info.frame_count, info.listed_frame_count) == (20, 0)  # whole: nothing missing said
    info = probe_video(first_half(whole, tmp_path / "cut.mkv"))
    assert 0 < info.frame_count < 16 and info.listed_frame_count == 20
