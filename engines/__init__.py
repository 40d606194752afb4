"""The TensorRT engine builder (``unmask-video build-engine``), installed as ``unmask_video.engines``.

It imports the product, never the reverse (only ``unmask_video.cli`` imports it, to list the subcommand):

- :mod:`.build`: the product's checked ONNX export (FP16 policy and parity limits shared with the ONNX
  Runtime backend: :mod:`unmask_video.reconstruct.generator.export`) -> TensorRT engine, with a timing
  cache, an optimisation profile over the batch range and a parity check of the engine;
- :mod:`.torch_trt`: the torch-tensorrt route (``--builder torch-tensorrt``);
- :mod:`.cli`: the ``build-engine`` subcommand.

Running engines is the product's: :mod:`unmask_video.reconstruct.backends` holds the ``tensorrt`` backend and
the ``--backend auto`` decision (``tensorrt_backend``), the sidecar written beside each engine and the checks
made before loading (``engine_sidecar``), and where engines and the timing cache live (``engine_index``).

Nothing imports ``tensorrt`` or ``torch_tensorrt`` at module level: every module imports on a CPU machine.
"""
