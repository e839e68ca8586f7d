import torch
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor

from engine.msnet.heads import CPU_EVAL_CHUNK, MaskHead, MaskPredictor, in_fixed_chunks


def _pair(kind_ours, kind_theirs, *args):
    torch.manual_seed(0)
    ours = kind_ours(*args)
    theirs = kind_theirs(*args)
    theirs.load_state_dict(ours.state_dict())  # same parameters, same names
    return ours.eval(), theirs.eval()


def test_chunked_cpu_eval_equals_torchvision_for_any_count():
    head, stock_head = _pair(MaskHead, MaskRCNNHeads, 8, [8, 8], 1)
    predictor, stock_predictor = _pair(MaskPredictor, MaskRCNNPredictor, 8, 8, 4)
    calls = []
    predictor.mask_fcn_logits.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    with torch.no_grad():
        for count in (0, 1, CPU_EVAL_CHUNK, CPU_EVAL_CHUNK + 3):
            rois = torch.randn(count, 8, 14, 14)
            features = head(rois)
            torch.testing.assert_close(features, stock_head(rois), rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(predictor(features), stock_predictor(features), rtol=1e-5, atol=1e-5)
    # one shape only: every call but the empty one saw exactly a chunk
    assert set(calls) == {0, CPU_EVAL_CHUNK}


def test_training_runs_the_whole_batch_at_once():
    predictor = MaskPredictor(8, 8, 4).train()
    calls = []
    predictor.mask_fcn_logits.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    predictor(torch.randn(CPU_EVAL_CHUNK + 3, 8, 14, 14))
    assert calls == [CPU_EVAL_CHUNK + 3]


def test_in_fixed_chunks_pads_and_trims():
    seen = []

    def double(x):
        seen.append(x.shape[0])
        return x * 2

    x = torch.arange(10.0).reshape(5, 2)
    torch.testing.assert_close(in_fixed_chunks(double, x, 4), x * 2)
    assert seen == [4, 4]
