"""Word error rate of a transcript, for the transcription tests (integration and e2e)."""

import re


def words_of(text: str) -> list[str]:
    """Lower-case words without punctuation (apostrophes kept)."""
    return re.sub(r"[^a-z' ]", " ", text.lower()).split()


def wer(reference: str, hypothesis: str) -> float:
    """Word-level Levenshtein distance over the reference's word count."""
    ref, hyp = words_of(reference), words_of(hypothesis)
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
    return d[len(hyp)] / len(ref)
