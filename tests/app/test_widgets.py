"""The GUI's building blocks on hand-made detections (no video, no model)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt

from app.overlay import MaskLayerCache, OverlayStyle, paint_rle_runs, render_mask_layer
from app.widgets.detections_table import DetectionsPanel
from app.widgets.frame_view import EditMode, FrameView, image_to_qimage
from app.widgets.map_view import MapLayers, MapWidget
from app.widgets.player import format_time, parse_time
from app.widgets.timeline import TimelineWidget, summarise
from core.masks import RleMask
from core.types import DamageLevel, DamageSite, Detection, ReviewState

W, H = 160, 96


def _detection(det_id, level=DamageLevel.SEVERE, score=0.9, box=(30, 20, 80, 50), frame=0, review=ReviewState.PENDING):
    mask = np.zeros((H, W), bool)
    x1, y1, x2, y2 = box
    mask[y1:y2, x1:x2] = True
    return Detection(frame, level, score, tuple(float(v) for v in box), RleMask.from_array(mask),
                     building_box_xyxy_px=(x1 - 5.0, y1 - 5.0, x2 + 5.0, y2 + 5.0), review=review, id=det_id)


def _grey_frame():
    return image_to_qimage(np.full((H, W, 3), 100, np.uint8))


def test_rle_runs_paint_exactly_the_mask():
    rng = np.random.default_rng(0)
    mask = rng.random((H, W)) > 0.7
    target = np.zeros(W * H, np.uint8)
    paint_rle_runs(target, RleMask.from_array(mask).counts, 3)
    assert np.array_equal(target.reshape(W, H).T == 3, mask)


def test_mask_layer_respects_threshold_and_rejected():
    kept = _detection(1, score=0.9)
    low = _detection(2, score=0.1, box=(100, 10, 150, 40))
    rejected = _detection(3, box=(100, 50, 150, 90), review=ReviewState.REJECTED)
    layer = render_mask_layer([kept, low, rejected], W, H, OverlayStyle(score_threshold=0.5))
    assert (layer.x_px, layer.y_px, layer.image.width(), layer.image.height()) == (30, 20, 50, 30)  # cropped
    r, g, b = DamageLevel.SEVERE.colour_rgb
    colour = layer.image.pixelColor(50 - 30, 30 - 20)
    assert abs(colour.red() - r) <= 2 and abs(colour.green() - g) <= 2 and 90 < colour.alpha() < 130
    assert render_mask_layer([low], W, H, OverlayStyle(score_threshold=0.5)) is None


def test_mask_layer_cache_is_bounded_in_bytes():
    layer = render_mask_layer([_detection(1)], W, H, OverlayStyle())
    cache = MaskLayerCache(max_bytes=layer.sizeInBytes() * 2)
    for i in range(5):
        cache.put(i, render_mask_layer([_detection(1)], W, H, OverlayStyle()))
    assert len(cache) == 2
    assert cache.get(0) == (False, None)
    assert cache.get(4)[0]


@pytest.mark.parametrize(("text", "seconds"), [("12.5", 12.5), ("1:02.5", 62.5), ("1:00:02", 3602.0)])
def test_parse_time(text, seconds):
    assert parse_time(text) == pytest.approx(seconds)
    assert parse_time(format_time(seconds)) == pytest.approx(seconds, abs=0.01)


@pytest.mark.parametrize("text", ["", "abc", "1::2", "-3"])
def test_parse_time_refuses_garbage(text):
    with pytest.raises(ValueError, match="expected"):
        parse_time(text)


def test_frame_view_paints_masks_in_level_colours(qtbot):
    view = FrameView()
    qtbot.addWidget(view)
    view.show_frame(0, _grey_frame(), [_detection(1, level=DamageLevel.DEBRIS)])
    painted = view.render_to_image()
    inside, outside = painted.pixelColor(55, 35), painted.pixelColor(5, 90)
    assert outside.getRgb()[:3] == (100, 100, 100)
    assert inside.red() > 130 and inside.green() < 100  # debris red blended over grey
    view.set_style(OverlayStyle(show_masks=False, show_boxes=False, show_building_boxes=False, show_labels=False))
    assert view.render_to_image().pixelColor(55, 35).getRgb()[:3] == (100, 100, 100)


def test_no_box_is_drawn_over_another_detection_s_label(qtbot):
    """A less confident detection's building box crossing a label: the label is drawn over
    it, readable (the box's dashed line ran through the text)."""
    from dataclasses import replace

    view = FrameView()
    qtbot.addWidget(view)
    confident = _detection(1, score=0.9, box=(30, 40, 80, 70))  # its label: above the box, x from 30
    crossing = replace(_detection(2, level=DamageLevel.SLIGHT, score=0.5, box=(100, 70, 150, 90)),
                       building_box_xyxy_px=(70.0, 30.0, 155.0, 95.0))  # its corner in the label
    view.show_frame(0, _grey_frame(), [crossing, confident])
    painted = view.render_to_image()
    label_top = 40 - painted_label_height(view)
    blue_in_label = [(x, y) for x in range(30, 100) for y in range(label_top, 40)
                     if (c := painted.pixelColor(x, y)).blue() > 200 and c.red() < 160]
    assert blue_in_label == []
    line = painted.pixelColor(70, 80)  # the same line, where no label is: drawn
    assert line.blue() > 200 and line.red() < 160


def painted_label_height(view: FrameView) -> int:
    """A label's height on :meth:`FrameView.render_to_image` (12 px bold text, padded)."""
    from PySide6.QtGui import QFont, QFontMetrics

    font = QFont()
    font.setPixelSize(12)
    font.setBold(True)
    return QFontMetrics(font).height() + 4


def _shown_view_with_detection_7(qtbot):
    """A FrameView on screen, 4x zoom, showing one detection (id 7) on a grey frame."""
    view = FrameView()
    qtbot.addWidget(view)
    view.resize(W * 4, H * 4)
    view.show()
    view.show_frame(0, _grey_frame(), [_detection(7)])
    qtbot.waitExposed(view)
    return view


def test_frame_view_click_selects_and_vertex_drag_reshapes(qtbot):
    view = _shown_view_with_detection_7(qtbot)
    with qtbot.waitSignal(view.detection_clicked) as clicked:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(QPointF(55, 35)))
    assert clicked.args == [7]
    view.select_detection(7)
    editor = view.editor
    assert editor is not None and len(editor.handles) == 4
    handle = editor.handles[0]
    with qtbot.waitSignal(view.mask_edited) as edited:
        handle.setPos(handle.pos() + QPointF(-10, -8))
        editor.commit()
    det_id, points = edited.args
    assert det_id == 7
    assert points.min(axis=0).tolist() == pytest.approx([20.0, 12.0], abs=1.0)


