"""Coder review: the work queue, coder actions, physician queries, audit trail."""

from cptflow.transforms.review.actions import (
    ReviewError,
    accept_encounter,
    add_line,
    current_state,
    override_line,
    raise_query,
    record_submissions,
    remove_line,
    reviewer_name,
)
from cptflow.transforms.review.final import (
    apply_coder_review,
    apply_review,
    publish_review,
)
from cptflow.transforms.review.queries import answer_query
from cptflow.transforms.review.queue import (
    EncounterPage,
    encounter_page,
    mask_identifier,
    order_queue,
    review_queue,
)
from cptflow.transforms.review.store import AppendOnlyError, verify_chain
from cptflow.transforms.review.workflow import ReviewState, review_state

__all__ = [
    "AppendOnlyError",
    "EncounterPage",
    "ReviewError",
    "ReviewState",
    "accept_encounter",
    "add_line",
    "apply_coder_review",
    "answer_query",
    "apply_review",
    "current_state",
    "encounter_page",
    "mask_identifier",
    "order_queue",
    "override_line",
    "publish_review",
    "raise_query",
    "record_submissions",
    "remove_line",
    "review_queue",
    "review_state",
    "reviewer_name",
    "verify_chain",
]
