"""Imported once by the step forkserver: medspaCy and GX load before any fork.

Every step process of the multiprocess executor is forked from that server, so
it starts with the clinical pipeline built and Great Expectations imported
instead of spending seconds on them per step.
"""

import great_expectations  # noqa: F401  (imported for its side effect: loaded)

import cptflow.orchestration.definitions  # noqa: F401
from cptflow.transforms.nlp.pipeline import build_pipeline

build_pipeline()