def test_frame_view_draws_a_new_outline(qtbot):
    view = FrameView()
    qtbot.addWidget(view)
    view.resize(W * 4, H * 4)
    view.show()
    view.show_frame(0, _grey_frame(), [])
    qtbot.waitExposed(view)
    view.set_mode(EditMode.DRAW, DamageLevel.SLIGHT)
    for x, y in [(10, 10), (60, 10), (60, 50)]:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(QPointF(x, y)))
    with qtbot.waitSignal(view.polygon_drawn) as drawn:
        qtbot.keyClick(view, Qt.Key.Key_Return)
    assert drawn.args[0].shape == (3, 2)
    assert drawn.args[0][1].tolist() == pytest.approx([60, 10], abs=1.0)


def test_timeline_click_seeks_and_summaries_count_levels(qtbot):
    timeline = TimelineWidget()
    qtbot.addWidget(timeline)
    timeline.resize(400, timeline.minimumHeight())
    timeline.set_frame_count(100)
    style = OverlayStyle(score_threshold=0.5)
    summary = summarise([_detection(1), _detection(2, score=0.1), _detection(3, review=ReviewState.ACCEPTED)], style)
    assert summary.per_level == {DamageLevel.SEVERE: 2} and summary.pending == 2 and summary.accepted == 1
    with qtbot.waitSignal(timeline.seek_requested) as seek:
        qtbot.mouseClick(timeline, Qt.MouseButton.LeftButton, pos=QPoint(200, 10))
    assert seek.args == [50]


