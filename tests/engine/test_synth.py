"""The synthetic flyover: annotations agree with pixels and geometry, files parse, determinism."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pytest

from core.camera import CameraPose, PinholeCamera, project_points
from engine.synth import FlyoverPaths, render_flyover

SIZE = (320, 180)
SECONDS = 2.0
FPS = 10.0


@pytest.fixture(scope="session")
def flyover(tmp_path_factory: pytest.TempPathFactory) -> FlyoverPaths:
    out = tmp_path_factory.mktemp("flyover")
    return render_flyover(out, seconds=SECONDS, fps=FPS, size=SIZE, seed=5, annotate_every=5, split="train")


@pytest.fixture(scope="session")
def coco(flyover: FlyoverPaths) -> dict:
    return json.loads(flyover.annotations.read_text())


@pytest.fixture(scope="session")
def camera_doc(flyover: FlyoverPaths) -> dict:
    return json.loads(flyover.camera.read_text())


def _xyxy(box: list[float]) -> np.ndarray:
    x, y, w, h = box
    return np.array([x, y, x + w, y + h])


def test_writes_every_promised_file(flyover: FlyoverPaths) -> None:
    for path in (flyover.video, flyover.gpx, flyover.srt, flyover.annotations, flyover.truth, flyover.camera,
                 flyover.footprints, flyover.orthophoto):
        assert path.is_file() and path.stat().st_size > 0, path
    assert flyover.frame_count == int(SECONDS * FPS)
    assert flyover.annotated_count == int(SECONDS * FPS) // 5
    assert len(list(flyover.images_dir.glob("*.jpg"))) == flyover.annotated_count


def test_annotations_have_isbda_fields_and_masks_inside_house_boxes(coco: dict) -> None:
    assert coco["annotations"], "a flyover over a damaged street must have damage"
    assert {c["id"] for c in coco["categories"]} == {1, 2, 3}
    for ann in coco["annotations"]:
        assert ann["category_id"] in (1, 2, 3)
        assert ann["bbox"] == ann["damage_bbox"]
        assert ann["area"] > 0 and ann["iscrowd"] == 0
        d, h = _xyxy(ann["damage_bbox"]), _xyxy(ann["house_bbox"])
        assert d[0] >= h[0] and d[1] >= h[1] and d[2] <= h[2] and d[3] <= h[3], ann["id"]
        for poly in ann["segmentation"]:
            xy = np.asarray(poly).reshape(-1, 2)
            assert len(xy) >= 3
            assert (xy >= h[:2] - 0.5).all() and (xy <= h[2:] + 0.5).all()


def test_json_loads_with_pycocotools_and_masks_decode(flyover: FlyoverPaths, coco: dict) -> None:
    from pycocotools.coco import COCO

    api = COCO(str(flyover.annotations))
    assert len(api.getImgIds()) == flyover.annotated_count
    for ann in api.loadAnns(api.getAnnIds()):
        mask = api.annToMask(ann)
        assert mask.shape == (SIZE[1], SIZE[0])
        ys, xs = np.nonzero(mask)
        h = _xyxy(ann["house_bbox"])
        assert xs.size == ann["area"]  # the polygons rasterise back to every pixel of the part
        x, y, w, hh = ann["bbox"]
        assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x, y, x + w, y + hh)
        assert xs.min() >= h[0] - 1 and xs.max() <= h[2] and ys.min() >= h[1] - 1 and ys.max() <= h[3]
    for image in coco["images"]:
        assert (flyover.images_dir / image["file_name"]).is_file()


def test_truth_footprints_project_onto_house_boxes(flyover: FlyoverPaths, coco: dict, camera_doc: dict) -> None:
    from pyproj import CRS, Transformer

    truth = json.loads(flyover.truth.read_text())
    features = {f["properties"]["id"]: f for f in truth["features"]}
    to_enu = Transformer.from_crs("EPSG:4326", CRS.from_proj4(camera_doc["crs"]), always_xy=True)
    intr = camera_doc["intrinsics"]
    camera = PinholeCamera(intr["width_px"], intr["height_px"], intr["hfov_deg"])
    frames = {f["index"]: f for f in camera_doc["frames"]}
    images = {im["id"]: im for im in coco["images"]}
    overlaps = []
    for ann in coco["annotations"]:
        feature = features[ann["building_id"]]
        assert feature["properties"]["damaged"]
        lon, lat = np.asarray(feature["geometry"]["coordinates"][0])[:-1].T
        east, north = to_enu.transform(lon, lat)
        height = feature["properties"]["height_m"]
        centre = np.array([east.mean(), north.mean()])
        grown = centre + (np.stack([east, north], axis=1) - centre) * 1.0 + np.sign(np.stack([east, north], axis=1) - centre) * 2.0
        corners = np.concatenate([np.c_[grown, np.zeros(4)], np.c_[grown, np.full(4, height)]])
        pose = CameraPose(**frames[images[ann["image_id"]]["frame_index"]]["pose"])
        uv, in_front = project_points(camera, pose, corners)
        assert in_front.all()
        proj = np.array([*uv.min(axis=0), *uv.max(axis=0)])
        house = _xyxy(ann["house_bbox"])
        # the visible building lies inside its projected (slightly grown) volume
        assert house[0] >= proj[0] - 1 and house[1] >= proj[1] - 1 and house[2] <= proj[2] + 1 and house[3] <= proj[3] + 1
        inter = np.clip(np.minimum(house[2:], proj[2:]) - np.maximum(house[:2], proj[:2]), 0, None).prod()
        overlaps.append(inter / np.prod(house[2:] - house[:2]))
    assert min(overlaps) > 0.99


def test_gpx_agrees_with_camera_json(flyover: FlyoverPaths, camera_doc: dict) -> None:
    import gpxpy

    gpx = gpxpy.parse(flyover.gpx.read_text())
    points = [p for t in gpx.tracks for s in t.segments for p in s.points]
    frames = camera_doc["frames"]
    assert len(points) == len(frames) == flyover.frame_count
    for p, f in zip(points, frames):
        assert p.latitude == pytest.approx(f["lat_deg"], abs=1e-7)
        assert p.longitude == pytest.approx(f["lon_deg"], abs=1e-7)
        assert p.elevation == pytest.approx(f["alt_abs_m"], abs=1e-3)
        assert p.time == dt.datetime.fromisoformat(f["utc"].replace("Z", "+00:00"))
        assert 30.0 <= f["alt_rel_m"] <= 80.0
    # ENU pose and lat/lon describe the same place
    from pyproj import CRS, Transformer

    to_enu = Transformer.from_crs("EPSG:4326", CRS.from_proj4(camera_doc["crs"]), always_xy=True)
    e, n = to_enu.transform(frames[-1]["lon_deg"], frames[-1]["lat_deg"])
    assert e == pytest.approx(frames[-1]["pose"]["east_m"], abs=0.01)
    assert n == pytest.approx(frames[-1]["pose"]["north_m"], abs=0.01)


def test_srt_has_one_dji_entry_per_frame(flyover: FlyoverPaths, camera_doc: dict) -> None:
    blocks = [b for b in flyover.srt.read_text().strip().split("\n\n") if b.strip()]
    assert len(blocks) == flyover.frame_count
    first = blocks[0].splitlines()
    assert first[0] == "1" and first[1].startswith("00:00:00,000 --> ")
    assert "FrameCnt: 1" in first[2]
    for field in ("[latitude:", "[longitude:", "rel_alt:", "abs_alt:", "gb_yaw:", "gb_pitch:", "[focal_len:"):
        assert field in blocks[-1], field
    assert f"{camera_doc['frames'][-1]['lat_deg']:.6f}" in blocks[-1]


def test_video_decodes_to_promised_frames_with_increasing_timestamps(flyover: FlyoverPaths, camera_doc: dict) -> None:
    import av

    with av.open(str(flyover.video)) as container:
        assert container.metadata.get("creation_time", "").startswith(camera_doc["start_utc"][:19])
        times = [float(f.time) for f in container.decode(video=0)]
    assert len(times) == flyover.frame_count
    assert np.all(np.diff(times) > 0)
    assert times[-1] == pytest.approx((flyover.frame_count - 1) / FPS, abs=1e-3)


def _tiny(out: Path, seed: int) -> tuple[str, list[np.ndarray]]:
    import cv2

    paths = render_flyover(out, seconds=0.2, fps=10.0, size=(160, 96), seed=seed, annotate_every=1)
    images = [cv2.imread(str(p)) for p in sorted(paths.images_dir.glob("*.jpg"))]
    return paths.annotations.read_text() + paths.truth.read_text(), images


def test_same_seed_same_output_different_seed_different_scene(tmp_path: Path) -> None:
    a_text, a_images = _tiny(tmp_path / "a", 3)
    b_text, b_images = _tiny(tmp_path / "b", 3)
    c_text, c_images = _tiny(tmp_path / "c", 4)
    assert a_text == b_text
    assert all(np.array_equal(x, y) for x, y in zip(a_images, b_images, strict=True))
    assert a_text != c_text
    assert np.abs(a_images[0].astype(int) - c_images[0].astype(int)).mean() > 5


def test_splits_merge_into_one_dataset(tmp_path: Path) -> None:
    render_flyover(tmp_path, seconds=0.2, fps=10.0, size=(160, 96), seed=1, split="train", annotate_every=1)
    render_flyover(tmp_path, seconds=0.2, fps=10.0, size=(160, 96), seed=2, split="val", annotate_every=1)
    for split in ("train", "val"):
        doc = json.loads((tmp_path / "annotations" / f"instances_{split}.json").read_text())
        assert [(tmp_path / split / im["file_name"]).is_file() for im in doc["images"]] == [True, True]


def test_bad_size_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="even"):
        render_flyover(tmp_path, seconds=0.1, size=(161, 96))


def test_isbda_loader_reads_the_flyover(flyover: FlyoverPaths, coco: dict) -> None:
    isbda = pytest.importorskip("engine.data.isbda")
    dataset = isbda.ISBDADataset(flyover.out_dir, "train")
    assert len(dataset) == flyover.annotated_count
    n_instances = 0
    for index in range(len(dataset)):
        image, target = dataset[index]
        assert tuple(image.shape) == (3, SIZE[1], SIZE[0])
        n_instances += len(target["labels"])
        if len(target["labels"]):
            assert len(target["building_boxes"]) >= 1
    assert n_instances == len(coco["annotations"])


@pytest.fixture(scope="module")
def flight():
    from engine.synth.flyover import build_flight

    return build_flight(seconds=4.0, fps=2.0, size=(320, 180), seed=7)


def test_hard_negatives_are_painted_and_never_labelled(flight) -> None:
    """Skylights, solar panels, moss, bare soil, building sites: present, never annotated."""
    scene = flight.scene
    roof_faces = [f for b in scene.buildings for f in b.faces if f.negatives is not None]
    assert sum(int(f.negatives.sum()) for f in roof_faces) > 0
    for face in roof_faces:
        if face.labels is not None:
            assert not (face.negatives & (face.labels > 0)).any()
    ground = scene.ground
    assert ground.negatives is not None and ground.negatives.any()
    assert not (ground.negatives.astype(bool) & (ground.labels > 0)).any()


def test_light_roofs_exist_on_intact_houses() -> None:
    """Tan, beige and terracotta roofs are drawn on undamaged houses too (so tan != damage)."""
    import itertools

    from engine.synth.buildings import LIGHT_ROOF_COLOURS, build_building
    from engine.synth.layout import HouseSite
    from engine.synth.style import Style

    rng = np.random.default_rng(0)
    style = Style.sample(rng)
    site = HouseSite(np.zeros(2), np.array([1.0, 0.0]), np.array([0.0, 1.0]), 7.0, 5.0)
    ids, parts = itertools.count(1), itertools.count(0)
    light = 0
    for k in range(40):
        b = build_building(rng, style, site, None, building_id=k + 1, surface_ids=ids, part_ids=parts, roof_px_per_m=5.0)
        assert not b.parts
        roofs = [f for f in b.faces if f.negatives is not None]
        mean = np.mean([f.texture.reshape(-1, 3).mean(axis=0) for f in roofs], axis=0)
        light += bool(mean[0] > mean[2] * 1.25 and mean[0] > 110)
    assert light >= 2
    assert LIGHT_ROOF_COLOURS


def test_tree_on_a_roof_hides_the_damage_under_it(flight) -> None:
    """A fallen tree lying on a damaged roof: the annotation is only the damage still seen."""
    from engine.synth import storm
    from engine.synth.render import FrameRenderer

    scene = flight.scene
    renderer = FrameRenderer(scene, flight.camera, seed=7)
    parts = {p.surface_id for p in scene.parts}
    best = None
    for i, pose in enumerate(flight.poses):  # the frame and damaged roof face seen best
        ids = renderer.render(pose, frame_index=i, with_ids=True).surface_ids
        for b in scene.buildings:
            for face in b.faces:
                if face.labels is None or face.alpha is not None or face.normal is None or face.normal[2] < 0.2:
                    continue
                seen = int(np.isin(ids, np.unique(face.labels[face.labels > 0])).sum())
                if best is None or seen > best[0]:
                    best = (seen, i, b, face)
    seen, i, building, roof = best
    assert seen > 20
    damaged = roof.labels > 0
    tree = None
    for attempt in range(50):  # a tree whose crown lies over the damage
        candidate = storm.roof_tree(np.random.default_rng(attempt), np.array([60.0, 90.0, 40.0]), roof, damaged)
        if candidate is not None and ((candidate.alpha > 200) & damaged).sum() > 0.3 * damaged.sum():
            tree = candidate
            break
    assert tree is not None
    before = renderer.render(flight.poses[i], frame_index=i, with_ids=True)
    building.faces.append(tree)
    try:
        after = FrameRenderer(scene, flight.camera, seed=7).render(flight.poses[i], frame_index=i, with_ids=True)
    finally:
        building.faces.pop()
    hidden = np.isin(before.surface_ids, list(parts)) & ~np.isin(after.surface_ids, list(parts))
    assert hidden.sum() > 0.1 * seen
    # where the tree now is, the pixels are neither damage nor the building
    changed = (before.rgb != after.rgb).any(axis=2)
    assert not np.isin(after.surface_ids[changed & hidden], list(parts) + [building.surface_id]).any()
    assert np.isin(after.surface_ids, list(parts)).sum() < np.isin(before.surface_ids, list(parts)).sum()


def test_motion_blur_follows_the_camera_and_leaves_ids_alone(flight) -> None:
    """A flight with a shutter blurs frames along the camera's motion; ids are unchanged."""
    from engine.synth.render import FrameRenderer

    renderer = FrameRenderer(flight.scene, flight.camera, seed=7)
    pose = flight.poses[2]
    renderer._shutter_s = 0.0
    sharp = renderer.render(pose, frame_index=2, with_ids=True)
    renderer._shutter_s, renderer._shake_deg_s = 1 / 30, 0.0
    blurred = renderer.render(pose, frame_index=2, with_ids=True, velocity_enu=np.array([0.0, 40.0, 0.0]))
    assert np.array_equal(sharp.surface_ids, blurred.surface_ids)
    still = renderer.render(pose, frame_index=2, with_ids=False, velocity_enu=np.zeros(3))
    assert np.abs(still.rgb.astype(int) - sharp.rgb.astype(int)).mean() < 1.0
    edges = lambda im: np.abs(np.diff(im.astype(float), axis=0)).mean()  # noqa: E731
    assert edges(blurred.rgb) < 0.9 * edges(sharp.rgb)


