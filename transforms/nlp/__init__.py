"""Clinical NLP: procedure mentions with section and context, from page texts."""

from cptflow.transforms.nlp.mentions import (
    Mention,
    find_mentions,
    mention_frame,
)
from cptflow.transforms.nlp.pipeline import build_pipeline

__all__ = ["Mention", "build_pipeline", "find_mentions", "mention_frame"]
