"""The cheap English check that sends notes in other languages to review."""

from __future__ import annotations

import pytest

from cptflow.transforms.ocr.language import is_probably_english, stopword_share

ENGLISH = (
    "The patient was brought to the endoscopy suite and placed in the left "
    "lateral position. The colonoscope was advanced to the cecum without "
    "difficulty. No polyps were seen and the preparation was good. The patient "
    "tolerated the procedure well and will return in ten years."
)
SPANISH = (
    "Paciente de 54 años que acude para colonoscopia de control. Se realizó la "
    "colonoscopia hasta el ciego sin complicaciones. Se encontró un pólipo de "
    "seis milímetros en el colon sigmoide que fue resecado con asa fría. La "
    "preparación intestinal fue adecuada y se recomienda repetir en cinco años."
)
FRENCH = (
    "Le patient a été installé en décubitus latéral gauche. Le coloscope a été "
    "poussé jusqu'au caecum sans difficulté. Aucun polype n'a été vu et la "
    "préparation était bonne. Le patient a bien toléré l'examen et reviendra "
    "dans dix ans pour une nouvelle coloscopie de dépistage."
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(ENGLISH, True, id="english"),
        pytest.param(SPANISH, False, id="spanish"),
        pytest.param(FRENCH, False, id="french"),
        pytest.param("Colonoscopia normal.", True, id="too-short-to-judge"),
        pytest.param("", True, id="empty"),
    ],
)
def test_is_probably_english_tells_languages_apart(text: str, expected: bool) -> None:
    assert is_probably_english(text) is expected


def test_stopword_share_counts_words_not_numbers() -> None:
    # 30 words, 5 of them stopwords ("the"); "12" is a number, not a word.
    text = " ".join(["the polyp 12 mm"] * 5 + ["biopsy"] * 15)

    assert stopword_share(text) == pytest.approx(5 / 30)
