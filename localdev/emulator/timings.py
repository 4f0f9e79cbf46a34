"""How long the emulator makes each waiting step last (seconds)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Timings:
    """Every delay the emulator imposes, in seconds.

    `job_step` is the time one training *epoch* takes (not one optimizer step), so a job's
    running phase lasts `n_epochs * job_step` whatever the batch size.
    """

    file_processing: float
    job_queued: float
    job_step: float
    deployment_provisioning: float
    deployment_not_ready_after_succeeded: float
    enforce_rate_limits: bool = False
    """Chat answers 429 past a deployment's advertised rate (capacity requests per 10 s)."""

    @classmethod
    def fast(cls) -> Timings:
        """For tests: upload -> processed -> trained -> deployed -> ready in about two seconds."""
        return cls(
            file_processing=0.2,
            job_queued=0.2,
            job_step=0.1,
            deployment_provisioning=0.3,
            deployment_not_ready_after_succeeded=0.3,
        )

    @classmethod
    def realistic(cls) -> Timings:
        """For demos: minutes, in the proportions the real service shows."""
        return cls(
            file_processing=20.0,
            job_queued=30.0,
            job_step=20.0,
            deployment_provisioning=60.0,
            deployment_not_ready_after_succeeded=30.0,
            enforce_rate_limits=True,
        )

    @classmethod
    def named(cls, name: str) -> Timings:
        """`fast` or `realistic`, as the command line names them."""
        presets = {"fast": cls.fast, "realistic": cls.realistic}
        if name not in presets:
            raise ValueError(f'timings "{name}" is unknown; use one of: {", ".join(presets)}')
        return presets[name]()