def test_missing_ridge_caps_straddle_the_ridge_as_one_part() -> None:
    from engine.synth.buildings import _house_faces, _paint_ridge_caps
    from engine.synth.layout import HouseSite
    from engine.synth.style import Style

    rng = np.random.default_rng(1)
    style = Style.sample(rng)
    site = HouseSite(np.zeros(2), np.array([1.0, 0.0]), np.array([0.0, 1.0]), 7.0, 5.0)
    _, roofs, top = _house_faces(rng, style, site, 3.0, "gable", 25.0, 1, 10.0)
    centroid = _paint_ridge_caps(rng, roofs[:2], 99)
    assert centroid is not None and centroid[2] == pytest.approx(top, abs=0.1) and abs(centroid[1]) < 0.1
    assert all((f.labels == 99).sum() > 4 for f in roofs[:2])


def test_wings_are_part_of_the_house_and_inside_its_footprint() -> None:
    import itertools

    import cv2

    from engine.synth.buildings import build_building
    from engine.synth.layout import HouseSite
    from engine.synth.style import Style

    rng = np.random.default_rng(2)
    style = Style.sample(rng)
    wing = HouseSite(np.array([4.0, 7.0]), np.array([0.0, 1.0]), np.array([-1.0, 0.0]), 3.0, 2.5)
    site = HouseSite(np.zeros(2), np.array([1.0, 0.0]), np.array([0.0, 1.0]), 7.0, 5.0, (wing,))
    b = build_building(rng, style, site, None, building_id=1, surface_ids=itertools.count(1), part_ids=itertools.count(0), roof_px_per_m=5.0)
    assert len(b.wings) == 1
    footprint = site.footprint_en.astype(np.float32)
    for _, faces in b.wings:
        assert all(f.surface_id == b.surface_id for f in faces)
        for f in faces:
            for x, y in f.polygon_enu[:, :2]:
                assert cv2.pointPolygonTest(footprint, (float(x), float(y)), True) > -0.5  # eaves overhang a little
            assert f.polygon_enu[:, 2].max() <= b.height_m + 1e-6


