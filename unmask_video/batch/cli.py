"""``unmask-video batch``: many videos, on Ray (this machine or a cluster) or one after another in-process.

    unmask-video batch MANIFEST.csv --out DIR          columns input,reference[,output]
    unmask-video batch IN_DIR --ref FACE.jpg --out DIR  every video of a folder, one person

Exit codes: 0 every video ok (or skipped), 1 some failed, 2 bad manifest or options (nothing was processed),
130 interrupted.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from unmask_video.commands import options
from unmask_video.errors import InputError

HELP = "unmask many videos (a CSV manifest or a folder), on Ray or in-process"


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> argparse.ArgumentParser:
    """Add the ``batch`` subcommand (with every file-mode option) to ``subparsers``."""
    parser = subparsers.add_parser(
        "batch",
        help=HELP,
        description="Unmask every video of a CSV manifest (columns input,reference[,output]; relative paths are "
        "read from the manifest's folder, outputs default to OUT/<input name>.mp4) or of a folder (with --ref). "
        "Writes OUT/report.jsonl; a rerun skips videos already done with the same input and options.",
    )
    parser.add_argument("source", metavar="MANIFEST.csv|IN_DIR", help="a CSV manifest, or a folder of videos of one person (with --ref)")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder (created if missing)")
    parser.add_argument(
        "--ref", type=Path, default=None, metavar="FACE.jpg", help="reference photo for a folder, or for manifest rows without one"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace outputs that already exist")
    parser.add_argument("--retry-failed", action="store_true", help="run again the videos that failed in an earlier run")
    group = parser.add_argument_group("workers")
    group.add_argument("--workers", type=int, default=None, metavar="N", help="parallel workers (default: the CPU cores, or the cluster's CPUs)")
    group.add_argument("--ray", metavar="ADDRESS", default=None, help="join a Ray cluster (e.g. 10.0.0.1:6379; 'auto' for the one started on this node)")
    group.add_argument("--gpus-per-worker", type=float, default=0.0, metavar="N", help="GPUs each worker reserves (default 0)")
    group.add_argument("--no-ray", action="store_true", help="run the videos one after another in this process")
    options.add_reconstruction(parser)
    options.add_tracking(parser)
    options.add_encoding(parser)
    options.add_messages(parser, quiet_help="no progress display and no summary")
    return parser


def batch_options(args: argparse.Namespace):  # -> BatchOptions
    from unmask_video.batch.manifest import jobs_from_folder, jobs_from_manifest
    from unmask_video.batch.ray_executor import RayOptions
    from unmask_video.batch.run import BatchOptions
    from unmask_video.runner import RunOptions
    from unmask_video.io import EncodeOptions

    if args.workers is not None and args.workers < 1:
        raise InputError("--workers must be at least 1")
    if args.gpus_per_worker < 0:
        raise InputError("--gpus-per-worker must be 0 or more")
    if args.no_ray and (args.ray or args.gpus_per_worker):
        raise InputError("--no-ray runs in this process: leave out --ray and --gpus-per-worker")
    if args.out.exists() and not args.out.is_dir():
        raise InputError(f"--out {args.out} is a file; give a folder")
    out_dir = args.out.expanduser().absolute()
    source = Path(os.path.expanduser(args.source))
    if source.is_dir():
        jobs = jobs_from_folder(source, args.ref, out_dir)
    elif source.exists():
        jobs = jobs_from_manifest(source, out_dir, args.ref)
    else:
        raise InputError(f"{source} does not exist; give a CSV manifest or a folder of videos")
    template = RunOptions(
        input="",
        output="",
        reference="",
        encode=EncodeOptions(codec=args.codec, crf=args.crf, preset=args.preset),
        pipeline=options.pipeline_options(args),
        reconstructor=options.reconstructor_options(args),
        batch=args.batch,
        quiet=True,
    )
    return BatchOptions(
        jobs=jobs,
        out_dir=out_dir,
        template=template,
        ray=RayOptions(address=args.ray, workers=args.workers, gpus_per_worker=args.gpus_per_worker),
        use_ray=False if args.no_ray else (True if args.ray else None),
        retry_failed=args.retry_failed,
        overwrite=args.overwrite,
        quiet=args.quiet,
    )


def run(args: argparse.Namespace) -> int:
    """Run ``unmask-video batch``; the exit code (errors before any work raise :class:`InputError`)."""
    from unmask_video.batch.run import run_batch

    return run_batch(batch_options(args)).exit_code