def test_timeline_summarises_again_only_the_frames_whose_hidden_boxes_changed(qtbot, monkeypatch):
    """A decision changes which box of a site is its second (hidden, one per site): the
    frames holding those are summarised again, not a long flight's every frame; any other
    change of style summarises them all."""
    import app.widgets.timeline as timeline_module

    timeline = TimelineWidget()
    qtbot.addWidget(timeline)
    frames = {index: [_detection(10 * index + k, frame=index) for k in range(2)] for index in range(50)}
    style = OverlayStyle(score_threshold=0.5, hidden_ids=frozenset({11, 21}))
    timeline.summarise_frames(frames, style)
    summarised = []
    monkeypatch.setattr(timeline_module, "summarise",
                        lambda detections, s: (summarised.append(detections[0].frame_index),
                                               summarise(detections, s))[1])
    decided = OverlayStyle(score_threshold=0.5, hidden_ids=frozenset({11, 30}))  # 21 shown, 30 hidden
    timeline.summarise_frames(frames, decided)
    assert sorted(summarised) == [2, 3]
    assert all(timeline.summary(i) == summarise(d, decided) for i, d in frames.items())
    summarised.clear()
    timeline.summarise_frames(frames, decided)  # nothing changed: nothing summarised
    assert summarised == []
    timeline.summarise_frames(frames, OverlayStyle(score_threshold=0.95, hidden_ids=decided.hidden_ids))
    assert len(summarised) == 50 and timeline.summary(4).per_level == {}
    summarised.clear()
    frames[7] = [_detection(70, frame=7, review=ReviewState.ACCEPTED)]  # an edit: that frame's bar anew
    timeline.summarise_some({7: frames[7]}, decided)
    timeline.summarise_frames(frames, decided)  # summarised in two styles since: all again
    assert len(summarised) == 51 and timeline.summary(7).accepted == 1


def test_table_filters_sorts_and_reconciles_frames(qtbot):
    panel = DetectionsPanel()
    qtbot.addWidget(panel)
    dets = [
        _detection(1, level=DamageLevel.SLIGHT, score=0.4, frame=0),
        _detection(2, level=DamageLevel.DEBRIS, score=0.9, frame=0),
        _detection(3, level=DamageLevel.SEVERE, score=0.7, frame=2),
    ]
    panel.model.set_detections(dets, {0: 0.0, 2: 0.2})
    assert panel.proxy.rowCount() == 3
    panel.level_filter.setCurrentIndex(panel.level_filter.findData(DamageLevel.DEBRIS))
    assert panel.proxy.rowCount() == 1
    panel.level_filter.setCurrentIndex(0)
    panel.score_filter.setValue(0.5)
    assert panel.proxy.rowCount() == 2
    panel.score_filter.setValue(0.0)
    panel.table.sortByColumn(4, Qt.SortOrder.DescendingOrder)
    assert panel.proxy.index(0, 0).data() == "2"
    # frame 0 now has #2 relabelled, #1 gone and a new #4
    from dataclasses import replace

    panel.model.replace_frames({0: [replace(dets[1], level=DamageLevel.SLIGHT), _detection(4, frame=0)]})
    assert sorted(d.id for d in panel.model.detections()) == [2, 3, 4]
    assert panel.model.detection(panel.model.row_of(2)).level is DamageLevel.SLIGHT
    with qtbot.waitSignal(panel.detection_activated) as activated:
        panel.table.selectRow(0)
    assert activated.args[0] in (2, 3, 4)


