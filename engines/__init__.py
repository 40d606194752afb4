"""TensorRT FP16 engines for the generator: build (``unmask-video build-engine``), check, and run.

- :mod:`engines.build`: the product's checked ONNX export (FP16 policy and parity limits shared with the
  ONNX Runtime backend: :mod:`unmask_video.reconstruct.generator.export`) -> TensorRT engine, with a timing
  cache, an optimisation profile over the batch range and a parity check of the engine;
- :mod:`engines.torch_trt`: the torch-tensorrt route (``--builder torch-tensorrt``);
- :mod:`unmask_video.reconstruct.backends.engine_sidecar`: the metadata written beside each engine and the checks made before loading;
- :mod:`unmask_video.reconstruct.backends.tensorrt_backend`: the ``tensorrt`` backend and the ``--backend auto`` decision;
- :mod:`unmask_video.reconstruct.backends.engine_index`: where engines and the timing cache live, and the engines this user built;
- :mod:`engines.cli`: the ``build-engine`` sub-command.

Nothing imports ``tensorrt`` or ``torch_tensorrt`` at module level: every module imports on a CPU machine.
"""
