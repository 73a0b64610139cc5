"""The words of an e-commerce video taken from its brief: title, price, call to action, tagline.

Briefs are free text ("Launch ad for 'Aurora Buds', $49, button says "Get yours""), so the rules
are plain patterns in order of how sure they are: quoted phrases first (the writer marked them as
copy), then money amounts and known imperative phrases, then a trimmed first clause as the title.
Nothing here calls a language model: the same brief always gives the same copy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_TITLE_WORDS = 6
MAX_TITLE_CHARS_CJK = 12
DEFAULT_CTA = {"en": "Shop now", "zh": "立即购买"}

_QUOTED = re.compile(
    r'"([^"\n]+)"|“([^”\n]+)”|「([^」\n]+)」|『([^』\n]+)』|‘([^’\n]+)’|(?<!\w)\'([^\'\n]+)\'(?!\w)'
)
# A quoted phrase right after one of these words is the call to action.
_CTA_CUE = re.compile(r"(?:\bcta\b|\bcall[\s-]*to[\s-]*action\b|\bbutton\b|行动号召|按钮)[^\"“「『‘'\n]{0,24}$", re.I)
CTA_PHRASES = (
    "get yours today", "order today", "order now", "shop now", "shop today", "buy now", "buy today", "learn more",
    "get yours", "grab yours", "get it now", "add to cart", "sign up", "try it free", "pre-order now",
    "preorder now", "shop the sale", "discover more",
    "立即购买", "马上购买", "立即下单", "立即抢购", "马上抢购", "立即订购", "了解更多",
)
_CTA_PHRASE = re.compile("|".join(
    rf"(?<![\w-]){re.escape(p)}(?![\w-])" if p.isascii() else re.escape(p)
    for p in sorted(CTA_PHRASES, key=len, reverse=True)
), re.I)

_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?"
_PRICE = re.compile(
    rf"(?:US\$|[$€£¥￥])\s?(?:{_NUMBER})(?![\d,.]?\d)"
    rf"|(?<![\w.,])(?:{_NUMBER})\s?(?:(?:USD|EUR|GBP|CNY|RMB|JPY|dollars?|euros?)(?![A-Za-z])|[€元块])",
    re.I,
)
_DURATION = re.compile(r"\b\d+\s*-?\s*(?:s|secs?|seconds?|mins?|minutes?)\b", re.I)
_CLAUSE_END = re.compile(r"(?<!\d)[.,](?!\d)|[!?;:\n—–]|\s-\s|[，。！？；：、]")
_CJK = re.compile(r"[\u3400-\u9fff]")
FILLER_WORDS = frozenset("""
    a an the this that these those our my your their its i we you it me us please
    make create generate produce render build want need would like to can could should
    video videos ad ads advert advertisement commercial clip clips promo spot reel reels story stories
    for of with about showing show showcasing featuring feature highlight highlighting
    product products launch new short quick fast slow paid social vertical horizontal square
    tiktok instagram youtube facebook shorts price priced only just at now costs cost
""".split())
CJK_FILLERS = ("请帮我", "请", "帮我", "制作", "生成", "做一个", "做一条", "一个", "一条", "一段", "视频", "广告", "短片")


@dataclass(frozen=True)
class Copy:
    """The text shown in an e-commerce video; any part may be missing (None)."""

    title: str | None
    price: str | None
    cta: str | None
    tagline: str | None


def _capitalized(phrase: str) -> str:
    return phrase[:1].upper() + phrase[1:]


def _quoted(prompt: str) -> list[tuple[str, bool]]:
    """Every quoted phrase in order, with whether it is marked as the call to action."""
    phrases = []
    for match in _QUOTED.finditer(prompt):
        phrase = next(group for group in match.groups() if group is not None).strip()
        if phrase:
            phrases.append((phrase, bool(_CTA_CUE.search(prompt[: match.start()]))))
    return phrases


def _title_from_clause(prompt: str, language: str) -> str | None:
    """A short title from the brief's first clause, with quotes, prices and filler words removed."""
    text = _CTA_PHRASE.sub(" ", _PRICE.sub(" ", _QUOTED.sub(" ", prompt)))
    clauses = [c.strip() for c in _CLAUSE_END.split(_DURATION.sub(" ", text)) if c.strip()]
    if not clauses:
        return None
    clause = clauses[0]
    if _CJK.search(clause):
        for filler in CJK_FILLERS:
            clause = clause.replace(filler, "")
        clause = clause.strip()
        return clause[:MAX_TITLE_CHARS_CJK] or None
    words = [w.strip("\"'()[]") for w in clause.split()]
    kept = [w for w in words if w and w.lower() not in FILLER_WORDS]
    return _capitalized(" ".join(kept[:MAX_TITLE_WORDS])) if kept else None


def extract(prompt: str | None, language: str = "en") -> Copy:
    """Title, price, call to action and tagline found in a brief (the CTA has a per-language default)."""
    default_cta = DEFAULT_CTA.get(language, DEFAULT_CTA["en"])
    if not prompt or not prompt.strip():
        return Copy(title=None, price=None, cta=default_cta, tagline=None)
    quoted = _quoted(prompt)
    marked_cta = next((phrase for phrase, is_cta in quoted if is_cta), None)
    plain = [phrase for phrase, is_cta in quoted if not is_cta]
    price = _PRICE.search(prompt)
    found_cta = _CTA_PHRASE.search(_QUOTED.sub(" ", prompt))
    cta = marked_cta or (_capitalized(found_cta.group(0)) if found_cta else default_cta)
    return Copy(
        title=plain[0] if plain else _title_from_clause(prompt, language),
        price=" ".join(price.group(0).split()) if price else None,
        cta=cta,
        tagline=plain[1] if len(plain) > 1 else None,
    )
