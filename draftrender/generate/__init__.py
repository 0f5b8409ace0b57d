"""AI clip generation: one request and job model, one adapter per API, an offline local provider."""

from .base import (
    STATUS_TABLE,
    VARIANTS,
    GenerationError,
    GenerationRequest,
    InvalidGeneration,
    Job,
    JobDeadline,
    JobFailed,
    JobStatus,
    Provider,
    ProviderError,
    UnknownModel,
    Variant,
    normalise_status,
)

__all__ = [
    "STATUS_TABLE", "VARIANTS", "GenerationError", "GenerationRequest", "InvalidGeneration", "Job", "JobDeadline",
    "JobFailed", "JobStatus", "Provider", "ProviderError", "UnknownModel", "Variant", "normalise_status",
]
