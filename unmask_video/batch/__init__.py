"""Many videos at once: ``unmask-video batch``, on Ray (one machine or a cluster) or one after another in-process.

Modules, in the order a batch uses them: ``manifest`` (which videos, checked before any work), ``resume`` (the
fingerprint of each job and what an earlier report says is already done), ``report`` (``DIR/report.jsonl``),
``worker`` (one video with models loaded once per worker, through the file-mode runner), ``local_executor`` and
``ray_executor`` (who runs the workers), ``display`` (the live progress and the summary table), ``run`` (the whole
batch: plan, execute, report, exit code) and ``cli`` (the ``batch`` subcommand).
"""

from unmask_video.batch.manifest import Job, jobs_from_folder, jobs_from_manifest
from unmask_video.batch.run import BatchOptions, BatchOutcome, run_batch

__all__ = ["BatchOptions", "BatchOutcome", "Job", "jobs_from_folder", "jobs_from_manifest", "run_batch"]