def test_altitude_range_raises_the_flight_and_keeps_the_neighbourhood() -> None:
    from engine.synth.flyover import build_flight

    default = build_flight(seconds=1.0, fps=2.0, size=SIZE, seed=41)
    high = build_flight(seconds=1.0, fps=2.0, size=SIZE, seed=41, altitude_range_m=(100.0, 120.0))
    assert 28.0 - 6.0 <= default.poses[0].up_m <= 70.0 + 6.0  # the drawn height swings by up to 6 m
    assert 100.0 - 6.0 <= high.poses[0].up_m <= 120.0 + 6.0
    # same seed, same heading and pitch: only the height was remapped
    assert high.poses[0].yaw_deg == pytest.approx(default.poses[0].yaw_deg)


def test_altitude_range_out_of_bounds_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="altitude range"):
        render_flyover(tmp_path, seconds=1.0, fps=2.0, size=SIZE, seed=1, altitude_range_m=(120.0, 60.0))


def test_a_hover_stops_the_drone_and_its_camera_then_it_flies_on() -> None:
    from engine.synth.flyover import build_flight

    plain = build_flight(seconds=6.0, fps=2.0, size=SIZE, seed=41)
    hover = build_flight(seconds=6.0, fps=2.0, size=SIZE, seed=41, hover=(1.0, 3.0))
    # frames 2-8 (1.0-4.0 s) stand where the plain flight was at 1 s; frame 9 (4.5 s) goes on from there
    assert hover.poses[:3] == plain.poses[:3]
    assert all(p == plain.poses[2] for p in hover.poses[2:9])
    assert hover.poses[9] == plain.poses[3] != plain.poses[2]
    assert np.array_equal(hover.times_s, plain.times_s)  # the clip keeps its length


