"""A run analysed with a fine-tuned model whose weights file is gone (its version folder
deleted or moved): the fine-tune does not quietly start from the shipped model, which the
user would take for the run's model improved further. The command refuses, naming the
missing file and the ways on; the dialog says so before Start and starts from the
shipped model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.errors import InputError
from core.store import ProjectStore
from services.finetune import FinetuneRequest, plan_finetune, shipped_weights
from services.models import describe_weights, list_models, run_weights


class _Document:
    def __init__(self, path: Path) -> None:
        self.project_path = path


@pytest.fixture
def project_without_its_model(reviewed_project, tmp_path) -> tuple[Path, Path, Path]:
    """``(project, the run's missing weights, a copy of them kept elsewhere)``."""
    with ProjectStore.open(reviewed_project) as store:
        weights = Path(store.run(store.latest_run_id()).model["weights"])
    kept = tmp_path / "kept" / "tiny.safetensors"
    kept.parent.mkdir()
    shutil.move(weights, kept)
    shutil.move(weights.with_suffix(".json"), kept.with_suffix(".json"))  # the model card travels with them
    return reviewed_project, weights, kept


def test_the_service_refuses_naming_the_missing_weights(project_without_its_model, flyover_template):
    project, missing, _ = project_without_its_model
    with ProjectStore.open(project) as store, pytest.raises(InputError) as refused:
        plan_finetune(store, FinetuneRequest(steps=1, device="cpu", replay=flyover_template))
    message = str(refused.value)
    assert str(missing) in message and "no longer there" in message and "--weights shipped" in message
    assert list_models(project) == []  # no version made from another model


def test_the_command_refuses_and_takes_weights_named(project_without_its_model, flyover_template, capsys, one_torch_thread):
    from app.cli import main

    project, missing, kept = project_without_its_model
    common = [str(project), "--steps", "1", "--holdout-every", "0", "--device", "cpu", "--replay", str(flyover_template)]
    assert main(["finetune", *common]) == 2
    assert str(missing) in capsys.readouterr().err
    assert main(["finetune", *common, "--weights", str(tmp := kept.with_name("nothing.safetensors"))]) == 2
    assert f"{tmp}: --weights names no weights file" in capsys.readouterr().err
    assert main(["finetune", *common, "--weights", str(kept)]) == 0
    assert "ft-001: fine-tuning tiny.safetensors" in capsys.readouterr().err


def test_the_dialog_says_so_and_starts_from_the_shipped_model(qtbot, project_without_its_model):
    from app.dialogs.finetune_dialog import FinetuneDialog

    project, missing, _ = project_without_its_model
    dialog = FinetuneDialog(_Document(project))
    qtbot.addWidget(dialog)
    summary = dialog.summary_label.text()
    assert str(missing) in summary and "a new fine-tune starts from the shipped model instead" in summary
    assert dialog.start_button.isEnabled()
    assert dialog.request().base_weights == shipped_weights()
    assert dialog.request(resume=True).base_weights is None  # a resume goes on from its own checkpoint


def test_another_installs_shipped_model_is_this_ones(reviewed_project, flyover_template):
    """A project analysed with the shipped model elsewhere (another machine, an older
    install) records that install's path: the shipped model here is the same one."""
    import json
    import sqlite3

    elsewhere = Path("/opt/old-damagemap/resources/models/default/msnet.safetensors")
    with sqlite3.connect(reviewed_project) as db:
        db.execute("UPDATE runs SET model_json = ?", (json.dumps({"weights": str(elsewhere)}),))
    from services.finetune import base_weights, missing_run_weights

    with ProjectStore.open(reviewed_project) as store:
        assert missing_run_weights(store, 1) is None and base_weights(store, 1) == shipped_weights()
        assert describe_weights(run_weights(store, 1)) == "shipped default"  # as --list and --compare name it
