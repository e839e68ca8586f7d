import pytest


@pytest.fixture(scope="module")
def random_msnet():
    """A tiny MSNet with random weights in eval mode, keeping every detection (score floor
    0): the test-time wrappers (mirror check, tiles) compared with plain runs of it."""
    import torch

    from engine.msnet import build_msnet

    torch.manual_seed(0)
    return build_msnet(arch="msnet", backbone="resnet18", min_size=64, max_size=96, heads="light",
                       rpn_pre_nms_top_n_test=100, rpn_post_nms_top_n_test=50, box_detections_per_img=40,
                       box_score_thresh=0.0).eval()
