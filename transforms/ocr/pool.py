"""Extract several documents at once in a pool of single-threaded OCR workers."""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from cptflow.transforms.errors import DocumentError
from cptflow.transforms.ocr.extract import extract_pages
from cptflow.transforms.ocr.pages import PageExtraction

logger = logging.getLogger(__name__)

Item = tuple[str, Path, str]
Outcome = PageExtraction | DocumentError
# A DocumentError does not survive pickling (its __init__ takes two arguments),
# so workers send back its reason and detail instead.
WorkerResult = PageExtraction | tuple[str, str]


def extract_documents(
    items: Sequence[Item], *, workers: int = 2, deskew: bool = False
) -> Iterator[tuple[str, Outcome]]:
    """Extract documents in parallel, yielding each as soon as it is done.

    Each worker process pins Tesseract to one thread: Tesseract alone already
    uses every core, and several multi-threaded Tesseracts only fight. Workers
    are spawned, not forked, so a script calling this needs the usual
    `if __name__ == "__main__":` guard.

    Args:
        items: (document_id, path, doc_format) of every document.
        workers: processes to run; 1 extracts inline, in this process.
        deskew: straighten scanned pages before OCR.

    Yields:
        (document_id, the extraction or the DocumentError that stopped it), in
        the order the documents finish.
    """
    if workers <= 1 or len(items) <= 1:
        for document_id, path, doc_format in items:
            yield document_id, _outcome(_extract(path, doc_format, deskew))
        return

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_limit_threads
    ) as pool:
        futures = {
            pool.submit(_extract, path, doc_format, deskew): document_id
            for document_id, path, doc_format in items
        }
        try:
            for future in as_completed(futures):
                yield futures[future], _future_outcome(future, futures[future])
        finally:
            # A consumer that stops early should not wait for the rest of the batch.
            pool.shutdown(cancel_futures=True)


def _limit_threads() -> None:
    # Tesseract reads this when it starts, so it must be set before any OCR runs.
    os.environ["OMP_THREAD_LIMIT"] = "1"
    # A spawned worker has no logging set up: without this, ocrmypdf's relayed
    # Tesseract warnings would reach the user's terminal through the last resort.
    logging.getLogger("ocrmypdf").setLevel(logging.ERROR)
    # Failures come back as results, so a worker's own records are not needed;
    # a handler on the root keeps Python's last-resort printer out of the way.
    logging.getLogger().addHandler(logging.NullHandler())


def _extract(path: Path, doc_format: str, deskew: bool) -> WorkerResult:
    try:
        return extract_pages(path, doc_format, deskew=deskew)
    except DocumentError as error:
        return (error.reason, error.detail)


def _outcome(result: WorkerResult) -> Outcome:
    if isinstance(result, PageExtraction):
        return result
    return DocumentError(*result)


def _future_outcome(future: Future[WorkerResult], document_id: str) -> Outcome:
    try:
        return _outcome(future.result())
    except BrokenProcessPool as error:
        logger.error("OCR worker died on document %s", document_id)
        return DocumentError("ocr_failed", f"the OCR worker process died: {error}")
    except Exception as error:
        # One document's unexpected failure must not stop the batch.
        logger.exception("OCR failed unexpectedly on document %s", document_id)
        return DocumentError("ocr_failed", f"{type(error).__name__}: {error}")
