"""``damagemap evaluate --predictions``: ground truth the paper's protocol cannot score as
written (a category the file does not list, a polygon of fewer than 3 points, an empty
box, an image the file does not list) changes every AP; scoring a results file says so,
naming the file and the annotations, as a model run over the images does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from app.cli import main
from engine.data.isbda import annotation_path

DATA = Path(__file__).resolve().parents[1] / "data" / "isbda-frame"


def test_ground_truth_the_protocol_cannot_score_is_named(tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    path = annotation_path(data, "test")
    doc = json.loads(path.read_text())
    by_id = {a["id"]: a for a in doc["annotations"]}
    by_id[2]["category_id"] = 7
    by_id[3]["segmentation"] = [[10.0, 10.0, 20.0, 20.0]]  # two points
    by_id[4]["damage_bbox"] = [30.0, 30.0, 0.0, 12.0]
    doc["annotations"].append({**by_id[1], "id": 5, "image_id": 9})
    path.write_text(json.dumps(doc))
    results = tmp_path / "boxes.json"
    results.write_text(json.dumps([{"image_id": 1, "category_id": 1, "score": 0.9, "bbox": by_id[1]["damage_bbox"]}]))

    assert main(["evaluate", "--data", str(data), "--split", "test", "--predictions", str(results)]) == 0
    captured = capsys.readouterr()
    said = {line for line in captured.err.splitlines() if line.startswith(f"{path}: 1 of its 5 annotations")}
    assert said == {
        f"{path}: 1 of its 5 annotations (ids 2): a category_id other than 1, 2, 3, not scored",
        f"{path}: 1 of its 5 annotations (ids 3): no polygon of 3 points or more, not scored",
        f"{path}: 1 of its 5 annotations (ids 4): an empty box, which no box can match (a miss in box AP)",
        f"{path}: 1 of its 5 annotations (ids 5): on an image the file does not list, not scored",
    }, captured.err
    assert "box" in captured.out


def test_a_clean_file_says_nothing_of_its_ground_truth(tmp_path, capsys):
    results = tmp_path / "boxes.json"
    results.write_text(json.dumps([{"image_id": 1, "category_id": 1, "score": 0.9, "bbox": [1.0, 1.0, 5.0, 5.0]}]))
    assert main(["evaluate", "--data", str(DATA), "--split", "test", "--predictions", str(results)]) == 0
    assert "annotations (ids" not in capsys.readouterr().err
