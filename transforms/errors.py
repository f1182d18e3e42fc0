"""Exceptions every stage raises, with reasons that name what was wrong."""

from __future__ import annotations


class CptflowError(Exception):
    """Base of every error cptflow raises on purpose."""


class DocumentError(CptflowError):
    """A document cannot be processed; the batch goes on without it.

    Attributes:
        reason: a short code stored with the quarantined document, one of
            `empty`, `unsupported_format`, `encrypted`, `corrupt`,
            `decompression_bomb`, `too_large`, `ocr_failed`, `no_text`.
        detail: one sentence naming what was found; never note text.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # Rebuilt from its two arguments when it crosses a process boundary.
        return (type(self), (self.reason, self.detail))


class X12Error(CptflowError):
    """An X12 file that cannot be read, naming the file and the segment."""

    def __init__(
        self,
        file: str,
        reason: str,
        *,
        segment_index: int | None = None,
        segment_id: str | None = None,
    ) -> None:
        where = ""
        if segment_index is not None:
            where = f" at segment {segment_index}"
            if segment_id:
                where += f" ({segment_id})"
        super().__init__(f"{file}{where}: {reason}")
        self.file = file
        self.reason = reason
        self.segment_index = segment_index
        self.segment_id = segment_id

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild_x12_error,
            (self.file, self.reason, self.segment_index, self.segment_id),
        )


def _rebuild_x12_error(
    file: str, reason: str, segment_index: int | None, segment_id: str | None
) -> X12Error:
    return X12Error(file, reason, segment_index=segment_index, segment_id=segment_id)
