import pickle

import pytest

import torch
from torchvision.models.detection.faster_rcnn import TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor

from engine.msnet.heads import CPU_EVAL_CHUNK, DEVICE_CHUNK, BoxHead, MaskHead, MaskPredictor, in_fixed_chunks


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


@pytest.mark.parametrize("training", [False, True])
def test_off_the_cpu_the_mask_branch_sees_one_shape_for_any_count(training):
    """A GPU builds a cuDNN plan per new input shape: off the CPU, in evaluation and in
    training, every convolution of the mask branch gets DEVICE_CHUNK rows, whatever
    a frame or a step has. (Run on the meta device, which computes shapes only, as a
    stand-in for a GPU.)"""
    head = MaskHead(8, [8, 8], 1).train(training).to("meta")
    predictor = MaskPredictor(8, 8, 4).train(training).to("meta")
    seen = set()
    for module in [*head.modules(), *predictor.modules()]:
        if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            module.register_forward_hook(lambda module, args, out: seen.add(args[0].shape[0]))
    with torch.set_grad_enabled(training):
        for count in (1, DEVICE_CHUNK - 1, DEVICE_CHUNK + 1, 3 * DEVICE_CHUNK):
            assert predictor(head(torch.empty(count, 8, 14, 14, device="meta"))).shape == (count, 4, 28, 28)
    assert seen == {DEVICE_CHUNK}


def test_padded_chunks_give_the_mask_branch_the_same_gradients():
    """Training off the CPU pads the positives: the loss and every parameter's gradient
    are those of the rows alone."""
    torch.manual_seed(0)
    head = MaskRCNNHeads(8, [8, 8], 1).train()
    x = torch.randn(5, 8, 14, 14)
    target = torch.randn(5, 8, 14, 14)
    grads = []
    for forward in (head, lambda rows: in_fixed_chunks(head, rows, 4)):
        head.zero_grad()
        loss = ((forward(x) - target) ** 2).mean()
        loss.backward()
        grads.append((loss.detach(), [p.grad.clone() for p in head.parameters()]))
    torch.testing.assert_close(grads[0][0], grads[1][0])
    for ours, theirs in zip(grads[1][1], grads[0][1]):
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)


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


def test_box_head_reads_channels_last_pooling_without_copying_it():
    head, stock_head = _pair(BoxHead, TwoMLPHead, 8 * 7 * 7, 16)
    pooled = torch.randn(30, 7, 7, 8, generator=torch.Generator().manual_seed(2)).permute(0, 3, 1, 2)  # channels-last
    assert pooled.is_contiguous(memory_format=torch.channels_last) and not pooled.is_contiguous()
    copies = []
    hook = head.fc6.register_forward_hook(lambda module, args, out: copies.append(True))  # the stock path runs fc6
    with torch.no_grad():
        torch.testing.assert_close(head(pooled), stock_head(pooled.contiguous()), rtol=1e-5, atol=1e-5)
        assert copies == []  # it read the layout as it lies: fc6's reordered weights, no flatten copy
        head.fc6.weight.mul_(0.5)  # a fine-tune changed the weights: the reordered copy follows
        stock_head.fc6.weight.mul_(0.5)
        torch.testing.assert_close(head(pooled), stock_head(pooled.contiguous()), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(head(pooled.contiguous()), stock_head(pooled.contiguous()), rtol=1e-5, atol=1e-5)
    hook.remove()
    assert "_fc6_channels_last" not in pickle.loads(pickle.dumps(head)).__dict__


def test_box_head_trains_through_torchvision():
    head, stock_head = _pair(BoxHead, TwoMLPHead, 8 * 7 * 7, 16)
    head.train()
    pooled = torch.randn(5, 8, 7, 7).contiguous(memory_format=torch.channels_last)
    head(pooled).sum().backward()
    assert head.fc6.weight.grad is not None and "_fc6_channels_last" not in head.__dict__