def test_a_turn_while_hovering_goes_away_and_back() -> None:
    from engine.synth.flyover import build_flight

    still = build_flight(seconds=6.0, fps=2.0, size=SIZE, seed=41, hover=(1.0, 4.0))
    turning = build_flight(seconds=6.0, fps=2.0, size=SIZE, seed=41, hover=(1.0, 4.0), hover_turn_deg=90.0)

    def turned(k: int) -> float:
        return (turning.poses[k].yaw_deg - still.poses[k].yaw_deg + 180.0) % 360.0 - 180.0

    assert turned(6) == pytest.approx(90.0)  # 3 s, the middle of the hover: turned the most
    assert turned(4) == pytest.approx(90.0 * math.sin(math.pi / 4))
    assert [turned(k) for k in (0, 1, 2, 10, 11)] == [0.0] * 5  # before, at its start, after: its own heading
    assert [dataclasses.replace(p, yaw_deg=0.0) for p in turning.poses] == [
        dataclasses.replace(p, yaw_deg=0.0) for p in still.poses]  # it turns on the spot


def test_a_turn_without_a_hover_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="a turn while hovering needs a hover"):
        render_flyover(tmp_path, seconds=6.0, fps=2.0, size=SIZE, seed=1, hover_turn_deg=90.0)


