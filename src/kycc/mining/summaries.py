"""3-sentence LexRank summaries of clusters (sumy), with an offline sentence splitter (nupunkt).

sumy's own ``Tokenizer("english")`` needs NLTK's punkt data, which is downloaded at run time; ``OfflineTokenizer``
gives sumy the same interface (``language``, ``to_sentences``, ``to_words``) with nupunkt, which ships its model.
LexRank is quadratic in sentences, so input per cluster is capped. The summary reads the cluster's items nearest its
centroid (``nearest_items``), not a random sample: the most typical posts, not whatever the draw picked.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

__all__ = ["OfflineTokenizer", "lexrank_sentences", "lexrank_summary", "nearest_items"]

_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['-])*", re.UNICODE)
_CODE_FENCE = re.compile(r"```.*?```", re.DOTALL)
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+.*$", re.MULTILINE)


class OfflineTokenizer:
    """Sentence and word tokenizer for sumy that needs no NLTK data download."""

    language = "english"

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        import nupunkt

        return tuple(s.strip() for s in nupunkt.sent_tokenize(paragraph) if s and s.strip())

    def to_words(self, sentence: str) -> tuple[str, ...]:
        return tuple(_WORD.findall(sentence))


def nearest_items(keys: Sequence[str], similarity: Sequence[float | None], max_items: int = 10) -> list[int]:
    """Indexes of up to ``max_items`` items, most similar to the cluster centroid first.

    Ties, and items without a similarity (clustered by an earlier version), come after by key, so the choice is
    the same for the same input.
    """

    def rank(i: int) -> tuple[float, str]:
        value = similarity[i]
        missing = value is None or (isinstance(value, float) and math.isnan(value))
        return (math.inf if missing else -float(value), str(keys[i]))

    return sorted(range(len(keys)), key=rank)[:max_items]


def _prose(text: str) -> str:
    """Drop code blocks and Markdown headings: they are not sentences."""
    text = _CODE_FENCE.sub(" ", text)
    text = _MD_HEADING.sub(" ", text)
    return text


def lexrank_summary(
    texts: Sequence[str], sentences: int = 3, max_sentences: int = 200, max_chars: int = 30_000
) -> str:
    """``lexrank_sentences`` joined by spaces ("" for no input)."""
    return " ".join(lexrank_sentences(texts, sentences, max_sentences, max_chars))


def lexrank_sentences(
    texts: Sequence[str], sentences: int = 3, max_sentences: int = 200, max_chars: int = 30_000
) -> list[str]:
    """An extractive summary: the ``sentences`` most central sentences of ``texts``, in document order.

    Args:
        texts: One text per sampled item (title and body).
        sentences: Sentences in the summary.
        max_sentences: At most this many input sentences are ranked (LexRank is quadratic).
        max_chars: Input is cut to this many characters first.

    Returns:
        The chosen sentences (none for no input).
    """
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
    from sumy.nlp.stemmers import Stemmer
    from sumy.summarizers.lex_rank import LexRankSummarizer
    from sumy.utils import get_stop_words

    tokenizer = OfflineTokenizer()
    paragraphs: list = []
    total = 0
    n_sentences = 0
    seen: set[str] = set()
    for text in texts:
        kept = []
        # Paragraph by paragraph: a title or heading without a final stop must not swallow the next sentence.
        for block in re.split(r"\n\s*\n", _prose(text or "")):
            paragraph = " ".join(block.split())
            if not paragraph:
                continue
            for sentence in tokenizer.to_sentences(paragraph):
                if n_sentences >= max_sentences or total + len(sentence) > max_chars:
                    break
                key = " ".join(sentence.lower().split())
                if key in seen or len(_WORD.findall(sentence)) < 3:  # repeats and fragments are not ranked
                    continue
                seen.add(key)
                kept.append(sentence if sentence[-1] in ".!?" else sentence + ".")
                n_sentences += 1
                total += len(sentence)
        if kept:
            paragraphs.append(Paragraph([Sentence(s, tokenizer) for s in kept]))
    if not paragraphs:
        return []
    # The document is built from these sentences directly: re-splitting joined text could merge two of them.
    summarizer = LexRankSummarizer(Stemmer("english"))
    summarizer.stop_words = get_stop_words("english")
    return [str(s) for s in summarizer(ObjectDocumentModel(paragraphs), sentences)]