def test_the_review_table_says_times_as_the_sites_list_does_and_heads_its_site_column_where_it_starts(qtbot):
    """The Time column says "1:06.5", as the Sites list's rows and crops do (it said "66.50",
    in seconds, under "Time (s)"), which also leaves the Site column more of a narrow
    panel; the Site heading sits at the column's left, over the numbers a narrow panel
    shows of it ("#12 unconfirmed" is wide: the centred heading was out of view)."""
    from app.widgets.detections_table import COLUMNS, SITE_COLUMN

    panel = DetectionsPanel()
    qtbot.addWidget(panel)
    panel.set_detections([_detection(1, frame=3), _detection(2, frame=5)], {3: 66.5, 5: 7.04})
    panel.set_sites({1: 12, 2: 40}, frozenset({40}))
    time_column = COLUMNS.index("Time")
    model = panel.model
    assert [model.data(model.index(row, time_column)) for row in (0, 1)] == ["1:06.5", "0:07.0"]
    assert model.data(model.index(1, SITE_COLUMN)) == "#40 unconfirmed"
    heading = model.headerData(SITE_COLUMN, Qt.Orientation.Horizontal, Qt.ItemDataRole.TextAlignmentRole)
    assert heading is not None and heading & int(Qt.AlignmentFlag.AlignLeft)
    panel.table.sortByColumn(time_column, Qt.SortOrder.DescendingOrder)  # by the time, not by its text
    assert panel.proxy.index(0, 0).data() == "1"


def test_map_panel_moves_the_drone_and_seeks_from_a_site(qtbot):
    site = DamageSite(
        id=1, level=DamageLevel.SEVERE, confidence=0.8, lon_deg=-85.6595, lat_deg=30.1508, observation_count=3,
        first_frame=2, last_frame=9, first_time_s=0.2, last_time_s=0.9, best_frame=6, best_detection_id=42,
    )

    def position_at(t_s):
        return (-85.66 + 0.001 * t_s, 30.15)

    def footprint_at(t_s, _range_m):
        lon, lat = position_at(t_s)
        return [(lon, lat + 0.0005), (lon + 0.0004, lat + 0.001), (lon - 0.0004, lat + 0.001)]

    panel = MapWidget()
    qtbot.addWidget(panel)
    panel.resize(300, 300)
    panel.show()
    layers = MapLayers(
        source=None, track_segments=(((-85.66, 30.15), (-85.659, 30.15), (-85.658, 30.1505)),), sites=(site,),
        site_detections=(frozenset({42, 43}),), position_at=position_at, footprint_at=footprint_at,
    )
    panel.set_layers(layers)
    panel.set_time(0.0)
    start = panel.drone_item.pos()
    panel.set_time(1.0)
    assert panel.drone_item.pos().x() > start.x()
    assert panel.footprint_item.isVisible()
    qtbot.waitExposed(panel)
    item = panel.site_items[0]
    # the share of sightings at the site's level, not a probability ("confidence 0.80")
    assert "#1  Severe" in item.toolTip() and "level agreement 80%" in item.toolTip()
    with qtbot.waitSignal(panel.site_clicked) as clicked:
        qtbot.mouseClick(panel.viewport(), Qt.MouseButton.LeftButton, pos=panel.mapFromScene(item.scenePos()))
    assert clicked.args == [6, 42]
    assert panel.highlight_detection(43).site == site and panel.highlighted_site == site
    assert panel.highlight_detection(7) is None and panel.highlighted_site is None
    panel.set_map(None, "No telemetry")
    assert panel.message == "No telemetry" and not panel.site_items


def test_timeline_paints_bars_by_level_and_the_analysed_band(qtbot):
    timeline = TimelineWidget()
    qtbot.addWidget(timeline)
    timeline.resize(100, timeline.minimumHeight())
    timeline.set_frame_count(10)
    style = OverlayStyle(score_threshold=0.0)
    timeline.set_summaries({2: summarise([_detection(1, level=DamageLevel.DEBRIS)], style), 5: summarise([], style)})
    image = timeline.grab().toImage()
    bar = image.pixelColor(25, TimelineWidget.BAR_HEIGHT - 2)
    assert (bar.red(), bar.green(), bar.blue()) == DamageLevel.DEBRIS.colour_rgb
    band_y = TimelineWidget.BAR_HEIGHT + 3
    analysed, not_analysed = image.pixelColor(55, band_y), image.pixelColor(85, band_y)
    assert analysed != not_analysed and analysed.blue() > analysed.red()
    # a frame that did not count as a look at the ground (core.frame_quality) is amber in the band
    timeline.set_unusable({5: "blurred"})
    assert timeline.unusable_reason(5) == "blurred" and timeline.unusable_reason(2) is None
    image = timeline.grab().toImage()
    unusable = image.pixelColor(55, band_y)
    assert unusable.red() > unusable.blue() and image.pixelColor(25, band_y) == analysed


