"""The reader module to ONNX and back: ``write_onnx`` exports it (float32, weights as initializers, which ONNX
Runtime's quantiser needs), ``onnx_state`` reads an exported reader's weights, int8 or not, back into the module's
parameters so that training can continue from a shipped reader.

The exporter names weights by position (``/Constant_54_output_0``), not by parameter. Which parameter each one is,
``onnx_state`` learns by exporting the module itself with distinct values in every parameter and matching them: the
exporter writes the same graph, with the same names, for the same module.
"""
from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import numpy as np
import torch

QUANTISED = "_quantized"  # onnxruntime.quantization's suffixes of an int8 weight and its scale and zero point
SCALE, ZERO_POINT = "_scale", "_zero_point"


def write_onnx(model, path: Path) -> None:
    """``model.read`` (word embeddings and mask in; start and end logits out) as a float32 ONNX graph; the model in
    eval mode, without gradients."""
    class Graph(torch.nn.Module):
        def forward(self, word_embeddings, mask):
            return model.read(word_embeddings, mask)

    example = (torch.zeros(2, 16, model.encoder.config.hidden_size), torch.ones(2, 16, dtype=torch.long))
    axes = {0: "batch", 1: "tokens"}
    torch.onnx.export(Graph(), example, str(path), input_names=["word_embeddings", "mask"],
                      output_names=["start_logits", "end_logits"], opset_version=17, dynamo=False,
                      dynamic_axes={"word_embeddings": axes, "mask": axes, "start_logits": axes, "end_logits": axes})
    constants_as_initializers(path)


def constants_as_initializers(path: Path) -> None:
    """The torch ONNX exporter writes weights as Constant nodes; ONNX Runtime's quantiser only quantises
    initializers."""
    import onnx

    model = onnx.load(str(path))
    for node in [n for n in model.graph.node if n.op_type == "Constant" and n.attribute[0].name == "value"]:
        tensor = node.attribute[0].t
        tensor.name = node.output[0]
        model.graph.initializer.append(tensor)
        model.graph.node.remove(node)
    onnx.save(model, str(path))


def initializers(path: Path) -> dict[str, np.ndarray]:
    """The graph's float weights by name, int8 ones dequantised ((q - zero point) * scale, per output channel)."""
    import onnx
    from onnx import numpy_helper

    stored = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}
    found = {}
    for name, value in stored.items():
        if name.endswith(QUANTISED):
            base = name[:-len(QUANTISED)]
            zero = stored[base + ZERO_POINT].astype(np.float32)
            found[base] = (value.astype(np.float32) - zero) * stored[base + SCALE]
        elif value.dtype == np.float32 and not name.endswith(SCALE):
            found[name] = value
    return found


def trainable_parameters(model) -> dict[str, torch.Tensor]:
    """What an exported reader holds: the float tensors training changes (not the frozen word embeddings)."""
    return {name: value for name, value in model.trained_state().items() if value.is_floating_point()}


def parameter_of_initializer(model) -> dict[str, tuple[str, bool]]:
    """Initializer name → (parameter name, stored transposed) in ``model``'s export."""
    probe = copy.deepcopy(model).eval().requires_grad_(False)
    generator = torch.Generator().manual_seed(0)
    signature = {}  # the bytes of each parameter's distinct values, as stored and transposed
    with torch.no_grad():
        for name, value in trainable_parameters(probe).items():
            value.copy_(torch.randn(value.shape, generator=generator))
            signature[value.numpy().tobytes()] = (name, False)
            if value.dim() == 2:
                signature[value.T.contiguous().numpy().tobytes()] = (name, True)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "probe.onnx"
        write_onnx(probe, path)
        stored = initializers(path)
    return {name: signature[value.tobytes()] for name, value in stored.items() if value.tobytes() in signature}


def onnx_state(model, path: Path) -> dict[str, torch.Tensor]:
    """The weights of the reader exported at ``path`` (int8 or float32) as a state for ``model`` (same depth), for
    ``model.load_state_dict(…, strict=False)``. ValueError when a parameter is not in the graph."""
    stored = initializers(path)
    found = {}
    for initializer, (name, transposed) in parameter_of_initializer(model).items():
        if initializer in stored:
            value = torch.tensor(stored[initializer])
            found[name] = value.T.contiguous() if transposed else value
    missing = sorted(set(trainable_parameters(model)) - set(found))
    if missing:
        raise ValueError(f"{path} does not hold {len(missing)} of the reader's parameters, e.g. {missing[:3]}")
    return found