@pytest.mark.parametrize("hover", [(6.0, 2.0), (-1.0, 2.0), (1.0, 0.0), (float("nan"), 1.0)])
def test_a_hover_outside_the_clip_is_a_clear_error(tmp_path: Path, hover) -> None:
    with pytest.raises(ValueError, match="hover must be START,SECONDS"):
        render_flyover(tmp_path, seconds=6.0, fps=2.0, size=SIZE, seed=1, hover=hover)


def _light_roofed_houses(flight) -> int:
    """Houses whose roof texture is tan, beige or terracotta (red well above blue, bright)."""
    count = 0
    for b in flight.scene.buildings:
        roofs = [f for f in b.faces if f.negatives is not None]
        if roofs:
            mean = np.mean([f.texture.reshape(-1, 3).mean(axis=0) for f in roofs], axis=0)
            count += bool(mean[0] > mean[2] * 1.25 and mean[0] > 110)
    return count


def test_light_roof_share_fills_a_neighbourhood_with_decking_coloured_roofs() -> None:
    """A higher share gives more intact roofs the colour of bare decking, on the same streets."""
    from engine.synth.flyover import build_flight

    usual = build_flight(seconds=1.0, fps=2.0, size=SIZE, seed=51)
    tiled = build_flight(seconds=1.0, fps=2.0, size=SIZE, seed=51, light_roof_share=0.8)
    assert [b.site.centre_en.tolist() for b in tiled.scene.buildings] == [b.site.centre_en.tolist() for b in usual.scene.buildings]
    assert len(usual.scene.buildings) >= 8
    assert _light_roofed_houses(tiled) >= _light_roofed_houses(usual) + 3


def test_light_roof_share_out_of_bounds_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="light roof share must be between 0 and 0.88"):
        render_flyover(tmp_path, seconds=1.0, fps=2.0, size=SIZE, seed=1, light_roof_share=0.9)