def test_dragging_a_vertex_with_the_mouse_reshapes(qtbot):
    view = _shown_view_with_detection_7(qtbot)
    view.select_detection(7)
    corner = view.editor.handles[0]
    start = view.mapFromScene(corner.scenePos())
    end = view.mapFromScene(corner.scenePos() + QPointF(-12, -6))
    with qtbot.waitSignal(view.mask_edited) as edited:
        qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=start)
        qtbot.mouseMove(view.viewport(), pos=end)
        qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=end)
    det_id, points = edited.args
    assert det_id == 7 and points.min(axis=0)[0] < 25  # the corner moved left of x=30
    # The view takes the edited detection back (as the window does) without crashing.
    view.set_detections([_detection(7, box=(18, 14, 80, 50))])
    assert view.editor is not None


def test_a_click_between_overlapping_site_dots_opens_the_nearest_one(qtbot):
    from dataclasses import replace

    from core.types import DamageSite

    first = DamageSite(
        id=1, level=DamageLevel.SEVERE, confidence=0.8, lon_deg=-85.6595, lat_deg=30.1508, observation_count=3,
        first_frame=2, last_frame=9, first_time_s=0.2, last_time_s=0.9, best_frame=6, best_detection_id=42,
    )
    second = replace(first, id=2, lon_deg=-85.65949, best_frame=8, best_detection_id=50)  # ~1 m east: dots overlap
    panel = MapWidget()
    qtbot.addWidget(panel)
    panel.resize(300, 300)
    panel.show()
    panel.set_layers(MapLayers(source=None, track_segments=(((-85.66, 30.15), (-85.658, 30.1505)),),
                               sites=(first, second), site_detections=(frozenset({42}), frozenset({50}))))
    qtbot.waitExposed(panel)
    low, high = panel.site_items
    assert low.collidesWithItem(high)
    with qtbot.waitSignal(panel.site_clicked) as clicked:  # the lower dot, clicked at its own centre
        qtbot.mouseClick(panel.viewport(), Qt.MouseButton.LeftButton, pos=panel.mapFromScene(low.scenePos()))
    assert clicked.args == [6, 42]


def test_the_map_legend_names_every_mark_and_the_threshold(qtbot):
    panel = _map_with_a_track(qtbot, 400)
    panel.set_score_threshold(0.5)
    assert {"flight track", "camera view", "damage heat", "reviewed site"} <= set(panel.LEGEND)
    assert _legend_covers(panel, "flight track")  # the track's own colour
    assert panel._legend_heading().endswith("Sites scoring ≥ 0.50")


def test_an_edit_of_one_row_does_not_read_the_whole_table_again(qtbot, monkeypatch):
    """The table's columns used to size themselves to every row after each edit: half
    a second per key press on the demo's 2,000 detections."""
    from dataclasses import replace

    from PySide6.QtWidgets import QApplication

    import app.widgets.detections_table as table_module

    reads = []
    data = table_module.DetectionTableModel.data
    monkeypatch.setattr(table_module.DetectionTableModel, "data",
                        lambda self, index, role=Qt.ItemDataRole.DisplayRole: reads.append(role) or data(self, index, role))
    detections = [Detection(i // 50, DamageLevel.SEVERE, 0.5 + (i % 37) / 100, (1.0, 1.0, 5.0, 5.0), id=i + 1)
                  for i in range(2000)]
    panel = table_module.DetectionsPanel()
    qtbot.addWidget(panel)
    panel.resize(600, 400)
    panel.show()
    panel.set_detections(detections, {})
    qtbot.waitExposed(panel)
    reads.clear()
    panel.replace_frames({2: [replace(d, level=DamageLevel.DEBRIS) if d.id == 101 else d
                              for d in detections if d.frame_index == 2]})
    QApplication.processEvents()
    assert len(reads) < 2000  # the rows shown, not every row (48,000 reads before)
    row = panel.proxy.mapFromSource(panel.model.index(panel.model.row_of(101), 3))
    assert row.data() == "Debris"


def _map_with_a_track(qtbot, height: int) -> MapWidget:
    panel = MapWidget()
    qtbot.addWidget(panel)
    panel.resize(400, height)
    panel.show()
    panel.set_layers(MapLayers(source=None, track_segments=(((-85.66, 30.15), (-85.658, 30.1505)),)))
    qtbot.waitExposed(panel)
    return panel


def _legend_covers(panel: MapWidget, row: str) -> bool:
    """Whether the legend's row is drawn: its icon's pixel has the row's own colour."""
    image = panel.viewport().grab().toImage()
    colour = image.pixelColor(15, 10 + (1 + panel.LEGEND.index(row)) * 17 + 7)
    return (colour.red(), colour.green(), colour.blue()) == (40, 90, 200)


def test_a_click_on_the_map_legend_folds_it_to_its_heading_and_opens_it_again(qtbot):
    panel = _map_with_a_track(qtbot, 400)
    assert panel.legend_open and _legend_covers(panel, "flight track")
    open_height = panel.legend_rect().height()
    centre = panel.mapToScene(panel.viewport().rect().center())
    heading = panel.legend_rect().topLeft().toPoint() + QPoint(20, 10)
    qtbot.mouseClick(panel.viewport(), Qt.MouseButton.LeftButton, pos=heading)
    assert not panel.legend_open and not _legend_covers(panel, "flight track")
    assert panel.legend_rect().height() < open_height / 4  # the heading alone
    assert panel.mapToScene(panel.viewport().rect().center()) == centre  # the click dragged nothing
    qtbot.mouseClick(panel.viewport(), Qt.MouseButton.LeftButton, pos=heading)
    assert panel.legend_open and _legend_covers(panel, "flight track")


def test_a_short_map_panel_starts_with_its_legend_folded_so_the_map_shows(qtbot):
    panel = _map_with_a_track(qtbot, 250)  # the legend's 9 rows would cover 163 of its 248 px
    assert not panel.legend_open and not _legend_covers(panel, "flight track")
    assert panel.legend_rect().bottom() < 40
    panel.resize(400, 400)
    qtbot.waitUntil(lambda: panel.viewport().height() > 300)
    assert panel.legend_open  # room again: open until the analyst chooses otherwise
    panel.toggle_legend()
    panel.resize(400, 600)
    qtbot.waitUntil(lambda: panel.viewport().height() > 500)
    assert not panel.legend_open  # folded by choice stays folded


def test_a_label_at_the_frame_s_right_edge_is_moved_left_onto_the_frame_not_cut():
    from PySide6.QtCore import QRectF

    from app.widgets.frame_view import label_rect

    rect = label_rect((590.0, 40.0, 640.0, 80.0), 70.0, 14.0, 640.0, 360.0, [])
    assert rect == QRectF(570.0, 26.0, 70.0, 14.0)  # above the box, its right end on the frame's
    below = label_rect((10.0, 5.0, 60.0, 30.0), 70.0, 14.0, 640.0, 360.0, [])
    assert below == QRectF(10.0, 30.0, 70.0, 14.0)  # no room above: below
    assert label_rect((10.0, 5.0, 60.0, 30.0), 70.0, 14.0, 640.0, 360.0,
                      [QRectF(0, 0, 640, 360)]) is None  # no free place
    lifted = label_rect((100.0, 40.0, 160.0, 80.0), 70.0, 14.0, 640.0, 360.0, [], gap=5.0)
    assert lifted == QRectF(100.0, 21.0, 70.0, 14.0)  # the selected outline's handles keep it 5 px off


def test_the_selected_outline_s_handles_are_drawn_only_while_the_pointer_is_over_it(qtbot):
    """On a small mask (a frame shown at half size on a laptop) the vertex handles hid the
    damage being judged: they are drawn once the pointer is over the outline, and a press
    on a vertex still takes it."""
    view = _shown_view_with_detection_7(qtbot)
    view.select_detection(7)
    editor = view.editor
    assert not editor.handles_shown
    qtbot.mouseMove(view.viewport(), pos=view.mapFromScene(QPointF(55, 35)))  # inside the outline
    qtbot.waitUntil(lambda: editor.handles_shown, timeout=2_000)
    qtbot.mouseMove(view.viewport(), pos=view.mapFromScene(QPointF(130, 80)))  # on the frame, away from it
    qtbot.waitUntil(lambda: not editor.handles_shown, timeout=2_000)


def test_a_small_selected_damage_stays_visible_under_the_selection(qtbot):
    """At a laptop's zoom (a 720p frame at half size) a damage of 24 pixels is 12 on
    screen: the selection's white box drawn on its edges and the white outline drawn over
    it covered most of it, the very damage the reviewer judges. The white frame goes round
    the box, and the outline is drawn with the handles, once the pointer is over it."""
    frame_w, frame_h = 640, 360
    mask = np.zeros((frame_h, frame_w), bool)
    mask[200:220, 300:324] = True
    detection = Detection(0, DamageLevel.SEVERE, 0.9, (300.0, 200.0, 324.0, 220.0), RleMask.from_array(mask), id=7)
    view = FrameView()
    qtbot.addWidget(view)
    view.resize(frame_w // 2 + 2 * view.frameWidth(), frame_h // 2 + 2 * view.frameWidth())
    view.show()
    view.show_frame(0, image_to_qimage(np.full((frame_h, frame_w, 3), 100, np.uint8)), [detection])
    qtbot.waitExposed(view)
    view.fit_to_window()
    view.select_detection(7)
    assert view.transform().m11() == pytest.approx(0.5, abs=0.02)
    shot = view.viewport().grab().toImage()
    box = view.mapFromScene(QRectF(300, 200, 24, 20)).boundingRect()
    inside = [shot.pixelColor(x, y) for x in range(box.left(), box.right() + 1) for y in range(box.top(), box.bottom() + 1)]
    white = sum(1 for c in inside if min(c.red(), c.green(), c.blue()) > 200)
    assert white <= len(inside) // 10, f"{white} of {len(inside)} pixels of the damage are the selection's white"
    ring = view.mapFromScene(QRectF(300, 200, 24, 20)).boundingRect().adjusted(-4, -4, 4, 4)
    around = [shot.pixelColor(x, ring.top()) for x in range(ring.left(), ring.right() + 1)]
    assert any(min(c.red(), c.green(), c.blue()) > 200 for c in around)  # the selection is still marked, round it


def test_an_elided_label_at_its_least_width_shows_the_text_it_promises_whole(qtbot):
    """A label given its least width shows its text whole when that is what it asks for:
    its width was the text's rounded, and the eliding, to the fraction of a pixel, cut the
    last character ("frame 76 / 2…" at the least width of a 1024-pixel window)."""
    from PySide6.QtWidgets import QLabel

    from app.widgets.status_bar import ElidedLabel

    label = ElidedLabel(min_text="frame 0000 / 0000 …")
    qtbot.addWidget(label)
    label.show()  # a shown label elides as it is resized
    cut = []
    for points in (7.5, 8, 9, 9.5, 10, 11, 12.5):  # fonts whose widths fall between pixels
        font = label.font()
        font.setPointSizeF(points)
        label.setFont(font)
        for number in range(1, 201):
            label.setText(f"frame {number} / 200")
            label.resize(label.minimumSizeHint())
            if QLabel.text(label) != label.text():
                cut.append((points, QLabel.text(label)))
    assert cut == []


def test_a_project_whose_video_is_being_opened_is_not_invited_to_be_opened(qtbot):
    """The empty view invites to open a video; with a project's video on its way it said
    that under "opening the video…", as if nothing were open."""
    view = FrameView()
    qtbot.addWidget(view)
    view.resize(640, 360)
    view.show()

    def light_pixels() -> int:  # the invitation's grey text on the dark view
        image = view.viewport().grab().toImage()
        return sum(1 for x in range(0, image.width(), 2) for y in range(image.height() // 2 - 12, image.height() // 2 + 12)
                   if image.pixelColor(x, y).lightness() > 120)

    assert light_pixels() > 20
    view.set_loading(0, opening_video=True)
    assert view.loading_label.isVisible() and light_pixels() == 0
    view.set_loading(None)
    assert light_pixels() > 20
